"""Latent inversion and window chaining: the one mechanism behind harmonisation, continuation, long forms and
the live stream.

``invert`` finds a latent whose window agrees with given tokens (a melody in the soprano, the bar a window must
continue from) while staying near an anchor latent:

    z* = argmin_z  sum_{(v, t) given} -log softmax(G(z, s))[v, t, target[v, t]]  +  (prior / 2) ||z - anchor||^2

(maximum a posteriori under a Gaussian prior centred on the anchor; Adam from a few starts around the anchor,
the best kept). ``render`` chains windows of 4 bars with a hop of 3: every window after the first is inverted
so that its first bar *is* the previous window's last bar, and contributes its 3 new bars. Given tokens are kept
exactly; everything else is sampled from G at the found latent with the piece's Gumbel noise.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..sample.sampler import Sampler
from .latents import decode

FREE = -1  # target value meaning "G decides"


@dataclass(frozen=True)
class InversionOptions:
    steps: int = 60  # Adam steps per window; 0 = no inversion (the anchor itself)
    lr: float = 0.08  # Adam learning rate on z
    prior: float = 0.05  # weight of (1/2)||z - anchor||^2; larger keeps closer to the anchor
    restarts: int = 3  # starts optimised together (the anchor plus small perturbations); the best is kept
    spread: float = 0.3  # standard deviation of the perturbations of the starts


def bar_steps(bundle: Sampler) -> int:
    return 4 * int(bundle.manifest["steps_per_quarter"])


def invert(bundle: Sampler, target: np.ndarray, style: int, anchor: torch.Tensor,
           opts: InversionOptions = InversionOptions(), seed: int = 0) -> tuple[torch.Tensor, float]:
    """Latent [Z] near ``anchor`` whose window agrees with ``target`` [V, T] (tokens, FREE where G decides),
    and the mean log-probability G then gives the targets (0 = certain; -log K = chance)."""
    G = bundle.G
    tgt = torch.as_tensor(np.asarray(target), dtype=torch.long)  # [V, T]
    mask = tgt != FREE
    n = int(mask.sum())
    if n == 0:
        return anchor.clone(), 0.0
    if opts.steps == 0:  # no inversion: how well the anchor itself explains the targets
        with torch.no_grad():
            logp = torch.log_softmax(G(anchor[None], torch.tensor([style])), dim=-1)[0]  # [V, T, K]
            got = logp.gather(-1, tgt.clamp_min(0)[..., None]).squeeze(-1)
        return anchor.clone(), float(got[mask].mean())
    rng = torch.Generator().manual_seed(seed)
    R = max(1, opts.restarts)
    starts = anchor.expand(R, -1).clone()
    starts[1:] += opts.spread * torch.randn(R - 1, G.z_dim, generator=rng)
    z = starts.requires_grad_(True)
    s = torch.full((R,), style, dtype=torch.long)
    opt = torch.optim.Adam([z], lr=opts.lr)
    idx = tgt.clamp_min(0)[None, ..., None].expand(R, -1, -1, 1)  # [R, V, T, 1]
    m = mask[None].expand(R, -1, -1)

    def losses() -> tuple[torch.Tensor, torch.Tensor]:
        logp = torch.log_softmax(G(z, s), dim=-1).gather(-1, idx).squeeze(-1)  # [R, V, T]
        nll = -(logp * m).sum((1, 2))  # [R]
        return nll + 0.5 * opts.prior * ((z - anchor) ** 2).sum(1), nll

    for _ in range(opts.steps):
        opt.zero_grad(set_to_none=True)
        loss, _ = losses()
        loss.sum().backward()
        opt.step()
    with torch.no_grad():
        loss, nll = losses()
        best = int(loss.argmin())
    return z[best].detach().clone(), float(-nll[best] / n)


def n_windows(total_steps: int, bundle: Sampler) -> int:
    """Windows needed to cover ``total_steps`` with a hop of 3 bars."""
    T, hop = bundle.G.n_steps, bundle.G.n_steps - bar_steps(bundle)
    return 1 if total_steps <= T else 1 + -(-(total_steps - T) // hop)


def below_melody_bias(melody_window: np.ndarray, n_voices: int, vocab: int) -> torch.Tensor:
    """[V, T, K] logit bias that forbids the lower voices a pitch above the melody's sounding pitch (voices
    under a given melody do not cross it; the melody row itself is not touched)."""
    T = len(melody_window)
    sounding = np.full(T, -1, dtype=np.int64)  # melody token sounding at each step (-1: silent or unknown)
    cur = -1
    for t, tok in enumerate(melody_window):
        if tok >= 2:
            cur = int(tok)
        elif tok != 1:  # REST or FREE
            cur = -1
        sounding[t] = cur
    bias = torch.zeros(n_voices, T, vocab)
    k = torch.arange(vocab)
    for t in np.flatnonzero(sounding >= 0):
        bias[1:, t, (k > int(sounding[t]))] = float("-inf")
    return bias


def render(bundle: Sampler, anchors: torch.Tensor, style: int, noises: list[torch.Tensor | None],
           temperature: float = 1.0, melody: np.ndarray | None = None, context: np.ndarray | None = None,
           n_steps: int | None = None, opts: InversionOptions = InversionOptions(), seed: int = 0,
           keep_below_melody: bool = False):
    """Chain windows into one token array.

    anchors [W, Z]: the latent each window is pulled toward (a form repeats a section by repeating its anchor);
    noises: W Gumbel noise tensors [V, T, K] (None = most likely tokens); melody [n]: soprano tokens to keep
    (FREE where none); context [V, c]: tokens the result must continue from (c <= one bar; the result starts
    after it); n_steps: length of the result (default: what the windows cover); keep_below_melody: the other
    voices may not rise above the given melody (``below_melody_bias``).
    Returns (tokens [V, n_steps] uint8, latents [W, Z], per-window fit of the given tokens)."""
    G = bundle.G
    V, T = G.n_voices, G.n_steps
    bar = bar_steps(bundle)
    hop = T - bar
    W = len(anchors)
    c = 0 if context is None else context.shape[1]
    cover = T + hop * (W - 1)
    n_steps = cover - c if n_steps is None else n_steps
    buf = np.full((V, cover), FREE, dtype=np.int64)  # decided tokens; FREE where not yet
    given = np.full((V, cover), FREE, dtype=np.int64)  # tokens imposed from outside (melody, context)
    if context is not None:
        given[:, :c] = context
    if melody is not None:
        m = np.asarray(melody, dtype=np.int64)[: cover - c]
        given[0, c : c + len(m)] = m
    latents, fits = [], []
    for w in range(W):
        a = w * hop
        target = given[:, a : a + T].copy()
        if w > 0:  # the first bar is the previous window's last bar
            target[:, :bar] = buf[:, a : a + bar]
        z, fit = invert(bundle, target, style, anchors[w], opts, seed=seed * 1009 + w)
        bias = below_melody_bias(given[0, a : a + T], V, G.vocab_size) if keep_below_melody else None
        tok = decode_one(bundle, z, style, noises[w], temperature, bias)  # [V, T]
        tok = np.where(target != FREE, target, tok)
        buf[:, a : a + T] = np.where(buf[:, a : a + T] != FREE, buf[:, a : a + T], tok)
        latents.append(z)
        fits.append(fit)
    out = buf[:, c : c + n_steps]
    out = np.where(out == FREE, 0, out).astype(np.uint8)
    return out, torch.stack(latents), fits


def decode_one(bundle: Sampler, z: torch.Tensor, style: int, noise: torch.Tensor | None,
               temperature: float, bias: torch.Tensor | None = None) -> np.ndarray:
    return decode(bundle, z[None], style, None if noise is None else noise[None], temperature, bias)[0]
