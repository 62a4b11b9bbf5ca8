"""notes <-> tokens on hand-written notes, checked against arrays written out by hand."""

import numpy as np

from divertimento.music.roll import (
    HOLD,
    REST,
    notes_to_tokens,
    tokens_to_notes,
)


def notes(*rows):
    return np.asarray([(s, d, p, 80) for s, d, p in rows], dtype=np.int32).reshape(-1, 4)


def test_tokens_exact_array_with_repeated_and_held_notes():
    # C4 held 3 steps, C4 repeated for 1 step, rest 1 step, E4 for 2 steps; low = 60 so C4 = token 2, E4 = token 6
    n = notes((0, 3, 60), (3, 1, 60), (5, 2, 64))
    got = notes_to_tokens(n, 8, low=60, high=72)
    assert got.tolist() == [2, HOLD, HOLD, 2, REST, 6, HOLD, REST]


def test_round_trip_keeps_repeated_notes_distinct_from_held_notes():
    held = notes((0, 4, 67))
    repeated = notes((0, 2, 67), (2, 2, 67))
    t_held, t_rep = notes_to_tokens(held, 4, 60, 72), notes_to_tokens(repeated, 4, 60, 72)
    assert t_held.tolist() != t_rep.tolist()
    assert tokens_to_notes(t_held, 60)[:, :3].tolist() == [[0, 4, 67]]
    assert tokens_to_notes(t_rep, 60)[:, :3].tolist() == [[0, 2, 67], [2, 2, 67]]


def test_tie_across_barline_is_one_note():
    # a note from step 12 to 20 crosses the barline at 16 of a 4/4 bar: one onset, seven holds
    t = notes_to_tokens(notes((12, 8, 65)), 32, 60, 72)
    assert t[12] == 2 + 5 and (t[13:20] == HOLD).all() and t[20] == REST
    assert tokens_to_notes(t, 60)[:, :3].tolist() == [[12, 8, 65]]


def test_window_offset_turns_sounding_note_into_onset():
    # a note started before the window (step 14, window from 16) enters as an onset at step 0
    t = notes_to_tokens(notes((14, 4, 62)), 4, 60, 72, offset=16)
    assert t.tolist() == [4, HOLD, REST, REST]


def test_hold_after_rest_reads_as_rest():
    assert tokens_to_notes(np.array([REST, HOLD, 3, HOLD]), 60)[:, :3].tolist() == [[2, 2, 61]]


def test_later_onset_cuts_earlier_note():
    t = notes_to_tokens(notes((0, 6, 60), (2, 2, 64)), 6, 60, 72)
    assert t.tolist() == [2, HOLD, 6, HOLD, REST, REST]


def test_random_monophonic_round_trip():
    rng = np.random.default_rng(3)
    for _ in range(50):
        t, rows = 0, []
        while t < 60:
            t += int(rng.integers(0, 3))
            d = int(rng.integers(1, 6))
            if t + d > 64:
                break
            rows.append((t, d, int(rng.integers(40, 80))))
            t += d
        n = notes(*rows)
        back = tokens_to_notes(notes_to_tokens(n, 64, 40, 79), 40)
        assert back[:, :3].tolist() == n[:, :3].tolist()


def test_window_slices_equal_direct_window_encoding():
    from divertimento.music.roll import windows_of

    rng = np.random.default_rng(7)
    for _ in range(100):
        voices = [notes(*[(int(s), int(rng.integers(1, 20)), int(rng.integers(50, 70)))
                          for s in np.sort(rng.integers(0, 120, 12))]) for _ in range(3)]
        full = np.stack([notes_to_tokens(n, 200, 40, 90) for n in voices])
        offsets = [0, 5, 16, 33, 64]
        for offset, window in zip(offsets, windows_of(full, offsets, 64)):
            assert window.tolist() == [notes_to_tokens(n, 64, 40, 90, offset).tolist() for n in voices]


def _tokens_by_loop(notes, n_steps, low, offset):
    """The rule written as a loop over notes in start order: each writes its onset and HOLDs, and silences the
    tail of the note before it that outlasts it."""
    tokens = np.zeros(n_steps, dtype=np.uint8)
    covered = 0
    for start, dur, pitch in notes[np.argsort(notes[:, 0], kind="stable")][:, :3]:
        a, b = int(start) - offset, int(start + dur) - offset
        if a >= n_steps:
            break
        b = min(max(b, 0), n_steps)
        if b > 0:
            a = max(a, 0)
            tokens[a] = 2 + pitch - low
            tokens[a + 1 : b] = HOLD
        tokens[b:covered] = REST
        covered = b
    return tokens


def test_overlapping_and_offset_notes_follow_the_cutting_rule():
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(1, 12))
        rows = np.stack([rng.integers(0, 30, n), rng.integers(1, 9, n), rng.integers(60, 72, n),
                         np.full(n, 80)], axis=1).astype(np.int32)
        offset = int(rng.integers(0, 10))
        assert notes_to_tokens(rows, 16, 60, 71, offset).tolist() == _tokens_by_loop(rows, 16, 60, offset).tolist()


def test_a_note_of_no_length_is_ignored():
    assert notes_to_tokens(notes((0, 4, 60), (2, 0, 62)), 6, 60, 64).tolist() == [2, HOLD, HOLD, HOLD, REST, REST]
