"""Model files from runs: the model file of any checkpoint (what ``train`` writes at its last step), and sampling
recommendations (temperature, strict voice leading, the family's own sampling options) written into a model file's
header. ``divertimento export``."""

from pathlib import Path

from ..data.dataset import load_prepared
from ..data.summary import data_summary
from ..errors import UserError
from ..models.factory import load_module, resolve_model_path
from ..models.files import KIND_CHECKPOINT, KIND_MODEL, latest_checkpoint, read_file, write_file
from ..sample.fingerprint import TENSOR as FINGERPRINT
from ..sample.fingerprint import fingerprint_of
from ..sample.per_style import as_recommended, per_style

SAMPLING_KEYS = ("temperature", "strict_voice_leading")
DESCRIBING_KEYS = ("pickups",)  # data-summary figures a model file may take from its training data after training


def export_model(source: str | Path, out: str | Path, sampling: dict | None = None,
                 train_data: str | Path | None = None) -> dict:
    """A model file at ``out`` from a run dir (its model.safetensors, else its newest checkpoint), a checkpoint
    or a model file, with ``sampling`` merged into its recommendations; the weights are copied untouched.
    ``train_data``: the prepared dataset whose training windows the file is to carry (refused unless it is the
    one the model was trained on); its figures that do not shape the model (``DESCRIBING_KEYS``: the pickups its
    pieces open with) are brought up to date, for a file made before ``prepare`` counted them. Returns the new
    header."""
    path = Path(source)
    if path.is_dir() and not (path / "model.safetensors").is_file():
        path = latest_checkpoint(path) or path
    header, tensors = read_file(resolve_model_path(path))
    if header["kind"] == KIND_CHECKPOINT:
        keep = tuple(f"{name}." for name in header.get("model_modules", ["model"]))
        tensors = {k: v for k, v in tensors.items() if k.startswith(keep)}
        header = {k: v for k, v in header.items() if k not in ("optimizers", "model_modules")}
    module = load_module(header, tensors, path)
    known = SAMPLING_KEYS + tuple(module.sampling_options)  # the family's own knobs
    unknown = sorted(set(sampling or {}) - set(known))
    if unknown:
        raise UserError(f"unknown sampling setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    sampling, given = dict(sampling or {}), {}  # as the file stores it; as the module takes it
    per_style_options = getattr(module, "per_style_options", {})
    for key, value in sampling.items():
        if key in per_style_options:  # stored as a number, or {style: value}
            styles, neutral = header["data"]["style_names"], per_style_options[key]
            given[key] = per_style(key, value, styles, neutral)
            sampling[key] = as_recommended(given[key], styles, neutral)
        elif key in module.sampling_options:
            given[key] = value
    try:
        if hasattr(module, "check_options"):
            module.check_options(given)
    except ValueError as e:
        raise UserError(f"{header['family']} model: {e}") from None
    header = dict(header, kind=KIND_MODEL, sampling={**header.get("sampling", {}), **sampling})
    if train_data is not None:
        data = load_prepared(train_data)
        if data.manifest["content_hash"] != header["data"].get("content_hash"):
            raise UserError(f"{train_data} is not the data this model was trained on (content hash differs)")
        tensors = dict(tensors, **{FINGERPRINT: fingerprint_of(data)})
        summary = data_summary(data)
        header["data"] = dict(header["data"], **{k: summary[k] for k in DESCRIBING_KEYS})
    write_file(Path(out), header, tensors)
    return header
