"""A model's samples as an evaluated set: the same decode path as real music (``metrics.sets.from_tokens``)."""

import numpy as np

from ..metrics.sets import WindowSet, from_tokens
from ..models.low_precision import use_bfloat16
from .sampler import Sampler


def sample_window_set(sampler: Sampler, n: int, seed: int = 0, style: str | None = None,
                      truncation: float | None = None, temperature: float | None = None,
                      options: dict | None = None, low_precision: bool = False) -> WindowSet:
    """n windows, pieces (seed + i, 0) for i < n, as ``generate --seeds`` draws them; ``temperature`` None = the
    model file's recommendation, as in ``generate``; ``low_precision``: bfloat16 products (``generate_tokens``)."""
    tokens, styles = sampler.generate_tokens(list(range(seed, seed + n)), style=style, truncation=truncation,
                                             temperature=temperature, options=options, low_precision=low_precision)
    names = sampler.style_names
    labels = np.asarray([names.index(s) for s in styles], dtype=np.int16)
    label = f"{sampler.path}"
    if truncation is not None:
        label += f" (truncation {truncation})"
    if temperature is not None:
        label += f" (temperature {temperature})"
    for k, v in (options or {}).items():
        label += f" ({k} {v})"
    if low_precision:  # what the draws were made with, where the CPU has no bfloat16 units to honour the request
        label += " (bfloat16)" if use_bfloat16(True) else " (bfloat16 asked; float32 on this CPU)"
    m = sampler.manifest
    return from_tokens(tokens, sampler.low, int(m["steps_per_quarter"]), tuple(m["roles"]), label, labels, names)
