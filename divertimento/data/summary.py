"""What a model must remember of its data to generate and to refuse mismatched checkpoints."""

import numpy as np

from ..music.roll import FIRST_PITCH_TOKEN
from .conditions import bar_steps
from .dataset import PreparedData


def data_summary(data: PreparedData) -> dict:
    m = data.manifest
    train = data.splits["train"]
    counts = np.bincount(train["style"], minlength=len(m["style_names"]))
    n_meters, m_spq = len(data.meter_names), m["steps_per_quarter"]
    meter_counts = [np.bincount(train["meter"][train["style"] == s], minlength=n_meters) for s in range(len(counts))]
    # per style and voice, the share of training windows in which the voice plays a note
    plays = (train["rolls"] >= FIRST_PITCH_TOKEN).any(-1).astype(np.float64)  # [N, V]
    voice_use = np.stack([plays[train["style"] == s].mean(0) if counts[s] else np.ones(plays.shape[1])
                          for s in range(len(counts))])
    return {
        "layout": m["layout"], "roles": m["roles"], "monophonic": m["monophonic"],
        "drum_voices": m.get("drum_voices", [False] * len(m["roles"])),
        "style_tempos": m.get("style_tempos", {}),
        "pickups": m.get("pickups", {}),
        "steps_per_quarter": m["steps_per_quarter"], "window_steps": m["window_steps"],
        "pitch_range": m["pitch_range"], "vocab_size": m["vocab_size"], "style_names": m["style_names"],
        "style_shares": (counts / max(counts.sum(), 1)).round(6).tolist(), "meters": m["meters_kept"],
        "content_hash": m["content_hash"], "train_windows": int(counts.sum()),
        "voice_use": voice_use.round(4).tolist(),
        "meter_names": data.meter_names,
        "meter_bar_steps": [int(bar_steps(m, m_spq)) for m in data.meter_names],
        # per style, the share of its training windows in each meter: what a piece of that style is drawn in
        "meter_shares": [(c / max(c.sum(), 1)).round(6).tolist() for c in meter_counts],
    }


# What a model's tensors and tokens are shaped by: a model can start from (or propose for) another dataset only when
# these agree. The content may differ: fine-tuning on other music is a use, not an error.
SHAPE_KEYS = ("layout", "roles", "steps_per_quarter", "window_steps", "pitch_range", "vocab_size", "style_names",
              "meter_names")


def shape_mismatch(a: dict, b: dict) -> str | None:
    """The first way two data summaries differ in shape (``"vocab_size 60 vs 58"``), or None when they agree."""
    for key in SHAPE_KEYS:
        if a.get(key) != b.get(key):
            return f"{key} {a.get(key)} vs {b.get(key)}"
    return None
