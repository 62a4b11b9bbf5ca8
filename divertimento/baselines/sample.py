"""One adapter for sampling token windows from any model file the ablation produces: GAN, VAE or AR.

    sampler = load_model("runs/x/model.safetensors")
    tokens, styles = sampler.generate_tokens([(7, i) for i in range(1000)], temperature=1.0)

GAN and VAE files are GAN-compatible model files (the VAE stores its decoder as ``G_ema``) and are sampled by
``sample.generate.generate_tokens`` itself. AR files are sampled token by token here with the same per-piece
recipe: piece (seed, index) draws its style and its sampling noise from its own generator seeded by
``piece_seed(seed, index)``, so the same seed gives the same window whatever else is generated in the batch.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..sample.generate import check_request, draw_style, generate_tokens, piece_seed, seed_pairs, tokens_to_piece
from ..sample.model import DEFAULT_MODEL, GeneratorBundle, load_generator, resolve_model_path
from ..train.checkpoint import module_state, read_file
from .ar import ARModel

MODEL_KINDS = ("gan", "vae", "ar")
# What `generate` and `demo` use without --model: the shipped model the ablation ranks best (docs/ablation.md),
# the autoregressive one. The studio's latent tools (variations, harmonisation, steering) need a latent, so they
# use the shipped GAN (sample.model.DEFAULT_MODEL).
PIECES_MODEL = DEFAULT_MODEL.parent / "default_ar_model.safetensors"


def model_kind(header: dict) -> str:
    """"gan" for trainer output; the baseline's kind for files written by ``train_baseline``."""
    return header.get("baseline", {}).get("kind", "gan")


def build_ar(cfg: dict, data: dict) -> ARModel:
    return ARModel(n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
                   n_styles=len(data["style_names"]), style_dim=cfg["style_dim"], hidden=cfg["hidden"],
                   layers=cfg["layers"], embed=cfg["embed"], dropout=cfg["dropout"], conditional=cfg["conditional"])


@dataclass
class ModelSampler:
    kind: str  # gan, vae or ar
    header: dict  # the model file's metadata (config, data summary, step, ...)
    path: Path
    bundle: GeneratorBundle | None = None  # gan and vae
    ar: ARModel | None = None  # ar

    @property
    def manifest(self) -> dict:
        return self.header["data"]

    @property
    def low(self) -> int:
        return self.manifest["pitch_range"][0]

    @property
    def style_names(self) -> list[str]:
        return self.manifest["style_names"]

    @property
    def conditional(self) -> bool:
        module = self.ar if self.ar is not None else self.bundle.G
        return bool(module.conditional)

    @property
    def default_temperature(self) -> float:
        """The model file's recommended sampling temperature (its model card says how it was chosen); 1.0 = the
        model's own distribution where the file names none."""
        return float(self.header.get("sampling", {}).get("temperature", 1.0))

    @property
    def strict_voice_leading(self) -> bool:
        """Whether the model file recommends sampling with no parallel fifths or octaves (AR models only: False
        for a GAN or VAE whatever its header says)."""
        return self.ar is not None and bool(self.header.get("sampling", {}).get("strict_voice_leading", False))

    @property
    def has_latent(self) -> bool:
        """Whether truncation applies (a latent z ~ N(0, I) to truncate)."""
        return self.kind in ("gan", "vae")

    def generate_tokens(self, seeds, style: str | None = None, truncation: float | None = None,
                        temperature: float | None = 1.0, batch_size: int = 256,
                        strict_voice_leading: bool | None = None) -> tuple[np.ndarray, list[str]]:
        """Token windows [N, V, T] uint8 (relative to ``low``) and each window's style name; deterministic per
        (seed, index). ``temperature`` and ``strict_voice_leading`` None = the model file's recommendation."""
        if self.bundle is not None:
            if strict_voice_leading:
                raise UserError("strict voice leading applies to the autoregressive model (it picks voice by voice)")
            return generate_tokens(self.bundle, seeds, style, truncation, temperature, batch_size)
        temperature = self.default_temperature if temperature is None else temperature
        strict = self.strict_voice_leading if strict_voice_leading is None else strict_voice_leading
        return _ar_tokens(self, seeds, style, truncation, temperature, batch_size, strict)

    def generate_pieces(self, seeds, style: str | None = None, truncation: float | None = None,
                        temperature: float | None = None, strict_voice_leading: bool | None = None):
        pairs = seed_pairs(seeds)
        tokens, styles = self.generate_tokens(pairs, style, truncation, temperature,
                                              strict_voice_leading=strict_voice_leading)
        return [tokens_to_piece(t, self.low, self.manifest, s, f"{s} seed {seed}.{index}")
                for t, s, (seed, index) in zip(tokens, styles, pairs)]


def _ar_tokens(sampler: ModelSampler, seeds, style, truncation, temperature, batch_size, strict: bool):
    pairs = seed_pairs(seeds)
    names = sampler.style_names
    check_request(pairs, style, names, temperature)
    if truncation is not None:
        raise UserError("truncation applies to latent models (GAN, VAE); the autoregressive model has no latent")
    model = sampler.ar
    s_all, noise_all = [], []
    for seed, index in pairs:
        rng = torch.Generator().manual_seed(piece_seed(seed, index))
        s_all.append(draw_style(float(torch.rand(1, generator=rng)), style, names, sampler.manifest["style_shares"]))
        u = torch.rand(model.n_voices, model.n_steps, model.vocab_size, generator=rng).clamp_(1e-9, 1 - 1e-9)
        noise_all.append(-torch.log(-torch.log(u)))
    out = []
    for a in range(0, len(pairs), batch_size):
        s = torch.tensor(s_all[a : a + batch_size])
        out.append(model.sample(s if model.conditional else None, torch.stack(noise_all[a : a + batch_size]),
                                temperature, strict))
    return torch.cat(out).numpy().astype(np.uint8), [names[i] for i in s_all]


def load_model(path: str | Path | None) -> ModelSampler:
    """A sampler for a GAN, VAE or AR model file (or a run dir holding model.safetensors); None = the shipped
    model for pieces (``PIECES_MODEL``, or the shipped GAN in an installation without it)."""
    if path is None and PIECES_MODEL.is_file():
        path = PIECES_MODEL
    p = resolve_model_path(path)
    header, tensors = read_file(p)
    kind = model_kind(header)
    if kind in ("gan", "vae"):
        bundle = load_generator(p)
        return ModelSampler(kind, bundle.header, p, bundle=bundle)
    if kind != "ar":
        raise UserError(f"{p}: unknown model kind {kind!r} (this divertimento knows {', '.join(MODEL_KINDS)})")
    try:
        model = build_ar(header["baseline"]["config"], header["data"])
        model.load_state_dict(module_state(tensors, "model"))
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise UserError(f"{p} does not match this divertimento's AR model ({str(e).splitlines()[0][:100]})") from None
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return ModelSampler(kind, header, p, ar=model)
