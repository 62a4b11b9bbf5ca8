"""experiments/strain_fronts.py: the best of a front at a level of window quality, and the claim's rule, on points
written by hand."""

import sys

sys.path.insert(0, "experiments")
from strain_fronts import best_at, claim  # noqa: E402  (experiments/ is a folder of scripts)


def point(t: float, two_sample: float, accuracy: float, spread: float, two_sample_spread: float = 0.0) -> dict:
    return {"t": t, "window_two_sample_mean": two_sample, "window_two_sample_spread": two_sample_spread,
            "accuracy_mean": accuracy, "accuracy_spread": spread}


# a likelihood front whose lowest temperature has the most real strains but the least real windows
LIKELIHOOD = [point(0.6, 0.68, 0.65, 0.02), point(0.85, 0.57, 0.69, 0.03), point(1.0, 0.59, 0.70, 0.01)]


def test_the_best_of_the_front_counts_only_points_with_windows_at_least_as_real():
    assert best_at(LIKELIHOOD, 0.60, "window_two_sample")["t"] == 0.85  # 0.6's windows (0.68) are less real
    assert best_at(LIKELIHOOD, 0.70, "window_two_sample")["t"] == 0.6  # all three count: the lowest accuracy
    assert best_at(LIKELIHOOD, 0.56, "window_two_sample") is None


def test_a_point_is_above_only_by_more_than_the_larger_spread():
    rows = {"critic": [point(1.0, 0.58, 0.62, 0.02, 0.01), point(0.85, 0.575, 0.67, 0.04, 0.01),
                       point(0.6, 0.55, 0.60, 0.01)], "likelihood": LIKELIHOOD}
    lines = claim(rows, "critic", "likelihood")
    # at 0.58 (+ slack 0.01): the likelihood's 0.85 and 1.0 count, at best 0.69; 0.69 - 0.62 = 0.07 > 0.03: above
    assert lines[0].endswith("at best 0.690 (T 0.85): ahead by +0.070, spread 0.030 (above)")
    # 0.69 - 0.67 = 0.02 < 0.04: not above
    assert lines[1].endswith("ahead by +0.020, spread 0.040")
    # 0.55 + 0.01 is below every likelihood point's two-sample figure
    assert lines[2].endswith("windows more real than any of likelihood's")
