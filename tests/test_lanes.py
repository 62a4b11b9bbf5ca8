"""A polyphonic part over monophonic lanes: hand-worked chords, held notes, drums, and the round trip back."""

import numpy as np

from divertimento.music.lanes import drum_lanes, pitched_lanes
from divertimento.music.roll import notes_to_tokens, tokens_to_notes


def notes(*rows):
    return np.asarray([(s, d, p, 80) for s, d, p in rows], dtype=np.int32).reshape(-1, 4)


def triples(a):
    return [tuple(int(x) for x in r[:3]) for r in a]


def test_a_chord_goes_high_to_low_over_the_free_lanes():
    # a C major triad held 4 steps (G-E-C -> lanes 1, 2, 3), then an A minor triad at step 4, when every lane is
    # free again: E-C-A -> lanes 1, 2, 3. Lane 4 stays empty.
    lanes = pitched_lanes(notes((0, 4, 60), (0, 4, 64), (0, 4, 67), (4, 4, 57), (4, 4, 60), (4, 4, 64)), 4)
    assert [triples(x) for x in lanes.lanes] == [[(0, 4, 67), (4, 4, 64)], [(0, 4, 64), (4, 4, 60)],
                                                 [(0, 4, 60), (4, 4, 57)], []]
    assert (lanes.total, lanes.dropped, lanes.shortened) == (6, 0, 0)


def test_a_new_note_takes_the_free_lane_and_a_full_part_cuts_the_held_note_that_ends_first():
    # lane 1 holds C5 (0-8), lane 2 holds E4 (0-4); at step 2 a G4 starts: lane 3 is free.
    # At step 3 two notes start (A4, F4) in a 3-lane part: no lane free, so the two held notes ending first
    # are cut at 3: E4 (ends 4) and G4 (ends 6); C5 (ends 8) keeps going. A4 -> lane 2, F4 -> lane 3.
    lanes = pitched_lanes(notes((0, 8, 72), (0, 4, 64), (2, 4, 67), (3, 2, 69), (3, 2, 65)), 3)
    assert [triples(x) for x in lanes.lanes] == [[(0, 8, 72)], [(0, 3, 64), (3, 2, 69)], [(2, 1, 67), (3, 2, 65)]]
    assert (lanes.dropped, lanes.shortened) == (0, 2)


def test_a_chord_wider_than_the_part_keeps_its_top_and_its_bass():
    # five notes at once into 3 lanes: keep C6, G5 (top two) and C3 (bass); E5 and C4 dropped. A doubled C6
    # at the same onset is one note (the longer copy kept) and counts as dropped too.
    lanes = pitched_lanes(notes((0, 2, 84), (0, 4, 84), (0, 4, 79), (0, 4, 76), (0, 4, 60), (0, 4, 48)), 3)
    assert [triples(x) for x in lanes.lanes] == [[(0, 4, 84)], [(0, 4, 79)], [(0, 4, 48)]]
    assert (lanes.total, lanes.dropped) == (6, 3)


def test_a_single_line_stays_in_the_first_lane():
    line = notes((0, 2, 60), (2, 2, 62), (4, 4, 64))
    lanes = pitched_lanes(line, 4)
    assert triples(lanes.lanes[0]) == triples(line) and all(len(x) == 0 for x in lanes.lanes[1:])


def test_drums_go_to_their_family_lane_one_step_long():
    # kick (36) + closed hat (42) at 0, snare (38) + hat at 4, a crash (49) and a tom (45) together at 8:
    # both are "toms and cymbals", so the lower key (45) stays and the crash is dropped.
    hits = notes((0, 3, 36), (0, 1, 42), (4, 2, 38), (4, 1, 42), (8, 4, 49), (8, 4, 45))
    lanes = drum_lanes(hits, 4)
    assert [triples(x) for x in lanes.lanes] == [[(0, 1, 36)], [(4, 1, 38)], [(0, 1, 42), (4, 1, 42)], [(8, 1, 45)]]
    assert (lanes.total, lanes.dropped) == (6, 1)


def test_lanes_survive_the_token_round_trip():
    rng = np.random.default_rng(5)
    rows = [(int(s), int(d), int(p)) for s, d, p in zip(rng.integers(0, 60, 40), rng.integers(1, 9, 40),
                                                       rng.integers(40, 80, 40))]
    lanes = pitched_lanes(notes(*rows), 4)
    for lane in lanes.lanes:
        back = tokens_to_notes(notes_to_tokens(lane, 80, 40, 79), 40)
        assert triples(back) == triples(lane)
    assert sum(len(x) for x in lanes.lanes) + lanes.dropped == lanes.total
