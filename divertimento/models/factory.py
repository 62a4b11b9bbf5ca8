"""The one place that knows the model families: build a family's sampled module from a config, load a model
file of any family, and name the shipped models.

Adding a family: its module in its own file under models/ (with ``latent_dim``, ``noise_shape``,
``sampling_options``, ``supports_strict_voice_leading`` and ``sample``), one ``Family`` entry here; the
trainer's likelihood recipe trains it once its loss is in ``losses.likelihood.LIKELIHOOD_LOSSES``
(docs/architecture.md).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import TrainConfig, config_from_dict
from ..data.conditions import mode_count, n_conditions
from ..errors import UserError
from .files import latest_checkpoint, module_state, read_file
from .generator import Generator
from .guided import GuidedSampler, build_critic
from .sequence import ARModel
from .vae import VAE, Encoder

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def build_generator(cfg: TrainConfig, data: dict) -> Generator:
    return Generator(n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
                     z_dim=cfg.z_dim, n_styles=n_conditions(data), style_dim=cfg.style_dim,
                     channels=cfg.g_channels, conditional=cfg.conditional)


def build_sequence(cfg: TrainConfig, data: dict) -> ARModel:
    return ARModel(n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
                   n_styles=len(data["style_names"]), bar_steps=tuple(data.get("meter_bar_steps", ())),
                   style_dim=cfg.style_dim, hidden=cfg.hidden,
                   layers=cfg.layers, embed=cfg.embed, dropout=cfg.dropout, conditional=cfg.conditional,
                   sounding_context=cfg.sounding_context, n_modes=mode_count(data))


def build_vae(cfg: TrainConfig, data: dict) -> VAE:
    enc = Encoder(len(data["roles"]), data["vocab_size"], data["window_steps"], cfg.z_dim,
                  n_conditions(data), cfg.style_dim, cfg.enc_channels, cfg.conditional, data["pitch_range"][0])
    return VAE(enc, build_generator(cfg, data))


def build_guided(cfg: TrainConfig, data: dict, header: dict) -> GuidedSampler:
    """A guided sampler shaped like a model file's: its proposal rebuilt from the header's ``base`` entry."""
    base = header["base"]
    proposal = family(base["family"]).build_sampled(config_from_dict(base["config"]), data, base)
    return GuidedSampler(proposal, build_critic(cfg, data, proposal), cfg.candidates, cfg.beta, cfg.rerank)


@dataclass(frozen=True)
class Family:
    name: str
    summary: str  # one line for `divertimento models`
    # the module a model file stores and samples, shaped by the file's config, data summary and header
    build_sampled: Callable[[TrainConfig, dict, dict], torch.nn.Module]
    # likelihood families: the module the trainer optimises, and the part of it that is sampled
    build: Callable[[TrainConfig, dict], torch.nn.Module] | None = None
    sampled: Callable[[torch.nn.Module], torch.nn.Module] | None = None


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("gan", "token GAN: a style-conditional generator trained against a discriminator",
           lambda cfg, data, header: build_generator(cfg, data)),
    Family("vae", "variational auto-encoder whose decoder is the GAN's generator, trained on the ELBO",
           lambda cfg, data, header: build_generator(cfg, data), build_vae, lambda m: m.decoder),
    Family("mle", "autoregressive sequence model (LSTM, voice by voice) trained by maximum likelihood",
           lambda cfg, data, header: build_sequence(cfg, data), build_sequence, lambda m: m),
    Family("guided", "a trained model's K candidates resampled by a calibrated critic's density ratio",
           build_guided),
)}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise UserError(f"model family {name!r} unknown; this divertimento knows {', '.join(FAMILIES)}")
    return FAMILIES[name]


# The models that ship inside the package, by name. `generate`, `demo` and `evaluate` use DEFAULT_MODEL when given
# none, and so does the studio (STUDIO_MODEL), which refuses a model it cannot sample with given notes in one line.
@dataclass(frozen=True)
class Shipped:
    path: Path
    about: str  # what it is, one line
    trained: str  # how to make it again: the train command(s) and configs
    figures: str  # headline figures (docs/model-card.md and docs/adversarial.md have the rest)


SHIPPED = {
    "mle-wide-keyed": Shipped(ASSETS / "mle-wide-keyed.safetensors",
                              "mle-wide trained on by maximum likelihood on windows in their written keys (no "
                              "transposition): the likelihood baseline every adversarial model is measured against, "
                              "and the default since round 26 (none is ahead of it)",
                              "train --config configs/mle-wide-keyed.json (400 steps from mle-wide, 7.8 min on 2 "
                              "cores), then export runs/mle-wide-keyed FILE --option pitch_temperature=bach:0.7, "
                              "then train --config configs/strains.json (its reels' strain critic, calibrated, "
                              "1.4 min; base_model the exported FILE)",
                              "as shipped (pitch temperature 0.7 in Bach): Bach precision 0.815, coverage 0.757, "
                              "two-sample 0.747 (adversarial-wide 0.844, 0.709, 0.788); tonic distance 0.09-0.19 per "
                              "style (mle-wide 0.37-0.59); held-out NLL the lowest of all models in five of six "
                              "styles (Bach 0.4995) (docs/adversarial.md, rounds 25 and 26); reels and jigs with "
                              "each strain chosen by the calibrated critic: a judge tells their first strains from "
                              "held-out real ones at 0.65 (fiddle) and 0.60 (Irish), against 0.95 and 0.88 "
                              "through-composed, and their B strains at 0.59 in both (docs/adversarial.md, rounds "
                              "28 and 29)"),
    "adversarial-wide": Shipped(ASSETS / "adversarial-wide.safetensors",
                                "mle-wide fine-tuned adversarially by adversarial's recipe (hidden 512)",
                                "train --config configs/mle-wide.json --out runs/mle-wide, then "
                                "train --config configs/adversarial-wide.json --out runs/adversarial-wide (1,500 "
                                "steps, 46 min on 2 cores), then export runs/adversarial-wide FILE "
                                "--option pitch_temperature=bach:0.7",
                                "as shipped (T = 1, pitch temperature 0.7 in Bach): Bach precision 0.844, coverage "
                                "0.709, two-sample 0.788 (0.750, 0.652, 0.818 without it); tonic distance 0.10-0.21 "
                                "per style (mle 0.35-0.56); held-out NLL below adversarial's in every style (Bach "
                                "0.502 against 0.516) (docs/adversarial.md, rounds 10 and 12)"),
    "mle-wide": Shipped(ASSETS / "mle-wide.safetensors",
                        "mle grown to hidden 512 (its units kept, new ones silent at first) and trained on by "
                        "maximum likelihood",
                        "train --config configs/mle-wide.json (4,000 steps from mle, 38 min on 2 cores)",
                        "held-out NLL below mle's in every style (Bach 0.501 against 0.516); Bach coverage 0.645, "
                        "two-sample 0.792 (mle 0.565, 0.825) at T = 1 (docs/adversarial.md, round 10)"),
    "adversarial": Shipped(ASSETS / "adversarial.safetensors",
                           "mle fine-tuned adversarially: its likelihood plus a policy gradient rewarded by guided's "
                           "critic, anchored to mle",
                           "train --config configs/adversarial.json (1,500 steps from mle, 24 min on 2 cores)",
                           "per style, tonic distance to real keys 0.12-0.19 against mle's 0.35-0.56 at T = 1; "
                           "precision and coverage as mle's; above mle's front on the LM axes at 3 of 3 quality "
                           "levels (reverse-LM +0.017-0.042, spread <= 0.008); held-out NLL 0.254 "
                           "(docs/adversarial.md)"),
    "mle": Shipped(ASSETS / "mle.safetensors", "the LSTM sequence model trained by maximum likelihood",
                   "train --config configs/mle.json (12,000 steps)",
                   "test split: precision 0.910, coverage 0.921, FDD 1.79 at temperature 1 (docs/model-card.md)"),
    "guided": Shipped(ASSETS / "guided.safetensors",
                      "mle's 8 candidates per piece resampled by a sequence critic's density ratio (beta 1)",
                      "train --config configs/mle-guided-sequence.json (1,500 critic steps, 17 min on 2 cores)",
                      "critic held-out accuracy 0.81; per style, tonic distance to real keys 0.12-0.23 at beta 1 "
                      "against mle's 0.35-0.56, coverage as mle's or above (docs/adversarial.md)"),
    "gan": Shipped(ASSETS / "gan.safetensors", "the key-normalised VAE-GAN token generator (a baseline row)",
                   "train --config configs/gan-base.json, then gan-vaegan.json, then gan.json",
                   "coverage 0.36 on the train-split scale (docs/ablation.md)"),
}
# round 26: the best model by the protocol; no adversarial model is ahead of it (docs/adversarial.md)
DEFAULT_MODEL = "mle-wide-keyed"
STUDIO_MODEL = DEFAULT_MODEL  # the studio's tools sample the same model with some notes given (studio/engine.py)


def resolve_model_path(model: str | Path | None) -> Path:
    """A model file from a shipped model's name, a model file, a checkpoint or a run dir; None = the default."""
    if model is None:
        model = DEFAULT_MODEL
    if isinstance(model, str) and model in SHIPPED:
        path = SHIPPED[model].path
        if not path.is_file():
            raise UserError(f"shipped model {model!r} is missing from this installation ({path.name})")
        return path
    p = Path(model)
    if p.is_dir():
        if (p / "model.safetensors").is_file():
            return p / "model.safetensors"
        ckpt = latest_checkpoint(p)
        if ckpt is None:
            raise UserError(f"{p} holds no model.safetensors and no checkpoints")
        return ckpt
    if not p.exists() and not p.suffix and "/" not in str(model):
        raise UserError(f"no model named {model!r}; shipped models: {', '.join(SHIPPED)} (or give a path)")
    return p


def load_module(header: dict, tensors: dict, path: Path) -> torch.nn.Module:
    """The sampled module of a model file or checkpoint, in eval mode with frozen weights. A checkpoint holds
    the training modules too; ``model`` is always the sampled one (the EMA generator for a GAN)."""
    fam = family(header.get("family", "?"))
    try:
        cfg = config_from_dict(header["config"])
        module = fam.build_sampled(cfg, header["data"], header)
        module.load_state_dict(module_state(tensors, "model"))
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise UserError(f"{path} does not match this divertimento's {fam.name} model "
                        f"({str(e).splitlines()[0][:100]})") from None
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


def load(model: str | Path | None) -> tuple[dict, torch.nn.Module, Path]:
    """(header, sampled module, path) of a model given by shipped name or path; None = the default model."""
    path = resolve_model_path(model)
    header, tensors = read_file(path)
    return header, load_module(header, tensors, path), path


