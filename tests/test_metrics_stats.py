"""Set-level statistics and novelty search on hand-computed fixtures."""

import math

import numpy as np
import pytest

from divertimento.metrics.copies import build_copy_index, copy_scores, longest_copied_ngram
from divertimento.metrics.decode import decode
from divertimento.metrics.standardize import Standardizer
from divertimento.metrics.stats import (
    frechet_distance,
    kde_pair,
    kl_divergence,
    kth_neighbour_distance,
    ndb_jsd,
    overlap_area,
    prdc,
)
from divertimento.music.roll import notes_to_tokens

T, V = 64, 4


def win(*voices):
    rows = []
    for v in range(V):
        notes = voices[v] if v < len(voices) else []
        arr = np.array([(s, d, p, 80) for s, d, p in notes], dtype=np.int32).reshape(-1, 4)
        rows.append(notes_to_tokens(arr, T, 0, 127))
    return np.stack(rows)


def test_prdc_by_hand_k1():
    # real 0, 1, 2, 3, 10: 1-NN radii 1, 1, 1, 1, 7.  fake 0.5, 2.5, 20: 1-NN radii 2, 2, 17.5.
    # precision: 0.5 (in ball of 0), 2.5 (ball of 2), 20 (10 away from 10 > 7: no) -> 2/3
    # density: 0.5 lies in the balls of 0 and 1; 2.5 in those of 2 and 3; 20 in none -> 4 / (1 * 3)
    # coverage: nearest fake of 0, 1, 2, 3 is 0.5 away (<= 1); of 10 it is 7.5 away (> 7) -> 4/5
    # recall: 0..3 lie within 2 of 0.5 or 2.5; 10 lies within 17.5 of 20 -> 5/5
    real = np.array([[0.0], [1], [2], [3], [10]])
    fake = np.array([[0.5], [2.5], [20]])
    np.testing.assert_allclose(kth_neighbour_distance(real, 1), [1, 1, 1, 1, 7])
    r = prdc(real, fake, k=1)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["density"] == pytest.approx(4 / 3)
    assert r["coverage"] == pytest.approx(0.8)
    assert r["recall"] == pytest.approx(1.0)


def test_prdc_identical_distributions_and_collapse():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(1000, 5)), rng.normal(size=(1000, 5))
    r = prdc(real, fake, k=5)
    assert 0.9 < r["coverage"] < 1.0 and 0.8 < r["density"] < 1.2
    collapsed = prdc(real, np.repeat(fake[:1], 1000, axis=0), k=5)
    assert collapsed["coverage"] < 0.05 and collapsed["recall"] < 0.05


def test_ndb_jsd_by_hand():
    # p = (.5, .3, .2), q = (.7, .1, .2), 100 each.
    # bin 1: pooled .6, se = sqrt(.6 * .4 * .02) = .0693, z = 2.89 -> different; bin 2: pooled .2, se = .0566,
    # z = 3.54 -> different; bin 3: z = 0.  NDB = 2, NDB/K = 2/3.
    # m = (.6, .2, .2); KL(p||m) = .5 log2(.5/.6) + .3 log2(1.5) = .043972; KL(q||m) = .7 log2(7/6) - .1 = .055675
    # JSD = (.043972 + .055675) / 2 = .049823
    r = ndb_jsd(np.array([50.0, 30, 20]), np.array([70.0, 10, 20]))
    assert r["ndb"] == 2 and r["ndb_ratio"] == pytest.approx(2 / 3)
    assert r["jsd"] == pytest.approx(0.049823, abs=1e-6)
    same = ndb_jsd(np.array([50.0, 30, 20]), np.array([45.0, 35, 20]))  # z = .71, .76, 0: none different
    assert same["ndb"] == 0


def test_frechet_1d_by_hand():
    # x = (0, 2): mean 1, var 2; y = (1, 5): mean 3, var 8 -> (1-3)^2 + 2 + 8 - 2 sqrt(2 * 8) = 4 + 10 - 8 = 6
    assert frechet_distance(np.array([[0.0], [2]]), np.array([[1.0], [5]])) == pytest.approx(6.0)
    x = np.random.default_rng(1).normal(size=(500, 3))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_kde_overlap_and_kl():
    from scipy.stats import gaussian_kde, norm

    a = norm.ppf((np.arange(2000) + 0.5) / 2000)  # evenly spread unit-normal sample (no sampling noise)
    b = a + 0.5
    grid, pa, pb = kde_pair(a, b)
    # matches scipy's exact Gaussian KDE on the grid (ours bins the samples onto the grid first)
    np.testing.assert_allclose(pa, gaussian_kde(a)(grid), atol=2e-3)
    # a KDE with bandwidth h is the sample's normal widened to variance s^2 = 1 + h^2; two of them half a unit
    # apart overlap by 2 Phi(-0.25 / s) and KL = 0.5^2 / (2 s^2) nats
    h = 2000 ** (-1 / 5) * np.std(a, ddof=1)
    s2 = np.var(a) + h * h
    assert overlap_area(pa, pb, grid) == pytest.approx(2 * norm.cdf(-0.25 / math.sqrt(s2)), abs=0.005)
    assert kl_divergence(pa, pb, grid) == pytest.approx(0.25 / (2 * s2), abs=0.005)
    grid, pa, pc = kde_pair(a, a + 100)
    assert overlap_area(pa, pc, grid) < 1e-3
    grid, p1, p2 = kde_pair(np.zeros(50), np.zeros(50))  # no spread: spikes, still a density
    assert overlap_area(p1, p2, grid) == pytest.approx(1.0)


def _index(*windows, ngrams=False):
    d = decode(np.stack(windows))
    return build_copy_index(d, 4, ngrams=ngrams)


def test_copy_score_transposed_near_copy_by_hand():
    # generated G: (0,60) (4,62) (8,64) (12,65) + bass (0,48): 5 points
    # training R1: G's first four points a tone lower + (8, 30): 5 points. Under t = +2: 4 points match -> 4/5
    # training R2: unrelated.  Score 0.8 reaches the copy threshold, best training window R1, t = +2.
    g = win([(0, 4, 60), (4, 4, 62), (8, 4, 64), (12, 4, 65)], [], [], [(0, 16, 48)])
    r1 = win([(0, 4, 58), (4, 4, 60), (8, 4, 62), (12, 4, 63)], [], [], [(8, 4, 30)])
    r2 = win([(0, 8, 70), (8, 8, 71)], [(0, 16, 55)])
    best, idx, t = copy_scores(_index(g), _index(r2, r1))
    assert best[0] == pytest.approx(0.8) and idx[0] == 1 and t[0] == 2


def test_copy_score_needs_both_directions():
    # a one-note generated window inside a 10-note training window: 1 / max(1, 10) = 0.1, not a copy
    g = win([(0, 4, 60)])
    r = win([(4 * i, 4, 60 + i) for i in range(10)])
    best, _, _ = copy_scores(_index(g), _index(r))
    assert best[0] == pytest.approx(0.1)
    # and the reverse: a dense window holding all 4 notes of a training window plus 12 more: 4 / 16
    r4 = win([(0, 4, 60), (4, 4, 62), (8, 4, 64), (12, 4, 65)])
    dense = win([(0, 4, 60), (4, 4, 62), (8, 4, 64), (12, 4, 65)], [(4 * i, 4, 50 + i) for i in range(12)])
    best, _, _ = copy_scores(_index(dense), _index(r4))
    assert best[0] == pytest.approx(4 / 16)


def test_near_copies_are_found_among_many():
    rng = np.random.default_rng(3)

    def random_window():
        voices = []
        for v in range(V):
            t, notes = 0, []
            while t < T:
                d = int(rng.choice([2, 4, 4, 8]))
                notes.append((t, d, int(rng.integers(48 + 6 * (3 - v), 62 + 6 * (3 - v)))))
                t += d
            voices.append(notes)
        return win(*voices)

    train = [random_window() for _ in range(300)]
    gens, sources = [], []
    for _ in range(40):
        src = int(rng.integers(300))
        w = train[src].astype(np.int16) + 0
        pitch = w >= 2
        w[pitch] += int(rng.integers(-5, 6))  # transpose
        on = np.argwhere(pitch)
        for v, s in on[rng.choice(len(on), int(0.1 * len(on)), replace=False)]:  # change 10 % of the notes
            w[v, s] += 1
        gens.append(w.astype(np.uint8))
        sources.append(src)
    best, idx, _ = copy_scores(_index(*gens), _index(*train))
    assert (best >= 0.8).all()
    assert (idx == np.array(sources)).mean() >= 0.95
    fresh = [random_window() for _ in range(20)]
    best, _, _ = copy_scores(_index(*fresh), _index(*train))
    assert (best < 0.8).all()


def test_longest_copied_ngram_by_hand():
    # training soprano: C D E F G in quarters (transitions +2 +2 +1 +2, all ioi 4, length 4)
    # generated soprano: D3 E3 F#3 G3 then C4: the first four notes are the training's first four a minor
    # seventh lower (+2 +2 +1 match), then +5 occurs nowhere in training -> 4 notes.
    # generated alto: a single note -> 1.  A window without notes -> 0.
    train = win([(0, 4, 60), (4, 4, 62), (8, 4, 64), (12, 4, 65), (16, 4, 67)])
    gen = win([(0, 4, 50), (4, 4, 52), (8, 4, 54), (12, 4, 55), (16, 4, 60)], [(0, 4, 40)])
    single = win([(0, 4, 40)])
    empty = win()
    idx = _index(train, ngrams=True)
    out = longest_copied_ngram(decode(np.stack([gen, single, empty])), idx.ngrams)
    assert out.tolist() == [4, 1, 0]
    # rhythm matters: the same pitches in eighths share no transition with the quarter-note line
    eighths = win([(0, 2, 50), (2, 2, 52), (4, 2, 54), (6, 2, 55)])
    assert longest_copied_ngram(decode(eighths[None]), idx.ngrams).tolist() == [1]


def test_adjusted_shares_undo_a_known_confusion():
    from divertimento.metrics.share_correction import adjusted_shares
    from divertimento.metrics.style_classifier import confusion_matrix

    # true a/b = 3/7; the classifier calls 20 % of a "b" and 10 % of b "a":
    # votes for a = 0.8 * 0.3 + 0.1 * 0.7 = 0.31, for b = 0.2 * 0.3 + 0.9 * 0.7 = 0.69
    C = np.array([[0.8, 0.2], [0.1, 0.9]])
    assert adjusted_shares([0.31, 0.69], C) == pytest.approx([0.3, 0.7], abs=1e-4)
    # votes no true mix can produce (all a) go to the nearest one: everything a
    assert adjusted_shares([1.0, 0.0], C) == pytest.approx([1.0, 0.0], abs=1e-4)
    # counted by hand: true 0,0,0,1,1 predicted 0,1,0,1,1; class 2 has no windows -> identity row
    M = confusion_matrix(np.array([0, 0, 0, 1, 1]), np.array([0, 1, 0, 1, 1]), 3)
    assert np.allclose(M, [[2 / 3, 1 / 3, 0], [0, 1, 0], [0, 0, 1]])


def test_standardizer_by_hand_with_an_undefined_value_and_a_constant_dimension():
    real = np.array([[0.0, np.nan, 5.0], [2.0, 4.0, 5.0], [4.0, 8.0, 5.0]])
    other = np.array([[2.0, np.nan, 7.0], [6.0, 2.0, 5.0]])
    units = Standardizer.fit(real)
    # dimension 0: mean 2, sd sqrt(8/3); dimension 1 (NaN left out): mean 6, sd 2; dimension 2 constant: scale 1
    sd0 = np.sqrt(8 / 3)
    np.testing.assert_allclose(units.transform(real), [[-2 / sd0, 0.0, 0.0], [0.0, -1.0, 0.0], [2 / sd0, 1.0, 0.0]])
    np.testing.assert_allclose(units.transform(other), [[0.0, 0.0, 2.0], [4 / sd0, -2.0, 0.0]])
