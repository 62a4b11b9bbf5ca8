"""Generation: determinism per seed, styles, files a user can open, and every bad input refused in one line."""

import json
import os

import numpy as np
import pytest
import symusic

from divertimento.cli import main
from divertimento.models.factory import DEFAULT_MODEL, SHIPPED, STUDIO_MODEL
from divertimento.models.files import read_file
from divertimento.sample.draw import piece_seed
from divertimento.sample.pieces import metric_velocities
from divertimento.sample.sampler import load_sampler
from divertimento.train.export import export_model


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_same_seed_same_music_other_seed_other_music(tiny_run):
    bundle = load_sampler(tiny_run)
    a, sa = bundle.generate_tokens([(0, i) for i in range(6)])
    b, sb = bundle.generate_tokens([(0, i) for i in range(6)])
    c, _ = bundle.generate_tokens([(1, i) for i in range(6)])
    assert np.array_equal(a, b) and sa == sb
    assert not any(np.array_equal(x, y) for x in a for y in c)
    # a piece does not depend on what else is in the batch
    one, _ = bundle.generate_tokens([(0, 3)])
    assert np.array_equal(one[0], a[3])
    assert piece_seed(0, 1) != piece_seed(1, 0)


def test_gumbel_noise_is_minus_log_minus_log_of_the_generators_uniforms():
    import torch

    from divertimento.sample.draw import gumbel_noise

    u = torch.rand((3, 50), generator=torch.Generator().manual_seed(11)).double().numpy()
    want = -np.log(-np.log(np.clip(u, 1e-9, 1 - 1e-9)))  # by NumPy, in float64
    got = gumbel_noise((3, 50), torch.Generator().manual_seed(11)).numpy()
    assert np.allclose(got, want, rtol=1e-6, atol=1e-6)


def test_style_is_respected_and_unknown_style_refused(tiny_run, tmp_path, capsys):
    bundle = load_sampler(tiny_run)
    _, styles = bundle.generate_tokens([(0, i) for i in range(5)], style="folk")
    assert styles == ["folk"] * 5
    code, _, err = run_cli(["generate", "--model", str(tiny_run), "--style", "klezmer", "--out", str(tmp_path)],
                           capsys)
    assert code == 2 and "unknown style 'klezmer'" in err and len(err.strip().splitlines()) == 1


def test_generate_writes_files_that_other_tools_read(tiny_run, tmp_path, capsys):
    out = tmp_path / "gen"
    code, stdout, _ = run_cli(["generate", "--model", str(tiny_run), "--out", str(out), "--n", "3", "--seed", "4",
                               "--formats", "mid,musicxml,ogg,png"], capsys)
    assert code == 0, stdout
    index = json.loads((out / "generated.json").read_text())
    assert len(index["pieces"]) == 3
    for entry in index["pieces"]:
        files = entry["files"]
        score = symusic.Score(str(out / files["mid"]))
        n_notes = sum(len(t.notes) for t in score.tracks)
        assert n_notes == entry["notes"]
        assert [t.name for t in score.tracks] == ["soprano", "alto", "tenor", "bass"]
        assert (out / files["ogg"]).read_bytes()[:4] == b"OggS"
        assert (out / files["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        import music21

        parsed = music21.converter.parse(str(out / files["musicxml"]))
        assert len(parsed.parts) == 4
        assert len(parsed.stripTies().flatten().notes) == n_notes  # notes split at barlines are tied back


@pytest.mark.parametrize("args, message", [
    (["--n", "0"], "--n must be"),
    (["--n", "100000000"], "--n must be"),
    (["--truncation", "1e9"], "truncation"),
    (["--formats", "mp5"], "unknown format"),
    (["--seeds", "9-3"], "--seeds"),
    (["--voice-leading", "strict"], "voice by voice"),
])
def test_bad_options_one_line(tiny_run, tmp_path, capsys, args, message):
    code, _, err = run_cli(["generate", "--model", str(tiny_run), "--out", str(tmp_path / "o"), *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_missing_model_and_unwritable_out(tiny_run, tmp_path, capsys):
    code, _, err = run_cli(["generate", "--model", str(tmp_path / "none.safetensors"), "--out", str(tmp_path)], capsys)
    assert code == 2 and "does not exist" in err
    blocked = tmp_path / "file"
    blocked.write_text("keep me")
    code, _, err = run_cli(["generate", "--model", str(tiny_run), "--out", str(blocked / "sub")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert blocked.read_text() == "keep me"


def test_model_from_another_layout_is_refused(tiny_run, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    header, _ = read_file(tiny_run / "model.safetensors")
    header["data"]["vocab_size"] += 5  # a model whose token vocabulary is not this one's
    tensors = load_file(str(tiny_run / "model.safetensors"))
    save_file(tensors, str(tmp_path / "other.safetensors"), metadata={"divertimento": json.dumps(header)})
    code, _, err = run_cli(["generate", "--model", str(tmp_path / "other.safetensors"), "--out", str(tmp_path / "o")],
                           capsys)
    assert code == 2 and "does not match" in err


def test_fluidsynth_missing_is_a_clear_message(tiny_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no fluidsynth on PATH
    code, _, err = run_cli(["generate", "--model", str(tiny_run), "--out", str(tmp_path / "o"), "--formats", "ogg"],
                           capsys)
    assert code == 2 and "fluidsynth" in err
    assert not os.path.exists(tmp_path / "o")  # refused before writing anything


def test_metric_velocities_follow_the_bar():
    # 16th grid: step 0 downbeat, 8 half-bar, 4 and 12 beats, 2 an off-beat; the soprano gets +6
    starts = np.array([0, 2, 4, 8, 12, 16])
    assert metric_velocities(starts, 4, voice=1).tolist() == [92, 72, 80, 86, 80, 92]
    assert metric_velocities(starts, 4, voice=0).tolist() == [98, 78, 86, 92, 86, 98]


def test_a_style_keeps_its_instrumentation(tiny_run, small_data):
    """Voices a style never plays in training (the folk tunes are one line) stay silent when generating it."""
    from divertimento.data.dataset import load_prepared

    bundle = load_sampler(tiny_run)
    train = load_prepared(small_data).splits["train"]
    names = bundle.style_names
    for s in range(len(names)):
        windows = [w for w, st in zip(train["rolls"], train["style"]) if st == s]
        expected = [sum(1 for w in windows if (w[v] >= 2).any()) / len(windows) for v in range(4)]
        assert np.allclose(bundle.manifest["voice_use"][s], expected, atol=1e-4)
    folk = names.index("folk")
    assert bundle.manifest["voice_use"][folk][1:] == [0.0, 0.0, 0.0]
    tokens, _ = bundle.generate_tokens(range(20), style="folk", temperature=1.0)
    assert (tokens[:, 1:] == 0).all() and (tokens[:, 0] >= 2).any()
    bach, _ = bundle.generate_tokens(range(20), style="bach", temperature=1.0)
    assert (bach[:, 1:] >= 2).any()  # an untrained tiny model plays every voice of a chorale


def test_generate_defaults_to_the_model_the_protocol_ranks_best(tmp_path, capsys):
    """Without --model, generate uses mle-wide trained on windows in their written keys (a sequence model, family
    mle; round 26: no adversarial model is ahead of it), and so do the studio's tools."""
    sampler = load_sampler(None)
    assert DEFAULT_MODEL == "mle-wide-keyed" and sampler.path == SHIPPED["mle-wide-keyed"].path
    assert sampler.header["config"]["hidden"] == 512
    config = sampler.header["config"]
    assert sampler.family == "mle" and config["adv_weight"] == 0 and config["transpose"] is False
    assert STUDIO_MODEL == DEFAULT_MODEL
    code, out, _ = run_cli(["generate", "--out", str(tmp_path / "g"), "--n", "2", "--style", "irish", "--bars", "4",
                            "--keep-copies"], capsys)  # the near-copy check is tested elsewhere; here, the model

    assert code == 0
    meta = json.loads((tmp_path / "g" / "generated.json").read_text())
    assert meta["family"] == "mle" and meta["model"] == str(SHIPPED["mle-wide-keyed"].path)
    assert len(meta["pieces"]) == 2
    assert meta["strict_voice_leading"] and sampler.strict_voice_leading  # the shipped file recommends it
    for piece in meta["pieces"]:
        score = symusic.Score(str(tmp_path / "g" / piece["files"]["mid"]))
        assert sum(len(t.notes) for t in score.tracks) == piece["notes"] > 0


def test_a_voice_leading_recommendation_in_a_gan_file_is_ignored(tiny_run, tmp_path):
    """Strict voice leading needs a model that picks voice by voice; a GAN file whose header asks for it samples
    as before."""
    model = tiny_run / "model.safetensors"
    export_model(model, tmp_path / "gan.safetensors", {"strict_voice_leading": True})
    sampler = load_sampler(tmp_path / "gan.safetensors")
    assert sampler.family == "gan" and not sampler.strict_voice_leading
    plain = load_sampler(model).generate_tokens([(4, i) for i in range(3)])[0]
    assert np.array_equal(sampler.generate_tokens([(4, i) for i in range(3)])[0], plain)
