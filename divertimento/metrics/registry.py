"""The metric registry: ``@register("diversity/coverage")``; the CLI validates ``--metrics`` against it.

It imports no metric: the group modules (quality, diversity, novelty, style) import ``register``, and ``suite``
imports them, in the order their keys appear in results. The package's ``__init__`` imports ``suite``, so METRICS
is full as soon as anything under ``divertimento.metrics`` is imported.
"""

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class Metric:
    name: str  # "group/name"; its keys in metrics.json are the name, or name/<sub> for several numbers
    fn: Callable  # fn(ctx) -> float | dict[str, float]
    needs_train: bool  # needs the training set (novelty)
    doc: str

    @property
    def group(self) -> str:
        return self.name.split("/", 1)[0]


METRICS: dict[str, Metric] = {}


def register(name: str, needs_train: bool = False):
    def deco(fn):
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        METRICS[name] = Metric(name, fn, needs_train, (fn.__doc__ or "").strip())
        return fn

    return deco


def resolve(selection: list[str] | str | None) -> list[str]:
    """Metric names from names, groups ("novelty") or globs ("diversity/*"), in registry order; None = all."""
    if selection is None:
        return list(METRICS)
    if isinstance(selection, str):
        selection = [s for s in selection.replace(" ", ",").split(",") if s]
    chosen = set()
    for item in selection:
        hits = [n for n in METRICS if n == item or n.split("/", 1)[0] == item or fnmatch.fnmatch(n, item)]
        if not hits:
            raise UserError(f"unknown metric {item!r}; known: {', '.join(METRICS)} (or a group: "
                            f"{', '.join(sorted({m.group for m in METRICS.values()}))})")
        chosen.update(hits)
    return [n for n in METRICS if n in chosen]
