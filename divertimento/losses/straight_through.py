"""The adversarial term of a sequence model's fine-tuning, by the straight-through Gumbel-softmax estimator
(Jang, Gu and Poole 2017; Transformer-GAN, Muhamed et al. 2021, fine-tunes a music model with it).

The model drew token x at each position as argmax(l + g) (its logits l, Gumbel noise g). The critic reads the
window as one-hots y whose value is exactly one_hot(x) and whose gradient is that of the relaxed sample
softmax((l + g) / tau):

    y = one_hot(x) + s - stop_gradient(s),   s = softmax((l + g) / tau)

so d critic / d l = (1 / tau) (diag(s) - s s^T) d critic / d y at every position: each token's distribution moves
towards the alternatives the critic's first-order view prefers, a signal for every token and every alternative
where REINFORCE's has one number per window. It is biased (the critic is linearised around the drawn window, and
positions are credited as if the tokens before them had been given) and low in variance: the trade ScratchGAN
avoided and Transformer-GAN took.

Anchored as the policy gradient is, by a KL penalty to the starting model, here exact at every position of the
sample rather than estimated from its log-ratio: sum over positions of KL(p_theta(.|past) || p_ref(.|past)).
"""

import torch


def straight_through_one_hot(tokens: torch.Tensor, logits: torch.Tensor, noise: torch.Tensor,
                             tau: float) -> torch.Tensor:
    """[..., K] one-hots of ``tokens`` [...] (the draws argmax(logits + noise)), carrying the gradient of
    softmax((logits + noise) / tau) to ``logits`` [..., K]."""
    soft = torch.softmax((logits + noise) / tau, dim=-1)
    hard = torch.zeros_like(soft).scatter_(-1, tokens.long().unsqueeze(-1), 1.0)
    return hard + (soft - soft.detach())  # exactly 0 added: (hard + soft) - soft would round the ones


def position_kl(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """[B] the sum over every position of a window [B, ..., K] of KL(softmax(logits) || softmax(ref_logits)):
    the drift of each token's distribution from the starting model's, given the same past."""
    logp, logr = torch.log_softmax(logits, dim=-1), torch.log_softmax(ref_logits, dim=-1)
    return (logp.exp() * (logp - logr)).sum(dim=-1).flatten(1).sum(dim=1)


def straight_through_terms(critic_logit: torch.Tensor, kl_per_window: torch.Tensor,
                           kl: float) -> tuple[torch.Tensor, dict]:
    """The model's adversarial loss (mean over the batch, nats per window): minus the critic's calibrated logit of
    its samples [B] (its estimate of log p_data / p_theta, which the model raises) plus ``kl`` times the drift from
    the start [B]; and the terms to log."""
    loss = -critic_logit.mean() + kl * kl_per_window.mean()
    return loss, {"ADV/critic_logit": critic_logit.mean().item(), "ADV/kl_to_start": kl_per_window.mean().item(),
                  "ADV/surrogate": loss.item()}


def charge_score_term(logp: torch.Tensor, charge: torch.Tensor) -> torch.Tensor:
    """The loss (mean over the batch, nats per window) whose gradient is the score-function estimate of the
    gradient of E[charge], from each window's log-probability under the model [B] (with gradient) and its charge
    [B]: a charge on what the sample's tokens are (a voice silent for a bar) has no gradient through the one-hots,
    so it reaches the model as REINFORCE's reward does, less the batch mean as baseline."""
    advantage = (charge - charge.mean()).detach()
    return (advantage * logp).mean()


def annealed_tau(tau: float, tau_final: float, step: int, steps: int) -> float:
    """The Gumbel-softmax temperature at ``step`` of ``steps``: from ``tau`` to ``tau_final`` geometrically
    (Transformer-GAN's 1 / 100^(i / N) runs from 1 to 0.01), or ``tau`` throughout when ``tau_final`` is 0."""
    if tau_final <= 0 or steps <= 1:
        return tau
    return tau * (tau_final / tau) ** (step / (steps - 1))
