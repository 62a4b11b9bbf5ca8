"""What a generated set is compared with: the reference (statistics and fitted structures of real windows) and the
training set (for novelty), built once per dataset and kept on disk (``cache.py``) and in memory."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.dataset import load_prepared
from ..errors import UserError
from .cache import cache_key, load_cached, save_cached
from .copies import ngram_hashes
from .decode import decode, pitched_only
from .descriptors import DescriptorConfig
from .set_stats import SetStats, compute_set_stats, prepared_set_stats
from .sets import WindowSet
from .standardize import Standardizer
from .stats import kth_neighbour_distance, nearest_distance
from .style_classifier import StyleModel, style_model_for

PRDC_K = 5  # neighbours for precision/recall/density/coverage (Naeem et al. 2020 use k = 5)
MAX_PRDC_REF = 10_000  # reference windows used for PRDC (a seeded subsample beyond this)
PRDC_MIN_REF = 500  # reference windows used for PRDC however small the generated set (see Reference.prdc_sample)
MAX_MGEVAL = 500  # windows per set for MGEval's pairwise distances
MAX_KMEANS = 20_000  # reference windows the NDB k-means is fitted on
REF_PER_BIN = 100  # NDB bins K = reference windows / REF_PER_BIN, clipped to 2..100


@dataclass
class Reference:
    """What every generated set is compared with: the reference windows' statistics and fitted structures."""

    label: str
    key: str
    config: DescriptorConfig
    roles: tuple[str, ...]
    window_steps: int
    stats: SetStats
    std: Standardizer
    prdc_idx: np.ndarray  # [M] reference windows used for PRDC
    radii: np.ndarray  # [M] k-NN radii of those windows (standardised space)
    centroids: np.ndarray  # [K, D] NDB bins (k-means on standardised reference vectors)
    bin_counts: np.ndarray  # [K] reference windows per bin
    mgeval_idx: np.ndarray  # [<= MAX_MGEVAL] reference windows used for MGEval distances
    style_labels: np.ndarray | None  # [N] style index of each reference window
    style_names: list[str]
    style_model: StyleModel | None
    style_note: str  # why there is no style model, or ""
    seed: int = 0
    k: int = PRDC_K
    data: object = None  # the PreparedData it came from, when it did (calibration uses its splits)
    split: str = "train"
    extra: dict = field(default_factory=dict)

    def draw_shares(self) -> np.ndarray | None:
        """The style mix an unconditioned draw should follow: the shares of the training data (models draw styles
        by them), when the reference comes from a prepared dataset; else the reference's own shares."""
        splits = getattr(self.data, "splits", None)
        if splits is not None and "train" in splits and len(splits["train"]["style"]) and self.style_names:
            c = np.bincount(splits["train"]["style"].astype(np.int64), minlength=len(self.style_names))
            return c / c.sum()
        return self.style_shares()

    @property
    def X(self) -> np.ndarray:
        """[N, D] standardised reference vectors."""
        if "X" not in self.extra:
            self.extra["X"] = self.std.transform(self.stats.vectors)
        return self.extra["X"]

    @property
    def n(self) -> int:
        return self.stats.n

    def prdc_sample(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Reference windows for PRDC against n generated ones, with their k-NN radii: a seeded subsample of
        size min(max(n, PRDC_MIN_REF), N, MAX_PRDC_REF). Equal sizes as in Naeem et al. for large sets; for small
        ones the reference keeps PRDC_MIN_REF windows, because k-NN balls among a few dozen points in this
        ~60-dimensional space are so wide that one window repeated would lie in a quarter of them."""
        m = min(max(n, PRDC_MIN_REF), len(self.prdc_idx))
        if m >= len(self.prdc_idx):
            return self.prdc_idx, self.radii
        key = ("prdc", m)
        if key not in self.extra:
            idx = np.sort(np.random.default_rng([self.seed, m]).choice(self.prdc_idx, m, replace=False))
            self.extra[key] = (idx, kth_neighbour_distance(self.X[idx], self.k))
        return self.extra[key]

    def style_shares(self) -> np.ndarray | None:
        if self.style_labels is None or not self.style_names:
            return None
        c = np.bincount(self.style_labels[self.style_labels >= 0], minlength=len(self.style_names))
        return c / max(c.sum(), 1)


def _fit_structures(stats: SetStats, seed: int):
    # Imported here: scikit-learn takes about 2 s to import; a reference found in the cache never needs it.
    from sklearn.cluster import KMeans

    std = Standardizer.fit(stats.vectors)
    X = std.transform(stats.vectors)
    rng = np.random.default_rng(seed)
    n = len(X)
    prdc_idx = np.sort(rng.choice(n, MAX_PRDC_REF, replace=False)) if n > MAX_PRDC_REF else np.arange(n)
    radii = kth_neighbour_distance(X[prdc_idx], PRDC_K)
    K = int(np.clip(n // REF_PER_BIN, 2, 100)) if n >= 4 else 1
    fit_idx = rng.choice(n, MAX_KMEANS, replace=False) if n > MAX_KMEANS else np.arange(n)
    if K > 1:
        km = KMeans(n_clusters=K, n_init=1, random_state=seed).fit(X[fit_idx])
        centroids = km.cluster_centers_
    else:
        centroids = X.mean(0, keepdims=True)
    _, lab = nearest_distance(X, centroids)
    bin_counts = np.bincount(lab, minlength=len(centroids))
    mgeval_idx = np.sort(rng.choice(n, MAX_MGEVAL, replace=False)) if n > MAX_MGEVAL else np.arange(n)
    return std, prdc_idx, radii, centroids, bin_counts, mgeval_idx


def build_reference(ws: WindowSet, stats: SetStats | None = None, config: DescriptorConfig | None = None,
                    style_model: StyleModel | str | None = None, key: str = "", seed: int = 0) -> Reference:
    """A reference from a set of windows (in memory; ``load_reference`` adds the disk cache for datasets)."""
    config = config or DescriptorConfig(ws.steps_per_quarter)
    stats = stats or compute_set_stats(ws, config)
    std, prdc_idx, radii, centroids, counts, mg = _fit_structures(stats, seed)
    note = style_model if isinstance(style_model, str) else ""
    model = style_model if isinstance(style_model, StyleModel) else None
    if style_model is None and ws.style_names and len(ws.style_names) < 2:
        note = f"the reference has one style ({ws.style_names[0]}): style shares are trivial"
    return Reference(ws.label, key, config, ws.roles, ws.tokens.shape[-1], stats, std, prdc_idx, radii, centroids,
                     counts, mg, ws.style, list(ws.style_names or []), model, note, seed)


_MEMO: dict = {}  # references and training sets already loaded by this process


def load_reference(data_dir, split: str = "train", config: DescriptorConfig | None = None, seed: int = 0,
                   progress: bool = False) -> Reference:
    """The reference statistics of a prepared dataset's split, from the disk cache when possible.

    The style classifier is trained on the dataset's train split and scored on its val + test splits."""
    data = data_dir if hasattr(data_dir, "splits") else load_prepared(data_dir)
    m = data.manifest
    config = config or DescriptorConfig(int(m["steps_per_quarter"]))
    memo_key = (str(Path(data.root).resolve()), m.get("content_hash"), split, config, seed)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    if split != "all" and split in data.splits and len(data.splits[split]["rolls"]) < 2:
        raise UserError(f"{data.root}: the {split} split has {len(data.splits[split]['rolls'])} windows; a reference "
                        "needs at least 2 (use --reference-split all, or prepare more data)")
    stats, ws, set_key = prepared_set_stats(data, split, config)
    key = cache_key(kind="reference", set=set_key, k=PRDC_K, prdc=MAX_PRDC_REF, mg=MAX_MGEVAL, km=MAX_KMEANS,
                    bins=REF_PER_BIN, seed=seed)
    hit = load_cached(f"ref-{key}")
    if hit is not None:
        a, meta = hit
        std = Standardizer(a["mean"], a["scale"])
        model = StyleModel.from_arrays(a, meta["style"]) if meta.get("style") else None
        ref = Reference(ws.label, key, config, ws.roles, ws.tokens.shape[-1], stats, std, a["prdc_idx"], a["radii"],
                        a["centroids"], a["bin_counts"], a["mgeval_idx"], ws.style, list(ws.style_names or []),
                        model, meta.get("style_note", ""), seed, data=data, split=split)
    else:
        model = style_model_for(data, config, seed)
        ref = build_reference(ws, stats, config, model, key, seed)
        ref.data, ref.split = data, split
        arrays = {"mean": ref.std.mean, "scale": ref.std.scale, "prdc_idx": ref.prdc_idx, "radii": ref.radii,
                  "centroids": ref.centroids, "bin_counts": ref.bin_counts, "mgeval_idx": ref.mgeval_idx}
        meta = {"style_note": ref.style_note, "style": None}
        if ref.style_model is not None:
            arrays.update(ref.style_model.to_arrays())
            meta["style"] = ref.style_model.meta()
        save_cached(f"ref-{key}", arrays, meta)
    _MEMO[memo_key] = ref
    return ref


@dataclass
class TrainSet:
    """The windows a model learnt from, for novelty metrics."""

    label: str
    key: str
    stats: SetStats
    tokens: np.ndarray  # [N, V, T] absolute tokens (calibration copies from these)


def load_train(data_dir, split: str = "train", config: DescriptorConfig | None = None) -> TrainSet:
    data = data_dir if hasattr(data_dir, "splits") else load_prepared(data_dir)
    config = config or DescriptorConfig(int(data.manifest["steps_per_quarter"]))
    memo_key = ("train", str(Path(data.root).resolve()), data.manifest.get("content_hash"), split, config)
    if memo_key not in _MEMO:
        stats, ws, key = prepared_set_stats(data, split, config)
        hit = load_cached(f"ngrams-{key}")
        if hit is not None:
            stats.copy.ngrams = hit[0]["ngrams"]
        else:
            stats.copy.ngrams = np.unique(ngram_hashes(decode(pitched_only(ws.tokens, ws.roles)))[0])
            save_cached(f"ngrams-{key}", {"ngrams": stats.copy.ngrams})
        _MEMO[memo_key] = TrainSet(ws.label, key, stats, ws.tokens)
    return _MEMO[memo_key]


def train_from_windows(ws: WindowSet, config: DescriptorConfig | None = None) -> TrainSet:
    """A training set from windows in memory (no disk cache)."""
    return TrainSet(ws.label, "", compute_set_stats(ws, config, ngrams=True), ws.tokens)
