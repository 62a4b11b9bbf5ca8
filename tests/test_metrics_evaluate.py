"""End to end: a small synthetic prepared dataset, degenerate sets, the CLI on MIDI folders, bad input, compare."""

import json

import numpy as np
import pytest

from divertimento.cli import main
from divertimento.metrics.calibration import calibrate, random_windows
from divertimento.metrics.reference import load_reference, load_train
from divertimento.metrics.registry import METRICS, resolve
from divertimento.metrics.sets import WindowSet, from_prepared
from divertimento.metrics.suite import evaluate_set, evaluate_windows

ROLES = ("soprano", "alto", "tenor", "bass")
LOW, HIGH = 30, 90
TRIADS = ((0, 4, 7), (5, 9, 0), (7, 11, 2), (9, 0, 4))  # I, IV, V, vi as pitch classes in C


def chorale(rng) -> np.ndarray:
    """[4, 64] absolute tokens: 16 beats of triads, voices move to the nearest chord tone; the soprano sometimes
    splits a beat into two eighths."""
    key = int(rng.integers(0, 12))
    centres = [70, 63, 57, 48]
    tok = np.ones((4, 64), dtype=np.uint8)
    prev = list(centres)
    for beat in range(16):
        chord = [(pc + key) % 12 for pc in TRIADS[int(rng.integers(4)) if 0 < beat < 15 else 0]]
        for v in range(4):
            cands = [p for p in range(prev[v] - 6, prev[v] + 7) if p % 12 in chord and abs(p - centres[v]) <= 8]
            p = min(cands, key=lambda q: (abs(q - prev[v]), q)) if cands else prev[v]
            if v == 0 and rng.random() < 0.3:
                tok[v, beat * 4] = 2 + p
                tok[v, beat * 4 + 2] = 2 + p + (2 if rng.random() < 0.5 else -1)
            elif beat == 0 or p != prev[v] or rng.random() < 0.6:
                tok[v, beat * 4] = 2 + p
            prev[v] = p
    return tok


def folk(rng) -> np.ndarray:
    """[4, 64]: a soprano line in eighths and quarters on a major scale, other voices silent."""
    key = int(rng.integers(0, 12))
    scale = [p for p in range(60, 80) if (p - key) % 12 in (0, 2, 4, 5, 7, 9, 11)]
    tok = np.zeros((4, 64), dtype=np.uint8)
    t, i = 0, int(rng.integers(len(scale)))
    while t < 64:
        d = int(rng.choice([2, 2, 4]))
        tok[0, t] = 2 + scale[i]
        tok[0, t + 1 : t + d] = 1
        i = int(np.clip(i + rng.integers(-2, 3), 0, len(scale) - 1))
        t += d
    return tok


def write_dataset(root, styles=("bach", "folk"), sizes=(240, 30, 40), seed=0):
    from divertimento.data.dataset import SUPPORTED_FORMAT
    from divertimento.data.prepare import content_hash

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    splits = {}
    for sp, n in zip(("train", "val", "test"), sizes):
        style = np.array([i % len(styles) if styles[i % len(styles)] == "folk" or len(styles) == 1 else
                          (0 if i % 3 else len(styles) - 1) for i in range(n)], dtype=np.int16)
        if len(styles) == 1:
            style[:] = 0
        wins = np.stack([folk(rng) if styles[s] == "folk" else chorale(rng) for s in style])
        rel = np.where(wins >= 2, wins - LOW, wins).astype(np.uint8)
        splits[sp] = {"rolls": rel, "style": style, "meter": np.zeros(n, dtype=np.int16),
                      "piece": np.arange(n, dtype=np.int32), "start": np.zeros(n, dtype=np.int32)}
        np.savez(root / f"{sp}.npz", **splits[sp])
    manifest = {"format_version": SUPPORTED_FORMAT, "layout": "satb", "roles": list(ROLES), "monophonic": True,
                "steps_per_quarter": 4, "bars_per_window": 4, "window_steps": 64, "hop_quarters": 4,
                "meters_kept": ["4/4", "2/2", "2/4", "4/2"], "meters": {"4/4": int(sum(sizes))},
                "meter_names": ["4/4"], "pitch_range": [LOW, HIGH], "vocab_size": HIGH - LOW + 3,
                "style_names": list(styles), "files": {sp: f"{sp}.npz" for sp in splits},
                "content_hash": content_hash(splits)}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def write_midi(path, window: np.ndarray, bars: int | None = None):
    """A window [4, T] of absolute tokens as a 4-track MIDI file (120 ticks per step)."""
    import symusic

    from divertimento.music.roll import tokens_to_notes

    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for role, row in zip(ROLES, window):
        tr = symusic.Track(role.capitalize(), 52, False)
        for s, d, p, vel in tokens_to_notes(row, 0):
            tr.notes.append(symusic.Note(int(s) * 120, int(d) * 120, int(p), int(vel)))
        score.tracks.append(tr)
    score.dump_midi(str(path))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "two")


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DIVERTIMENTO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def test_degenerate_sets_score_as_degenerate(data):
    ref, train = load_reference(data), load_train(data)
    test = from_prepared(ref.data, "test")
    one = WindowSet(np.repeat(test.tokens[:1], 60, axis=0), 4, ROLES, "repeated")
    m = rep = evaluate_set(one, ref, train).metrics
    assert m["diversity/dup_rate"] == pytest.approx(59 / 60)
    assert m["diversity/coverage"] <= 0.3 and m["diversity/recall"] <= 0.1
    assert m["diversity/pairwise_distance/ratio"] == pytest.approx(0, abs=1e-6) and m["diversity/intra_set_oa"] < 0.1

    copies = WindowSet(train.tokens[:60], 4, ROLES, "copies")
    m = evaluate_set(copies, ref, train).metrics
    assert m["novelty/copy_rate"] == 1.0 and m["novelty/max_overlap"] == 1.0
    assert m["novelty/nn_distance/mean"] == pytest.approx(0.0, abs=1e-6)

    real = evaluate_set(test, ref, train).metrics
    # 40 test windows against 240 reference ones: coverage ~ 1 - exp(-5 * 40 / 240) = 0.57 for a perfect set
    assert real["diversity/coverage"] > 0.4 and real["diversity/coverage"] > 5 * rep["diversity/coverage"]
    assert real["quality/precision"] > 0.7
    assert real["novelty/copy_rate"] < 0.3 and real["diversity/dup_rate"] < 0.05

    noise = WindowSet(random_windows(60, test.tokens, seed=1), 4, ROLES, "random")
    m = evaluate_set(noise, ref, train).metrics
    assert m["quality/precision"] < 0.2
    assert m["descriptors/qualified_note_rate"] < real["descriptors/qualified_note_rate"]
    assert m["quality/frechet_descriptor_distance"] > 5 * real["quality/frechet_descriptor_distance"]


def test_evaluate_windows_in_process_matches_and_handles_out_of_range(data):
    ref = load_reference(data)
    test = ref.data.splits["test"]["rolls"]
    a = evaluate_windows(test, data, low=LOW, metrics=["descriptors", "diversity/dup_rate"])
    b = evaluate_set(from_prepared(ref.data, "test"), ref, None, ["descriptors", "diversity/dup_rate"]).metrics
    assert a == b
    # windows from a model with a wider range (relative to a lower low) decode to absolute pitches, no crash
    wide = test.copy()
    wide[wide >= 2] += 10
    m = evaluate_windows(wide, data, low=LOW - 10, metrics=["descriptors"])
    assert m["descriptors/pitch_range"] == pytest.approx(a["descriptors/pitch_range"])


def test_style_shares_and_classifier(data):
    ref = load_reference(data)
    assert ref.style_model is not None and ref.style_model.accuracy > 0.9
    test = from_prepared(ref.data, "test")
    folk_only = test.subset(np.flatnonzero(test.style == 1))
    m = evaluate_set(folk_only, ref, None, ["style"]).metrics
    ref_folk = m["style/shares/ref_share/folk"]
    assert m["style/shares/share/folk"] > 0.9
    assert m["style/shares/tv_distance"] == pytest.approx(m["style/shares/share/folk"] - ref_folk, abs=1e-9)
    assert m["style/shares/missing_styles"] == 1.0
    assert m["style/classifier_accuracy/accuracy"] == ref.style_model.accuracy
    # corrected shares: against the training split's mix, and never further from all-folk than the raw votes
    train_style = ref.data.splits["train"]["style"]
    assert m["style/shares/draw_share/folk"] == pytest.approx(float((train_style == 1).mean()))
    C = ref.style_model.confusion
    assert np.diag(C).mean() == pytest.approx(ref.style_model.balanced_accuracy)  # both styles are held out
    assert m["style/shares/adjusted/folk"] >= m["style/shares/share/folk"] - 1e-9
    assert m["style/shares/adjusted/folk"] + m["style/shares/adjusted/bach"] == pytest.approx(1.0, abs=1e-3)
    draw_folk = m["style/shares/draw_share/folk"]
    assert m["style/shares/max_share_error"] == pytest.approx(
        max(abs(m["style/shares/adjusted/folk"] - draw_folk) / draw_folk,
            abs(m["style/shares/adjusted/bach"] - (1 - draw_folk)) / (1 - draw_folk)))
    labelled = WindowSet(folk_only.tokens, 4, ROLES, "labelled", np.ones(len(folk_only), dtype=np.int16),
                         ["bach", "folk"])
    assert evaluate_set(labelled, ref, None, ["style"]).metrics["style/conditioning_accuracy"] > 0.9


def test_reference_cache_is_keyed_and_reused(data, tmp_path_factory):
    from divertimento.metrics import reference as R

    R._MEMO.clear()
    a = load_reference(data)
    files = sorted(p.name for p in (tmp_path_factory.getbasetemp() / "cache" / "eval").glob("ref-*.npz"))
    assert files
    R._MEMO.clear()
    b = load_reference(data)
    np.testing.assert_array_equal(a.radii, b.radii)
    assert a.key == b.key
    R._MEMO.clear()
    assert load_reference(data, "val").key != a.key


def test_cli_evaluate_midi_folder_same_path_as_prepared(data, tmp_path, capsys):
    ref = load_reference(data)
    test = from_prepared(ref.data, "test")
    folder = tmp_path / "gen"
    folder.mkdir()
    for i, w in enumerate(test.tokens):
        write_midi(folder / f"w{i:03d}.mid", w)
    write_midi(folder / "short.mid", test.tokens[0][:, :16])  # one bar
    (folder / "notes.txt").write_text("not music")
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    out = tmp_path / "ev"
    rc = main(["evaluate", str(folder), "--reference", str(data), "--out", str(out), "--quiet"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    for pat in ("dup", "coverage", "copy"):
        assert any(pat in k for k in m)
    info = json.loads((out / "info.json").read_text())
    reasons = " | ".join(info["skipped_reason_counts"])
    assert "shorter than a window" in reasons and "not a music file" in reasons and "MIDI" in reasons
    assert m["count/generated_windows"] == len(test) and m["count/skipped_files"] == 3
    # the MIDI round trip lands on exactly the prepared windows: same descriptors
    direct = evaluate_set(test, ref, None, ["descriptors"]).metrics
    for k, v in direct.items():
        assert m[k] == pytest.approx(v, nan_ok=True), k
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page and 'src="http' not in page
    assert "real test vs train" in page
    cal = json.loads((out / "calibration.json").read_text())
    assert set(cal["sets"]) == {"real test vs train", "one window repeated", "copies of training windows",
                                "random notes"}


def test_cli_bad_input_is_one_line(data, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["evaluate", str(empty), "--reference", str(data), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "holds no music files" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("divertimento evaluate: error: ")

    short = tmp_path / "short"
    short.mkdir()
    write_midi(short / "a.mid", np.full((4, 16), 0, dtype=np.uint8) + np.array([[62], [0], [0], [0]], np.uint8))
    (short / "b.txt").write_text("x")
    assert main(["evaluate", str(short), "--reference", str(data), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no usable 4-bar window" in err and "shorter than a window" in err

    assert main(["evaluate", str(short), "--reference", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a prepared dataset" in capsys.readouterr().err
    assert main(["evaluate", str(data), "--reference", str(data), "--out", str(tmp_path / "o"),
                 "--metrics", "diversity/nope"]) == 2
    assert "unknown metric" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing"), "--reference", str(data), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(data), "--reference", str(data), "--out", str(tmp_path / "o"),
                 "--sweep", "0.5,1"]) == 2
    assert "--sweep needs a model" in capsys.readouterr().err


def test_one_style_reference_gives_partial_results_and_a_note(tmp_path):
    one = write_dataset(tmp_path / "one", styles=("bach",), sizes=(60, 10, 10), seed=2)
    out = tmp_path / "ev"
    assert main(["evaluate", str(one), "--reference", str(one), "--out", str(out), "--quiet",
                 "--no-calibration"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    info = json.loads((out / "info.json").read_text())
    assert m["style/shares/share/bach"] == 1.0 and "style/classifier_accuracy/accuracy" not in m
    assert any("one style" in n for n in info["notes"])


def test_compare_table(data, tmp_path, capsys):
    assert main(["evaluate", str(data), "--split", "test", "--reference", str(data), "--out",
                 str(tmp_path / "a"), "--quiet", "--no-calibration", "--metrics", "diversity"]) == 0
    # a second evaluation: evaluate's own file with one figure set by hand (one evaluate run is the slow part)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    measured = metrics["diversity/coverage"]
    metrics["diversity/coverage"] = 0.125
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    prefix = tmp_path / "cmp"
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b" / "metrics.json"), "--out", str(prefix)]) == 0
    out = capsys.readouterr().out
    assert "| metric | a | b |" in out and "| diversity/coverage | " in out and " | 0.125 |" in out
    table = json.loads((tmp_path / "cmp.json").read_text())
    assert table["metrics"]["diversity/coverage"] == {"a": measured, "b": 0.125}
    assert (tmp_path / "cmp.md").read_text().startswith("| metric |")
    assert main(["compare", str(tmp_path / "nothing-here")]) == 2


def test_registry_names_docs_and_selection():
    assert "diversity/coverage" in METRICS and "novelty/copy_rate" in METRICS
    for m in METRICS.values():
        assert len(m.doc) > 60, m.name  # every metric states its formula
    assert resolve("novelty") == [n for n in METRICS if n.startswith("novelty/")]
    assert resolve(["diversity/*"]) == [n for n in METRICS if n.startswith("diversity/")]


def test_sweep_and_calibration_cache(data):
    from divertimento.metrics.report import sweep_plot
    from divertimento.metrics.sweep import sweep

    ref, train = load_reference(data), load_train(data)
    test = from_prepared(ref.data, "test")

    def sample(v):  # a stand-in model: "truncation" v keeps a share v of distinct windows, repeats the rest
        k = max(1, int(round(v * len(test))))
        idx = np.arange(len(test)) % k
        return test.subset(idx)

    res = sweep(sample, [0.1, 1.0], ref, train)
    lo, hi = (p["metrics"] for p in res["points"])
    assert lo["diversity/dup_rate"] > hi["diversity/dup_rate"] and lo["diversity/coverage"] < hi["diversity/coverage"]
    assert sweep_plot(res).startswith("<img")
    c1 = calibrate(ref, train, ["diversity/dup_rate", "novelty/copy_rate"], 40)
    c2 = calibrate(ref, train, ["diversity/dup_rate", "novelty/copy_rate"], 40)
    assert c1 == c2 and c1["sets"]["copies of training windows"]["novelty/copy_rate"] == 1.0
    assert c1["sets"]["one window repeated"]["diversity/dup_rate"] == pytest.approx(39 / 40)
