"""experiments/piece_two_sample.py, experiments/phrase_structure.py and experiments/strain_studio.py: a strain's
relations on a one-voice tune written by hand (4 steps a bar, 2-bar cells), and the fronts' relation axes on their
two calibration cases."""

import sys

import numpy as np
import pytest

sys.path.insert(0, "experiments")
from phrase_structure import extended_form, resample  # noqa: E402  (experiments/ is a folder of scripts)
from piece_two_sample import FEATURES, piece_features, spliced  # noqa: E402
from strain_studio import strain_prdc  # noqa: E402

BAR = 4
H = 1  # HOLD


def p(pitch: int) -> int:
    return 2 + pitch  # low 0


A = [p(60), H, p(62), H, p(64), H, H, H]  # bar 1: C D, bar 2: E
B = [p(67), H, p(65), H, p(64), H, p(62), H]  # G F, E D
C = [p(60), H, H, H, p(55), H, H, H]  # C, G
D = [p(59), H, H, H, p(60), H, H, H]  # B, C
A_END = [p(60), H, p(62), H, p(65), H, H, H]  # A with its last note a step higher


def tune(*cells) -> np.ndarray:
    return np.array([sum(cells, [])], dtype=np.int64)


def feature(x: np.ndarray, name: str) -> float:
    return float(x[FEATURES.index(name)])


def test_repetition_and_density_relations_of_abac():
    x = piece_features(tune(A, B, A, C), 0, BAR)
    # bars 1-2 return as bars 5-6 (similarity 1); B's bars and C's share no onset (0)
    assert feature(x, "repetition: bar similarity at lag 4") == pytest.approx(0.5)
    assert feature(x, "repetition: largest bar similarity at lag 4") == pytest.approx(1.0)
    # notes per bar 2 1 2 2 | 2 1 1 1: mean 1.5, sd 0.5; the last four bars have 5 notes, the first four 7
    assert feature(x, "rhythm: notes per bar, variation") == pytest.approx(1 / 3)
    assert feature(x, "rhythm: notes per bar, last segment over first") == pytest.approx(5 / 7)
    # the top voice's mean pitch: (60 + 62 + 64 + 67 + 65 + 64 + 62) / 7 first, (60 + 62 + 64 + 60 + 55) / 5 last
    assert feature(x, "melody: top voice's mean pitch, last segment less first") == pytest.approx(60.2 - 444 / 7)


def test_abab_repeats_every_bar_four_later():
    x = piece_features(tune(A, B, A, B), 0, BAR)
    assert feature(x, "repetition: bar similarity at lag 4") == pytest.approx(1.0)
    assert feature(x, "material: first-last pitch-class cosine") == pytest.approx(1.0)


def test_spliced_segments_come_from_other_pieces_in_place():
    pieces = [np.full((1, 32), 2 + i, dtype=np.int64) for i in range(3)]
    for i, q in enumerate(spliced(pieces, BAR, np.random.default_rng(0))):
        assert (q[:, :16] == 2 + i).all()  # the first segment is the piece's own
        assert len(set(q[0, 16:].tolist())) == 1 and q[0, 16] != 2 + i  # the second is another piece's, whole


def test_resample_never_picks_a_zero_weight():
    log_w = np.array([[0.0, -np.inf, -np.inf], [-np.inf, -np.inf, 0.0]])
    assert resample(log_w, np.random.default_rng(0)).tolist() == [0, 2]


def test_largest_similarity_skips_a_bar_without_onsets():
    # bar 1 is silent (its pair with bar 5 has no similarity to read); bar 2 comes back as bar 6, note for note
    rest = [0, 0, 0, 0]
    x_bar, y_bar, z_bar = [p(67), H, H, H], [p(60), H, p(62), H], [p(55), H, H, H]
    bars = [rest, x_bar, y_bar, z_bar, [p(64), H, H, H], x_bar, z_bar, y_bar]
    x = piece_features(np.array([sum(bars, [])], dtype=np.int64), 0, BAR)
    assert feature(x, "repetition: largest bar similarity at lag 4") == pytest.approx(1.0)
    # pairs (2, 6), (3, 7) and (4, 8) read 1, 0 and 0 (no onset in common); (1, 5) is left out
    assert feature(x, "repetition: bar similarity at lag 4") == pytest.approx(1 / 3)


def test_forms_get_new_letters_for_the_bars_cut_away():
    assert extended_form("ABAC", 2) == "ABACDE"  # two more 2-bar cells, letters not heard before
    assert extended_form("ABCDABEF", 1) == "ABCDABEFG"  # one more bar
    assert extended_form("ABCDEFGH", 1) is None  # no letter left: drawn through-composed
    assert extended_form("", 2) is None


def test_strain_prdc_calibrates_on_real_itself_and_on_strains_far_away():
    real = np.random.default_rng(0).normal(size=(12, 3))
    same = strain_prdc(real, real)  # every strain is its own nearest neighbour, at distance 0
    assert (same["precision"], same["recall"], same["coverage"]) == (1.0, 1.0, 1.0)
    far = real + 100 * np.std(real, axis=0)
    assert strain_prdc(real, far) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
