"""Latent-level operations: draw z exactly as ``generate`` does, decode z with given Gumbel noise, move in z.

A studio piece is remembered by its latents, its style and the seed of its sampling noise, so that it can be
varied, continued, interpolated or used to steer personalised generation later."""

import numpy as np
import torch

from ..errors import UserError
from ..models.factory import STUDIO_MODEL
from ..sample.draw import draw_index, gumbel_noise, piece_seed
from ..sample.pieces import silence_unused_voices
from ..sample.sampler import Sampler, load_sampler

Pair = tuple[int, int]  # (run seed, piece index), the identity of a drawn piece


def load_studio_model(model: str | None) -> Sampler:
    """The studio's model: a shipped name or path (default STUDIO_MODEL); one clear line when it has no latent."""
    sampler = load_sampler(model or STUDIO_MODEL)
    sampler.G  # noqa: B018  (raises the one-line refusal for a model without a latent)
    return sampler


def style_index(bundle: Sampler, style: str | None, u: float = 0.0) -> int:
    """Index of ``style``; None draws one by the training data's shares from the uniform number ``u``."""
    names = bundle.style_names
    if style is None:
        return draw_index(u, bundle.style_shares)
    if style not in names:
        raise UserError(f"unknown style {style!r}; this model knows {', '.join(names)}")
    return names.index(style)


def draw(bundle: Sampler, pair: Pair, style: str | None = None,
         truncation: float | None = None) -> tuple[torch.Tensor, int, torch.Tensor]:
    """(z [Z], style index, Gumbel noise [V, T, K]) of a piece: the sampler's own draws, so the studio's piece
    (s, i) is the CLI's piece (s, i)."""
    bundle.G  # noqa: B018  (a latent model, or the clear error that this tool needs one)
    d = bundle.draw(*pair, style=style, truncation=truncation)
    return d.z, d.style, d.noise


def home(bundle: Sampler, pair: Pair, style: int, truncation: float | None = None) -> int:
    """The key a key-normalised model's piece ``pair`` is heard in (semitones from the white-key position), as
    the sampler draws it for that style; 0 for other models."""
    return bundle.draw(*pair, style=bundle.style_names[style], truncation=truncation).home


def noise_for(bundle: Sampler, pair: Pair, section: int = 0) -> torch.Tensor:
    """Gumbel noise [V, T, K] of a piece's section: section 0 is the piece's own (as drawn by ``draw``); other
    sections of a long form get their own, so different sections do not share their sampling choices."""
    if section == 0:
        return draw(bundle, pair)[2]
    rng = torch.Generator().manual_seed(piece_seed(piece_seed(*pair), section))
    G = bundle.G
    return gumbel_noise((G.n_voices, G.n_steps, G.vocab_size), rng)


def decode(bundle: Sampler, z: torch.Tensor, style: torch.Tensor | int, noise: torch.Tensor | None,
           temperature: float = 1.0, bias: torch.Tensor | None = None) -> np.ndarray:
    """Tokens [B, V, T] uint8 of latents [B, Z]: argmax of logits / temperature + Gumbel noise (the
    Gumbel-max trick, i.e. a sample at that temperature; no noise = the most likely token). ``bias`` [K] is
    added to the logits first (the stream's density control)."""
    z = z.reshape(-1, bundle.G.z_dim).float()
    s = torch.full((len(z),), style, dtype=torch.long) if isinstance(style, int) else style.long()
    with torch.no_grad():
        logits = bundle.G(z, s)  # [B, V, T, K]
        if bias is not None:
            logits = logits + bias
        logits = logits / temperature
        if noise is not None:
            logits = logits + noise
        tokens = logits.argmax(-1).numpy().astype(np.uint8)
    return silence_unused_voices(tokens, s.numpy(), bundle.manifest)


def mix(z: torch.Tensor, eps: torch.Tensor, distance: float) -> torch.Tensor:
    """A point at ``distance`` (0..1) from z toward independent noise eps, keeping the prior:
    z' = sqrt(1 - d^2) z + d eps is again N(0, I) when z and eps are. 0 = z itself, 1 = an unrelated latent;
    the cosine between z and z' is about sqrt(1 - d^2)."""
    if not 0.0 <= distance <= 1.0:
        raise UserError(f"distance must lie in 0..1 (got {distance})")
    return (1.0 - distance**2) ** 0.5 * z + distance * eps


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latents (White 2016, "Sampling generative networks"): it stays on the
    shell where Gaussian latents live, where a straight line would pass through the low-norm centre."""
    na, nb = a / a.norm().clamp_min(1e-8), b / b.norm().clamp_min(1e-8)
    omega = torch.arccos((na * nb).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    if float(omega) < 1e-4:
        return (1 - t) * a + t * b
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b
