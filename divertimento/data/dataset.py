"""Loading a prepared dataset, and the PyTorch Dataset over its windows."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..music.roll import FIRST_PITCH_TOKEN
from .conditions import MODE_NAMES, condition_labels
from .prepare import SHARD_ARRAYS, content_hash, recover_dataset
from .split import SPLITS

SUPPORTED_FORMAT = 2
# Format 1 (before meters) had no meter per window; its windows were all in the 4/4 family and of one length, and
# are read as one meter, so older datasets still evaluate and train (a model of one meter, as then).
FORMAT_1_ARRAYS = tuple(n for n in SHARD_ARRAYS if n != "meter")


def _upgrade_format_1(manifest: dict, splits: dict) -> dict:
    """A format-1 manifest in format 2's terms: one meter (the first the dataset kept), every window in it."""
    kept = list(manifest.get("meters", ["4/4"])) or ["4/4"]
    m = dict(manifest, meters_kept=kept, meter_names=[kept[0]], meters={kept[0]: int(manifest.get("windows", 0))})
    m["styles"] = {s: dict(v, meters={kept[0]: int(sum(v["windows"].values()))}) for s, v in m["styles"].items()}
    for sp in splits.values():
        sp["meter"] = np.zeros(len(sp["style"]), dtype=np.int16)
    return m


@dataclass
class PreparedData:
    root: Path
    manifest: dict
    splits: dict[str, dict[str, np.ndarray]]  # split -> rolls/style/meter/piece/start arrays

    @property
    def style_names(self) -> list[str]:
        return self.manifest["style_names"]

    @property
    def meter_names(self) -> list[str]:
        return self.manifest["meter_names"]

    def conditions(self, split: str, modes: np.ndarray | None = None) -> np.ndarray:
        """Each window's condition label (style and meter; ``summary.condition_labels``), int64; with ``modes``
        (each window's, ``data.modes.mode_labels``) the label of a model conditioned on mode."""
        sp = self.splits[split]
        if modes is None:
            return condition_labels(sp["style"].astype(np.int64), sp["meter"].astype(np.int64), self.manifest)
        return condition_labels(sp["style"].astype(np.int64), sp["meter"].astype(np.int64),
                                self.manifest | {"mode_names": MODE_NAMES}, modes)

    @property
    def low(self) -> int:
        return self.manifest["pitch_range"][0]

    @property
    def high(self) -> int:
        return self.manifest["pitch_range"][1]


def load_prepared(root: str | Path, verify: bool = True) -> PreparedData:
    """Open a ``prepare`` output; refuses a folder without a manifest, from a newer format, or whose shards do
    not match the manifest's content hash (a half-written or edited dataset)."""
    root = Path(root)
    mpath = root / "manifest.json"
    if not root.exists():
        recover_dataset(root)  # a prepare killed mid-swap left it beside, hidden
    if not root.is_dir():
        raise UserError(f"data dir {root} does not exist")
    if not mpath.is_file():
        raise UserError(f"{root} is not a prepared dataset (no manifest.json); run `divertimento prepare` first")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{mpath} is unreadable: {e}") from None
    fmt = manifest.get("format_version")
    if manifest.get("monophonic") is False:
        raise UserError(f"{root} holds polyphonic planes from an older divertimento; prepare it again (every layout "
                        "is now token rows)")
    if fmt not in (1, SUPPORTED_FORMAT):
        raise UserError(f"{root} has data format {fmt}, this divertimento reads 1 and {SUPPORTED_FORMAT}; prepare "
                        "it again")
    names = SHARD_ARRAYS if fmt == SUPPORTED_FORMAT else FORMAT_1_ARRAYS
    splits = {}
    for sp in SPLITS:
        try:
            with np.load(root / manifest["files"][sp], allow_pickle=False) as z:
                splits[sp] = {k: z[k] for k in names}
        except (OSError, KeyError, ValueError) as e:
            raise UserError(f"{root}: shard {sp} is missing or damaged ({e}); prepare it again") from None
    if verify and content_hash(splits, names) != manifest.get("content_hash"):
        raise UserError(f"{root}: shards do not match the manifest's content hash; prepare it again")
    if fmt == 1:
        manifest = _upgrade_format_1(manifest, splits)
    return PreparedData(root, manifest, splits)


def pitched_voices(manifest: dict) -> np.ndarray | None:
    """[V] bool, the token rows that carry pitches (a drum lane's tokens are drum keys: never transposed), or None
    when every row does."""
    drums = manifest.get("drum_voices")
    return None if not drums or not any(drums) else ~np.asarray(drums, dtype=bool)


def transpose_tokens(tokens: np.ndarray, shift: np.ndarray, vocab_size: int,
                     pitched: np.ndarray | None = None) -> np.ndarray:
    """Shift pitch tokens of [N, V, T] token windows by per-window semitones; rests, holds and the voices that
    ``pitched`` [V] leaves out (drums) stay."""
    out = tokens.astype(np.int64)
    pitch = out >= FIRST_PITCH_TOKEN
    if pitched is not None:
        pitch &= pitched.reshape(1, -1, 1)
    out = np.where(pitch, out + shift.reshape(-1, *([1] * (tokens.ndim - 1))), out)
    assert out.max(initial=0) < vocab_size and out.min(initial=0) >= 0, "transposition left the pitch range"
    return out


def shift_bounds(tokens: np.ndarray, vocab_size: int, lo: int, hi: int,
                 pitched: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per window, the smallest and largest shift in lo..hi that keeps every pitch (of the ``pitched`` voices)
    inside the vocabulary."""
    if pitched is not None:
        tokens = tokens[:, pitched]
    flat = tokens.reshape(len(tokens), -1).astype(np.int64)
    pitch = flat >= FIRST_PITCH_TOKEN
    top = np.where(pitch, flat, -1).max(axis=1)
    bottom = np.where(pitch, flat, vocab_size).min(axis=1)
    down = np.where(top >= 0, np.maximum(lo, FIRST_PITCH_TOKEN - bottom), 0)
    up = np.where(top >= 0, np.minimum(hi, vocab_size - 1 - top), 0)
    return down, up


def moved_at_random(manifest: dict, tokens: np.ndarray, seed: int) -> np.ndarray:
    """``tokens`` [N, V, T] each shifted by a random number of semitones in the data's train-split transposition
    range (within the vocabulary; drum lanes stay), as training batches are: real windows whose keys are spread as a
    model trained on them spreads its own."""
    vocab, pitched = manifest["vocab_size"], pitched_voices(manifest)
    lo, hi = manifest["augment"]["transpose"]
    down, up = shift_bounds(tokens, vocab, lo, hi, pitched)
    shift = down + (np.random.default_rng(seed).random(len(tokens)) * (up - down + 1)).astype(np.int64)
    return transpose_tokens(tokens, shift, vocab, pitched)


class WindowDataset:
    """Windows of one split as (tokens int64 [V, T], style int64). Module-level and picklable for DataLoader
    workers; train-split windows are transposed at random within the manifest's range when ``augment``."""

    def __init__(self, root: str | Path, split: str = "train", augment: bool | None = None, seed: int = 0):
        data = load_prepared(root)
        self.tokens = data.splits[split]["rolls"]
        self.style = data.splits[split]["style"].astype(np.int64)
        self.vocab_size = data.manifest["vocab_size"]
        self.pitched = pitched_voices(data.manifest)
        lo, hi = data.manifest["augment"]["transpose"]
        self.augment = (split == "train") if augment is None else augment
        self.down, self.up = shift_bounds(self.tokens, self.vocab_size, lo, hi, self.pitched)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int):
        import torch

        shift = np.zeros(1, dtype=np.int64)
        if self.augment:
            shift[0] = self.rng.integers(self.down[i], self.up[i] + 1)
        tokens = transpose_tokens(self.tokens[i : i + 1], shift, self.vocab_size, self.pitched)[0]
        return torch.from_numpy(tokens), torch.tensor(self.style[i])
