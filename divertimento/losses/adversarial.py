"""Adversarial objectives, written on D's raw scores (logits), in a registry by name.

With D(x) = sigmoid(score): log D = -softplus(-score) and log(1 - D) = -softplus(score).
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import UserError


@dataclass(frozen=True)
class Objective:
    name: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (real scores, fake scores) -> mean loss
    g_loss: Callable[[torch.Tensor], torch.Tensor]  # fake scores -> mean loss
    needs_gradient_penalty: bool = False


OBJECTIVES: dict[str, Objective] = {}


def register(obj: Objective) -> Objective:
    OBJECTIVES[obj.name] = obj
    return obj


# The seed's objective min_G max_D E[log D(x)] + E[log(1 - D(G(z)))], D side; G uses the non-saturating
# -log D(G(z)) (Goodfellow et al. 2014, sec. 3), which has strong gradients early in training.
register(Objective(
    "nonsat",
    d_loss=lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
    g_loss=lambda f: F.softplus(-f).mean(),
))
# The literal minimax G loss, E[log(1 - D(G(z)))]: kept to show why nobody trains with it (it saturates).
register(Objective(
    "minimax",
    d_loss=lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
    g_loss=lambda f: -F.softplus(f).mean(),
))
# Hinge (Lim & Ye 2017; Miyato et al. 2018): L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], L_G = -E[D(G(z))].
register(Objective(
    "hinge",
    d_loss=lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(),
    g_loss=lambda f: -f.mean(),
))
# WGAN-GP (Gulrajani et al. 2017): L_D = E[D(G(z))] - E[D(x)] + lambda * GP, L_G = -E[D(G(z))].
register(Objective(
    "wgan-gp",
    d_loss=lambda r, f: f.mean() - r.mean(),
    g_loss=lambda f: -f.mean(),
    needs_gradient_penalty=True,
))


def objective(name: str) -> Objective:
    if name not in OBJECTIVES:
        raise UserError(f"loss {name!r} unknown; choose one of {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name]


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, style, eps: torch.Tensor) -> torch.Tensor:
    """E[(||grad D(x_hat)||_2 - 1)^2] at x_hat = eps * real + (1 - eps) * fake, one eps per sample."""
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    scores = D(x_hat, style)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(D, real: torch.Tensor, style) -> torch.Tensor:
    """E[||grad_x D(x)||^2] on real data (Mescheder et al. 2018); the caller scales by gamma / 2."""
    x = real.detach().requires_grad_(True)
    scores = D(x, style)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def mode_seeking_ratio(out1: torch.Tensor, out2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """MSGAN (Mao et al. 2019): d(G(z1), G(z2)) / mean|z1 - z2| per pair, averaged over pairs.

    Outputs are per-step categorical distributions [B, ..., K]; their distance is the L1 distance of the
    distributions (summed over the K tokens, so 2 = completely different tokens) averaged over steps and voices.
    A plain mean over K would shrink the ratio by 1/K and let the 1/ratio term swamp the adversarial loss."""
    num = (out1 - out2).abs().sum(dim=-1).flatten(1).mean(dim=1)
    den = (z1 - z2).abs().flatten(1).mean(dim=1)
    return (num / den).mean()
