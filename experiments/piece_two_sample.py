"""Can a classifier tell a model's whole pieces from real ones by what only a whole piece has? Per style and meter,
the openings of real pieces (their first ``bars`` bars, stitched from the prepared windows of every split) against
as many pieces drawn as ``generate`` and the studio draw them (``compose_many``: cadences, key pull), ``bars`` + 4
bars long and cut to ``bars`` so that neither side ends on a final cadence. Each piece is described only by how its
4-bar segments relate to one another (below); a gradient-boosted classifier's 5-fold cross-validated accuracy says
how far apart the two sets are on those relations.

Calibration rows:
- "spliced real": real openings whose segments come from different real pieces of the same style and meter, each
  segment in its own place. Every 4-bar stretch is real; only how they belong together is not. Its accuracy against
  real openings says how much the relations below can see at all.
- "real split": real openings against other real openings (two random halves): chance, up to the noise of n.

Relations (segments of 4 bars; the piece's key by Krumhansl-Kessler over all its notes):
- key: the share of segments in the piece's key, the mean circle-of-fifths distance between successive segments'
  tonics, the share of successive segments that change mode;
- material: the cosine of successive segments' pitch-class histograms, and of the first and last segment's;
- repetition: bar onset-roll self-similarity at lags 1, 2 and 4 (mean), and its largest value at lag 4;
- melody: the top voice's interval histogram cosine between successive segments, its mean pitch last segment less
  first, and its range over the piece less its mean range within a segment;
- rhythm: the cosine of successive segments' onset-position-in-bar histograms, the notes per bar's coefficient of
  variation over the bars, and the last segment's notes per bar over the first's.

    python experiments/piece_two_sample.py --data data/default --bars 8 --styles bach,irish --json runs/piece2s.json
"""

import argparse
import json
import sys

import numpy as np
from long_pieces import onset_roll  # experiments/ is the script's own folder, first on sys.path
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from divertimento.atomic import write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.data.openings import stitched_stretches
from divertimento.music.key import key_of_notes
from divertimento.music.roll import tokens_to_notes
from divertimento.studio.engine import load_studio_model
from divertimento.studio.forms import compose_many

SEGMENT_BARS = 4
LAGS = (1, 2, 4)
MAX_INTERVAL = 12  # top-voice intervals are counted up to an octave, larger ones in the last bin
FEATURES = ["key: segments in the piece's key", "key: fifths between successive segments' tonics",
            "key: successive segments that change mode", "material: successive pitch-class cosine",
            "material: first-last pitch-class cosine", *[f"repetition: bar similarity at lag {L}" for L in LAGS],
            "repetition: largest bar similarity at lag 4", "melody: successive interval cosine",
            "melody: top voice's mean pitch, last segment less first", "melody: range over segments' ranges",
            "rhythm: successive onset-position cosine", "rhythm: notes per bar, variation",
            "rhythm: notes per bar, last segment over first"]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity; NaN where either vector is zero (nothing to compare)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / na / nb) if na > 0 and nb > 0 else np.nan


def _notes(tokens: np.ndarray, low: int) -> np.ndarray:
    """[start, duration, pitch, velocity, voice] of every note of tokens [V, T]."""
    rows = [np.c_[n, np.full(len(n), v)] for v, r in enumerate(tokens) if len(n := tokens_to_notes(r, low))]
    return np.concatenate(rows) if rows else np.zeros((0, 5), dtype=np.int64)


def _key(notes: np.ndarray):
    return key_of_notes(notes[:, 2], notes[:, 1]) if len(notes) else None


def _fifths(a: int, b: int) -> int:
    d = (7 * (b - a)) % 12  # steps round the circle of fifths
    return min(d, 12 - d)


def piece_features(tokens: np.ndarray, low: int, bar: int) -> np.ndarray:
    """The relations above of one piece [V, T] (T whole segments); NaN where a relation has no notes to read."""
    seg_len = SEGMENT_BARS * bar
    n_seg = tokens.shape[1] // seg_len
    notes = _notes(tokens, low)
    key = _key(notes)
    segs = [notes[(notes[:, 0] >= i * seg_len) & (notes[:, 0] < (i + 1) * seg_len)] for i in range(n_seg)]
    keys = [_key(s) for s in segs]
    pcs = [np.bincount(s[:, 2] % 12, weights=s[:, 1], minlength=12) for s in segs]
    top_voice = int(notes[:, 4].min()) if len(notes) else 0
    tops = [s[s[:, 4] == top_voice] for s in segs]
    ints = [np.bincount(np.minimum(np.abs(np.diff(t[:, 2])), MAX_INTERVAL), minlength=MAX_INTERVAL + 1)
            for t in tops]
    positions = [np.bincount(s[:, 0] % bar, minlength=bar) for s in segs]
    n_bars = tokens.shape[1] // bar
    per_bar = np.bincount(notes[:, 0] // bar, minlength=n_bars)[:n_bars].astype(float)
    rolls = [onset_roll(tokens[:, b * bar : (b + 1) * bar], low) for b in range(n_bars)]
    sims = {L: [cosine(rolls[i], rolls[i + L]) for i in range(n_bars - L)] for L in LAGS}
    pairs = list(zip(range(n_seg - 1), range(1, n_seg)))
    known = [(a, b) for a, b in pairs if keys[a] is not None and keys[b] is not None]
    mean = lambda xs: float(np.nanmean(xs)) if len(xs) and not np.all(np.isnan(xs)) else np.nan  # noqa: E731
    return np.array([
        mean([float(k == key) for k in keys if k is not None]),
        mean([_fifths(keys[a].tonic, keys[b].tonic) for a, b in known]),
        mean([float(keys[a].minor != keys[b].minor) for a, b in known]),
        mean([cosine(pcs[a], pcs[b]) for a, b in pairs]),
        cosine(pcs[0], pcs[-1]),
        *[mean(sims[L]) for L in LAGS],
        float(np.nanmax(sims[4])) if not np.all(np.isnan(sims[4])) else np.nan,  # a bar without onsets: NaN
        mean([cosine(ints[a], ints[b]) for a, b in pairs]),
        float(tops[-1][:, 2].mean() - tops[0][:, 2].mean()) if len(tops[0]) and len(tops[-1]) else np.nan,
        float(np.ptp(np.concatenate([t[:, 2] for t in tops])) - np.mean([np.ptp(t[:, 2]) for t in tops if len(t)]))
        if any(len(t) for t in tops) else np.nan,
        mean([cosine(positions[a], positions[b]) for a, b in pairs]),
        float(per_bar.std() / per_bar.mean()) if per_bar.mean() > 0 else np.nan,
        float(per_bar[-SEGMENT_BARS:].sum() / per_bar[:SEGMENT_BARS].sum()) if per_bar[:SEGMENT_BARS].sum() else np.nan,
    ])


def spliced(pieces: list[np.ndarray], bar: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Each piece's segments replaced by the same segments of other pieces (a random one per segment, never the
    piece itself for the segments after the first)."""
    seg_len = SEGMENT_BARS * bar
    out = []
    for i, p in enumerate(pieces):
        q = p.copy()
        for a in range(seg_len, p.shape[1], seg_len):
            j = rng.choice([k for k in range(len(pieces)) if k != i])
            q[:, a : a + seg_len] = pieces[j][:, a : a + seg_len]
        out.append(q)
    return out


def separation(real: np.ndarray, other: np.ndarray, seed: int) -> tuple[float, float]:
    """5-fold cross-validated accuracy (mean, spread over folds) of a classifier between equal numbers of each.
    ``metrics.two_sample.classifier_two_sample`` is the suite's test on thousands of windows (2 folds, one figure);
    a few hundred pieces need the spread over more folds, and shallower trees."""
    rng = np.random.default_rng(seed)
    n = min(len(real), len(other))
    x = np.concatenate([real[rng.choice(len(real), n, replace=False)], other[rng.choice(len(other), n, replace=False)]])
    y = np.r_[np.ones(n), np.zeros(n)]
    clf = HistGradientBoostingClassifier(max_iter=100, max_depth=3, random_state=seed)
    scores = cross_val_score(clf, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed))
    return round(float(scores.mean()), 3), round(float(scores.std()), 3)


def mean_differences(real: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Per relation, other's mean less real's, in real standard deviations."""
    sd = np.nanstd(real, axis=0)
    d = (np.nanmean(other, axis=0) - np.nanmean(real, axis=0)) / np.where(sd > 1e-9, sd, np.nan)
    return {name: round(float(v), 2) for name, v in zip(FEATURES, d)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--model", default=None)
    ap.add_argument("--bars", type=int, default=8, help="bars per piece, a multiple of 4")
    ap.add_argument("--styles", default=None, help="comma list of styles (default: all)")
    ap.add_argument("--min-real", type=int, default=60, help="(style, meter)s with fewer real openings are skipped")
    ap.add_argument("--max-n", type=int, default=400, help="at most this many real openings (and pieces) per row")
    ap.add_argument("--seed", type=int, default=1300, help="pieces (seed + meter index, i); the classifier's folds")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.bars % SEGMENT_BARS or args.bars < 2 * SEGMENT_BARS:
        raise SystemExit(f"--bars must be a multiple of {SEGMENT_BARS}, at least {2 * SEGMENT_BARS}")
    data = load_prepared(args.data)
    engine = load_studio_model(args.model)
    names, meters = engine.style_names, engine.sampler.meter_names
    real: dict = {}
    for split in data.splits:
        for k, v in stitched_stretches(data, split, args.bars, engine.bar_of).items():
            real.setdefault(k, []).extend(v)
    rng = np.random.default_rng(args.seed)
    out = {}
    for (s, m), pieces in sorted(real.items()):
        if len(pieces) < args.min_real or (args.styles and names[s] not in args.styles.split(",")):
            continue
        bar = engine.bar_of(m)
        pieces = [pieces[i] for i in rng.permutation(len(pieces))[: args.max_n]]
        made = compose_many(engine, [(args.seed + m, i) for i in range(len(pieces))], names[s],
                            bars=args.bars + SEGMENT_BARS, meter=meters[m], max_bars=args.bars + SEGMENT_BARS)
        made = [p.tokens.astype(np.int64)[:, : args.bars * bar] for p in made]
        x_real = np.array([piece_features(p, engine.low, bar) for p in pieces])
        rows = {"generated": np.array([piece_features(p, engine.low, bar) for p in made]),
                "spliced real": np.array([piece_features(p, engine.low, bar) for p in spliced(pieces, bar, rng)])}
        half = rng.permutation(len(pieces))
        row = {"n": len(pieces),
               "real split": separation(x_real[half[: len(half) // 2]], x_real[half[len(half) // 2 :]], args.seed)}
        for label, x in rows.items():
            row[label] = {"accuracy": separation(x_real, x, args.seed),
                          "mean_difference_sd": mean_differences(x_real, x)}
        out[f"{names[s]} {meters[m]}"] = row
        print(f"{names[s]} {meters[m]}: {json.dumps(row)}", file=sys.stderr, flush=True)
    if args.json:
        write_json_atomic(args.json, {"model": str(engine.sampler.path), "bars": args.bars, "rows": out})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
