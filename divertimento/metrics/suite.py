"""Runs registered metrics on a generated set: ``evaluate_set`` / ``evaluate_windows``.

Every metric compares a generated set G with the reference set R (normally the training split of the data)
and, for novelty, with the training set. Keys in the result are flat: ``group/name`` or ``group/name/sub``.
The metrics live in one module per group; importing them here registers them (the package imports this module,
so the registry is full whatever a caller imports).
"""

import sys
import time
from dataclasses import dataclass, field

import numpy as np

# Importing the metric groups registers their metrics. The order of these lines is the order of keys in
# metrics.json and in reports, so isort must not sort them.
# isort: off
from . import quality  # noqa: F401
from . import diversity  # noqa: F401
from . import novelty  # noqa: F401
from . import style as _style  # noqa: F401  (not `style`: evaluate_windows has an argument of that name)
from . import multitrack  # noqa: F401
# isort: on
from .context import Context
from .quiet_nan import quiet_nan
from .reference import Reference, TrainSet, load_reference, load_train
from .registry import METRICS, resolve
from .sets import WindowSet, from_tokens


@dataclass
class Evaluation:
    metrics: dict[str, float]  # flat keys -> numbers (NaN where undefined)
    info: dict  # counts, labels, notes, timings
    context: Context | None = None  # per-window arrays and memoised intermediates, for the report
    timings: dict[str, float] = field(default_factory=dict)


def evaluate_set(gen: WindowSet, ref: Reference, train: TrainSet | None = None, metrics: list[str] | None = None,
                 seed: int = 0, warn=None) -> Evaluation:
    """Run the chosen metrics (default all) on a generated set against a reference (and training set)."""
    names = resolve(metrics)
    t0 = time.perf_counter()
    with quiet_nan():
        ctx = Context(gen, ref, train, seed)
    timings = {"setup (decode, descriptors, copy index)": time.perf_counter() - t0}
    out: dict[str, float] = {}
    for name in names:
        m = METRICS[name]
        if m.needs_train and train is None:
            if "novelty metrics need a training set (--train)" not in ctx.notes:
                ctx.notes.append("novelty metrics need a training set (--train)")
            continue
        if len(gen) == 0:
            continue
        t = time.perf_counter()
        try:
            with quiet_nan():
                res = m.fn(ctx)
        except Exception as e:  # one failing metric must not cost the others; reported, not hidden
            msg = f"metric {name} failed: {type(e).__name__}: {e}"
            ctx.notes.append(msg)
            (warn or (lambda s: print(f"warning: {s}", file=sys.stderr)))(msg)
            continue
        timings[name] = time.perf_counter() - t
        if isinstance(res, dict):
            for k, v in res.items():
                out[f"{name}/{k}" if k else name] = _num(v)
        else:
            out[name] = _num(res)
    info = {"generated": gen.label, "reference": ref.label, "train": train.label if train else None,
            "n_generated": len(gen), "n_reference": ref.n, "n_train": train.stats.n if train else 0,
            "notes": list(ctx.notes), "metrics": names}
    return Evaluation(out, info, ctx, timings)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def evaluate_windows(tokens: np.ndarray, reference, *, low: int = 0, train="reference", metrics=None,
                     style: np.ndarray | None = None, style_names: list[str] | None = None, seed: int = 0,
                     reference_split: str = "train") -> dict[str, float]:
    """Metrics of token windows, in process (for the trainer and ablations).

    tokens: [N, V, T] uint8 windows relative to ``low`` (token 2 + p - low; low=0 for absolute tokens).
    reference: a prepared-data dir, a ``PreparedData`` or a ``Reference``; statistics are cached on disk and in
    memory, so repeated calls pay only for the generated set.
    train: a prepared-data dir / ``TrainSet``, "reference" (the reference data's train split) or None (no novelty).
    style: optional [N] requested style index into ``style_names`` (for style/conditioning_accuracy).
    Returns the flat metric dict (see docs/metrics.md)."""
    ref = reference if isinstance(reference, Reference) else load_reference(reference, reference_split, seed=seed)
    if isinstance(train, str) and train == "reference":
        train = load_train(ref.data) if ref.data is not None else None
    elif train is not None and not isinstance(train, TrainSet):
        train = load_train(train)
    gen = from_tokens(tokens, low, ref.config.steps_per_quarter, ref.roles, "windows", style, style_names)
    return evaluate_set(gen, ref, train, metrics, seed).metrics
