"""Shared fixtures: a small real two-style dataset (Bach chorales + Essen folk tunes from the music21 corpus)
and a tiny model trained on it by the real trainer."""

import os
import re
import shutil
from pathlib import Path

import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.data.prepare import PrepareOptions, prepare
from divertimento.data.sources import corpus_root

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on the two cores: one thread each, here and in the commands the tests start, so
    # that they do not oversubscribe them (a trainer still sets its config's threads)
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

CHORALES = ["bwv10.7.mxl", "bwv101.7.mxl", "bwv102.7.mxl", "bwv103.6.mxl", "bwv104.6.mxl", "bwv108.6.mxl",
            "bwv11.6.mxl", "bwv110.7.mxl"]

TINY = {"steps": 8, "batch_size": 8, "z_dim": 16, "style_dim": 8, "g_channels": 64, "d_channels": 64,
        "log_every": 2, "sample_every": 1000, "sample_count": 4, "ckpt_every": 4, "threads": 1}


def straight_and_resumed(data: Path, cfg: dict, out: Path, steps: int = 4, stop: int = 2) -> tuple[dict, dict]:
    """The tensors of the last checkpoint of a run trained ``steps`` steps straight (``out/straight``) and of the
    same run stopped after ``stop`` and resumed to ``steps`` (``out/stopped``): equal when it resumes exactly."""
    from divertimento.models.files import list_checkpoints, read_file
    from divertimento.train.loop import train

    train(data, out / "straight", config_from_dict(dict(cfg, steps=steps)), progress=False)
    train(data, out / "stopped", config_from_dict(dict(cfg, steps=stop)), progress=False)
    train(data, out / "stopped", config_from_dict(dict(cfg, steps=steps)), resume=True, progress=False)
    return read_file(list_checkpoints(out / "straight")[-1])[1], read_file(list_checkpoints(out / "stopped")[-1])[1]


def first_abc_tunes(path: Path, n: int) -> str:
    text = path.read_text(encoding="latin-1")
    blocks = re.split(r"(?m)^(?=X:)", text)
    return "".join([b for b in blocks if b.startswith("X:")][:n])


@pytest.fixture(scope="session")
def corpus_folder(tmp_path_factory) -> Path:
    """A user-style folder of subfolders: bach/ (8 MusicXML chorales) and folk/ (one ABC file of 12 tunes)."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "bach").mkdir()
    for name in CHORALES:
        shutil.copy(corpus_root() / "bach" / name, root / "bach" / name)
    (root / "folk").mkdir()
    (root / "folk" / "tunes.abc").write_text(first_abc_tunes(corpus_root() / "essenFolksong" / "kinder0.abc", 12))
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("parse-cache"))


@pytest.fixture(scope="session")
def small_data(corpus_folder, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prepared") / "data"
    prepare(out, PrepareOptions(sources=[str(corpus_folder)], workers=1, cache_dir=cache_dir), progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_run(small_data, tmp_path_factory) -> Path:
    from divertimento.train.loop import train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(small_data, out, config_from_dict(TINY), progress=False)
    return out


TINY_MLE = {"family": "mle", "steps": 40, "batch_size": 16, "hidden": 32, "layers": 1, "embed": 8, "style_dim": 4,
            "lr": 3e-3, "log_every": 10, "sample_count": 0, "ckpt_every": 40, "threads": 1}


@pytest.fixture(scope="session")
def tiny_mle_run(small_data, tmp_path_factory) -> Path:
    """A tiny sequence model (family mle) trained by the real trainer: what the studio's tools run on."""
    from divertimento.train.loop import train

    out = tmp_path_factory.mktemp("runs") / "tiny-mle"
    train(small_data, out, config_from_dict(TINY_MLE), progress=False)
    return out
