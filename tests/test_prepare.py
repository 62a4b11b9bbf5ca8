"""prepare on MIDI folders written here (with symusic, independently of our writer) and on real corpus files."""

import json
import os

import numpy as np
import pytest
import symusic

from divertimento.cli import main
from divertimento.data.dataset import WindowDataset, load_prepared, moved_at_random, shift_bounds, transpose_tokens
from divertimento.data.prepare import PrepareOptions, content_hash, prepare
from divertimento.errors import UserError


def write_scale_midi(path, n_quarters=40, tpq=480, pitch0=60, numerator=4, denominator=4):
    """One track of quarter notes walking up a C major scale, independently written with symusic."""
    s = symusic.Score(tpq)
    t = symusic.Track("melody", 0, False)
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    for i in range(n_quarters):
        t.notes.append(symusic.Note(i * tpq, tpq, pitch0 + scale[i % 8], 90))
    s.tracks.append(t)
    s.time_signatures.append(symusic.TimeSignature(0, numerator, denominator))
    s.dump_midi(str(path))


@pytest.fixture()
def midi_folder(tmp_path):
    root = tmp_path / "mine"
    for style, count in (("rock", 6), ("jazz", 4)):
        (root / style).mkdir(parents=True)
        for i in range(count):
            write_scale_midi(root / style / f"{style}{i}.mid", pitch0=60 + i)
    return root


def run_prepare(sources, out, **kw):
    return prepare(out, PrepareOptions(sources=[str(s) for s in sources], workers=1, **kw), progress=False)


def test_windows_counted_by_hand(midi_folder, tmp_path):
    # 40 quarters = 10 bars of 4/4; 4-bar windows with a hop of one bar start at bars 0..6 -> 7 windows per file
    m = run_prepare([midi_folder], tmp_path / "out", cache_dir=str(tmp_path / "c"))
    assert m["styles"]["rock"]["windows"] == {"train": 7 * m["styles"]["rock"]["pieces"]["train"],
                                              "val": 7 * m["styles"]["rock"]["pieces"]["val"],
                                              "test": 7 * m["styles"]["rock"]["pieces"]["test"]}
    assert m["windows"] == 7 * 10
    # every style got a val and a test piece; pitch range = C4 .. the top C of the scale starting at 60 + 5
    assert all(v["pieces"]["val"] >= 1 and v["pieces"]["test"] >= 1 for v in m["styles"].values())
    assert m["pitch_range"] == [60, 72 + 5]
    assert m["layout"] == "satb" and m["window_steps"] == 64 and m["steps_per_quarter"] == 4


def test_split_never_shares_a_piece_and_is_deterministic(midi_folder, tmp_path):
    run_prepare([midi_folder], tmp_path / "a", cache_dir=str(tmp_path / "c"))
    run_prepare([midi_folder], tmp_path / "b", cache_dir=str(tmp_path / "c"))
    data = load_prepared(tmp_path / "a")
    pieces = {sp: set(data.splits[sp]["piece"].tolist()) for sp in ("train", "val", "test")}
    assert not (pieces["train"] & pieces["val"] or pieces["train"] & pieces["test"] or pieces["val"] & pieces["test"])
    ma = json.loads((tmp_path / "a" / "manifest.json").read_text())
    mb = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert ma["content_hash"] == mb["content_hash"]
    other = run_prepare([midi_folder], tmp_path / "c2", cache_dir=str(tmp_path / "c"), seed=5)
    assert other["content_hash"] != ma["content_hash"]


def test_first_window_tokens_match_the_scale(midi_folder, tmp_path):
    run_prepare([midi_folder / "rock"], tmp_path / "out", cache_dir=str(tmp_path / "c"))
    data = load_prepared(tmp_path / "out")
    low = data.low  # 60
    sp = next(sp for sp in ("train", "val", "test") if (data.splits[sp]["start"] == 0).any())
    i = int(np.flatnonzero(data.splits[sp]["start"] == 0)[0])
    piece = int(data.splits[sp]["piece"][i])
    pieces = json.loads((tmp_path / "out" / "pieces.json").read_text())
    pitch0 = 60 + int(pieces[piece]["source"].split("rock")[-1].split(".")[0])
    soprano = data.splits[sp]["rolls"][i, 0]
    # quarter notes: onset then three holds; first pitches C D E F of the file's scale
    assert soprano[:8].tolist() == [2 + pitch0 - low, 1, 1, 1, 2 + pitch0 + 2 - low, 1, 1, 1]


def test_bad_files_are_skipped_with_reasons(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "noise.mid").write_bytes(np.random.default_rng(0).bytes(4096))
    (bad / "empty.mid").write_bytes(b"")
    (bad / "text.mid").write_text("not midi")
    (bad / "truncated.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\xff\xff")
    s = symusic.Score(480)
    s.tracks.append(symusic.Track("silent", 0, False))
    s.dump_midi(str(bad / "nonotes.mid"))
    many = symusic.Score(480)
    for _ in range(300):
        tr = symusic.Track("t", 0, False)
        tr.notes.append(symusic.Note(0, 480, 60, 80))
        many.tracks.append(tr)
    many.dump_midi(str(bad / "manytracks.mid"))
    write_scale_midi(bad / "good.mid")
    m = run_prepare([bad], tmp_path / "out", cache_dir=str(tmp_path / "c"))
    reasons = {os.path.basename(s["source"]): s["reason"] for s in m["skipped"]}
    assert set(reasons) == {"noise.mid", "empty.mid", "text.mid", "truncated.mid", "nonotes.mid", "manytracks.mid"}
    assert "empty" in reasons["empty.mid"]
    assert "not a MIDI" in reasons["text.mid"]
    assert "too many tracks" in reasons["manytracks.mid"]
    assert "no notes" in reasons["nonotes.mid"]
    assert m["windows"] == 7


def test_nonexistent_path_and_empty_result_are_clear_errors(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.mid").write_text("x")
    with pytest.raises(UserError, match="no usable windows"):
        run_prepare([tmp_path / "junk"], tmp_path / "o")


def test_interrupted_prepare_keeps_the_old_dataset(midi_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_prepare([midi_folder], out, cache_dir=str(tmp_path / "c"))
    before = (out / "manifest.json").read_text()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        run_prepare([midi_folder / "rock"], out, cache_dir=str(tmp_path / "c"))
    assert (out / "manifest.json").read_text() == before
    load_prepared(out)  # still complete and hash-consistent
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_half_written_dataset_is_refused(midi_folder, tmp_path):
    out = tmp_path / "out"
    run_prepare([midi_folder], out, cache_dir=str(tmp_path / "c"))
    (out / "manifest.json").unlink()
    with pytest.raises(UserError, match="no manifest"):
        load_prepared(out)


def test_real_corpus_two_styles_and_cache(small_data, corpus_folder, cache_dir, tmp_path):
    m = json.loads((small_data / "manifest.json").read_text())
    assert m["style_names"] == ["bach", "folk"]
    assert m["pitch_range"][0] >= 36 and m["pitch_range"][1] <= 93
    # the Bach windows use all four voices; the folk windows only the soprano
    data = load_prepared(small_data)
    rolls, style = data.splits["train"]["rolls"], data.splits["train"]["style"]
    assert (rolls[style == 0][:, 3] != 0).any()
    assert (rolls[style == 1][:, 1:] == 0).all()
    # second run reads the cache and gives the same data
    again = prepare(tmp_path / "again", PrepareOptions(sources=[str(corpus_folder)], workers=1, cache_dir=cache_dir),
                    progress=False)
    assert again["content_hash"] == m["content_hash"]


def test_dataset_transposes_train_only_within_range(small_data):
    train = WindowDataset(small_data, "train", seed=1)
    val = WindowDataset(small_data, "val")
    x, s = train[0]
    assert x.dtype.is_floating_point is False and x.shape == (4, 64)
    raw = load_prepared(small_data).splits["val"]["rolls"][0]
    assert val[0][0].numpy().tolist() == raw.astype(np.int64).tolist()
    # shifted pitch tokens stay inside the vocabulary for every window
    lo, hi = shift_bounds(train.tokens, train.vocab_size, -3, 3)
    up = transpose_tokens(train.tokens, hi, train.vocab_size)
    assert up.max() < train.vocab_size


def test_moved_at_random_shifts_whole_windows_within_range():
    # vocab 10: tokens 2..9 are pitches; a range of -3..3. Window 0 (pitches 4 and 8) may move -2..1, window 1
    # (pitch 2) 0..3, window 2 has no pitch and stays
    manifest = {"vocab_size": 10, "augment": {"transpose": [-3, 3]}}
    tokens = np.array([[[4, 1, 0], [8, 1, 1]], [[2, 0, 1], [0, 0, 0]], [[0, 1, 0], [0, 0, 0]]], dtype=np.uint8)
    seen = {0: set(), 1: set()}
    for seed in range(200):
        moved = moved_at_random(manifest, tokens, seed)
        pitch = tokens >= 2
        assert np.array_equal(moved[~pitch], tokens[~pitch])  # rests and holds stay
        assert np.array_equal(moved[2], tokens[2])
        for w in (0, 1):
            shift = moved[w][pitch[w]] - tokens[w][pitch[w]].astype(np.int64)
            assert len(set(shift.tolist())) == 1  # the whole window moves by one shift
            seen[w].add(int(shift[0]))
        assert np.array_equal(moved, moved_at_random(manifest, tokens, seed))  # the seed decides
    assert seen == {0: {-2, -1, 0, 1}, 1: {0, 1, 2, 3}}


def test_data_info_prints_styles(small_data, capsys):
    assert main(["data-info", str(small_data)]) == 0
    out = capsys.readouterr().out
    assert "bach" in out and "folk" in out and "skipped" in out


def dead_pid() -> int:
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_prepare_killed_between_its_renames_is_recovered(midi_folder, tmp_path):
    out = tmp_path / "out"
    run_prepare([midi_folder], out, cache_dir=str(tmp_path / "c"))
    before = (out / "manifest.json").read_text()
    # the state a kill leaves between "out -> .out.old-PID" and ".out.tmp-PID -> out": no out at all
    pid = dead_pid()
    os.replace(out, tmp_path / f".out.old-{pid}")
    (tmp_path / f".out.tmp-{pid}").mkdir()
    (tmp_path / f".out.tmp-{pid}" / "train.npz").write_bytes(b"half")
    data = load_prepared(out)  # train finds its data again, and the half-written folder is gone
    assert (out / "manifest.json").read_text() == before and len(data.splits["train"]["rolls"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    # a leftover beside a complete dataset (killed while writing its temp folder) goes at the next prepare
    (tmp_path / f".out.tmp-{pid}").mkdir()
    m = run_prepare([midi_folder], out, cache_dir=str(tmp_path / "c"))
    assert m["recovered"] == [f"removed .out.tmp-{pid}, left by an interrupted prepare"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_a_dataset_of_format_1_still_loads_as_one_meter(midi_folder, tmp_path):
    out = tmp_path / "out"
    run_prepare([midi_folder], out, cache_dir=str(tmp_path / "c"))
    m = json.loads((out / "manifest.json").read_text())
    # what the previous prepare wrote: no meter per window, the kept meters as a list, format 1
    v1 = {}
    for sp in ("train", "val", "test"):
        with np.load(out / f"{sp}.npz") as z:
            v1[sp] = {k: z[k] for k in ("rolls", "style", "piece", "start")}
        np.savez_compressed(out / f"{sp}.npz", **v1[sp])
    m.update(format_version=1, meters=["4/4", "2/2", "2/4", "4/2"], content_hash=content_hash(
        v1, ("rolls", "style", "piece", "start")))
    for key in ("meter_names", "meters_kept"):
        m.pop(key)
    (out / "manifest.json").write_text(json.dumps(m))
    data = load_prepared(out)
    assert data.meter_names == ["4/4"] and data.manifest["meters"] == {"4/4": 70}
    assert all((data.splits[sp]["meter"] == 0).all() for sp in ("train", "val", "test"))
