"""Reference and training statistics, computed once per dataset and cached on disk.

The cache key holds everything that changes the numbers: the dataset's content hash, the split, the descriptor
configuration, the metric parameters and a fingerprint of this package's source code. Files are npz (arrays
only, never pickle) written atomically under ``$DIVERTIMENTO_CACHE/eval`` (default ``~/.cache/divertimento``).
"""

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic
from ..errors import UserError
from .copies import CopyIndex, build_copy_index, ngram_hashes
from .decode import decode
from .descriptors import DescriptorConfig, Descriptors, compute_descriptors, descriptor_vectors
from .sets import WindowSet, from_prepared

PRDC_K = 5  # neighbours for precision/recall/density/coverage (Naeem et al. 2020 use k = 5)
MAX_PRDC_REF = 10_000  # reference windows used for PRDC (a seeded subsample beyond this)
PRDC_MIN_REF = 500  # reference windows used for PRDC however small the generated set (see Reference.prdc_sample)
MAX_MGEVAL = 500  # windows per set for MGEval's pairwise distances
MAX_KMEANS = 20_000  # reference windows the NDB k-means is fitted on
REF_PER_BIN = 100  # NDB bins K = reference windows / REF_PER_BIN, clipped to 2..100


def code_fingerprint() -> str:
    """Hash of this package's source: a change to any definition invalidates cached statistics."""
    h = hashlib.sha256()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("DIVERTIMENTO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "divertimento")
    return Path(base) / "eval"


def cache_key(**parts) -> str:
    parts["code"] = code_fingerprint()
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


MAX_CACHE_BYTES = 2 * 2**30  # the least recently used entries go beyond this (stale code versions first)


def save_cached(name: str, arrays: dict[str, np.ndarray], meta: dict | None = None) -> None:
    """Atomic npz write; a cache that cannot be written is only slower next time, never an error."""
    try:
        root = cache_root()
        root.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        payload = dict(arrays)
        payload["__meta__"] = np.frombuffer(json.dumps(meta or {}).encode(), dtype=np.uint8)
        np.savez(buf, **payload)
        write_bytes_atomic(root / f"{name}.npz", buf.getvalue())
        prune_cache(root)
    except OSError:
        pass


def prune_cache(root: Path, max_bytes: int = MAX_CACHE_BYTES) -> None:
    """Delete the least recently used cache files until the folder holds at most ``max_bytes``."""
    files = []
    for p in root.iterdir():
        if p.is_file() and p.suffix in (".npz", ".json") and not p.name.startswith("."):
            st = p.stat()
            files.append((st.st_atime, st.st_size, p))
    total = sum(f[1] for f in files)
    for _, size, p in sorted(files):
        if total <= max_bytes:
            break
        try:
            p.unlink()
            total -= size
        except OSError:
            pass


def load_cached(name: str) -> tuple[dict[str, np.ndarray], dict] | None:
    p = cache_root() / f"{name}.npz"
    if not p.is_file():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        return arrays, meta
    except (OSError, ValueError, KeyError):
        return None


# ---- per-window statistics of a set ----------------------------------------------------------------------------


@dataclass
class SetStats:
    desc: Descriptors
    vectors: np.ndarray  # [N, D] raw descriptor vectors (NaN where undefined)
    copy: CopyIndex

    @property
    def n(self) -> int:
        return len(self.vectors)

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = self.desc.to_arrays("d")
        out["vectors"] = self.vectors
        out.update(self.copy.to_arrays())
        return out

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray], roles) -> "SetStats":
        return cls(Descriptors.from_arrays(a, roles, "d"), a["vectors"], CopyIndex.from_arrays(a))


def compute_set_stats(ws: WindowSet, config: DescriptorConfig | None = None, ngrams: bool = False) -> SetStats:
    """Descriptors, descriptor vectors and the copy index of a set of windows."""
    config = config or DescriptorConfig(ws.steps_per_quarter)
    dec = decode(ws.tokens)
    desc = compute_descriptors(dec, config, ws.roles)
    copy = build_copy_index(dec, config.steps_per_quarter, ngrams=ngrams)
    return SetStats(desc, descriptor_vectors(desc), copy)


def _config_dict(config: DescriptorConfig) -> dict:
    return {"spq": config.steps_per_quarter, "qn": config.qn_steps}


def prepared_set_stats(data, split: str, config: DescriptorConfig) -> tuple[SetStats, WindowSet, str]:
    """Set statistics of one split of a prepared dataset, from the cache when it holds them."""
    ws = from_prepared(data, split)
    key = cache_key(kind="set", data=data.manifest.get("content_hash"), split=split, config=_config_dict(config))
    hit = load_cached(f"set-{key}")
    if hit is not None and len(hit[0].get("vectors", ())) == len(ws):
        return SetStats.from_arrays(hit[0], ws.roles), ws, key
    stats = compute_set_stats(ws, config, ngrams=False)
    save_cached(f"set-{key}", stats.to_arrays(), {"data": str(data.root), "split": split})
    return stats, ws, key


# ---- standardised descriptor space -----------------------------------------------------------------------------


@dataclass
class Standardizer:
    """z = (x - mean) / scale with the reference's statistics; a NaN (undefined descriptor) becomes the mean, and a
    dimension that is constant in the reference keeps its raw units (scale 1)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> "Standardizer":
        with np.errstate(invalid="ignore"), _quiet_nan():
            mean = np.nan_to_num(np.nanmean(x, axis=0), nan=0.0) if len(x) else np.zeros(x.shape[1])
            std = np.nan_to_num(np.nanstd(x, axis=0), nan=0.0) if len(x) else np.ones(x.shape[1])
        return cls(mean, np.where(std > 1e-8, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.where(np.isnan(x), self.mean, x)
        return (x - self.mean) / self.scale


class _quiet_nan:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *a):
        self._w.__exit__(*a)


# ---- style classifier -------------------------------------------------------------------------------------------


@dataclass
class StyleModel:
    """Multinomial logistic regression on standardised descriptor vectors, stored as plain arrays."""

    names: list[str]  # all style names of the dataset
    classes: np.ndarray  # [C] style indices the model can predict
    coef: np.ndarray  # [C or 1, D]
    intercept: np.ndarray  # [C or 1]
    std: Standardizer
    accuracy: float  # on the held-out (val + test) windows; NaN when there are none
    balanced_accuracy: float
    n_train: int
    n_heldout: int
    # [S, S] over all style names: row i = how the held-out windows of style i are classified (rows sum to 1; a
    # style with no held-out window gets the identity row). None when there is no held-out data.
    confusion: np.ndarray | None = None

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        z = self.std.transform(vectors) @ self.coef.T + self.intercept
        if len(self.classes) == 2 and z.shape[1] == 1:
            return self.classes[(z[:, 0] > 0).astype(int)]
        return self.classes[np.argmax(z, axis=1)]

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {"style/classes": self.classes, "style/coef": self.coef, "style/intercept": self.intercept,
               "style/mean": self.std.mean, "style/scale": self.std.scale}
        if self.confusion is not None:
            out["style/confusion"] = self.confusion
        return out

    def meta(self) -> dict:
        return {"names": self.names, "accuracy": self.accuracy, "balanced_accuracy": self.balanced_accuracy,
                "n_train": self.n_train, "n_heldout": self.n_heldout}

    @classmethod
    def from_arrays(cls, a: dict, meta: dict) -> "StyleModel":
        return cls(meta["names"], a["style/classes"], a["style/coef"], a["style/intercept"],
                   Standardizer(a["style/mean"], a["style/scale"]), meta["accuracy"], meta["balanced_accuracy"],
                   meta["n_train"], meta["n_heldout"], a.get("style/confusion"))


MAX_STYLE_TRAIN = 10_000


def fit_style_model(x_train, y_train, x_held, y_held, names: list[str], seed: int = 0) -> StyleModel | str:
    """A style classifier, or the reason there is none (one style only)."""
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(y_train)
    if len(classes) < 2:
        only = names[int(classes[0])] if len(classes) else "none"
        return f"the reference has one style ({only}): style shares are trivial and no classifier is trained"
    if len(x_train) > MAX_STYLE_TRAIN:
        idx = np.random.default_rng(seed).choice(len(x_train), MAX_STYLE_TRAIN, replace=False)
        x_train, y_train = x_train[idx], y_train[idx]
    from threadpoolctl import threadpool_limits

    std = Standardizer.fit(x_train)
    clf = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced")
    with threadpool_limits(1):  # small problem: BLAS threads only fight each other (16 s vs 0.3 s measured)
        clf.fit(std.transform(x_train), y_train)
    model = StyleModel(list(names), clf.classes_.astype(np.int64), clf.coef_, clf.intercept_, std, float("nan"),
                       float("nan"), len(x_train), len(x_held))
    if len(x_held):
        pred = model.predict(x_held)
        model.accuracy = float((pred == y_held).mean())
        recalls = [float((pred[y_held == c] == c).mean()) for c in np.unique(y_held)]
        model.balanced_accuracy = float(np.mean(recalls))
        model.confusion = confusion_matrix(y_held, pred, len(names))
    return model


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """[n, n] row-normalised: row i = the share of windows of true class i predicted as each class; identity row
    for a class with no windows (nothing is known of its errors, so none are corrected)."""
    counts = np.zeros((n, n))
    np.add.at(counts, (np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    rows = counts.sum(1, keepdims=True)
    return np.where(rows > 0, counts / np.maximum(rows, 1), np.eye(n))


def adjusted_shares(votes: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """The class mix q that best explains the classifier's vote shares ``votes`` given its confusion C (rows: true
    class -> predicted): argmin ||C^T q - votes|| over the simplex (adjusted classify-and-count, Forman 2008).
    A classifier that mistakes 10 % of bach for palestrina would otherwise make every model look short of bach."""
    from scipy.optimize import nnls

    votes = np.asarray(votes, dtype=np.float64)
    weight = 100.0  # the sum-to-one row, weighted so that it holds to ~1e-4
    A = np.vstack([np.asarray(confusion, dtype=np.float64).T, np.full((1, len(votes)), weight)])
    q, _ = nnls(A, np.concatenate([votes, [weight]]))
    return q / q.sum() if q.sum() > 0 else q


# ---- the reference ----------------------------------------------------------------------------------------------


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
        from .stats import kth_neighbour_distance

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
    from sklearn.cluster import KMeans

    std = Standardizer.fit(stats.vectors)
    X = std.transform(stats.vectors)
    rng = np.random.default_rng(seed)
    n = len(X)
    prdc_idx = np.sort(rng.choice(n, MAX_PRDC_REF, replace=False)) if n > MAX_PRDC_REF else np.arange(n)
    from .stats import kth_neighbour_distance

    radii = kth_neighbour_distance(X[prdc_idx], PRDC_K)
    K = int(np.clip(n // REF_PER_BIN, 2, 100)) if n >= 4 else 1
    fit_idx = rng.choice(n, MAX_KMEANS, replace=False) if n > MAX_KMEANS else np.arange(n)
    if K > 1:
        km = KMeans(n_clusters=K, n_init=1, random_state=seed).fit(X[fit_idx])
        centroids = km.cluster_centers_
    else:
        centroids = X.mean(0, keepdims=True)
    from .stats import nearest_distance

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


_MEMO: dict = {}


def load_reference(data_dir, split: str = "train", config: DescriptorConfig | None = None, seed: int = 0,
                   progress: bool = False) -> Reference:
    """The reference statistics of a prepared dataset's split, from the disk cache when possible.

    The style classifier is trained on the dataset's train split and scored on its val + test splits."""
    from ..data.dataset import load_prepared

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
        model = _style_for(data, config, seed)
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


def _style_for(data, config: DescriptorConfig, seed: int) -> StyleModel | str:
    names = list(data.manifest["style_names"])
    y_train = data.splits["train"]["style"].astype(np.int64)
    if len(np.unique(y_train)) < 2:
        return fit_style_model(np.zeros((len(y_train), 1)), y_train, None, None, names)
    train, _, _ = prepared_set_stats(data, "train", config)
    held = [s for s in ("val", "test") if len(data.splits[s]["rolls"])]
    if held:
        xs = [prepared_set_stats(data, s, config)[0].vectors for s in held]
        x_held = np.concatenate(xs)
        y_held = np.concatenate([data.splits[s]["style"].astype(np.int64) for s in held])
    else:
        x_held, y_held = np.zeros((0, train.vectors.shape[1])), np.zeros(0, dtype=np.int64)
    return fit_style_model(train.vectors, y_train, x_held, y_held, names, seed)


@dataclass
class TrainSet:
    """The windows a model learnt from, for novelty metrics."""

    label: str
    key: str
    stats: SetStats
    tokens: np.ndarray  # [N, V, T] absolute tokens (calibration copies from these)


def load_train(data_dir, split: str = "train", config: DescriptorConfig | None = None) -> TrainSet:
    from ..data.dataset import load_prepared

    data = data_dir if hasattr(data_dir, "splits") else load_prepared(data_dir)
    config = config or DescriptorConfig(int(data.manifest["steps_per_quarter"]))
    memo_key = ("train", str(Path(data.root).resolve()), data.manifest.get("content_hash"), split, config)
    if memo_key not in _MEMO:
        stats, ws, key = prepared_set_stats(data, split, config)
        hit = load_cached(f"ngrams-{key}")
        if hit is not None:
            stats.copy.ngrams = hit[0]["ngrams"]
        else:
            stats.copy.ngrams = np.unique(ngram_hashes(decode(ws.tokens))[0])
            save_cached(f"ngrams-{key}", {"ngrams": stats.copy.ngrams})
        _MEMO[memo_key] = TrainSet(ws.label, key, stats, ws.tokens)
    return _MEMO[memo_key]


def train_from_windows(ws: WindowSet, config: DescriptorConfig | None = None) -> TrainSet:
    """A training set from windows in memory (no disk cache)."""
    return TrainSet(ws.label, "", compute_set_stats(ws, config, ngrams=True), ws.tokens)
