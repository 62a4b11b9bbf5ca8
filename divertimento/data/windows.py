"""Cut bar-aligned windows out of a piece, keeping only bars of the accepted meters (counted when left out).

Windows are stored with absolute pitches (token 2 + MIDI pitch) until the data's pitch range is known; then
``crop_to_range`` shifts them to the range's vocabulary.
"""

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..music.layouts import Layout, fit_layout
from ..music.notes import Piece, merge_split_bars, nominal_bar_steps
from ..music.roll import FIRST_PITCH_TOKEN, REST, notes_to_tokens, windows_of

# Simple, compound and triple meters of the corpus's music (reels and marches, waltzes, jigs, slip jigs, slow airs,
# chorales and the alla-breve masses): bars in any other meter are counted as left out, with the meter named.
DEFAULT_METERS = ("4/4", "2/2", "2/4", "3/4", "3/2", "6/8", "9/8", "12/8", "6/4", "4/2")
MIN_SOUNDING = 0.5  # a window where less than half the steps sound anything is mostly silence: left out


@dataclass(frozen=True)
class WindowSpec:
    layout: Layout
    steps_per_quarter: int = 4
    bars: int = 4  # window length in 4/4 bars: 16 quarters (8 bars of 2/4, 5 1/3 of 3/4 or 6/8, 2 2/3 of 12/8)
    hop_quarters: int = 4  # distance between window starts, rounded up to the next barline
    meters: tuple[str, ...] = DEFAULT_METERS

    @property
    def steps(self) -> int:
        return self.bars * 4 * self.steps_per_quarter

    @property
    def hop_steps(self) -> int:
        return self.hop_quarters * self.steps_per_quarter


@dataclass
class PieceWindows:
    rolls: np.ndarray  # [n, V, T] uint8 absolute tokens (2 + MIDI pitch; a drum lane's pitch is its GM key)
    starts: np.ndarray  # [n] int32 start step of each window in the piece
    meters: list[str]  # [n] the meter of each window (every bar it touches has it)
    left_out: Counter  # reason -> count of windows or bars left out
    tracks: list[dict]  # per source track: the part it went to, notes kept, and why any were left out
    tempo: dict  # the piece's tempo in quarters per minute, and how many tempo changes it had (the first is kept)
    opening: dict  # the meter the piece opens in and its pickup (anacrusis) in steps, 0 on a downbeat (opening_of)


def opening_of(piece: Piece) -> dict:
    """How a piece begins: ``{"meter": "6/8", "pickup_steps": 2}``. A first bar shorter than its meter's bar,
    followed by others, is a pickup (music21 keeps a score's measures as written, so a jig's upbeat eighth is a
    first bar of 2 sixteenth steps); a piece from MIDI, whose bars all run from step 0, opens on a downbeat."""
    if len(piece.bars) == 0:
        return {"meter": None, "pickup_steps": 0}
    _, length, num, den = (int(x) for x in piece.bars[0])
    short = len(piece.bars) > 1 and length < nominal_bar_steps(num, den, piece.steps_per_quarter)
    return {"meter": f"{num}/{den}", "pickup_steps": length if short else 0}


def window_starts(piece: Piece, spec: WindowSpec) -> tuple[list[int], list[str], Counter]:
    """Start steps (and meters) of windows that begin on a barline and run over whole, contiguous bars of one
    accepted meter for all of their ``spec.steps`` steps. A window of a meter whose bar does not divide the window
    (3/4, 6/8) ends inside its last bar: the model learns the music, and the studio's engine assembles pieces from
    whole bars (studio/engine.py)."""
    bars = merge_split_bars(piece.bars, spec.steps_per_quarter)
    counts: Counter = Counter()
    ok = np.zeros(len(bars), dtype=bool)
    for i, (_, length, num, den) in enumerate(bars):
        meter = f"{num}/{den}"
        if meter not in spec.meters:
            counts[f"bar in meter {meter}"] += 1
        elif length != nominal_bar_steps(num, den, spec.steps_per_quarter):
            counts["incomplete bar (pickup or ending)"] += 1
        else:
            ok[i] = True
    starts, meters, next_allowed = [], [], -1
    for i in range(len(bars)):
        if not ok[i] or bars[i, 0] < next_allowed:
            continue
        total, j = 0, i
        # extend over consecutive, contiguous, accepted bars of the first bar's meter until the window is full
        while (j < len(bars) and ok[j] and total < spec.steps and tuple(bars[j, 2:]) == tuple(bars[i, 2:])
               and (j == i or bars[j, 0] == bars[j - 1, 0] + bars[j - 1, 1])):
            total += int(bars[j, 1])
            j += 1
        if total >= spec.steps:
            starts.append(int(bars[i, 0]))
            meters.append(f"{bars[i, 2]}/{bars[i, 3]}")
            next_allowed = int(bars[i, 0]) + spec.hop_steps
    return starts, meters, counts


def cut_windows(piece: Piece, spec: WindowSpec) -> PieceWindows | str:
    """All windows of a piece, or a reason string when it yields none."""
    if piece.n_notes == 0:
        return "no notes"
    fitted = fit_layout(piece, spec.layout)
    if isinstance(fitted, str):
        return fitted
    starts, meters, counts = window_starts(piece, spec)
    if not starts:
        meters = sorted({f"{n}/{d}" for _, _, n, d in piece.bars} - set(spec.meters))
        return f"no full window ({spec.steps // spec.steps_per_quarter} quarters of whole bars) in meters " \
               f"{', '.join(spec.meters)}" + (
            f" (piece is in {', '.join(meters)})" if meters else "")
    T = spec.steps
    drums = np.asarray(spec.layout.drum_voices, dtype=bool)
    kept_rolls, kept_starts, kept_meters = [], [], []
    end = max(starts) + T
    full = np.stack([notes_to_tokens(v, end, 0, 127) for v in fitted.voices])  # one row per lane, whole piece
    for roll, s, meter in zip(windows_of(full, starts, T), starts, meters):
        if sounding_share(roll, drums, spec.steps_per_quarter) < MIN_SOUNDING:
            counts["window mostly silent"] += 1
            continue
        kept_rolls.append(roll)
        kept_starts.append(s)
        kept_meters.append(meter)
    if not kept_rolls:
        return "every window mostly silent"
    return PieceWindows(np.stack(kept_rolls).astype(np.uint8), np.asarray(kept_starts, dtype=np.int32), kept_meters,
                        counts, fitted.tracks,
                        {"qpm": round(piece.tempo_qpm, 2), "changes": int(piece.meta.get("tempo_changes", 0))},
                        opening_of(piece))


def sounding_share(roll: np.ndarray, drums: np.ndarray, steps_per_quarter: int) -> float:
    """Share of a window's steps [V, T] where something sounds: a note of a pitched lane, or a drum hit within the
    last quarter note (a hit is one step long, yet a groove of hits on the beat is not silence)."""
    sounding = (roll[~drums] != REST).any(axis=0)
    if drums.any():
        hits = (roll[drums] != REST).any(axis=0).astype(np.int64)
        recent = np.convolve(hits, np.ones(steps_per_quarter, dtype=np.int64))[: roll.shape[1]]
        sounding |= recent > 0
    return float(sounding.mean())


def pitch_extent(rolls: np.ndarray) -> tuple[int, int] | None:
    """Lowest and highest MIDI pitch used in absolute-pitch rolls, or None when there are no notes."""
    pitches = rolls[rolls >= FIRST_PITCH_TOKEN].astype(np.int32) - FIRST_PITCH_TOKEN
    return (int(pitches.min()), int(pitches.max())) if len(pitches) else None


def crop_to_range(rolls: np.ndarray, low: int) -> np.ndarray:
    """Absolute-pitch rolls -> rolls over low..high (token 2 + p - low)."""
    out = rolls.copy()
    out[out >= FIRST_PITCH_TOKEN] -= low
    return out
