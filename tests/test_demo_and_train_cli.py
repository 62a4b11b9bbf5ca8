"""The demo gallery and the train command's refusals, through the CLI as a user meets them."""

import json
import re
from pathlib import Path

import symusic

from divertimento.cli import main
from divertimento.config import config_from_dict
from divertimento.studio.strain_fit import strain_config


def test_demo_gallery_is_complete_and_offline(tiny_run, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--model", str(tiny_run), "--per-style", "1"]) == 0
    assert f"{out.resolve()}/index.html" in capsys.readouterr().out
    page = (out / "index.html").read_text()
    styles = json.loads((tiny_run / "summary.json").read_text())["data"]["style_names"]
    for style in styles:
        for suffix in (".mid", ".ogg", ".png"):
            assert (out / f"{style}-01{suffix}").stat().st_size > 0
        assert f'src="{style}-01.png"' in page and f'src="{style}-01.ogg"' in page
    assert not re.search(r"(src|href)=\"https?://", page)
    assert sum(len(t.notes) for t in symusic.Score(str(out / f"{styles[0]}-01.mid")).tracks) > 0


def run(args, capsys):
    code = main(args)
    return code, capsys.readouterr().err.strip().splitlines()


def test_train_refuses_unknown_config_key(small_data, tmp_path, capsys):
    code, err = run(["train", "--data", str(small_data), "--out", str(tmp_path / "r"), "--set", "learning_rate=1"],
                    capsys)
    assert code == 2 and len(err) == 1 and "unknown config key(s): learning_rate" in err[0]
    code, err = run(["train", "--data", str(small_data), "--out", str(tmp_path / "r"), "--set", "steps=many"], capsys)
    assert code == 2 and "not a int" in err[0]
    assert not (tmp_path / "r").exists()


def test_train_refuses_missing_and_unprepared_data(tmp_path, capsys):
    code, err = run(["train", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and len(err) == 1 and "does not exist" in err[0]
    (tmp_path / "raw").mkdir()
    code, err = run(["train", "--data", str(tmp_path / "raw"), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "not a prepared dataset" in err[0]


def test_the_band_layout_trains_and_generates_parts_on_their_programs(tmp_path, capsys):
    s = symusic.Score(480)
    t = symusic.Track("piano", 0, False)
    for i in range(64):  # a two-note chord on every eighth
        t.notes.append(symusic.Note(i * 240, 240, 60 + i % 12, 80))
        t.notes.append(symusic.Note(i * 240, 240, 64 + i % 12, 80))
    s.tracks.append(t)
    (tmp_path / "band").mkdir()
    s.dump_midi(str(tmp_path / "band" / "a.mid"))
    assert main(["prepare", str(tmp_path / "band"), "--layout", "band", "--out", str(tmp_path / "d"), "--quiet"]) == 0
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["layout"] == "band" and manifest["windows"] == 5  # 32 quarters = 8 bars -> starts at bars 0..4
    assert main(["train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r"), "--quiet", "--config",
                 str(Path(__file__).parent.parent / "configs" / "mle.json"), "--set", "steps=3",
                 "--set", "batch_size=4", "--set", "hidden=32"]) == 0
    assert main(["generate", "--model", str(tmp_path / "r"), "--n", "1", "--bars", "4", "--out", str(tmp_path / "g"),
                 "--formats", "mid"]) == 0
    assert main(["compose", "long", "--model", str(tmp_path / "r"), "--bars", "6", "--out", str(tmp_path / "c"),
                 "--formats", "mid"]) == 0
    for folder, bars in (("g", 4), ("c", 6)):
        out = symusic.Score(str(next((tmp_path / folder).rglob("*.mid"))))
        # every track is a band part on its program (drums, if the untrained model drew any, as a drum track)
        assert {(t.name, t.program, t.is_drum) for t in out.tracks} <= {
            ("drums", 0, True), ("piano", 0, False), ("guitar", 25, False), ("bass", 33, False), ("strings", 48, False)}
        assert out.end() <= bars * 4 * out.ticks_per_quarter


def test_every_committed_config_is_one_train_accepts():
    # a recipe a user is told to train by (README, model card) must not fail on a misspelt key or a value out of
    # range (the ablation's rows, under configs/ablation/, are read and tested by its own loader). Compared with the
    # files' own values, so a value changed on load shows.
    configs = sorted(Path(__file__).parent.parent.joinpath("configs").glob("*.json"))
    assert len(configs) >= 12
    for path in configs:
        raw = json.loads(path.read_text())
        # a strain fit on top of a trained model has a config of its own (studio/strain_fit.py)
        cfg = strain_config(raw, {}) if raw.get("family") == "strains" else config_from_dict(raw)
        assert {k: getattr(cfg, k) for k in raw} == raw, path.name
