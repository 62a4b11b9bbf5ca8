"""What a model is conditioned on: a label per (style, meter), and the meters' bar lengths."""

from ..music.notes import nominal_bar_steps, parse_meter


def bar_steps(meter: str, steps_per_quarter: int) -> float:
    """Steps in a full bar of ``meter`` ("6/8" -> 12 at 4 steps per quarter)."""
    return nominal_bar_steps(*parse_meter(meter), steps_per_quarter)


def meter_count(summary: dict) -> int:
    """Meters a model is conditioned on: 1 for a model from data without a meter per window (all 4/4-like)."""
    return max(1, len(summary.get("meter_names", ())))


MODE_NAMES = ["major", "minor"]  # a model with ``mode_condition``: each window's mode by its best key (data/modes.py)


def mode_count(summary: dict) -> int:
    """Modes a model is conditioned on: 2 (major, minor) for a model with ``mode_condition``, else 1."""
    return max(1, len(summary.get("mode_names", ())))


def n_conditions(summary: dict) -> int:
    """Condition labels of a model: one per (style, meter, mode)."""
    return len(summary["style_names"]) * meter_count(summary) * mode_count(summary)


def condition_labels(style, meter, summary: dict, mode=0):
    """A model's condition label of (style, meter, mode) indices, arrays or tensors alike:
    mode * styles * meters + style * meters + meter. A model from data without meters has one meter, and one
    without a mode condition one mode, so its labels are what they were before either."""
    return (mode * len(summary["style_names"]) + style) * meter_count(summary) + meter
