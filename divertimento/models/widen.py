"""Growing a trained sequence model wider without changing what it computes (function-preserving widening).

A model of hidden size H starts a model of hidden size H' > H: every tensor of the narrow model is copied into the
first H units of each hidden dimension (for the LSTM's stacked gates [i, f, g, o], the first H of each gate's
block), and every weight by which an old unit would read a new one is zero. The new units keep their fresh random
weights in everything they read, so they compute from the first step, but nothing they compute reaches the old
units or the logits until training moves those zero weights: the wide model starts as exactly the narrow one, and
its likelihood, samples and held-out figures start where the narrow model's are. Training then has all of the new
capacity to lower the loss from there, at a fraction of a from-scratch run's steps (Chen, Goodfellow and Shlens,
"Net2Net", ICLR 2016, widen the same way but split units instead of starting them silent).
"""

import torch
from torch import nn

from ..errors import UserError

LSTM_GATES = 4  # torch stacks the input, forget, cell and output gates' rows in one tensor


def widen_state(source: dict[str, torch.Tensor], target: nn.Module, old_hidden: int, new_hidden: int
                ) -> dict[str, torch.Tensor]:
    """A state dict for ``target`` (a freshly initialised model of hidden size ``new_hidden``) that computes what
    ``source`` (a state dict of the same architecture at hidden size ``old_hidden``) computes. Every dimension
    whose size differs must be a hidden dimension (H or 4H); anything else is another architecture (UserError)."""
    if new_hidden < old_hidden:
        raise UserError(f"cannot narrow a model: hidden {old_hidden} -> {new_hidden}")
    tables = {f"{name}.weight" for name, m in target.named_modules() if isinstance(m, nn.Embedding)}
    fresh = target.state_dict()
    unshared = set(fresh) ^ set(source)
    if unshared:
        raise UserError(f"another architecture: {sorted(unshared)[0]} is in one model and not the other")
    out = {}
    for key, new in fresh.items():
        old = source[key]
        if old.dim() != new.dim():
            raise UserError(f"another architecture: {key} has shape {tuple(old.shape)}, not like {tuple(new.shape)}")
        index = [_old_units(key, o, n, old_hidden, new_hidden) for o, n in zip(old.shape, new.shape)]
        grown = new.detach().clone()
        if key in tables and len(index) == 2 and index[1] is not None:
            # a lookup table's new columns are new units' inputs: random, at the scale of the old ones
            grown[:, old_hidden:] *= old.float().std() / grown[:, old_hidden:].float().std().clamp_min(1e-12)
        if grown.dim() == 2 and key not in tables and index[1] is not None:
            rows = index[0] if index[0] is not None else slice(None)
            grown[rows, old_hidden:] = 0  # old units never read new ones
        grown[torch.meshgrid(*[i if i is not None else torch.arange(s) for i, s in zip(index, old.shape)],
                             indexing="ij")] = old.to(grown.dtype)
        out[key] = grown
    return out


def _old_units(key: str, old: int, new: int, old_hidden: int, new_hidden: int) -> torch.Tensor | None:
    """Where a dimension of size ``old`` sits inside its widened size ``new``: None when it did not grow, else the
    indices of the old units (the first H, or the first H of each gate's block)."""
    if old == new:
        return None
    if (old, new) == (old_hidden, new_hidden):
        return torch.arange(old_hidden)
    if (old, new) == (LSTM_GATES * old_hidden, LSTM_GATES * new_hidden):
        return torch.cat([g * new_hidden + torch.arange(old_hidden) for g in range(LSTM_GATES)])
    raise UserError(f"another architecture: {key} has a dimension {old} where the wider model has {new}, "
                    f"and only the hidden size may grow")
