"""Pieces that begin with a pickup (anacrusis), as most of the data's tunes do: 81 % of the corpus's 6/8 pieces open
with an upbeat (mostly one eighth), about 70 % of those in 4/4 and 3/4 (mostly one beat).

A piece in its style's share of pickups (the data's ``pickups``, per style and opening meter) is drawn one bar
longer: its first window's first bar is drawn as the model draws any bar, and only its last ``pickup`` steps are
kept, as the upbeat into the next bar, where the piece proper (its form's first section) begins. The last bar is
cut to the rest of a bar (pickup + last bar = one bar, as a musician writes it). The model's windows begin on
barlines, so it never drew an upbeat alone; this way the upbeat is the end of a bar it did draw, leading into the
bar that follows it as it was drawn to.
"""

import numpy as np
import torch

from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST

PICKUP_USE = 8  # the rng path (rng_for(seed, index, PICKUP_USE)) of a piece's pickup draw


def draw_pickup(data: dict, style: str, meter: str, bar: int, rng: torch.Generator) -> int:
    """Steps of the pickup a piece of ``style`` in ``meter`` opens with, drawn by the data's shares (0: it opens on
    a downbeat). Pickup lengths of a whole bar or more, and data without pickup figures, give 0."""
    row = (data.get("pickups") or {}).get(style, {}).get(meter)
    u = float(torch.rand(1, generator=rng))
    if not row or row["pieces"] <= 0:
        return 0
    acc = 0.0
    for steps, count in sorted((int(k), v) for k, v in row["pickups"].items()):
        acc += count / row["pieces"]
        if u < acc:
            return steps if 0 < steps < bar else 0
    return 0


def with_pickup(first_bar: np.ndarray, body: np.ndarray, pickup: int) -> np.ndarray:
    """Tokens [V, pickup + len(body) - pickup]: the last ``pickup`` steps of ``first_bar`` [V, bar] (the bar drawn
    before ``body`` [V, n]), then ``body`` less its last ``pickup`` steps. A note held into the pickup from the part
    of the bar left out is struck where the pickup begins, so no note starts with a hold."""
    bar = first_bar.shape[1]
    head = first_bar[:, bar - pickup :].copy()
    for v in range(head.shape[0]):
        if head[v, 0] != HOLD:
            continue
        before = first_bar[v, : bar - pickup]
        struck = np.flatnonzero((before >= FIRST_PITCH_TOKEN) | (before == REST))
        head[v, 0] = before[struck[-1]] if len(struck) else REST
    return np.concatenate([head, body[:, : body.shape[1] - pickup]], axis=1)


def on_barlines(tokens: np.ndarray, pickup: int, bar: int) -> np.ndarray:
    """Tokens [V, T] of a piece that opens with a ``pickup`` laid out from a barline: the rest of the pickup's bar
    comes first, as silence, so bar k of the piece is steps k * bar .. (k + 1) * bar (what a check by bars reads)."""
    if not pickup:
        return tokens
    return np.concatenate([np.full((tokens.shape[0], bar - pickup), REST, dtype=tokens.dtype), tokens], axis=1)
