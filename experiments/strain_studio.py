"""Strains as the studio ships them (studio/strains.py): are the first strains of the reels and jigs ``generate``
writes nearer held-out real tunes when a critic chooses their phrase structure, than when the model's own
likelihood chooses among the same candidates?

Real: the first 8 bars of every piece of the validation and test splits (the strain critic was fitted on the
training split only), per style, in each meter the model file has strains for. Generated: as many pieces per
meter as ``generate`` writes them (``whole_pieces``: AABB, 8-bar strains, pickups, final cadence), their first 8
full bars, under each setting of the strains:
- through-composed (``strain_candidates=0``: the studio before round 28);
- one form drawn by the real shares (``strain_candidates=1``);
- K candidates of each strain reranked by the model's likelihood (``strain_rerank=likelihood``: the control);
- K candidates of each strain resampled by the critic (the shipped setting, beta 1);
each reranking at each of its betas where given (``--betas``, ``--control-betas``: each swept on its own knob), and
each row at each sampling temperature where given (``--temperatures``: the rows as fronts).

The judge is ``piece_two_sample``'s classifier on how the strain's two halves relate, 5-fold cross-validated,
pooled over the style's meters, with and without its four repetition figures (which read what the critic reads
most directly); the same judge on strain B (the third strain heard) against held-out bars 9-16 as written (the
second strain where the first is written once between repeat signs); the share of strains whose bars 1-2 come
back as bars 5-6 (near-identical, onset cosine >= 0.8); and precision, recall, density and coverage (k = 5) of the
first strains against the held-out ones in the judge's relation space, each relation in real standard units (the
fronts' axes; the calibration row is the held-out strains split in two halves); and the suite's window figures
(``metrics.per_style.style_figures``: precision, coverage, FDD, two-sample) of every whole window of the first
strains against the same windows of the held-out strains, so that a row that wins on how a strain's bars relate by
narrowing what the bars hold (a lower temperature) shows it.

    python experiments/strain_studio.py --data data/default --seeds 0,1,2 --json runs/strain_studio.json
"""

import argparse
import json
import sys

import numpy as np
from piece_two_sample import FEATURES, piece_features, separation  # experiments/ is first on sys.path

from divertimento.atomic import write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.data.openings import stitched_stretches
from divertimento.metrics.decode import to_absolute
from divertimento.metrics.per_style import style_figures
from divertimento.metrics.reference import load_reference
from divertimento.metrics.set_stats import compute_set_stats
from divertimento.metrics.sets import WindowSet
from divertimento.metrics.standardize import Standardizer
from divertimento.metrics.stats import prdc
from divertimento.music.roll import FIRST_PITCH_TOKEN
from divertimento.sample.sampler import load_sampler
from divertimento.studio.engine import Engine
from divertimento.studio.strain_figures import STRAIN_BARS, strain_pattern
from divertimento.studio.whole import whole_pieces

HELD_OUT = ("val", "test")
NEIGHBOURS = 5


def settings(k: int, betas: dict[str, list[float]]) -> dict[str, dict]:
    """The rows: each reranking swept on its own betas (the file's own beta where none are given)."""
    out = {"through-composed": {"strain_candidates": 0}, "one form by the shares": {"strain_candidates": 1}}
    for rerank, name in (("likelihood", "by likelihood"), ("critic", "by the critic")):
        for beta in betas[rerank] or [None]:
            label = f"{k} {name}" + ("" if beta is None else f" beta {beta:g}")
            out[label] = {"strain_candidates": k, "strain_rerank": rerank} | ({} if beta is None else
                                                                               {"strain_beta": beta})
    return out


def strain_prdc(real: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Precision, recall, density and coverage of ``other`` against ``real`` in the relation space, each relation in
    real's standard units (a relation with nothing to read at real's mean)."""
    units = Standardizer.fit(real)
    return rounded(prdc(units.transform(real), units.transform(other), k=NEIGHBOURS))


def halves(real: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The calibration row's two sets: the held-out strains (or their windows) split at random in two."""
    order = np.random.default_rng(seed).permutation(len(real))
    return real[order[: len(real) // 2]], real[order[len(real) // 2 :]]


def rounded(figures: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in figures.items()}


def strain_windows(strains: list[np.ndarray], width: int, low: int) -> np.ndarray:
    """Every whole window of ``width`` steps of each strain, in absolute tokens [N, V, width]."""
    return np.concatenate([to_absolute(t[:, a : a + width], low) for t in strains
                           for a in range(0, t.shape[1] - width + 1, width)])


def strain_at(tokens: np.ndarray, pickup: int, bar: int, section: int = 0) -> np.ndarray:
    """The 8-bar strain that starts ``section`` strains after the first full bar."""
    at = pickup + section * STRAIN_BARS * bar
    return tokens[:, at : at + STRAIN_BARS * bar].astype(np.int64)


def last_bar_notes(strains: list[np.ndarray], bar: int) -> float:
    """Mean notes struck in a strain's last bar (a strain that stops on a held note strikes one)."""
    return round(float(np.mean([(t[:, -bar:] >= FIRST_PITCH_TOKEN).sum() for t in strains])), 2) if strains else 0.0


def returns(strains: list[np.ndarray], bar: int) -> float:
    """Share of strains whose bars 1-2 come back as bars 5-6 (near-identical cells)."""
    return round(float(np.mean([(p := strain_pattern(t, bar))[4:6] == p[0:2] for t in strains])), 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--model", default=None)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--betas", default="", help="comma list: the critic at each beta (default: the file's)")
    ap.add_argument("--control-betas", default="", help="comma list: the likelihood control at each beta")
    ap.add_argument("--temperatures", default="", help="comma list: every row at each sampling temperature")
    ap.add_argument("--seeds", default="0", help="comma list: pieces (seed * 1000 + meter, i)")
    ap.add_argument("--only", default=None, help="comma list of settings to run (e.g. 'by likelihood,by the critic')")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    data = load_prepared(args.data)
    sampler = load_sampler(args.model)
    plain = Engine(sampler)
    if plain.strains is None:
        raise SystemExit(f"{sampler.path.name} carries no strains")
    real: dict = {}
    second: dict = {}  # bars 9-16 as written: the second strain where the first is written once between repeats
    for split in HELD_OUT:
        for key, v in stitched_stretches(data, split, STRAIN_BARS, plain.bar_of).items():
            real.setdefault(key, []).extend(v)
        for key, v in stitched_stretches(data, split, 2 * STRAIN_BARS, plain.bar_of).items():
            second.setdefault(key, []).extend(t[:, t.shape[1] // 2 :] for t in v)
    other = [i for i, name in enumerate(FEATURES) if not name.startswith("repetition")]
    ref = load_reference(data, "test")
    roles = tuple(data.manifest["roles"])

    def window_x(strains: list[np.ndarray]) -> np.ndarray:
        ws = WindowSet(strain_windows(strains, int(data.manifest["window_steps"]), plain.low),
                       int(data.manifest["steps_per_quarter"]), roles, "strains")
        return ref.std.transform(compute_set_stats(ws, ref.config).vectors)

    out: dict = {}
    for style, meters in plain.strains.rows.items():
        s = plain.style_names.index(style)
        ms = [plain.sampler.meter_names.index(m) for m in meters]
        x_real = np.concatenate([[piece_features(t, plain.low, plain.bar_of(m)) for t in real[(s, m)]] for m in ms])
        w_real = window_x([t for m in ms for t in real[(s, m)]])
        x_second = np.concatenate([[piece_features(t, plain.low, plain.bar_of(m)) for t in second.get((s, m), [])]
                                   for m in ms])
        row: dict = {"real": {"n": len(x_real), "n_second": len(x_second), "prdc_halves": strain_prdc(*halves(x_real)),
                              "window_halves": rounded(style_figures(*halves(w_real))),
                              "returns": {
            plain.sampler.meter_names[m]: returns(real[(s, m)], plain.bar_of(m)) for m in ms},
            "last_bar_notes": {plain.sampler.meter_names[m]: [last_bar_notes(real[(s, m)], plain.bar_of(m)),
                                                              last_bar_notes(second.get((s, m), []), plain.bar_of(m))]
                               for m in ms}}}
        betas = {"critic": [float(b) for b in args.betas.split(",") if b],
                 "likelihood": [float(b) for b in args.control_betas.split(",") if b]}
        temperatures = [float(t) for t in args.temperatures.split(",") if t] or [None]
        rows = [(label + ("" if t is None else f" T {t:g}"), options, t)
                for label, options in settings(args.k, betas).items()
                if not args.only or any(x in label for x in args.only.split(",")) for t in temperatures]
        for label, options, temperature in rows:
            engine = Engine(sampler, strain_options=options)
            runs = []
            for seed in (int(x) for x in args.seeds.split(",")):
                feats, feats_b, back, ends, firsts = [], [], {}, {}, []
                for m in ms:
                    bar, name = plain.bar_of(m), plain.sampler.meter_names[m]
                    pairs = [(seed * 1000 + m, i) for i in range(len(real[(s, m)]))]
                    made = whole_pieces(engine, [style] * len(pairs), pairs, meter=name, temperature=temperature)
                    strains = [strain_at(t, p.meta.get("pickup_steps", 0), bar) for p, t, _ in made]
                    feats += [piece_features(t, plain.low, bar) for t in strains]
                    firsts += strains
                    # strain B (AABB: the third strain heard), as many as the real second strains
                    feats_b += [piece_features(strain_at(t, p.meta.get("pickup_steps", 0), bar, 2), plain.low, bar)
                                for p, t, _ in made[: len(second.get((s, m), []))]]
                    back[name] = returns(strains, bar)
                    ends[name] = [last_bar_notes(strains, bar), last_bar_notes(
                        [strain_at(t, p.meta.get("pickup_steps", 0), bar, 2) for p, t, _ in made], bar)]
                x, x_b = np.array(feats), np.array(feats_b)
                runs.append({"seed": seed, "accuracy": separation(x_real, x, seed),
                             "accuracy_without_repetition": separation(x_real[:, other], x[:, other], seed),
                             "accuracy_second": separation(x_second, x_b, seed), "prdc": strain_prdc(x_real, x),
                             "windows": rounded(style_figures(w_real, window_x(firsts), seed)),
                             "returns": back,
                             "last_bar_notes": ends})
            row[label] = {"runs": runs}
            for key, name in (("accuracy", "accuracy"), ("accuracy_without_repetition", "without_repetition"),
                              ("accuracy_second", "second")):
                acc = [r[key][0] for r in runs]
                row[label] |= {f"{name}_mean": round(float(np.mean(acc)), 3),
                               f"{name}_spread": round(float(np.std(acc)), 3)}
            for group, prefix in (("prdc", ""), ("windows", "window_")):
                for name in runs[0][group]:
                    values = [r[group][name] for r in runs]
                    row[label] |= {f"{prefix}{name}_mean": round(float(np.mean(values)), 3),
                                   f"{prefix}{name}_spread": round(float(np.std(values)), 3)}
            print(f"{style} {label}: {json.dumps(row[label])}", file=sys.stderr, flush=True)
        out[style] = row
    if args.json:
        write_json_atomic(args.json, {"model": str(sampler.path), "k": args.k, "seeds": args.seeds, "styles": out})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
