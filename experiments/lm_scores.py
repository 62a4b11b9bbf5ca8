"""The protocol's language-model axes (Caccia et al., ICLR 2020, "Language GANs falling short"):

- LM score (quality): the NLL per token of a model's samples under a small judge LM trained on real training
  windows. Lower = the samples are likelier real music by the judge.
- Reverse-LM score (diversity and coverage): a fresh small LM trained on the model's samples, scored by its NLL
  per token on held-out real test windows. Lower = the samples cover what real music does; a model that drops modes
  trains an LM that finds the missing real music unlikely.

    python experiments/lm_scores.py --data data/default --samples 4000 --steps 800 \
        --point "mle T=1:mle:temperature=1.0" --point "guided b=1:guided:beta=1" \
        --point "control:guided:rerank=likelihood,beta=0.01" --point "mle rekeyed T=1:rekey+mle:temperature=1.0"

The judge and every reverse LM are the same small sequence model (family mle's ARModel: 1 LSTM layer of 128, voice
by voice) trained by the same loop for --steps Adam steps of batch 64 from the same seed. A "real" row trains the
reverse LM on as many real training windows as a point has samples, so every figure has a scale. Seeds: --seed
picks the sample block (pieces seed * 1,000,000 + i) and the LMs' initialisation.

The judge and the real row depend only on (data, --samples, --steps, --seed): --cache DIR keeps them (safetensors and
JSON), so a later run with the same four adds points to the same scale without training the judge again.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from points import SEED_BLOCK, parse_point  # experiments/ is the script's own folder, first on sys.path
from rekey import rekey, style_tonic_shares
from safetensors.torch import load, save

from divertimento.atomic import write_bytes_atomic, write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.json_file import read_json_object
from divertimento.metrics.sets import from_prepared, from_tokens
from divertimento.models.sequence import ARModel
from divertimento.music.roll import FIRST_PITCH_TOKEN
from divertimento.sample.sampler import load_sampler


def train_lm(tokens: np.ndarray, styles: np.ndarray, n_styles: int, vocab: int, steps: int, seed: int) -> ARModel:
    torch.manual_seed(seed)
    lm = ARModel(tokens.shape[1], vocab, tokens.shape[2], n_styles, style_dim=16, hidden=128, layers=1, embed=16)
    opt = torch.optim.Adam(lm.parameters(), lr=2e-3)
    rng = np.random.default_rng(seed)
    x, s = torch.from_numpy(tokens.astype(np.int64)), torch.from_numpy(styles.astype(np.int64))
    for _ in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(x), 64))
        loss = -lm.log_probs(x[idx], s[idx]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return lm.eval()


@torch.no_grad()
def nll_per_token(lm: ARModel, tokens: np.ndarray, styles: np.ndarray) -> float:
    x, s = torch.from_numpy(tokens.astype(np.int64)), torch.from_numpy(styles.astype(np.int64))
    total = sum(float(-lm.log_probs(x[a : a + 256], s[a : a + 256]).sum()) for a in range(0, len(x), 256))
    return total / x.numel()


def judge_and_real_row(data, args) -> tuple[ARModel, dict]:
    """The judge LM (trained on real training windows) and the real row, from --cache where it holds them."""
    train, test = data.splits["train"], data.splits["test"]
    names, vocab = list(data.manifest["style_names"]), int(data.manifest["vocab_size"])
    key = f"{Path(args.data).name}-n{args.samples}-steps{args.steps}-seed{args.seed}"
    cached = Path(args.cache) / key if args.cache else None
    if cached and cached.with_suffix(".json").exists():
        judge = ARModel(train["rolls"].shape[1], vocab, train["rolls"].shape[2], len(names), style_dim=16,
                        hidden=128, layers=1, embed=16)
        judge.load_state_dict(load(cached.with_suffix(".safetensors").read_bytes()))
        return judge.eval(), read_json_object(cached.with_suffix(".json"), "cached real row")
    judge = train_lm(train["rolls"], train["style"], len(names), vocab, args.steps, args.seed)
    real = {"lm": nll_per_token(judge, test["rolls"], test["style"])}
    pick = np.random.default_rng(args.seed).choice(len(train["rolls"]), args.samples, replace=False)
    real_rev = train_lm(train["rolls"][pick], train["style"][pick], len(names), vocab, args.steps, args.seed + 1)
    real["reverse_lm"] = nll_per_token(real_rev, test["rolls"], test["style"])
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(cached.with_suffix(".safetensors"), save(judge.state_dict()))
        write_json_atomic(cached.with_suffix(".json"), real)  # last: its presence says the pair is whole
    return judge, real


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--point", action="append", required=True)
    ap.add_argument("--json", default=None)
    ap.add_argument("--cache", default=None, help="a folder that keeps the judge and the real row between runs")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_prepared(args.data, verify=False)
    test = data.splits["test"]
    names = list(data.manifest["style_names"])
    vocab = int(data.manifest["vocab_size"])
    t0 = time.perf_counter()
    judge, real = judge_and_real_row(data, args)
    rows = {"real (test windows)": real}
    print(f"judge and real row in {time.perf_counter() - t0:.0f} s: {rows}", file=sys.stderr, flush=True)
    shares = None
    for text in args.point:
        label, model, temperature, options = parse_point(text)
        t0 = time.perf_counter()
        sampler = load_sampler(model.removeprefix("rekey+"))
        tokens, styles = sampler.generate_tokens(list(range(args.seed * SEED_BLOCK, args.seed * SEED_BLOCK
                                                             + args.samples)), temperature=temperature,
                                                 options=options)
        labels = np.asarray([names.index(s) for s in styles])
        if model.startswith("rekey+"):  # the key control: the samples moved into their style's keys
            shares = shares or style_tonic_shares(from_prepared(data, "train"))
            m = sampler.manifest
            ws = from_tokens(tokens, sampler.low, int(m["steps_per_quarter"]), tuple(m["roles"]), label, labels,
                             names)
            moved = rekey(ws, shares, tuple(data.manifest["pitch_range"]), args.seed).tokens.astype(np.int64)
            tokens = np.where(moved >= FIRST_PITCH_TOKEN, moved - sampler.low, moved)  # back to the model's tokens
        rev = train_lm(tokens, labels, len(names), vocab, args.steps, args.seed + 1)
        rows[label] = {"lm": nll_per_token(judge, tokens, labels),
                       "reverse_lm": nll_per_token(rev, test["rolls"], test["style"])}
        print(f"{label}: {rows[label]} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    print("| set | LM score (NLL/token of the samples under a judge trained on real) | reverse-LM score (NLL/token "
          "of real test windows under an LM trained on the samples) |")
    print("|---|---|---|")
    for label, r in rows.items():
        print(f"| {label} | {r['lm']:.4f} | {r['reverse_lm']:.4f} |")
    if args.json:
        write_json_atomic(args.json, {"args": vars(args), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
