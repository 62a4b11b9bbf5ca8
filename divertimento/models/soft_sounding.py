"""What sounds, read from one-hots with a gradient: the sounding critic's inputs (``sounding_critic``) as products
of the windows' one-hots, so that a straight-through estimator's gradient reaches the notes a voice holds and the
intervals between voices, not only the tokens as written.

Read at their most likely token, as before round 22, those inputs passed no gradient at all: a harmony critic's
judgement reached the model through the token embeddings alone, and straight-through through the sounding critic
pointed along the true gradient at cosine 0.13-0.37 in the four-voice styles (0.86-0.91 through a token critic;
docs/adversarial.md, round 22). On exact one-hots every product here gives exactly the looked-up feature; on soft
ones it is its expectation, each voice independent:

- the sounding distribution s_t = y_t (less its HOLD) + y_t[HOLD] * s_(t-1), s_(-1) = REST: a note started, or
  the one held from before;
- the interval class c of a pair: sum over j of pc_upper[(j + c) % 12] * pc_lower[j], pc a voice's pitch-class
  distribution, and "one of the two silent" the rest of the mass.
"""

import torch

from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST


def soft_sounding(windows: torch.Tensor) -> torch.Tensor:
    """[B, V, T, K] the distribution of the token each voice sounds at each step (a pitch token, or REST), from
    one-hots [B, V, T, K]; ``sounding_tokens``' one-hots on exact one-hots, and no mass on HOLD."""
    hold = windows[..., HOLD]  # [B, V, T]
    started = windows.clone()
    started[..., HOLD] = 0.0
    state = torch.zeros_like(windows[:, :, 0])
    state[..., REST] = 1.0  # a HOLD with nothing before it in the window sounds nothing
    steps = []
    for t in range(windows.shape[2]):
        state = started[:, :, t] + hold[:, :, t, None] * state
        steps.append(state)
    return torch.stack(steps, dim=2)


def pitch_classes(vocab_size: int) -> torch.Tensor:
    """[K, 12] token k's pitch class relative to the lowest pitch token (a one-hot row), zero rows for REST and
    HOLD: the interval between two voices' pitches modulo 12 is that of their relative classes."""
    table = torch.zeros(vocab_size, 12)
    k = torch.arange(FIRST_PITCH_TOKEN, vocab_size)
    table[k, (k - FIRST_PITCH_TOKEN) % 12] = 1.0
    return table


def soft_pair_intervals(sounding: torch.Tensor, upper: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """[B, P, T, 13] each pair's interval-class distribution (upper's pitch minus lower's, modulo 12; class 12 where
    either voice is silent) from sounding distributions [B, V, T, K]: ``pair_intervals``' one-hots on exact ones."""
    pc = sounding @ pitch_classes(sounding.shape[-1]).to(sounding.dtype)  # [B, V, T, 12]
    up, low = pc[:, upper], pc[:, lower]  # [B, P, T, 12]
    shifted = (torch.arange(12).view(1, 12) + torch.arange(12).view(12, 1)) % 12  # [c, j] = (j + c) % 12
    classes = (up[..., shifted] * low.unsqueeze(-2)).sum(dim=-1)  # [B, P, T, 12]
    silent = 1.0 - classes.sum(dim=-1, keepdim=True)
    return torch.cat([classes, silent], dim=-1)
