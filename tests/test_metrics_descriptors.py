"""Descriptors on small asymmetric hand-computed windows (spq 4: a bar is 16 steps, a beat 4, a window 64).

Each expected number is worked out by hand in the comment next to it. The traps from REFERENCES.md are here:
C4 and C5 are one pitch class, C-E-G is 100 % in C major, the empty-bar rate counts *empty* bars, a two-note chord
is polyphonic, and note lengths are measured per voice even when notes cross a neighbour's offset."""

import math

import numpy as np
import pytest

from divertimento.metrics.decode import NO_PITCH, decode, onset_pitch_slots, to_absolute
from divertimento.metrics.descriptors import (
    DescriptorConfig,
    compute_descriptors,
    descriptor_vectors,
    empty_bar_rate,
    groove_consistency,
    harte_matrix,
    in_scale_rate,
    length_histogram,
    mean_interval,
    parallel_fifths_octaves_rate,
    pitch_class_counts,
    pitch_class_entropy,
    pitch_range,
    polyphony_rate,
    qualified_note_rate,
    scale_degree_histogram,
    tonal_distance,
    used_pitch_classes,
    vector_names,
    voice_crossing_rate,
)
from divertimento.music.roll import notes_to_tokens

T, V = 64, 4


def win(*voices, steps=T):
    """Absolute-token window [V, T] from per-voice lists of (start, duration, pitch)."""
    rows = []
    for v in range(V):
        notes = voices[v] if v < len(voices) else []
        arr = np.array([(s, d, p, 80) for s, d, p in notes], dtype=np.int32).reshape(-1, 4)
        rows.append(notes_to_tokens(arr, steps, 0, 127))
    return np.stack(rows)


def dec(*windows):
    return decode(np.stack(windows))


def test_decode_hold_after_rest_is_silence_and_lengths():
    w = np.zeros((1, 1, 8), dtype=np.uint8)
    w[0, 0] = [1, 1, 2 + 60, 1, 1, 0, 1, 2 + 62]  # HOLD HOLD C4 . . REST HOLD D4
    d = decode(w)
    assert d.pitch[0, 0].tolist() == [-1, -1, 60, 60, 60, -1, -1, 62]
    assert d.note_start.tolist() == [2, 7] and d.note_dur.tolist() == [3, 1] and d.note_pitch.tolist() == [60, 62]


def test_to_absolute_shifts_only_pitch_tokens():
    rel = np.array([[[0, 1, 2, 5]]], dtype=np.uint8)  # REST HOLD low low+3
    assert to_absolute(rel, 36).tolist() == [[[0, 1, 38, 41]]]


def test_empty_bar_rate_counts_empty_bars():
    # soprano: 0..20 sounds in bars 0 and 1 (held over the barline), bar 2 empty, a note at 50 in bar 3 -> 1/4 empty
    # alto: one note in bar 2 -> 3/4 empty; tenor, bass silent -> 1, 1.
    w = win([(0, 20, 60), (50, 2, 62)], [(40, 4, 55)])
    eb = empty_bar_rate(dec(w), 16)
    assert eb[0].tolist() == [0.25, 0.75, 1.0, 1.0]
    d = compute_descriptors(dec(w), DescriptorConfig(4), ("s", "a", "t", "b"))
    assert d.scalars["empty_bar_rate"][0] == pytest.approx((0.25 + 0.75 + 1 + 1) / 4)  # 0.75
    assert d.scalars["empty_bar_rate/a"][0] == 0.75


def test_used_pitch_classes_folds_octaves():
    # bar 0: C4 (soprano) and C5 (alto) -> {C} = 1; bar 1: C4 held to 20, then E4, G4 -> {C, E, G} = 3;
    # bar 2 empty (left out); bar 3: D4 -> 1.  Mean over non-empty bars = (1 + 3 + 1) / 3 = 5/3.
    w = win([(0, 20, 60), (20, 4, 64), (24, 4, 67), (50, 2, 62)], [(2, 4, 72)])
    assert used_pitch_classes(dec(w), 16)[0] == pytest.approx(5 / 3)


def test_qualified_notes_crossing_a_neighbours_offset():
    # soprano: one 12-step note; alto, inside it: lengths 1, 2, 1.  Notes >= 2 steps: 12 and 2 -> 2 of 4 = 0.5.
    w = win([(0, 12, 67)], [(2, 1, 60), (3, 2, 62), (5, 1, 64)])
    assert qualified_note_rate(dec(w), 2)[0] == 0.5
    assert qualified_note_rate(dec(w), 1)[0] == 1.0  # MuseGAN's 32nd threshold is trivially met on a 16th grid
    assert DescriptorConfig(4).qn_steps == 2  # the stated default: an eighth note


def test_polyphony_two_note_chord_counts_unison_does_not():
    # soprano C4 0..8, alto E4 4..8 -> steps 4..7 have two pitches (4 steps);
    # 8..12 soprano and tenor both C4: a unison is one pitch, not polyphonic.  Rate = 4 / 64.
    w = win([(0, 8, 60), (8, 4, 60)], [(4, 4, 64)], [(8, 4, 60)])
    assert polyphony_rate(dec(w))[0] == pytest.approx(4 / 64)


def test_in_scale_rate_and_entropy():
    ceg = win([(0, 4, 60), (4, 4, 64), (8, 4, 67)])
    assert in_scale_rate(pitch_class_counts(dec(ceg)))[0] == 1.0  # C-E-G: 100 % in C major
    # C, C#, D, E, G: no major/minor scale holds both C and C#; C major holds 4 of 5 -> 0.8
    five = win([(0, 4, 60), (4, 4, 61), (8, 4, 62), (12, 4, 64), (16, 4, 67)])
    assert in_scale_rate(pitch_class_counts(dec(five)))[0] == pytest.approx(0.8)
    # C4, C5, E4, G4: classes C, C, E, G -> p = (1/2, 1/4, 1/4) -> H = 1/2*1 + 1/4*2 + 1/4*2 = 1.5 bits
    ccEG = win([(0, 4, 60), (4, 4, 72), (8, 4, 64), (12, 4, 67)])
    assert pitch_class_entropy(pitch_class_counts(dec(ccEG)))[0] == pytest.approx(1.5)
    assert pitch_range(dec(ccEG))[0] == 72 - 60


def test_scale_degree_histogram_is_transposition_invariant():
    a = win([(0, 4, 60), (4, 4, 62), (8, 4, 64), (12, 4, 65), (16, 4, 67), (20, 4, 67)])
    b = win([(0, 4, 63), (4, 4, 65), (8, 4, 67), (12, 4, 68), (16, 4, 70), (20, 4, 70)])  # up a minor third
    h = scale_degree_histogram(pitch_class_counts(dec(a, b)))
    np.testing.assert_allclose(h[0], h[1])
    assert h[0][0] == pytest.approx(1 / 6)  # C is the tonic (degree 0), 1 of 6 notes


def test_groove_consistency():
    # onset patterns: bar 0 {0, 4}, bar 1 {0, 4}, bar 2 {0, 8}, bar 3 {} (a note held from bar 2).
    # Hamming distances 0, 2, 2 -> mean 4/3 -> 1 - (4/3) / 16 = 1 - 1/12
    w = win([(0, 4, 60), (4, 4, 62), (16, 4, 60), (20, 4, 62), (32, 8, 60), (40, 24, 62)])
    assert groove_consistency(dec(w), 16)[0] == pytest.approx(1 - 1 / 12)


def test_harte_matrix_values():
    phi = harte_matrix()
    # C (l = 0): [0, 1, 0, 1, 0, 0.5]; G (l = 7): 49 pi/6 = 8 pi + pi/6, 21 pi/2 = 10 pi + pi/2, 14 pi/3 = 4 pi + 2 pi/3
    np.testing.assert_allclose(phi[:, 0], [0, 1, 0, 1, 0, 0.5], atol=1e-12)
    np.testing.assert_allclose(phi[:, 7], [0.5, math.sqrt(3) / 2, 1, 0, math.sqrt(3) / 4, -0.25], atol=1e-12)


def test_tonal_distance_by_beat():
    # beat 0: soprano G4, alto C4 -> |zeta_G - zeta_C| = sqrt(0.25 + (1 - sqrt3/2)^2 + 1 + 1 + 3/16 + 0.5625)
    # beat 1: soprano C5, alto C4 -> same class, 0.  beat 2: alto alone -> not counted.  Mean of the two beats.
    w = win([(0, 4, 67), (4, 4, 72)], [(0, 12, 60)])
    d_gc = math.sqrt(0.25 + (1 - math.sqrt(3) / 2) ** 2 + 1 + 1 + 3 / 16 + 0.5625)  # 1.737225
    assert tonal_distance(dec(w), 4)[0] == pytest.approx(d_gc / 2)
    assert math.isnan(tonal_distance(dec(win([(0, 8, 60)])), 4)[0])  # one voice: undefined


def test_parallel_fifths_and_octaves():
    # slices 0, 4, 8, 12, 16.  S: G4 A4 B4 C5 D5; A: C4 D4 (held through 8) C4 D4.
    # 0->4: both up 2, fifth -> fifth: parallel.  4->8: alto holds (oblique, not counted).
    # 8->12: S up 1, A down 2 (contrary), 9th -> octave: counted, not parallel.
    # 12->16: both up 2, octave -> octave: parallel.  2 of 3 motions.
    w = win([(0, 4, 67), (4, 4, 69), (8, 4, 71), (12, 4, 72), (16, 4, 74)],
            [(0, 4, 60), (4, 8, 62), (12, 4, 60), (16, 4, 62)])
    assert parallel_fifths_octaves_rate(dec(w))[0] == pytest.approx(2 / 3)
    # contrary fifths (G4/C4 -> D5/G3: both move, opposite directions) are not parallel
    c = win([(0, 4, 67), (4, 4, 74)], [(0, 4, 60), (4, 4, 55)])  # S up 7, A down 5: fifth -> 19 semitones (fifth)
    assert parallel_fifths_octaves_rate(dec(c))[0] == 0.0


def test_voice_crossing():
    # S C4 at 0..8, A E4 at 4..12: both sound at 4..7 with S below A -> 4 crossing cells;
    # T at 10..14 (D3) under A (8..12 still E4): both sound at 10, 11, no crossing.  4 of 6.
    w = win([(0, 8, 60)], [(4, 8, 64)], [(10, 4, 50)])
    assert voice_crossing_rate(dec(w))[0] == pytest.approx(4 / 6)


def test_length_and_ioi_histograms_and_intervals():
    # lengths 1, 4, 4, 6, 20 steps = 1/4, 1, 1, 1.5, 5 quarters -> classes 16th, quarter x2, <=dotted q, >whole
    w = win([(0, 1, 60), (1, 4, 64), (5, 4, 62), (9, 6, 60), (40, 20, 60)])
    d = dec(w)
    h = length_histogram(d.note_dur, d.note_win, 1, 4)[0]
    np.testing.assert_allclose(h, [0.2, 0, 0, 0.4, 0.2, 0, 0, 0, 0.2])
    # successive intervals 4, 2, 2, 0 -> mean 2
    assert mean_interval(d)[0] == pytest.approx(2.0)
    # IOIs per voice: soprano 0, 4, 12 -> 4, 8; alto 0, 2 -> 2.  Mean in quarters (1 + 2 + 0.5) / 3 = 7/6
    w2 = win([(0, 4, 60), (4, 8, 64), (12, 4, 62)], [(0, 2, 70), (2, 2, 67)])
    desc = compute_descriptors(dec(w2), DescriptorConfig(4), ("s", "a", "t", "b"))
    assert desc.scalars["mean_ioi"][0] == pytest.approx(7 / 6)
    assert desc.scalars["mean_interval"][0] == pytest.approx((4 + 2 + 3) / 3)
    assert desc.scalars["note_count"][0] == 5 and desc.scalars["pitch_count"][0] == 5


def test_onset_slots_are_sets():
    # S and A start C4 together (a unison: one point), T starts G3 -> two points at step 0
    w = win([(0, 4, 60)], [(0, 4, 60)], [(0, 4, 55)])
    s = onset_pitch_slots(dec(w))
    assert sorted(x for x in s[0, 0] if x != NO_PITCH) == [55, 60]


def test_vectorised_equals_one_by_one_and_vector_shape():
    rng = np.random.default_rng(0)
    ws = []
    for _ in range(6):
        voices = []
        for v in range(V):
            t, notes = 0, []
            while t < T:
                d = int(rng.choice([1, 2, 4, 8]))
                if rng.random() < 0.8:
                    notes.append((t, d, int(rng.integers(50 + 5 * v, 70 + 5 * v))))
                t += d
            voices.append(notes)
        ws.append(win(*voices))
    cfg = DescriptorConfig(4)
    roles = ("s", "a", "t", "b")
    together = compute_descriptors(dec(*ws), cfg, roles)
    for i, w in enumerate(ws):
        alone = compute_descriptors(dec(w), cfg, roles)
        for k, v in together.scalars.items():
            np.testing.assert_allclose(v[i], alone.scalars[k][0], err_msg=k)
    x = descriptor_vectors(together)
    assert x.shape == (6, len(vector_names(together)))
