"""Composing tools on a sequence model: pieces of any length and form, variations, morphs, continuation and
harmonisation of a given melody. Every tool is the engine's windowed sampling (``engine.py``) with some tokens given:
nothing for a new piece, the bars a piece continues from, the cells a variation keeps, the cells two pieces share in
a morph, the melody a harmonisation keeps. None of them changes the model."""

import re

import numpy as np
import torch

from ..data.dataset import transpose_tokens
from ..data.keys import normalising_shifts
from ..errors import UserError
from ..models.smc import FREE
from ..music.layouts import fit_satb
from ..music.notes import Piece
from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST, notes_to_tokens
from ..sample.draw import draw_index
from ..sample.pieces import piece_title, seed_label
from .ending import key_of_tokens
from .engine import GIVEN_PARTICLES, Engine, Pair, rng_for
from .phrases import CHORD_PULL, KEY_PULL, PHRASE_USE, PhrasePlan, phrase_plan
from .pickup import PICKUP_USE, draw_pickup, with_pickup
from .pieces import StudioPiece

MAX_BARS = 64  # longest piece the studio makes or harmonises (two or three minutes of music)
MAX_FORM = 10  # sections in a form string
SECTION_BARS = 4  # bars per section letter (one window)
MORPH_FREE = 0.3  # share of cells a morph point redraws between the ones it takes from either end
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
    AABA (SECTION_BARS bars per letter; a letter heard again is its section again, note for note). Its first
    window is exactly the piece ``generate`` makes from the same (seed, index)."""
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


def _bias_rows(engine: Engine, plans: list[PhrasePlan] | None, offsets=lambda row: 0):
    """``bias_rows`` for ``Engine.extend_many`` from the rows' plans: new step t of row r is step
    ``offsets(r) + t`` of its plan; None when no plan pulls."""
    if plans is None or not any(p.biased for p in plans):
        return None
    zero = np.zeros((engine.n_voices, 0, engine.vocab_size), dtype=np.float32)

    def bias_rows(rows, lo: int, hi: int) -> np.ndarray:
        out = []
        for r in rows:
            p, at = plans[r], offsets(r)
            out.append(p.bias(at + lo, at + hi, engine.low) if p.biased
                       else np.zeros((engine.n_voices, hi - lo, engine.vocab_size), dtype=np.float32))
        return np.stack(out) if out else zero[None]

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
                                  temperature=temp, meter=meter, bias_rows=_bias_rows(engine, plans, lambda r: at))

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


def _cells_kept(bar: int, shape: tuple[int, int], distance: float, rng: torch.Generator,
                keep_voice0: bool) -> np.ndarray:
    """[V, n] True where a variation keeps its parent's token: each (voice, bar) cell (bars of ``bar`` steps) is
    redrawn with probability ``distance``; a locked melody (voice 0) is always kept."""
    V, n = shape
    bars = -(-n // bar)
    redraw = (torch.rand(V, bars, generator=rng) < distance).numpy()
    if keep_voice0:
        redraw[0] = False
    return ~np.repeat(redraw, bar, axis=1)[:, :n]


def variations(engine: Engine, parent: StudioPiece, n: int, distance: float, seed: int,
               first_number: int = 1) -> list[StudioPiece]:
    """n pieces that keep each (voice, bar) cell of the parent with probability 1 - ``distance`` and redraw the
    rest so that they fit what is kept, before and after (sequential Monte Carlo); 0 = the parent, 1 = a new piece
    in the same style and form (a harmonisation keeps its melody: 1 = a new harmonisation). A section letter heard
    again is its varied section again."""
    if not 0.0 <= distance <= 1.0:
        raise UserError(f"distance must lie in 0..1 (got {distance})")
    s = engine.style_index(parent.style)
    meter = engine.meter_index(parent.meter)
    src = parent.tokens.astype(np.int64)
    bias_for = _below_melody(engine) if parent.melody_locked else None
    out = []
    for k in range(n):
        rng = rng_for(seed, k)
        keep = _cells_kept(parent.bar, src.shape, distance, rng, parent.melody_locked)
        made: dict[str, np.ndarray] = {}
        tokens = np.zeros((src.shape[0], 0), dtype=np.int64)
        for letter, a, b in sections(parent.form, src.shape[1], parent.bar):
            if letter not in made:
                given = np.where(keep[:, a:b], src[:, a:b], FREE)
                made[letter] = engine.extend(tokens if a else None, b - a, s, rng, given, GIVEN_PARTICLES,
                                             bias_for, parent.temperature, no_crossing=parent.melody_locked,
                                             meter=meter)
            tokens = np.concatenate([tokens, made[letter][:, : b - a]], axis=1)
        out.append(StudioPiece(tokens.astype(np.uint8), parent.style, parent.form, parent.noise, parent.temperature,
                               "variation", f"{parent.title}, variation {first_number + k} (d={distance:g})",
                               parent.melody_locked,
                               meta={**{key: v for key, v in parent.meta.items() if key in ("home",)},
                                     "distance": distance, "variation_seed": seed,
                                     "kept_share": round(float(keep.mean()), 3)}, tempo=parent.tempo,
                               meter=parent.meter))
    return out


def interpolate(engine: Engine, a: StudioPiece, b: StudioPiece, steps: int,
                temperature: float | None = None) -> list[StudioPiece]:
    """``steps`` one-window pieces morphing from a's first window to b's (both ends included). Each (voice, bar)
    cell has a fixed random rank u; at position t a cell is b's where u < t (1 + g) - g, a's where u > t (1 + g),
    and redrawn by the model in between (g = MORPH_FREE), so the morph passes through music that fits both
    ends. The first half has a's style, the second b's."""
    if steps < 2:
        raise UserError("interpolation needs at least 2 steps")
    if a.meter != b.meter:
        raise UserError(f"a morph needs two pieces in one meter (got {a.meter} and {b.meter})")
    bar, meter = a.bar, engine.meter_index(a.meter)
    L = min(engine.n_steps // bar * bar, a.tokens.shape[1], b.tokens.shape[1])
    ta, tb = a.tokens[:, :L].astype(np.int64), b.tokens[:, :L].astype(np.int64)
    rng = rng_for(a.noise[0], a.noise[1], b.noise[0], b.noise[1])
    u = np.repeat(torch.rand(ta.shape[0], -(-L // bar), generator=rng).numpy(), bar, axis=1)[:, :L]
    out = []
    for i in range(steps):
        t = i / (steps - 1)
        src = a if t < 0.5 else b
        given = np.where(u < t * (1 + MORPH_FREE) - MORPH_FREE, tb, np.where(u > t * (1 + MORPH_FREE), ta, FREE))
        temp = temperature or src.temperature
        tokens = engine.window(engine.style_index(src.style), given, rng_for(a.noise[0], 5, i), GIVEN_PARTICLES,
                               temperature=temp, meter=meter) if (given == FREE).any() else given
        out.append(StudioPiece(tokens.astype(np.uint8), src.style, "A", src.noise, temp, "interpolation",
                               f"{a.title} -> {b.title} t={t:.2f}",
                               meta={"t": t, "home": src.home,
                                     "redrawn_share": round(float((given == FREE).mean()), 3)}, meter=a.meter))
    return out


def continue_piece(engine: Engine, parent: StudioPiece, bars: int, seed: int) -> StudioPiece:
    """The parent followed by ``bars`` new bars that grow out of its last bars (``Engine.context_bars``)."""
    if bars < 1 or parent.n_bars + bars > MAX_BARS:
        raise UserError(f"a continued piece may have at most {MAX_BARS} bars")
    s = engine.style_index(parent.style)
    src = parent.tokens.astype(np.int64)
    new = engine.extend(src, bars * parent.bar, s, rng_for(seed, 7), temperature=parent.temperature,
                        meter=engine.meter_index(parent.meter))
    tokens = np.concatenate([src, new], axis=1)
    return StudioPiece(tokens.astype(np.uint8), parent.style, parent.form + through_form(new.shape[1], parent.bar,
                                                                                          parent.form),
                       parent.noise, parent.temperature, "continued", f"{parent.title} +{bars} bars",
                       meta={"continued_from": parent.title, "continuation_seed": seed, "home": parent.home},
                       tempo=parent.tempo, meter=parent.meter)


# ---- harmonisation ---------------------------------------------------------------------------------------------


def melody_from_piece(piece: Piece, engine: Engine, max_bars: int = MAX_BARS) -> tuple[np.ndarray, dict]:
    """Soprano tokens [T] of a piece's melody (its top line; a one-line tune is its melody), aligned so that
    downbeats fall on the studio's barlines (a pickup is padded with rests), moved by octaves into the model's
    pitch range, cut to ``max_bars``. Returns the tokens and notes on what was done."""
    voices = fit_satb(piece)
    if isinstance(voices, str):
        raise UserError(f"no melody found: {voices}")
    notes = voices[0].copy()
    if len(notes) == 0:
        raise UserError("no melody found: the top voice has no notes")
    info: dict = {"source_notes": int(len(notes))}
    spq = piece.steps_per_quarter
    if spq != int(engine.manifest["steps_per_quarter"]):
        raise UserError("melody grid differs from the model's")
    info["tempo"] = float(piece.tempo_qpm)
    num, den = (int(piece.bars[-1, 2]), int(piece.bars[-1, 3])) if len(piece.bars) else (4, 4)
    info["meter"] = f"{num}/{den}"  # the last bar's: the first may be a pickup
    if info["meter"] not in engine.sampler.meter_names:
        raise UserError(f"the melody is in {info['meter']}, a meter this model never learnt; it knows "
                        f"{', '.join(engine.sampler.meter_names)}")
    bar = engine.bar_of(engine.meter_index(info["meter"]))
    if len(piece.bars):
        num, den = int(piece.bars[0, 2]), int(piece.bars[0, 3])
        full = num * 4 * spq // den
        first = int(piece.bars[0, 1])
        if 0 < first < full and len(piece.bars) > 1:  # pickup: start it that far before a barline
            shift = bar - first
            notes[:, 0] += shift
            info["pickup_steps"] = first
    start = int(notes[:, 0].min()) // bar * bar
    notes[:, 0] -= start
    low, high = engine.manifest["pitch_range"]
    shift = 0
    while notes[:, 2].max() + shift > high and notes[:, 2].min() + shift - 12 >= low:
        shift -= 12
    while notes[:, 2].min() + shift < low and notes[:, 2].max() + shift + 12 <= high:
        shift += 12
    if notes[:, 2].min() + shift < low or notes[:, 2].max() + shift > high:
        raise UserError(f"the melody spans more than the model's range (MIDI {low}..{high})")
    notes[:, 2] += shift
    info["octave_shift"] = shift // 12
    end = int((notes[:, 0] + notes[:, 1]).max())
    n_bars = min(max(1, -(-end // bar)), max_bars)
    if -(-end // bar) > max_bars:
        info["cut_to_bars"] = max_bars
    tokens = notes_to_tokens(notes, n_bars * bar, low, high).astype(np.int64)
    return tokens, info


def harmonise(engine: Engine, melody: np.ndarray, style: str | None, pair: Pair,
              temperature: float | None = None, title: str = "melody",
              particles: int = GIVEN_PARTICLES, meter: str | None = None, tempo: float | None = None) -> StudioPiece:
    """Alto, tenor and bass for a given soprano line [T] (tokens relative to the model's low pitch), drawn by the
    model given the whole melody (sequential Monte Carlo: ``engine.extend`` with the melody given), no lower voice
    above the melody or resting while it sounds (``under_melody_bias``) and no voice crossing the one above it; the
    melody itself is kept note for note.
    Only styles whose music has accompanying voices can harmonise (``Engine.harmony_styles``); others are one clear
    error. ``particles`` = 1 is the plain forced draw
    (no look-ahead), the ablation of the Monte Carlo. ``meter``: the melody's (step 0 is a downbeat; None: the
    style's most common); ``tempo``: the melody's, kept (None: the style's)."""
    melody = np.asarray(melody, dtype=np.int64)
    K = engine.vocab_size
    if melody.ndim != 1 or len(melody) == 0 or melody.min() < REST or melody.max() >= K:
        raise UserError("melody tokens out of range")
    if not (melody >= FIRST_PITCH_TOKEN).any():
        raise UserError("the melody has no notes")
    if meter is not None:
        engine.meter_index(meter)  # one the model never saw: the one clear error, now
    if len(melody) > MAX_BARS * max(engine.bar_of(m) for m in range(len(engine.sampler.meter_names))):
        raise UserError(f"melody longer than {MAX_BARS} bars")
    if engine.layout.name != "satb":
        raise UserError(f"harmonise fills in alto, tenor and bass under a melody, so it needs a four-voice (satb) "
                        f"model; this one has the {engine.layout.name} layout")
    able = engine.harmony_styles()
    if not able:
        raise UserError("this model learnt no style with accompanying voices, so it cannot harmonise")
    if style is not None and style in engine.style_names and style not in able:
        raise UserError(f"{style} music in this model's training data has no accompanying voices, so it cannot "
                        f"harmonise; styles that can: {', '.join(able)}")
    if style is None:  # drawn among the styles that can, by the training data's shares
        shares = [engine.sampler.style_shares[engine.style_names.index(x)] for x in able]
        style = able[draw_index(float(torch.rand(1, generator=rng_for(*pair, 3))), shares)]
    s = engine.style_index(style)
    m = engine.home_meter(s) if meter is None else engine.meter_index(meter)
    melody, key = _melody_to_white_keys(engine, melody)
    given = np.full((engine.n_voices, len(melody)), FREE, dtype=np.int64)
    given[0] = melody
    temp = temperature or engine.temperature
    tokens = engine.extend(None, len(melody), s, rng_for(*pair, 4), given, particles, _below_melody(engine), temp,
                           no_crossing=True, meter=m)
    name = engine.style_names[s]
    return StudioPiece(tokens.astype(np.uint8), name, through_form(len(melody), engine.bar_of(m)), pair, temp,
                       "harmonised", f"{title} harmonised ({name})", melody_locked=True,
                       meta={"seed": pair[0], "index": pair[1], "home": key}, tempo=tempo,
                       meter=engine.sampler.meter_names[m])


def _below_melody(engine: Engine):
    """bias_for of a window: the lower voices may not rise above the melody's sounding pitch (voices under a given
    melody do not cross it), nor rest while it sounds (``under_melody_bias``)."""
    def bias_for(given: np.ndarray) -> torch.Tensor:
        return under_melody_bias(given[0], engine.n_voices, engine.vocab_size)
    return bias_for


def under_melody_bias(melody_window: np.ndarray, n_voices: int, vocab: int) -> torch.Tensor:
    """[V, L, K] logit bias for the voices under a given melody: -inf on every pitch above the melody's sounding
    pitch, and on REST while the melody sounds (the melody row itself is not touched; FREE or REST in the melody
    leaves the step free).

    Why no rests: sampled given the melody, a particle whose lower voices fall silent makes a busy tune more
    likely (the model has seen such tunes alone, in melody-only styles), so the Monte Carlo weights would favour a
    harmonisation that drops its harmony. Chorale voices rest under 2 % of the time."""
    L = len(melody_window)
    bias = torch.zeros(n_voices, L, vocab)
    k = torch.arange(vocab)
    cur = -1
    for t, tok in enumerate(melody_window):
        if tok >= FIRST_PITCH_TOKEN:
            cur = int(tok)
        elif tok != HOLD:  # REST or FREE: nothing sounds above
            cur = -1
        if cur >= 0:
            bias[1:, t, k > cur] = float("-inf")
            bias[1:, t, REST] = float("-inf")
    return bias


def _melody_to_white_keys(engine: Engine, melody: np.ndarray) -> tuple[np.ndarray, int]:
    """A key-normalised model harmonises on the white keys: the melody moved there (data/keys.py), and the shift
    that takes the result back to the melody's own key. Other models: the melody as it is, 0."""
    if "key_home_shares" not in engine.manifest:
        return melody, 0
    shift, ok = normalising_shifts(melody[None, None, :], engine.low, engine.vocab_size)
    if not ok[0]:
        return melody, 0  # spans the whole range: it cannot move, and is harmonised where it is
    return transpose_tokens(melody[None, None, :], shift, engine.vocab_size)[0, 0], -int(shift[0])


__all__ = ["compose", "compose_many", "variations", "interpolate", "continue_piece", "melody_from_piece", "harmonise",
           "MAX_BARS"]
