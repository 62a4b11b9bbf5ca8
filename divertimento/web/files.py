"""Files made for download, kept in the server's own output folder and named only by opaque piece ids.

A request names a file as ``<32 hex digits>.<format>``; anything else is not a file here (404). Paths are built
from the validated id, never from user text, so no request can reach outside the folder. Files are made on
first request (audio takes a second of FluidSynth) and the oldest are removed beyond ``MAX_FILES``: they can
always be made again from the stored piece."""

import re
import threading
from pathlib import Path

from ..music.plot import write_pianoroll_png
from ..music.render import render_audio
from ..music.write import write_midi, write_musicxml
from ..studio.engine import Engine
from ..studio.pieces import StudioPiece

NAME_RE = re.compile(r"([0-9a-f]{32})\.(mid|musicxml|ogg|png)")
MEDIA = {"mid": "audio/midi", "musicxml": "application/vnd.recordare.musicxml+xml", "ogg": "audio/ogg",
         "png": "image/png"}
MAX_FILES = 2000


def parse_name(name: str) -> tuple[str, str] | None:
    m = NAME_RE.fullmatch(name)
    return (m.group(1), m.group(2)) if m else None


class OutputDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._made = 0

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def path(self, pid: str, fmt: str) -> Path:
        assert re.fullmatch(r"[0-9a-f]{32}", pid) and fmt in MEDIA
        return self.root / f"{pid}.{fmt}"

    def ready(self, pid: str, fmt: str) -> bool:
        """Whether the file is made: a regular file (a symlink planted in the folder is never served)."""
        out = self.path(pid, fmt)
        return out.is_file() and not out.is_symlink()

    def ensure(self, pid: str, fmt: str, piece: StudioPiece, engine: Engine) -> Path:
        """The file, made now if it is not there yet (one maker per file at a time)."""
        out = self.path(pid, fmt)
        if self.ready(pid, fmt):
            return out
        with self._lock(f"{pid}.{fmt}"):
            if self.ready(pid, fmt):
                return out
            if out.is_symlink() or out.exists():
                out.unlink()  # not a regular file of ours: replaced, never followed
            music = piece.to_piece(engine)
            if fmt == "mid":
                write_midi(music, out)
            elif fmt == "musicxml":
                write_musicxml(music, out)
            elif fmt == "png":
                write_pianoroll_png(music, out)
            else:
                midi = self.root / f".{pid}.render.mid"
                write_midi(music, midi)
                try:
                    render_audio(midi, out)
                finally:
                    midi.unlink(missing_ok=True)
        with self._guard:
            self._locks.pop(f"{pid}.{fmt}", None)
            self._made += 1
            if self._made >= 100:
                self._made = 0
                self.prune()
        return out

    def prune(self, keep: int = MAX_FILES) -> int:
        files = sorted((p for p in self.root.iterdir() if p.is_file() and parse_name(p.name)),
                       key=lambda p: p.stat().st_mtime)
        for p in files[: max(0, len(files) - keep)]:
            p.unlink(missing_ok=True)
        return max(0, len(files) - keep)
