"""The disk cache of reference and training statistics, so a dataset is measured once.

The cache key holds everything that changes the numbers: the dataset's content hash, the split, the descriptor
configuration, the metric parameters and a fingerprint of this package's source code. Files are npz (arrays
only, never pickle) written atomically under ``$DIVERTIMENTO_CACHE/eval`` (default ``~/.cache/divertimento``).
"""

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic

MAX_CACHE_BYTES = 2 * 2**30  # the least recently used entries go beyond this (stale code versions first)


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
