"""Spreading a polyphonic part over monophonic lanes (token rows), and counting what does not fit.

Pitched parts: the notes that start together are handed out high to low to the lanes that are free, lane 1 first,
so a chord's top note tends to stay in the top lane. When a chord needs more lanes than are free, the notes still
held in busy lanes are cut where the chord starts (a pianist re-striking under the pedal); a chord with more notes
than the part has lanes keeps its top notes and its bass and loses inner notes, counted as dropped.

Drums: one lane per drum family (kick, snare, hi-hat, everything else), each hit one step long. Two hits of one
family at one step keep the lower key, and the other is counted as dropped.
"""

from dataclasses import dataclass

import numpy as np

from .notes import DURATION, PITCH, START

# General MIDI drum keys -> lane: 0 kick, 1 snare and claps, 2 hi-hats, 3 toms, cymbals and other percussion.
DRUM_FAMILY = np.full(128, 3, dtype=np.int8)
DRUM_FAMILY[[35, 36]] = 0
DRUM_FAMILY[[37, 38, 39, 40]] = 1
DRUM_FAMILY[[42, 44, 46]] = 2
DRUM_FAMILY_NAMES = ("kick", "snare", "hi-hat", "toms and cymbals")


@dataclass
class Lanes:
    lanes: list[np.ndarray]  # one [n, 4] note array per lane, no two notes of a lane overlapping
    total: int  # notes of the part before fitting
    dropped: int  # notes left out because more sounded at once than the part has lanes
    shortened: int  # held notes cut where a chord needed their lane


def _empty() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.int32)


def pitched_lanes(notes: np.ndarray, n_lanes: int) -> Lanes:
    """``notes`` [n, 4] of one part over ``n_lanes`` monophonic lanes (see the module's rule)."""
    total = len(notes)
    if total == 0:
        return Lanes([_empty() for _ in range(n_lanes)], 0, 0, 0)
    notes = notes[np.lexsort((-notes[:, DURATION], -notes[:, PITCH], notes[:, START]))].astype(np.int64)
    # a repeated pitch at one onset is one note: keep its longest copy
    same = np.zeros(len(notes), dtype=bool)
    same[1:] = (notes[1:, START] == notes[:-1, START]) & (notes[1:, PITCH] == notes[:-1, PITCH])
    dropped = int(same.sum())
    notes = notes[~same]
    ends = notes[:, START] + notes[:, DURATION]
    if len(notes) < 2 or (notes[1:, START] >= ends[:-1]).all():  # already one line: the common fast path
        lanes = [notes.astype(np.int32)] + [_empty() for _ in range(n_lanes - 1)]
        return Lanes(lanes, total, dropped, 0)
    lane_notes: list[list[list[int]]] = [[] for _ in range(n_lanes)]
    lane_end = [-1] * n_lanes
    shortened = 0
    rows = notes.tolist()  # plain lists: this loop runs per note, where numpy's per-call cost dominates
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j][START] == rows[i][START]:
            j += 1
        group, start = rows[i:j], rows[i][START]  # notes that start together, high to low
        i = j
        if len(group) > n_lanes:  # keep the top notes and the bass
            dropped += len(group) - n_lanes
            group = group[: n_lanes - 1] + group[-1:] if n_lanes > 1 else group[-1:]
        free = [k for k in range(n_lanes) if lane_end[k] <= start]
        if len(free) < len(group):  # cut the held notes that end soonest
            busy = sorted((k for k in range(n_lanes) if lane_end[k] > start), key=lambda k: lane_end[k])
            for k in busy[: len(group) - len(free)]:
                last = lane_notes[k][-1]
                last[DURATION] = start - last[START]
                lane_end[k] = start
                shortened += 1
            free = sorted(free + busy[: len(group) - len(free)])
        for note, k in zip(group, free):
            lane_notes[k].append(note)
            lane_end[k] = note[START] + note[DURATION]
    lanes = [np.asarray(n, dtype=np.int32).reshape(-1, 4) for n in lane_notes]
    return Lanes(lanes, total, dropped, shortened)


def drum_lanes(notes: np.ndarray, n_lanes: int = 4) -> Lanes:
    """Drum hits [n, 4] (pitch = GM drum key) over the drum-family lanes, each hit one step long."""
    total = len(notes)
    if total == 0:
        return Lanes([_empty() for _ in range(n_lanes)], 0, 0, 0)
    family = np.minimum(DRUM_FAMILY[np.clip(notes[:, PITCH], 0, 127)], n_lanes - 1)
    order = np.lexsort((notes[:, PITCH], notes[:, START], family))
    notes, family = notes[order].astype(np.int32), family[order]
    first = np.ones(len(notes), dtype=bool)
    first[1:] = (family[1:] != family[:-1]) | (notes[1:, START] != notes[:-1, START])
    notes, family = notes[first].copy(), family[first]
    notes[:, DURATION] = 1
    lanes = [notes[family == k] for k in range(n_lanes)]
    return Lanes(lanes, total, int((~first).sum()), 0)
