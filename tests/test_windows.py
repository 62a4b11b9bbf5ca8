"""Bar-aligned windows and meter handling on hand-built pieces."""

import numpy as np

from divertimento.data.windows import WindowSpec, cut_windows, window_starts
from divertimento.music.layouts import SATB, fit_satb
from divertimento.music.notes import Piece, Track, merge_split_bars


def melody(n_steps, step=4, pitch=67):
    rows = [(s, step, pitch + (s // step) % 5, 80) for s in range(0, n_steps, step)]
    return np.asarray(rows, dtype=np.int32)


def piece_with_bars(bars, notes):
    return Piece("t", 4, [Track("melody", 0, False, notes)], np.asarray(bars, dtype=np.int32))


def test_pickup_shifts_windows_to_the_first_full_bar():
    # pickup of one quarter (4 steps), then six 4/4 bars: full bars start at 4, 20, 36, 52, 68, 84
    bars = [(0, 4, 4, 4)] + [(4 + 16 * i, 16, 4, 4) for i in range(6)]
    spec = WindowSpec(SATB, bars=4, hop_quarters=4)
    starts, meters, counts = window_starts(piece_with_bars(bars, melody(100)), spec)
    # a 64-step window needs 4 full bars: starting at 52 would run past the end
    assert starts == [4, 20, 36] and meters == ["4/4"] * 3
    assert counts["incomplete bar (pickup or ending)"] == 1


def test_meter_outside_the_kept_ones_is_counted_and_never_windowed():
    # 4 bars of 5/4 (20 steps) then 4 bars of 4/4: only one window, at step 80
    bars = [(20 * i, 20, 5, 4) for i in range(4)] + [(80 + 16 * i, 16, 4, 4) for i in range(4)]
    starts, meters, counts = window_starts(piece_with_bars(bars, melody(144)), WindowSpec(SATB))
    assert starts == [80] and meters == ["4/4"]
    assert counts["bar in meter 5/4"] == 4


def test_six_eight_windows_start_on_barlines_and_stay_in_their_meter():
    # a one-eighth pickup (2 steps), eight 6/8 bars of 12 steps (2..98), then six 4/4 bars (98..194)
    bars = [(0, 2, 6, 8)] + [(2 + 12 * i, 12, 6, 8) for i in range(8)] + [(98 + 16 * i, 16, 4, 4) for i in range(6)]
    starts, meters, counts = window_starts(piece_with_bars(bars, melody(194)), WindowSpec(SATB, hop_quarters=4))
    # 6/8 windows need 64 steps = 5 1/3 bars of their own meter: from bar 1 (step 2) to step 66 lies inside
    # the 6/8 section, and the hop of 16 steps rounds up to the next barline: 2 + 24 = 26 (bar 3), then 50 would
    # run to 114, past the meter change at 98; then the 4/4 section: 98 and 114 and 130 (130 + 64 = 194)
    assert starts == [2, 26, 98, 114, 130]
    assert meters == ["6/8", "6/8", "4/4", "4/4", "4/4"]
    assert counts["incomplete bar (pickup or ending)"] == 1


def test_two_four_bars_make_a_window_of_eight_bars():
    bars = [(8 * i, 8, 2, 4) for i in range(10)]  # ten 2/4 bars = 80 steps
    starts, _, _ = window_starts(piece_with_bars(bars, melody(80)), WindowSpec(SATB, hop_quarters=4))
    assert starts == [0, 16]  # hop of 4 quarters = 16 steps; 32 + 64 > 80


def test_phrase_split_bars_are_merged():
    # chorale-style: bar of 12 steps (fermata) then a 4-step pickup bar, both 4/4
    bars = np.asarray([(0, 16, 4, 4), (16, 12, 4, 4), (28, 4, 4, 4), (32, 16, 4, 4)], dtype=np.int32)
    assert merge_split_bars(bars, 4).tolist() == [[0, 16, 4, 4], [16, 16, 4, 4], [32, 16, 4, 4]]


def test_cut_windows_tokens_and_silence_filter():
    bars = [(16 * i, 16, 4, 4) for i in range(8)]
    notes = melody(64)  # sounds in the first four bars only
    w = cut_windows(piece_with_bars(bars, notes), WindowSpec(SATB, hop_quarters=16))
    # windows at 0 and 64; the second is silent and left out
    assert w.starts.tolist() == [0]
    assert w.left_out["window mostly silent"] == 1
    # melody in the soprano (absolute token 2 + pitch), the other voices rest
    assert w.rolls.shape == (1, 4, 64)
    assert w.rolls[0, 0, :5].tolist() == [2 + 67, 1, 1, 1, 2 + 68]
    assert (w.rolls[0, 1:] == 0).all()


def test_satb_fit_by_names_and_by_pitch():
    def tr(name, pitch):
        return Track(name, 0, False, np.asarray([(0, 4, pitch, 80)], dtype=np.int32))

    named = Piece("x", 4, [tr("Bass", 48), tr("Alto", 64), tr("Soprano", 72), tr("Tenor", 55)],
                  np.asarray([(0, 16, 4, 4)], dtype=np.int32))
    assert [int(v[0, 2]) for v in fit_satb(named)] == [72, 64, 55, 48]
    # unnamed three parts: highest -> soprano, lowest -> bass, the middle one nearest the alto centre (62)
    three = Piece("y", 4, [tr("", 50), tr("", 70), tr("", 61)], np.asarray([(0, 16, 4, 4)], dtype=np.int32))
    voices = fit_satb(three)
    assert [len(v) for v in voices] == [1, 1, 0, 1]
    assert [int(v[0, 2]) for v in voices if len(v)] == [70, 61, 50]
