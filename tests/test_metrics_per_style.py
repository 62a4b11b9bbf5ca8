"""The per-style figures of the adversarial protocol on sets whose answers are known by construction."""

import math

import numpy as np

from divertimento.metrics.per_style import FIGURES, style_figures


def test_the_same_set_is_perfect_and_a_distant_one_is_told_apart():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 3))
    same = style_figures(real, real.copy(), seed=1)
    assert same["precision"] == 1.0 and same["recall"] == 1.0 and same["coverage"] == 1.0
    assert abs(same["fdd"]) < 1e-6
    far = style_figures(real, real + 100.0, seed=1)
    assert far["precision"] == 0.0 and far["recall"] == 0.0 and far["coverage"] == 0.0
    assert far["fdd"] > 3 * 100.0**2 * 0.99  # ||mu_x - mu_y||^2 = 3 * 100^2, the covariances equal
    assert far["two_sample"] == 1.0


def test_sets_are_cut_to_equal_size_and_too_few_windows_give_nan():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(30, 2))
    # 25 generated points, 20 of them real ones and 5 far away: after cutting both sides to 25, precision counts
    # the share of generated points inside some real point's k-NN ball: exactly 20 / 25
    gen = np.concatenate([real[:20], rng.normal(size=(5, 2)) + 50.0])
    fig = style_figures(real, gen, seed=2)
    assert fig["precision"] == 20 / 25
    tiny = style_figures(real, gen[:5], seed=0)
    assert set(tiny) == set(FIGURES) and all(math.isnan(v) for v in tiny.values())
