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


class Twist:
    """A causal critic's running judgement of a batch of growing prefixes (one decoding's rows): every ``every``
    steps and at the last step, the change beta (r_t - r_s) of each row's calibrated judgement since the last one,
    which is added to its particle's log-weight. The critic reads each step once, carrying its LSTM state, which follows
    the rows when particles are resampled (``select``)."""

    def __init__(self, critic: CausalCritic, calibration: tuple[float, float], beta: float, every: int,
                 low_precision: bool = False):
        self.critic, self.beta, self.every = critic, beta, every
        self.a, self.b = calibration
        self.bfloat16 = use_bfloat16(low_precision)
        self.state, self.read, self.judged = None, 0, 0.0  # nothing read yet: every judgement so far is 0

    def due(self, t: int, length: int) -> bool:
        """Whether the prefixes are judged after step t of a window of ``length`` steps."""
        return (t + 1) % self.every == 0 or t == length - 1

    def increment(self, tokens: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        """beta (r_t - r_s) [N] for rows' tokens [N, V, t + 1] so far (the steps before the last judgement are not
        read again)."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16):
            ell, self.state = self.critic.continued_logits(tokens, style, self.read, self.state)
        self.read = tokens.shape[2]
        now = self.a * ell[:, -1].float() + self.b
        change, self.judged = self.beta * (now - self.judged), now
        return change

    def select(self, rows: torch.Tensor) -> None:
        """Keep rows ``rows`` (indices, repeats allowed), as ``Decoding.select`` does."""
        if self.state is not None:
            self.state = tuple(x[:, rows] for x in self.state)
        if isinstance(self.judged, torch.Tensor):
            self.judged = self.judged[rows]


@torch.no_grad()
def twisted_sample(base: ARModel, twist: Twist, style: torch.Tensor | None, noise: torch.Tensor,
                   temperature: float = 1.0, strict_voice_leading: bool = False, low_precision: bool = False,
                   pitch_temperature: float | tuple[float, ...] = 1.0) -> torch.Tensor:
    """One window per piece [B, V, T] from K particles' noise [B, K, V, T, vocab + 1] (``GuidedSampler.noise_shape``:
    entry [k, 0, 0] of the last column draws the kept particle; entry [K-1, V-1, t + 1] the resampling after step
    t), steered by ``twist`` (fresh: nothing read yet)."""
    B, C, V, T, _ = noise.shape
    flat_style = None if style is None else style.repeat_interleave(C)
    pitch_temperature = base.row_values(pitch_temperature, flat_style)
    token_noise = noise[..., :-1].reshape(B * C, V, T, -1)
    dec = base.begin(B * C, T, low_precision)
    logw = torch.zeros(B, C)
    first_of_row = (torch.arange(B) * C).view(B, 1)
    for t in range(T):
        base.step(dec, t, flat_style, token_noise[:, :, t], temperature, strict_voice_leading,
                  pitch_temperature=pitch_temperature)
        if not twist.due(t, T):
            continue
        logw = logw + twist.increment(dec.out[:, :, : t + 1], flat_style).view(B, C)
        if t == T - 1:
            break
        uneven = effective_sample_size(logw) < C / 2
        if not uneven.any():
            continue
        kept = systematic_resample(logw, gumbel_to_uniform(noise[:, -1, -1, t + 1, -1]))  # [B, C]
        kept = torch.where(uneven.view(B, 1), kept, torch.arange(C).view(1, C))
        rows = (first_of_row + kept).view(-1)
        dec.select(rows)
        twist.select(rows)
        logw = logw.masked_fill(uneven.view(B, 1), 0.0)
    keep = (logw + noise[:, :, 0, 0, -1]).argmax(dim=1)  # a draw by the final weights (Gumbel-max)
    return dec.out.view(B, C, V, T)[torch.arange(B), keep]
