"""The one recipe for a piece's random draws. Piece (seed, index) draws, from its own generator seeded by
``piece_seed(seed, index)`` and in this order: its latent (models with one), a uniform for its style, a uniform for
its meter (models of data with several meters), its Gumbel sampling noise, and a uniform for its key
(key-normalised models). Every command, the studio and the
ablation draw through ``draw_piece``, so the same (seed, index) is the same music everywhere and whatever else is
generated in the batch.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..data.keys import SHIFTS
from ..errors import UserError

MAX_PIECES = 10_000  # per call; more is almost surely a typo (and would take minutes)


def piece_seed(seed: int, index: int = 0) -> int:
    """A 63-bit seed for piece ``index`` of a run started with ``seed``; (s, 0) is what ``--seeds s`` uses."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0] & (2**63 - 1))


def seed_pairs(seeds) -> list[tuple[int, int]]:
    """(seed, index) pairs from ints (s means (s, 0)) or pairs."""
    return [tuple(s) if isinstance(s, (tuple, list)) else (int(s), 0) for s in seeds]


def check_request(pairs: list, style: str | None, names: list[str], temperature: float,
                  truncation: float | None = None) -> None:
    """The bounds every sampler enforces, with the same one-line messages."""
    if not pairs:
        raise UserError("no seeds to generate from")
    if len(pairs) > MAX_PIECES:
        raise UserError(f"{len(pairs)} pieces requested; at most {MAX_PIECES} per call")
    if not 0.05 <= temperature <= 10:
        raise UserError(f"temperature must lie in 0.05..10 (got {temperature})")
    if truncation is not None and not 0.05 <= truncation <= 10:
        raise UserError(f"truncation must lie in 0.05..10 (got {truncation})")
    if style is not None and style not in names:
        raise UserError(f"unknown style {style!r}; this model knows {', '.join(names)}")


def draw_index(u: float, shares) -> int:
    """Index drawn by ``shares`` (any non-negative weights) from a uniform ``u`` in [0, 1)."""
    shares = np.asarray(shares, dtype=np.float64)
    return int(min(np.searchsorted(np.cumsum(shares), u * shares.sum()), len(shares) - 1))


def draw_style(u: float, style: str | None, names: list[str], shares) -> int:
    """The requested style's index, or one drawn by the training data's shares from a uniform ``u``."""
    return names.index(style) if style is not None else draw_index(u, shares)


def meter_names(manifest: dict) -> list[str]:
    """The meters a model knows, most common first; [] for a model from data without a meter per window."""
    return list(manifest.get("meter_names", ()))


def known_meters(manifest: dict) -> list[str]:
    """The meters a model writes in, most common first: for a model from data without a meter per window, the
    first meter its data kept (4/4)."""
    return meter_names(manifest) or list(manifest.get("meters", ("4/4",)))[:1]


def check_meter(meter: str | None, style: str | None, manifest: dict) -> None:
    """One clear line for a meter the model never saw, or one the requested style never uses."""
    if meter is None:
        return
    names = known_meters(manifest)
    if meter not in names:
        raise UserError(f"this model never saw meter {meter}; it knows {', '.join(names)}")
    if style is not None and "meter_shares" in manifest:
        shares = manifest["meter_shares"][manifest["style_names"].index(style)]
        if shares[names.index(meter)] == 0:
            used = [m for m, x in zip(names, shares) if x > 0]
            raise UserError(f"style {style} never uses meter {meter} in this model's data; it uses {', '.join(used)}")


def draw_meter(u: float, meter: str | None, style: int, manifest: dict) -> int:
    """The requested meter's index, or one drawn by the style's meter shares in the training data."""
    names = meter_names(manifest)
    if meter is not None:
        return names.index(meter)
    return draw_index(u, manifest["meter_shares"][style])


def home_shift(manifest: dict, style: int, u: float) -> int:
    """Semitones a key-normalised model's window of ``style`` is moved by, drawn by the data's own key
    distribution of that style (data/keys.py, stored in the model's data summary); 0 for a model trained in all
    keys."""
    shares = manifest.get("key_home_shares")
    return 0 if shares is None else int(SHIFTS[draw_index(u, shares[style])])


def truncated_normal(n: int, truncation: float | None, rng: torch.Generator) -> torch.Tensor:
    """N(0, 1) latents; with a truncation T, entries beyond |T| are redrawn (the truncation trick)."""
    z = torch.randn(n, generator=rng)
    if truncation is None:
        return z
    for _ in range(1000):
        bad = z.abs() > truncation
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=rng)
    return z.clamp(-truncation, truncation)


def gumbel_noise(shape: tuple[int, ...], rng: torch.Generator) -> torch.Tensor:
    """Standard Gumbel noise: argmax(logits + noise) is a draw from softmax(logits)."""
    u = torch.rand(shape, generator=rng).clamp_(1e-9, 1 - 1e-9)
    return u.log_().neg_().log_().neg_()  # -log(-log(u)) in place: the same numbers, no temporaries


@dataclass(frozen=True)
class DrawSpec:
    """What a model needs drawn for one piece."""

    latent_dim: int  # 0: no latent is drawn
    noise_shape: tuple[int, int, int]  # (V, T, K) Gumbel noise per voice, step and token
    names: list[str]  # style names
    shares: list[float]  # the training data's style shares (unrequested styles are drawn by them)
    manifest: dict  # the model's data summary (key distribution of key-normalised models)


@dataclass(frozen=True)
class PieceDraw:
    z: torch.Tensor | None  # [Z] latent, None for a model without one
    style: int  # style index
    meter: int  # meter index (0 for a model of data without meters)
    noise: torch.Tensor  # [V, T, K] Gumbel noise
    home: int  # semitones the piece is moved by (key-normalised models; 0 otherwise)
    mode: int = 0  # 0 major, 1 minor (a model conditioned on mode; 0 otherwise)


def draw_piece(spec: DrawSpec, seed: int, index: int, style: str | None = None,
               truncation: float | None = None, meter: str | None = None) -> PieceDraw:
    rng = torch.Generator().manual_seed(piece_seed(seed, index))
    z = truncated_normal(spec.latent_dim, truncation, rng) if spec.latent_dim else None
    s = draw_style(float(torch.rand(1, generator=rng)), style, spec.names, spec.shares)
    # only a model with several meters draws one, so older models' pieces keep their draws
    m = draw_meter(float(torch.rand(1, generator=rng)), meter, s, spec.manifest) if len(
        meter_names(spec.manifest)) > 1 else 0
    noise = gumbel_noise(spec.noise_shape, rng)
    home = home_shift(spec.manifest, s, float(torch.rand(1, generator=rng)))
    # drawn last and only by a model conditioned on mode, so every other model's pieces keep their draws
    shares = spec.manifest.get("mode_shares")
    mode = draw_index(float(torch.rand(1, generator=rng)), shares[s]) if shares else 0
    return PieceDraw(z, s, m, noise, home, mode)
