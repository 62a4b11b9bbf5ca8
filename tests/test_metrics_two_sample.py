"""The classifier two-sample test on sets whose separability is known by construction."""

import numpy as np
import pytest

from divertimento.metrics.two_sample import classifier_two_sample


def test_two_sample_accuracy_on_known_sets():
    g = np.random.default_rng(1)
    real, gen = g.normal(size=(800, 5)), g.normal(size=(600, 5))
    # the same distribution: no classifier does better than a coin on unseen windows
    assert 0.44 <= classifier_two_sample(real, gen) <= 0.56
    # one descriptor moved by 10 standard deviations: always told apart
    moved = gen.copy()
    moved[:, 2] += 10
    assert classifier_two_sample(real, moved) >= 0.99
    # one descriptor folded to |x|: the real windows with x < 0 (half of them) give themselves away, the rest look
    # alike, so the best possible accuracy is (1 + 0.5) / 2 = 0.75 and a mean-only test would see a shift only
    folded = gen.copy()
    folded[:, 0] = np.abs(folded[:, 0])
    assert classifier_two_sample(real, folded) == pytest.approx(0.75, abs=0.05)
    assert np.isnan(classifier_two_sample(real[:5], gen))
