"""One typed training config, validated at the edge: a JSON file plus ``--set key=value`` overrides.

Unknown keys are errors, never silent defaults. The resolved config is frozen into the run dir and every
checkpoint.
"""

import dataclasses
from dataclasses import dataclass, fields

from .errors import UserError
from .json_file import read_json_object

# how an adversarial fine-tune's critic reaches the model (TrainConfig.adv_estimator)
ESTIMATORS = ("reinforce", "straight-through", "straight-through-time")
# The optimiser and EMA settings each family is trained with unless the config names its own: the GAN follows
# stylegan2-ada (Adam 0.5/0.99, EMA of G), the likelihood families plain Adam with gradient clipping.
FAMILY_DEFAULTS = {
    "gan": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.99, "grad_clip": 0.0, "ema_kimg": 10.0},
    "vae": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "grad_clip": 1.0, "ema_kimg": 0.0},
    "mle": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "grad_clip": 1.0, "ema_kimg": 0.0},
    "guided": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.99, "grad_clip": 0.0, "ema_kimg": 0.0},
}


@dataclass(frozen=True)
class TrainConfig:
    # which model family this run trains (models/factory.py): gan (token GAN), vae (ELBO, the GAN's generator as
    # decoder), mle (autoregressive sequence model, maximum likelihood) or guided (a critic that resamples a
    # trained model's candidates)
    family: str = "gan"
    # run: the same meaning in every family
    seed: int = 0  # seeds init, latents, sampling noise and batch order
    steps: int = 10000  # updates of the model that is sampled (G for the GAN), one batch each
    batch_size: int = 64  # windows per update (per process under torchrun)
    threads: int = 0  # torch CPU threads; 0 = torch's default
    # shared model sizes
    conditional: bool = True  # condition on style; False = one unconditional model
    style_dim: int = 32  # style embedding size
    z_dim: int = 128  # latent size (gan, vae)
    g_channels: int = 256  # generator / VAE decoder width at the bar resolution (gan, vae)
    # gan
    d_channels: int = 256  # D width at the bar resolution (and the VAE-GAN encoder's)
    loss: str = "nonsat"  # adversarial objective by name (losses/adversarial.py): nonsat, minimax, hinge, wgan-gp
    gp_weight: float = 10.0  # lambda of WGAN-GP's gradient penalty (wgan-gp only)
    d_steps: int = 1  # D updates per G update (WGAN-GP papers use 5)
    r1_gamma: float = 0.0  # R1 penalty gamma; 0 = off
    r1_interval: int = 16  # lazy R1: every this many D steps, scaled up by the interval
    ms_weight: float = 0.0  # mode-seeking (MSGAN) weight; 0 = off
    mbstd_group: int = 4  # minibatch-std group size in D; 0 = off
    pack: int = 1  # PacGAN packing degree; 1 = off
    spectral_norm: bool = False  # spectral norm on D's weights
    gumbel_tau: float = 1.0  # temperature of the straight-through Gumbel-softmax that turns logits into tokens
    # VAE-GAN (Larsen et al. 2016): weight of the ELBO (nats per token) that also trains G as the decoder of an
    # encoder on real windows, giving G a likelihood signal for pitch content next to D's; 0 = off
    recon_weight: float = 0.0
    lr_d: float = 2e-4  # discriminator learning rate
    # EMA of the sampled model's weights: half-life in thousands of training windows (stylegan2-ada's ema_kimg);
    # 0 = off (gan only)
    ema_kimg: float = 10.0
    # train on windows moved onto the white-key diatonic set (data/keys.py) instead of transposed at random;
    # generated windows are moved back to keys drawn from the data's own key distribution per style (gan only)
    key_normalise: bool = False
    # how far batches even out the styles: a window is drawn with weight (its style's window count)^-style_balance,
    # so 0 draws every window alike (a style's share of batches = its share of windows) and 1 gives every style an
    # equal share; a style with few windows (bach: 7 % of the default data) otherwise gets few updates
    style_balance: float = 0.0
    # vae
    enc_channels: int = 256  # encoder width at the bar resolution
    kl_weight: float = 1.0  # beta of the KL term; 1 = the true ELBO
    kl_warmup: int = 1000  # steps over which the KL weight ramps linearly from 0 to kl_weight; 0 = no ramp
    # mle: an LSTM over steps, voice by voice within a step
    hidden: int = 256  # LSTM hidden size
    layers: int = 2  # LSTM layers
    embed: int = 32  # per-voice token embedding size at the LSTM input
    dropout: float = 0.0  # dropout between LSTM layers (training only)
    # every voice's head also reads what each voice sounds (the pitch a HOLD holds, not the bare HOLD): the voices
    # above it at this step and every voice at the step before (models/sequence.py); starts silent (zero tables), so
    # a trained model of the same layout starts a run with it unchanged
    sounding_context: bool = False
    # mle: each window's mode (major or minor, by its best key) is part of its condition beside style and meter,
    # and a piece is drawn in a mode by its style's training share (data/modes.py); a run from a model without it
    # starts with the mode vectors at zero, where that model stood
    mode_condition: bool = False
    # adversarial fine-tuning of the mle model (from init_from): weight of the policy-gradient term beside the NLL,
    # both per token; 0 = plain maximum likelihood
    adv_weight: float = 0.0
    adv_kl: float = 0.1  # the reward's charge per nat of drift from the starting model (a KL penalty); 0 = none
    # with a causal critic (a reward at every step): the discount of later steps' rewards in a step's return; 1 =
    # none (unbiased), lower credits a step mostly with what the critic thought right after it
    adv_gamma: float = 1.0
    adv_warmup: int = 0  # first steps in which only the critic learns (the model takes its likelihood term alone)
    # a guided model whose window critic (sequence or conv) also learns during the fine-tune, on real windows as
    # written, and whose calibrated judgement of the whole window joins the reward: added to every step's return
    # beside a causal critic, to the window's reward beside a window critic ("" = none)
    window_critic_init: str = ""
    # a guided model (name, file or run dir) whose trained, calibrated critic starts the fine-tune's critic and
    # calibrates its reward, as Transformer-GAN starts from a pretrained discriminator; "" = a fresh critic
    critic_init: str = ""
    # the critic (guided, and the fine-tune's) judges real windows moved to random keys, as the likelihood term sees
    # them, instead of as written: a model trained on transposed windows spreads its keys as they do, so the key no
    # longer tells them apart and the critic judges the rest, the harmony first (docs/adversarial.md, round 12)
    critic_transposed: bool = False
    # a fine-tune told each window's mode (mode_condition) by a sequence or sounding critic: the weight of the
    # critic's mode term (its projection on the key fits, ``SequenceCritic.mode_term``) in the window's reward; 1 =
    # as the critic's logit has it. Round 14's critic learnt the mode, yet in 1,500 steps the model did not follow
    # its label; weighed 4x it does, and pleases the key fit with fewer, longer notes (docs/adversarial.md, round 15)
    adv_mode_weight: float = 1.0
    # the fine-tune draws its samples at this pitch temperature (``0.7``, or style by style ``bach:0.7``; "" = none,
    # as before), so the critic judges, and the policy gradient improves, the sampler a user is given: the shipped
    # model is drawn at Bach's 0.7, where every earlier fine-tune trained the temperature-1 sampler
    # (docs/adversarial.md, round 16: level with the temperature-1 run). The model file then recommends it
    adv_pitch_temperature: str = ""
    # adversarial fine-tune: the reward's charge per voice silent for a bar where the style's real windows almost
    # never are (losses/silence.py), against a model that escapes a harmony critic by dropping a voice; 0 = none
    silence_charge: float = 0.0
    # how the critic's judgement reaches the model: reinforce (the policy gradient of the window's reward,
    # losses/policy_gradient.py) or straight-through (the critic reads the sample as one-hots whose gradient is that
    # of a Gumbel-softmax at temperature adv_tau, Transformer-GAN's estimator: a gradient for every token and every
    # alternative to it, where REINFORCE has one number per window; losses/straight_through.py) or
    # straight-through-time (the same one-hots also fed back as the model's own inputs, so a token is credited for
    # the positions it leads to, as RelGAN feeds its relaxed samples back; losses/relaxed_rollout.py)
    adv_estimator: str = "reinforce"
    adv_tau: float = 1.0  # straight-through: the Gumbel-softmax temperature at the first step
    # ... and at the last, annealed geometrically between (Transformer-GAN: 1 to 0.01); 0 = adv_tau throughout
    adv_tau_final: float = 0.0
    # guided: the critic learns real windows against base_model's samples. conv: the token GAN's discriminator (of
    # d_channels width); sequence: a bidirectional LSTM over steps (models/sequence_critic.py) that starts from the
    # base model's token embeddings; residual: a small LSTM over the frozen base model's own state and surprisal
    # (models/residual_critic.py, guided only); causal: a unidirectional LSTM that judges every prefix of a window
    # (models/causal_critic.py), whose per-step judgements give the fine-tune a reward at every step and a guided
    # sampler its twists (models/twisted.py); sounding: the sequence critic also reading each voice's sounding pitch
    # and the intervals between voices (models/sounding_critic.py); causal-sounding: the causal critic reading them
    critic: str = "conv"
    base_model: str = ""  # the proposal: a shipped model's name, a model file or a run dir (family mle)
    candidates: int = 8  # K candidates drawn per piece at sampling time; 1 = the proposal alone
    beta: float = 1.0  # the candidates are resampled by (D / (1 - D))^beta; 0 = the proposal's own distribution
    rerank: str = "critic"  # critic, or likelihood: the control that resamples by the proposal's own likelihood
    # critic-tilted distillation (family mle, from init_from; train/recipe_distill.py): a guided model whose
    # resampled distribution at K -> infinity the model learns beside its likelihood of real windows, from a pool of
    # its proposal's windows tilted by exp(distill_beta * score); "" = none. Several guided models of one proposal,
    # separated by commas: the score is the mean of their critics' log-ratios (an ensemble's estimate of log p / q)
    distill_from: str = ""
    distill_weight: float = 1.0  # the pool batch's NLL beside the real batch's, both per window
    distill_beta: float = 1.0  # the tilt's exponent; 0 = the proposal's own distribution
    distill_pool: int = 8192  # windows drawn from the proposal (and scored once) at the run's first step
    distill_rerank: str = "critic"  # critic (its calibrated log-ratio), or likelihood: the proposal's own, the control
    # optimiser of the trained model (Adam; the critic's for guided); the family's defaults come from FAMILY_DEFAULTS
    lr: float = 2e-4
    lr_final: float = 1.0  # lr at the end of the decay as a fraction of lr, reached by a cosine; 1 = constant
    # updates over which the cosine runs; 0 = the run's steps. A fixed horizon makes the schedule independent of the
    # step budget, so a run stopped early and resumed with a larger budget matches one run to the end exactly
    lr_decay_steps: int = 0
    beta1: float = 0.5
    beta2: float = 0.99
    grad_clip: float = 0.0  # max global gradient norm of the sampled model; 0 = no clipping
    # a likelihood family's forward and backward under bfloat16 autocast, where this CPU multiplies bfloat16 natively
    # (AMX, AVX-512; models/low_precision.use_bfloat16): about 2x faster at hidden 512; weights and Adam stay float32
    bf16_autocast: bool = False
    # data
    transpose: bool = True  # apply the dataset's train-split transposition range
    init_from: str = ""  # run dir or checkpoint whose weights start this run (fine-tuning); "" = none
    # init_from may be a sequence model of a smaller hidden size: it starts this wider one, computing exactly what it
    # computed, its new units silent until training opens them (models/widen.py)
    init_widen: bool = False
    # bookkeeping
    log_every: int = 50  # steps between stats lines (jsonl + TensorBoard)
    sample_every: int = 1000  # steps between sample grids (PNG + MIDI) from fixed seeds
    sample_count: int = 16  # pieces per grid; 0 = no grids
    ckpt_every: int = 500  # steps between checkpoints; a killed run loses at most this many steps
    keep_ckpts: int = 3  # newest checkpoints kept

    def validate(self) -> "TrainConfig":
        """Types and ranges; names of registries (family, loss) are checked by the registries themselves when
        the run is built, so this low layer does not import them."""
        if self.family not in FAMILY_DEFAULTS:
            raise UserError(f"family {self.family!r} unknown; choose one of {', '.join(FAMILY_DEFAULTS)}")
        positive = ("steps", "batch_size", "z_dim", "g_channels", "d_channels", "d_steps", "r1_interval",
                    "log_every", "sample_every", "ckpt_every", "keep_ckpts", "pack", "style_dim", "enc_channels",
                    "hidden", "layers", "embed")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.batch_size % self.pack or (self.ms_weight > 0 and self.batch_size % 2):
            raise UserError("batch_size must be divisible by pack (and even when ms_weight > 0)")
        if self.batch_size > 4096 or self.steps > 10_000_000:
            raise UserError("batch_size or steps is absurdly large")
        for name in ("lr", "lr_d", "gumbel_tau"):
            if not getattr(self, name) > 0:
                raise UserError(f"{name} must be > 0")
        if not 0 <= self.lr_final <= 1:
            raise UserError(f"lr_final must lie in [0, 1] (got {self.lr_final})")
        if self.init_widen and not self.init_from:
            raise UserError("init_widen widens the model init_from names: set init_from")
        if min(self.kl_weight, self.kl_warmup, self.grad_clip, self.sample_count, self.ema_kimg,
               self.lr_decay_steps, self.adv_weight, self.adv_kl, self.r1_gamma) < 0:
            raise UserError("kl_weight, kl_warmup, grad_clip, sample_count, ema_kimg, lr_decay_steps, adv_weight, "
                            "adv_kl and r1_gamma must be >= 0")
        if self.adv_weight > 0 and self.family != "mle":
            raise UserError(f"adv_weight fine-tunes the sequence model (family mle), not {self.family}")
        if not 1 <= self.candidates <= 64:
            raise UserError(f"candidates must lie in 1..64 (got {self.candidates})")
        if not 0 <= self.beta <= 100:
            raise UserError(f"beta must lie in 0..100 (got {self.beta})")
        if self.rerank not in ("critic", "likelihood"):
            raise UserError(f"rerank must be critic or likelihood (got {self.rerank!r})")
        if self.critic not in ("conv", "sequence", "sounding", "residual", "causal", "causal-sounding"):
            raise UserError(f"critic must be conv, sequence, sounding, residual, causal or causal-sounding "
                            f"(got {self.critic!r})")
        causal = self.critic.startswith("causal")
        if self.silence_charge < 0 or (self.silence_charge > 0 and (self.adv_weight == 0 or causal)):
            raise UserError(f"silence_charge (got {self.silence_charge}) is a charge >= 0 on the whole-window reward "
                            "of an adversarial fine-tune: it needs adv_weight > 0 and a window critic (not causal)")
        if not 0 < self.adv_gamma <= 1 or self.adv_warmup < 0:
            raise UserError(f"adv_gamma must lie in (0, 1] and adv_warmup be >= 0 (got {self.adv_gamma}, "
                            f"{self.adv_warmup})")
        if self.adv_mode_weight != 1 and not (self.adv_weight > 0 and self.mode_condition
                                               and self.critic in ("sequence", "sounding")):
            raise UserError(f"adv_mode_weight (got {self.adv_mode_weight}) weighs a mode critic's judgement: it needs "
                            "adv_weight > 0, mode_condition and critic sequence or sounding")
        if self.adv_pitch_temperature and self.adv_weight <= 0:
            raise UserError(f"adv_pitch_temperature (got {self.adv_pitch_temperature!r}) is the pitch temperature an "
                            "adversarial fine-tune samples at: it needs adv_weight > 0")
        if self.adv_estimator not in ESTIMATORS:
            raise UserError(f"adv_estimator must be one of {', '.join(ESTIMATORS)} (got {self.adv_estimator!r})")
        if not 0 < self.adv_tau <= 100 or not 0 <= self.adv_tau_final <= 100:
            raise UserError(f"adv_tau must lie in (0, 100] and adv_tau_final in [0, 100] (got {self.adv_tau}, "
                            f"{self.adv_tau_final})")
        if self.adv_estimator.startswith("straight-through"):
            # the straight-through gradient is the critic's with respect to its input: what it does not read as a
            # differentiable function of the one-hots has no gradient to give (the silence charge, a function of
            # the drawn tokens alone, enters by the score function instead)
            rewards = {"a causal critic": causal, "window_critic_init": bool(self.window_critic_init),
                       "adv_mode_weight": self.adv_mode_weight != 1,
                       "adv_weight = 0": self.adv_weight <= 0}
            clash = [name for name, on in rewards.items() if on]
            if clash:
                raise UserError(f"adv_estimator {self.adv_estimator} differentiates a window critic's logit: it does "
                                f"not take {', '.join(clash)} (use adv_estimator reinforce)")
        if self.adv_mode_weight < 0:
            raise UserError(f"adv_mode_weight must be >= 0 (got {self.adv_mode_weight})")
        self._validate_distill()
        if self.critic == "residual" and self.family != "guided":
            raise UserError("critic residual reads a frozen proposal's state: it serves family guided only")
        if self.family == "guided" and not self.base_model:
            raise UserError("family guided needs base_model: the model whose candidates the critic resamples "
                            "(e.g. base_model=mle)")
        if self.mode_condition and self.family != "mle":
            raise UserError(f"mode_condition conditions the sequence model (family mle), not {self.family}")
        if not 0 <= self.style_balance <= 1:
            raise UserError(f"style_balance must lie in [0, 1] (got {self.style_balance})")
        if not 0 <= self.dropout < 1:
            raise UserError("dropout must lie in [0, 1)")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise UserError("betas must lie in [0, 1)")
        return self

    def _validate_distill(self) -> None:
        defaults = TrainConfig.__dataclass_fields__
        knobs = ("distill_weight", "distill_beta", "distill_pool", "distill_rerank")
        if not self.distill_from:
            changed = [k for k in knobs if getattr(self, k) != defaults[k].default]
            if changed:
                raise UserError(f"{', '.join(changed)} tune a distillation: set distill_from to a guided model")
            return
        if self.family != "mle" or self.adv_weight > 0 or self.mode_condition:
            raise UserError("distill_from fine-tunes the sequence model (family mle) without adv_weight or "
                            "mode_condition")
        if not 0 < self.distill_weight <= 100 or not 0 <= self.distill_beta <= 100:
            raise UserError(f"distill_weight must lie in (0, 100] and distill_beta in [0, 100] (got "
                            f"{self.distill_weight}, {self.distill_beta})")
        if not self.batch_size <= self.distill_pool <= 1_000_000:
            raise UserError(f"distill_pool must lie in batch_size..1000000 (got {self.distill_pool})")
        if self.distill_rerank not in ("critic", "likelihood"):
            raise UserError(f"distill_rerank must be critic or likelihood (got {self.distill_rerank!r})")
        teachers = self.distill_teachers()
        if len(set(teachers)) != len(teachers) or not teachers:
            raise UserError(f"distill_from names each guided model once, separated by commas (got "
                            f"{self.distill_from!r})")

    def distill_teachers(self) -> list[str]:
        """The guided models ``distill_from`` names, in order (the first's proposal draws the pool)."""
        return [name.strip() for name in self.distill_from.split(",") if name.strip()]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def coerce_field(name: str, typ, value):
    if isinstance(value, str):
        text = value.strip()
        try:
            if typ is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if typ is int:
                return int(float(text)) if "e" in text.lower() else int(text)
            if typ is float:
                return float(text)
            return text
        except ValueError:
            raise UserError(f"config {name}: {value!r} is not a {typ.__name__}") from None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise UserError(f"config {name}: {value!r} is not a {typ.__name__}")
    return value


def config_from_dict(d: dict, base: TrainConfig | None = None) -> TrainConfig:
    types = {f.name: f.type for f in fields(TrainConfig)}  # plain classes: this module has no string annotations
    unknown = sorted(set(d) - set(types))
    if unknown:
        raise UserError(f"unknown config key(s): {', '.join(unknown)}")
    values = {k: coerce_field(k, types[k], v) for k, v in d.items()}
    if base is None or values.get("family", base.family) != base.family:
        family = values.get("family", "gan")
        if family not in FAMILY_DEFAULTS:
            raise UserError(f"family {family!r} unknown; choose one of {', '.join(FAMILY_DEFAULTS)}")
        base = TrainConfig(family=family, **FAMILY_DEFAULTS[family])
    return dataclasses.replace(base, **values).validate()


def load_config(path: str | None, overrides: list[str]) -> TrainConfig:
    d: dict = {}
    if path:
        d = read_json_object(path, "config")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set wants key=value (got {item!r})")
        d[key.strip()] = value
    return config_from_dict(d)
