"""experiments/note_choice_entropy.py: the entropy of the choice of note and the real note's NLL, by hand."""

import math
import sys

import pytest
import torch

sys.path.insert(0, "experiments")
from note_choice_entropy import note_choice_figures  # noqa: E402  (experiments/ is a folder of scripts)


def test_entropy_and_nll_among_the_pitches_where_a_note_starts():
    # tokens REST, HOLD, then pitches 0.3, 0.1 and 0.0: given a note, [0.75, 0.25, 0]. Position 0 starts the first
    # pitch (token 2), position 1 holds (left out, whatever its logits say)
    row = [math.log(0.2), math.log(0.4), math.log(0.3), math.log(0.1), -math.inf]
    logits = torch.tensor([[[row, [0.0, 5.0, 0.0, 0.0, 0.0]]]])  # [1, 1, 2, 5]
    tokens = torch.tensor([[[2, 1]]])
    entropy, nll = note_choice_figures(logits, tokens, 1.0)
    assert entropy == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), abs=1e-6)
    assert nll == pytest.approx(-math.log(0.75), abs=1e-6)
    # at 0.5 the pitches go as p^2: [0.9, 0.1]
    entropy, nll = note_choice_figures(logits, tokens, 0.5)
    assert entropy == pytest.approx(-(0.9 * math.log(0.9) + 0.1 * math.log(0.1)), abs=1e-6)
    assert nll == pytest.approx(-math.log(0.9), abs=1e-6)
