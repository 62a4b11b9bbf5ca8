"""The typed config of a baseline run (VAE or autoregressive), validated at the edge like ``TrainConfig``."""

import dataclasses
from dataclasses import dataclass, fields

from ..config import TrainConfig, coerce_field
from ..errors import UserError

BASELINE_KINDS = ("vae", "ar")


@dataclass(frozen=True)
class BaselineConfig:
    kind: str = "vae"  # vae (ELBO, decoder = the GAN's Generator) or ar (autoregressive LSTM, maximum likelihood)
    # run
    seed: int = 0  # seeds init, batch order, transposition and the VAE's reparameterisation noise
    steps: int = 10000  # optimiser updates (one batch each)
    batch_size: int = 64  # windows per update
    threads: int = 0  # torch CPU threads; 0 = torch's default
    conditional: bool = True  # condition on style (encoder, decoder / LSTM input); False = one unconditional model
    style_dim: int = 32  # style embedding size
    # VAE: the decoder is the GAN's Generator with these sizes (same meaning as in TrainConfig)
    z_dim: int = 128  # latent size; samples use z ~ N(0, I)
    g_channels: int = 256  # decoder (Generator) width at the bar resolution
    enc_channels: int = 256  # encoder width at the bar resolution
    kl_weight: float = 1.0  # beta of the KL term; 1 = the true ELBO
    kl_warmup: int = 1000  # steps over which the KL weight ramps linearly from 0 to kl_weight; 0 = no ramp
    # AR
    hidden: int = 256  # LSTM hidden size
    layers: int = 2  # LSTM layers
    embed: int = 32  # per-voice token embedding size at the LSTM input
    dropout: float = 0.0  # dropout between LSTM layers (training only)
    # optimiser (Adam)
    lr: float = 1e-3
    lr_final: float = 1.0  # learning rate at the last step as a fraction of lr, reached by a cosine; 1 = constant
    beta1: float = 0.9
    beta2: float = 0.999
    grad_clip: float = 1.0  # max global gradient norm; 0 = no clipping
    # data
    transpose: bool = True  # apply the dataset's train-split transposition range (as the GAN does)
    # bookkeeping
    log_every: int = 50  # steps between stats lines (jsonl + TensorBoard)
    sample_count: int = 16  # pieces in the final sample grid (samples/final.png); 0 = none

    def validate(self) -> "BaselineConfig":
        if self.kind not in BASELINE_KINDS:
            raise UserError(f"baseline kind {self.kind!r} unknown; choose one of {', '.join(BASELINE_KINDS)}")
        for name in ("steps", "batch_size", "z_dim", "style_dim", "g_channels", "enc_channels", "hidden", "layers",
                     "embed", "log_every"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.batch_size > 4096 or self.steps > 10_000_000:
            raise UserError("batch_size or steps is absurdly large")
        if not self.lr > 0:
            raise UserError("lr must be > 0")
        if not 0 <= self.lr_final <= 1:
            raise UserError(f"lr_final must lie in [0, 1] (got {self.lr_final})")
        if self.kl_weight < 0 or self.kl_warmup < 0 or self.grad_clip < 0 or self.sample_count < 0:
            raise UserError("kl_weight, kl_warmup, grad_clip and sample_count must be >= 0")
        if not 0 <= self.dropout < 1:
            raise UserError("dropout must lie in [0, 1)")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise UserError("betas must lie in [0, 1)")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def generator_config(self) -> dict:
        """A TrainConfig dict describing the VAE decoder, so the model file loads like a GAN's
        (``sample.model.build_generator`` reads z_dim, style_dim, g_channels, conditional)."""
        return TrainConfig(seed=self.seed, steps=self.steps, batch_size=self.batch_size, z_dim=self.z_dim,
                           style_dim=self.style_dim, g_channels=self.g_channels, conditional=self.conditional,
                           ema_kimg=0.0).to_dict()


def baseline_config_from_dict(d: dict, base: BaselineConfig | None = None) -> BaselineConfig:
    """Unknown keys are an error, values are coerced from strings (``--set key=value``) like TrainConfig's."""
    types = {f.name: f.type for f in fields(BaselineConfig)}  # plain classes: no string annotations here
    unknown = sorted(set(d) - set(types))
    if unknown:
        raise UserError(f"unknown baseline config key(s): {', '.join(unknown)}")
    values = {k: coerce_field(k, types[k], v) for k, v in d.items()}
    return dataclasses.replace(base or BaselineConfig(), **values).validate()
