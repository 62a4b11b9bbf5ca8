"""Sampling a sequence model with some tokens given in advance, by sequential Monte Carlo (particle filtering).

Forcing the given tokens into a plain ancestral draw samples each free token from p(x_t | x_<t) alone: it never
looks ahead at the given notes still to come (a harmony that walks into a clash with the melody's next note). Here
P particles per row are drawn side by side; at every step each particle's weight is multiplied by the probability
the model gave the tokens forced at that step, q(given_t | x_<t), and when the weights grow uneven (effective
sample size below P / 2) the particles are resampled by them (systematic resampling). The weighted particles then
approximate the model's conditional distribution of the free tokens given *all* given tokens, past and future:
p(free | given) ∝ p(free, given) (Doucet, de Freitas & Gordon 2001; the same idea as SMC steering of language
models, Lew et al. 2023). With P = 1 it is the plain forced draw.
"""

import math

import torch

from .sequence import ARModel

FREE = -1  # a given-token entry meaning "the model draws this one"
MAX_PARTICLES = 64


def systematic_resample(logw: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Indices [B, P] of the particles kept per row, from log-weights [B, P] and one uniform per row [B]:
    particle j is kept floor(P w_j + offset) times or so (positions (u + k) / P against the weights' cumulative
    sum), the lowest-variance unbiased resampling scheme."""
    B, P = logw.shape
    cum = torch.softmax(logw, dim=1).cumsum(dim=1)
    cum[:, -1] = 1.0  # no index past the end from rounding
    positions = (u.view(B, 1) + torch.arange(P).view(1, P)) / P
    return torch.searchsorted(cum, positions).clamp_max(P - 1)


def effective_sample_size(logw: torch.Tensor) -> torch.Tensor:
    """(sum w)^2 / sum w^2 per row of log-weights [B, P]: P for equal weights, 1 when one particle has them all."""
    w = torch.softmax(logw, dim=1)
    return 1.0 / (w**2).sum(dim=1)


@torch.no_grad()
def sample_given(model: ARModel, style: torch.Tensor | None, noise: torch.Tensor, given: torch.Tensor,
                 uniforms: torch.Tensor, temperature: float = 1.0, strict_voice_leading: bool = False,
                 bias: torch.Tensor | None = None, holds_need_a_note: bool = False,
                 no_crossing: bool = False, top_p: float = 1.0,
                 pitch_temperature: float | tuple[float, ...] = 1.0, twist=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Particles [B, P, V, L] and their final log-weights [B, P] for rows whose tokens ``given`` [B, V, L] are
    fixed where >= 0 (FREE elsewhere).

    noise [B, P, V, L, K]: each particle's Gumbel noise; uniforms [B, L]: the resampling draws of each step;
    bias [V, L, K], or [B, V, L, K] one per row (or None): added to every particle's logits (e.g. -inf above a
    melody); holds_need_a_note, no_crossing, top_p and pitch_temperature: see ``ARModel.step``. Log-weights are the
    log-probabilities of the given tokens accumulated since the last resampling (less the opening steps every row
    gives, read at once by ``ARModel.prefill``: the same for every particle of a row); a caller keeps one
    particle per row by them (``pick``). ``twist`` (``models.twisted.Twist``, or None): a causal critic's judgement
    of the particles' prefixes also moves the weights, every few steps and at the last, so the particles are
    steered towards what it judges real as well as towards the given tokens."""
    B, P, V, L, K = noise.shape
    if not 1 <= P <= MAX_PARTICLES:
        raise ValueError(f"particles must lie in 1..{MAX_PARTICLES} (got {P})")
    rows = B * P
    flat_style = None if style is None else style.repeat_interleave(P)
    flat_given = given.repeat_interleave(P, dim=0)  # [B*P, V, L]
    pitch_temperature = model.row_values(pitch_temperature, flat_style)  # one value, or [B*P] by each row's style
    dec = model.begin(rows, L)
    # the opening steps every row gives (the context a later window starts from) are read in one call
    known = (given >= 0).all(dim=(0, 1))
    context = int(L if bool(known.all()) else known.long().argmin())
    model.prefill(dec, flat_given[:, :, :context], flat_style)
    logw = torch.zeros(B, P)
    base = (torch.arange(B) * P).view(B, 1)
    if bias is not None and bias.dim() == 4:  # one bias per row, the same for its particles
        bias = bias.repeat_interleave(P, dim=0)
    for t in range(context, L):
        if bias is None:
            b = None
        elif bias.dim() == 4:
            b = bias[:, :, t]
        else:
            b = bias[:, t].unsqueeze(0).expand(rows, -1, -1)
        g = flat_given[:, :, t]
        forced = bool((g >= 0).any())
        logq = model.step(dec, t, flat_style, noise[:, :, :, t].reshape(rows, V, K), temperature,
                          strict_voice_leading, given=g if forced else None, bias=b,
                          holds_need_a_note=holds_need_a_note, no_crossing=no_crossing, top_p=top_p,
                          pitch_temperature=pitch_temperature)
        judged = twist is not None and twist.due(t, L)
        if not forced and not judged:  # the weights move only where a token is given or the critic judges
            continue
        if forced:
            logw = logw + logq.view(B, P)
        if judged:
            logw = logw + twist.increment(dec.out[:, :, : t + 1], flat_style).view(B, P)
        if P > 1:
            low = effective_sample_size(logw) < P / 2
            if low.any():
                keep = torch.arange(P).repeat(B, 1)
                keep[low] = systematic_resample(logw[low], uniforms[low, t])
                kept = (base + keep).reshape(-1)
                dec.select(kept)
                if twist is not None:
                    twist.select(kept)
                logw = torch.where(low.view(B, 1), torch.logsumexp(logw, dim=1, keepdim=True) - math.log(P), logw)
    return dec.out.view(B, P, V, L), logw


def pick(logw: torch.Tensor, gumbel: torch.Tensor) -> torch.Tensor:
    """One particle index per row [B] drawn from softmax(logw) [B, P] by the Gumbel-max trick."""
    return (logw + gumbel).argmax(dim=1)
