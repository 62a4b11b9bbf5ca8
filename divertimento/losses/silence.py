"""A charge on a voice that falls silent for a bar or more where the style's real music almost never lets it.

Round 11's fine-tune against a harmony critic found the cheapest way to avoid wrong intervals: let the tenor fall
silent (its empty bars rose to 3 standard deviations above real chorales'), faster than the critic learned that
real chorales keep four voices. The charge closes that exploit in the reward, as the KL penalty closes drift: for
each (condition label, voice) whose real training windows have such a silence in under ``RARE`` of windows, a
sample window is charged ``charge`` per voice that does. Voices a style leaves silent (a melody style's
accompaniment) are never charged.
"""

import numpy as np
import torch

from ..models.sequence import sounding_tokens
from ..music.roll import REST

RARE = 0.02  # a silence this rare in the real windows of a (label, voice) is charged in the samples
MIN_WINDOWS = 20  # a label with fewer real windows has no reliable rate: never charged


def longest_silence(tokens: torch.Tensor) -> torch.Tensor:
    """[B, V] the longest run of steps in which each voice sounds nothing (``sounding_tokens`` is REST)."""
    silent = sounding_tokens(tokens) == REST
    t = torch.arange(tokens.shape[-1]).expand_as(tokens)
    last_sound = torch.where(silent, -1, t).cummax(dim=-1).values  # the last sounding step at or before t
    return torch.where(silent, t - last_sound, 0).amax(dim=-1)


def label_bar_steps(summary: dict) -> torch.Tensor:
    """[labels] the steps of a full bar of each condition label's meter (4 quarters without meters)."""
    bars = summary.get("meter_bar_steps") or [4 * summary["steps_per_quarter"]]  # label = style * meters + meter
    return torch.tensor(bars, dtype=torch.long).repeat(len(summary["style_names"]))


def rare_silences(tokens: np.ndarray, labels: torch.Tensor, summary: dict) -> torch.Tensor:
    """[labels, V] bool: where a bar of silence is charged, from the real windows ``tokens`` [N, V, T] and their
    condition labels [N]."""
    bars = label_bar_steps(summary)
    silent = silent_bars(torch.from_numpy(tokens.astype(np.int64)), labels, bars).float()  # [N, V]
    n_labels, voices = len(bars), tokens.shape[1]
    counts = torch.zeros(n_labels).index_add_(0, labels, torch.ones(len(labels)))
    hits = torch.zeros(n_labels, voices).index_add_(0, labels, silent)
    rate = hits / counts.clamp_min(1)[:, None]
    return (rate < RARE) & (counts >= MIN_WINDOWS)[:, None]


def silent_bars(tokens: torch.Tensor, labels: torch.Tensor, bars: torch.Tensor) -> torch.Tensor:
    """[B, V] bool: the voices of each window silent for a full bar of its label's meter or longer."""
    return longest_silence(tokens) >= bars[labels][:, None]


def silence_charges(tokens: torch.Tensor, labels: torch.Tensor, rare: torch.Tensor, bars: torch.Tensor,
                    charge: float) -> torch.Tensor:
    """[B] each sample window's charge: ``charge`` per voice silent for a bar where ``rare`` says real music is
    not."""
    return charge * (silent_bars(tokens, labels, bars) & rare[labels]).sum(dim=1).float()
