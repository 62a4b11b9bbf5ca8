"""Composing tools on top of the generator: pieces of any length and form, variations, interpolation,
continuation and harmonisation of a given melody. All are latent operations (``latents.py``) rendered through
the window chain (``chain.py``); none of them changes the model."""

import re

import numpy as np
import torch

from ..data.dataset import transpose_tokens
from ..data.keys import normalising_shifts
from ..errors import UserError
from ..music.layouts import fit_satb
from ..music.notes import Piece
from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST, notes_to_tokens
from ..sample.draw import piece_seed
from ..sample.sampler import Sampler
from .chain import FREE, InversionOptions, bar_steps, n_windows, render
from .latents import Pair, draw, home, mix, noise_for, slerp, style_index
from .pieces import StudioPiece

MAX_BARS = 32  # longest piece the studio makes or harmonises (a minute or two of music)
MAX_FORM = 10  # sections in a form string
THROUGH_STEP = 0.5  # latent distance between successive windows of a through-composed piece
FORM_RE = re.compile(rf"[A-H]{{1,{MAX_FORM}}}")

HARMONISE = InversionOptions(steps=80, lr=0.2, prior=0.05, restarts=4)
CHAIN = InversionOptions(steps=40, lr=0.2, prior=0.05, restarts=2)


def check_form(form: str) -> str:
    form = form.strip().upper()
    if not FORM_RE.fullmatch(form):
        raise UserError(f"form must be 1..{MAX_FORM} letters A-H, e.g. AABA (got {form!r})")
    return form


def _letter_anchors(bundle: Sampler, pair: Pair, letters: list[str], truncation: float | None,
                    first: torch.Tensor) -> dict[str, torch.Tensor]:
    """One anchor per distinct letter: the piece's own latent for the first, fresh latents for the others."""
    out = {letters[0]: first}
    for k, letter in enumerate(letters[1:], start=1):
        out[letter] = draw(bundle, (piece_seed(*pair), k), None, truncation)[0]
    return out


def compose(bundle: Sampler, pair: Pair, style: str | None = None, truncation: float | None = None,
            temperature: float = 1.0, bars: int = 4, form: str | None = None,
            opts: InversionOptions = CHAIN) -> StudioPiece:
    """A piece of ``bars`` bars (through-composed: each window's anchor a step of a random walk from the last),
    or in a ``form`` such as AABA (one window per letter; equal letters share their anchor and noise, so a
    section comes back, joined smoothly to what precedes it). One window without a form is exactly the piece
    ``generate`` makes from the same (seed, index)."""
    if not 1 <= bars <= MAX_BARS:
        raise UserError(f"bars must be 1..{MAX_BARS} (got {bars})")
    z0, s, noise0 = draw(bundle, pair, style, truncation)
    bar = bar_steps(bundle)
    if form:
        form = check_form(form)
        letters = list(dict.fromkeys(form))
        anchors_by = _letter_anchors(bundle, pair, letters, truncation, z0)
        anchors = torch.stack([anchors_by[c] for c in form])
        noises = [noise0 if c == letters[0] else noise_for(bundle, pair, letters.index(c)) for c in form]
        n_steps = None
        kind = "long-form"
    else:
        W = n_windows(bars * bar, bundle)
        form = "".join(chr(ord("A") + min(w, 25)) for w in range(W)) if W > 1 else "A"
        anchors = [z0]
        for w in range(1, W):
            eps = draw(bundle, (piece_seed(*pair), w), None, truncation)[0]
            anchors.append(mix(anchors[-1], eps, THROUGH_STEP))
        anchors = torch.stack(anchors)
        noises = [noise0] + [noise_for(bundle, pair, w) for w in range(1, W)]
        n_steps = bars * bar
        kind = "generated" if W == 1 else "long-form"
    tokens, latents, fits = render(bundle, anchors, s, noises, temperature, n_steps=n_steps, opts=opts,
                                   seed=piece_seed(*pair) % 100_000)
    name = bundle.style_names[s]
    title = f"{name} {pair[0]}.{pair[1]}" + (f" {form}" if len(form) > 1 else "")
    return StudioPiece(tokens, name, anchors.numpy(), latents.numpy(), form, pair, temperature, kind, title,
                       meta={"seed": pair[0], "index": pair[1], "truncation": truncation,
                             "join_fit": [round(f, 3) for f in fits[1:]], "home": home(bundle, pair, s, truncation)})


def _noises(bundle: Sampler, p: StudioPiece) -> list[torch.Tensor]:
    if p.meta.get("noise_by") == "window":
        return [noise_for(bundle, p.noise, w) for w in range(len(p.form))]
    letters = list(dict.fromkeys(p.form))
    return [noise_for(bundle, p.noise, letters.index(c)) for c in p.form]


def variations(bundle: Sampler, parent: StudioPiece, n: int, distance: float, seed: int,
               opts: InversionOptions = CHAIN) -> list[StudioPiece]:
    """n pieces whose anchors lie at ``distance`` (0..1, see ``latents.mix``) from the parent's, one fresh
    direction per section letter; same style, form, length and sampling noise as the parent. A harmonisation
    keeps its melody and is harmonised again from the moved anchors."""
    s = style_index(bundle, parent.style)
    letters = list(dict.fromkeys(parent.form))
    base = {c: torch.from_numpy(parent.anchors[parent.form.index(c)].copy()) for c in letters}
    noises = _noises(bundle, parent)
    out = []
    for k in range(n):
        eps = {c: draw(bundle, (piece_seed(seed, k), j), None, None)[0] for j, c in enumerate(letters)}
        anchors = torch.stack([mix(base[c], eps[c], distance) for c in parent.form])
        melody = parent.tokens[0] if parent.melody_locked else None
        o = HARMONISE if parent.melody_locked else opts
        if len(parent.form) == 1 and melody is None:
            o = InversionOptions(steps=0)
        tokens, latents, fits = render(bundle, anchors, s, noises, parent.temperature, melody=melody,
                                       n_steps=parent.tokens.shape[1], opts=o, seed=seed + k,
                                       keep_below_melody=melody is not None)
        out.append(StudioPiece(tokens, parent.style, anchors.numpy(), latents.numpy(), parent.form, parent.noise,
                               parent.temperature, "variation", f"{parent.title} var {k + 1} (d={distance:g})",
                               parent.melody_locked, meta={**{k2: v for k2, v in parent.meta.items()
                                                              if k2 in ("noise_by", "home")},
                                                           "distance": distance, "variation_seed": seed}))
    return out


def interpolate(bundle: Sampler, a: StudioPiece, b: StudioPiece, steps: int,
                temperature: float | None = None) -> list[StudioPiece]:
    """``steps`` one-window pieces along the great circle from a's first latent to b's (both ends included).
    The first half samples with a's style and noise, the second with b's, so both ends are a and b again."""
    if steps < 2:
        raise UserError("interpolation needs at least 2 steps")
    za, zb = torch.from_numpy(a.latents[0].copy()), torch.from_numpy(b.latents[0].copy())
    na, nb = _noises(bundle, a)[0], _noises(bundle, b)[0]
    out = []
    for i in range(steps):
        t = i / (steps - 1)
        src = a if t < 0.5 else b
        z = slerp(za, zb, t)
        s = style_index(bundle, src.style)
        temp = temperature if temperature is not None else src.temperature
        tokens, latents, _ = render(bundle, z[None], s, [na if t < 0.5 else nb], temp,
                                    opts=InversionOptions(steps=0))
        out.append(StudioPiece(tokens, src.style, z[None].numpy(), latents.numpy(), "A", src.noise, temp,
                               "interpolation", f"{a.title} -> {b.title} t={t:.2f}", meta={"t": t, "home": src.home}))
    return out


def _fresh_letters(form: str, n: int) -> str:
    pool = [chr(c) for c in list(range(ord("A"), ord("Z") + 1)) + list(range(ord("a"), ord("z") + 1))]
    return "".join([c for c in pool if c not in form][:n])


def continue_piece(bundle: Sampler, parent: StudioPiece, bars: int, seed: int,
                   opts: InversionOptions = CHAIN) -> StudioPiece:
    """The parent followed by ``bars`` new bars that grow out of its last bar (the new windows are inverted so
    their first bar is that bar), their anchors a random walk on from the parent's last latent."""
    bar = bar_steps(bundle)
    if bars < 1 or parent.tokens.shape[1] // bar + bars > MAX_BARS:
        raise UserError(f"a continued piece may have at most {MAX_BARS} bars")
    s = style_index(bundle, parent.style)
    W = n_windows(bar + bars * bar, bundle)
    anchors = [torch.from_numpy(parent.latents[-1].copy())]
    for w in range(W):
        anchors.append(mix(anchors[-1], draw(bundle, (piece_seed(seed, 7), w), None, None)[0], THROUGH_STEP))
    anchors = torch.stack(anchors[1:])
    by_window = parent.meta.get("noise_by") == "window"
    first = len(parent.form) if by_window else len(set(parent.form))
    noises = [noise_for(bundle, parent.noise, first + w) for w in range(W)]
    new, latents, fits = render(bundle, anchors, s, noises, parent.temperature, context=parent.tokens[:, -bar:],
                                n_steps=bars * bar, opts=opts, seed=seed)
    tokens = np.concatenate([parent.tokens, new], axis=1)
    return StudioPiece(tokens, parent.style, np.concatenate([parent.anchors, anchors.numpy()]),
                       np.concatenate([parent.latents, latents.numpy()]), parent.form + _fresh_letters(parent.form, W),
                       parent.noise, parent.temperature, "continued", f"{parent.title} +{bars} bars",
                       meta={"continued_from": parent.title, "join_fit": [round(f, 3) for f in fits],
                             "noise_by": "window" if by_window else "letter", "continuation_seed": seed,
                             "home": parent.home})


# ---- harmonisation ---------------------------------------------------------------------------------------------


def melody_from_piece(piece: Piece, bundle: Sampler, max_bars: int = MAX_BARS) -> tuple[np.ndarray, dict]:
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
    if spq != int(bundle.manifest["steps_per_quarter"]):
        raise UserError("melody grid differs from the model's")
    bar = bar_steps(bundle)
    if len(piece.bars):
        num, den = int(piece.bars[0, 2]), int(piece.bars[0, 3])
        info["time_signature"] = f"{num}/{den}"
        full = num * 4 * spq // den
        first = int(piece.bars[0, 1])
        if 0 < first < full and len(piece.bars) > 1:  # pickup: start it that far before a barline
            shift = bar - first
            notes[:, 0] += shift
            info["pickup_steps"] = first
    start = int(notes[:, 0].min()) // bar * bar
    notes[:, 0] -= start
    low, high = bundle.manifest["pitch_range"]
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


def harmonise(bundle: Sampler, melody: np.ndarray, style: str | None, pair: Pair,
              temperature: float = 1.0, title: str = "melody", opts: InversionOptions = HARMONISE,
              truncation: float | None = None, keep_below: bool = True) -> StudioPiece:
    """Alto, tenor and bass for a given soprano line [T] (tokens relative to the model's low pitch): each window's
    latent is inverted so that G's soprano agrees with the melody (and its first bar with the previous window),
    the other voices are sampled from G there, and the melody itself is kept exactly."""
    melody = np.asarray(melody, dtype=np.int64)
    K = bundle.G.vocab_size
    if melody.ndim != 1 or len(melody) == 0 or melody.min() < REST or melody.max() >= K:
        raise UserError("melody tokens out of range")
    if not (melody >= FIRST_PITCH_TOKEN).any():
        raise UserError("the melody has no notes")
    bar = bar_steps(bundle)
    if len(melody) > MAX_BARS * bar:
        raise UserError(f"melody longer than {MAX_BARS} bars")
    melody, key = _melody_to_white_keys(bundle, melody)
    z0, s, _ = draw(bundle, pair, style, truncation)
    W = n_windows(len(melody), bundle)
    anchors = torch.stack([z0] * W)
    noises = [noise_for(bundle, pair, w) for w in range(W)]
    tokens, latents, fits = render(bundle, anchors, s, noises, temperature, melody=melody, n_steps=len(melody),
                                   opts=opts, seed=piece_seed(*pair) % 100_000, keep_below_melody=keep_below)
    tokens[0] = np.where(melody == HOLD, HOLD, melody)  # the melody, exactly
    name = bundle.style_names[s]
    return StudioPiece(tokens, name, anchors.numpy(), latents.numpy(), "A" * W, pair, temperature, "harmonised",
                       f"{title} harmonised ({name})", melody_locked=True,
                       meta={"seed": pair[0], "index": pair[1], "melody_fit": [round(f, 3) for f in fits],
                             "noise_by": "window", "home": key})


def _melody_to_white_keys(bundle: Sampler, melody: np.ndarray) -> tuple[np.ndarray, int]:
    """A key-normalised model harmonises on the white keys: the melody moved there (data/keys.py), and the shift
    that takes the result back to the melody's own key. Other models: the melody as it is, 0."""
    if "key_home_shares" not in bundle.manifest:
        return melody, 0
    shift, ok = normalising_shifts(melody[None, None, :], bundle.low, bundle.G.vocab_size)
    if not ok[0]:
        return melody, 0  # spans the whole range: it cannot move, and is harmonised where it is
    return transpose_tokens(melody[None, None, :], shift, bundle.G.vocab_size)[0, 0], -int(shift[0])


__all__ = ["compose", "variations", "interpolate", "continue_piece", "melody_from_piece", "harmonise", "MAX_BARS",
           "FREE"]
