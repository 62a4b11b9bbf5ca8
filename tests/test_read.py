"""Readers: ABC/MusicXML through music21 and MIDI through symusic, checked against hand-written expectations and
against an independent MIDI library (mido) on the files we write."""

import mido
import numpy as np
import symusic

from divertimento.music.notes import Piece, Track
from divertimento.music.read import read_midi, read_piece
from divertimento.music.write import write_midi

ABC = """X:1
T:tie test
M:4/4
L:1/4
K:C
G | c2 d e- | e f g a | b4 |]
"""


def test_abc_pickup_tie_across_barline(tmp_path):
    path = tmp_path / "t.abc"
    path.write_text(ABC)
    p = read_piece(path)
    # pickup G4 (4 steps), then bars of 16 steps starting at 4, 20, 36
    assert p.bars[:, :2].tolist() == [[0, 4], [4, 16], [20, 16], [36, 16]]
    # e5 (76) is tied across the barline at step 20: one note of 8 steps
    assert p.tracks[0].notes[:, :3].tolist() == [
        [0, 4, 67], [4, 8, 72], [12, 4, 74], [16, 8, 76], [24, 4, 77], [28, 4, 79], [32, 4, 81], [36, 16, 83]]


def test_midi_quantised_to_the_grid(tmp_path):
    s = symusic.Score(960)
    t = symusic.Track("x", 40, False)
    t.notes.append(symusic.Note(0, 950, 60, 70))  # a quarter played slightly short -> 4 steps
    t.notes.append(symusic.Note(965, 235, 62, 90))  # a 16th played late by 5 ticks -> step 4, 1 step
    s.tracks.append(t)
    s.time_signatures.append(symusic.TimeSignature(0, 2, 4))
    s.dump_midi(str(tmp_path / "q.mid"))
    p = read_midi(tmp_path / "q.mid")
    assert p.tracks[0].notes.tolist() == [[0, 4, 60, 70], [4, 1, 62, 90]]
    assert p.tracks[0].program == 40
    assert p.bars[0].tolist() == [0, 8, 2, 4]


def test_midi_round_trip_read_independently_by_mido(tmp_path):
    # repeated notes, a tie over the barline (one long note) and a rest, on a 480-tick grid
    notes = np.asarray([[0, 2, 64, 80], [2, 2, 64, 80], [12, 8, 67, 70], [24, 4, 60, 60]], dtype=np.int32)
    piece = Piece("rt", 4, [Track("soprano", 52, False, notes)], np.asarray([[0, 16, 4, 4], [16, 16, 4, 4]]), 90.0)
    write_midi(piece, tmp_path / "rt.mid")
    mid = mido.MidiFile(str(tmp_path / "rt.mid"))
    t, on, got = 0, {}, []
    for msg in mido.merge_tracks(mid.tracks):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            on[msg.note] = (t, msg.velocity)
        elif msg.type in ("note_off", "note_on"):
            start, vel = on.pop(msg.note)
            got.append([start // 120, (t - start) // 120, msg.note, vel])
        elif msg.type == "set_tempo":
            assert round(mido.tempo2bpm(msg.tempo)) == 90
    assert sorted(got) == notes.tolist()
    assert read_midi(tmp_path / "rt.mid").tracks[0].notes.tolist() == notes.tolist()
