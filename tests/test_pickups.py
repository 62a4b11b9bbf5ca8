"""Pieces that open with a pickup: the bars, the cut of the drawn bar, the draw by the data's shares, scores and
MIDI that keep the upbeat before the first barline (read back by our reader, music21 and symusic), and whole pieces
from ``generate``."""

import json

import music21
import numpy as np
import symusic
import torch

from divertimento.models.files import read_file, write_file
from divertimento.music.notes import Piece, Track
from divertimento.music.read import read_piece
from divertimento.music.roll import HOLD, REST
from divertimento.music.write import write_midi, write_musicxml
from divertimento.sample.pieces import bar_lines
from divertimento.studio.pickup import draw_pickup, on_barlines, with_pickup


def test_bar_lines_with_a_pickup_by_hand():
    # 6/8 at 4 steps a quarter: bars of 12; an upbeat of 2, three full bars, and a last bar of 12 - 2 = 10
    assert bar_lines(48, 4, "6/8", 2).tolist() == [[0, 2, 6, 8], [2, 12, 6, 8], [14, 12, 6, 8], [26, 12, 6, 8],
                                                   [38, 10, 6, 8]]
    assert bar_lines(24, 4, "6/8").tolist() == [[0, 12, 6, 8], [12, 12, 6, 8]]


def test_the_pickup_is_the_end_of_the_bar_drawn_before_the_piece():
    first_bar = np.array([[5, HOLD, HOLD, 6],  # a note held into the upbeat is struck again where it begins
                          [REST, REST, 7, HOLD]])
    body = np.array([[8, HOLD, HOLD, HOLD, 9, HOLD, HOLD, HOLD],
                     [7, HOLD, 4, HOLD, 3, HOLD, HOLD, HOLD]])
    out = with_pickup(first_bar, body, 2)
    assert out.tolist() == [[5, 6, 8, HOLD, HOLD, HOLD, 9, HOLD],
                            [7, HOLD, 7, HOLD, 4, HOLD, 3, HOLD]]
    assert on_barlines(out, 2, 4)[:, :2].tolist() == [[REST, REST], [REST, REST]]
    assert on_barlines(out, 0, 4) is out


def test_pickups_are_drawn_in_the_datas_shares():
    data = {"pickups": {"irish": {"6/8": {"pieces": 4, "pickups": {"2": 3}}},
                        "bach": {"4/4": {"pieces": 5, "pickups": {"4": 1, "16": 1}}}}}
    jigs = [draw_pickup(data, "irish", "6/8", 12, torch.Generator().manual_seed(s)) for s in range(2000)]
    assert set(jigs) == {0, 2} and abs(jigs.count(2) / 2000 - 0.75) < 0.04  # binomial sd 0.01
    # a pickup of a whole bar is none; a meter or style without figures opens on the downbeat
    chorales = [draw_pickup(data, "bach", "4/4", 16, torch.Generator().manual_seed(s)) for s in range(2000)]
    assert set(chorales) == {0, 4} and abs(chorales.count(4) / 2000 - 0.2) < 0.04
    assert draw_pickup(data, "irish", "3/4", 12, torch.Generator()) == 0
    assert draw_pickup({}, "irish", "6/8", 12, torch.Generator()) == 0


def _upbeat_jig() -> Piece:
    # 6/8, an eighth D upbeat, then G. B. | d.. (a dotted half) | and a last bar of G held 10 steps (2 1/2 quarters)
    notes = np.array([[0, 2, 62, 80], [2, 6, 67, 80], [8, 6, 71, 80], [14, 12, 74, 80], [26, 10, 67, 80]],
                     dtype=np.int32)
    return Piece("Upbeat jig", 4, [Track("melody", 73, False, notes)], bar_lines(36, 4, "6/8", 2), 120.0,
                 {"meter": "6/8", "pickup_steps": 2})


def test_a_score_with_a_pickup_reads_back_note_for_note(tmp_path):
    piece = _upbeat_jig()
    write_musicxml(piece, tmp_path / "jig.musicxml")
    text = (tmp_path / "jig.musicxml").read_text()
    assert '<measure implicit="yes" number="0">' in text  # a pickup, as notation programs number it
    back = read_piece(tmp_path / "jig.musicxml")
    assert back.bars[:, :2].tolist() == [[0, 2], [2, 12], [14, 12], [26, 10]]
    assert back.tracks[0].notes[:, :3].tolist() == piece.tracks[0].notes[:, :3].tolist()
    part = music21.converter.parse(tmp_path / "jig.musicxml").parts[0]
    measures = list(part.getElementsByClass("Measure"))
    assert [m.duration.quarterLength for m in measures] == [0.5, 3.0, 3.0, 2.5]
    assert measures[0].paddingLeft == 2.5


def test_midi_of_a_pickup_keeps_every_downbeat_on_a_barline(tmp_path):
    write_midi(_upbeat_jig(), tmp_path / "jig.mid")
    s = symusic.Score(str(tmp_path / "jig.mid"))
    # MIDI has no short bars: the upbeat comes after 10 steps of silence (2 1/2 quarters), so the G falls on beat 1
    # of bar 2 at 3 quarters
    assert [(n.time / s.ticks_per_quarter, n.pitch) for n in s.tracks[0].notes][:2] == [(2.5, 62), (3.0, 67)]


def test_generate_opens_pieces_with_the_styles_pickups(tiny_mle_run, tmp_path):
    from divertimento.cli import main

    header, tensors = read_file(tiny_mle_run / "model.safetensors")
    header["data"]["pickups"] = {"folk": {"6/8": {"pieces": 3, "pickups": {"2": 3}}}}  # every folk jig has one
    write_file(tmp_path / "upbeat.safetensors", header, tensors)
    out = tmp_path / "jigs"
    assert main(["generate", "--model", str(tmp_path / "upbeat.safetensors"), "--style", "folk", "--meter", "6/8",
                 "--bars", "10", "--n", "2", "--out", str(out), "--formats", "mid,musicxml", "--keep-copies"]) == 0
    index = json.loads((out / "generated.json").read_text())["pieces"]
    assert [(e["bars"], e["pickup_steps"]) for e in index] == [(10, 2), (10, 2)]
    for e in index:
        measures = list(music21.converter.parse(out / e["files"]["musicxml"]).parts[0]
                        .getElementsByClass("Measure"))
        # the upbeat eighth, nine full bars, and a last bar of five eighths that completes the upbeat's
        assert [m.duration.quarterLength for m in measures] == [0.5] + [3.0] * 9 + [2.5]
        s = symusic.Score(str(out / e["files"]["mid"]))
        end = max(n.time + n.duration for t in s.tracks for n in t.notes) / s.ticks_per_quarter
        assert end == 2.5 + 10 * 3.0  # the silence before the upbeat, then ten bars' worth of music
