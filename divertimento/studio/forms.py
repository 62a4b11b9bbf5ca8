"""Pieces of any length and form on a sequence model: a piece's first window is the one ``generate`` draws for its
(seed, index), and the engine grows it window by window towards its planned cadences (``phrases.py``), through-composed
or in a form such as AABB (a letter heard again is its section again, note for note; a section heard twice in a row
is written between repeat signs), opening with a pickup where asked."""

import re

import numpy as np

from ..errors import UserError
from ..models.smc import FREE
from ..music.roll import HOLD
from ..sample.pieces import piece_title, seed_label
from .ending import key_of_tokens
from .engine import GIVEN_PARTICLES, Engine, Pair, rng_for
from .phrases import CHORD_PULL, KEY_PULL, PHRASE_USE, PhrasePlan, phrase_plan
from .pickup import PICKUP_USE, draw_pickup, with_pickup
from .pieces import StudioPiece
from .strain_figures import STRAIN_BARS
from .strains import (
    MAX_CANDIDATES,
    STRAIN_USE,
    StrainRow,
    cell_form,
    choose,
    draw_strain_forms,
    strain_log_likelihood,
    strain_log_ratio,
)

MAX_BARS = 64  # longest piece the studio makes or harmonises (two or three minutes of music)
MAX_FORM = 10  # sections in a form string
SECTION_BARS = 4  # bars per section letter (one window)
FORM_RE = re.compile(rf"[A-H]{{1,{MAX_FORM}}}")
LETTERS = [chr(c) for c in list(range(ord("A"), ord("Z") + 1)) + list(range(ord("a"), ord("z") + 1))]


def check_form(form: str) -> str:
    form = form.strip().upper()
    if not FORM_RE.fullmatch(form):
        raise UserError(f"form must be 1..{MAX_FORM} letters A-H, e.g. AABA (got {form!r})")
    return form


def sections(form: str, n_steps: int, bar: int) -> list[tuple[str, int, int]]:
    """(letter, first step, end step) of each section of a piece of ``n_steps`` in ``form``: SECTION_BARS bars each,
    the last one cut at the piece's end."""
    size = SECTION_BARS * bar
    return [(c, i * size, min((i + 1) * size, n_steps)) for i, c in enumerate(form) if i * size < n_steps]


def through_form(n_steps: int, bar: int, used: str = "") -> str:
    """Distinct letters, one per section, for through-composed music (none of ``used``)."""
    n = -(-n_steps // (SECTION_BARS * bar))
    return "".join([c for c in LETTERS if c not in used][:n])


def compose(engine: Engine, pair: Pair, style: str | None = None, temperature: float | None = None,
            bars: int = 4, form: str | None = None, meter: str | None = None) -> StudioPiece:
    """A piece of ``bars`` bars, each later window growing out of the last bars before it, or in a ``form`` such as
    AABA (SECTION_BARS bars per letter; a letter heard again is its section again, note for note). A piece of one
    window is exactly the piece ``generate`` makes from the same (seed, index); a longer one opens with its first
    bar (``compose_many``)."""
    return compose_many(engine, [pair], style, temperature, bars, form, meter)[0]


def compose_many(engine: Engine, pairs: list[Pair], style: str | None = None, temperature: float | None = None,
                 bars: int = 4, form: str | None = None, meter: str | None = None,
                 max_bars: int = MAX_BARS, section_bars: int = SECTION_BARS,
                 pickups: bool = False, strains: bool = False) -> list[StudioPiece]:
    """``compose`` for several pieces, their first windows drawn in one batch (a sequence model's step costs about
    the same for one window as for several). ``meter`` None: each piece's meter is drawn by its style's shares in
    the training data. ``pickups``: a piece of two bars or more opens with a pickup in its style's share of them
    (studio/pickup.py); its tokens then start on the pickup, not on a barline (``meta["pickup_steps"]``).

    A piece longer than its first window has phrases that close (studio/phrases.py): its cadences are planned in
    the key of ``generate``'s window for the pair, and the piece is drawn from that window's first bar (and its
    pickup's bar) towards them, its first window included.

    ``strains``: a piece whose sections are strains (``STRAIN_BARS`` bars each) in a style and meter whose strains
    the model file carries is drawn as candidates in bar-level forms, one kept by the strain critic
    (``_strain_choice``; studio/strains.py)."""
    if not 1 <= bars <= max_bars:
        raise UserError(f"bars must be 1..{max_bars} (got {bars})")
    form = check_form(form) if form else None
    temp = temperature or engine.temperature
    firsts, styles, homes, meters = engine.first_windows(pairs, style, temp, meter)
    picks = [draw_pickup(engine.manifest, engine.style_names[s], engine.sampler.meter_names[m], engine.bar_of(m),
                         rng_for(*pair, PICKUP_USE)) if pickups and bars >= 2 else 0
             for pair, s, m in zip(pairs, styles, meters)]
    out: list[StudioPiece | None] = [None] * len(pairs)
    # pieces of one meter grow side by side, each from its own generators; a piece with a pickup grows from its
    # first window's second bar, the first giving the upbeat
    for m, upbeat in sorted(set(zip(meters, (p > 0 for p in picks)))):
        rows = [i for i, (mi, p) in enumerate(zip(meters, picks)) if mi == m and (p > 0) == upbeat]
        bar = engine.bar_of(m)
        start = bar if upbeat else 0
        whole = engine.n_steps // bar * bar
        first = firsts[rows, :, :whole]
        plans = None
        if bars * bar > whole - start:  # longer than its first window: phrases that close, planned on its grid
            plans = [_plan(engine, pairs[i], styles[i], first[k], start + bars * bar, start, bar, picks[i])
                     for k, i in enumerate(rows)]
            first = _phrased_first(engine, [pairs[i] for i in rows], first, [styles[i] for i in rows], m, temp,
                                   np.stack([p.given[:, :whole] for p in plans]), start + bar, plans)
        cut = None if plans is None else [p.cut(start) for p in plans]
        chosen = {}
        if strains and form and section_bars == STRAIN_BARS and engine.strains is not None:
            strain_rows = [engine.strains.row(engine.style_names[styles[i]], engine.sampler.meter_names[m])
                           for i in rows]
            if any(strain_rows):
                ks = [k for k, row in enumerate(strain_rows) if row is not None]
                chosen = dict(zip(ks, _strain_choice(engine, [pairs[rows[k]] for k in ks], first[ks, :, start:],
                                                     [styles[rows[k]] for k in ks], m, temp, bars, form,
                                                     [strain_rows[k] for k in ks], None if cut is None else
                                                     [cut[k] for k in ks])))
        plain = [k for k in range(len(rows)) if k not in chosen]
        grown = dict(zip(plain, _grow(engine, [pairs[rows[k]] for k in plain], first[plain, :, start:],
                                      [styles[rows[k]] for k in plain], m, temp, bars, form, section_bars,
                                      None if cut is None else [cut[k] for k in plain]))) if plain else {}
        for k, i in enumerate(rows):
            tokens, shape, kind, fermatas = chosen[k][0] if k in chosen else grown[k]
            if cut is not None:  # a tune whose strains run on: its own last bar holds the tonic (its second ending)
                tokens = cut[k].ended(tokens)
            repeats = repeated_sections(tokens, form, section_bars, bar) if form else []
            if upbeat:
                tokens = with_pickup(first[rows.index(i), :, :bar], tokens, picks[i])
                fermatas = [f + picks[i] for f in fermatas]
            out[i] = _piece(engine, pairs[i], tokens, shape, kind, styles[i], homes[i], m, temp, picks[i],
                            {"fermatas": fermatas, "repeats": repeats})
            if k in chosen:
                out[i].meta["strains"] = chosen[k][1]
    return out


def _strain_choice(engine: Engine, pairs: list[Pair], firsts: np.ndarray, styles: list[int], meter: int, temp: float,
                   bars: int, form: str, rows: list[StrainRow], plans: list[PhrasePlan] | None) -> list[tuple]:
    """((tokens, form, kind, fermatas), what was chosen) of each piece in ``form`` (strains of ``STRAIN_BARS``
    bars), strain by strain in the order they are first heard: K candidates of the strain (the file's K, or
    --option strain_candidates), each in a 1-bar form drawn by its row's shares (candidate 0 from the pair's own
    generators), all drawn side by side after the strains already kept; one kept with weight exp(beta * the
    critic's log density ratio of the strain) (``strain_rerank=likelihood``, the control: exp(beta * the model's
    log-likelihood of it)). Each strain is chosen for itself, not with the strains after it: at the same cost as
    whole-piece candidates, the choice of each is K-fold instead of diluted by the others' scores."""
    K, beta = engine.strains.candidates, engine.strains.beta
    bar = engine.bar_of(meter)
    size = STRAIN_BARS * bar
    drawn = [[draw_strain_forms(row, form, rng_for(*pair, STRAIN_USE, k)) for k in range(K)]
             for pair, row in zip(pairs, rows)]
    cands = [(r, k) for r in range(len(pairs)) for k in range(K)]
    picked = [r for r, _ in cands]
    kept: list[dict[str, str]] = [{} for _ in pairs]
    what = [{"forms": kept[r], "candidates": K, "beta": beta, "rerank": engine.strains.rerank, "chosen": {},
             "scores": {}} for r in range(len(pairs))]
    done, grown = None, []
    letters = list(dict.fromkeys(form))
    for j, letter in enumerate(letters):
        upto = form.index(letters[j + 1]) if j + 1 < len(letters) else len(form)  # sections up to the next strain
        grown = _grow(engine, [pairs[r] for r in picked], firsts[picked], [styles[r] for r in picked], meter, temp,
                      bars, None, 1, None if plans is None else [plans[r] for r in picked],
                      forms=[cell_form(form, {**drawn[r][k], **kept[r]}) for r, k in cands],
                      variants=[k for _, k in cands], done=None if done is None else [done[r] for r in picked],
                      upto=upto * STRAIN_BARS)
        at = form.index(letter) * size
        done = []
        for r, (pair, row) in enumerate(zip(pairs, rows)):
            strains = [grown[r * K + k][0][:, at : at + size] for k in range(K)]
            if engine.strains.rerank == "likelihood":  # the control: the same candidates by the model's likelihood
                ratios = [strain_log_likelihood(engine, t, styles[r], meter, bar) for t in strains]
            else:
                ratios = [strain_log_ratio(row, t, bar) for t in strains]
            # the first strain's choice draws as it did when whole pieces were the candidates
            k = choose(np.array(ratios), beta, rng_for(*pair, STRAIN_USE, *((MAX_CANDIDATES + j,) if j else ())))
            kept[r][letter] = drawn[r][k][letter]
            what[r]["chosen"][letter] = k
            what[r]["scores"][letter] = [round(x, 3) for x in ratios]
            done.append(grown[r * K + k][0])
    out = []
    for r in range(len(pairs)):
        tokens, _, kind, fermatas = grown[r * K + what[r]["chosen"][letters[-1]]]
        out.append(((tokens, form, kind, fermatas), what[r]))
    return out


def _plan(engine: Engine, pair: Pair, style: int, opening: np.ndarray, n_steps: int, start: int, bar: int,
          pickup: int) -> PhrasePlan:
    use = engine.manifest.get("voice_use")
    name = engine.style_names[style]
    return phrase_plan(name, opening, n_steps, start, bar, int(engine.manifest["steps_per_quarter"]), pickup,
                       engine.low, engine.vocab_size, engine.layout, use[style] if use else None,
                       rng_for(*pair, PHRASE_USE), pull=KEY_PULL.get(name, 0.0), chord=CHORD_PULL.get(name, 0.0))


def _bias_rows(engine: Engine, plans: list[PhrasePlan] | None, steps: list[np.ndarray] | None = None):
    """``bias_rows`` for ``Engine.extend_many`` from the rows' plans, new step t of row r being step ``steps[r][t]``
    of its plan (None: step t); None when no plan pulls."""
    if plans is None or not any(p.biased for p in plans):
        return None

    def bias_rows(rows, lo: int, hi: int) -> np.ndarray:
        return np.stack([_plan_bias(plans[r], np.arange(lo, hi) if steps is None else steps[r][lo:hi], engine)
                         for r in rows])

    return bias_rows


def _plan_bias(plan: PhrasePlan, steps: np.ndarray, engine: Engine) -> np.ndarray:
    """``plan.bias`` [V, len(steps), K] at the given steps of its plan, read in runs of consecutive steps."""
    cuts = np.flatnonzero(np.diff(steps) != 1) + 1
    return np.concatenate([plan.bias(int(run[0]), int(run[-1]) + 1, engine.low, engine.vocab_size)
                           for run in np.split(steps, cuts)], axis=1)


def _phrased_first(engine: Engine, pairs: list[Pair], firsts: np.ndarray, styles: list[int], meter: int,
                   temp: float, given: np.ndarray, keep: int, plans: list[PhrasePlan]) -> np.ndarray:
    """First windows [B, V, whole bars] drawn again towards the cadences ``given`` [B, V, n] in them (and with the
    plans' pulls), from the first ``keep`` steps of ``firsts`` (generate's opening, whose key the cadences are in);
    unchanged where neither a cadence nor a pull falls in the window."""
    bias_rows = _bias_rows(engine, plans)
    if not (given[:, :, keep:] != FREE).any() and bias_rows is None:
        return firsts
    ahead = np.concatenate([firsts[:, :, :keep], given[:, :, keep:]], axis=2)
    return engine.extend_many(np.zeros((len(pairs), engine.n_voices, 0), dtype=np.int64), ahead.shape[2], styles,
                              [rng_for(*pair, PHRASE_USE, 1) for pair in pairs], ahead, GIVEN_PARTICLES,
                              temperature=temp, meter=meter, bias_rows=bias_rows)


def _grow(engine: Engine, pairs: list[Pair], firsts: np.ndarray, styles: list[int], meter: int, temp: float,
          bars: int, form: str | None, section_bars: int = SECTION_BARS, plans: list[PhrasePlan] | None = None,
          forms: list[str] | None = None, variants: list[int] | None = None, done: list[np.ndarray] | None = None,
          upto: int | None = None) -> list[tuple[np.ndarray, str, str, list[int]]]:
    """(tokens, form, kind, fermata steps) of composed pieces of one meter from their first windows [B, V, T], whole
    bars of the meter from a barline: the form's sections (``forms``: one form per row, all of one length), or the
    bars after the first window, towards the cadences of ``plans`` (on the same grid; None: none). Each piece draws
    from its own generators, so it is the piece drawn alone; ``variants[r]`` > 0 draws row r from generators of its
    own (a strain candidate: studio/strains.py), 0 from the pair's. ``done[r]``: row r's first sections, already
    drawn [V, whole sections] (the strains kept so far), drawn on from; ``upto``: the form's first ``upto``
    sections only."""
    bar = engine.bar_of(meter)
    first = firsts[:, :, : firsts.shape[2] // bar * bar]
    T = first.shape[2]
    n = bars * bar
    B = len(pairs)
    given = None if plans is None else np.stack([p.given for p in plans])  # [B, V, n]
    marks = [[] for _ in pairs] if plans is None else [list(p.fermatas) for p in plans]
    variants = variants or [0] * B

    def grow(rows: list[int], before: np.ndarray, steps: list[np.ndarray], path: tuple[int, ...]) -> np.ndarray:
        """The rows' next ``len(steps[0])`` steps after ``before`` [len(rows), V, m], drawn as steps ``steps[r]`` of
        their plans."""
        ahead = None if given is None else np.stack([given[r][:, s] for r, s in zip(rows, steps)])
        cadenced = ahead is not None and bool((ahead != FREE).any())
        rngs = [rng_for(*pairs[r], *path, *((STRAIN_USE, variants[r]) if variants[r] else ())) for r in rows]
        return engine.extend_many(before, len(steps[0]), [styles[r] for r in rows], rngs,
                                  ahead if cadenced else None, GIVEN_PARTICLES if cadenced else 1,
                                  temperature=temp, meter=meter,
                                  bias_rows=_bias_rows(engine, None if plans is None else [plans[r] for r in rows],
                                                       steps))

    if not form and not forms:
        if n <= T:
            tokens = first[:, :, :n]
        else:
            tokens = np.concatenate([first, grow(list(range(B)), first, [np.arange(T, n)] * B, (1,))], axis=2)
        return [(t, through_form(n, bar), "generated" if n <= T else "long-form", f)
                for t, f in zip(tokens, marks)]
    forms = forms or [form] * B
    size = section_bars * bar
    # a letter is drawn where it is first heard, towards that section's cadences; the letter the piece ends with
    # towards the last section's (the final cadence), wherever it is first heard
    sources = [{c: (len(f) - 1 if i == f.index(f[-1]) else i) for i, c in reversed(list(enumerate(f)))}
               for f in forms]
    cells: list[list[np.ndarray]] = [[] for _ in pairs]  # each row's sections so far
    made: list[dict[str, np.ndarray]] = [{} for _ in pairs]
    for r, tokens in enumerate(done or []):
        for j in range(tokens.shape[1] // size):
            cells[r].append(tokens[:, j * size : (j + 1) * size])
            made[r].setdefault(forms[r][j], cells[r][-1])
    upto = upto or len(forms[0])
    for i in range(upto):
        runs: dict[tuple[int, int], list[int]] = {}  # (new sections, steps taken from the first window) -> rows
        for r in range(B):
            if len(cells[r]) > i:  # drawn with an earlier run
                continue
            f = forms[r]
            if f[i] in made[r]:  # heard again: its section again, note for note
                cells[r].append(made[r][f[i]])
                continue
            end = i + 1  # a run of sections first heard here is drawn in one go
            while end < upto and f[end] not in f[:end]:
                end += 1
            take = 0
            if i == 0:  # the first window's first section, and those after it drawn where they are heard
                k = 1
                while k < end and sources[r][f[k]] == k:
                    k += 1
                take = min(k * size, T)
            runs.setdefault((end - i, take), []).append(r)
        for (count, take), rows in runs.items():
            drawn = first[rows, :, :take]
            before = np.concatenate([np.stack([np.concatenate(cells[r], axis=1) for r in rows]) if i else
                                     drawn[:, :, :0], drawn], axis=2)
            if take < count * size:  # the rest of the run, each section towards its own cadences
                steps = [np.concatenate([np.arange(sources[r][c] * size, (sources[r][c] + 1) * size)
                                         for c in forms[r][i : i + count]])[take:] for r in rows]
                drawn = np.concatenate([drawn, grow(rows, before, steps, (1, (i * size + take) // size))], axis=2)
            for r, tokens in zip(rows, drawn):
                for j, c in enumerate(forms[r][i : i + count]):
                    made[r][c] = tokens[:, j * size : (j + 1) * size]
                    cells[r].append(made[r][c])
    # a fermata is where its section is heard, each time; none where sections cut across phrases (a section's
    # first window was drawn towards the first section's cadences, the rest towards its own)
    marks = [[i * size + f - source[c] * size for i, c in enumerate(form_r) for f in row
              if source[c] * size <= f < (source[c] + 1) * size]
             if plan is None or not plan.period or size % plan.period == 0 else []
             for row, plan, form_r, source in zip(marks, plans or [None] * B, forms, sources)]
    return [(np.concatenate(c, axis=1), f, "long-form", sorted(m)) for c, f, m in zip(cells, forms, marks)]


def repeated_sections(tokens: np.ndarray, form: str, section_bars: int, bar: int) -> list[list[int]]:
    """[first full bar, bars] of each section of ``form`` heard twice in a row, note for note, that a score can
    write once between repeat signs (``music/repeats.py``): a pair of letters, taken from the left, whose second
    hearing begins with every voice striking or resting (a note held into it would be held from another bar the
    first time round) and is the first bar for bar (its last bar may be cut short at the piece's end). Where the
    second hearing ends the piece in a last bar of its own (the tonic held: ``PhrasePlan.ending``), [first full
    bar, bars, 1]: the score ends the strain in first and second endings."""
    size = section_bars * bar
    out, i = [], 0
    while i + 1 < len(form):
        a, b = tokens[:, i * size : (i + 1) * size], tokens[:, (i + 1) * size : (i + 2) * size]
        ends = (i + 2) * size >= tokens.shape[1] and b.shape[1] == size and size > bar
        body = b.shape[1] - bar if ends else b.shape[1]  # a last bar of its own is not compared
        if form[i] == form[i + 1] and b.shape[1] and (b[:, 0] != HOLD).all() \
                and np.array_equal(a[:, :body], b[:, :body]):
            same = np.array_equal(a[:, : b.shape[1]], b)
            out.append([i * section_bars, section_bars] if same else [i * section_bars, section_bars, 1])
            i += 2
        else:
            i += 1
    return out


def _piece(engine: Engine, pair: Pair, tokens: np.ndarray, form: str, kind: str, s: int, home: int, meter: int,
           temp: float, pickup: int = 0, marks: dict | None = None) -> StudioPiece:
    """The piece of ``tokens``; ``marks``: its score's fermatas (steps) and repeats ([first full bar, bars]),
    kept in its meta where there are any."""
    name = engine.style_names[s]
    meter_name = engine.sampler.meter_names[meter]
    title = piece_title(name, meter_name, key_of_tokens(tokens, engine.low + home, engine.layout.drum_voices),
                        seed_label(*pair))
    title += f" ({form})" if len(form) > 1 else ""
    meta = {"seed": pair[0], "index": pair[1], "home": home} | ({"pickup_steps": pickup} if pickup else {}) \
        | {k: [to_int(x) for x in v] for k, v in (marks or {}).items() if v}
    return StudioPiece(tokens.astype(np.uint8), name, form, pair, temp, kind, title, meta=meta, meter=meter_name)


def to_int(x):
    """A plain int (or list of them) for JSON, from numpy's."""
    return [int(y) for y in x] if isinstance(x, list) else int(x)
