"""Audio through FluidSynth (the Debian ``fluidsynth`` command and a General MIDI soundfont)."""

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import UserError

SOUNDFONTS = (
    "/usr/share/sounds/sf2/TimGM6mb.sf2",  # small (6 MB), Debian timgm6mb-soundfont
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # large, Debian fluid-soundfont-gm
    "/usr/share/sounds/sf2/default-GM.sf2",
)


def find_soundfont() -> str | None:
    env = os.environ.get("DIVERTIMENTO_SOUNDFONT")
    for sf in ((env,) if env else ()) + SOUNDFONTS:
        if sf and Path(sf).is_file():
            return sf
    return None


def check_renderer() -> tuple[str, str]:
    exe = shutil.which("fluidsynth")
    sf = find_soundfont()
    if exe is None or sf is None:
        missing = "the fluidsynth command" if exe is None else "a General MIDI soundfont"
        raise UserError(f"audio needs {missing}: install Debian's fluidsynth and timgm6mb-soundfont "
                        "(`make setup` does), or leave ogg/wav out of --formats")
    return exe, sf


def render_audio(midi_path: str | os.PathLike, out_path: str | os.PathLike, sample_rate: int = 44100) -> None:
    """Render a MIDI file to WAV or OGG (by the suffix of ``out_path``); no shell, arguments passed as a list."""
    exe, sf = check_renderer()
    out_path = Path(out_path)
    fmt = {".ogg": "oga", ".wav": "wav", ".flac": "flac"}.get(out_path.suffix.lower())
    if fmt is None:
        raise UserError(f"unsupported audio format {out_path.suffix!r}")
    tmp = out_path.with_name(f".{out_path.name}.tmp{out_path.suffix}")
    cmd = [exe, "-ni", "-q", "-g", "0.6", "-r", str(sample_rate), "-T", fmt, "-F", str(tmp), sf, str(midi_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"fluidsynth failed: {proc.stderr.strip()[:200]}")
    os.replace(tmp, out_path)
