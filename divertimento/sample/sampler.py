"""The one sampler every command uses: a loaded model of any family behind one interface.

    sampler = load_sampler("mle")                       # a shipped model's name, a model file or a run dir
    tokens, styles = sampler.generate_tokens([(7, i) for i in range(1000)])
    pieces = sampler.generate_pieces([(7, 0), (7, 1)], style="bach")

Each piece's random draws come from ``draw.draw_piece`` (latent, style, noise, key, in that order); the model
owns how those draws become tokens (``module.sample``). Commands never branch on the family.
"""

from pathlib import Path

import numpy as np
import torch

from ..data.conditions import condition_labels
from ..data.keys import place_in_key
from ..errors import UserError
from ..models.factory import load_module, resolve_model_path
from ..models.files import read_file
from .draw import DrawSpec, PieceDraw, check_meter, check_request, draw_piece, known_meters, seed_pairs
from .fingerprint import TENSOR as FINGERPRINT
from .per_style import per_style
from .pieces import name_piece, seed_label, silence_unused_voices, tokens_to_piece


class Sampler:
    def __init__(self, module: torch.nn.Module, header: dict, path: Path, fingerprint: torch.Tensor | None = None):
        self.module = module  # the family's sampled module, eval mode (``latent_dim``, ``sample``)
        self.header = header  # the model file's metadata: family, config, data summary, step, sampling, ...
        self.path = path
        self.fingerprint = fingerprint  # its training windows, compact (sample/fingerprint.py), or None

    @property
    def family(self) -> str:
        return self.header["family"]

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
    def meter_names(self) -> list[str]:
        """Meters the model knows, most common first; the data's first kept meter for a model without meters."""
        return known_meters(self.manifest)

    def bar_steps(self, meter: int) -> int:
        """Steps in a bar of meter index ``meter``."""
        bars = self.manifest.get("meter_bar_steps")
        return int(bars[meter]) if bars else 4 * int(self.manifest["steps_per_quarter"])

    @property
    def style_shares(self) -> list[float]:
        return self.manifest["style_shares"]

    @property
    def conditional(self) -> bool:
        return bool(self.module.conditional)

    @property
    def has_latent(self) -> bool:
        """Whether pieces come from a latent z ~ N(0, I) (truncation and the studio's latent tools apply)."""
        return self.module.latent_dim > 0

    @property
    def default_temperature(self) -> float:
        """The model file's recommended sampling temperature (its model card says how it was chosen); 1.0 = the
        model's own distribution where the file names none."""
        return float(self.header.get("sampling", {}).get("temperature", 1.0))

    @property
    def strict_voice_leading(self) -> bool:
        """Whether the model file recommends sampling with no parallel fifths or octaves (ignored for a model that
        cannot: one that draws every voice at once)."""
        recommended = bool(self.header.get("sampling", {}).get("strict_voice_leading", False))
        return recommended and self.module.supports_strict_voice_leading

    def noise_shape(self, options: dict | None = None) -> tuple[int, ...]:
        """A piece's noise for the family's sampling ``options`` (a guided sampler's ``candidates`` sets its K)."""
        m = self.module
        if not options or not hasattr(m, "noise_shape_for"):
            return m.noise_shape
        try:
            return m.noise_shape_for(options)
        except ValueError as e:
            raise UserError(f"{self.family} model: {e}") from None

    def draw_spec(self, options: dict | None = None) -> DrawSpec:
        m = self.module
        return DrawSpec(m.latent_dim, self.noise_shape(options), self.style_names, self.style_shares, self.manifest)

    def options(self, overrides: dict | None = None) -> dict:
        """The family's own sampling knobs (``module.sampling_options``, e.g. a guided sampler's beta): the model
        file's recommendation, then ``overrides``; a knob the family does not have is one clear error."""
        names = self.module.sampling_options
        unknown = sorted(set(overrides or {}) - set(names))
        if unknown:
            known = ", ".join(names) or "none"
            raise UserError(f"{self.family} model has no sampling option {', '.join(unknown)} (it has: {known})")
        recommended = {k: v for k, v in self.header.get("sampling", {}).items() if k in names}
        options = {**recommended, **(overrides or {})}
        for key, neutral in getattr(self.module, "per_style_options", {}).items():
            if key in options:  # one value, or one per style in the module's style order
                options[key] = per_style(key, options[key], self.style_names, neutral)
        return options

    def draw(self, seed: int, index: int, style: str | None = None, truncation: float | None = None,
             meter: str | None = None, options: dict | None = None) -> PieceDraw:
        return draw_piece(self.draw_spec(options), seed, index, style, truncation, meter)

    def draws(self, pairs: list[tuple[int, int]], style: str | None = None, truncation: float | None = None,
              meter: str | None = None, options: dict | None = None) -> list[PieceDraw]:
        """``draw`` of each pair, each piece from its own generator, so a piece's draws never depend on the batch
        (drawn on threads they were a few per cent sooner at most, within this machine's noise: round 18)."""
        return [self.draw(*pair, style, truncation, meter, options) for pair in pairs]

    def conditions(self, styles, meters, modes=None) -> torch.Tensor | None:
        """The module's condition labels [B] of style, meter (and mode) indices; None for an unconditional
        model."""
        if not self.conditional:
            return None
        return condition_labels(torch.as_tensor(styles, dtype=torch.long), torch.as_tensor(meters, dtype=torch.long),
                                self.manifest, torch.as_tensor(modes if modes is not None else 0, dtype=torch.long))

    def tokens_from_draws(self, draws: list[PieceDraw], temperature: float, strict_voice_leading: bool,
                          options: dict | None = None, in_key: bool = True, low_precision: bool = False) -> np.ndarray:
        """Token windows [N, V, T] uint8 (relative to ``low``) from one batch of draws, in the data's keys
        (``in_key`` False: a key-normalised model's windows as drawn, on the white keys; each draw's ``home`` is
        the key it would be heard in). ``low_precision``: bfloat16 products (``models.low_precision.LowPrecision``)."""
        style = self.conditions([d.style for d in draws], [d.meter for d in draws], [d.mode for d in draws])
        z = torch.stack([d.z for d in draws]) if self.has_latent else None
        extra = {"low_precision": True} if low_precision else {}
        try:
            tokens = self.module.sample(style, torch.stack([d.noise for d in draws]), temperature, z=z,
                                        strict_voice_leading=strict_voice_leading, **(options or {}), **extra)
        except ValueError as e:
            raise UserError(f"{self.family} model: {e}") from None
        tokens = silence_unused_voices(tokens.numpy().astype(np.uint8), [d.style for d in draws], self.manifest)
        if in_key and "key_home_shares" in self.manifest:
            tokens = place_in_key(tokens, np.asarray([d.home for d in draws]), self.module.vocab_size)
        return tokens

    def generate_tokens(self, seeds, style: str | None = None, truncation: float | None = None,
                        temperature: float | None = None, batch_size: int = 256,
                        strict_voice_leading: bool | None = None,
                        options: dict | None = None, meter: str | None = None,
                        low_precision: bool = False) -> tuple[np.ndarray, list[str]]:
        """Token windows [N, V, T] uint8 (relative to ``low``) and each window's style name; deterministic per
        (seed, index). ``temperature``, ``strict_voice_leading`` and the family's ``options`` default to the model
        file's recommendation. Pieces are drawn batch by batch (a guided sampler's draws hold K candidates'
        noise), about ``batch_size`` windows' worth at a time. ``low_precision``: multiply in bfloat16, several
        times faster in large batches on CPUs with bfloat16 units; draws then differ token by token from float32's,
        not in distribution (``models.low_precision.LowPrecision``). A CPU without them draws in float32
        (``use_bfloat16``)."""
        if low_precision and not getattr(self.module, "supports_low_precision", False):
            raise UserError(f"low-precision sampling applies to mle and guided models, not {self.family}")
        pairs = seed_pairs(seeds)
        temperature = self.default_temperature if temperature is None else temperature
        strict = self.strict_voice_leading if strict_voice_leading is None else strict_voice_leading
        check_request(pairs, style, self.style_names, temperature, truncation)
        check_meter(meter, style, self.manifest)
        if truncation is not None and not self.has_latent:
            raise UserError(f"truncation applies to models with a latent (gan, vae); {self.family} has none")
        opts = self.options(options)
        # windows a piece samples: the leading axes of its noise before (V, T, vocab), e.g. a guided sampler's K
        per_batch = max(1, batch_size // int(np.prod(self.noise_shape(opts)[:-3])))
        tokens, styles = [], []
        for a in range(0, len(pairs), per_batch):
            draws = self.draws(pairs[a : a + per_batch], style, truncation, meter, opts)
            tokens.append(self.tokens_from_draws(draws, temperature, strict, opts, low_precision=low_precision))
            styles += [self.style_names[d.style] for d in draws]
        return np.concatenate(tokens), styles

    def generate_pieces(self, seeds, style: str | None = None, truncation: float | None = None,
                        temperature: float | None = None, strict_voice_leading: bool | None = None,
                        options: dict | None = None, meter: str | None = None):
        """One window per piece, titled, in its meter (whole pieces of any length: studio/engine.py)."""
        pairs = seed_pairs(seeds)
        tokens, styles = self.generate_tokens(pairs, style, truncation, temperature,
                                              strict_voice_leading=strict_voice_leading, options=options,
                                              meter=meter)
        meters = [self.meter_names[self.draw(seed, index, style, meter=meter).meter] for seed, index in pairs]
        return [name_piece(tokens_to_piece(t, self.low, self.manifest, s, "", m), seed_label(seed, index))
                for t, s, m, (seed, index) in zip(tokens, styles, meters, pairs)]


def load_sampler(model: str | Path | None = None) -> Sampler:
    """A sampler for a shipped model's name, a model file, a checkpoint or a run dir; None = the default model."""
    path = resolve_model_path(model)
    header, tensors = read_file(path)
    return Sampler(load_module(header, tensors, path), header, path, tensors.get(FINGERPRINT))
