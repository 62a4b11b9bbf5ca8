"""Variational auto-encoder baseline (Kingma & Welling 2014) whose decoder is the GAN's Generator.

q(z | x, s) = N(mu(x, s), diag exp(logvar(x, s))) from an encoder over the one-hot window; p(z) = N(0, I);
p(x | z, s) = prod over voices v and steps t of Categorical(x_vt; softmax(G(z, s)_vt)). Per window, in nats:

    ELBO(x) = E_q[log p(x | z, s)] - KL(q(z | x, s) || p(z))
    recon   = -log p(x | z, s) at one reparameterised z = mu + exp(logvar / 2) * eps   (a 1-sample estimate)
    kl      = 1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)
    loss    = recon + beta * kl     (beta = kl_weight, ramped from 0 over kl_warmup steps; beta = 1 is the ELBO)

Samples draw z ~ N(0, I) and each token from the decoder's categorical, exactly as the GAN's generate_tokens
draws a GAN sample (Gumbel-max with per-piece noise), so VAE and GAN samples go through one sampling path.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..models.discriminator import VOICE_EMBED, pitch_class_map
from ..models.generator import Generator


def gaussian_kl_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag e^logvar) || N(0, I)) per row: 1/2 sum_j (mu_j^2 + e^logvar_j - 1 - logvar_j). [B, Z] -> [B]."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=-1)


def gaussian_kl(mu1: torch.Tensor, logvar1: torch.Tensor, mu2: torch.Tensor, logvar2: torch.Tensor) -> torch.Tensor:
    """KL(N(mu1, diag e^logvar1) || N(mu2, diag e^logvar2)) per row, summed over the last axis:
    1/2 sum_j (logvar2_j - logvar1_j + (e^logvar1_j + (mu1_j - mu2_j)^2) / e^logvar2_j - 1)."""
    return 0.5 * (logvar2 - logvar1 + (logvar1.exp() + (mu1 - mu2).pow(2)) / logvar2.exp() - 1).sum(dim=-1)


def categorical_nll(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """-log p(tokens) per window in nats, summed over voices and steps: logits [B, V, T, K], tokens [B, V, T] -> [B]."""
    logp = torch.log_softmax(logits, dim=-1)
    return -logp.gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1).flatten(1).sum(dim=1)


def kl_weight_at(step: int, kl_weight: float, warmup: int) -> float:
    """beta at optimiser step ``step`` (0-based): kl_weight * min(1, (step + 1) / warmup); kl_weight when warmup = 0."""
    if warmup <= 0:
        return kl_weight
    return kl_weight * min(1.0, (step + 1) / warmup)


class Encoder(nn.Module):
    """One-hot window [B, V, T, K] (+ style) -> (mu, logvar) [B, Z]. Reads the window like the discriminator does:
    per-voice learned token embeddings and onset pitch classes, then strided convs down to one value per bar."""

    def __init__(
        self,
        n_voices: int,  # V
        vocab_size: int,  # K
        n_steps: int = 64,  # T, a multiple of 16
        z_dim: int = 128,  # latent size
        n_styles: int = 1,  # style labels; the encoder is conditional when there are several and conditional=True
        style_dim: int = 32,  # style embedding size
        channels: int = 256,  # width at the bar resolution
        conditional: bool = True,
        pitch_low: int = 0,  # MIDI pitch of the first pitch token, for the pitch-class features
    ):
        super().__init__()
        self.conditional = conditional and n_styles > 1
        self.register_buffer("pc_map", pitch_class_map(vocab_size, pitch_low), persistent=False)
        self.embed = nn.Conv1d(n_voices * vocab_size, n_voices * VOICE_EMBED, kernel_size=1, groups=n_voices)
        widths = [n_voices * (VOICE_EMBED + 12), max(channels // 2, 32), max(channels // 2, 32), channels, channels]
        layers = []
        for i in range(4):  # 64 -> 32 -> 16 -> 8 -> 4 steps (one value per bar)
            layers += [nn.Conv1d(widths[i], widths[i + 1], kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        self.downs = nn.Sequential(*layers)
        self.style = nn.Embedding(n_styles, style_dim) if self.conditional else None
        flat = channels * (n_steps // 16) + (style_dim if self.conditional else 0)
        self.fc = nn.Linear(flat, channels)
        self.out = nn.Linear(channels, 2 * z_dim)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, one_hot: torch.Tensor, style: torch.Tensor | None = None):
        B, V, T, K = one_hot.shape
        chroma = (one_hot @ self.pc_map).transpose(2, 3).reshape(B, V * 12, T)  # [B, V*12, T]
        h = self.act(self.embed(one_hot.transpose(2, 3).reshape(B, V * K, T)))  # [B, V*E, T]
        h = self.downs(torch.cat([h, chroma], dim=1)).flatten(1)  # [B, C * bars]
        if self.style is not None:
            h = torch.cat([h, self.style(style)], dim=1)
        mu, logvar = self.out(self.act(self.fc(h))).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)  # keeps exp(logvar) finite early in training


class VAE(nn.Module):
    """Encoder + the GAN's Generator as decoder; ``decoder`` is what the model file stores."""

    def __init__(self, encoder: Encoder, decoder: Generator):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def elbo_terms(self, tokens: torch.Tensor, style: torch.Tensor, generator: torch.Generator | None = None):
        """(recon [B], kl [B]) in nats per window for int tokens [B, V, T]; one reparameterised z per window."""
        one_hot = F.one_hot(tokens.long(), self.decoder.vocab_size).float()
        mu, logvar = self.encoder(one_hot, style)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        z = mu + (0.5 * logvar).exp() * eps
        logits = self.decoder(z, style)
        return categorical_nll(logits, tokens), gaussian_kl_standard(mu, logvar)
