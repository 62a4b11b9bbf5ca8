"""What the strain critic reads (studio/strain_figures.py), on one-voice strains written by hand: 4 steps a bar,
pitches as MIDI numbers (low 0)."""

import numpy as np
import pytest

from divertimento.studio.strain_figures import feature_count, form_shares, strain_features, strain_pattern

BAR = 4
H = 1  # HOLD
R = 0  # REST


def p(pitch: int) -> int:
    return 2 + pitch


a = [p(60), H, p(62), H]  # C D
b = [p(64), H, H, H]  # E
c = [p(67), H, p(65), H]  # G F
d = [p(64), H, p(62), H]  # E D
e = [p(60), H, H, H]  # C
f = [p(60), H, p(64), H]  # C E
PAIRS = [(i, j) for i in range(8) for j in range(i + 1, 8)]


def tune(*bars) -> np.ndarray:
    return np.array([sum(bars, [])], dtype=np.int64)


def test_a_strain_that_brings_its_first_two_bars_back():
    x = strain_features(tune(a, b, c, d, a, b, e, f), BAR)
    assert len(x) == feature_count() == 3 * 28 + 8
    onsets, classes, positions, counts = x[:28], x[28:56], x[56:84], x[84:]
    assert onsets[PAIRS.index((0, 4))] == pytest.approx(1.0)  # bars 1-2 again
    assert onsets[PAIRS.index((1, 5))] == pytest.approx(1.0)
    # a and d share their D on beat 2 (one onset of two each): 1 / sqrt(2 * 2); b and d their E on beat 1
    assert onsets[PAIRS.index((0, 3))] == pytest.approx(0.5)
    assert onsets[PAIRS.index((1, 3))] == pytest.approx(1 / np.sqrt(2))
    assert onsets[PAIRS.index((2, 3))] == 0.0  # G F against E D: nothing in common
    # pitch classes {C, D} against {E, D}: 1 / 2; onset positions (beats 1 and 2 against beat 1): 1 / sqrt(2)
    assert classes[PAIRS.index((0, 3))] == pytest.approx(0.5)
    assert positions[PAIRS.index((0, 1))] == pytest.approx(1 / np.sqrt(2))
    assert counts.tolist() == [2, 1, 2, 2, 2, 1, 1, 2]


def test_patterns_name_a_cell_by_the_first_cell_it_is_near():
    strain = tune(a, b, c, d, a, b, e, f)
    assert strain_pattern(strain, BAR) == "ABCDABEF"
    # at 0.7: d is near b (0.707), e near a (0.707), and f near e alone (0.707; 0.5 to a), so it takes e's letter
    assert strain_pattern(strain, BAR, threshold=0.7) == "ABCBABAA"
    # in 2-bar cells: (a b) (c d) (a b) (e f)
    assert strain_pattern(strain, BAR, cell_bars=2) == "ABAC"


def test_a_silent_bar_and_another_voice_are_not_the_same_cell():
    silent = [R, R, R, R]
    strain = tune(a, silent, c, d, a, silent, e, f)
    x = strain_features(strain, BAR)
    assert x[PAIRS.index((1, 5))] == 0.0  # two silent bars have nothing to compare
    assert x[84 + 1] == 0
    # the same notes in the lower voice are other onsets
    two = np.stack([tune(a, b, c, d, a, b, e, f)[0], tune(b, a, d, c, e, f, a, b)[0]])
    y = strain_features(two, BAR)
    assert y[PAIRS.index((0, 1))] == pytest.approx(0.0)  # bar 1 (a over b) and bar 2 (b over a)


def test_form_shares_count_exact_patterns_of_real_strains():
    returning = tune(a, b, c, d, a, b, e, f)
    through = tune(a, b, c, d, e, f, c, b)  # bars 7-8 are bars 3 and 2, in another order: "ABCDEFCB"
    shares = form_shares([returning, through, returning], BAR)
    assert shares == {"ABCDABEF": pytest.approx(2 / 3), "ABCDEFCB": pytest.approx(1 / 3)}
    assert list(shares) == ["ABCDABEF", "ABCDEFCB"]
