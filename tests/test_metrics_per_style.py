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


def test_precision_counts_generated_points_in_real_balls_and_too_few_windows_give_nan():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(25, 2))
    # 25 generated points (no cut: the sets are equal in size), 20 of them real points themselves (distance 0, inside
    # their own ball) and 5 at distance ~70 (outside every ball of unit-scale radius): precision is 20 / 25 exactly
    gen = np.concatenate([real[:20], rng.normal(size=(5, 2)) + 50.0])
    fig = style_figures(real, gen, seed=2)
    assert fig["precision"] == 20 / 25
    # with 40 real points the real side is cut to the 25 of the generated one: a cut can drop real points that
    # generated copies sit on, so precision can only fall, and stays above the far points' share
    more = np.concatenate([real, rng.normal(size=(15, 2))])
    cut = style_figures(more, gen, seed=2)
    assert 0 < cut["precision"] <= 20 / 25
    tiny = style_figures(real, gen[:5], seed=0)
    assert set(tiny) == set(FIGURES) and all(math.isnan(v) for v in tiny.values())
