"""How a piece ends: its last bar is given as the tonic of the piece's key in the top voice and the bass, held to
the end, and the model draws everything else. The draws before it lead there because the engine samples a window
with notes given ahead by sequential Monte Carlo (``Engine.extend``): particles that cannot reach the tonic fade."""

import numpy as np

from ..models.smc import FREE
from ..music.key import Key, key_of_notes
from ..music.layouts import SATB, Layout
from ..music.roll import FIRST_PITCH_TOKEN, HOLD, tokens_to_notes
from ..sample.pieces import MIN_VOICE_USE


def key_of_tokens(tokens: np.ndarray, low: int, drums=None) -> Key:
    """The key of token rows [V, T] (relative to ``low``): every pitched voice's notes (``drums`` [V] marks the drum
    lanes, whose tokens are drum keys), weighted by their lengths."""
    rows = [row for v, row in enumerate(tokens) if drums is None or not drums[v]]
    notes = np.concatenate([tokens_to_notes(row, low) for row in rows])
    return key_of_notes(notes[:, 2], notes[:, 1])


def near(pitch_class: int, row: np.ndarray, low: int, vocab_size: int) -> int | None:
    """The pitch token of ``pitch_class`` nearest the median of the notes ``row`` [T] plays (tokens relative to
    MIDI ``low``); None for a silent row."""
    played = row[row >= FIRST_PITCH_TOKEN]
    tokens = np.arange(FIRST_PITCH_TOKEN, vocab_size)
    tokens = tokens[(tokens - FIRST_PITCH_TOKEN + low) % 12 == pitch_class % 12]
    if len(played) == 0 or len(tokens) == 0:
        return None
    return int(tokens[np.argmin(np.abs(tokens - np.median(played)))])


def sounding_voices(opening: np.ndarray, voices, voice_use: list[float] | None) -> list[int]:
    """Voices among ``voices`` that the style uses (``voice_use`` at least MIN_VOICE_USE; None: all) and that sound
    in ``opening`` [V, T]."""
    return [v for v in voices if (voice_use is None or voice_use[v] >= MIN_VOICE_USE)
            and (opening[v] >= FIRST_PITCH_TOKEN).any()]


def final_cadence(opening: np.ndarray, new_steps: int, bar: int, low: int, vocab_size: int,
                  voice_use: list[float] | None = None, layout: Layout = SATB) -> np.ndarray:
    """Given tokens [V, new_steps] for the steps that follow ``opening`` [V, n]: FREE everywhere except the last
    bar, where the layout's outer voices (the top voice and the bass) sound the tonic of the opening's key from
    the downbeat to the end, each in the octave nearest its own median pitch in the opening. A voice the style
    leaves silent (``voice_use`` below MIN_VOICE_USE) or that is silent in the opening is left free; so is a piece
    too short for a last bar."""
    given = np.full((opening.shape[0], new_steps), FREE, dtype=np.int64)
    if new_steps < bar:
        return given
    tonic = key_of_tokens(opening, low, layout.drum_voices).tonic
    last = new_steps - bar
    for v in sounding_voices(opening, layout.outer_voices, voice_use):
        tok = near(tonic, opening[v], low, vocab_size)
        if tok is not None:
            given[v, last] = tok
            given[v, last + 1 :] = HOLD
    return given
