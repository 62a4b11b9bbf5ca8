"""Hostile and damaged model files and checkpoints: every one is refused in one line before anything is built, by
every command; weights are never silently cast and NaNs never sampled from."""

import json

import pytest
import torch
from safetensors.torch import save as st_save

from divertimento.cli import main
from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.models.files import list_checkpoints, read_file
from divertimento.train.loop import train

from .conftest import TINY_MLE


def rewrite(src, dst, header_fn=None, tensors_fn=None, raw_meta=None):
    header, tensors = read_file(src)
    header = header_fn(header) if header_fn else header
    tensors = tensors_fn(tensors) if tensors_fn else tensors
    meta = raw_meta if raw_meta is not None else json.dumps(header)
    dst.write_bytes(st_save(tensors, metadata={"divertimento": meta}))
    return dst


def refused(capsys, path, message, tmp_path):
    assert main(["generate", "--model", str(path), "--n", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0], err


def set_in(d, keys, value):
    d = json.loads(json.dumps(d))
    node = d
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return d


@pytest.mark.parametrize("keys, value, message", [
    (("data", "pitch_range"), ["36", "93"], "data field 'pitch_range'"),
    (("data", "style_names"), "bach", "data field 'style_names'"),
    (("sampling", "temperature"), "hot", "sampling field 'temperature'"),
    (("data", "meter_shares"), [[1.0]], "data field 'meter_shares'"),
    (("data", "drum_voices"), [True], "data field 'drum_voices'"),
    (("data", "style_tempos"), {"bach": 1e9}, "data field 'style_tempos'"),
    (("step",), 1.5, "step is not a whole number"),
    (("config",), ["a", "list"], "no training config"),
])
def test_wrong_typed_header_fields_are_one_line(tiny_mle_run, tmp_path, capsys, keys, value, message):
    path = rewrite(tiny_mle_run / "model.safetensors", tmp_path / "m.safetensors", lambda h: set_in(h, keys, value))
    refused(capsys, path, message, tmp_path)


def test_header_that_is_a_list_or_nested_too_deep(tiny_mle_run, tmp_path, capsys):
    path = rewrite(tiny_mle_run / "model.safetensors", tmp_path / "list.safetensors", raw_meta="[1, 2, 3]")
    refused(capsys, path, "metadata is not a mapping", tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    path = rewrite(tiny_mle_run / "model.safetensors", tmp_path / "deep.safetensors", raw_meta=deep)
    refused(capsys, path, "not a divertimento model", tmp_path)


@pytest.mark.parametrize("dtype, message", [(torch.float64, "is float64, expected float32"),
                                            (torch.int8, "is int8, expected float32")])
def test_weights_of_another_dtype_are_refused_not_cast(tiny_mle_run, tmp_path, capsys, dtype, message):
    # the sampled module's weights only: the file's other tensors (its training-window fingerprint) stay as written
    path = rewrite(tiny_mle_run / "model.safetensors", tmp_path / "w.safetensors",
                   tensors_fn=lambda t: {k: v.to(dtype) if k.startswith("model.") else v for k, v in t.items()})
    refused(capsys, path, message, tmp_path)


def test_nan_weights_are_refused(tiny_mle_run, tmp_path, capsys):
    def poison(t):
        name = next(k for k in t if k.startswith("model."))
        t[name] = t[name].clone()
        t[name].view(-1)[0] = float("nan")
        return t
    refused(capsys, rewrite(tiny_mle_run / "model.safetensors", tmp_path / "n.safetensors", tensors_fn=poison),
            "NaN or infinite", tmp_path)


def test_a_file_under_eight_bytes_is_too_short(tmp_path, capsys):
    (tmp_path / "tiny.safetensors").write_bytes(b"\x01\x02\x03")
    refused(capsys, tmp_path / "tiny.safetensors", "too short to be a model file (3 bytes)", tmp_path)


@pytest.mark.parametrize("damage, message", [
    (lambda h, t: (h, {k: v for k, v in t.items() if not k.startswith("opt.")}), "cannot be resumed"),
    (lambda h, t: (h, {**t, "rng.state": t["rng.state"][:100]}), "cannot be resumed"),
    (lambda h, t: ({**h, "step": "ten"}, t), "step is not a whole number"),
    # one model weight of the wrong shape, named: safetensors loads a file's tensors in an order that changes from
    # process to process, and the first of them may be the uint8 random state, refused by its dtype instead
    (lambda h, t: (h, {**t, min(k for k in t if k.startswith("model.")): torch.zeros(3, 3)}), "cannot be resumed"),
])
def test_resume_from_a_damaged_checkpoint_is_one_line(small_data, tmp_path, damage, message):
    run = tmp_path / "run"
    cfg = config_from_dict(dict(TINY_MLE, steps=4, ckpt_every=2))
    train(small_data, run, cfg, progress=False)
    last = list_checkpoints(run)[-1]
    header, tensors = read_file(last)
    header, tensors = damage(header, tensors)
    last.write_bytes(st_save(tensors, metadata={"divertimento": json.dumps(header)}))
    with pytest.raises(UserError, match=message):
        train(small_data, run, config_from_dict(dict(TINY_MLE, steps=6, ckpt_every=2)), resume=True, progress=False)
