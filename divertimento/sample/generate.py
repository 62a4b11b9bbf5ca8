"""Seeds -> token windows -> pieces. The same (seed, index) gives the same music, whatever else is generated."""

import numpy as np
import torch

from ..data.keys import SHIFTS, place_in_key
from ..errors import UserError
from ..music.layouts import get_layout
from ..music.notes import Piece, Track
from ..music.roll import REST, tokens_to_notes
from .model import GeneratorBundle, load_generator

# A voice that plays in fewer than this share of a style's training windows stays silent in that style (the
# style's instrumentation: a fiddle tune is one line), whatever the generator's logits say there.
MIN_VOICE_USE = 0.01
MAX_PIECES = 10_000  # per call; more is almost surely a typo (and would take minutes)

# How each style sounds when exported: (General MIDI program, tempo in quarters per minute).
STYLE_SOUND = {
    "bach": (19, 76), "palestrina": (52, 132), "folk-german": (0, 100), "folk-chinese": (73, 88),
    "irish": (73, 116), "fiddle": (40, 116), "folk": (0, 100),
}
DEFAULT_SOUND = (0, 100)

__all__ = ["load_generator", "generate_tokens", "tokens_to_piece", "piece_seed", "generate_pieces", "seed_pairs",
           "check_request", "draw_style", "draw_index", "home_shift", "silence_unused_voices"]


def piece_seed(seed: int, index: int = 0) -> int:
    """A 63-bit seed for piece ``index`` of a run started with ``seed``; (s, 0) is what ``--seeds s`` uses."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0] & (2**63 - 1))


def seed_pairs(seeds) -> list[tuple[int, int]]:
    """(seed, index) pairs from ints (s means (s, 0)) or pairs."""
    return [tuple(s) if isinstance(s, (tuple, list)) else (int(s), 0) for s in seeds]


def check_request(pairs: list, style: str | None, names: list[str], temperature: float) -> None:
    """The bounds every sampler enforces, with the same one-line messages."""
    if not pairs:
        raise UserError("no seeds to generate from")
    if len(pairs) > MAX_PIECES:
        raise UserError(f"{len(pairs)} pieces requested; at most {MAX_PIECES} per call")
    if not 0.05 <= temperature <= 10:
        raise UserError(f"temperature must lie in 0.05..10 (got {temperature})")
    if style is not None and style not in names:
        raise UserError(f"unknown style {style!r}; this model knows {', '.join(names)}")


def draw_index(u: float, shares) -> int:
    """Index drawn by ``shares`` (any non-negative weights) from a uniform ``u`` in [0, 1)."""
    shares = np.asarray(shares, dtype=np.float64)
    return int(min(np.searchsorted(np.cumsum(shares), u * shares.sum()), len(shares) - 1))


def draw_style(u: float, style: str | None, names: list[str], shares) -> int:
    """The requested style's index, or one drawn by the training data's shares from a uniform ``u``."""
    return names.index(style) if style is not None else draw_index(u, shares)


def home_shift(manifest: dict, style: int, u: float) -> int:
    """Semitones a key-normalised model's window of ``style`` is moved by, drawn by the data's own key
    distribution of that style (data/keys.py, stored in the model's data summary); 0 for a model trained in all
    keys."""
    shares = manifest.get("key_home_shares")
    return 0 if shares is None else int(SHIFTS[draw_index(u, shares[style])])


def silence_unused_voices(tokens: np.ndarray, styles, manifest: dict) -> np.ndarray:
    """Tokens [N, V, T] with REST in every voice its window's style (index per window) does not use in the
    training data (``voice_use`` of the model's data summary; models without one are left as they are)."""
    use = manifest.get("voice_use")
    if use is None:
        return tokens
    quiet = np.asarray(use)[np.asarray(styles, dtype=np.int64)] < MIN_VOICE_USE  # [N, V]
    return np.where(quiet[..., None], REST, tokens).astype(tokens.dtype)


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


def generate_tokens(bundle: GeneratorBundle, seeds, style: str | None = None, truncation: float | None = None,
                    temperature: float | None = None, batch_size: int = 256) -> tuple[np.ndarray, list[str]]:
    """Token windows [N, V, T] uint8 (relative to ``bundle.low``) and each piece's style name.

    Each piece draws its latent, its style (by the data's style shares when ``style`` is None) and its Gumbel
    sampling noise from its own generator seeded by (seed, index). ``temperature`` None means the model's
    recommended sampling temperature (its model card says how it was chosen)."""
    pairs = seed_pairs(seeds)
    if temperature is None:
        temperature = bundle.default_temperature
    names = bundle.style_names
    check_request(pairs, style, names, temperature)
    if truncation is not None and not 0.05 <= truncation <= 10:
        raise UserError(f"truncation must lie in 0.05..10 (got {truncation})")
    G = bundle.G
    z_all, s_all, noise_all, home_all = [], [], [], []
    for seed, index in pairs:
        rng = torch.Generator().manual_seed(piece_seed(seed, index))
        z_all.append(truncated_normal(G.z_dim, truncation, rng))
        s_all.append(draw_style(float(torch.rand(1, generator=rng)), style, names, bundle.style_shares))
        gumbel_u = torch.rand(G.n_voices, G.n_steps, G.vocab_size, generator=rng).clamp_(1e-9, 1 - 1e-9)
        noise_all.append(-torch.log(-torch.log(gumbel_u)))
        home_all.append(home_shift(bundle.manifest, s_all[-1], float(torch.rand(1, generator=rng))))
    tokens = []
    with torch.no_grad():
        for a in range(0, len(pairs), batch_size):
            z = torch.stack(z_all[a : a + batch_size])
            s = torch.tensor(s_all[a : a + batch_size])
            logits = G(z, s)  # [B, V, T, K]
            tokens.append((logits / temperature + torch.stack(noise_all[a : a + batch_size])).argmax(-1))
    out = silence_unused_voices(torch.cat(tokens).numpy().astype(np.uint8), s_all, bundle.manifest)
    if "key_home_shares" in bundle.manifest:
        out = place_in_key(out, np.asarray(home_all), G.vocab_size)
    return out, [names[i] for i in s_all]


def metric_velocities(starts: np.ndarray, steps_per_quarter: int, voice: int) -> np.ndarray:
    """Velocities that follow the metre (downbeat > half-bar > beat > off-beat) with the top voice a little
    louder, so exported pieces do not play as a flat, mechanical stream of equal notes."""
    bar, beat = 4 * steps_per_quarter, steps_per_quarter
    v = np.where(starts % bar == 0, 92, np.where(starts % (bar // 2) == 0, 86, np.where(starts % beat == 0, 80, 72)))
    return (v + (6 if voice == 0 else 0)).astype(np.int32)


def tokens_to_piece(tokens: np.ndarray, low: int, data: dict, style: str, title: str) -> Piece:
    """A piece from one token window [V, T], voiced and paced for its style."""
    layout = get_layout(data["layout"])
    program, tempo = STYLE_SOUND.get(style, DEFAULT_SOUND)
    spq = data["steps_per_quarter"]
    tracks = []
    for voice, (role, row) in enumerate(zip(layout.roles, tokens)):
        notes = tokens_to_notes(row, low)
        notes[:, 3] = metric_velocities(notes[:, 0], spq, voice)
        tracks.append(Track(role, program, False, notes))
    T = tokens.shape[-1]
    bars = np.asarray([(s, 4 * spq, 4, 4) for s in range(0, T, 4 * spq)], dtype=np.int32)
    return Piece(title, spq, tracks, bars, float(tempo), {"style": style})


def generate_pieces(bundle: GeneratorBundle, seeds, style: str | None = None, truncation: float | None = None,
                    temperature: float | None = None) -> list[Piece]:
    pairs = seed_pairs(seeds)
    tokens, styles = generate_tokens(bundle, pairs, style, truncation, temperature)
    return [tokens_to_piece(t, bundle.low, bundle.manifest, s, f"{s} seed {seed}.{index}")
            for t, s, (seed, index) in zip(tokens, styles, pairs)]
