"""The training windows inside a model file: the near-copy check works without the prepared data (a fresh install)
and gives the figures the data itself gives."""

import json

import numpy as np
from safetensors.torch import save as st_save

from divertimento.cli import main
from divertimento.data.dataset import load_prepared
from divertimento.models.files import read_file
from divertimento.sample.fingerprint import TENSOR, read_fingerprint
from divertimento.sample.originality import Originality
from divertimento.sample.sampler import load_sampler


def test_model_file_carries_its_training_windows(tiny_mle_run, small_data):
    header, tensors = read_file(tiny_mle_run / "model.safetensors")
    fp = read_fingerprint(tensors[TENSOR])
    train = load_prepared(small_data).splits["train"]
    assert np.array_equal(fp["rolls"], train["rolls"]) and np.array_equal(fp["start"], train["start"])
    pieces = {p["id"]: p["title"] for p in json.loads((small_data / "pieces.json").read_text())}
    assert fp["titles"] == {int(p): pieces[int(p)] for p in np.unique(train["piece"])}
    assert tensors[TENSOR].numel() < train["rolls"].nbytes  # compressed


def test_near_copies_are_checked_without_the_data(tiny_mle_run, small_data, tmp_path, capsys):
    header, tensors = read_file(tiny_mle_run / "model.safetensors")
    header["data_dir"] = str(tmp_path / "not-on-this-machine")
    moved = tmp_path / "moved.safetensors"
    moved.write_bytes(st_save(tensors, metadata={"divertimento": json.dumps(header)}))
    sampler = load_sampler(moved)
    train = load_prepared(small_data).splits["train"]
    pieces = [train["rolls"][3].astype(np.int64), sampler.generate_tokens([(5, 0)])[0][0].astype(np.int64)]
    from_file = Originality(None, sampler.fingerprint).score(pieces, sampler.low, 64, 16)
    from_data = Originality(small_data).score(pieces, sampler.low, 64, 16)
    assert from_file == from_data
    assert from_file[0]["near_copy"] and from_file[0]["copy_score"] == 1.0  # a training window is its own copy
    assert main(["generate", "--model", str(moved), "--n", "2", "--out", str(tmp_path / "o"), "--bars", "4"]) == 0
    assert json.loads((tmp_path / "o" / "generated.json").read_text())["originality"] == "ready"
