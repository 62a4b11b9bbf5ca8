"""Does a model told the mode (``mode_condition``) write in it? Each model draws the same N windows of a style twice,
told "major" and told "minor" (the same seeds, only the label changed), and each window is put in major or minor by
its notes' correlation with the best Krumhansl-Kessler key (``data.modes.window_modes``). A model that ignores its
label writes minor equally often either way; one that follows it writes more minor when told "minor".

    python experiments/mode_following.py --style bach --n 400 runs/adversarial-wide-mode runs/mle-wide-mode

Printed per model and pitch temperature: the minor share told each mode, their difference and the standard error
of two independent binomial shares. The two sets share their noise, which makes them alike, so that error errs on
the large side.
"""

import argparse
import dataclasses

import numpy as np

from divertimento.data.modes import window_modes
from divertimento.sample.sampler import load_sampler


def minor_shares(model: str, style: str, n: int, pitch_temperature: float, seed: int) -> tuple[float, float]:
    """Minor share of ``n`` windows of ``style`` told major, and of the same draws told minor."""
    sampler = load_sampler(model)
    if "mode_names" not in sampler.manifest:
        raise SystemExit(f"{model} is not conditioned on mode (train it with mode_condition)")
    options = sampler.options({"pitch_temperature": pitch_temperature})
    shares = []
    for mode in (0, 1):
        draws = [dataclasses.replace(sampler.draw(seed, i, style), mode=mode) for i in range(n)]
        tokens = sampler.tokens_from_draws(draws, 1.0, False, options)
        shares.append(float(np.mean(window_modes(tokens, sampler.low) == 1)))
    return shares[0], shares[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="models conditioned on mode (run dirs or model files)")
    ap.add_argument("--style", default="bach")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pitch-temperatures", default="1.0,0.7")
    args = ap.parse_args()
    print("model | pitch temperature | minor told major | minor told minor | difference | SE")
    for model in args.models:
        for pt in (float(t) for t in args.pitch_temperatures.split(",")):
            major, minor = minor_shares(model, args.style, args.n, pt, args.seed)
            se = np.sqrt((major * (1 - major) + minor * (1 - minor)) / args.n)
            print(f"{model} | {pt} | {major:.3f} | {minor:.3f} | {minor - major:+.3f} | {se:.3f}", flush=True)


if __name__ == "__main__":
    main()
