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


def _check_optimizer_state(name: str, opt: torch.optim.Optimizer, state: dict, step: int) -> None:
    """A saved optimiser state that fits ``opt``: after the first step, state for every parameter, each running
    average shaped like its parameter. torch checks neither, and a missing entry would restart that parameter's
    averages silently."""
    params = [p for group in opt.param_groups for p in group["params"]]
    saved = state["state"]
    if (step > 0 or saved) and set(saved) != set(range(len(params))):
        raise ValueError(f"optimiser {name} has state for {len(saved)} of {len(params)} parameters")
    for pid, entries in saved.items():
        for key, value in entries.items():
            if torch.is_tensor(value) and value.dim() > 0 and value.shape != params[pid].shape:
                raise ValueError(f"optimiser {name} entry {pid}.{key} is shaped {tuple(value.shape)}, its parameter "
                                 f"{tuple(params[pid].shape)}")


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
    if not (isinstance(header.get("step"), int) and header["step"] >= 0):
        raise UserError(f"{path} cannot be resumed: its step is not a whole number")
    try:
        for prefix, module in modules.items():
            module.load_state_dict(module_state(tensors, prefix))
        for name, opt in optimizers.items():
            state = _unflatten_optimizer(name, header["optimizers"][name], tensors)
            _check_optimizer_state(name, opt, state, header["step"])
            opt.load_state_dict(state)
        rng.set_state(tensors["rng.state"])
        torch.set_rng_state(tensors["rng.torch"])
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as e:
        what = f"no {e.args[0]}" if isinstance(e, KeyError) else str(e).splitlines()[0][:100]
        raise UserError(f"{path} cannot be resumed: it does not match this run ({what})") from None
    return header


def save_model(path: Path, modules: dict, meta: dict, extra: dict | None = None) -> None:
    """A model file: the sampled module as ``model`` (and any module a family keeps beside it) + metadata, and
    ``extra`` tensors by name (the training windows' fingerprint)."""
    tensors: dict[str, torch.Tensor] = dict(extra or {})
    for prefix, module in modules.items():
        module_tensors(prefix, module, tensors)
    write_file(path, dict(meta, schema=SCHEMA, kind=KIND_MODEL), tensors)
