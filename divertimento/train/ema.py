"""Exponential moving average of G's weights (Karras et al.; stylegan2-ada's ema_kimg)."""

import copy

import torch


def ema_beta(batch_size: int, ema_kimg: float) -> float:
    """Per-step decay giving a half-life of ``ema_kimg`` thousand windows: beta = 0.5 ** (batch / (kimg * 1000))."""
    return 0.5 ** (batch_size / (ema_kimg * 1000)) if ema_kimg > 0 else 0.0


def make_ema(G: torch.nn.Module) -> torch.nn.Module:
    ema = copy.deepcopy(G).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: torch.nn.Module, G: torch.nn.Module, beta: float) -> None:
    for pe, p in zip(ema.parameters(), G.parameters()):
        pe.lerp_(p.detach(), 1 - beta)
    for be, b in zip(ema.buffers(), G.buffers()):
        be.copy_(b)
