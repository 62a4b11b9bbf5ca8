"""Likelihood terms, in nats: the categorical NLL of token windows, Gaussian KLs, and the per-family training
terms of the likelihood families (mle: exact NLL by teacher forcing; vae: the ELBO). Each family's ``loss`` named
by term so the trainer logs every term.

    ELBO(x) = E_q[log p(x | z, s)] - KL(q(z | x, s) || p(z))
    recon   = -log p(x | z, s) at one reparameterised z = mu + exp(logvar / 2) * eps   (a 1-sample estimate)
    kl      = 1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)
    loss    = recon + beta * kl     (beta = kl_weight, ramped from 0 over kl_warmup steps; beta = 1 is the ELBO)
"""

import torch
import torch.nn.functional as F


def categorical_nll(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """-log p(tokens) per window in nats, summed over voices and steps: logits [B, V, T, K], tokens [B, V, T] -> [B]."""
    logp = torch.log_softmax(logits.float(), dim=-1)  # float32 sums even when the logits came from bfloat16 products
    return -logp.gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1).flatten(1).sum(dim=1)


def gaussian_kl_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag e^logvar) || N(0, I)) per row: 1/2 sum_j (mu_j^2 + e^logvar_j - 1 - logvar_j). [B, Z] -> [B]."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=-1)


def gaussian_kl(mu1: torch.Tensor, logvar1: torch.Tensor, mu2: torch.Tensor, logvar2: torch.Tensor) -> torch.Tensor:
    """KL(N(mu1, diag e^logvar1) || N(mu2, diag e^logvar2)) per row, summed over the last axis:
    1/2 sum_j (logvar2_j - logvar1_j + (e^logvar1_j + (mu1_j - mu2_j)^2) / e^logvar2_j - 1)."""
    return 0.5 * (logvar2 - logvar1 + (logvar1.exp() + (mu1 - mu2).pow(2)) / logvar2.exp() - 1).sum(dim=-1)


def kl_weight_at(step: int, kl_weight: float, warmup: int) -> float:
    """beta at optimiser step ``step`` (0-based): kl_weight * min(1, (step + 1) / warmup); kl_weight when warmup = 0."""
    if warmup <= 0:
        return kl_weight
    return kl_weight * min(1.0, (step + 1) / warmup)


def elbo_terms(vae, tokens: torch.Tensor, style: torch.Tensor, generator: torch.Generator | None = None):
    """(recon [B], kl [B]) in nats per window for int tokens [B, V, T]; one reparameterised z per window."""
    one_hot = F.one_hot(tokens.long(), vae.decoder.vocab_size).float()
    mu, logvar = vae.encoder(one_hot, style)
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    z = mu + (0.5 * logvar).exp() * eps
    return categorical_nll(vae.decoder(z, style), tokens), gaussian_kl_standard(mu, logvar)


def vae_loss(vae, cfg, step: int, tokens: torch.Tensor, style: torch.Tensor,
             rng: torch.Generator) -> tuple[torch.Tensor, dict]:
    """The VAE's step loss (mean negative beta-ELBO over the batch) and its terms in nats per window."""
    recon, kl = elbo_terms(vae, tokens, style, rng)
    beta = kl_weight_at(step, cfg.kl_weight, cfg.kl_warmup)
    loss = (recon + beta * kl).mean()
    elbo = -(recon + kl).mean().item()
    return loss, {"VAE/loss": loss.item(), "VAE/recon": recon.mean().item(), "VAE/kl": kl.mean().item(),
                  "VAE/beta": beta, "VAE/elbo": elbo, "VAE/nll_bound_per_token": -elbo / tokens[0].numel()}


def mle_loss(model, cfg, step: int, tokens: torch.Tensor, style: torch.Tensor,
             rng: torch.Generator) -> tuple[torch.Tensor, dict]:
    """The sequence model's step loss: the exact NLL by teacher forcing, nats per window (mean over the batch)."""
    loss = categorical_nll(model(tokens, style if model.conditional else None), tokens).mean()
    return loss, {"MLE/loss": loss.item(), "MLE/nll": loss.item(), "MLE/nll_per_token": loss.item() / tokens[0].numel()}


# The training loss of each likelihood family, by family name (the GAN trains by its own recipe).
LIKELIHOOD_LOSSES = {"vae": vae_loss, "mle": mle_loss}
