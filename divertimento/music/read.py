"""Read pieces from files: MIDI with symusic (fast), MusicXML/ABC/Humdrum with music21.

Every reader quantises to the step grid here, once, so real data and generated data share one path.
Readers raise ``UnreadableFile`` with a human-readable reason; the caller records it and moves on.
"""

import contextlib
import io
import os
import re
import stat
import sys
import threading
from pathlib import Path

import numpy as np

from .notes import Piece, Track, bars_from_time_signatures, sort_notes

MIDI_SUFFIXES = (".mid", ".midi")
MUSIC21_SUFFIXES = (".mxl", ".musicxml", ".xml", ".abc", ".krn")
SUFFIXES = MIDI_SUFFIXES + MUSIC21_SUFFIXES

MAX_TRACKS = 256  # more than any real arrangement; a file claiming 10,000 tracks is refused
MAX_STEPS = 200_000  # ~3 hours at 120 qpm on a 16th grid; longer "pieces" are corrupt or not music
MAX_FILE_BYTES = 64 * 2**20
MAX_METER_PART = 64  # numerator or denominator of a time signature or note length; M:99999/1 is not music
MAX_ABC_LENGTH = 256  # a note length multiplier (C256 = 256 default lengths); C1000000000 is not music


class UnreadableFile(Exception):
    """A file that is not usable music; the message is the reason shown in the manifest's ``skipped``."""


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as a music file (checked without opening it: opening a FIFO would wait for a
    writer, and a device never ends), or None for a readable regular file of a plausible size."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return "dangling symlink" if path.is_symlink() else "file vanished"
    except OSError as e:  # a symlink loop, a folder we may not enter
        return f"cannot stat: {e.strerror}"
    if stat.S_ISDIR(st.st_mode):
        return "a folder, not a file" if os.access(path, os.R_OK | os.X_OK) else "folder not readable"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a pipe, socket or device)"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    if st.st_size > MAX_FILE_BYTES:
        return f"file too large ({st.st_size} bytes)"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def _check_file(path: Path) -> None:
    problem = file_problem(path)
    if problem:
        raise UnreadableFile(problem)


def abc_tune_numbers(path: str | os.PathLike) -> list[int]:
    """Reference numbers (X: fields) of the tunes in an ABC file, in file order."""
    text = Path(path).read_text(encoding="latin-1")
    return [int(m) for m in re.findall(r"^X:\s*(\d+)", text, flags=re.M)]


def read_midi(path: str | os.PathLike, steps_per_quarter: int = 4) -> Piece:
    import symusic

    path = Path(path)
    _check_file(path)
    with open(path, "rb") as f:
        head = f.read(14)
    if head[:4] != b"MThd":
        raise UnreadableFile("not a MIDI file (no MThd header)")
    if len(head) == 14 and head[12] & 0x80:  # the division word's top bit: frames per second, not ticks per beat
        raise UnreadableFile("SMPTE timing (time in frames per second, no beats): valid MIDI, but it has no beat "
                             "grid to put notes on")
    try:
        score = symusic.Score(str(path))
    except Exception as e:  # symusic raises plain RuntimeErrors/ValueErrors for any malformed byte stream
        raise UnreadableFile(f"corrupt MIDI: {str(e).splitlines()[0][:120]}") from None
    if len(score.tracks) > MAX_TRACKS:
        raise UnreadableFile(f"too many tracks ({len(score.tracks)} > {MAX_TRACKS})")
    if score.tpq <= 0:
        raise UnreadableFile("invalid ticks per quarter")
    if score.end() * steps_per_quarter > MAX_STEPS * score.tpq:  # checked in ticks: resampling could overflow int32
        raise UnreadableFile(f"implausibly long (> {MAX_STEPS} steps)")
    grid = score.resample(tpq=steps_per_quarter, min_dur=1)  # quantise once, in C++
    tracks = []
    for t in grid.tracks:
        if len(t.notes) == 0:
            continue
        a = t.notes.numpy()
        notes = np.stack([a["time"], a["duration"], a["pitch"], a["velocity"]], axis=1).astype(np.int64)
        notes = notes[(notes[:, 0] >= 0) & (notes[:, 2] >= 0) & (notes[:, 2] <= 127)]
        if len(notes) and (notes[:, 0] + notes[:, 1]).max() > MAX_STEPS:
            raise UnreadableFile(f"implausibly long (> {MAX_STEPS} steps)")
        tracks.append(Track(t.name or "", int(t.program), bool(t.is_drum), sort_notes(notes.astype(np.int32))))
    end = max([int((t.notes[:, 0] + t.notes[:, 1]).max()) for t in tracks if len(t.notes)] + [0])
    ts = [(int(x.time), int(x.numerator), int(x.denominator)) for x in grid.time_signatures]
    ts = [x for x in ts if x[1] > 0 and x[2] > 0]
    if any(t > MAX_STEPS for t, _, _ in ts):  # bars would be laid out up to it, millions of them
        raise UnreadableFile(f"implausibly long (a time signature after {MAX_STEPS} steps)")
    if any(n > MAX_METER_PART or d > MAX_METER_PART for _, n, d in ts):
        raise UnreadableFile("implausible time signature")
    tempo = float(grid.tempos[0].qpm) if len(grid.tempos) else 120.0
    if not 20 <= tempo <= 400:
        tempo = 120.0  # absurd tempo meta events do not change the notes on the grid; keep a playable default
    # the grid counts beats, so a tempo change moves no note; the piece keeps its first tempo and says how many
    # changes it had (prepare reports them)
    changes = int((np.abs(np.diff([float(x.qpm) for x in grid.tempos])) > 0.01).sum()) if len(grid.tempos) else 0
    return Piece(path.stem, steps_per_quarter, tracks, bars_from_time_signatures(ts, end, steps_per_quarter), tempo,
                 {"tempo_changes": changes} if changes else {})


def _step(offset, spq: int) -> int:
    return int(round(float(offset) * spq))


def _tied_rows(part, spq: int) -> list[list[int]]:
    """(start, duration, pitch, velocity) rows of a music21 part, tied notes joined into one.

    Joins ties itself instead of calling music21's stripTies, which deep-copies the whole part and took 40 % of
    the corpus parse time."""
    rows: list[list[int]] = []
    open_ties: dict[int, int] = {}  # MIDI pitch -> row index of the note a tie continues
    for el in part.flatten().notes:
        if el.duration.isGrace or el.duration.quarterLength == 0:
            continue
        start = _step(el.offset, spq)
        end = _step(el.offset + el.duration.quarterLength, spq)
        vel = el.volume.velocity if el.volume.velocity is not None else 80
        for n in (el.notes if el.isChord else [el]):
            midi = int(n.pitch.midi)
            tie = n.tie.type if n.tie is not None else (el.tie.type if el.isChord and el.tie is not None else None)
            if tie in ("stop", "continue") and midi in open_ties:
                row = rows[open_ties[midi]]
                row[1] = max(row[1], end - row[0])
            else:
                rows.append([start, max(1, end - start), midi, int(vel)])
                open_ties.pop(midi, None)
                if tie in ("start", "continue"):
                    open_ties[midi] = len(rows) - 1
                continue
            if tie == "stop":
                open_ties.pop(midi)
    return rows


def from_music21(score, title: str, steps_per_quarter: int = 4) -> Piece:
    """Piece from a parsed music21 Score; barlines come from the score's own measures, so pickups stay aligned."""
    import music21 as m21

    parts = list(score.parts) or [score]
    tracks = []
    for part in parts:
        rows = np.asarray(_tied_rows(part, steps_per_quarter), dtype=np.int64).reshape(-1, 4)
        if len(rows) and (rows[:, 0] + rows[:, 1]).max() > MAX_STEPS:  # before anything is laid out that long
            raise UnreadableFile(f"implausibly long (> {MAX_STEPS} steps)")
        notes = sort_notes(rows.astype(np.int32))
        inst = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        program = inst.midiProgram if inst is not None and inst.midiProgram is not None else 0
        program = int(program) if 0 <= int(program) <= 127 else 0  # a score may claim any number; GM has 0-127
        tracks.append(Track(str(part.partName or getattr(part, "id", "") or ""), int(program), False, notes))
    bars = []
    measures = list(parts[0].getElementsByClass(m21.stream.Measure))
    ts_now = None
    for m in measures:
        if m.timeSignature is not None:
            ts_now = m.timeSignature
        ts = ts_now or m21.meter.TimeSignature("4/4")
        bars.append((_step(m.offset, steps_per_quarter), _step(m.duration.quarterLength, steps_per_quarter),
                     int(ts.numerator), int(ts.denominator)))
    bars = [b for b in bars if b[1] > 0]
    end = max([int((t.notes[:, 0] + t.notes[:, 1]).max()) for t in tracks if len(t.notes)] + [0])
    bar_array = (np.asarray(bars, dtype=np.int32).reshape(-1, 4) if bars
                 else bars_from_time_signatures([], end, steps_per_quarter))
    tempo = 100.0
    marks = list(score.recurse().getElementsByClass(m21.tempo.MetronomeMark))
    if marks and marks[0].getQuarterBPM():
        tempo = float(marks[0].getQuarterBPM())
    return Piece(title, steps_per_quarter, tracks, bar_array, tempo)


_STDERR_LOCK = threading.Lock()  # sys.stderr is process-wide: one captured parse at a time
_INVENTED = re.compile(r"from note:\s*(.*?), assuming C")


@contextlib.contextmanager
def _no_invented_notes(abc: bool):
    """Refuse an ABC tune where music21's parser, unable to read a note, writes a C in its place (it says so only
    on stderr, "... assuming C"): a parse must never invent a note. Other messages pass through to stderr."""
    if not abc:
        yield
        return
    with _STDERR_LOCK:
        buf = io.StringIO()
        with contextlib.redirect_stderr(buf):
            yield
        said = buf.getvalue()
    invented = _INVENTED.search(said)
    if invented:
        raise UnreadableFile(f"music21 could not read the note {invented.group(1).strip()!r} and would have "
                             "written a C in its place")
    sys.stderr.write(said)


def abc_tune_text(text: str, index: int) -> str:
    """The ``index``-th tune (1-based) of an ABC file's text, with the file header (fields before the first X:)
    that applies to every tune."""
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.M)]
    if not 1 <= index <= len(starts):
        raise UnreadableFile(f"no tune {index} in the file ({len(starts)} tunes)")
    end = starts[index] if index < len(starts) else len(text)
    return text[: starts[0]] + text[starts[index - 1] : end]


def read_music21(path: str | os.PathLike, steps_per_quarter: int = 4, number: int | None = None,
                 index: int | None = None) -> Piece:
    """A MusicXML, Humdrum or ABC file (one tune of it when ``number`` is given, or the ``index``-th tune when
    several share an X: number: music21 would read the same tune for each) via music21."""
    import music21 as m21

    path = Path(path)
    _check_file(path)
    _precheck(path)
    try:
        with _no_invented_notes(path.suffix.lower() == ".abc"):
            # forceSource: never read or write music21's own pickle cache (our cache is data-only JSON)
            if index is not None:
                text = abc_tune_text(path.read_text(encoding="latin-1"), index)
                score = m21.converter.parse(text, format="abc", forceSource=True)
            else:
                kwargs = {"number": number} if number is not None else {}
                score = m21.converter.parse(str(path), forceSource=True, **kwargs)
    except UnreadableFile:
        raise
    except Exception as e:  # music21 raises a zoo of exception types for malformed input
        first_line = str(e).splitlines()[0][:100] if str(e) else ""
        raise UnreadableFile(f"music21 could not parse: {type(e).__name__}: {first_line}") from None
    if isinstance(score, m21.stream.Opus):
        scores = list(score.scores)
        if not scores:
            raise UnreadableFile("no tunes in file")
        score = scores[0]
    if not isinstance(score, m21.stream.Score) or not score.parts:
        raise UnreadableFile("no parts in the score")
    title = path.stem if number is None else f"{path.stem}#{number}" + (f"@{index}" if index is not None else "")
    if score.metadata is not None and score.metadata.title:
        title = f"{title} {score.metadata.title}".strip()
    return from_music21(score, title, steps_per_quarter)


ABC_METER = re.compile(r"(?:^|\[)\s*[ML]:\s*(\d+)\s*/\s*(\d+)", re.M)
ABC_FIELD = re.compile(r"^[A-Za-z]:")  # header and field lines (T:Tune 1000 is a title, not a note)
ABC_NOTE_LENGTH = re.compile(r"(?<![A-Za-z:%\d])[A-Ga-gzx][,']*(\d+)")


def _precheck(path: Path) -> None:
    """Cheap limits before music21 parses: its time-signature constructor is quadratic in the numerator and its ABC
    reader allocates by note length, so ``M:99999/1`` or ``C1000000000`` in an 80-byte file hang it or exhaust
    memory; an .mxl is a zip whose members may expand a thousandfold."""
    suffix = path.suffix.lower()
    if suffix == ".abc":
        text = path.read_text(encoding="latin-1")
        for num, den in ABC_METER.findall(text):
            if int(num) > MAX_METER_PART or int(den) > MAX_METER_PART:
                raise UnreadableFile(f"implausible meter or note length {num}/{den}")
        body = "\n".join(line.split("%")[0] for line in text.splitlines() if not ABC_FIELD.match(line))
        lengths = [int(n) for n in ABC_NOTE_LENGTH.findall(re.sub(r'"[^"]*"', "", body))]  # no chord symbols
        if lengths and max(lengths) > MAX_ABC_LENGTH:
            raise UnreadableFile(f"implausible note length ({max(lengths)} units)")
    elif suffix == ".mxl":
        import zipfile

        try:
            with zipfile.ZipFile(path) as z:
                expanded = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise UnreadableFile(f"not a valid compressed MusicXML (.mxl) file: {e}") from None
        if expanded > MAX_FILE_BYTES:
            raise UnreadableFile(f"compressed MusicXML expands to {expanded} bytes (more than {MAX_FILE_BYTES})")


def read_piece(path: str | os.PathLike, steps_per_quarter: int = 4, number: int | None = None,
               index: int | None = None) -> Piece:
    """A piece from any supported file; for a multi-tune ABC file, the tune with X: ``number``, or the ``index``-th
    tune of the file (1-based) where several tunes share that number."""
    suffix = Path(path).suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return read_midi(path, steps_per_quarter)
    if suffix in MUSIC21_SUFFIXES:
        return read_music21(path, steps_per_quarter, number, index)
    raise UnreadableFile(f"unsupported file type {suffix!r}")
