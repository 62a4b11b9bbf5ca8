"""Style-balanced batches (config ``style_balance``): the window weights give each style the share worked out by
hand, the sampler draws those shares, and 0 keeps the plain uniform draw (old runs resume to the same batches)."""

import numpy as np
import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.train.batches import BatchSampler, window_weights


def test_window_weights_give_each_style_its_hand_worked_share():
    style = np.array([0, 0, 0, 1])  # three windows of style 0, one of style 1
    share = lambda w: w[:3].sum() / w.sum()  # noqa: E731
    assert share(window_weights(style, 1.0)).item() == pytest.approx(0.5)  # every style alike
    # balance 0.5: 3 * 3^-0.5 / (3 * 3^-0.5 + 1) = sqrt(3) / (sqrt(3) + 1)
    assert share(window_weights(style, 0.5)).item() == pytest.approx(1.7320508 / 2.7320508)
    assert share(window_weights(style, 0.0)).item() == pytest.approx(0.75)  # as many as it has windows


def test_a_balanced_sampler_draws_the_styles_evenly(small_data):
    from divertimento.data.dataset import load_prepared

    data = load_prepared(small_data)
    style = data.splits["train"]["style"].astype(np.int64)
    counts = np.bincount(style)
    assert counts.min() < 0.7 * counts.max()  # the fixture's styles are uneven, or the test would prove nothing
    sampler = BatchSampler(data, 400, False, torch.Generator().manual_seed(0), style_balance=1.0)
    style_of = {int(c): int(s) for c, s in zip(sampler.style, style)}  # a condition label holds one style
    drawn = np.array([style_of[int(c)] for _ in range(10) for c in sampler()[1]])
    shares = np.bincount(drawn, minlength=len(counts)) / len(drawn)
    # 4,000 draws: each share's standard error is below 0.008, so 0.04 is five of them
    assert np.abs(shares - 1 / len(counts)).max() < 0.04


def test_no_balance_keeps_the_uniform_draw(small_data):
    from divertimento.data.dataset import load_prepared

    data = load_prepared(small_data)
    plain = BatchSampler(data, 16, True, torch.Generator().manual_seed(3))
    assert plain.weights is None
    _, cond = plain()
    idx = torch.randint(len(plain.tokens), (16,), generator=torch.Generator().manual_seed(3))
    assert torch.equal(cond, plain.style[idx])  # the same stream as before style_balance existed


def test_style_balance_out_of_range_is_refused():
    with pytest.raises(UserError, match="style_balance must lie in"):
        config_from_dict({"family": "mle", "style_balance": 1.5}).validate()
