"""``prepare``: real music in, training windows out (npz shards + manifest.json), written atomically."""

import hashlib
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..atomic import write_json_atomic
from ..errors import UserError
from ..music.layouts import get_layout
from ..music.read import MIDI_SUFFIXES, UnreadableFile, file_problem, read_piece
from ..music.roll import n_tokens
from .cache import ParseCache, cache_key, file_digest, piece_from_json, piece_to_json
from .sources import ParseTask, resolve_sources
from .split import SPLITS, split_pieces
from .windows import DEFAULT_METERS, PieceWindows, WindowSpec, crop_to_range, cut_windows, pitch_extent
from .workers import WORKER_MEMORY, bounded_map

FORMAT_VERSION = 2  # 2: a meter per window (shards' ``meter``, manifest ``meter_names``)


@dataclass
class PrepareOptions:
    layout: str = "satb"  # named layout, see music.layouts
    steps_per_quarter: int = 4  # grid resolution; 4 = 16th notes
    bars: int = 4  # window length in 4/4 bars
    hop_quarters: int = 4  # distance between window starts (quarters); a window's bars overlap its neighbours'
    meters: tuple[str, ...] = DEFAULT_METERS  # time signatures kept; bars in others are counted as left out
    transpose: tuple[int, int] = (-3, 3)  # semitone shifts drawn per training window (train split only)
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0  # split seed
    workers: int = 2
    file_time_limit: float = 120.0  # seconds to read one file before it is skipped (music21 can take forever)
    cache_dir: str | None = None  # parsed-piece cache; None = ~/.cache/divertimento/parsed
    sources: list[str] = field(default_factory=list)

    def validate(self) -> None:
        get_layout(self.layout)
        if self.steps_per_quarter not in (1, 2, 3, 4, 6, 8, 12, 16):
            raise UserError(f"steps per quarter must divide 48 (got {self.steps_per_quarter})")
        if not 1 <= self.bars <= 64:
            raise UserError(f"bars per window must be 1..64 (got {self.bars})")
        if self.hop_quarters < 1:
            raise UserError("hop must be at least one quarter")
        if self.transpose[0] > 0 or self.transpose[1] < 0 or max(map(abs, self.transpose)) > 12:
            raise UserError(f"transpose range {self.transpose} must contain 0 and stay within an octave")
        if not 1 <= self.workers <= 64:
            raise UserError("workers must be 1..64")
        if not 0.1 <= self.file_time_limit <= 86_400:
            raise UserError(f"file time limit must be 0.1..86400 seconds (got {self.file_time_limit})")


# Worker-process globals, set once per process by _init_worker.
_SPEC: WindowSpec | None = None
_CACHE: ParseCache | None = None


def _init_worker(spec: WindowSpec, cache_root: str) -> None:
    global _SPEC, _CACHE
    _SPEC, _CACHE = spec, ParseCache(cache_root)


def _read_task(task: ParseTask, digest: str | None, spq: int):
    """A Piece for the task, through the cache for music21 formats (MIDI is faster to parse than to un-JSON)."""
    if Path(task.path).suffix.lower() in MIDI_SUFFIXES or digest is None:
        return read_piece(task.path, spq, task.number, task.index)
    key = cache_key(digest, task.tune, spq)
    entry = _CACHE.get(key)
    if entry is not None:
        if "error" in entry:
            raise UnreadableFile(entry["error"])
        return piece_from_json(entry["piece"])
    try:
        piece = read_piece(task.path, spq, task.number, task.index)
    except UnreadableFile as e:
        _CACHE.put(key, {"error": str(e)})
        raise
    _CACHE.put(key, {"piece": piece_to_json(piece)})
    return piece


def _process(item: tuple[int, ParseTask, str | None]):
    i, task, digest = item
    try:
        piece = _read_task(task, digest, _SPEC.steps_per_quarter)
        result = cut_windows(piece, _SPEC)
        title = piece.title
    except UnreadableFile as e:
        return i, None, str(e)
    except Exception as e:  # a reader bug on one odd file must not sink a whole corpus: report it as skipped
        return i, None, f"failed to read: {type(e).__name__}: {str(e)[:120]}"
    if isinstance(result, str):
        return i, None, result
    return i, (title, result), None


def _digests(tasks: list[ParseTask]) -> tuple[dict[str, str], dict[str, str]]:
    digests, errors = {}, {}
    for path in sorted({t.path for t in tasks}):
        problem = file_problem(path)
        if problem:
            errors[path] = problem
            continue
        try:
            digests[path] = file_digest(path)
        except OSError as e:
            errors[path] = f"cannot read: {e.strerror or e}"
    return digests, errors


def _progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="prepare", unit="piece", smoothing=0.05)


def prepare(out_dir: str | os.PathLike, options: PrepareOptions, progress: bool = True) -> dict:
    """Read the sources, cut windows, split by piece and write ``out_dir``; returns the manifest."""
    options.validate()
    t0 = time.perf_counter()
    layout = get_layout(options.layout)
    spec = WindowSpec(layout, options.steps_per_quarter, options.bars, options.hop_quarters, tuple(options.meters))
    tasks = resolve_sources(options.sources)
    out_dir = Path(out_dir)
    notes = recover_dataset(out_dir)
    _check_writable(out_dir)
    cache = ParseCache(options.cache_dir)
    digests, unreadable = _digests(tasks)
    skipped = [{"source": t.key, "style": t.style, "reason": unreadable[t.path]} for t in tasks if t.path in unreadable]
    work = [(i, t, digests[t.path]) for i, t in enumerate(tasks) if t.path in digests]

    results: dict[int, tuple[str, PieceWindows]] = {}
    reasons: dict[int, str] = {}
    if options.workers > 1 or len(work) > 8:  # in workers that a hang or a crash cannot take down with the run
        it = bounded_map(_process, work, options.workers, options.file_time_limit, WORKER_MEMORY, _init_worker,
                         (spec, str(cache.root)))
        for item, status, value in _progress(it, len(work), progress):
            i, res, reason = value if status == "ok" else (item[0], None, value)
            (results.__setitem__(i, res) if res else reasons.__setitem__(i, reason))
    else:
        _init_worker(spec, str(cache.root))
        for item in _progress(work, len(work), progress):
            i, res, reason = _process(item)
            (results.__setitem__(i, res) if res else reasons.__setitem__(i, reason))
    skipped += [{"source": tasks[i].key, "style": tasks[i].style, "reason": r} for i, r in sorted(reasons.items())]
    if not results:
        raise UserError(f"no usable windows in {len(tasks)} source piece(s); first reasons: "
                        + "; ".join(f"{s['source']}: {s['reason']}" for s in skipped[:3]))

    order = sorted(results)
    extents = [pitch_extent(results[i][1].rolls) for i in order]
    low = min(e[0] for e in extents if e)
    high = max(e[1] for e in extents if e)
    split_of = split_pieces([tasks[i].style for i in order], [tasks[i].key for i in order], options.split,
                            options.seed)
    styles = sorted({tasks[i].style for i in order})
    meter_names = meter_order(Counter(m for i in order for m in results[i][1].meters))
    left_out: Counter = Counter()
    pieces, shards = [], {s: {"rolls": [], "style": [], "meter": [], "piece": [], "start": []} for s in SPLITS}
    for k, i in enumerate(order):
        title, w = results[i]
        left_out.update(w.left_out)
        sp = split_of[k]
        shards[sp]["rolls"].append(crop_to_range(w.rolls, low))
        shards[sp]["style"].append(np.full(len(w.starts), styles.index(tasks[i].style), dtype=np.int16))
        shards[sp]["meter"].append(np.asarray([meter_names.index(m) for m in w.meters], dtype=np.int16))
        shards[sp]["piece"].append(np.full(len(w.starts), k, dtype=np.int32))
        shards[sp]["start"].append(w.starts)
        pieces.append({"id": k, "source": tasks[i].key, "title": title, "style": tasks[i].style, "split": sp,
                       "windows": int(len(w.starts)), "tracks": w.tracks, "tempo": w.tempo, "opening": w.opening})

    roll_shape = (0, len(layout.roles), spec.steps)
    arrays = {}
    for sp in SPLITS:
        d = shards[sp]
        arrays[sp] = {
            "rolls": np.concatenate(d["rolls"]) if d["rolls"] else np.zeros(roll_shape, dtype=np.uint8),
            "style": np.concatenate(d["style"]) if d["style"] else np.zeros(0, dtype=np.int16),
            "meter": np.concatenate(d["meter"]) if d["meter"] else np.zeros(0, dtype=np.int16),
            "piece": np.concatenate(d["piece"]) if d["piece"] else np.zeros(0, dtype=np.int32),
            "start": np.concatenate(d["start"]) if d["start"] else np.zeros(0, dtype=np.int32),
        }
    manifest = {
        "format_version": FORMAT_VERSION,
        "divertimento_version": __version__,
        "layout": layout.name,
        "roles": list(layout.roles),
        "parts": [{"name": p.name, "program": p.program, "drum": p.drum, "lanes": p.lanes} for p in layout.parts],
        "drum_voices": list(layout.drum_voices),
        "monophonic": True,  # every layout is token rows (a polyphonic part has several); older readers check it
        "steps_per_quarter": spec.steps_per_quarter,
        "bars_per_window": spec.bars,
        "window_steps": spec.steps,
        "hop_quarters": spec.hop_quarters,
        "meters_kept": list(spec.meters),
        # windows per meter over all splits, most used first; ``meter_names`` is the index order of the shards'
        # ``meter`` (a model's meter labels)
        "meters": {m: int(sum((arrays[sp]["meter"] == k).sum() for sp in SPLITS)) for k, m in enumerate(meter_names)},
        "meter_names": meter_names,
        "pitch_range": [low, high],
        "vocab_size": n_tokens(low, high),
        "styles": {
            s: {
                "pieces": {sp: sum(1 for p in pieces if p["style"] == s and p["split"] == sp) for sp in SPLITS},
                "windows": {sp: int((arrays[sp]["style"] == styles.index(s)).sum()) for sp in SPLITS},
                "meters": {m: n for k, m in enumerate(meter_names)
                           if (n := int(sum(((arrays[sp]["style"] == styles.index(s)) & (arrays[sp]["meter"] == k))
                                                .sum() for sp in SPLITS)))},
            }
            for s in styles
        },
        "style_names": styles,
        # each style's median tempo over its pieces (quarters per minute): what its pieces are played at, unless the
        # style has a tempo of its own (sample/pieces.py STYLE_SOUND)
        "style_tempos": {s: float(np.median([p["tempo"]["qpm"] for p in pieces if p["style"] == s])) for s in styles},
        "pickups": pickup_counts(pieces),
        "windows": int(sum(len(arrays[sp]["style"]) for sp in SPLITS)),
        "split_seed": options.seed,
        "split_fractions": list(options.split),
        "augment": {"transpose": list(options.transpose), "applies_to": "train"},
        "sources": options.sources or ["(embedded default)"],
        "left_out_counts": dict(left_out.most_common()),
        "notes": note_accounting(pieces),
        "skipped_reason_counts": dict(Counter(s["reason"].split(" (")[0].split(":")[0] for s in skipped).most_common()),
        "skipped": skipped,
        "files": {sp: f"{sp}.npz" for sp in SPLITS} | {"pieces": "pieces.json"},
        "seconds": round(time.perf_counter() - t0, 2),
        "recovered": notes,
    }
    _write_dataset(out_dir, arrays, pieces, manifest)
    return manifest


def pickup_counts(pieces: list[dict]) -> dict:
    """Per style and opening meter, how many pieces open there and how many of them with a pickup of each length
    in steps: ``{"irish": {"6/8": {"pieces": 410, "pickups": {"2": 330}}}}``; whole pieces are drawn with pickups in
    these shares (studio/pickup.py)."""
    out: dict = {}
    for p in pieces:
        meter, steps = p["opening"]["meter"], p["opening"]["pickup_steps"]
        row = out.setdefault(p["style"], {}).setdefault(meter, {"pieces": 0, "pickups": {}})
        row["pieces"] += 1
        if steps:
            row["pickups"][str(steps)] = row["pickups"].get(str(steps), 0) + 1
    return out


def note_accounting(pieces: list[dict]) -> dict:
    """How many notes of the tracks that went to a part were kept (the rest did not fit the part's lanes), and the
    notes of tracks left out, by reason."""
    placed = kept = 0
    left: Counter = Counter()
    for piece in pieces:
        for t in piece["tracks"]:
            if t.get("part") is None:
                left[t["left_out"].split(" (")[0]] += t["notes"]
            elif "kept" in t:
                placed += t["notes"]
                kept += t["kept"]
    return {"placed": placed, "kept": kept, "tracks_left_out": dict(left.most_common())}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0  # another user's process, or no such pid at all
    return True


def recover_dataset(out_dir: str | os.PathLike) -> list[str]:
    """Finish what a killed ``prepare`` left: when it died between its two renames the dataset exists only as the
    hidden ``.NAME.old-PID`` beside it, which goes back in place; temp and old folders of dead runs are removed.
    Returns what was done, one line each (a running prepare's folders are left alone)."""
    out_dir = Path(out_dir)
    done = []
    leftovers = []
    for kind in ("old", "tmp"):
        for p in out_dir.parent.glob(f".{out_dir.name}.{kind}-*"):
            pid = p.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                leftovers.append((kind, p))
    for kind, p in sorted(leftovers, key=lambda x: -x[1].stat().st_mtime):
        if kind == "old" and not out_dir.exists() and (p / "manifest.json").is_file():
            os.replace(p, out_dir)
            done.append(f"restored {out_dir} from {p.name}, left by an interrupted prepare")
        else:
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}, left by an interrupted prepare")
    return done


def _check_writable(out_dir: Path) -> None:
    parent = out_dir.resolve().parent
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output {out_dir} exists and is not a directory")
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "manifest.json").exists():
        raise UserError(f"output {out_dir} is a non-empty directory that is not a prepared dataset; "
                        "refusing to replace it")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {parent}: {e.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write to {parent}")


SHARD_ARRAYS = ("rolls", "style", "meter", "piece", "start")


def meter_order(counts: Counter) -> list[str]:
    """Meters by windows, most first (ties by name): index 0 is the data's most common meter, the one a tool that
    names none gets."""
    return sorted(counts, key=lambda m: (-counts[m], m))


def content_hash(arrays: dict, names: tuple[str, ...] = SHARD_ARRAYS) -> str:
    h = hashlib.sha256()
    for sp in SPLITS:
        for name in names:
            a = np.ascontiguousarray(arrays[sp][name])
            h.update(f"{sp}/{name}/{a.dtype}/{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def _write_dataset(out_dir: Path, arrays: dict, pieces: list, manifest: dict) -> None:
    """Write into a sibling temp dir, then swap it in: an interrupted prepare never leaves a dataset that a
    later ``train`` would accept (``load_prepared`` requires manifest.json, written last, with a matching hash)."""
    manifest["content_hash"] = content_hash(arrays)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for sp in SPLITS:
            np.savez_compressed(tmp / f"{sp}.npz", **arrays[sp])
        write_json_atomic(tmp / "pieces.json", pieces)
        write_json_atomic(tmp / "manifest.json", manifest)
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

