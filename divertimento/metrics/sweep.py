"""Trade-off curves: evaluate a model over a sweep of truncation (or temperature) values and plot quality against
diversity, like precision-recall curves for image GANs."""

from collections.abc import Callable

from ..errors import UserError
from .reference import Reference, TrainSet
from .sets import WindowSet
from .suite import evaluate_set

SWEEP_METRICS = ("quality/precision", "quality/density", "quality/frechet_descriptor_distance", "diversity/recall",
                 "diversity/coverage", "diversity/pairwise_distance", "diversity/dup_rate", "novelty/copy_rate")
SWEEP_KEYS = ("quality/precision", "quality/density", "quality/frechet_descriptor_distance", "diversity/recall",
              "diversity/coverage", "diversity/pairwise_distance/ratio", "diversity/dup_rate", "novelty/copy_rate")


def parse_values(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise UserError(f"--sweep wants comma-separated numbers, e.g. 0.5,0.75,1.0 (got {text!r})") from None
    if not values:
        raise UserError("--sweep needs at least one value")
    return values


def sweep(sample: Callable[[float], WindowSet], values: list[float], ref: Reference, train: TrainSet | None,
          param: str = "truncation", metrics=None, seed: int = 0, progress=None) -> dict:
    """{"param", "keys", "points": [{"value", "metrics"}]}: one evaluation of ``sample(value)`` per value."""
    names = list(metrics or [m for m in SWEEP_METRICS if train is not None or not m.startswith("novelty")])
    points = []
    for v in values:
        if progress:
            progress(f"sweep {param}={v}")
        ev = evaluate_set(sample(v), ref, train, names, seed)
        points.append({"value": v, "metrics": ev.metrics})
    return {"param": param, "keys": [k for k in SWEEP_KEYS if any(k in p["metrics"] for p in points)],
            "points": points}
