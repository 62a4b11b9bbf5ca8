"""Measure musicality, diversity and novelty of sets of four-voice windows; formulas in docs/metrics.md.

In process (trainer, ablations)::

    from divertimento.metrics import evaluate_windows
    m = evaluate_windows(tokens, "data/default", low=manifest["pitch_range"][0])   # flat {key: float}

The CLI (``divertimento evaluate`` / ``compare``) is a thin layer over ``load_generated``, ``load_reference``,
``load_train``, ``evaluate_set``, ``calibrate`` and ``report.render``.

Where things live: the metrics, one module per group (``quality``, ``diversity``, ``novelty``, ``style``), register
into ``registry`` (which imports none of them); ``suite`` imports them and runs them on a ``context.Context``.
What they compare against is built by ``reference`` from ``set_stats``, ``standardize``, ``style_classifier`` and
the disk ``cache``. Nothing here imports a higher layer (sampler, trainer, studio, web, commands): models are
sampled by the callers, which hand over token windows.
"""

from .calibration import calibrate
from .reference import Reference, TrainSet, build_reference, load_reference, load_train, train_from_windows
from .registry import METRICS, register, resolve
from .sets import WindowSet, from_files, from_prepared, from_tokens, load_generated
from .suite import Evaluation, evaluate_set, evaluate_windows

__all__ = ["evaluate_windows", "evaluate_set", "Evaluation", "load_reference", "load_train", "build_reference",
           "train_from_windows", "Reference", "TrainSet", "WindowSet", "from_tokens", "from_prepared", "from_files",
           "load_generated", "calibrate", "METRICS", "register", "resolve"]
