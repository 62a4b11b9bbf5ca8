"""Write pieces out: MIDI with symusic, MusicXML with music21 (so notation programs open the score)."""

import os
import tempfile
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic
from .key import Key, key_of_piece
from .layouts import KEYBOARDS
from .notes import DURATION, PITCH, START, VELOCITY, Piece, compound, nominal_bar_steps
from .repeats import fold_repeats

TICKS_PER_QUARTER = 480
CREATOR = "divertimento"  # the composer a score names: the program that made it


def _bar_time_signature(piece: Piece) -> tuple[int, int]:
    if len(piece.bars):
        return int(piece.bars[-1, 2]), int(piece.bars[-1, 3])  # the last bar: the first may be a pickup
    return 4, 4


def upbeat_lead(piece: Piece) -> int:
    """Steps of silence before a piece's pickup that would fill its first bar (0 when it opens on a downbeat): MIDI
    has no short bars, so its notes are written that much later to keep every downbeat on a barline, and a score's
    first measure is made full and then cut back to the pickup."""
    if len(piece.bars) < 2:
        return 0
    _, length, num, den = (int(x) for x in piece.bars[0])
    full = nominal_bar_steps(num, den, piece.steps_per_quarter)
    return int(full - length) if length < full and float(full).is_integer() else 0


def piece_key(piece: Piece) -> Key:
    """The key a piece is written in: the one it was made in (``meta["key"]`` = [tonic, minor]) or the one its
    notes imply."""
    known = piece.meta.get("key")
    return Key(int(known[0]) % 12, bool(known[1])) if known else key_of_piece(piece)


def sounding_tracks(piece: Piece):
    """The tracks that play: a silent voice gets no staff and no MIDI track."""
    return [t for t in piece.tracks if len(t.notes)] or piece.tracks[:1]


def to_symusic(piece: Piece):
    import symusic

    ticks_per_step = TICKS_PER_QUARTER // piece.steps_per_quarter
    lead = upbeat_lead(piece)
    score = symusic.Score(TICKS_PER_QUARTER)
    num, den = _bar_time_signature(piece)
    score.time_signatures.append(symusic.TimeSignature(0, num, den))
    key = piece_key(piece)
    score.key_signatures.append(symusic.KeySignature(0, key.fifths, int(key.minor)))
    score.tempos.append(symusic.Tempo(0, qpm=float(piece.tempo_qpm)))
    for t in sounding_tracks(piece):
        track = symusic.Track(t.name, int(t.program), bool(t.is_drum))
        for n in t.notes:
            track.notes.append(symusic.Note((int(n[START]) + lead) * ticks_per_step, int(n[DURATION]) * ticks_per_step,
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
    score.metadata.composer = CREATOR
    num, den = _bar_time_signature(piece)
    key = piece_key(piece)
    names = key.spelling()
    clefs = {"soprano": m21.clef.TrebleClef, "alto": m21.clef.TrebleClef, "tenor": m21.clef.Treble8vbClef,
             "bass": m21.clef.BassClef}
    tracks = sounding_tracks(piece)
    lead = upbeat_lead(piece) / spq  # quarters: the score is laid out from a full first bar, then cut (_cut_upbeat)
    fermatas = piece.meta.get("fermatas", [])  # steps where a phrase's held chord begins: every note sounding there
    first = True
    for i, t in enumerate(tracks):
        inst = m21.instrument.instrumentFromMidiProgram(int(t.program))
        # a tune is its instrument's staff ("Flute"); voices of a texture keep their names ("Soprano")
        name = (inst.instrumentName or t.name) if len(tracks) == 1 else t.name.capitalize()
        staves = _staves(t, m21)
        parts = []
        for k, (notes, clef) in enumerate(staves):
            part = (m21.stream.PartStaff if len(staves) > 1 else m21.stream.Part)(id=f"P{i + 1}-{k + 1}")
            inst = m21.instrument.instrumentFromMidiProgram(int(t.program))
            part.partName = name
            # the short name on later systems: "S." for the soprano (the instrument's own would read "P Org")
            inst.instrumentAbbreviation = name[:1] + "."
            inst.instrumentName = name
            part.partAbbreviation = inst.instrumentAbbreviation
            part.insert(0, inst)
            part.insert(0, m21.key.Key(names[key.tonic], "minor" if key.minor else "major"))
            part.insert(0, m21.meter.TimeSignature(f"{num}/{den}"))
            if clef is not None:
                part.insert(0, clef())
            elif t.name in clefs:
                part.insert(0, clefs[t.name]())
            elif len(notes) and np.median(notes[:, PITCH]) < 57:
                part.insert(0, m21.clef.BassClef())
            if first:
                part.insert(0, metronome_mark(piece.tempo_qpm, num, den))
                first = False
            for n in notes:
                note = m21.note.Note(spelled(int(n[PITCH]), names))
                note.duration = m21.duration.Duration(int(n[DURATION]) / spq)
                note.volume.velocity = int(n[VELOCITY])
                if any(n[START] <= f < n[START] + n[DURATION] for f in fermatas):
                    note.expressions.append(m21.expressions.Fermata())
                part.insert(int(n[START]) / spq + lead, note)
            end = piece.n_steps / spq + lead
            part.makeRests(fillGaps=True, inPlace=True, timeRangeFromBarDuration=True)
            if part.highestTime < end:
                rest = m21.note.Rest(quarterLength=end - part.highestTime)
                part.insert(part.highestTime, rest)
            score.insert(0, part)
            parts.append(part)
        if len(parts) > 1:  # a grand staff: the hands braced together under one name
            score.insert(0, m21.layout.StaffGroup(parts, name=name, symbol="brace", barTogether=True))
    score = score.makeNotation()
    for part in score.parts:
        if fermatas:
            _fermata_where_struck(part, m21)
        if lead:
            _cut_upbeat(part, lead, int(piece.bars[-1, 1]) / spq, m21)
        if piece.meta.get("repeats"):
            fold_repeats(part, piece.meta["repeats"], 1 if lead else 0, m21)
    return score


def _fermata_where_struck(part, m21) -> None:
    """A held note that makeNotation tied across a barline keeps its fermata on the note where it is struck (music21
    moves expressions to the tie's last note)."""
    struck = None
    for n in part.recurse().notes:
        if n.tie is None or n.tie.type == "start":
            struck = n
        marks = [e for e in n.expressions if isinstance(e, m21.expressions.Fermata)]
        if marks and struck is not None and struck is not n:
            n.expressions = [e for e in n.expressions if e not in marks]
            struck.expressions.append(marks[0])


def _cut_upbeat(part, lead: float, last: float, m21) -> None:
    """A part laid out from a full first bar made into one that opens with a pickup: the first measure loses the
    ``lead`` quarters of rest before the upbeat and becomes measure 0 (implicit, as notation programs number a
    pickup), the measures after it move ``lead`` earlier, and the last one keeps only its first ``last`` quarters
    (the rests makeNotation added after the piece's end go)."""
    measures = list(part.getElementsByClass(m21.stream.Measure))
    opening = measures[0]
    for el in list(opening.notesAndRests):
        if el.isRest and el.offset + el.quarterLength <= lead + 1e-9:
            opening.remove(el)
    for el in opening.notesAndRests:
        opening.coreSetElementOffset(el, el.offset - lead)
    opening.coreElementsChanged()
    opening.paddingLeft = lead
    opening.showNumber = m21.stream.enums.ShowNumber.NEVER
    for k, m in enumerate(measures):
        m.number = k
        if k:
            part.coreSetElementOffset(m, m.offset - lead)
    part.coreElementsChanged()
    closing = measures[-1]
    if len(measures) > 1:
        for el in list(closing.notesAndRests):
            if el.isRest and el.offset >= last - 1e-9:
                closing.remove(el)
        closing.paddingRight = max(0.0, closing.barDuration.quarterLength - last)


MIDDLE_C = 60


def _chordal(notes: np.ndarray) -> bool:
    """Whether two notes of a track ever sound at once."""
    if len(notes) < 2:
        return False
    order = np.argsort(notes[:, START], kind="stable")
    starts, ends = notes[order, START], (notes[:, START] + notes[:, DURATION])[order]
    return bool((starts[1:] < np.maximum.accumulate(ends)[:-1]).any())


def _staves(track, m21) -> list[tuple[np.ndarray, object]]:
    """The staves a track is written on, as (notes, clef or None for the voice's own): a drum track on a
    percussion staff; a keyboard part (chords, reaching both below and above middle C) on a grand staff, the
    right hand from middle C up; any other track, a tune played on a piano included, on one staff."""
    notes = track.notes
    if track.is_drum:
        return [(notes, m21.clef.PercussionClef)]
    if track.program in KEYBOARDS and _chordal(notes) and notes[:, PITCH].min() < MIDDLE_C - 5 \
            and notes[:, PITCH].max() >= MIDDLE_C + 5:
        high = notes[:, PITCH] >= MIDDLE_C
        return [(notes[high], m21.clef.TrebleClef), (notes[~high], m21.clef.BassClef)]
    return [(notes, None)]


def metronome_mark(qpm: float, numerator: int, denominator: int):
    """The tempo as a musician marks it: quarters per minute, or dotted quarters (dotted halves in 6/4) per minute
    in a compound meter."""
    import music21 as m21

    if not compound(numerator):
        return m21.tempo.MetronomeMark(number=round(qpm))
    beat = 3 * 4 / denominator  # a dotted quarter in 6/8, a dotted half in 6/4 (quarters)
    return m21.tempo.MetronomeMark(number=round(qpm / beat), referent=m21.duration.Duration(beat))


def spelled(midi: int, names: dict[int, str]) -> str:
    """'F#4', 'B-3': MIDI pitch ``midi`` named as the key spells its pitch class (B# and C- keep their octave
    number by the letter, as music21 reads it)."""
    name = names[midi % 12]
    octave = midi // 12 - 1
    if name.startswith("B#"):
        octave -= 1  # B#3 sounds as C4
    elif name.startswith("C-"):
        octave += 1  # C-5 sounds as B4
    return f"{name}{octave}"


def write_musicxml(piece: Piece, path: str | os.PathLike) -> None:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data = GeneralObjectExporter(to_music21(piece)).parse()
    write_bytes_atomic(path, data)
