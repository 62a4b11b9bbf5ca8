"""Evaluated sets: everything becomes absolute-pitch token windows ``[N, V, T]`` through one path.

A folder of MIDI (or MusicXML/ABC/Humdrum) files is read with ``music.read.read_piece`` and cut with
``data.windows.cut_windows`` using the *reference's* window spec (layout, grid, bars, hop, meters), exactly as
``prepare`` cut the reference; prepared windows and model samples are shifted from their range-relative tokens to
absolute ones. Nothing else converts music for the metrics.
"""

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.dataset import load_prepared
from ..data.windows import DEFAULT_METERS, WindowSpec, cut_windows
from ..errors import UserError
from ..music.layouts import get_layout
from ..music.read import SUFFIXES, UnreadableFile, read_piece
from .decode import to_absolute

MODEL_SUFFIXES = (".safetensors", ".pt", ".ckpt")


@dataclass
class WindowSet:
    tokens: np.ndarray  # [N, V, T] uint8 absolute tokens: REST 0, HOLD 1, onset of MIDI pitch p = 2 + p
    steps_per_quarter: int  # grid resolution
    roles: tuple[str, ...]  # voice names, top to bottom
    label: str  # where the set came from, for reports
    style: np.ndarray | None = None  # [N] int16 style index into style_names (requested/known), -1 unknown
    style_names: list[str] | None = None
    sources: list[str] | None = None  # per window "file@step", when read from files
    skipped: list[dict] = field(default_factory=list)  # {"source", "reason"} for files that gave no window
    n_files: int = 0  # files looked at (0 when not read from files)

    def __len__(self) -> int:
        return len(self.tokens)

    def subset(self, idx: np.ndarray, label: str | None = None) -> "WindowSet":
        idx = np.asarray(idx)
        return WindowSet(self.tokens[idx], self.steps_per_quarter, self.roles, label or self.label,
                         None if self.style is None else self.style[idx], self.style_names,
                         None if self.sources is None else [self.sources[i] for i in idx], self.skipped, self.n_files)

    def sample(self, n: int | None, seed: int = 0) -> "WindowSet":
        """At most n windows drawn at random without replacement (kept in their order)."""
        if n is None or n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False))
        return self.subset(idx)

    def skipped_summary(self) -> dict[str, int]:
        return dict(Counter(s["reason"] for s in self.skipped).most_common())


def window_spec_from_manifest(manifest: dict):
    """The WindowSpec a prepared dataset (or a model trained on one) was cut with."""
    layout = get_layout(manifest.get("layout", "satb"))
    return WindowSpec(layout, int(manifest.get("steps_per_quarter", 4)), int(manifest.get("bars_per_window", 4)),
                      int(manifest.get("hop_quarters", 4)), kept_meters(manifest))


def kept_meters(manifest: dict) -> tuple[str, ...]:
    """The meters a dataset kept (a prepared manifest's ``meters_kept``; a model's data summary and older
    manifests list them under ``meters``)."""
    kept = manifest.get("meters_kept", manifest.get("meters", DEFAULT_METERS))
    return tuple(kept)


def from_tokens(tokens: np.ndarray, low: int, steps_per_quarter: int = 4, roles: tuple[str, ...] = (),
                label: str = "windows", style=None, style_names: list[str] | None = None) -> WindowSet:
    """A set from token windows relative to ``low`` (pass low=0 for absolute tokens)."""
    abs_tokens = to_absolute(tokens, low)
    roles = tuple(roles) or tuple(f"voice{i}" for i in range(abs_tokens.shape[1]))
    if len(roles) != abs_tokens.shape[1]:
        raise ValueError(f"{len(roles)} roles for {abs_tokens.shape[1]} voices")
    st = None if style is None else np.asarray(style, dtype=np.int16)
    return WindowSet(abs_tokens, steps_per_quarter, roles, label, st, style_names)


def from_prepared(data, split: str) -> WindowSet:
    """Windows of one split of a prepared dataset (a ``PreparedData`` or its directory)."""
    if not hasattr(data, "splits"):
        data = load_prepared(data)
    m = data.manifest
    splits = list(data.splits) if split == "all" else [split]
    for s in splits:
        if s not in data.splits:
            raise UserError(f"{data.root} has no split {s!r} (it has {', '.join(data.splits)})")
    rolls = np.concatenate([data.splits[s]["rolls"] for s in splits])
    style = np.concatenate([data.splits[s]["style"] for s in splits]).astype(np.int16)
    ws = from_tokens(rolls, m["pitch_range"][0], m["steps_per_quarter"], tuple(m["roles"]),
                     f"{data.root}:{split}", style, list(m["style_names"]))
    ws.sources = None
    return ws


def _music_files(root: Path) -> tuple[list[Path], list[dict]]:
    files, other = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            (files if p.suffix.lower() in SUFFIXES else other).append(p)
    skipped = [{"source": str(p), "reason": f"not a music file ({p.suffix or 'no suffix'})"} for p in other]
    return files, skipped


def from_files(path: str | os.PathLike, manifest: dict, progress: bool = False) -> WindowSet:
    """Every window of every music file under ``path`` (a file or a folder), cut like the reference."""
    root = Path(path)
    if not root.exists():
        raise UserError(f"{root} does not exist")
    spec = window_spec_from_manifest(manifest)
    if root.is_file():
        files, skipped = [root], []
    else:
        files, skipped = _music_files(root)
    rolls, sources = [], []
    it = files
    if progress and len(files) > 50:
        it = tqdm(files, desc="reading", unit="file", leave=False)
    for f in it:
        try:
            piece = read_piece(f, spec.steps_per_quarter)
        except UnreadableFile as e:
            skipped.append({"source": str(f), "reason": str(e)})
            continue
        except Exception as e:  # a reader bug must not end the evaluation of the other files
            skipped.append({"source": str(f), "reason": f"unreadable ({type(e).__name__})"})
            continue
        cut = cut_windows(piece, spec)
        if isinstance(cut, str):
            n_steps = piece.n_steps
            reason = cut
            if n_steps < spec.steps and "no full" in cut:
                reason = f"shorter than a window ({n_steps} of {spec.steps} steps)"
            skipped.append({"source": str(f), "reason": reason})
            continue
        rolls.append(cut.rolls)
        sources += [f"{f.name}@{int(s)}" for s in cut.starts]
    V, T = len(spec.layout.roles), spec.steps
    tokens = np.concatenate(rolls) if rolls else np.zeros((0, V, T), dtype=np.uint8)
    return WindowSet(tokens.astype(np.uint8), spec.steps_per_quarter, spec.layout.roles, str(root),
                     None, None, sources, skipped, len(files))


# ---- telling a model path from music ----------------------------------------------------


def is_model_path(path: str | os.PathLike) -> bool:
    """A model file, or a run dir: a directory with model.safetensors, a checkpoint file at its top level, or a
    ``checkpoints/`` folder holding one (a run dir's sample MIDI files do not make it a music folder)."""
    p = Path(path)
    if p.is_file():
        return p.suffix.lower() in MODEL_SUFFIXES
    if not p.is_dir() or (p / "manifest.json").is_file():
        return False

    def has_model(d: Path) -> bool:
        return d.is_dir() and any(q.suffix.lower() in MODEL_SUFFIXES and q.is_file() for q in d.iterdir())

    return has_model(p) or has_model(p / "checkpoints")


def load_generated(path: str | os.PathLike, manifest: dict, n: int | None = None, split: str = "test",
                   seed: int = 0, progress: bool = False) -> WindowSet:
    """GENERATED of ``divertimento evaluate`` when it is music: a music file or folder, or a prepared dataset dir
    (its ``split``). Models are sampled by the caller (``sample.windows.sample_window_set``)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p} does not exist")
    if p.is_dir() and (p / "manifest.json").is_file():
        ws = from_prepared(p, split)
        if len(ws) == 0:
            raise UserError(f"split {split!r} of {p} has no windows")
    else:
        ws = from_files(p, manifest, progress=progress)
        if len(ws) == 0:
            summary = ", ".join(f"{c} {r}" for r, c in ws.skipped_summary().items())
            if ws.n_files == 0:
                other = f" ({len(ws.skipped)} other file(s) ignored)" if ws.skipped else ""
                raise UserError(f"{p} holds no music files (.mid, .midi, .mxl, .musicxml, .xml, .abc, .krn){other}")
            raise UserError(f"no usable {manifest.get('bars_per_window', 4)}-bar window in {p}: "
                            f"{ws.n_files} file(s) skipped ({summary})")
    return ws.sample(n, seed)
