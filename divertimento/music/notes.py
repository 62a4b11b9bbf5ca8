"""In-memory pieces on a quantised time grid: the common currency between readers, rolls and writers.

Times are integer grid steps (``steps_per_quarter`` per quarter note), so every converter downstream is exact.
"""

from dataclasses import dataclass, field

import numpy as np

# Columns of a note array, [n, 4] int32.
START, DURATION, PITCH, VELOCITY = range(4)


@dataclass
class Track:
    name: str  # part name as read ("Soprano", "Violin I", ...); used to assign voices
    program: int  # General MIDI program 0-127
    is_drum: bool
    notes: np.ndarray  # [n, 4] int32 columns START, DURATION, PITCH, VELOCITY; sorted by start


@dataclass
class Piece:
    """A piece on the step grid.

    ``bars`` is [m, 4] int32: start step, actual length in steps, time-signature numerator, denominator.
    A pickup bar has an actual length shorter than its nominal length (numerator * 4 / denominator quarters).
    """

    title: str
    steps_per_quarter: int
    tracks: list[Track]
    bars: np.ndarray
    tempo_qpm: float = 100.0
    meta: dict = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        ends = [int((t.notes[:, START] + t.notes[:, DURATION]).max()) for t in self.tracks if len(t.notes)]
        bar_end = int(self.bars[-1, 0] + self.bars[-1, 1]) if len(self.bars) else 0
        return max(ends + [bar_end, 0])

    @property
    def n_notes(self) -> int:
        return sum(len(t.notes) for t in self.tracks)


def nominal_bar_steps(numerator: int, denominator: int, steps_per_quarter: int) -> float:
    """Length of a full bar of numerator/denominator in grid steps (may be fractional for odd grids)."""
    return numerator * 4 / denominator * steps_per_quarter


def parse_meter(meter: str) -> tuple[int, int]:
    """"6/8" -> (6, 8)."""
    num, den = meter.split("/")
    return int(num), int(den)


def compound(numerator: int) -> bool:
    """6/8, 9/8, 12/8, 6/4: the beat is a dotted note of three of the written unit."""
    return numerator % 3 == 0 and numerator > 3


def bars_from_time_signatures(
    time_signatures: list[tuple[int, int, int]], end_step: int, steps_per_quarter: int
) -> np.ndarray:
    """Barlines implied by (start_step, numerator, denominator) changes, starting at step 0 (MIDI has no pickups)."""
    ts = sorted(time_signatures) or [(0, 4, 4)]
    if ts[0][0] != 0:
        ts = [(0, 4, 4)] + ts
    bars = []
    for i, (start, num, den) in enumerate(ts):
        stop = ts[i + 1][0] if i + 1 < len(ts) else max(end_step, start + 1)
        length = nominal_bar_steps(num, den, steps_per_quarter)
        if length < 1 or length != int(length):
            length = max(1, round(length))
        length = int(length)
        t = start
        while t < stop:
            bars.append((t, min(length, stop - t) if i + 1 < len(ts) else length, num, den))
            t += length
    return np.asarray(bars, dtype=np.int32).reshape(-1, 4)


def sort_notes(notes: np.ndarray) -> np.ndarray:
    if len(notes) == 0:
        return notes.astype(np.int32).reshape(0, 4)
    order = np.lexsort((notes[:, PITCH], notes[:, START]))
    return np.ascontiguousarray(notes[order], dtype=np.int32)


def to_monophonic(notes: np.ndarray, keep: str = "highest") -> np.ndarray:
    """Reduce a track to one note at a time: at shared onsets keep the highest (or lowest) pitch, and cut each
    note where the next one starts. Used to fit polyphonic user tracks into a monophonic voice."""
    if len(notes) == 0:
        return notes
    sign = -1 if keep == "highest" else 1
    order = np.lexsort((sign * notes[:, PITCH], notes[:, START]))
    n = notes[order]
    first = np.ones(len(n), dtype=bool)
    first[1:] = n[1:, START] != n[:-1, START]
    n = n[first].copy()
    if len(n) > 1:
        gap = n[1:, START] - n[:-1, START]
        n[:-1, DURATION] = np.minimum(n[:-1, DURATION], gap)
    return n


def merge_split_bars(bars: np.ndarray, steps_per_quarter: int) -> np.ndarray:
    """Join two adjacent incomplete bars of one meter that add up to a full bar.

    Chorale and hymn editions split a bar at a phrase end (a fermata bar of 3 beats, then a 1-beat pickup to
    the next phrase); for the metre they are one bar, and windows may run across them."""
    out = []
    i = 0
    while i < len(bars):
        start, length, num, den = (int(x) for x in bars[i])
        full = nominal_bar_steps(num, den, steps_per_quarter)
        if length < full and i + 1 < len(bars):
            s2, l2, n2, d2 = (int(x) for x in bars[i + 1])
            if (n2, d2) == (num, den) and s2 == start + length and length + l2 == full:
                out.append((start, length + l2, num, den))
                i += 2
                continue
        out.append((start, length, num, den))
        i += 1
    return np.asarray(out, dtype=np.int32).reshape(-1, 4)
