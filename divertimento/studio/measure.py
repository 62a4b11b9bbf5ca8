"""Figures for docs/studio.md that are not the steering simulation (see ``simulate.py``):

    python -m divertimento.studio.measure harmonise [--model PATH] [--data DIR] [--n 8]
    python -m divertimento.studio.measure stream [--model PATH] [--bars 8]

harmonise: melodies of held-out folk windows (validation split) harmonised in Bach's style, against the same
pipeline without inversion and against real Bach windows. Reports the share of soprano-bass intervals that are
consonant (unison/octave, thirds, fifth, sixths: pitch-class intervals 0 3 4 7 8 9; chance is 0.5), how often
the alto sounds above the soprano, the soprano fit (mean log-probability G gives the melody at the inverted
latent) and seconds per piece.
stream: notes per bar and per-bar generation time at each intensity, over every style.
"""

import argparse
import json
import time

import numpy as np
import torch

from ..data.dataset import load_prepared
from ..metrics.decode import decode, to_absolute
from ..sample.originality import resolve_data_dir
from .chain import InversionOptions
from .compose import HARMONISE, compose, harmonise
from .latents import load_studio_model
from .stream import LiveStream, density_direction

CONSONANT = (0, 3, 4, 7, 8, 9)


def sounding(tokens: np.ndarray, low: int) -> np.ndarray:
    """[V, T] MIDI pitch sounding at each step (-1 silent)."""

    return decode(to_absolute(tokens[None], low)).pitch[0].astype(np.int64)


def voicing(tokens: np.ndarray, low: int) -> tuple[float, float]:
    """(share of steps where soprano and bass both sound whose interval is consonant, share of steps where both
    sound with the alto above the soprano)."""
    p = sounding(tokens, low)
    s, a, b = p[0], p[1], p[-1]
    both = (s >= 0) & (b >= 0)
    cons = float(np.isin((s[both] - b[both]) % 12, CONSONANT).mean()) if both.any() else float("nan")
    sa = (s >= 0) & (a >= 0)
    cross = float((a[sa] > s[sa]).mean()) if sa.any() else float("nan")
    return cons, cross


def harmonise_figures(bundle, data_dir, n: int = 8, styles=("bach", "folk-german", "irish"),
                      target: str = "bach") -> dict:
    val = load_prepared(data_dir, verify=False).splits["val"]
    names = bundle.style_names
    out = {}
    T = bundle.default_temperature if hasattr(bundle, "default_temperature") else 1.0
    for sty in [s for s in styles if s in names]:
        idx = [i for i in np.flatnonzero(val["style"] == names.index(sty)) if (val["rolls"][i][0] >= 2).any()]
        idx = idx[:: max(1, len(idx) // n)][:n]
        for mode, opts in (("inverted", HARMONISE), ("no inversion", InversionOptions(steps=0))):
            t0 = time.perf_counter()
            hs = [harmonise(bundle, val["rolls"][i][0].astype(np.int64), target, (k, 0), T, opts=opts)
                  for k, i in enumerate(idx)]
            v = np.array([voicing(h.tokens, bundle.low) for h in hs])
            out[f"{sty} -> {target}, {mode}"] = {
                "pieces": len(hs), "sb_consonant": round(float(np.nanmean(v[:, 0])), 3),
                "alto_above_soprano": round(float(np.nanmean(v[:, 1])), 3),
                "soprano_fit": round(float(np.mean([f for h in hs for f in h.meta["melody_fit"]])), 3),
                "seconds_per_piece": round((time.perf_counter() - t0) / max(len(hs), 1), 2)}
    own = np.array([voicing(compose(bundle, (5, i), target, None, T).tokens, bundle.low) for i in range(40)])
    out[f"model's own {target} windows"] = {"sb_consonant": round(float(np.nanmean(own[:, 0])), 3),
                                           "alto_above_soprano": round(float(np.nanmean(own[:, 1])), 3)}
    real = np.flatnonzero(val["style"] == names.index(target))[:200:5]
    rv = np.array([voicing(val["rolls"][i], bundle.low) for i in real])
    out[f"real {target} windows"] = {"sb_consonant": round(float(np.nanmean(rv[:, 0])), 3),
                                     "alto_above_soprano": round(float(np.nanmean(rv[:, 1])), 3)}
    return out


def stream_figures(bundle, bars: int = 8) -> dict:
    _, corr = density_direction(bundle)
    out = {"density_direction_fit_r": round(corr, 3), "by_intensity": {}}
    for inten in (0.0, 0.25, 0.5, 0.75, 1.0):
        n, g = [], []
        for style in bundle.style_names:
            st = LiveStream(bundle, seed=1, style=style, intensity=inten)
            got = [st.next_bar() for _ in range(bars)]
            n += [len(b.notes) for b in got]
            g += [b.gen_ms for b in got[1:]]
        out["by_intensity"][str(inten)] = {"notes_per_bar": round(float(np.mean(n)), 2),
                                           "gen_ms_p50": round(float(np.median(g)), 1),
                                           "gen_ms_p99": round(float(np.percentile(g, 99)), 1),
                                           "gen_ms_max": round(float(np.max(g)), 1)}
    out["bar_ms_at_100_qpm"] = 2400.0
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("harmonise", "stream"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", default=None, help="prepared data (default: the model's)")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--bars", type=int, default=8)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    bundle = load_studio_model(args.model)
    if args.what == "harmonise":
        data = resolve_data_dir(bundle, args.data)
        if data is None:
            raise SystemExit("no training data found; pass --data")
        res = harmonise_figures(bundle, data, args.n)
    else:
        res = stream_figures(bundle, args.bars)
    print(json.dumps({"model": str(bundle.path), "step": bundle.header.get("step"), **res}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
