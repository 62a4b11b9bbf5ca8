"""Per-source-file cache of parsed pieces, keyed by the file's content hash, so a second prepare is fast.

Entries are JSON (data only). A parse failure is cached too, with its reason, so bad files are not re-parsed.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic
from ..music.notes import Piece, Track

# Bump when the readers change what they produce: old entries are then ignored.
READER_VERSION = 5  # 5: an ABC tune where music21 would invent a note is refused


def default_cache_dir() -> Path:
    base = os.environ.get("DIVERTIMENTO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "divertimento")
    return Path(base) / "parsed"


def file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(digest: str, number: int | str | None, steps_per_quarter: int) -> str:
    return hashlib.sha256(f"{digest}|{number}|{steps_per_quarter}|{READER_VERSION}".encode()).hexdigest()[:32]


def piece_to_json(p: Piece) -> dict:
    return {
        "title": p.title,
        "steps_per_quarter": p.steps_per_quarter,
        "tempo_qpm": p.tempo_qpm,
        "bars": p.bars.tolist(),
        "tracks": [{"name": t.name, "program": t.program, "is_drum": t.is_drum, "notes": t.notes.ravel().tolist()}
                   for t in p.tracks],
    }


def piece_from_json(d: dict) -> Piece:
    tracks = [Track(t["name"], t["program"], t["is_drum"], np.asarray(t["notes"], dtype=np.int32).reshape(-1, 4))
              for t in d["tracks"]]
    return Piece(d["title"], d["steps_per_quarter"], tracks, np.asarray(d["bars"], dtype=np.int32).reshape(-1, 4),
                 d["tempo_qpm"])


class ParseCache:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root else default_cache_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, entry: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        write_bytes_atomic(path, json.dumps(entry, separators=(",", ":")).encode())
