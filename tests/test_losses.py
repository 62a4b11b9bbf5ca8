"""Loss maths on tiny tensors against values computed by hand."""

import math

import pytest
import torch

from divertimento.losses.adversarial import OBJECTIVES, gradient_penalty, mode_seeking_ratio, r1_penalty

R = torch.tensor([2.0, -1.0])  # D's scores on two real samples
F = torch.tensor([0.5, -3.0])  # and on two fakes


def sp(x):  # softplus by hand
    return math.log1p(math.exp(x))


def test_nonsaturating_matches_the_seed_objective():
    # L_D = mean(-log sigmoid(r)) + mean(-log(1 - sigmoid(f)))
    want_d = (sp(-2.0) + sp(1.0)) / 2 + (sp(0.5) + sp(-3.0)) / 2
    assert OBJECTIVES["nonsat"].d_loss(R, F).item() == pytest.approx(want_d, rel=1e-6)
    # L_G = mean(-log sigmoid(f)) = (softplus(-0.5) + softplus(3)) / 2
    assert OBJECTIVES["nonsat"].g_loss(F).item() == pytest.approx((sp(-0.5) + sp(3.0)) / 2, rel=1e-6)
    # the literal minimax G loss is E[log(1 - sigmoid(f))]
    want = (math.log(1 - 1 / (1 + math.exp(-0.5))) + math.log(1 - 1 / (1 + math.exp(3.0)))) / 2
    assert OBJECTIVES["minimax"].g_loss(F).item() == pytest.approx(want, rel=1e-6)


def test_hinge():
    # D: mean(max(0, 1 - r)) + mean(max(0, 1 + f)) = (0 + 2)/2 + (1.5 + 0)/2 = 1.75; G: -mean(f) = 1.25
    assert OBJECTIVES["hinge"].d_loss(R, F).item() == pytest.approx(1.75)
    assert OBJECTIVES["hinge"].g_loss(F).item() == pytest.approx(1.25)


def test_wgan():
    # D: mean(f) - mean(r) = -1.25 - 0.5 = -1.75; G: 1.25
    assert OBJECTIVES["wgan-gp"].d_loss(R, F).item() == pytest.approx(-1.75)
    assert OBJECTIVES["wgan-gp"].g_loss(F).item() == pytest.approx(1.25)


class Linear(torch.nn.Module):
    """D(x) = sum(w * x): its input gradient is w everywhere, so penalties are known in closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x, style=None):
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_and_r1_closed_form():
    D = Linear(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5
    real, fake = torch.zeros(3, 1, 2), torch.ones(3, 1, 2)
    eps = torch.rand(3, 1, 1)
    assert gradient_penalty(D, real, fake, None, eps).item() == pytest.approx((5 - 1) ** 2)
    assert r1_penalty(D, real, None).item() == pytest.approx(25.0)


def test_mode_seeking_ratio_by_hand():
    # two pairs, 2 steps, K = 2; pair 1: one step fully different (L1 = 2), one equal -> mean 1.0; z L1 mean 0.5
    # pair 2: identical outputs -> 0; z distance 2.0.  ratios 2.0 and 0.0 -> mean 1.0
    o1 = torch.tensor([[[1.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [0.0, 1.0]]])
    o2 = torch.tensor([[[0.0, 1.0], [0.5, 0.5]], [[1.0, 0.0], [0.0, 1.0]]])
    z1 = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    z2 = torch.tensor([[1.0, 0.0], [2.0, -2.0]])
    assert mode_seeking_ratio(o1, o2, z1, z2).item() == pytest.approx(1.0)
