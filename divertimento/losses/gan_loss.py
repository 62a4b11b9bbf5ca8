"""The loss object, in the style of stylegan2-ada's training/loss.py: named phases (Gmain, Dmain, Dreg), every
term behind a weight where 0 means off, every term reported by name."""

import torch
import torch.nn.functional as F

from ..config import TrainConfig
from ..models.generator import gumbel_one_hot
from .adversarial import gradient_penalty, mode_seeking_ratio, objective, r1_penalty
from .likelihood import categorical_nll, gaussian_kl_standard


def one_hot_tokens(tokens: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """[B, V, T] int tokens -> [B, V, T, K] float one-hot, the form D reads."""
    return F.one_hot(tokens, vocab_size).float()


class GANLoss:
    def __init__(self, G, D, cfg: TrainConfig, vocab_size: int, generator: torch.Generator, E=None):
        self.G, self.D, self.E, self.cfg, self.vocab_size = G, D, E, cfg, vocab_size
        self.objective = objective(cfg.loss)
        self.rng = generator  # all noise (latents, Gumbel, GP mixing) comes from here, so resume is exact

    def sample_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.z_dim, generator=self.rng)

    def fake(self, z: torch.Tensor, style: torch.Tensor):
        logits = self.G(z, style)
        return logits, gumbel_one_hot(logits, self.cfg.gumbel_tau, self.rng)

    def gmain(self, style: torch.Tensor, real_tokens: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Generator loss: adversarial term plus, when ms_weight > 0, the mode-seeking term on pairs of latents
        sharing a style (the second half of the batch reuses the first half's styles), plus, when recon_weight > 0,
        the VAE-GAN ELBO of the real windows ``real_tokens`` (with their styles ``style``) through the encoder."""
        cfg, B = self.cfg, len(style)
        stats = {}
        recon_loss = None
        if cfg.recon_weight > 0:
            recon_loss = self.elbo(real_tokens, style, stats)
        if cfg.ms_weight > 0:
            style = torch.cat([style[: B // 2], style[: B // 2]])
        z = self.sample_z(B)
        logits, x = self.fake(z, style)
        adv = self.objective.g_loss(self.D(x, style))
        loss = adv
        stats["G/adv"] = adv.item()
        if cfg.ms_weight > 0:
            probs = torch.softmax(logits, dim=-1)
            ratio = mode_seeking_ratio(probs[: B // 2], probs[B // 2 :], z[: B // 2], z[B // 2 :])
            ms = cfg.ms_weight / (ratio + 1e-5)
            loss = loss + ms
            stats["G/ms_ratio"], stats["G/ms"] = ratio.item(), ms.item()
        if recon_loss is not None:
            loss = loss + cfg.recon_weight * recon_loss
        stats["G/loss"] = loss.item()
        return loss, stats

    def elbo(self, tokens: torch.Tensor, style: torch.Tensor, stats: dict) -> torch.Tensor:
        """Negative ELBO per token: (recon + KL(q(z|x) || N(0, I))) / (V * T), one reparameterised z per window."""
        mu, logvar = self.E(one_hot_tokens(tokens, self.vocab_size), style)
        z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=self.rng)
        recon = categorical_nll(self.G(z, style), tokens)  # [B] nats per window
        kl = gaussian_kl_standard(mu, logvar)  # [B]
        per_token = (recon + kl).mean() / tokens[0].numel()
        stats["G/recon_nats_per_token"] = (recon.mean() / tokens[0].numel()).item()
        stats["G/kl_nats"] = kl.mean().item()
        return per_token

    def dmain(self, real_tokens: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, dict]:
        cfg = self.cfg
        real = one_hot_tokens(real_tokens, self.vocab_size)
        with torch.no_grad():
            _, fake = self.fake(self.sample_z(len(style)), style)
        r, f = self.D(real, style), self.D(fake, style)
        adv = self.objective.d_loss(r, f)
        loss = adv
        stats = {"D/adv": adv.item(), "D/real_score": r.mean().item(), "D/fake_score": f.mean().item()}
        if self.objective.needs_gradient_penalty and cfg.gp_weight > 0:
            eps = torch.rand(len(real), 1, 1, 1, generator=self.rng)
            gp = gradient_penalty(self.D, real, fake, style, eps)
            loss = loss + cfg.gp_weight * gp
            stats["D/gp"] = gp.item()
        stats["D/loss"] = loss.item()
        return loss, stats

    def dreg(self, real_tokens: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Lazy R1 (Karras et al. 2020): (gamma / 2) * E||grad D(x)||^2, run every r1_interval steps and
        multiplied by the interval so its average strength does not depend on laziness."""
        r1 = r1_penalty(self.D, one_hot_tokens(real_tokens, self.vocab_size), style)
        loss = (self.cfg.r1_gamma / 2) * r1 * self.cfg.r1_interval
        return loss, {"D/r1": r1.item()}
