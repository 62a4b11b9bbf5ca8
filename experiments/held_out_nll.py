"""Per-style NLL of sequence models on real windows, held out (test split) and seen (train split): how well each model
fits each style, and its generalisation gap (round 8 found Bach's figures track its held-out NLL).

    python experiments/held_out_nll.py --data data/default --n 400 mle adversarial runs/mle-long

Nats per token (voice x step), mean over at most --n windows per style and split (the first --n train windows of
a fixed shuffle; every test window up to --n), each window under its own condition (style and meter), as written
(no transposition). A model conditioned on mode is not told a window's mode: its likelihood is the mixture over the
modes by its style's training shares. Prints one table and writes it to --json.
"""

import argparse

import numpy as np
import torch

from divertimento.atomic import write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.losses.likelihood import categorical_nll
from divertimento.models.factory import load


def nll_per_token(model, tokens: np.ndarray, cond: np.ndarray, batch: int = 200,
                  mode_shares: np.ndarray | None = None) -> float:
    """Mean NLL per token. A model conditioned on mode (``mode_shares`` [styles, modes], its training shares) is
    scored by its marginal over the modes, -log sum_m share(m | style) p(x | style, m): it is not told the mode."""
    total = 0.0
    with torch.no_grad():
        for a in range(0, len(tokens), batch):
            x = torch.as_tensor(tokens[a : a + batch].astype(np.int64))
            c = torch.as_tensor(cond[a : a + batch]) if model.conditional else None
            if mode_shares is None:
                total += float(categorical_nll(model(x, c), x).sum())
                continue
            per_mode = model.n_styles * model.n_meters  # labels of mode m are those of mode 0 plus m * this
            shares = torch.as_tensor(mode_shares, dtype=torch.float64)[(c // model.n_meters) % model.n_styles]
            logp = torch.stack([-categorical_nll(model(x, c + m * per_mode), x).double()
                                for m in range(len(mode_shares[0]))], dim=1)  # [B, modes]
            total -= float(torch.logsumexp(logp + shares.clamp_min(1e-12).log(), dim=1).sum())
    return total / (len(tokens) * tokens[0].size)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="shipped names, model files or run dirs (family mle)")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--n", type=int, default=400, help="windows per style and split")
    ap.add_argument("--json", default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_prepared(args.data)
    rng = np.random.default_rng(0)
    picks = {}
    for split in ("test", "train"):
        style = data.splits[split]["style"]
        order = rng.permutation(len(style)) if split == "train" else np.arange(len(style))
        picks[split] = {s: order[style[order] == i][: args.n] for i, s in enumerate(data.style_names)}
    out = {}
    for name in args.models:
        header, model, path = load(name)
        if header.get("family") != "mle":
            raise SystemExit(f"{name}: a {header.get('family')} model; this measures sequence models (mle)")
        model.eval()
        out[name] = {}
        shares = header["data"].get("mode_shares")  # a model conditioned on mode: scored by its marginal
        for split in ("test", "train"):
            rolls, cond = data.splits[split]["rolls"], data.conditions(split)
            for s, idx in picks[split].items():
                nll = nll_per_token(model, rolls[idx], cond[idx], mode_shares=shares)
                out[name].setdefault(s, {})[split] = round(nll, 4)
    print(f"{'model':28s} {'style':16s} {'test':>7s} {'train':>7s} {'gap':>7s}")
    for name, per_style in out.items():
        for s, f in per_style.items():
            print(f"{name:28s} {s:16s} {f['test']:7.4f} {f['train']:7.4f} {f['test'] - f['train']:7.4f}")
    if args.json:
        write_json_atomic(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
