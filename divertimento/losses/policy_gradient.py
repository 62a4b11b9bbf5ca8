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
