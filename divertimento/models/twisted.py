"""Discriminator-guided sampling with twists: the K candidates of a piece are drawn side by side as particles of a
sequential Monte Carlo sampler, reweighted as they grow by a causal critic's judgement of their prefixes, and
resampled when the weights grow uneven.

A guided sampler that judges only whole windows picks one of K finished candidates: with 8 candidates and a
critic that sees Bach's harmony, the pick prefers the better-voiced windows, but 8 do not offer enough of them to
move the style's figures (docs/adversarial.md, round 11). Here the same K draws are steered along the way. The
target is the guided sampler's own, pi(x) ∝ p(x) exp(beta r(x)) with r the critic's calibrated log-ratio of the
whole window; the intermediate targets are pi_t(x_<=t) ∝ p(x_<=t) exp(beta r_t(x_<=t)), with r_t the causal
critic's calibrated judgement of the prefix (its estimate of log p_data(x_<=t) / p(x_<=t)). Since the particles
are drawn from p itself, a particle's weight grows by exp(beta (r_t - r_s)) between two judgements s < t; when
the effective sample size of a piece's weights falls below K / 2 its particles are resampled (systematic
resampling), so a prefix the critic already finds wrong is dropped and a good one continues in several particles,
each with its own noise from there on. The kept window is drawn by the final weights. This is twisted SMC
(Naesseth et al. 2019; Zhao et al. 2024 for language models) with the critic's prefix logits as the twists.

With every judgement at the window's end only, it is exactly the guided sampler's pick of one of K; with beta = 0
the weights never move, nothing is resampled, and it is exactly the proposal's draw.
"""

import torch

from .causal_critic import CausalCritic
from .low_precision import use_bfloat16
from .sequence import ARModel
from .smc import effective_sample_size, systematic_resample


def gumbel_to_uniform(gumbel: torch.Tensor) -> torch.Tensor:
    """The uniform [0, 1) a standard Gumbel value came from (its distribution function exp(-exp(-g))), so the
    resampling draws come from the piece's own noise and a piece stays reproducible from its seed."""
    return torch.exp(-torch.exp(-gumbel)).clamp(0.0, 1.0 - 1e-7)


@torch.no_grad()
def twisted_sample(base: ARModel, critic: CausalCritic, calibration: tuple[float, float],
                   style: torch.Tensor | None, noise: torch.Tensor, beta: float, every: int,
                   temperature: float = 1.0, strict_voice_leading: bool = False, low_precision: bool = False,
                   pitch_temperature: float | tuple[float, ...] = 1.0) -> torch.Tensor:
    """One window per piece [B, V, T] from K particles' noise [B, K, V, T, vocab + 1] (``GuidedSampler.noise_shape``:
    entry [k, 0, 0] of the last column draws the kept particle; entry [K-1, V-1, t + 1] the resampling after step
    t). The critic judges the prefixes every ``every`` steps and at the end; ``calibration`` (a, b) reads its logit
    as a log-ratio, a * logit + b."""
    B, C, V, T, _ = noise.shape
    flat_style = None if style is None else style.repeat_interleave(C)
    pitch_temperature = base.row_values(pitch_temperature, flat_style)
    token_noise = noise[..., :-1].reshape(B * C, V, T, -1)
    dec = base.begin(B * C, T, low_precision)
    a, b = calibration
    logw = torch.zeros(B, C)
    judged = torch.zeros(B * C)  # the last calibrated judgement of each particle's prefix (0 before the first)
    state, read = None, 0  # the critic's LSTM state after the steps it has read
    first_of_row = (torch.arange(B) * C).view(B, 1)
    for t in range(T):
        base.step(dec, t, flat_style, token_noise[:, :, t], temperature, strict_voice_leading,
                  pitch_temperature=pitch_temperature)
        last = t == T - 1
        if (t + 1) % every and not last:
            continue
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bfloat16(low_precision)):
            ell, state = critic.continued_logits(dec.out[:, :, : t + 1], flat_style, read, state)
        read = t + 1
        now = a * ell[:, -1].float() + b
        logw = logw + beta * (now - judged).view(B, C)
        judged = now
        if last:
            break
        uneven = effective_sample_size(logw) < C / 2
        if not uneven.any():
            continue
        kept = systematic_resample(logw, gumbel_to_uniform(noise[:, -1, -1, t + 1, -1]))  # [B, C]
        kept = torch.where(uneven.view(B, 1), kept, torch.arange(C).view(1, C))
        rows = (first_of_row + kept).view(-1)
        dec.select(rows)
        state, judged = tuple(x[:, rows] for x in state), judged[rows]
        logw = logw.masked_fill(uneven.view(B, 1), 0.0)
    keep = (logw + noise[:, :, 0, 0, -1]).argmax(dim=1)  # a draw by the final weights (Gumbel-max)
    return dec.out.view(B, C, V, T)[torch.arange(B), keep]
