"""Does a model keep the mode it is given? Each real test window of a style gives its first bar to the model (every
voice, read as given notes), the model draws the other bars, and the mode of those bars (best Krumhansl-Kessler
key, ``metrics.key_register.window_modes``) is compared with the mode of the real window's own later bars, split
by the mode of the opening bar.

    python experiments/mode_continuation.py --style bach adversarial-wide mle-wide \
        "pT 1:adversarial-wide:pitch_temperature=1.0"

A point is LABEL:MODEL:KNOBS as in per_style_protocol.py (knobs: pitch_temperature only; temperature 1), or a model
name. A model conditioned on mode (``mode_condition``) is told the mode of the opening bar.
"""

import argparse

import numpy as np
import torch
from points import parse_point  # experiments/ is the script's own folder, first on sys.path

from divertimento.data.dataset import load_prepared
from divertimento.metrics.decode import to_absolute
from divertimento.metrics.key_register import window_modes
from divertimento.models.smc import FREE, sample_given
from divertimento.sample.draw import gumbel_noise
from divertimento.sample.sampler import load_sampler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("points", nargs="+")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--style", default="bach")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    data = load_prepared(args.data)
    low = int(data.manifest["pitch_range"][0])
    test = data.splits["test"]
    mine = test["style"] == data.manifest["style_names"].index(args.style)
    rolls = test["rolls"][mine].astype(np.int64)
    conditions = torch.as_tensor(data.conditions("test")[mine], dtype=torch.long)
    bar = int(data.manifest["steps_per_quarter"]) * 4  # the opening bar of a 4/4 chorale window
    opening = window_modes(to_absolute(rolls[:, :, :bar], low))
    later = window_modes(to_absolute(rolls[:, :, bar:], low))
    print(f"{args.style}: {len(rolls)} test windows; opening bar major {np.sum(opening == 0)}, minor "
          f"{np.sum(opening == 1)}")
    print(f"real: later bars minor after a major opening {np.mean(later[opening == 0] == 1):.3f}, after a minor "
          f"opening {np.mean(later[opening == 1] == 1):.3f}")
    given = torch.full(rolls.shape, FREE, dtype=torch.long)
    given[:, :, :bar] = torch.as_tensor(rolls[:, :, :bar])
    for text in args.points:
        label, model, _, options = parse_point(text if ":" in text else f"{text}:{text}:temperature=1")
        sampler = load_sampler(model)
        pitch_temperature = sampler.options(options).get("pitch_temperature", 1.0)
        m = sampler.module
        told = conditions  # a model conditioned on mode is told the opening bar's (a minor opening: minor)
        if m.n_modes > 1:
            told = conditions + torch.as_tensor(np.maximum(opening, 0)) * m.n_styles * m.n_meters
        shares = []
        for seed in range(args.seeds):
            rng = torch.Generator().manual_seed(seed)
            noise = gumbel_noise((len(rolls), 1, *m.noise_shape), rng)
            uniforms = torch.rand(len(rolls), rolls.shape[2], generator=rng)
            drawn = sample_given(m, told, noise, given, uniforms,
                                 pitch_temperature=pitch_temperature)[0][:, 0].numpy()
            modes = window_modes(to_absolute(drawn[:, :, bar:], low))
            shares.append([np.mean(modes[opening == f] == 1) for f in (0, 1)])
        mean, sd = np.mean(shares, axis=0), np.std(shares, axis=0)
        print(f"{label}: later bars minor after a major opening {mean[0]:.3f} ± {sd[0]:.3f}, after a minor opening "
              f"{mean[1]:.3f} ± {sd[1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
