"""Variational auto-encoder (Kingma & Welling 2014) whose decoder is the GAN's Generator.

q(z | x, s) = N(mu(x, s), diag exp(logvar(x, s))) from an encoder over the one-hot window; p(z) = N(0, I);
p(x | z, s) = prod over voices v and steps t of Categorical(x_vt; softmax(G(z, s)_vt)). Its training terms (the
ELBO) live in ``losses/likelihood.py``. Samples draw z ~ N(0, I) and each token from the decoder's categorical,
exactly as a GAN sample is drawn, so VAE and GAN samples go through one sampling path.
"""

import torch
from torch import nn

from .discriminator import VOICE_EMBED, pitch_class_map
from .generator import Generator


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
