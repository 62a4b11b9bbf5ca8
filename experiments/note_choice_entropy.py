"""How sharp is a model's choice of note? Teacher-forced on a style's real test windows, at each pitch temperature:
the entropy of the model's distribution over the pitch tokens alone (renormalised: which note, given that one
starts) at every position where a real note starts, and the NLL of the real note under it. A fine-tune that only
sharpens or flattens its note choice shows here as a shift along the pitch-temperature axis.

    python experiments/note_choice_entropy.py --style bach mle-wide adversarial-wide runs/adversarial-wide-ptemp
"""

import argparse

import numpy as np
import torch

from divertimento.data.dataset import load_prepared
from divertimento.models.sequence import pitch_sharpened
from divertimento.music.roll import FIRST_PITCH_TOKEN
from divertimento.sample.sampler import load_sampler


def note_choice_figures(logits: torch.Tensor, tokens: torch.Tensor, pitch_temperature: float) -> tuple[float, float]:
    """(mean entropy, mean NLL of the real note) in nats over the pitch tokens, at the positions of ``tokens``
    [B, V, T] where a note starts, from teacher-forced ``logits`` [B, V, T, K]."""
    sharp = pitch_sharpened(logits, pitch_temperature) if pitch_temperature != 1 else logits.float()
    logp = torch.log_softmax(sharp[..., FIRST_PITCH_TOKEN:], dim=-1)
    entropy = -(logp.exp() * logp.nan_to_num(0.0, neginf=0.0)).sum(dim=-1)
    onset = tokens >= FIRST_PITCH_TOKEN
    nll = -logp.gather(-1, (tokens.clamp_min(FIRST_PITCH_TOKEN) - FIRST_PITCH_TOKEN).unsqueeze(-1)).squeeze(-1)
    return float(entropy[onset].mean()), float(nll[onset].mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--style", default="bach")
    ap.add_argument("--pitch-temperatures", default="1,0.8,0.7,0.6")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_prepared(args.data)
    test = data.splits["test"]
    style = data.style_names.index(args.style)
    rows = test["style"] == style
    tokens = torch.as_tensor(test["rolls"][rows].astype(np.int64))
    print(f"{args.style}: {len(tokens)} test windows; entropy of the note / NLL of the real note, nats")
    for name in args.models:
        sampler = load_sampler(name)
        model = sampler.module.eval()
        cond = sampler.conditions([style] * len(tokens), list(test["meter"][rows]))
        with torch.no_grad():
            logits = model(tokens, cond)
        for t in map(float, args.pitch_temperatures.split(",")):
            entropy, nll = note_choice_figures(logits, tokens, t)
            print(f"{name} pT {t}: {entropy:.4f} / {nll:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
