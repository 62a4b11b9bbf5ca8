"""Measure musicality, diversity and novelty of sets of four-voice windows; formulas in docs/metrics.md.

In process (trainer, ablations)::

    from divertimento.metrics import evaluate_windows
    m = evaluate_windows(tokens, "data/default", low=manifest["pitch_range"][0])   # flat {key: float}

The CLI (``divertimento evaluate`` / ``compare``) is a thin layer over ``load_generated``, ``load_reference``,
``load_train``, ``evaluate_set``, ``calibrate`` and ``report.render``.
"""

from .calibration import calibrate
from .reference import Reference, TrainSet, build_reference, load_reference, load_train, train_from_windows
from .registry import METRICS, register, resolve
from .sets import WindowSet, from_files, from_prepared, from_tokens, load_generated, sample_model
from .suite import Evaluation, evaluate_set, evaluate_windows

__all__ = ["evaluate_windows", "evaluate_set", "Evaluation", "load_reference", "load_train", "build_reference",
           "train_from_windows", "Reference", "TrainSet", "WindowSet", "from_tokens", "from_prepared", "from_files",
           "load_generated", "sample_model", "calibrate", "METRICS", "register", "resolve"]
