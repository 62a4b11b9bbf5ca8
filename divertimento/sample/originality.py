"""The originality figure of a generated piece (every studio piece and every ``generate`` output carries one):
how much of its nearest training window it reproduces.

Uses the evaluation suite's near-copy search (``metrics/copies.py``): a window is the set of its (onset, pitch)
points, and its score against a training window R is max_t |G n (R + t)| / max(|G|, |R|) over transpositions t.
A piece longer than one window is cut into 4-bar windows at every bar and its score is the worst (highest) one.

    copy_score  0..1, the share of notes shared with the nearest training window (in the best key)
    distance    1 - copy_score: 1 = nothing in common, 0 = a transposed copy
    near_copy   copy_score >= 0.8 (``COPY_THRESHOLD``), the suite's near-copy rule
"""

import json
import os
import threading
from pathlib import Path

import numpy as np

from ..data.dataset import load_prepared
from ..metrics.copies import COPY_THRESHOLD, build_copy_index, copy_scores, longest_copied_ngram
from ..metrics.decode import decode, to_absolute
from ..metrics.reference import load_train, train_from_windows
from ..metrics.sets import from_tokens
from .draw import piece_seed
from .fingerprint import read_fingerprint

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def resolve_data_dir(bundle, override: str | os.PathLike | None = None) -> Path | None:
    """The training data of a model: ``override``, else the model header's ``data_dir`` (relative paths are
    tried from the working directory and from the source checkout). None when it is not on this machine."""
    raw = override if override is not None else bundle.header.get("data_dir")
    if not raw:
        return None
    p = Path(raw)
    for cand in ([p] if p.is_absolute() else [Path.cwd() / p, REPO_ROOT / p]):
        if (cand / "manifest.json").is_file():
            return cand
    return None


def windows_of(tokens: np.ndarray, window: int, hop: int) -> np.ndarray:
    """[n, V, window] windows of a [V, T] piece at every ``hop`` steps (one, rest-padded, for a short piece)."""
    V, T = tokens.shape
    if T <= window:
        out = np.zeros((1, V, window), dtype=tokens.dtype)
        out[0, :, :T] = tokens
        return out
    starts = list(range(0, T - window + 1, hop))
    if starts[-1] != T - window:
        starts.append(T - window)
    return np.stack([tokens[:, s : s + window] for s in starts])


class Originality:
    """Scores pieces against a model's training windows; loads them in the background on first need."""

    def __init__(self, data_dir: Path | None, fingerprint=None):
        """``data_dir``: the model's prepared data; else ``fingerprint``, the training windows its model file
        carries (``sample/fingerprint.py``)."""
        self.data_dir = data_dir
        self.fingerprint = fingerprint if data_dir is None else None
        self._train = None
        self._error: str | None = None
        if data_dir is None and fingerprint is None:
            self._error = "training data not found on this machine and the model file carries none"
        self._loaded = threading.Event()
        self._lock = threading.Lock()
        if self._error:
            self._loaded.set()

    @property
    def status(self) -> str:
        if self._error:
            return f"unavailable: {self._error}"
        return "ready" if self._train is not None else "loading"

    def start(self) -> None:
        """Start loading in a background thread (startup stays fast)."""
        if not self._loaded.is_set():
            threading.Thread(target=self._load, daemon=True, name="originality-load").start()

    def _load(self) -> None:
        with self._lock:
            if self._loaded.is_set():
                return
            try:
                if self.data_dir is None:
                    fp = read_fingerprint(self.fingerprint)
                    self._train = train_from_windows(from_tokens(fp["rolls"], fp["low"], fp["steps_per_quarter"],
                                                                 label="fingerprint"))
                    self._source = (fp["piece"], fp["start"], fp["titles"], fp["steps_per_quarter"])
                    return
                data = load_prepared(self.data_dir, verify=False)
                self._train = load_train(data)
                pieces_json = Path(self.data_dir) / "pieces.json"
                titles = {}
                if pieces_json.is_file():
                    titles = {int(p["id"]): str(p.get("title", "")) for p in json.loads(pieces_json.read_text())}
                tr = data.splits["train"]
                self._source = (tr["piece"], tr["start"], titles, int(data.manifest["steps_per_quarter"]))
            except Exception as e:  # a damaged dataset must not take the studio down; the figure says why
                self._error = f"{type(e).__name__}: {str(e)[:120]}"
            finally:
                self._loaded.set()

    def wait(self, timeout: float | None = None) -> bool:
        if not self._loaded.is_set():
            self._load()
        return self._loaded.wait(timeout)

    def _describe(self, idx: int) -> str:
        piece, start, titles, spq = self._source
        if idx < 0 or idx >= len(piece):
            return ""
        title = titles.get(int(piece[idx]), f"piece {int(piece[idx])}")
        return f"{title}, bar {int(start[idx]) // (4 * spq) + 1}"

    def score(self, pieces: list[np.ndarray], low: int, window: int, hop: int | list[int]) -> list[dict | None]:
        """One figure per piece (token arrays [V, T] relative to ``low``), over its windows every ``hop`` steps (a
        bar; one per piece where pieces differ in meter); None when no training data."""
        self.wait()
        if self._train is None:
            return [None] * len(pieces)
        spq = self._source[3]
        wins, owner = [], []
        hops = hop if isinstance(hop, list) else [hop] * len(pieces)
        for k, tok in enumerate(pieces):
            w = windows_of(np.asarray(tok), window, hops[k])
            wins.append(w)
            owner += [k] * len(w)
        owner = np.asarray(owner)
        dec = decode(to_absolute(np.concatenate(wins), low))
        idx = build_copy_index(dec, spq, ngrams=False)
        best, src, shift = copy_scores(idx, self._train.stats.copy)
        ngram = longest_copied_ngram(dec, self._train.stats.copy.ngrams)
        out = []
        for k in range(len(pieces)):
            mine = np.flatnonzero(owner == k)
            j = mine[int(best[mine].argmax())]
            s = float(best[j])
            out.append({"copy_score": round(s, 3), "distance": round(1 - s, 3), "near_copy": s >= COPY_THRESHOLD,
                        "nearest": self._describe(int(src[j])), "transposition": int(shift[j]),
                        "longest_copied_ngram": int(ngram[mine].max()), "threshold": COPY_THRESHOLD})
        return out


MAX_REDRAWS = 3  # fresh draws for a piece that came out a near-copy, before the least-copied draw is kept


def redraw_pair(seed: int, index: int, attempt: int) -> tuple[int, int]:
    """The seed pair of draw ``attempt`` of piece (seed, index): attempt 0 is the pair itself; later attempts depend
    only on that pair, so a piece's redraws do not change when other pieces are asked for."""
    return (seed, index) if attempt == 0 else (piece_seed(seed, index), attempt)


def draw_novel_tokens(sampler, pairs: list[tuple[int, int]], style: str | None, truncation: float | None,
                      temperature: float | None, originality: "Originality", redraws: int = MAX_REDRAWS, **options):
    """Token windows for ``pairs`` (as ``sampler.generate_tokens``) where each near-copy of a training window is
    drawn again, in the same style, up to ``redraws`` times; the least-copied draw is kept if all are copies.
    ``options`` go to every ``generate_tokens`` call. Returns (tokens [N, V, T], style names, the seed pair each
    piece came from, originality figures or Nones)."""
    tokens, styles = sampler.generate_tokens(pairs, style, truncation, temperature, **options)
    tokens, styles = list(tokens), list(styles)
    used = list(pairs)
    window, hop = tokens[0].shape[-1], int(sampler.manifest["steps_per_quarter"]) * 4
    figures = originality.score(tokens, sampler.low, window, hop)
    for attempt in range(1, redraws + 1):
        todo = [k for k, f in enumerate(figures) if f is not None and f["near_copy"]]
        if not todo:
            break
        for name in sorted({styles[k] for k in todo}):
            group = [k for k in todo if styles[k] == name]
            fresh_pairs = [redraw_pair(*pairs[k], attempt) for k in group]
            fresh, _ = sampler.generate_tokens(fresh_pairs, name if sampler.conditional else style, truncation,
                                               temperature, **options)
            for k, p, t, f in zip(group, fresh_pairs, fresh, originality.score(list(fresh), sampler.low, window,
                                                                                 hop)):
                if f["copy_score"] < figures[k]["copy_score"]:
                    tokens[k], used[k], figures[k] = t, p, f
    return np.stack(tokens), styles, used, figures
