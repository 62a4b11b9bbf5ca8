"""Odd and hostile inputs: every one is skipped with its reason, quickly and in bounded memory, or refused in one
line; nothing vanishes unseen and nothing hangs."""

import json
import os
import time
import zipfile

import pytest
import symusic

from divertimento.cli import main
from divertimento.music.read import UnreadableFile, read_piece

TUNE = "X:1\nT:Tune 1000\nM:4/4\nL:1/4\nK:C\n\"C13\"CDEF|GABc|cBAG|FEDC|CDEF|GABc|cBAG|FEDC|\n"


def skipped(out) -> dict[str, str]:
    m = json.loads((out / "manifest.json").read_text())
    return {os.path.basename(s["source"]): s["reason"] for s in m["skipped"]}


def test_every_odd_entry_in_a_folder_is_reported(tmp_path, capsys):
    folk = tmp_path / "src" / "folk"
    folk.mkdir(parents=True)
    (folk / "good.abc").write_text(TUNE)
    (folk / "dangling.mid").symlink_to(folk / "nowhere.mid")
    (folk / "loop.mid").symlink_to(folk / "loop.mid")
    os.mkfifo(folk / "pipe.mid")
    (folk / "zero.mid").symlink_to("/dev/zero")
    (folk / "folder.mid").mkdir()
    out = tmp_path / "out"
    assert main(["prepare", str(tmp_path / "src"), "--out", str(out), "--workers", "1"]) == 0
    reasons = skipped(out)
    assert reasons == {"dangling.mid": "dangling symlink", "folder.mid": "a folder, not a file",
                       "loop.mid": "cannot stat: Too many levels of symbolic links",
                       "pipe.mid": "not a regular file (a pipe, socket or device)",
                       "zero.mid": "not a regular file (a pipe, socket or device)"}


def test_a_subfolder_that_cannot_be_read_is_reported_not_dropped(tmp_path, monkeypatch):
    folk = tmp_path / "src" / "folk"
    (folk / "locked").mkdir(parents=True)
    (folk / "good.abc").write_text(TUNE)
    (folk / "locked" / "hidden.abc").write_text(TUNE)
    locked = str(folk / "locked")
    # the suite may run as root, whom chmod does not stop: the folder's refusal is simulated where the OS gives it
    real_scandir, real_access = os.scandir, os.access

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "access", lambda path, mode: os.fspath(path) != locked and real_access(path, mode))
    out = tmp_path / "out"
    assert main(["prepare", str(tmp_path / "src"), "--out", str(out), "--workers", "1"]) == 0
    assert skipped(out) == {"locked": "folder not readable"}


def test_a_source_folder_that_cannot_be_read_is_one_line(tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    src.mkdir()

    def refuse(path="."):
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(os, "scandir", refuse)  # as in the test above: root is not stopped by chmod
    monkeypatch.setattr(os, "listdir", refuse)
    assert main(["prepare", str(src), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"divertimento prepare: error: cannot read folder {str(src)!r}: Permission denied"]


def test_a_source_that_is_not_a_file_or_folder_is_one_line(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo")
    for source in ("/dev/null", str(tmp_path / "fifo")):
        assert main(["prepare", source, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "neither a music file nor a folder" in err and "Traceback" not in err


@pytest.mark.parametrize("text, reason", [
    ("X:1\nT:x\nM:99999/1\nK:C\nC|\n", "implausible meter or note length 99999/1"),  # quadratic in music21
    ("X:1\nT:x\nM:4/4\nL:1/4\nK:C\nC1000000000|\n", "implausible note length (1000000000 units)"),
    ("X:1\nT:x\nM:4/4\nL:1/4\nK:C\nCD[M:1000/1]EF|\n", "implausible meter or note length 1000/1"),
])
def test_abc_limits_before_the_parser(tmp_path, text, reason):
    path = tmp_path / "t.abc"
    path.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(UnreadableFile, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_piece(path)
    assert time.perf_counter() - t0 < 5  # unchecked, the first took minutes and the second exhausted memory


def test_a_title_with_big_numbers_and_chord_symbols_is_still_music(tmp_path):
    path = tmp_path / "t.abc"
    path.write_text(TUNE)
    assert read_piece(path).n_notes == 32


def test_midi_time_signature_after_a_huge_gap_is_refused(tmp_path):
    s = symusic.Score(1)  # one tick per quarter
    t = symusic.Track("m", 0, False)
    t.notes.append(symusic.Note(0, 1, 60, 90))
    s.tracks.append(t)
    s.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    s.time_signatures.append(symusic.TimeSignature(100_000_000, 3, 4))  # 400 M steps of bars to lay out
    s.dump_midi(str(tmp_path / "gap.mid"))
    with pytest.raises(UnreadableFile, match="implausibly long"):
        read_piece(tmp_path / "gap.mid")


def test_midi_note_beyond_the_int32_grid_is_called_too_long_not_an_overflow(tmp_path):
    s = symusic.Score(1)
    t = symusic.Track("m", 0, False)
    for i in range(8):  # a MIDI delta holds at most 2**28 - 1 ticks; eight of them fit int32, four steps a tick not
        t.notes.append(symusic.Note(i * (2**28 - 1), 1, 60, 90))
    s.tracks.append(t)
    s.dump_midi(str(tmp_path / "far.mid"))
    with pytest.raises(UnreadableFile, match=r"implausibly long \(> 200000 steps\)"):
        read_piece(tmp_path / "far.mid")


def test_mxl_that_expands_past_the_limit_is_refused_unopened(tmp_path):
    path = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("score.xml", b" " * (65 * 2**20))  # 65 MiB of spaces, about 65 KiB compressed
    assert path.stat().st_size < 2**20
    with pytest.raises(UnreadableFile, match="expands to 68157440 bytes"):
        read_piece(path)


def test_musicxml_note_of_absurd_length_is_refused(tmp_path):
    xml = ('<?xml version="1.0"?><score-partwise version="3.1"><part-list><score-part id="P1"><part-name>M'
           '</part-name></score-part></part-list><part id="P1"><measure number="1"><attributes><divisions>1'
           '</divisions></attributes><note><pitch><step>C</step><octave>4</octave></pitch>'
           '<duration>2147483000</duration><type>whole</type></note></measure></part></score-partwise>')
    (tmp_path / "long.musicxml").write_text(xml)
    with pytest.raises(UnreadableFile, match="implausibly long"):
        read_piece(tmp_path / "long.musicxml")


def test_output_into_a_closed_pipe_is_not_a_traceback(small_data):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-m", "divertimento.cli", "data-info", str(small_data)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before anything is written (`data-info DIR | head -0`)
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0 and "Traceback" not in err and "BrokenPipe" not in err


def test_smpte_timed_midi_is_named_as_such_not_corrupt(tmp_path):
    import struct

    # a valid one-note MIDI file whose division is SMPTE: -25 frames per second (0xE7), 40 ticks per frame
    track = b"\x00\x90\x3c\x40" + b"\x83\x60\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 0xE728) + b"MTrk" + struct.pack(">I", len(track)) + track
    (tmp_path / "smpte.mid").write_bytes(data)
    with pytest.raises(UnreadableFile, match="SMPTE timing") as e:
        read_piece(tmp_path / "smpte.mid")
    assert "corrupt" not in str(e.value)


def test_an_abc_file_that_repeats_an_x_number_reads_every_tune_once(tmp_path):
    from divertimento.data.prepare import PrepareOptions, prepare

    (tmp_path / "abc").mkdir()
    (tmp_path / "abc" / "twice.abc").write_text(
        "X:1\nT:One\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|cBAG|FEDC|\n\n"
        "X:1\nT:Two\nM:4/4\nL:1/4\nK:G\nGABc|dcBA|GFED|G4|\n")
    m = prepare(tmp_path / "out", PrepareOptions(sources=[str(tmp_path / "abc")], workers=1,
                                                 cache_dir=str(tmp_path / "cache")), progress=False)
    pieces = json.loads((tmp_path / "out" / "pieces.json").read_text())
    assert sorted(p["title"] for p in pieces) == ["twice#1@1 One", "twice#1@2 Two"]
    # C4 (60) is only in the first tune, D5 (74) only in the second
    assert m["pitch_range"] == [60, 74]


def test_an_abc_note_music21_cannot_read_refuses_the_tune_rather_than_inventing_a_c(tmp_path):
    # "y" is an ABC spacer; music21 reads "y4" as a note without a pitch and writes a C there
    (tmp_path / "spacer.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:G\nGABc|y4|dcBA|G4|\n")
    with pytest.raises(UnreadableFile, match="would have written a C"):
        read_piece(tmp_path / "spacer.abc")
    (tmp_path / "fine.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:G\nGABc|dcBA|G4|\n")
    assert [int(n[2]) for n in read_piece(tmp_path / "fine.abc").tracks[0].notes] == [67, 69, 71, 72, 74, 72,
                                                                                     71, 69, 67]
