"""Checkpoints without pickle: every tensor in one safetensors file, everything else as JSON in its header.

A training checkpoint holds G, D, G_ema, both optimisers, the RNG state and the step: enough to resume exactly.
A model file (what ``generate`` and the shipped default use) holds G_ema and the metadata needed to rebuild it.
Writes go to a temp file and ``os.replace``; loading never runs code from the file.
"""

import json
import os
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..atomic import write_bytes_atomic
from ..errors import UserError

SCHEMA = 1
KIND_CHECKPOINT = "divertimento-checkpoint"
KIND_MODEL = "divertimento-model"
MAX_FILE_BYTES = 2 * 2**30


def _flatten_optimizer(prefix: str, state: dict, tensors: dict) -> dict:
    """Optimizer state_dict -> tensors under ``prefix`` + a JSON-able rest (param groups, non-tensor values)."""
    rest = {"param_groups": state["param_groups"], "scalars": {}}
    for pid, pstate in state["state"].items():
        for name, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{pid}.{name}"] = value.detach().clone().contiguous()
            else:
                rest["scalars"][f"{pid}.{name}"] = value
    return rest


def _unflatten_optimizer(prefix: str, rest: dict, tensors: dict) -> dict:
    state: dict = {}
    pat = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.(.+)$")
    for key, value in tensors.items():
        m = pat.match(key)
        if m:
            state.setdefault(int(m.group(1)), {})[m.group(2)] = value
    for key, value in rest["scalars"].items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def _module_tensors(prefix: str, module: torch.nn.Module, tensors: dict) -> None:
    # the unwrapped module's state dict: no DDP "module." or torch.compile "_orig_mod." prefixes
    module = getattr(module, "module", module)
    module = getattr(module, "_orig_mod", module)
    for k, v in module.state_dict().items():
        tensors[f"{prefix}.{k}"] = v.detach().clone().contiguous()


def save_training_checkpoint(path: Path, *, G, D, G_ema, opt_G, opt_D, rng: torch.Generator, step: int,
                             meta: dict, extra: dict | None = None) -> None:
    """``extra``: further modules by prefix (the VAE-GAN encoder "E")."""
    tensors: dict[str, torch.Tensor] = {}
    _module_tensors("G", G, tensors)
    _module_tensors("D", D, tensors)
    _module_tensors("G_ema", G_ema, tensors)
    for prefix, module in (extra or {}).items():
        _module_tensors(prefix, module, tensors)
    tensors["rng.state"] = rng.get_state()
    header = dict(meta, schema=SCHEMA, kind=KIND_CHECKPOINT, step=step,
                  opt_G=_flatten_optimizer("opt_G", opt_G.state_dict(), tensors),
                  opt_D=_flatten_optimizer("opt_D", opt_D.state_dict(), tensors))
    write_file(path, header, tensors)


def save_model(path: Path, G_ema, meta: dict) -> None:
    tensors: dict[str, torch.Tensor] = {}
    _module_tensors("G_ema", G_ema, tensors)
    header = dict(meta, schema=SCHEMA, kind=KIND_MODEL)
    write_file(path, header, tensors)


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
    if len(data) < 8 or data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or data[:2] == b"PK":
        raise UserError(f"{path} is not a divertimento model (looks like a pickle/zip torch file; "
                        "only safetensors files are loaded, never pickles)")
    header_len = int.from_bytes(data[:8], "little")
    if header_len <= 0 or header_len > len(data) - 8:
        raise UserError(f"{path} is not a safetensors file, or it is truncated")
    try:
        raw_header = json.loads(data[8 : 8 + header_len])
        tensors = st_load(data)
    except (SafetensorError, ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is corrupted or truncated ({str(e)[:80]})") from None
    try:
        header = json.loads(raw_header["__metadata__"]["divertimento"])
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{path} is a safetensors file but not a divertimento model") from None
    if header.get("schema") != SCHEMA or header.get("kind") not in (KIND_CHECKPOINT, KIND_MODEL):
        raise UserError(f"{path}: unsupported model schema {header.get('schema')!r}")
    return header, tensors


def module_state(tensors: dict, prefix: str) -> dict:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def load_training_state(path: Path, *, G, D, G_ema, opt_G, opt_D, rng: torch.Generator,
                        extra: dict | None = None) -> dict:
    header, tensors = read_file(path)
    if header["kind"] != KIND_CHECKPOINT:
        raise UserError(f"{path} is a model file without optimiser state; it cannot be resumed")
    G.load_state_dict(module_state(tensors, "G"))
    D.load_state_dict(module_state(tensors, "D"))
    G_ema.load_state_dict(module_state(tensors, "G_ema"))
    for prefix, module in (extra or {}).items():
        module.load_state_dict(module_state(tensors, prefix))
    opt_G.load_state_dict(_unflatten_optimizer("opt_G", header["opt_G"], tensors))
    opt_D.load_state_dict(_unflatten_optimizer("opt_D", header["opt_D"], tensors))
    rng.set_state(tensors["rng.state"])
    return header


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.safetensors"


def list_checkpoints(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "checkpoints").glob("step-*.safetensors"))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None
