"""The adversarial term of a sequence model's fine-tuning, by policy gradient (REINFORCE with a baseline).

A window x drawn from the model p_theta earns the reward

    R(x) = s(x) - kl * (log p_theta(x) - log p_ref(x))

where s(x) is the critic's logit (its estimate of log p_data(x) / p_theta(x)) and the second term charges the
drift from the starting model p_ref (a KL penalty: its expectation under p_theta is KL(p_theta || p_ref)). The
surrogate loss -(R - b) * log p_theta(x), with R detached and b the batch mean of R, has the policy gradient of
E[R] as its gradient (Williams 1992); the baseline lowers its variance without biasing it. Without the penalty the
maximiser of E[s] is p_data itself when s is exact; with it, p_ref * exp(s / kl), the residual energy-based form
of Deng et al. 2020.
"""

import torch


def reinforce_terms(logp: torch.Tensor, logp_ref: torch.Tensor, critic_logit: torch.Tensor,
                    kl: float) -> tuple[torch.Tensor, dict]:
    """Surrogate loss (mean over the batch, nats per window) and its terms, from per-window log-probabilities
    under the model [B] (with gradient) and the reference [B], and the critic's logits [B]."""
    drift = (logp - logp_ref).detach()
    reward = critic_logit.detach() - kl * drift
    advantage = reward - reward.mean()
    loss = -(advantage * logp).mean()
    return loss, {"ADV/reward": reward.mean().item(), "ADV/critic_logit": critic_logit.mean().item(),
                  "ADV/kl_to_start": drift.mean().item(), "ADV/surrogate": loss.item()}


def mode_weighted_reward(reward: torch.Tensor, mode_term: torch.Tensor, weight: float) -> torch.Tensor:
    """A window's reward [B] whose critic logit already holds ``mode_term`` [B] (a mode critic's projection term,
    calibrated) once, with that term counted ``weight`` times instead: 0 leaves the rest of the judgement alone."""
    return reward + (weight - 1.0) * mode_term


def discounted_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """G_t = r_t + gamma * G_(t+1) along the last axis of ``rewards`` [B, T]."""
    out = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in range(rewards.shape[1] - 1, -1, -1):
        running = rewards[:, t] + gamma * running
        out[:, t] = running
    return out


def dense_reinforce_terms(logp: torch.Tensor, logp_ref: torch.Tensor, prefix_logits: torch.Tensor, kl: float,
                          gamma: float = 1.0, terminal: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """The policy gradient with a reward at every step, from a critic that judges every prefix (a causal critic's
    logits ell_t, its estimate of log p_data(x_<=t) / p_theta(x_<=t)). Inputs are per step [B, T]: the model's
    log-probability of the step's tokens (with gradient), the reference's, and ell.

    Step t earns r_t = (ell_t - ell_(t-1)) - kl * (log p_theta - log p_ref)(step t), with ell_(-1) = 0, and is
    credited with its discounted return G_t = sum over s >= t of gamma^(s-t) r_s, less the batch mean of G_t at that
    step. With gamma = 1, G_t = ell_T - ell_(t-1) - kl * (the drift from t on): the window's reward of
    ``reinforce_terms`` less ell_(t-1), which does not depend on step t's tokens, so the expected gradient is the
    same and its variance lower (the critic's opinion of the prefix acts as a baseline). gamma < 1 credits a step
    mostly with what the critic thought right after it: lower variance again, at the cost of a bias.

    ``terminal`` [B]: a second judgement of the whole window (a window critic's logit), credited in full to every
    step, undiscounted: what only the whole window shows (its key) is decided from the first notes on."""
    drift = (logp - logp_ref).detach()
    ell = prefix_logits.detach()
    gain = ell - torch.cat([torch.zeros_like(ell[:, :1]), ell[:, :-1]], dim=1)
    reward = gain - kl * drift
    returns = discounted_returns(reward, gamma)
    if terminal is not None:
        returns = returns + terminal.detach()[:, None]
    advantage = returns - returns.mean(dim=0, keepdim=True)
    loss = -(advantage * logp).sum(dim=1).mean()
    terms = {"ADV/reward": reward.sum(dim=1).mean().item(), "ADV/critic_logit": ell[:, -1].mean().item(),
             "ADV/kl_to_start": drift.sum(dim=1).mean().item(), "ADV/surrogate": loss.item()}
    if terminal is not None:
        terms |= {"ADV/reward": terms["ADV/reward"] + terminal.mean().item(),
                  "ADV/window_logit": terminal.mean().item()}
    return loss, terms
