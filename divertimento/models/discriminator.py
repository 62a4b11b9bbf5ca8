"""Style-conditional discriminator over one-hot token windows, with a projection head (Miyato & Koyama 2018).

What D is shown, and why:
- each voice's tokens through its own learned embedding (a grouped 1x1 conv), so four voices x ~60 tokens are
  not squeezed through one narrow layer before D can compare them;
- each voice's onset pitch classes (a fixed octave-folding map), so intervals and harmony are easy to see;
- window statistics next to the learned features: the pitch-class histogram of all onsets (the key), and per
  voice the share of rests and of onsets (density). Out-of-key notes and stray notes are then one layer away
  from the score, and G gets a direct gradient against them.
"""

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST
from .blocks import MinibatchStd

VOICE_EMBED = 32  # learned features per voice and step


def pitch_class_map(vocab_size: int, low: int) -> torch.Tensor:
    """[K, 12] 0/1 matrix sending each pitch token to its pitch class; REST and HOLD map to nothing."""
    m = torch.zeros(vocab_size, 12)
    for token in range(FIRST_PITCH_TOKEN, vocab_size):
        m[token, (low + token - FIRST_PITCH_TOKEN) % 12] = 1
    return m


class Discriminator(nn.Module):
    def __init__(
        self,
        n_voices: int,  # V
        vocab_size: int,  # K
        n_steps: int = 64,  # T
        n_styles: int = 1,  # style labels for the projection term
        channels: int = 256,  # width at the coarsest resolution
        conditional: bool = True,  # False: no projection term, D ignores styles
        mbstd_group: int = 4,  # minibatch-std group size; 0 turns the layer off
        pack: int = 1,  # PacGAN: D judges this many samples at once (all real or all fake); 1 = off
        use_spectral_norm: bool = False,  # spectral normalisation of every conv/linear weight
        pitch_low: int = 0,  # MIDI pitch of the first pitch token, for the pitch-class map
    ):
        super().__init__()
        self.n_voices, self.vocab_size, self.n_steps, self.pack = n_voices, vocab_size, n_steps, pack
        self.conditional = conditional and n_styles > 1
        sn = spectral_norm if use_spectral_norm else (lambda m: m)
        self.register_buffer("pc_map", pitch_class_map(vocab_size, pitch_low), persistent=False)
        streams = pack * n_voices
        self.embed = sn(nn.Conv1d(streams * vocab_size, streams * VOICE_EMBED, kernel_size=1, groups=streams))
        c_in = streams * (VOICE_EMBED + 12)
        widths = [c_in, max(channels // 2, 64), max(channels // 2, 64), channels, channels]
        downs = []
        for i in range(4):  # 64 -> 32 -> 16 -> 8 -> 4 steps (one value per bar)
            downs += [sn(nn.Conv1d(widths[i], widths[i + 1], kernel_size=4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        self.downs = nn.Sequential(*downs)
        self.mbstd = MinibatchStd(mbstd_group)
        extra = 1 if mbstd_group > 0 else 0
        n_stats = pack * (12 + 2 * n_voices)
        self.fc = sn(nn.Linear((widths[-1] + extra) * (n_steps // 16) + n_stats, channels))
        self.out = sn(nn.Linear(channels, 1))
        self.style = sn(nn.Embedding(n_styles, channels)) if self.conditional else None
        self.act = nn.LeakyReLU(0.2)

    def window_stats(self, x: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
        """[B, 12 + 2V]: onset pitch-class histogram (normalised), per-voice rest share and onset share."""
        pcs = chroma.sum(dim=(1, 2))  # [B, 12]
        pcs = pcs / (pcs.sum(dim=1, keepdim=True) + 1e-6)
        rest = x[..., REST].mean(dim=2)  # [B, V]
        onsets = 1 - x[..., REST].mean(dim=2) - x[..., HOLD].mean(dim=2)  # [B, V]
        return torch.cat([pcs, rest, onsets], dim=1)

    def forward(self, one_hot: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Scores [B / pack] for one-hot windows [B, V, T, K]; higher means 'real'."""
        B, V, T, K = one_hot.shape
        P = self.pack
        chroma = one_hot @ self.pc_map  # [B, V, T, 12]
        stats = self.window_stats(one_hot, chroma).reshape(B // P, -1)  # a pack's stats side by side
        tokens = one_hot.transpose(2, 3).reshape(B // P, P * V * K, T)
        h = self.act(self.embed(tokens))  # [B/P, P*V*E, T]
        h = torch.cat([h, chroma.transpose(2, 3).reshape(B // P, P * V * 12, T)], dim=1)
        h = self.mbstd(self.downs(h))  # [B/P, C (+1), T/16]
        h = self.act(self.fc(torch.cat([h.flatten(1), stats], dim=1)))  # [B/P, C]
        score = self.out(h).squeeze(1)
        if self.conditional and style is not None:
            e = self.style(style).reshape(B // P, P, -1).mean(dim=1)  # a pack shares its styles' mean
            score = score + (e * h).sum(dim=1)
        return score
