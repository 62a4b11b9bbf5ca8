"""What a model is conditioned on: a label per (style, meter), and the meters' bar lengths."""

from ..music.notes import nominal_bar_steps, parse_meter


def bar_steps(meter: str, steps_per_quarter: int) -> float:
    """Steps in a full bar of ``meter`` ("6/8" -> 12 at 4 steps per quarter)."""
    return nominal_bar_steps(*parse_meter(meter), steps_per_quarter)


def meter_count(summary: dict) -> int:
    """Meters a model is conditioned on: 1 for a model from data without a meter per window (all 4/4-like)."""
    return max(1, len(summary.get("meter_names", ())))


def n_conditions(summary: dict) -> int:
    """Condition labels of a model: one per (style, meter)."""
    return len(summary["style_names"]) * meter_count(summary)


def condition_labels(style, meter, summary: dict):
    """A model's condition label of (style, meter) indices, arrays or tensors alike: style * meters + meter. A
    model from data without meters has one meter, so its labels are its style indices, as before meters."""
    return style * meter_count(summary) + meter
