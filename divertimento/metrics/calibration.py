"""Calibration: the metrics on sets whose right answer is known, so every number has a scale.

- real test vs train: held-out real windows (the reference data's test split): the best a model can do;
- one window repeated: total collapse (duplicate rate (n-1)/n, coverage near 0);
- copies of training windows: pure memorisation (near-copy rate 1);
- random notes: each voice gets random pitches in its own range and random rhythm (no musical structure).

All four have the same number of windows, ``min(n_generated, n_test, 1000)``, since coverage, recall and NDB depend
on set size. Results are cached under a key of the reference, training set, metrics and size.
"""

import json

import numpy as np

from ..atomic import write_json_atomic
from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST
from .cache import cache_key, cache_root
from .reference import Reference, TrainSet
from .registry import resolve
from .sets import WindowSet, from_prepared
from .suite import evaluate_set

CAL_SETS = ("real test vs train", "one window repeated", "copies of training windows", "random notes")
MAX_CAL = 1000


def _test_windows(ref: Reference) -> WindowSet | None:
    if ref.data is None:
        return None
    for split in ("test", "val"):
        if split in ref.data.splits and len(ref.data.splits[split]["rolls"]):
            return from_prepared(ref.data, split)
    return None


def random_windows(n: int, like: np.ndarray, seed: int = 0, onset_p: float = 0.3, rest_p: float = 0.1) -> np.ndarray:
    """[n, V, T] absolute tokens of random music: per voice, each step starts a note with probability onset_p
    (pitch uniform in the voice's 5th-95th percentile range in ``like``), else rests with probability rest_p,
    else holds. A voice silent throughout ``like`` stays silent."""
    rng = np.random.default_rng(seed)
    _, V, T = like.shape
    out = np.zeros((n, V, T), dtype=np.uint8)
    for v in range(V):
        p = like[:, v][like[:, v] >= FIRST_PITCH_TOKEN].astype(np.int64) - FIRST_PITCH_TOKEN
        if len(p) == 0:
            continue
        lo, hi = (int(x) for x in np.percentile(p, [5, 95]))
        u = rng.random((n, T))
        tok = np.where(u < onset_p, FIRST_PITCH_TOKEN + rng.integers(lo, hi + 1, (n, T)),
                       np.where(u < onset_p + rest_p, REST, HOLD))
        tok[:, 0] = FIRST_PITCH_TOKEN + rng.integers(lo, hi + 1, n)
        out[:, v] = tok
    return out


def calibration_sets(ref: Reference, train: TrainSet | None, n: int, seed: int = 0) -> dict[str, WindowSet]:
    test = _test_windows(ref)
    sets: dict[str, WindowSet] = {}
    rng = np.random.default_rng(seed)
    base = test if test is not None and len(test) else None
    spq, roles = ref.config.steps_per_quarter, ref.roles
    if base is not None:
        n = min(n, len(base))
        sets["real test vs train"] = base.sample(n, seed)
        one = base.tokens[rng.integers(len(base))]
    elif train is not None and len(train.tokens):
        one = train.tokens[rng.integers(len(train.tokens))]
    else:
        return sets
    sets["one window repeated"] = WindowSet(np.repeat(one[None], n, axis=0), spq, roles, "one window repeated")
    if train is not None and len(train.tokens):
        idx = rng.choice(len(train.tokens), min(n, len(train.tokens)), replace=False)
        sets["copies of training windows"] = WindowSet(train.tokens[np.sort(idx)], spq, roles,
                                                       "copies of training windows")
    like = base.tokens if base is not None else train.tokens
    sets["random notes"] = WindowSet(random_windows(n, like, seed), spq, roles, "random notes")
    return sets


def calibrate(ref: Reference, train: TrainSet | None, metrics: list[str] | None, n_generated: int,
              seed: int = 0, use_cache: bool = True) -> dict:
    """{"n": size, "sets": {set name: {metric key: value}}}, from the cache when possible."""
    names = resolve(metrics)
    test = _test_windows(ref)
    n = max(1, min(n_generated, MAX_CAL, len(test) if test is not None else MAX_CAL))
    key = cache_key(kind="calibration", ref=ref.key, train=train.key if train else None, metrics=names, n=n,
                    seed=seed)
    path = cache_root() / f"calibration-{key}.json"
    if use_cache and ref.key and path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    out = {"n": n, "sets": {}}
    for name, ws in calibration_sets(ref, train, n, seed).items():
        ev = evaluate_set(ws, ref, train, names, seed)
        out["sets"][name] = {k: (None if not np.isfinite(v) else v) for k, v in ev.metrics.items()}
    if use_cache and ref.key:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, out)
        except OSError:
            pass
    return out
