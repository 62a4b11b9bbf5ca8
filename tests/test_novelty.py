"""``generate`` never hands out a near-copy of a training window when it can check: each near-copy is drawn again
from a seed that depends only on its own piece, in the same style, and the least-copied draw is kept."""

import json

import numpy as np
import pytest
from safetensors.torch import save as st_save

from divertimento.cli import main
from divertimento.data.dataset import load_prepared
from divertimento.models.files import read_file
from divertimento.sample.originality import Originality, draw_novel_tokens, redraw_pair
from divertimento.sample.sampler import load_sampler


class CopyingSampler:
    """The tiny GAN, except that the first draw of the pieces in ``copies`` is a training window verbatim (and, for
    the pieces in ``stubborn``, every draw is)."""

    def __init__(self, real, train, copies, stubborn=()):
        self.real, self.train, self.copies, self.stubborn = real, train, set(copies), set(stubborn)
        self.manifest, self.low, self.conditional = real.manifest, real.low, real.conditional
        self.calls = []

    def generate_tokens(self, pairs, style=None, truncation=None, temperature=None):
        self.calls.append((list(pairs), style))
        tokens, styles = self.real.generate_tokens(pairs, style, truncation, temperature)
        tokens = tokens.copy()
        for k, (seed, index) in enumerate(pairs):
            first = (seed, index) in self.copies
            if first or any(redraw_pair(*p, a) == (seed, index) for p in self.stubborn for a in (1, 2)):
                tokens[k] = self.train[k]
        return tokens, styles


@pytest.fixture(scope="module")
def setup(tiny_run, small_data):
    data = load_prepared(small_data)
    return load_sampler(tiny_run), data.splits["train"]["rolls"], Originality(small_data)


def test_near_copies_are_redrawn_in_their_style_from_their_own_seed(setup):
    real, train, orig = setup
    pairs = [(3, i) for i in range(5)]
    sampler = CopyingSampler(real, train, copies=[(3, 1), (3, 4)])
    tokens, styles, used, figs = draw_novel_tokens(sampler, pairs, None, None, 1.0, orig)
    want, want_styles = real.generate_tokens(pairs, temperature=1.0)
    assert styles == want_styles  # the mix of styles is not changed by redrawing
    for k in (0, 2, 3):  # untouched pieces are exactly the plain draws
        assert used[k] == pairs[k] and np.array_equal(tokens[k], want[k])
    for k in (1, 4):
        assert used[k] == redraw_pair(*pairs[k], 1) and used[k] != pairs[k]
        fresh, fresh_style = real.generate_tokens([used[k]], want_styles[k], None, 1.0)
        assert np.array_equal(tokens[k], fresh[0]) and fresh_style == [want_styles[k]]
        assert not figs[k]["near_copy"]
    # the first call draws everything, the redraws ask for the copies' own styles only
    assert sampler.calls[0] == (pairs, None)
    assert all(style in (want_styles[1], want_styles[4]) for _, style in sampler.calls[1:])
    # redraw seeds depend on the piece alone: piece 4 alone is redrawn to the same music
    alone, _, used_alone, _ = draw_novel_tokens(CopyingSampler(real, train, copies=[(3, 4)]), [(3, 4)], None, None,
                                                1.0, orig)
    assert used_alone[0] == used[4] and np.array_equal(alone[0], tokens[4])


def test_a_stubborn_copy_is_kept_flagged_and_no_check_without_data(setup):
    real, train, orig = setup
    sampler = CopyingSampler(real, train, copies=[(0, 0)], stubborn=[(0, 0)])
    tokens, _, used, figs = draw_novel_tokens(sampler, [(0, 0)], None, None, 1.0, orig, redraws=2)
    assert figs[0]["near_copy"] and figs[0]["copy_score"] == 1.0
    assert used[0] == (0, 0) and np.array_equal(tokens[0], train[0])  # ties keep the first draw
    blind = Originality(None)
    tokens, _, used, figs = draw_novel_tokens(sampler, [(0, 0)], None, None, 1.0, blind)
    assert figs == [None] and used == [(0, 0)] and np.array_equal(tokens[0], train[0])


def test_generate_records_each_piece_originality(tiny_run, small_data, tmp_path, capsys):
    out = tmp_path / "g"
    assert main(["generate", "--model", str(tiny_run), "--out", str(out), "--n", "3", "--formats", "mid",
                 "--train-data", str(small_data)]) == 0
    g = json.loads((out / "generated.json").read_text())
    assert g["originality"] == "ready" and g["near_copies"] == 0
    orig = Originality(small_data)
    sampler = load_sampler(tiny_run)
    for p in g["pieces"]:
        pair = tuple(p.get("redrawn_from_seed_pair", (p["seed"], p["index"])))
        tok, _ = sampler.generate_tokens([pair], p["style"])
        assert p["originality"] == orig.score([tok[0]], sampler.low, tok.shape[-1], 16)[0]
    assert main(["generate", "--model", str(tiny_run), "--out", str(tmp_path / "k"), "--n", "2", "--formats", "mid",
                 "--keep-copies"]) == 0
    k = json.loads((tmp_path / "k" / "generated.json").read_text())
    assert k["originality"].startswith("not checked") and all(p["originality"] is None for p in k["pieces"])
    assert main(["generate", "--model", str(tiny_run), "--out", str(tmp_path / "m"), "--n", "1", "--formats", "mid",
                 "--train-data", str(tmp_path / "nowhere")]) == 2
    assert "--train-data" in capsys.readouterr().err  # a data folder that is not there is a mistake, not a default
    # a model file without its training windows, away from its data: pieces go out unchecked, and say so
    header, tensors = read_file(tiny_run / "model.safetensors")
    header["data_dir"] = str(tmp_path / "gone")
    bare = tmp_path / "bare.safetensors"
    bare.write_bytes(st_save({k: v for k, v in tensors.items() if k.startswith("model.")},
                             metadata={"divertimento": json.dumps(header)}))
    assert main(["generate", "--model", str(bare), "--out", str(tmp_path / "b"), "--n", "1", "--formats", "mid"]) == 0
    assert "near-copies not checked" in capsys.readouterr().err
