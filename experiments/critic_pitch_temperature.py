"""Which pitch temperature does a calibrated critic prefer, style by style? A discriminator's estimate of how far a
sequence model's samples lie from real music, for each ``pitch_temperature`` on a grid.

    python experiments/critic_pitch_temperature.py --model mle-wide --critic runs/guided-sounding-wide

The critic of a guided model (``--critic``) was trained on real windows against ``--model``'s own samples at pitch
temperature 1 (q_1) and calibrated, so its logit s(x) estimates log p_data(x) / q_1(x). For the sampling
distribution q of another pitch temperature, log q(x) - log q_1(x) is exact (both replayed through the model's own
sampling step, masks included: ``ARModel.step(given=...)``), so

    KL(q || p_data) = E_q[log q(x) - log q_1(x) - s(x)]

is estimated on n samples of q per style, with no real window needed beyond those the critic learnt from. The
pitch temperature of least estimated KL is the critic's choice; the per-style protocol says whether it chose well.
Samples are drawn as the model file recommends (temperature, strict voice leading), with each style's held-out
(val) windows' conditions.
"""

import argparse
import sys

import numpy as np
import torch

from divertimento.atomic import write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.models.factory import load
from divertimento.sample.draw import gumbel_noise


@torch.no_grad()
def replay_log_q(model, tokens: torch.Tensor, cond, temperature: float, strict: bool, pitch_temperature: float):
    """log q(x) [B] of windows ``tokens`` [B, V, T] under the model's sampling distribution (temperature, strict
    voice leading, pitch temperature), every token forced in turn."""
    B, V, T = tokens.shape
    dec = model.begin(B, T)
    total = torch.zeros(B)
    zeros = torch.zeros(B, V, model.vocab_size)
    for t in range(T):
        total += model.step(dec, t, cond, zeros, temperature, strict, given=tokens[:, :, t],
                            pitch_temperature=pitch_temperature)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mle-wide", help="the sequence model (family mle) the critic was trained on")
    ap.add_argument("--critic", required=True, help="a guided model whose base is --model (run dir or file)")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--grid", default="0.5,0.6,0.7,0.8,0.9,1.0")
    ap.add_argument("--n", type=int, default=400, help="samples per style and pitch temperature")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--styles", default="", help="comma list of styles (default: all)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    header, model, _ = load(args.model)
    g_header, guided, _ = load(args.critic)
    if g_header.get("family") != "guided":
        sys.exit(f"--critic {args.critic} is a {g_header.get('family')} model; give a guided model")
    sampling = header.get("sampling", {})
    temperature, strict = float(sampling.get("temperature", 1.0)), bool(sampling.get("strict_voice_leading", False))
    data = load_prepared(args.data)
    val_style, val_cond = data.splits["val"]["style"], data.conditions("val")
    grid = [float(v) for v in args.grid.split(",")]
    out = {}
    for s, name in enumerate(data.style_names):
        if args.styles and name not in args.styles.split(","):
            continue
        idx = np.flatnonzero(val_style == s)
        cond = torch.as_tensor(val_cond[np.resize(idx, args.n)])
        out[name] = {}
        for pt in grid:
            noise = gumbel_noise((args.n, *model.noise_shape), torch.Generator().manual_seed(args.seed))
            x = model.sample(cond, noise, temperature, strict_voice_leading=strict, pitch_temperature=pt)
            log_q = replay_log_q(model, x, cond, temperature, strict, pt)
            log_q1 = log_q if pt == 1.0 else replay_log_q(model, x, cond, temperature, strict, 1.0)
            logit = guided.log_ratio(x, cond)
            kl = log_q - log_q1 - logit
            out[name][pt] = {"kl": float(kl.mean()), "kl_se": float(kl.std() / np.sqrt(args.n)),
                             "logit": float(logit.mean()), "log_ratio_q": float((log_q - log_q1).mean())}
            r = out[name][pt]
            print(f"{name:14s} pT={pt:4.2f}  KL {r['kl']:7.2f} ± {r['kl_se']:.2f}   critic logit {r['logit']:6.2f}   "
                  f"log q/q1 {r['log_ratio_q']:6.2f}", flush=True)
        best = min(out[name], key=lambda p: out[name][p]["kl"])
        print(f"{name:14s} critic's choice: pitch_temperature {best}", flush=True)
    if args.json:
        write_json_atomic(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
