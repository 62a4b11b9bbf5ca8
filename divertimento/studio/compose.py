"""Composing tools on a sequence model: pieces of any length and form (``forms.py``, here under one name with the
rest), variations, morphs, continuation and harmonisation of a given melody. Every tool is the engine's windowed
sampling (``engine.py``) with some tokens given: nothing for a new piece, the bars a piece continues from, the cells
a variation keeps, the cells two pieces share in a morph, the melody a harmonisation keeps. None of them changes the
model."""

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
from .engine import GIVEN_PARTICLES, Engine, Pair, rng_for
from .forms import MAX_BARS, SECTION_BARS, check_form, compose, compose_many, repeated_sections, sections, through_form
from .pieces import StudioPiece

MORPH_FREE = 0.3  # share of cells a morph point redraws between the ones it takes from either end


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
           "MAX_BARS", "SECTION_BARS", "check_form", "repeated_sections", "sections", "through_form"]
