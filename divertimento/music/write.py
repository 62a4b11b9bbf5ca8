"""Write pieces out: MIDI with symusic, MusicXML with music21 (so notation programs open the score)."""

import os
import tempfile
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic
from .notes import DURATION, PITCH, START, VELOCITY, Piece

TICKS_PER_QUARTER = 480


def _bar_time_signature(piece: Piece) -> tuple[int, int]:
    if len(piece.bars):
        return int(piece.bars[0, 2]), int(piece.bars[0, 3])
    return 4, 4


def to_symusic(piece: Piece):
    import symusic

    ticks_per_step = TICKS_PER_QUARTER // piece.steps_per_quarter
    score = symusic.Score(TICKS_PER_QUARTER)
    num, den = _bar_time_signature(piece)
    score.time_signatures.append(symusic.TimeSignature(0, num, den))
    score.tempos.append(symusic.Tempo(0, qpm=float(piece.tempo_qpm)))
    for t in piece.tracks:
        track = symusic.Track(t.name, int(t.program), bool(t.is_drum))
        for n in t.notes:
            track.notes.append(symusic.Note(int(n[START]) * ticks_per_step, int(n[DURATION]) * ticks_per_step,
                                            int(n[PITCH]), int(n[VELOCITY])))
        score.tracks.append(track)
    return score


def write_midi(piece: Piece, path: str | os.PathLike) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=".mid", dir=path.parent)
    os.close(fd)
    try:
        to_symusic(piece).dump_midi(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def to_music21(piece: Piece):
    import music21 as m21

    spq = piece.steps_per_quarter
    score = m21.stream.Score()
    score.metadata = m21.metadata.Metadata(title=piece.title)
    num, den = _bar_time_signature(piece)
    clefs = {"soprano": m21.clef.TrebleClef, "alto": m21.clef.TrebleClef, "tenor": m21.clef.Treble8vbClef,
             "bass": m21.clef.BassClef}
    for i, t in enumerate(piece.tracks):
        part = m21.stream.Part(id=f"P{i + 1}")
        part.partName = t.name
        inst = m21.instrument.instrumentFromMidiProgram(int(t.program))
        part.insert(0, inst)
        part.insert(0, m21.meter.TimeSignature(f"{num}/{den}"))
        if t.name in clefs:
            part.insert(0, clefs[t.name]())
        elif len(t.notes) and np.median(t.notes[:, PITCH]) < 57:
            part.insert(0, m21.clef.BassClef())
        if i == 0:
            part.insert(0, m21.tempo.MetronomeMark(number=round(piece.tempo_qpm)))
        for n in t.notes:
            note = m21.note.Note(int(n[PITCH]))
            note.duration = m21.duration.Duration(int(n[DURATION]) / spq)
            note.volume.velocity = int(n[VELOCITY])
            part.insert(int(n[START]) / spq, note)
        end = piece.n_steps / spq
        part.makeRests(fillGaps=True, inPlace=True, timeRangeFromBarDuration=True)
        if part.highestTime < end:
            rest = m21.note.Rest(quarterLength=end - part.highestTime)
            part.insert(part.highestTime, rest)
        score.insert(0, part)
    return score.makeNotation()


def write_musicxml(piece: Piece, path: str | os.PathLike) -> None:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data = GeneralObjectExporter(to_music21(piece)).parse()
    write_bytes_atomic(path, data)
