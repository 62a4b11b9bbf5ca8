"""Token windows -> pieces: voiced, paced and phrased for their style, ready to export."""

import numpy as np

from ..music.key import Key, key_of_piece
from ..music.layouts import get_layout
from ..music.notes import Piece, Track, compound, parse_meter, sort_notes
from ..music.roll import REST, tokens_to_notes

# A voice that plays in fewer than this share of a style's training windows stays silent in that style (the
# style's instrumentation: a fiddle tune is one line), whatever the model's logits say there.
MIN_VOICE_USE = 0.01

# How each style sounds when exported: (General MIDI program, tempo in quarters per minute).
STYLE_SOUND = {
    "bach": (19, 76), "palestrina": (52, 132), "folk-german": (0, 100), "folk-chinese": (73, 88),
    "irish": (73, 116), "fiddle": (40, 116), "folk": (0, 100),
}
DEFAULT_SOUND = (0, 100)

# What a piece of a style in a meter is called in titles ("Jig in D, seed 7"); a style's own name otherwise.
GENRES = {
    ("irish", "6/8"): "Jig", ("irish", "9/8"): "Slip jig", ("irish", "12/8"): "Slide", ("irish", "2/2"): "Reel",
    ("irish", "4/4"): "Reel", ("irish", "2/4"): "Polka", ("irish", "3/4"): "Waltz",
    ("fiddle", "6/8"): "Jig", ("fiddle", "9/8"): "Slip jig", ("fiddle", "2/2"): "Reel", ("fiddle", "4/4"): "Reel",
    ("fiddle", "2/4"): "Hornpipe", ("fiddle", "3/4"): "Waltz",
}
STYLE_GENRES = {"bach": "Chorale", "palestrina": "Motet", "folk-german": "German folk song",
                "folk-chinese": "Chinese folk song"}


def genre(style: str, meter: str) -> str:
    return GENRES.get((style, meter)) or STYLE_GENRES.get(style) or f"{style.replace('-', ' ').capitalize()} piece"


def piece_title(style: str, meter: str, key: Key, label: str) -> str:
    """'Jig in D, seed 7', 'Chorale in F# minor, seed 3, piece 2': what it is, in what key, and how to draw it
    again (``seed_label``)."""
    return f"{genre(style, meter)} in {key.title}, {label}"


def seed_label(seed: int, index: int) -> str:
    """'seed 7' for piece 0 of seed 7, 'seed 7, piece 3' for piece 3 (``generate --seed 7`` writes it as
    ``...-seed7-0003``): what draws it again."""
    return f"seed {seed}" + (f", piece {index}" if index else "")


def name_piece(piece: Piece, label: str) -> Piece:
    """Title ``piece`` by what it is and the key its notes are in, which its scores then carry."""
    key = key_of_piece(piece)
    piece.meta["key"] = [key.tonic, key.minor]
    piece.title = piece_title(piece.meta.get("style", ""), piece.meta.get("meter", "4/4"), key, label)
    return piece


def silence_unused_voices(tokens: np.ndarray, styles, manifest: dict) -> np.ndarray:
    """Tokens [N, V, T] with REST in every voice its window's style (index per window) does not use in the
    training data (``voice_use`` of the model's data summary; models without one are left as they are)."""
    use = manifest.get("voice_use")
    if use is None:
        return tokens
    quiet = np.asarray(use)[np.asarray(styles, dtype=np.int64)] < MIN_VOICE_USE  # [N, V]
    return np.where(quiet[..., None], REST, tokens).astype(tokens.dtype)


def metric_velocities(starts: np.ndarray, steps_per_quarter: int, voice: int, meter: str = "4/4") -> np.ndarray:
    """Velocities that follow the metre (downbeat > middle of the bar > beat > off-beat) with the top voice a
    little louder, so exported pieces do not play as a flat, mechanical stream of equal notes. The beat of a
    compound meter (6/8, 9/8, 12/8, 6/4) is its dotted note; a bar of three beats has no middle."""
    num, den = parse_meter(meter)
    unit = 4 * steps_per_quarter // den  # steps of the meter's written beat unit
    beats, beat = (num // 3, 3 * unit) if compound(num) else (num, unit)
    bar = beats * beat
    half = bar // 2 if beats % 2 == 0 else bar  # no secondary accent in a bar of three beats
    v = np.where(starts % bar == 0, 92, np.where(starts % half == 0, 86, np.where(starts % beat == 0, 80, 72)))
    return (v + (6 if voice == 0 else 0)).astype(np.int32)


def style_tempo(style: str, meter: str, data_tempos: dict | None = None) -> float:
    """Quarters per minute of a style in a meter: the style's beat rate, with a compound meter's dotted beat
    (a jig's dotted quarter) as fast as a simple meter's quarter. A style without a tempo of its own plays at its
    training pieces' median tempo (``data_tempos``, the data summary's ``style_tempos``), when they have one."""
    if style not in STYLE_SOUND and data_tempos and style in data_tempos:
        return float(data_tempos[style])
    tempo = STYLE_SOUND.get(style, DEFAULT_SOUND)[1]
    num, den = parse_meter(meter)
    return float(tempo) * (3 * 4 / den if compound(num) else 1.0)


def bar_lines(n_steps: int, steps_per_quarter: int, meter: str, pickup: int = 0) -> np.ndarray:
    """[m, 4] bars (start, length, numerator, denominator) of ``meter`` covering ``n_steps`` steps from step 0, the
    last one whole; with a ``pickup``, a first bar of that many steps, full bars, and a last bar of the steps left
    (``n_steps`` is then the pickup, full bars and a last bar that together with the pickup make one bar)."""
    num, den = parse_meter(meter)
    length = int(num * 4 * steps_per_quarter // den)
    if not pickup:
        return np.asarray([(s, length, num, den) for s in range(0, max(n_steps, 1), length)], dtype=np.int32)
    starts = [0] + list(range(pickup, n_steps, length))
    ends = starts[1:] + [n_steps]
    return np.asarray([(s, e - s, num, den) for s, e in zip(starts, ends)], dtype=np.int32)


def tokens_to_piece(tokens: np.ndarray, low: int, data: dict, style: str, title: str,
                    meter: str = "4/4", pickup: int = 0) -> Piece:
    """A piece from token rows [V, T] in ``meter`` (bars from step 0, or from step ``pickup`` after an upbeat of that
    many steps), voiced and paced for its style.

    satb writes one track per voice in the style's sound; a layout of parts (band, piano) writes one track per
    part, its lanes merged, with the part's program, and drums as a drum track (channel 10)."""
    layout = get_layout(data["layout"])
    spq = data["steps_per_quarter"]
    lanes = [tokens_to_notes(row, low) for row in tokens]
    for voice, notes in enumerate(lanes):
        # accents count from the first full bar; numpy's % puts an upbeat's negative steps at the end of a bar
        notes[:, 3] = metric_velocities(notes[:, 0] - pickup, spq, voice, meter)
    if layout.multi_part:
        tracks = []
        for i, part in enumerate(layout.parts):
            rows = [lanes[v] for v, p in enumerate(layout.voice_parts) if p == i]
            tracks.append(Track(part.name, part.program, part.drum, sort_notes(np.concatenate(rows))))
    else:
        program = STYLE_SOUND.get(style, DEFAULT_SOUND)[0]
        tracks = [Track(role, program, False, notes) for role, notes in zip(layout.roles, lanes)]
    return Piece(title, spq, tracks, bar_lines(tokens.shape[-1], spq, meter, pickup),
                 style_tempo(style, meter, data.get("style_tempos")),
                 {"style": style, "meter": meter} | ({"pickup_steps": pickup} if pickup else {}))
