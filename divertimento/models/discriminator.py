"""Style-conditional discriminator over one-hot token windows, with a projection head (Miyato & Koyama 2018)."""

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .blocks import MinibatchStd


class Discriminator(nn.Module):
    def __init__(
        self,
        n_voices: int,  # V
        vocab_size: int,  # K
        n_steps: int = 64,  # T
        n_styles: int = 1,  # style labels for the projection term
        channels: int = 256,  # width at the coarsest resolution; the first layers are narrower
        conditional: bool = True,  # False: no projection term, D ignores styles
        mbstd_group: int = 4,  # minibatch-std group size; 0 turns the layer off
        pack: int = 1,  # PacGAN: D judges this many samples at once (all real or all fake); 1 = off
        use_spectral_norm: bool = False,  # spectral normalisation of every conv/linear weight
    ):
        super().__init__()
        self.n_voices, self.vocab_size, self.n_steps, self.pack = n_voices, vocab_size, n_steps, pack
        self.conditional = conditional and n_styles > 1
        sn = spectral_norm if use_spectral_norm else (lambda m: m)
        widths = [max(channels // 4, 32), max(channels // 2, 64), max(channels // 2, 64), channels, channels]
        # 1x1 embedding of each step's V one-hot tokens: pitch and voice identity mixed before any time conv
        self.embed = sn(nn.Conv1d(pack * n_voices * vocab_size, widths[0], kernel_size=1))
        downs = []
        for i in range(4):  # 64 -> 32 -> 16 -> 8 -> 4 steps (one value per bar)
            downs += [sn(nn.Conv1d(widths[i], widths[i + 1], kernel_size=4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        self.downs = nn.Sequential(*downs)
        self.mbstd = MinibatchStd(mbstd_group)
        extra = 1 if mbstd_group > 0 else 0
        final_len = n_steps // 16
        self.fc = sn(nn.Linear((widths[-1] + extra) * final_len, channels))
        self.out = sn(nn.Linear(channels, 1))
        self.style = sn(nn.Embedding(n_styles, channels)) if self.conditional else None
        self.act = nn.LeakyReLU(0.2)

    def forward(self, one_hot: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Scores [B / pack] for one-hot windows [B, V, T, K]; higher means 'real'."""
        B = len(one_hot)
        x = one_hot.transpose(2, 3).reshape(B // self.pack, self.pack * self.n_voices * self.vocab_size, self.n_steps)
        h = self.downs(self.act(self.embed(x)))  # [B/pack, C, T/16]
        h = self.mbstd(h)
        h = self.act(self.fc(h.flatten(1)))  # [B/pack, C]
        score = self.out(h).squeeze(1)
        if self.conditional and style is not None:
            e = self.style(style).reshape(B // self.pack, self.pack, -1).mean(dim=1)  # a pack shares its styles' mean
            score = score + (e * h).sum(dim=1)
        return score
