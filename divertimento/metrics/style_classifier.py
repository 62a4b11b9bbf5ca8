"""The style classifier: which style a window sounds like, from its descriptor vector (for ``style/*`` metrics)."""

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .descriptors import DescriptorConfig
from .set_stats import prepared_set_stats
from .standardize import Standardizer

MAX_STYLE_TRAIN = 10_000


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


def fit_style_model(x_train, y_train, x_held, y_held, names: list[str], seed: int = 0) -> StyleModel | str:
    """A style classifier, or the reason there is none (one style only)."""
    # Imported here: scikit-learn takes about 2 s to import, and every importer of the metrics package (the web
    # studio through metrics.copies included) would pay it; only a reference without a cached classifier needs it.
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(y_train)
    if len(classes) < 2:
        only = names[int(classes[0])] if len(classes) else "none"
        return f"the reference has one style ({only}): style shares are trivial and no classifier is trained"
    if len(x_train) > MAX_STYLE_TRAIN:
        idx = np.random.default_rng(seed).choice(len(x_train), MAX_STYLE_TRAIN, replace=False)
        x_train, y_train = x_train[idx], y_train[idx]
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


def style_model_for(data, config: DescriptorConfig, seed: int) -> StyleModel | str:
    """The classifier of a prepared dataset: trained on its train split, scored on its val + test splits."""
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
