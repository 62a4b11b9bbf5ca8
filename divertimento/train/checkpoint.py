"""Training checkpoints: every module and optimiser of a run by name, both random streams and the step, in one
safetensors file (models/files.py) — enough to resume bit-exactly. The sampled module is always stored as
``model``, so a checkpoint loads like a model file too."""

import re
from pathlib import Path

import torch

from ..errors import UserError
from ..models.files import KIND_CHECKPOINT, KIND_MODEL, SCHEMA, module_state, module_tensors, read_file, write_file


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


def save_training_checkpoint(path: Path, *, modules: dict, optimizers: dict, rng: torch.Generator, step: int,
                             meta: dict) -> None:
    """``modules`` and ``optimizers`` by name; ``rng`` the run's own stream (batches, latents, noise); torch's
    global stream (dropout) is saved beside it."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in modules.items():
        module_tensors(prefix, module, tensors)
    tensors["rng.state"] = rng.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    optim = {name: _flatten_optimizer(name, opt.state_dict(), tensors) for name, opt in optimizers.items()}
    header = dict(meta, schema=SCHEMA, kind=KIND_CHECKPOINT, step=step, optimizers=optim)
    write_file(path, header, tensors)


def load_training_state(path: Path, *, modules: dict, optimizers: dict, rng: torch.Generator) -> dict:
    header, tensors = read_file(path)
    if header["kind"] != KIND_CHECKPOINT:
        raise UserError(f"{path} is a model file without optimiser state; it cannot be resumed")
    for prefix, module in modules.items():
        module.load_state_dict(module_state(tensors, prefix))
    for name, opt in optimizers.items():
        opt.load_state_dict(_unflatten_optimizer(name, header["optimizers"][name], tensors))
    rng.set_state(tensors["rng.state"])
    torch.set_rng_state(tensors["rng.torch"])
    return header


def save_model(path: Path, modules: dict, meta: dict) -> None:
    """A model file: the sampled module as ``model`` (and any module a family keeps beside it) + metadata."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in modules.items():
        module_tensors(prefix, module, tensors)
    write_file(path, dict(meta, schema=SCHEMA, kind=KIND_MODEL), tensors)
