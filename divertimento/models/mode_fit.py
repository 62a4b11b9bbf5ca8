"""How well a window's notes fit the best major key and the best minor key: what a critic told the window's mode
compares the mode with (``SequenceCritic.add_modes``).

Round 14 found that a critic's own features hardly know the mode: a linear probe of the pooled features of the
fine-tune's critic told Bach's major training windows from its minor ones with accuracy 0.78, where always saying
"major" scores 0.74. So a critic told "minor" could not see that a sample in major is not what it was told. The
best-key correlations (Krumhansl-Kessler, as ``music.key.modes_of_counts`` reads a window's mode) are given to it
instead; what it makes of them is learnt, real windows against the model's samples. Counted as
``data.modes.onset_pitch_class_counts`` counts, here in torch, from int or one-hot windows.
"""

import torch

from ..music.key import key_profiles
from ..music.roll import FIRST_PITCH_TOKEN

MODE_FIT_WIDTH = 2  # (best major correlation, best minor correlation)


def pitch_class_counts(windows: torch.Tensor, low: int) -> torch.Tensor:
    """[B, 12] note onsets of each pitch class of int token windows [B, V, T] or one-hot windows [B, V, T, K]
    whose pitch tokens start at MIDI ``low``."""
    if windows.dtype.is_floating_point:
        K = windows.shape[-1]
        pitch_class = (low + torch.arange(K - FIRST_PITCH_TOKEN)) % 12
        per_token = windows[..., FIRST_PITCH_TOKEN:].sum(dim=(1, 2))  # [B, K - first]
        return torch.zeros(len(windows), 12, dtype=per_token.dtype).index_add_(1, pitch_class, per_token)
    tokens = windows.long()
    onset = tokens >= FIRST_PITCH_TOKEN
    pitch_class = torch.remainder(low + tokens - FIRST_PITCH_TOKEN, 12)
    return (torch.nn.functional.one_hot(pitch_class, 12) * onset.unsqueeze(-1)).sum(dim=(1, 2)).float()


def mode_fit(windows: torch.Tensor, low: int) -> torch.Tensor:
    """[B, 2] the correlation of each window's pitch-class counts with its best major key and its best minor key;
    zeros for a window without notes."""
    counts = pitch_class_counts(windows, low)
    x = counts - counts.mean(dim=1, keepdim=True)
    x = x / x.norm(dim=1, keepdim=True).clamp(min=1e-6)
    r = x @ torch.as_tensor(key_profiles(), dtype=x.dtype).T  # [B, 24]
    return torch.stack([r[:, :12].amax(dim=1), r[:, 12:].amax(dim=1)], dim=1)
