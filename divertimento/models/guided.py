"""Discriminator-guided sampling (family ``guided``): a proposal model draws K candidate windows per piece and one
is kept with probability proportional to w_k = (D_k / (1 - D_k))^beta = exp(beta * logit_k).

An optimal discriminator between real windows and the proposal's gives D / (1 - D) = p_data / p_model, so with
beta = 1 and K large the kept window follows p_data (importance resampling: Azadi et al. 2019, discriminator
rejection sampling; Deng et al. 2020, residual energy-based models); beta = 0 keeps a uniformly chosen candidate,
i.e. a plain draw from the proposal. The critic's logits are calibrated on held-out windows (Platt scaling, as
Turner et al. 2019 calibrate D for Metropolis-Hastings GANs) before they are read as log density ratios.

``rerank = "likelihood"`` is the control: the same K candidates resampled by the proposal's own log-likelihood,
w_k = exp(beta * log p(x_k)), so a gain of the critic over it is the critic's and not best-of-K's.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..data.conditions import mode_count, n_conditions
from .causal_critic import CausalCritic
from .discriminator import Discriminator
from .low_precision import use_bfloat16
from .residual_critic import ResidualCritic
from .sequence import check_pitch_temperature
from .sequence_critic import SequenceCritic, StepReader
from .sounding_critic import CausalSoundingCritic, SoundingCritic
from .twisted import Twist, twisted_sample

RERANKS = ("critic", "likelihood")
CRITICS = {"sequence": SequenceCritic, "sounding": SoundingCritic, "causal": CausalCritic,
           "causal-sounding": CausalSoundingCritic}  # the critics that read a window step by step
MAX_BETA = 100.0
MAX_CANDIDATES = 64  # K per piece: 64 candidates of a 4-voice window are already 64x the proposal's work


def build_critic(cfg, data: dict, base: nn.Module | None = None) -> nn.Module:
    """The critic of ``cfg.critic``: the token GAN's discriminator (conv), a bidirectional LSTM over steps
    (sequence; sounding: the same, also reading the pitches that sound and the intervals between voices), a
    unidirectional one that judges every prefix (causal), or one that reads the proposal ``base``'s own state and
    surprisal (residual). Each judges each window alone (no minibatch-std, no packing), so its score is a
    property of the window and can be read as a density ratio."""
    kind = getattr(cfg, "critic", "conv")
    if kind == "residual":
        if base is None or not hasattr(base, "hidden"):
            raise ValueError("a residual critic reads a sequence model's state: it needs an mle base model")
        return ResidualCritic(base, n_styles=n_conditions(data), embed=cfg.embed, conditional=cfg.conditional)
    if kind in CRITICS:
        critic = CRITICS[kind](n_voices=len(data["roles"]), vocab_size=data["vocab_size"],
                               n_steps=data["window_steps"], n_styles=n_conditions(data), embed=cfg.embed,
                               conditional=cfg.conditional)
        critic.add_modes(mode_count(data), data["pitch_range"][0])
        return critic
    return Discriminator(n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
                         n_styles=n_conditions(data), channels=cfg.d_channels, conditional=cfg.conditional,
                         mbstd_group=0, pack=1, use_spectral_norm=cfg.spectral_norm, pitch_low=data["pitch_range"][0])


def critic_scores(critic: nn.Module, tokens: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
    """The critic's raw logits [B] of int token windows [B, V, T]; a critic that reads steps looks the tokens up,
    the others read one-hots."""
    return critic(tokens if isinstance(critic, StepReader) else F.one_hot(tokens.long(), critic.vocab_size).float(),
                  style)


def critic_prefix_scores(critic: CausalCritic, tokens: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
    """A causal critic's raw logits [B, T] of every prefix of int token windows [B, V, T]."""
    return critic.prefix_logits(tokens, style)


def bfloat16_critic(critic: nn.Module) -> nn.Module | None:
    """A bfloat16 copy of a critic that reads steps and knows no modes: the logits it gives under bfloat16 autocast,
    exactly (tested), about 15 % sooner for a guided batch's 2,048 candidates, since autocast casts the LSTM's
    weights and inputs at every call. None for another critic, which then runs under autocast: a mode critic's fit
    term would be rounded differently. A copy per call (a few hundred thousand weights) rather than one kept, so it
    never outlives a change to the critic."""
    if not isinstance(critic, StepReader) or critic.mode is not None:
        return None
    return copy.deepcopy(critic).to(torch.bfloat16)


def resample_steps(every) -> int:
    """``resample_every`` as a number of steps >= 0 (0: the candidates are judged only when whole); a command line
    gives it as text."""
    if isinstance(every, float) and every.is_integer():
        every = int(every)
    text = str(every).strip()
    if isinstance(every, bool) or not text.isdigit():
        raise ValueError(f"resample_every must be a whole number of steps >= 0 (got {every!r})")
    return int(text)


def candidate_count(value) -> int:
    """``candidates`` as a whole number in 1..MAX_CANDIDATES; a command line gives it as text or a float."""
    text = str(int(value) if isinstance(value, float) and value.is_integer() else value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= MAX_CANDIDATES:
        raise ValueError(f"candidates must be a whole number in 1..{MAX_CANDIDATES} (got {text})")
    return int(text)


def resample_choice(scores: torch.Tensor, beta: float, gumbel: torch.Tensor) -> torch.Tensor:
    """Index [B] of the kept candidate per row of ``scores`` [B, C]: a draw from softmax(beta * scores) by the
    Gumbel-max trick with the given standard Gumbel noise [B, C]."""
    return (beta * scores + gumbel).argmax(dim=1)


def resample_weights(scores: torch.Tensor, beta: float) -> torch.Tensor:
    """The normalised resampling weights [B, C] that ``resample_choice`` draws from: softmax(beta * scores)."""
    return torch.softmax(beta * scores, dim=1)


class GuidedSampler(nn.Module):
    def __init__(
        self,
        base: nn.Module,  # the proposal: a sampled module without a latent (family mle), frozen
        critic: nn.Module,  # real vs proposal windows; higher = more real (``build_critic``)
        candidates: int = 8,  # K windows drawn per piece; 1 = the proposal alone
        beta: float = 1.0,  # exponent of the density ratio; 0 = the proposal's own distribution
        rerank: str = "critic",  # critic, or likelihood (the control)
    ):
        super().__init__()
        if base.latent_dim:
            raise ValueError("guided sampling needs a proposal without a latent (family mle)")
        self.base, self.critic = base, critic
        self.candidates, self.beta, self.rerank = candidates, beta, rerank
        # Platt scaling of the critic's logit, a * score + b, fitted on held-out windows after training
        self.register_buffer("calibration", torch.tensor([1.0, 0.0]))
        for name in ("n_voices", "n_steps", "vocab_size", "conditional", "supports_strict_voice_leading"):
            setattr(self, name, getattr(base, name))

    latent_dim = 0
    supports_low_precision = True
    # what a sampler may set per call (the model file recommends values); pitch_temperature is the proposal's
    # candidates: K per call, fewer for speed (the file's K is the default; its noise is drawn for the K asked)
    sampling_options = ("beta", "rerank", "resample_every", "pitch_temperature", "candidates")
    per_style_options = {"pitch_temperature": 1.0}

    @property
    def n_styles(self) -> int:
        return self.base.n_styles

    @staticmethod
    def check_options(options: dict) -> None:
        """ValueError for a beta, rerank, resample_every, pitch temperature or candidates out of range (what
        ``sample`` refuses)."""
        beta, rerank = float(options.get("beta", 0.0)), options.get("rerank", "critic")
        if not 0 <= beta <= MAX_BETA:
            raise ValueError(f"beta must lie in 0..{MAX_BETA:g} (got {beta})")
        if rerank not in RERANKS:
            raise ValueError(f"rerank must be one of {', '.join(RERANKS)} (got {rerank!r})")
        every = resample_steps(options.get("resample_every", 0))
        if every and rerank != "critic":
            raise ValueError("resample_every steers the candidates by the critic's prefixes: it needs rerank=critic")
        check_pitch_temperature(options.get("pitch_temperature", 1.0))
        if "candidates" in options:
            candidate_count(options["candidates"])

    @property
    def noise_shape(self) -> tuple[int, int, int, int]:
        """Per piece: K candidates' Gumbel noise [V, T, vocab], plus one more column whose [k, 0, 0] entry is the
        Gumbel noise of the resampling draw."""
        return self.noise_shape_for({})

    def noise_shape_for(self, options: dict) -> tuple[int, int, int, int]:
        """``noise_shape`` for the K that ``options`` asks for (``candidates``; default the file's K)."""
        K = candidate_count(options["candidates"]) if "candidates" in options else self.candidates
        return (K, self.n_voices, self.n_steps, self.vocab_size + 1)

    def twist(self, every: int, beta: float, low_precision: bool = False) -> Twist:
        """The critic's running judgement of growing candidates, every ``every`` steps (``models/twisted.py``);
        ValueError for a critic that judges whole windows only."""
        if not isinstance(self.critic, CausalCritic):
            raise ValueError(f"resample_every needs a critic that judges prefixes (causal or causal-sounding), "
                             f"not {type(self.critic).__name__}")
        a, b = self.calibration.tolist()
        return Twist(self.critic, (a, b), beta, every, low_precision)

    def log_ratio(self, tokens: torch.Tensor, style: torch.Tensor | None,
                  critic: nn.Module | None = None) -> torch.Tensor:
        """Calibrated critic logit [B] of token windows [B, V, T]: the estimate of log p_data(x) / p_model(x).
        ``critic``: a copy of the critic to judge with (``bfloat16_critic``)."""
        judge = self.critic if critic is None else critic
        return self.calibration[0] * critic_scores(judge, tokens, style) + self.calibration[1]

    @torch.no_grad()
    def sample(self, style: torch.Tensor | None, noise: torch.Tensor, temperature: float = 1.0,
               z: torch.Tensor | None = None, strict_voice_leading: bool = False, beta: float | None = None,
               rerank: str | None = None, low_precision: bool = False, resample_every: int = 0,
               pitch_temperature: float | tuple[float, ...] = 1.0, candidates: int | None = None) -> torch.Tensor:
        """One window per piece [B, V, T] of K candidates' noise [B, K, V, T, vocab + 1] (``noise_shape_for``;
        ``candidates``, if given, must be that K).
        ``low_precision``: the proposal draws and the critic judges with bfloat16 products (``LowPrecision``), where
        this CPU multiplies bfloat16 natively (``use_bfloat16``); float32 elsewhere. ``resample_every`` (steps; 0 =
        never): the candidates grow as particles steered by a causal critic's judgement of their prefixes
        (``models/twisted.py``); ``pitch_temperature``: the proposal's (``ARModel.sample``)."""
        beta = self.beta if beta is None else float(beta)
        rerank = self.rerank if rerank is None else rerank
        every = resample_steps(resample_every)
        self.check_options({"beta": beta, "rerank": rerank, "resample_every": every,
                            "pitch_temperature": pitch_temperature})
        if candidates is not None and candidate_count(candidates) != noise.shape[1]:
            raise ValueError(f"noise for {noise.shape[1]} candidates, but {candidates} asked for")
        if every:
            return twisted_sample(self.base, self.twist(every, beta, low_precision), style, noise, temperature,
                                  strict_voice_leading, low_precision, pitch_temperature)
        B, C, V, T, _ = noise.shape
        flat_style = None if style is None else style.repeat_interleave(C)
        cand = self.base.sample(flat_style, noise[..., :-1].reshape(B * C, V, T, -1), temperature,
                                strict_voice_leading=strict_voice_leading, low_precision=low_precision,
                                pitch_temperature=pitch_temperature)  # [B*C, V, T]
        low = use_bfloat16(low_precision)
        judge = bfloat16_critic(self.critic) if low and rerank == "critic" else None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low and judge is None):
            if rerank == "critic":
                scores = self.log_ratio(cand, flat_style, judge).float()
            else:
                scores = self.base.log_probs(cand, flat_style).float().sum(dim=(1, 2))  # nats per window
        keep = resample_choice(scores.view(B, C), beta, noise[:, :, 0, 0, -1])
        return cand.view(B, C, V, T)[torch.arange(B), keep]
