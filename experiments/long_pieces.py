"""Whole pieces against real music of the same length, per style and meter: key consistency, the last note on the
tonic, the bar-to-bar self-similarity profile, the metric onset profile, and whether the music drifts from its
first window to its last.

    python experiments/long_pieces.py --data data/default --model mle --bars 16 --n 12 --json runs/long.json

Generated: ``n`` pieces per (style, meter) of ``bars`` bars, drawn as the studio and ``generate`` draw them
(``compose_many``: the first window, then windows that grow out of the last two bars, with the last bar given as
the tonic). Real: stretches of the same length from the test split, stitched from its overlapping windows, and for
the last note the end of each test piece's last window (its last full bars; the true final note can be later).

- key consistency: share of the piece's 4-bar segments whose best Krumhansl-Kessler key is the whole piece's key;
- last note on the tonic: the bass's (lowest sounding voice's) last note is the piece key's tonic;
- self-similarity at lag L: mean cosine similarity of the onset rolls (pitch x step) of bars i and i + L;
- onset profile: share of onsets at each position of the bar, and its total-variation distance to the real one;
- drift: in-scale rate and notes per bar of each 4-bar segment, first segment against last;
- fermata chords (chorales): the share of the chords under the fermatas that are root-position major or minor
  triads (experiments/phrase_ends.py gives Bach's).
"""

import argparse
import json
import sys
from collections import defaultdict

import numpy as np

from divertimento.atomic import write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.data.openings import stitched_stretches
from divertimento.music.key import key_of_notes
from divertimento.music.roll import FIRST_PITCH_TOKEN, tokens_to_notes
from divertimento.studio.compose import compose_many
from divertimento.studio.engine import load_studio_model
from divertimento.studio.phrases import CHORD_PULL, KEY_PULL

LAGS = (1, 2, 4, 8)
SEGMENT_BARS = 4


def onset_roll(window: np.ndarray, low: int = 0) -> np.ndarray:
    """The onsets of a token window [V, L] as a flat 0/1 roll [V * L * 128] (voice, step, MIDI pitch above ``low``)."""
    roll = np.zeros((window.shape[0], window.shape[1], 128))
    v, s = np.nonzero(window >= FIRST_PITCH_TOKEN)
    roll[v, s, window[v, s] - FIRST_PITCH_TOKEN + low] = 1
    return roll.ravel()


def piece_key(tokens: np.ndarray, low: int):
    notes = np.concatenate([tokens_to_notes(r, low) for r in tokens])
    return key_of_notes(notes[:, 2], notes[:, 1]) if len(notes) else None


def figures(pieces: list[np.ndarray], low: int, bar: int) -> dict:
    key_cons, tonic_end, sims, profile, scale_first, scale_last, dens_first, dens_last = ([] for _ in range(8))
    seg = SEGMENT_BARS * bar
    for t in pieces:
        k = piece_key(t, low)
        if k is None:
            continue
        segs = [t[:, a : a + seg] for a in range(0, t.shape[1] - seg + 1, seg)]
        keys = [piece_key(s, low) for s in segs]
        key_cons.append(np.mean([kk == k for kk in keys if kk is not None]))
        sounding = [v for v in range(t.shape[0]) if (t[v] >= FIRST_PITCH_TOKEN).any()]
        bass = tokens_to_notes(t[max(sounding)], low)
        tonic_end.append(float(bass[-1, 2] % 12 == k.tonic))
        onset = t >= FIRST_PITCH_TOKEN
        rolls = np.asarray([onset_roll(t[:, b * bar : (b + 1) * bar], low) for b in range(t.shape[1] // bar)])
        norm = np.linalg.norm(rolls, axis=1) + 1e-9
        sims.append([float(np.mean([rolls[i] @ rolls[i + L] / norm[i] / norm[i + L]
                                    for i in range(len(rolls) - L)])) if len(rolls) > L else np.nan for L in LAGS])
        profile.append(onset.any(axis=0).reshape(-1, bar).sum(axis=0))
        for s, sc, de in ((segs[0], scale_first, dens_first), (segs[-1], scale_last, dens_last)):
            kk = piece_key(s, low) or k
            pcs = (s[s >= FIRST_PITCH_TOKEN] - FIRST_PITCH_TOKEN + low) % 12
            major = np.array([0, 2, 4, 5, 7, 9, 11]) if not kk.minor else np.array([0, 2, 3, 5, 7, 8, 10, 11])
            sc.append(float(np.isin((pcs - kk.tonic) % 12, major).mean()) if len(pcs) else np.nan)
            de.append(float((s >= FIRST_PITCH_TOKEN).sum()) / SEGMENT_BARS)
    prof = np.sum(profile, axis=0)
    return {"n": len(key_cons), "key_consistency": round(float(np.mean(key_cons)), 3),
            "last_bass_note_on_tonic": round(float(np.mean(tonic_end)), 3),
            "self_similarity": {f"lag {L}": round(float(np.nanmean([s[i] for s in sims])), 3)
                                for i, L in enumerate(LAGS)},
            "onset_profile": (prof / max(prof.sum(), 1)).round(3).tolist(),
            "in_scale_first_last": [round(float(np.nanmean(scale_first)), 3), round(float(np.nanmean(scale_last)), 3)],
            "notes_per_bar_first_last": [round(float(np.mean(dens_first)), 2), round(float(np.mean(dens_last)), 2)]}


def triad_over_bass(pitches: list[int]) -> bool:
    """Whether MIDI ``pitches`` sounding together are a major or minor triad (or part of one, two notes at least) in
    root position: every pitch class a third or fifth above the lowest note's, or the lowest note's own."""
    if len(set(p % 12 for p in pitches)) < 2:
        return False
    rel = {(p - min(pitches)) % 12 for p in pitches}
    return rel <= {0, 4, 7} or rel <= {0, 3, 7}


def fermata_chords(pieces, low: int) -> dict:
    """Share of the fermata chords (``meta["fermatas"]``) of generated pieces that are root-position triads, and
    how many there are."""
    good = []
    for p in pieces:
        for f in p.meta.get("fermatas", []):
            sounding = []
            for row in p.tokens.astype(np.int64):
                notes = tokens_to_notes(row, low)
                sounding += [int(n[2]) for n in notes if n[0] <= f < n[0] + n[1]]
            good.append(triad_over_bass(sounding))
    return {"fermata_chords": len(good), "root_position_triads": round(float(np.mean(good)), 3) if good else None}


def real_endings(data, split: str, low: int) -> dict[int, float]:
    """style -> share of test pieces whose last window ends with the bass on the tonic of that window's key."""
    sp = data.splits[split]
    hits = defaultdict(list)
    for piece in np.unique(sp["piece"]):
        idx = np.flatnonzero(sp["piece"] == piece)
        t = sp["rolls"][idx[np.argmax(sp["start"][idx])]].astype(np.int64)
        k = piece_key(t, low)
        sounding = [v for v in range(t.shape[0]) if (t[v] >= FIRST_PITCH_TOKEN).any()]
        if k is None or not sounding:
            continue
        bass = tokens_to_notes(t[max(sounding)], low)
        hits[int(sp["style"][idx[0]])].append(float(bass[-1, 2] % 12 == k.tonic))
    return {s: round(float(np.mean(v)), 3) for s, v in hits.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--model", default=None)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--n", type=int, default=12, help="generated pieces per style and meter")
    ap.add_argument("--min-share", type=float, default=0.1, help="meters below this share of a style are skipped")
    ap.add_argument("--styles", default=None, help="comma list of styles (default: all)")
    ap.add_argument("--split", default="test", help="the real pieces' split: test, or val to choose a knob by")
    ap.add_argument("--key-pull", default=None,
                    help="STYLE=NATS,... the pull towards the key (studio/phrases.py KEY_PULL) to draw with")
    ap.add_argument("--chord-pull", default=None,
                    help="STYLE=NATS,... the pull towards the fermata chords' triads (studio/phrases.py CHORD_PULL)")
    ap.add_argument("--seed", type=int, default=900, help="pieces (seed + meter index, i)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    for given, table in ((args.key_pull, KEY_PULL), (args.chord_pull, CHORD_PULL)):
        if given is not None:
            table.clear()
            table.update({k: float(v) for k, v in (x.split("=") for x in given.split(",") if x)})
    data = load_prepared(args.data)
    engine = load_studio_model(args.model)
    names, meters = engine.style_names, engine.sampler.meter_names
    real = stitched_stretches(data, args.split, args.bars, engine.bar_of)
    ends = real_endings(data, args.split, data.low)
    out = {}
    for s, style in enumerate(names):
        for m, meter in enumerate(meters):
            if engine.manifest["meter_shares"][s][m] < args.min_share or \
                    (args.styles and style not in args.styles.split(",")):
                continue
            pairs = [(args.seed + m, i) for i in range(args.n)]
            made = compose_many(engine, pairs, style, bars=args.bars, meter=meter, max_bars=args.bars)
            bar = engine.bar_of(m)
            row = {"generated": figures([p.tokens.astype(np.int64) for p in made], engine.low, bar)
                   | fermata_chords(made, engine.low)}
            if real.get((s, m)):
                row["real"] = figures(real[(s, m)][: 4 * args.n], engine.low, bar)
                g, r = np.array(row["generated"]["onset_profile"]), np.array(row["real"]["onset_profile"])
                row["onset_profile_tv_distance"] = round(float(np.abs(g - r).sum() / 2), 3)
            row["real_last_window_bass_on_tonic"] = ends.get(s)
            out[f"{style} {meter}"] = row
            print(f"{style} {meter}: {json.dumps(row)}", file=sys.stderr, flush=True)
    if args.json:
        write_json_atomic(args.json, {"model": str(engine.sampler.path), "bars": args.bars, "split": args.split,
                                      "key_pull": dict(KEY_PULL), "chord_pull": dict(CHORD_PULL), "rows": out})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
