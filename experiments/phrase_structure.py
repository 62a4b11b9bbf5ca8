"""Phrase structure inside an 8-bar strain, chosen by a critic: does discriminator-guided choice among whole
candidate strains make the model's strains as structured as real ones, beyond what the data's own form shares and
the model's likelihood give?

Real tunes repeat inside a strain: in the fiddle and Irish tunes in 2/4, 2/2 and 6/8, bars 1-2 come back as bars 5-6
(form ABAC in 2-bar cells, near-identical cells counted alike) in 44-67 % of 8-bar openings, ABAB in up to 31 %;
Bach's and Palestrina's openings are through-composed (ABCD 91-100 %). The sequence model reads 4-bar windows,
grows a piece from its last two bars, and writes ABCD.

Per style and meter, the real openings of every split (8 bars, stitched from the prepared windows) are shuffled and
halved: the critic's half and the judge's half. Rows, each as many 8-bar pieces as the judge's half:
- through: ``compose_many`` through-composed (what the studio writes inside a strain);
- form shares: each piece in a form drawn by the form shares of the critic's half (2-bar cells; a letter heard again
  is its cell again, note for note), one draw;
- K draws of that, reranked by likelihood (the control): the draw with the model's highest log-likelihood of the
  piece, read window by window as it writes them;
- K draws of that, resampled by the critic (weights (D / (1 - D))^beta, discriminator rejection sampling; beta
  infinite: the critic's best of K). The critic is a gradient-boosted classifier on the cells' similarity matrix
  (onset rolls, pitch classes, onset positions, each pair of the four cells, and each cell's notes) between the
  critic's half and one draw per piece of a seed block of its own, calibrated by 5-fold cross-validation
  (``--critic logistic``: a logistic regression on the same features instead).

Pieces are drawn 12 bars long and cut to 8, so that none ends on its final cadence. The judge is the one of
``piece_two_sample.py``: a classifier on the piece's segment relations (key, material, repetition, melody,
rhythm), 5-fold cross-validated against the judge's half, and the same without the four repetition relations
(bar similarity), which read what the critic reads most directly; also the share of each cell pattern
(near-identical cells, onset-roll cosine >= 0.8) against the judge's half's.

    python experiments/phrase_structure.py --data data/default --styles irish,fiddle --json runs/phrase.json

``--cell-bars 1``: the candidates' forms (and the critic's view) in 1-bar cells, so that a strain can bring back
its first bar and not its second, a return with variation (drawn 9 bars long and cut; a pattern of eight different
bars is drawn through-composed). ``--dump DIR`` writes each row's first strains as MIDI files and a piano-roll PNG,
to hear and look at.
"""

import argparse
import json
import os
import sys
from collections import Counter

import numpy as np
import torch
from piece_two_sample import FEATURES, mean_differences, piece_features, separation  # experiments/ is on sys.path
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from divertimento.atomic import write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.data.openings import stitched_stretches
from divertimento.losses.likelihood import categorical_nll
from divertimento.music.plot import write_grid_png
from divertimento.music.write import write_midi
from divertimento.sample.pieces import tokens_to_piece
from divertimento.studio.engine import load_studio_model
from divertimento.studio.forms import compose_many
from divertimento.studio.strain_figures import form_shares, strain_features, strain_pattern

BARS = 8
CELL_BARS = 2  # the judge's patterns, and the candidates' cells unless --cell-bars says otherwise
EXTRA_BARS = 4  # bars drawn after the strain and cut away (at 1-bar cells, one: the form check allows letters A-H)
LETTERS = "ABCDEFGH"


def extended_form(form: str, cell_bars: int) -> str | None:
    """``form`` with the cells after the strain (new letters), or None to draw the strain through-composed: no form
    given, or one that leaves no letter for them."""
    extra = EXTRA_BARS // cell_bars if cell_bars == CELL_BARS else 1
    free = [c for c in LETTERS if c not in form][:extra]
    return form + "".join(free) if form and len(free) == extra else None


def draw(engine, style: str, meter: str, bar: int, forms: list[str], seed: int,
         cell_bars: int = CELL_BARS) -> list[np.ndarray]:
    """One 8-bar piece per entry of ``forms`` (pair (seed, i)), drawn longer in that form (cells of ``cell_bars``
    bars) and cut."""
    total = BARS + (EXTRA_BARS if cell_bars == CELL_BARS else cell_bars)
    out: list = [None] * len(forms)
    for f in sorted(set(forms)):
        rows = [i for i, g in enumerate(forms) if g == f]
        made = compose_many(engine, [(seed, i) for i in rows], style, bars=total,
                            form=extended_form(f, cell_bars), meter=meter, max_bars=total, section_bars=cell_bars)
        for i, p in zip(rows, made):
            out[i] = p.tokens.astype(np.int64)[:, : BARS * bar]
    return out


def draw_forms(shares: dict[str, float], count: int, rng: np.random.Generator) -> list[str]:
    forms = list(shares)
    return list(rng.choice(forms, size=count, p=[shares[f] for f in forms]))


def log_likelihood(engine, pieces: list[np.ndarray], style: int, meter: int, bar: int) -> np.ndarray:
    """The model's log-likelihood of each piece read as windows of whole bars, the first from the start and the
    last ending at the piece's end (one window where the piece fits in one)."""
    model = engine.sampler.module
    w = engine.n_steps // bar * bar
    n = pieces[0].shape[1]
    starts = sorted({0, max(n - w, 0)})
    c = engine.sampler.conditions([style] * len(pieces), [meter] * len(pieces))
    total = np.zeros(len(pieces))
    with torch.no_grad():
        for a in starts:
            x = torch.as_tensor(np.stack([p[:, a : a + w] for p in pieces]))
            total -= categorical_nll(model(x, c), x).numpy()
    return total


def critic(real: list[np.ndarray], fake: list[np.ndarray], bar: int, seed: int, kind: str = "trees",
           cell_bars: int = CELL_BARS):
    """A classifier of real strains against the model's: gradient-boosted trees calibrated by cross-validation, or
    a logistic regression on the standardised features (a critic a model file could carry as plain numbers)."""
    x = np.array([strain_features(p, bar, cell_bars) for p in real + fake])
    y = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    clf = CalibratedClassifierCV(HistGradientBoostingClassifier(max_iter=100, max_depth=3, random_state=seed), cv=5)
    return clf.fit(x, y)


def resample(weights_log: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of log-weights [n, K], drawn in proportion to the weights."""
    w = np.exp(weights_log - weights_log.max(axis=1, keepdims=True))
    return np.array([rng.choice(len(r), p=r / r.sum()) for r in w])


def judge(real: list[np.ndarray], made: list[np.ndarray], bar: int, low: int, seed: int) -> dict:
    xr = np.array([piece_features(p, low, bar) for p in real])
    xm = np.array([piece_features(p, low, bar) for p in made])
    real_forms = Counter(strain_pattern(p, bar, cell_bars=CELL_BARS) for p in real)
    made_forms = Counter(strain_pattern(p, bar, cell_bars=CELL_BARS) for p in made)
    top = [f for f, _ in (real_forms + made_forms).most_common(5)]
    other = [i for i, name in enumerate(FEATURES) if not name.startswith("repetition")]
    return {"accuracy": separation(xr, xm, seed),
            "accuracy_without_repetition": separation(xr[:, other], xm[:, other], seed),
            "forms": {f: [round(made_forms[f] / len(made), 2), round(real_forms[f] / len(real), 2)] for f in top},
            "mean_difference_sd": mean_differences(xr, xm)}


def dump(engine, rows: dict[str, list[np.ndarray]], style: str, meter: str, folder: str, count: int = 4) -> None:
    """The first ``count`` strains of each row as MIDI files and one piano-roll PNG per row, to look at and hear."""
    os.makedirs(folder, exist_ok=True)
    for label, made in rows.items():
        name = f"{style}-{meter.replace('/', '-')}-{label.replace(' ', '-').replace(',', '')}"
        pieces = [tokens_to_piece(t.astype(np.uint8), engine.low, engine.manifest, style, f"{label} {i}", meter)
                  for i, t in enumerate(made[:count])]
        for i, piece in enumerate(pieces):
            write_midi(piece, os.path.join(folder, f"{name}-{i}.mid"))
        write_grid_png(pieces, os.path.join(folder, f"{name}.png"), columns=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--model", default=None)
    ap.add_argument("--styles", default=None, help="comma list of styles (default: all)")
    ap.add_argument("--min-real", type=int, default=120, help="(style, meter)s with fewer real openings are skipped")
    ap.add_argument("--max-n", type=int, default=400, help="at most this many real openings per (style, meter)")
    ap.add_argument("--k", type=int, default=4, help="candidates per piece")
    ap.add_argument("--betas", default="1,inf", help="comma list of the critic's beta (inf: its best of K)")
    ap.add_argument("--critic", choices=("trees", "logistic"), default="trees")
    ap.add_argument("--cell-bars", type=int, choices=(1, 2), default=CELL_BARS,
                    help="bars per cell of the candidates' forms and the critic's view (the judge's stay 2)")
    ap.add_argument("--seed", type=int, default=2700)
    ap.add_argument("--dump", default=None, help="folder for each row's first strains as MIDI and a piano-roll PNG")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    data = load_prepared(args.data)
    engine = load_studio_model(args.model)
    names, meters = engine.style_names, engine.sampler.meter_names
    real: dict = {}
    for split in data.splits:
        for k, v in stitched_stretches(data, split, BARS, engine.bar_of).items():
            real.setdefault(k, []).extend(v)
    out = {}
    for (s, m), pieces in sorted(real.items()):
        if len(pieces) < args.min_real or (args.styles and names[s] not in args.styles.split(",")):
            continue
        rng = np.random.default_rng(args.seed + 10 * s + m)
        bar, style, meter = engine.bar_of(m), names[s], meters[m]
        order = rng.permutation(len(pieces))[: args.max_n]
        for_critic, for_judge = [pieces[i] for i in order[::2]], [pieces[i] for i in order[1::2]]
        n = len(for_judge)
        cells = args.cell_bars
        shares = form_shares(for_critic, bar, cells)
        base = args.seed * 100 + 10 * s + m  # seed blocks: base + 1 the critic's pieces, base + 2 + k candidates
        fakes = draw(engine, style, meter, bar, draw_forms(shares, len(for_critic), rng), base + 1, cells)
        clf = critic(for_critic, fakes, bar, args.seed, args.critic, cells)
        cands = [draw(engine, style, meter, bar, draw_forms(shares, n, rng), base + 2 + k, cells)
                 for k in range(args.k)]
        loglik = np.stack([log_likelihood(engine, c, s, m, bar) for c in cands], axis=1)  # [n, K]
        p_real = np.stack([clf.predict_proba(np.array([strain_features(p, bar, cells) for p in c]))[:, 1]
                           for c in cands], axis=1)
        p_real = np.clip(p_real, 1e-4, 1 - 1e-4)
        log_ratio = np.log(p_real / (1 - p_real))
        # the through-composed strains share the first candidates' pairs (the same first bars), grown without a form
        rows = {"through": draw(engine, style, meter, bar, [""] * n, base + 2, cells),
                "form shares": cands[0],
                f"best of {args.k} by likelihood": [cands[k][i] for i, k in enumerate(loglik.argmax(axis=1))]}
        for beta in (float(b) for b in args.betas.split(",")):
            picked = log_ratio.argmax(axis=1) if np.isinf(beta) else resample(beta * log_ratio, rng)
            label = f"best of {args.k} by the critic" if np.isinf(beta) \
                else f"{args.k} resampled by the critic, beta {beta:g}"
            rows[label] = [cands[k][i] for i, k in enumerate(picked)]
        row = {"n": n, "form_shares": {f: round(v, 3) for f, v in list(shares.items())[:6]},
               "critic_mean_p_real": round(float(p_real.mean()), 3)}
        for label, made in rows.items():
            row[label] = judge(for_judge, made, bar, engine.low, args.seed)
        out[f"{style} {meter}"] = row
        if args.dump:
            dump(engine, rows, style, meter, args.dump)
        print(f"{style} {meter}: {json.dumps(row)}", file=sys.stderr, flush=True)
    if args.json:
        write_json_atomic(args.json, {"model": str(engine.sampler.path), "k": args.k, "betas": args.betas,
                                      "critic": args.critic, "cell_bars": args.cell_bars, "seed": args.seed,
                                      "rows": out})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
