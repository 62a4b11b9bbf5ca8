"""One evaluation's state, handed to every metric: the generated set's statistics in the reference's space, plus
memoised intermediate results that several metrics share (and the report reads)."""

import numpy as np

from .copies import build_copy_index
from .decode import decode, pitched_only
from .descriptors import compute_descriptors, descriptor_vectors
from .reference import MAX_MGEVAL, Reference, TrainSet
from .set_stats import SetStats
from .sets import WindowSet


class Context:
    """One evaluation: the generated set's statistics plus memoised intermediate results shared by metrics."""

    def __init__(self, gen: WindowSet, ref: Reference, train: TrainSet | None = None, seed: int = 0):
        self.gen, self.ref, self.train, self.seed = gen, ref, train, seed
        self.dec = decode(pitched_only(gen.tokens, gen.roles))
        desc = compute_descriptors(self.dec, ref.config, gen.roles)
        copy = build_copy_index(self.dec, ref.config.steps_per_quarter, ngrams=False)
        self.stats = SetStats(desc, descriptor_vectors(desc), copy)
        self.X = ref.std.transform(self.stats.vectors)  # [N, D] standardised generated vectors
        self.memo: dict = {}
        self.per_window: dict[str, np.ndarray] = {}  # for the report (copy scores, nearest distances, ...)
        self.notes: list[str] = []

    def once(self, key: str, fn):
        if key not in self.memo:
            self.memo[key] = fn()
        return self.memo[key]

    @property
    def n(self) -> int:
        return len(self.gen)

    def mgeval_idx(self) -> np.ndarray:
        def pick():
            if self.n <= MAX_MGEVAL:
                return np.arange(self.n)
            return np.sort(np.random.default_rng(self.seed).choice(self.n, MAX_MGEVAL, replace=False))
        return self.once("mgeval_idx", pick)
