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
                 pickups: bool = False) -> list[StudioPiece]:
    """``compose`` for several pieces, their first windows drawn in one batch (a sequence model's step costs about
    the same for one window as for several). ``meter`` None: each piece's meter is drawn by its style's shares in
    the training data. ``pickups``: a piece of two bars or more opens with a pickup in its style's share of them
    (studio/pickup.py); its tokens then start on the pickup, not on a barline (``meta["pickup_steps"]``).

    A piece longer than its first window has phrases that close (studio/phrases.py): its cadences are planned in
    the key of ``generate``'s window for the pair, and the piece is drawn from that window's first bar (and its
    pickup's bar) towards them, its first window included."""
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
        grown = _grow(engine, [pairs[i] for i in rows], first[:, :, start:], [styles[i] for i in rows], m, temp,
                      bars, form, section_bars, None if plans is None else [p.cut(start) for p in plans])
        for i, (tokens, shape, kind, fermatas) in zip(rows, grown):
            repeats = repeated_sections(tokens, form, section_bars, bar) if form else []
            if upbeat:
                tokens = with_pickup(first[rows.index(i), :, :bar], tokens, picks[i])
                fermatas = [f + picks[i] for f in fermatas]
            out[i] = _piece(engine, pairs[i], tokens, shape, kind, styles[i], homes[i], m, temp, picks[i],
                            {"fermatas": fermatas, "repeats": repeats})
    return out


def _plan(engine: Engine, pair: Pair, style: int, opening: np.ndarray, n_steps: int, start: int, bar: int,
          pickup: int) -> PhrasePlan:
    use = engine.manifest.get("voice_use")
    name = engine.style_names[style]
    return phrase_plan(name, opening, n_steps, start, bar, int(engine.manifest["steps_per_quarter"]), pickup,
                       engine.low, engine.vocab_size, engine.layout, use[style] if use else None,
                       rng_for(*pair, PHRASE_USE), pull=KEY_PULL.get(name, 0.0), chord=CHORD_PULL.get(name, 0.0))


def _bias_rows(engine: Engine, plans: list[PhrasePlan] | None, offset: int = 0):
    """``bias_rows`` for ``Engine.extend_many`` from the rows' plans, new step t being step ``offset + t`` of each
    plan; None when no plan pulls."""
    if plans is None or not any(p.biased for p in plans):
        return None

    def bias_rows(rows, lo: int, hi: int) -> np.ndarray:
        return np.stack([plans[r].bias(offset + lo, offset + hi, engine.low, engine.vocab_size) for r in rows])

    return bias_rows


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
          bars: int, form: str | None, section_bars: int = SECTION_BARS,
          plans: list[PhrasePlan] | None = None) -> list[tuple[np.ndarray, str, str, list[int]]]:
    """(tokens, form, kind, fermata steps) of composed pieces of one meter from their first windows [B, V, T], whole
    bars of the meter from a barline: the form's sections, or the bars after the first window, towards the cadences
    of ``plans`` (on the same grid; None: none). Each piece draws from its own generators, so it is the piece drawn
    alone."""
    bar = engine.bar_of(meter)
    first = firsts[:, :, : firsts.shape[2] // bar * bar]
    T = first.shape[2]
    n = bars * bar
    given = None if plans is None else np.stack([p.given for p in plans])  # [B, V, n]
    marks = [[] for _ in pairs] if plans is None else [list(p.fermatas) for p in plans]

    def grow(before: np.ndarray, steps: int, path: tuple[int, ...], at: int) -> np.ndarray:
        """``steps`` steps after each row of ``before`` [B, V, m], drawn as steps ``at``.. of the plans."""
        ahead = None if given is None else given[:, :, at : at + steps]
        cadenced = ahead is not None and bool((ahead != FREE).any())
        return engine.extend_many(before, steps, styles, [rng_for(*pair, *path) for pair in pairs],
                                  ahead if cadenced else None, GIVEN_PARTICLES if cadenced else 1,
                                  temperature=temp, meter=meter, bias_rows=_bias_rows(engine, plans, at))

    if not form:
        tokens = first[:, :, :n] if n <= T else np.concatenate([first, grow(first, n - T, (1,), T)], axis=2)
        return [(t, through_form(n, bar), "generated" if n <= T else "long-form", f)
                for t, f in zip(tokens, marks)]
    size = section_bars * bar
    # a letter is drawn where it is first heard, towards that section's cadences; the letter the piece ends with
    # towards the last section's (the final cadence), wherever it is first heard
    closing = form.index(form[-1])
    source = {c: (len(form) - 1 if i == closing else i) for i, c in reversed(list(enumerate(form)))}

    made = {form[0]: first[:, :, :size] if size <= T
            else np.concatenate([first, grow(first, size - T, (1, 0), source[form[0]] * size + T)], axis=2)}
    tokens = made[form[0]]
    for i, c in enumerate(form[1:], start=1):
        if c not in made:
            made[c] = grow(tokens, size, (1, i), source[c] * size)
        tokens = np.concatenate([tokens, made[c]], axis=2)
    # a fermata is where its section is heard, each time; none where sections cut across phrases (a section's
    # first window was drawn towards the first section's cadences, the rest towards its own)
    marks = [[i * size + f - source[c] * size for i, c in enumerate(form) for f in row
              if source[c] * size <= f < (source[c] + 1) * size]
             if plan is None or not plan.period or size % plan.period == 0 else []
             for row, plan in zip(marks, plans or [None] * len(pairs))]
    return [(t, form, "long-form", sorted(f)) for t, f in zip(tokens, marks)]


def repeated_sections(tokens: np.ndarray, form: str, section_bars: int, bar: int) -> list[list[int]]:
    """[first full bar, bars] of each section of ``form`` heard twice in a row, note for note, that a score can
    write once between repeat signs (``music/repeats.py``): a pair of letters, taken from the left, whose second
    hearing begins with every voice striking or resting (a note held into it would be held from another bar the
    first time round) and is the first bar for bar (its last bar may be cut short at the piece's end)."""
    size = section_bars * bar
    out, i = [], 0
    while i + 1 < len(form):
        a, b = tokens[:, i * size : (i + 1) * size], tokens[:, (i + 1) * size : (i + 2) * size]
        if form[i] == form[i + 1] and b.shape[1] and (b[:, 0] != HOLD).all() \
                and np.array_equal(a[:, : b.shape[1]], b):
            out.append([i * section_bars, section_bars])
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
