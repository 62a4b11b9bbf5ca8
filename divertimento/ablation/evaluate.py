"""Evaluation of one sample set in the ablation: the evaluation suite's metrics plus coverage per style.

Every set (each variant, each seed, each calibration set) is compared with the same reference (a prepared
split, by default the held-out test split) and, for novelty, with the data's train split."""

from dataclasses import dataclass

import numpy as np

from ..metrics.calibration import random_windows
from ..metrics.reference import Reference, TrainSet, load_reference, load_train
from ..metrics.sets import WindowSet, from_prepared, from_tokens
from ..metrics.stats import sq_dists
from ..metrics.suite import Evaluation, evaluate_set

# the held-out split used for the real calibration row, by reference split: never the reference itself
HELDOUT_FOR = {"test": "val", "val": "test", "train": "test"}


def coverage_by_style(ev: Evaluation, ref: Reference, seed: int = 0) -> dict[str, float]:
    """Coverage (Naeem et al. 2020) restricted to the reference windows of each style: the share of a style's
    reference windows whose k-NN ball holds at least one generated window. Same reference subsample, radii and
    generated subsample as the suite's ``diversity/coverage``, so the style-weighted mean equals that number.
    NaN for a style without windows in the PRDC reference subsample."""
    ctx = ev.context
    names = ref.style_names or []
    if ctx is None or ref.style_labels is None or not names or ctx.n <= ref.k:
        return {}
    real_idx, radii = ref.prdc_sample(ctx.n)
    fake = ctx.X
    if len(fake) > len(real_idx):  # as suite._prdc does
        fake = fake[np.sort(np.random.default_rng(seed).choice(len(fake), len(real_idx), replace=False))]
    real = ref.X[real_idx]
    nearest = np.empty(len(real))
    for s in range(0, len(real), 1024):
        nearest[s : s + 1024] = np.sqrt(sq_dists(real[s : s + 1024], fake)).min(axis=1)
    covered = nearest <= radii
    labels = ref.style_labels[real_idx]
    return {name: float(covered[labels == i].mean()) if (labels == i).any() else float("nan")
            for i, name in enumerate(names)}


@dataclass
class Evaluator:
    ref: Reference
    train: TrainSet
    data: object  # PreparedData
    reference_split: str
    seed: int = 0

    @classmethod
    def open(cls, data, reference_split: str = "test", seed: int = 0) -> "Evaluator":
        return cls(load_reference(data, reference_split, seed=seed), load_train(data), data, reference_split, seed)

    def windows(self, tokens: np.ndarray, label: str, style: np.ndarray | None = None) -> WindowSet:
        """A set from range-relative tokens [N, V, T] (model samples, prepared windows)."""
        m = self.data.manifest
        return from_tokens(tokens, self.data.low, m["steps_per_quarter"], tuple(m["roles"]), label, style,
                           list(m["style_names"]))

    def evaluate(self, ws: WindowSet) -> tuple[dict[str, float], dict[str, float]]:
        """(flat metrics, coverage per style) of a set."""
        ev = evaluate_set(ws, self.ref, self.train, None, self.seed)
        return ev.metrics, coverage_by_style(ev, self.ref, self.seed)

    def calibration_sets(self, n: int, full: bool = True) -> dict[str, WindowSet]:
        """Sets whose right answer is known, each of n windows (fewer when the held-out split is smaller):
        real held-out windows (the best a model can do), and with ``full`` one window repeated (collapse), copies
        of training windows (memorisation) and random notes (no musical structure)."""
        split = HELDOUT_FOR[self.reference_split]
        held = from_prepared(self.data, split)
        rng = np.random.default_rng(self.seed)
        real_name = f"real {split} vs {self.reference_split}"
        sets = {real_name: held.sample(min(n, len(held)), self.seed)} if len(held) else {}
        if not full:
            return sets
        base = sets[real_name] if sets else None
        spq, roles = self.ref.config.steps_per_quarter, self.ref.roles
        train_tokens = self.train.tokens
        one = (base.tokens if base is not None else train_tokens)[0]
        sets["one window repeated"] = WindowSet(np.repeat(one[None], n, axis=0), spq, roles, "one window repeated")
        idx = np.sort(rng.choice(len(train_tokens), min(n, len(train_tokens)), replace=False))
        sets["copies of training windows"] = WindowSet(train_tokens[idx], spq, roles, "copies of training windows")
        like = base.tokens if base is not None else train_tokens
        sets["random notes"] = WindowSet(random_windows(n, like, self.seed), spq, roles, "random notes")
        return sets
