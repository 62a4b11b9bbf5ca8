"""How far did a fine-tune move from the model it started from, and did it only sharpen? Per style, on the
fine-tuned model's own samples (at temperature 1): the exact KL of each token's distribution from the start's given
the same past, summed over a window (its mean over samples estimates KL(p_tuned || p_start) of whole windows),
the entropy per token of both models along those samples, and how many voices per window fall silent for a bar or
more in the tuned model's samples, the start's (same noise) and all the style's real test windows (a fine-tune that
escapes its critic by dropping a voice shows there; ``losses/silence.py``). A fine-tune that mostly lowers the
entropy is a lower temperature in disguise (Caccia et al. 2020); one that moves far without it has changed what it
writes.

    python experiments/finetune_drift.py --n 200 adversarial-wide:mle-wide runs/adversarial-st:mle-wide
"""

import argparse

import numpy as np
import torch

from divertimento.data.conditions import bar_steps as bar_steps_of
from divertimento.data.dataset import load_prepared
from divertimento.losses.silence import longest_silence
from divertimento.losses.straight_through import position_kl
from divertimento.sample.draw import gumbel_noise
from divertimento.sample.sampler import load_sampler


def entropy_per_token(logits: torch.Tensor) -> torch.Tensor:
    """[B] the mean entropy (nats) of the distributions ``logits`` [B, V, T, K] over a window's positions."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1).flatten(1).mean(dim=1)


def silent_voices(tokens: torch.Tensor, meters: list[int], bar_steps: list[int]) -> float:
    """The mean number of voices per window [B, V, T] silent for a full bar of its meter or longer."""
    bars = torch.tensor(bar_steps)[torch.tensor(meters, dtype=torch.long)]
    return (longest_silence(tokens.long()) >= bars[:, None]).sum(dim=1).float().mean().item()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="+", help="TUNED:START, each a shipped name, model file, checkpoint or run dir")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--n", type=int, default=200, help="samples per style")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)  # beside a training run
    data = load_prepared(args.data)
    test = data.splits["test"]
    bar_steps = [int(bar_steps_of(m, data.manifest["steps_per_quarter"])) for m in data.meter_names]
    print("tuned : start | style | KL per window (nats) | entropy per token: tuned / start | "
          "silent voices per window: tuned / start / real")
    for pair in args.pairs:
        tuned_name, start_name = pair.rsplit(":", 1)
        tuned, start = load_sampler(tuned_name), load_sampler(start_name)
        for index, style in enumerate(data.style_names):
            meters = list(test["meter"][test["style"] == index][: args.n])
            cond = tuned.conditions([index] * len(meters), meters)
            noise = gumbel_noise((len(meters), *tuned.module.noise_shape),
                                 torch.Generator().manual_seed(args.seed * 1000 + index))
            with torch.no_grad():
                tokens = tuned.module.sample(cond, noise)
                mine, theirs = tuned.module.sampling_logits(tokens, cond), start.module.sampling_logits(tokens, cond)
                kl = position_kl(mine, theirs).numpy()
                h_mine, h_theirs = entropy_per_token(mine).numpy(), entropy_per_token(theirs).numpy()
                theirs_drawn = start.module.sample(cond, noise)
            # every real test window of the style: the first n would be a few pieces (windows are in piece order)
            real = test["style"] == index
            silent = [silent_voices(tokens, meters, bar_steps), silent_voices(theirs_drawn, meters, bar_steps),
                      silent_voices(torch.from_numpy(test["rolls"][real].astype(np.int64)), list(test["meter"][real]),
                                    bar_steps)]
            se = kl.std(ddof=1) / np.sqrt(len(kl))
            print(f"{tuned_name} : {start_name} | {style} | {kl.mean():.3f} ± {se:.3f} | "
                  f"{h_mine.mean():.4f} / {h_theirs.mean():.4f} | {' / '.join(f'{v:.3f}' for v in silent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
