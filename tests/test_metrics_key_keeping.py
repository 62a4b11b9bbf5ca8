"""metrics.key_keeping on hand-worked windows."""

import numpy as np
import pytest

from divertimento.metrics.key_keeping import key_keeping_figures, key_kept, pitch_class_counts


def _window(pitch_classes: list[int]) -> np.ndarray:
    """One voice, one onset per step, around middle C (absolute tokens: 2 + pitch)."""
    return np.array([[[2 + 60 + pc for pc in pitch_classes]]], dtype=np.uint8)


def test_pitch_classes_are_counted_from_onsets_only():
    w = _window([0, 4, 7, 0])
    w[0, 0, 1] = 1  # HOLD: the C goes on sounding, no onset
    assert pitch_class_counts(w, 0, 4)[0].tolist() == [2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_a_window_that_leaves_its_key_keeps_less_of_it_than_its_own_scale_holds():
    # first half C E G C: C major, F major and G major all hold it, and the suite's scale order puts C major
    # first; second half F# A D C#: in C major only A and D (2 of 4), in its own D major all 4
    got = key_kept(_window([0, 4, 7, 0, 6, 9, 2, 1]))
    assert got["kept"] == pytest.approx(0.5) and got["own"] == pytest.approx(1.0)
    assert got["key_drift"] == pytest.approx(0.5)


def test_the_figure_averages_windows_and_leaves_out_a_silent_half():
    stays = _window([0, 2, 4, 5, 7, 9, 11, 0])  # C major throughout: drift 0
    leaves = _window([0, 4, 7, 0, 6, 9, 2, 1])  # drift 0.5, above
    half_silent = np.zeros((1, 1, 8), dtype=np.uint8)
    half_silent[0, 0, :4] = [62, 66, 69, 62]
    assert key_keeping_figures(np.concatenate([stays, leaves, half_silent])) == {"key_drift": pytest.approx(0.25)}
    assert np.isnan(key_kept(half_silent)["key_drift"])
