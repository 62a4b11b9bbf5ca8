"""Figures for docs/studio.md that are not the steering simulation (see ``simulate.py``):

    python -m divertimento.studio.measure harmonise [--model NAME] [--data DIR] [--n 24]
    python -m divertimento.studio.measure stream [--model NAME] [--bars 8]

harmonise: the soprano lines of held-out windows (validation split) of Bach chorales and of two melody-only styles
(German folk songs, Irish tunes) harmonised in Bach's style, with sequential Monte Carlo (the studio's way) and with
a plain forced draw (one particle: the melody forced, no look-ahead), against the held-out real chorale windows
themselves. Per set: whether the melody was kept note for note, and, counted per window and averaged, the suite's
parallel fifths/octaves rate and voice-crossing rate (``metrics.descriptors``) and the downbeat dissonance rate
(``downbeat_dissonance``), with seconds per piece.
stream: notes per bar and per-bar generation time at each intensity, over every style.
"""

import argparse
import json
import time

import numpy as np
import torch

from ..data.dataset import load_prepared
from ..metrics.decode import Decoded, decode, to_absolute
from ..metrics.descriptors import NO_PITCH, parallel_fifths_octaves_rate, voice_crossing_rate
from ..sample.originality import resolve_data_dir
from .compose import harmonise
from .engine import GIVEN_PARTICLES, Engine, load_studio_model
from .stream import LiveStream

DISSONANT = (1, 2, 6, 10, 11)  # pitch-class intervals between any two voices: seconds, the tritone, sevenths
FOURTH = 5  # dissonant only above the lowest sounding voice


def downbeat_dissonance(dec: Decoded, bar: int) -> np.ndarray:
    """[N] share of downbeats (first step of each bar, at least two voices sounding) where some pair of sounding
    voices forms a dissonance: a second, tritone or seventh between any two voices (compound intervals included),
    or a fourth above the lowest sounding voice (the common-practice rule). NaN where no downbeat has two voices."""
    p = dec.pitch[:, :, ::bar].astype(np.int64)  # [N, V, bars]
    sound = p != NO_PITCH
    bad = np.zeros(p.shape[0::2], dtype=bool)  # [N, bars]
    lowest = np.where(sound, p, 10_000).min(axis=1)  # [N, bars]
    V = p.shape[1]
    for i in range(V):
        for j in range(i + 1, V):
            both = sound[:, i] & sound[:, j]
            iv = np.abs(p[:, i] - p[:, j]) % 12
            fourth_over_bass = (iv == FOURTH) & (np.minimum(p[:, i], p[:, j]) == lowest)
            bad |= both & (np.isin(iv, DISSONANT) | fourth_over_bass)
    counted = sound.sum(axis=1) >= 2
    num, den = (bad & counted).sum(axis=1), counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def counts(tokens: np.ndarray, low: int, bar: int) -> dict[str, float]:
    """Mean per-window figures of token windows [N, V, T] (relative to ``low``)."""
    dec = decode(to_absolute(tokens, low))
    return {"parallel_rate": round(float(np.nanmean(parallel_fifths_octaves_rate(dec))), 4),
            "voice_crossing_rate": round(float(np.nanmean(voice_crossing_rate(dec))), 4),
            "downbeat_dissonance": round(float(np.nanmean(downbeat_dissonance(dec, bar))), 4)}


def harmonise_figures(engine: Engine, data_dir, n: int = 24, styles=("bach", "folk-german", "irish"),
                      target: str = "bach") -> dict:
    val = load_prepared(data_dir, verify=False).splits["val"]
    names = engine.style_names
    out = {}
    real = [i for i in np.flatnonzero(val["style"] == names.index(target))]
    out[f"real {target} windows (val)"] = {"pieces": len(real), **counts(
        np.stack([val["rolls"][i] for i in real]).astype(np.int64), engine.low, engine.bar)}
    for sty in [s for s in styles if s in names]:
        idx = [i for i in np.flatnonzero(val["style"] == names.index(sty)) if (val["rolls"][i][0] >= 2).any()]
        idx = idx[:: max(1, len(idx) // n)][:n]
        for mode, particles in ((f"smc, {GIVEN_PARTICLES} particles", GIVEN_PARTICLES), ("forced, 1 particle", 1)):
            t0 = time.perf_counter()
            hs = [harmonise(engine, val["rolls"][i][0].astype(np.int64), target, (k, 0), particles=particles)
                  for k, i in enumerate(idx)]
            seconds = (time.perf_counter() - t0) / max(len(hs), 1)
            kept = all(np.array_equal(h.tokens[0], val["rolls"][i][0]) for h, i in zip(hs, idx))
            out[f"{sty} melodies -> {target}, {mode}"] = {
                "pieces": len(hs), "melody_kept": kept, **counts(np.stack([h.tokens for h in hs]).astype(np.int64),
                                                                  engine.low, engine.bar),
                "seconds_per_piece": round(seconds, 2)}
    return out


def stream_figures(engine: Engine, bars: int = 8) -> dict:
    out = {"by_intensity": {}}
    for inten in (0.0, 0.25, 0.5, 0.75, 1.0):
        n, g = [], []
        for style in engine.style_names:
            st = LiveStream(engine, seed=1, style=style, intensity=inten)
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
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--bars", type=int, default=8)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    engine = load_studio_model(args.model)
    if args.what == "harmonise":
        data = resolve_data_dir(engine.sampler, args.data)
        if data is None:
            raise SystemExit("no training data found; pass --data")
        res = harmonise_figures(engine, data, args.n)
    else:
        res = stream_figures(engine, args.bars)
    print(json.dumps({"model": str(engine.sampler.path), **res}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
