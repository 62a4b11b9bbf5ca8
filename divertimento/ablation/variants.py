"""Ablation variants, one JSON file each under ``configs/ablation/`` (the files are the source of truth).

A variant file::

    {"family": "gan" | "vae" | "mle",     # which model family (models/factory.py)
     "order": 10,                         # position in tables and plots
     "description": "one line",
     "base": "vanilla",                   # optional: start from another variant's resolved config
     "config_file": "../default.json",    # optional: start from a config file (relative to this file)
     "config": {...}}                     # TrainConfig keys

Run keys (steps, seed, threads, log/sample/checkpoint intervals) are set by the runner from the budget, so a
variant says only what the model and objective are.
"""

from dataclasses import dataclass
from pathlib import Path

from ..config import FAMILY_DEFAULTS, TrainConfig, config_from_dict
from ..errors import UserError
from ..json_file import read_json_object

# keys the runner owns; a variant file may hold them (config_file: ../gan-base.json does) but they are overwritten
RUN_KEYS = ("steps", "seed", "threads", "log_every", "sample_every", "sample_count", "ckpt_every", "keep_ckpts")


def default_variants_dir() -> Path:
    """``configs/ablation`` of this checkout (the package lives in ``<repo>/divertimento``)."""
    return Path(__file__).resolve().parents[2] / "configs" / "ablation"


@dataclass(frozen=True)
class Variant:
    name: str  # file stem, e.g. "vanilla+ms"
    family: str  # gan, vae or mle
    description: str
    config: dict  # resolved config keys (without run keys)
    order: int = 0
    path: str = ""

    def build_config(self, run: dict, overrides: dict | None = None) -> TrainConfig:
        """The typed config for one run: the variant's keys, then ``overrides``, then the run keys (steps, seed,
        ...)."""
        return config_from_dict({**self.config, **(overrides or {}), **run, "family": self.family})


def _read(path: Path) -> dict:
    d = read_json_object(path, "variant")
    unknown = sorted(set(d) - {"family", "order", "description", "base", "config_file", "config"})
    if unknown:
        raise UserError(f"variant {path}: unknown key(s) {', '.join(unknown)}")
    return d


def load_variants(directory: str | Path | None = None) -> dict[str, Variant]:
    """All variants of a directory, resolved (bases and config files merged, keys validated), in table order."""
    directory = Path(directory) if directory else default_variants_dir()
    if not directory.is_dir():
        raise UserError(f"no variant directory {directory} (expected configs/ablation in a divertimento checkout; "
                        "pass --variants-dir)")
    raw = {p.stem: (p, _read(p)) for p in sorted(directory.glob("*.json"))}
    if not raw:
        raise UserError(f"{directory} holds no variant files (*.json)")
    resolved: dict[str, Variant] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> Variant:
        if name in resolved:
            return resolved[name]
        if name not in raw:
            raise UserError(f"variant {chain[-1]!r} is based on unknown variant {name!r}")
        if name in chain:
            raise UserError(f"variant bases form a cycle: {' -> '.join(chain + (name,))}")
        path, d = raw[name]
        family = d.get("family")
        if family not in FAMILY_DEFAULTS:
            raise UserError(f"variant {path}: family must be one of {', '.join(FAMILY_DEFAULTS)} (got {family!r})")
        config: dict = {}
        if "base" in d:
            base = resolve(d["base"], chain + (name,))
            if base.family != family:
                raise UserError(f"variant {name!r} ({family}) cannot be based on {base.name!r} ({base.family})")
            config.update(base.config)
        if "config_file" in d:
            config.update(read_json_object(path.parent / d["config_file"], "config file"))
        config.update(d.get("config", {}))
        config = {k: v for k, v in config.items() if k not in RUN_KEYS}
        v = Variant(name, family, str(d.get("description", "")), config, int(d.get("order", 0)), str(path))
        v.build_config({"steps": 1})  # validates every key now, not hours into a run
        resolved[name] = v
        return v

    for name in raw:
        resolve(name, ())
    return dict(sorted(resolved.items(), key=lambda kv: (kv[1].order, kv[0])))


def select_variants(variants: dict[str, Variant], names: str | list[str] | None) -> list[Variant]:
    """The named variants (comma-separated or a list; None or "all" = all), in table order."""
    if names is None or names == "all":
        return list(variants.values())
    wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    wanted = [n for n in wanted if n]
    unknown = [n for n in wanted if n not in variants]
    if unknown:
        raise UserError(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(variants)}")
    if not wanted:
        raise UserError("--variants names no variant")
    return [v for v in variants.values() if v.name in wanted]
