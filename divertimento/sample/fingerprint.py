"""A model's training windows, compact, inside its model file: the near-copy check (``originality.py``) then works
wherever the model goes, without the prepared dataset (a fresh install has none). About 0.7 MB for the default
data: the train split's tokens, compressed, with each window's piece and start and the pieces' titles."""

import io
import json

import numpy as np
import torch

TENSOR = "fingerprint.npz"  # the model file's tensor: the bytes of an .npz (read with allow_pickle=False)


def fingerprint_bytes(rolls: np.ndarray, piece: np.ndarray, start: np.ndarray, titles: dict[int, str],
                      low: int, steps_per_quarter: int) -> bytes:
    buf = io.BytesIO()
    used = {int(p): titles.get(int(p), "") for p in np.unique(piece)}
    np.savez_compressed(buf, rolls=rolls.astype(np.uint8), piece=piece.astype(np.int32),
                        start=start.astype(np.int32), low=np.int32(low), steps_per_quarter=np.int32(steps_per_quarter),
                        titles=np.frombuffer(json.dumps(used).encode(), dtype=np.uint8))
    return buf.getvalue()


def fingerprint_of(data) -> torch.Tensor:
    """The fingerprint tensor of a prepared dataset (``data.dataset.PreparedData``)."""
    pieces = json.loads((data.root / "pieces.json").read_text()) if (data.root / "pieces.json").is_file() else []
    tr = data.splits["train"]
    raw = fingerprint_bytes(tr["rolls"], tr["piece"], tr["start"], {int(p["id"]): str(p.get("title", ""))
                                                                     for p in pieces}, data.low,
                            int(data.manifest["steps_per_quarter"]))
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).copy())


def read_fingerprint(tensor: torch.Tensor) -> dict:
    """rolls [N, V, T] (relative to low), piece, start, titles {piece: title}, low, steps_per_quarter."""
    with np.load(io.BytesIO(tensor.numpy().tobytes()), allow_pickle=False) as z:
        out = {k: z[k] for k in ("rolls", "piece", "start")}
        out["titles"] = {int(k): v for k, v in json.loads(z["titles"].tobytes().decode()).items()}
        out["low"], out["steps_per_quarter"] = int(z["low"]), int(z["steps_per_quarter"])
    return out
