"""Pieces to files in the formats a user asks for: MIDI, MusicXML, OGG/WAV audio, piano-roll PNG."""

import os
import re
from pathlib import Path

from ..errors import UserError
from ..music.notes import Piece
from ..music.plot import write_pianoroll_png
from ..music.render import check_renderer, render_audio
from ..music.write import write_midi, write_musicxml

FORMATS = ("mid", "musicxml", "ogg", "wav", "png")
AUDIO = ("ogg", "wav")


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    formats = ["mid" if f in ("midi",) else "musicxml" if f in ("xml", "mxl") else f for f in formats]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UserError(f"unknown format(s) {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}")
    if any(f in AUDIO for f in formats):
        check_renderer()  # fail before generating anything, not after
    return list(dict.fromkeys(formats))


def prepare_out_dir(out: str | os.PathLike) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {out}")
    return out


def safe_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "piece"


def write_piece_files(piece: Piece, out: Path, stem: str, formats: list[str]) -> dict[str, str]:
    """Write one piece in each format; audio is rendered from the MIDI written alongside (or a temp one)."""
    paths: dict[str, str] = {}
    midi = out / f"{stem}.mid"
    needs_midi = "mid" in formats or any(f in AUDIO for f in formats)
    if needs_midi:
        write_midi(piece, midi)
        if "mid" in formats:
            paths["mid"] = midi.name
    if "musicxml" in formats:
        write_musicxml(piece, out / f"{stem}.musicxml")
        paths["musicxml"] = f"{stem}.musicxml"
    for fmt in AUDIO:
        if fmt in formats:
            render_audio(midi, out / f"{stem}.{fmt}")
            paths[fmt] = f"{stem}.{fmt}"
    if "png" in formats:
        write_pianoroll_png(piece, out / f"{stem}.png")
        paths["png"] = f"{stem}.png"
    if needs_midi and "mid" not in formats:
        midi.unlink(missing_ok=True)
    return paths
