"""Learning-rate schedule of the sampled model's optimiser, the same in every family."""

import math

from ..config import TrainConfig


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of update ``step`` (0-based): a cosine from ``lr`` at the first update to ``lr * lr_final``
    at update ``lr_decay_steps`` - 1 (the run's last when 0), then flat; constant when ``lr_final`` = 1."""
    horizon = cfg.lr_decay_steps or cfg.steps
    if cfg.lr_final == 1.0 or horizon <= 1:
        return cfg.lr
    progress = min(step / (horizon - 1), 1.0)
    return cfg.lr * (cfg.lr_final + (1 - cfg.lr_final) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
