"""A style specialist: the shipped `mle` fine-tuned by maximum likelihood on one style's training windows alone,
under the same conditions (style and meter), to see whether a model that spends all its updates on a style fits it
better than the shared one (round 9: Bach).

    python experiments/style_specialist.py --style bach --steps 800 --lr 1e-4 --dropout 0.2 \
        --out runs/bach-spec.safetensors

Batches of 64 of the style's training windows, each transposed at random within -3..3 semitones as `train` does,
Adam with the cosine decay of configs/mle.json (to 5 % of --lr) and gradient clipping at 1. Writes a model file
with `mle`'s header and sampling, the fine-tuned weights in place of its own, which `held_out_nll.py` and
`per_style_protocol.py` read like any model.
"""

import argparse
import math
import time

import numpy as np
import torch

from divertimento.data.dataset import load_prepared, shift_bounds, transpose_tokens
from divertimento.losses.likelihood import categorical_nll
from divertimento.models.factory import load
from divertimento.models.files import read_file, write_file


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--style", default="bach")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--dropout", type=float, default=0.2, help="between the LSTM layers, while fine-tuning")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    data = load_prepared(args.data)
    split = data.splits["train"]
    idx = np.flatnonzero(split["style"] == data.style_names.index(args.style))
    rolls, cond = split["rolls"][idx], data.conditions("train")[idx]
    header, model, path = load("mle")
    model.lstm.dropout = args.dropout
    model.train().requires_grad_(True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(0)
    down, up = shift_bounds(rolls, model.vocab_size, -3, 3)
    t0 = time.time()
    for step in range(args.steps):
        b = rng.integers(0, len(idx), 64)
        x = torch.as_tensor(transpose_tokens(rolls[b], rng.integers(down[b], up[b] + 1), model.vocab_size))
        for group in opt.param_groups:
            group["lr"] = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        loss = categorical_nll(model(x, torch.as_tensor(cond[b])), x).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            print(f"step {step}: {loss.item() / x[0].numel():.4f} nats per token, {time.time() - t0:.0f} s", flush=True)
    header_out, tensors = read_file(path)
    for name, value in model.state_dict().items():
        tensors["model." + name] = value.detach().clone()
    write_file(args.out, header_out, tensors)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
