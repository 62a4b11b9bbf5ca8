"""Model and checkpoint files without pickle: every tensor in one safetensors file, everything else as JSON in its
header. Loading never runs code from the file; writes go to a temp file and ``os.replace``.

A model file (what ``generate`` and the shipped models use) holds the sampled module under ``model.`` and the
metadata needed to rebuild it (``family``, ``config``, ``data``). A training checkpoint (``train/checkpoint.py``)
holds every module and optimiser of a run, the RNG state and the step.
"""

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..atomic import write_bytes_atomic
from ..errors import UserError
from .file_check import check_header, check_tensors

SCHEMA = 2  # 2: one header shape for every family ("family", "config"); 1 had per-family headers
KIND_CHECKPOINT = "divertimento-checkpoint"
KIND_MODEL = "divertimento-model"
MAX_FILE_BYTES = 2 * 2**30
PICKLE_MAGICS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def module_tensors(prefix: str, module: torch.nn.Module, tensors: dict) -> None:
    """The unwrapped module's state dict under ``prefix.``: no DDP ``module.`` or torch.compile ``_orig_mod.``
    prefixes leak into the file."""
    module = getattr(module, "module", module)
    module = getattr(module, "_orig_mod", module)
    for k, v in module.state_dict().items():
        tensors[f"{prefix}.{k}"] = v.detach().clone().contiguous()


def module_state(tensors: dict, prefix: str) -> dict:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def write_file(path: Path, header: dict, tensors: dict[str, torch.Tensor]) -> None:
    """A checkpoint or model file (safetensors, the header as JSON metadata), written atomically: what
    ``read_file`` reads."""
    write_bytes_atomic(path, st_save(tensors, metadata={"divertimento": json.dumps(header)}))


def read_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """(header, tensors) of a checkpoint or model file; UserError for anything that is not one of ours,
    including pickles posing as checkpoints (they are never unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model {path} does not exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UserError(f"{path} is too large to be a divertimento model ({size} bytes)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    if len(data) < 8:
        raise UserError(f"{path} is too short to be a model file ({len(data)} bytes)")
    if data[:2] in PICKLE_MAGICS or data[:2] == b"PK":
        raise UserError(f"{path} is not a divertimento model (looks like a pickle/zip torch file; "
                        "only safetensors files are loaded, never pickles)")
    header_len = int.from_bytes(data[:8], "little")
    if header_len <= 0 or header_len > len(data) - 8:
        raise UserError(f"{path} is not a safetensors file, or it is truncated")
    try:
        raw_header = json.loads(data[8 : 8 + header_len])
        tensors = st_load(data)
    except (SafetensorError, ValueError, UnicodeDecodeError, RecursionError) as e:
        raise UserError(f"{path} is corrupted or truncated ({str(e)[:80]})") from None
    try:
        header = json.loads(raw_header["__metadata__"]["divertimento"])
    except (KeyError, TypeError, ValueError, RecursionError):
        raise UserError(f"{path} is a safetensors file but not a divertimento model") from None
    if not isinstance(header, dict):
        raise UserError(f"{path}: its metadata is not a mapping; not a divertimento model")
    if header.get("schema") != SCHEMA or header.get("kind") not in (KIND_CHECKPOINT, KIND_MODEL):
        raise UserError(f"{path}: unsupported model schema {header.get('schema')!r} (this divertimento reads "
                        f"schema {SCHEMA}; retrain or re-export with it)")
    check_header(header, path)
    check_tensors(tensors, path)
    return header, tensors


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.safetensors"


def list_checkpoints(run_dir: Path) -> list[Path]:
    return sorted((Path(run_dir) / "checkpoints").glob("step-*.safetensors"))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None
