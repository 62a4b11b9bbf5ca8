"""One typed training config, validated at the edge: a JSON file plus ``--set key=value`` overrides.

Unknown keys are errors, never silent defaults. The resolved config is frozen into the run dir and every
checkpoint.
"""

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import UserError


@dataclass(frozen=True)
class TrainConfig:
    # run
    seed: int = 0  # seeds init, latents, Gumbel noise and batch order
    steps: int = 10000  # generator updates
    batch_size: int = 64  # windows per D and G step (per process under DDP)
    threads: int = 0  # torch CPU threads; 0 = torch's default
    # model
    z_dim: int = 128  # latent size
    style_dim: int = 32  # G's style embedding size
    g_channels: int = 256  # G width at the bar resolution
    d_channels: int = 256  # D width at the bar resolution
    conditional: bool = True  # condition G and D on style; False = one unconditional model
    # objective
    loss: str = "nonsat"  # nonsat (the seed's, non-saturating G), minimax, hinge, wgan-gp
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
    # optimiser
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.99
    # EMA of G's weights: half-life in thousands of training windows (stylegan2-ada's ema_kimg); 0 = off
    ema_kimg: float = 10.0
    # data
    transpose: bool = True  # apply the dataset's train-split transposition range
    # train on windows moved onto the white-key diatonic set (data/keys.py) instead of transposed at random;
    # generated windows are moved back to keys drawn from the data's own key distribution per style
    key_normalise: bool = False
    init_from: str = ""  # run dir or checkpoint whose G, D and G_ema weights start this run (fine-tuning); "" = none
    # bookkeeping
    log_every: int = 50  # steps between stats lines (jsonl + TensorBoard)
    sample_every: int = 1000  # steps between sample grids (PNG + MIDI) from fixed seeds
    sample_count: int = 16  # pieces per grid
    ckpt_every: int = 500  # steps between checkpoints; a killed run loses at most this many steps
    keep_ckpts: int = 3  # newest checkpoints kept

    def validate(self) -> "TrainConfig":
        from .losses.adversarial import OBJECTIVES

        if self.loss not in OBJECTIVES:
            raise UserError(f"loss {self.loss!r} unknown; choose one of {', '.join(OBJECTIVES)}")
        positive = ("steps", "batch_size", "z_dim", "g_channels", "d_channels", "d_steps", "r1_interval",
                    "log_every", "sample_every", "ckpt_every", "keep_ckpts", "pack")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.batch_size % self.pack or (self.ms_weight > 0 and self.batch_size % 2):
            raise UserError("batch_size must be divisible by pack (and even when ms_weight > 0)")
        if self.batch_size > 4096 or self.steps > 10_000_000:
            raise UserError("batch_size or steps is absurdly large")
        for name in ("lr_g", "lr_d", "gumbel_tau"):
            if not getattr(self, name) > 0:
                raise UserError(f"{name} must be > 0")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise UserError("betas must lie in [0, 1)")
        return self

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
    return dataclasses.replace(base or TrainConfig(), **values).validate()


def load_config(path: str | None, overrides: list[str]) -> TrainConfig:
    d: dict = {}
    if path:
        try:
            d = json.loads(Path(path).read_text())
        except OSError as e:
            raise UserError(f"cannot read config {path}: {e.strerror}") from None
        except ValueError as e:
            raise UserError(f"config {path} is not valid JSON: {e}") from None
        if not isinstance(d, dict):
            raise UserError(f"config {path} must hold a JSON object")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set wants key=value (got {item!r})")
        d[key.strip()] = value
    return config_from_dict(d)
