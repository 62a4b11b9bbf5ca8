"""A temperature among the pitches alone (``pitch_sharpened``): the distribution on a hand-worked example, a draw is
the Gumbel-max of the sharpened logits position by position, and a value out of range is one clear error."""

import math

import numpy as np
import pytest
import torch

from divertimento.errors import UserError
from divertimento.models.sequence import pitch_sharpened
from divertimento.music.roll import FIRST_PITCH_TOKEN
from divertimento.sample.draw import gumbel_noise
from divertimento.sample.sampler import load_sampler

from .test_models_sequence import _model  # three voices, seven tokens, sixteen steps


def _probs(logits: torch.Tensor) -> list[float]:
    return torch.softmax(logits, dim=-1)[0].tolist()


def test_the_pitches_sharpen_and_keep_their_share():
    # REST 0.2, HOLD 0.4; pitches 0.3, 0.1 and a forbidden one. At 0.5 the pitches go as p^2: 0.09 and 0.01,
    # renormalised to their share of 0.4: 0.36 and 0.04; REST and HOLD keep theirs
    assert FIRST_PITCH_TOKEN == 2
    logits = torch.tensor([[math.log(0.2), math.log(0.4), math.log(0.3), math.log(0.1), -math.inf]])
    assert _probs(pitch_sharpened(logits, 0.5)) == pytest.approx([0.2, 0.4, 0.36, 0.04, 0.0], abs=1e-6)
    # at 2 they go as sqrt(p): 0.548 and 0.316 of 0.4
    s = math.sqrt(0.3) + math.sqrt(0.1)
    assert _probs(pitch_sharpened(logits, 2.0)) == pytest.approx(
        [0.2, 0.4, 0.4 * math.sqrt(0.3) / s, 0.4 * math.sqrt(0.1) / s, 0.0], abs=1e-6)
    assert _probs(pitch_sharpened(logits, 1.0)) == pytest.approx(_probs(logits), abs=1e-7)
    no_pitch = torch.tensor([[0.5, -0.5, -math.inf, -math.inf, -math.inf]])
    assert torch.equal(pitch_sharpened(no_pitch, 0.5), no_pitch)  # every pitch forbidden: nothing moves


def test_a_draw_is_the_gumbel_max_of_the_sharpened_logits():
    m = _model()
    style = torch.tensor([0, 1] * 16)
    noise = gumbel_noise((32, 3, 16, 7), torch.Generator().manual_seed(3))
    x = m.sample(style, noise, pitch_temperature=0.6)
    # the teacher-forced logits on the sample are the logits each token was drawn from
    logits = pitch_sharpened(m(x, style).reshape(-1, 7), 0.6).reshape(32, 3, 16, 7)
    assert torch.equal((logits + noise).argmax(dim=-1), x)
    assert not torch.equal(x, m.sample(style, noise))  # it changed some draws


def test_log_probs_at_a_pitch_temperature_are_what_the_sampler_gave_each_token():
    # the teacher-forced log q of a sample, against the sampling step's own log-probability of the same tokens forced
    # (ARModel.step's logq), one pitch temperature per style: 0.6 for style 0, 1.5 for style 1
    m = _model()
    style = torch.tensor([0, 1] * 4)
    x = m.sample(style, gumbel_noise((8, 3, 16, 7), torch.Generator().manual_seed(5)), pitch_temperature=(0.6, 1.5))
    per_token = m.log_probs(x, style, pitch_temperature=(0.6, 1.5))  # [8, 3, 16]
    dec = m.begin(8, 16)
    replayed = torch.stack([m.step(dec, t, style, torch.zeros(8, 3, 7), 1.0, given=x[:, :, t],
                                   pitch_temperature=torch.tensor([0.6, 1.5] * 4)) for t in range(16)], dim=1)
    assert torch.allclose(per_token.sum(dim=1), replayed, atol=1e-5)
    # each row as if drawn at its style's value alone; 1 is the plain log-probability
    assert torch.allclose(per_token[0::2], m.log_probs(x[0::2], style[0::2], pitch_temperature=0.6), atol=1e-6)
    assert torch.equal(m.log_probs(x, style, pitch_temperature=1.0), m.log_probs(x, style))
    # a sharper pitch choice makes the drawn notes likelier (the tokens at style 0's rows, which are at 0.6)
    assert per_token[0::2].sum() > m.log_probs(x[0::2], style[0::2]).sum()


def test_pitch_sharpened_runs_on_every_position_and_passes_a_gradient():
    # the hand-worked row of the first test at two positions of a [1, 2, 5] tensor, one row at 0.5 and one at 1
    row = [math.log(0.2), math.log(0.4), math.log(0.3), math.log(0.1), -math.inf]
    logits = torch.tensor([[row, row], [row, row]], requires_grad=True)
    out = pitch_sharpened(logits, torch.tensor([0.5, 1.0]))
    assert torch.softmax(out, dim=-1)[0, 1].tolist() == pytest.approx([0.2, 0.4, 0.36, 0.04, 0.0], abs=1e-6)
    assert torch.softmax(out, dim=-1)[1, 0].tolist() == pytest.approx([0.2, 0.4, 0.3, 0.1, 0.0], abs=1e-6)
    # log q_2 = l_2 / T + LSE_pitch(l) - LSE_pitch(l / T) - LSE(l) (the pitches' total is kept), so at T = 0.5
    # d log q_2 / d l_2 = (1 - 0.9) / T + 0.3 / 0.4 - 0.3 = 0.65: 0.9 the note's share of the pitches after
    # sharpening, 0.75 before, 0.3 its probability before
    torch.log_softmax(out, dim=-1)[0, 0, 2].backward()
    assert logits.grad[0, 0, 2].item() == pytest.approx(0.65, abs=1e-6)


def test_pitch_temperature_out_of_range_is_one_clear_error(tiny_mle_run):
    from divertimento.studio.engine import Engine, rng_for

    sampler = load_sampler(tiny_mle_run)
    with pytest.raises(UserError, match="pitch_temperature must lie in"):
        sampler.generate_tokens([(0, 0)], options={"pitch_temperature": 0.0})
    a, _ = sampler.generate_tokens([(0, i) for i in range(4)], options={"pitch_temperature": 1.0})
    b, _ = sampler.generate_tokens([(0, i) for i in range(4)])
    assert np.array_equal(a, b)
    with pytest.raises(UserError, match="pitch_temperature must lie in"):
        Engine(sampler, overrides={"pitch_temperature": 20.0})
    # the studio grows a window that follows another with it too: the same opening, the same noise, other notes
    sharp = Engine(load_sampler(tiny_mle_run), overrides={"pitch_temperature": 0.5})
    free = Engine(load_sampler(tiny_mle_run))
    T = free.n_steps
    opening = free.extend(None, T, 0, rng_for(1, 0))
    again = free.extend(opening, T, 0, rng_for(2, 0))
    assert np.array_equal(free.extend(opening, T, 0, rng_for(2, 0)), again)
    assert not np.array_equal(sharp.extend(opening, T, 0, rng_for(2, 0)), again)


def test_export_recommends_a_family_option_and_refuses_bad_ones(tiny_mle_run, tmp_path, capsys):
    from divertimento.cli import main

    out = tmp_path / "sharp.safetensors"
    assert main(["export", str(tiny_mle_run), str(out), "--option", "pitch_temperature=0.7"]) == 0
    seeds = [(0, i) for i in range(6)]
    recommended = load_sampler(out).generate_tokens(seeds)[0]
    asked = load_sampler(tiny_mle_run).generate_tokens(seeds, options={"pitch_temperature": 0.7})[0]
    assert np.array_equal(recommended, asked)  # the file's recommendation is what the option draws
    assert not np.array_equal(recommended, load_sampler(tiny_mle_run).generate_tokens(seeds)[0])
    for bad, says in (("pitch_temperature=0", "pitch_temperature must lie in"), ("beta=1", "unknown sampling")):
        assert main(["export", str(tiny_mle_run), str(tmp_path / "bad.safetensors"), "--option", bad]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "bad.safetensors").exists()


def test_one_pitch_temperature_per_style_is_each_rows_own():
    m = _model()
    style = torch.tensor([0, 1] * 16)
    noise = gumbel_noise((32, 3, 16, 7), torch.Generator().manual_seed(4))
    per_style = m.sample(style, noise, pitch_temperature=(0.5, 1.0))
    # each row is drawn as it would be with its style's value for every row
    assert torch.equal(per_style[style == 0], m.sample(style, noise, pitch_temperature=0.5)[style == 0])
    assert torch.equal(per_style[style == 1], m.sample(style, noise)[style == 1])
    with pytest.raises(ValueError, match="one value for each of its 2 styles"):
        m.sample(style, noise, pitch_temperature=(0.5, 1.0, 1.0))


def test_per_style_values_by_name():
    from divertimento.sample.per_style import as_recommended, per_style

    names = ["bach", "folk", "irish"]
    assert per_style("pt", 0.7, names, 1.0) == 0.7
    assert per_style("pt", "bach:0.7/irish:0.9", names, 1.0) == (0.7, 1.0, 0.9)
    assert per_style("pt", "bach:0.7,irish:0.9", names, 1.0) == (0.7, 1.0, 0.9)
    assert per_style("pt", {"folk": 0.5}, names, 1.0) == (1.0, 0.5, 1.0)
    # what a model file stores
    assert as_recommended(per_style("pt", "bach:0.7/folk:1", names, 1.0), names, 1.0) == {"bach": 0.7}
    assert as_recommended(0.8, names, 1.0) == 0.8
    for bad, says in (("jazz:0.7", "no style jazz"), ("bach=0.7", "STYLE:VALUE"), ("bach:x", "STYLE:VALUE"),
                      (True, "STYLE:VALUE"), ({"bach": "0.7"}, "STYLE:VALUE")):
        with pytest.raises(UserError, match=says):
            per_style("pt", bad, names, 1.0)


def test_a_model_file_recommends_a_pitch_temperature_per_style(tiny_mle_run, tmp_path):
    from divertimento.models.files import read_file
    from divertimento.studio.engine import Engine, rng_for
    from divertimento.train.export import export_model

    sampler = load_sampler(tiny_mle_run)
    first = sampler.style_names[0]
    export_model(tiny_mle_run, tmp_path / "m.safetensors", {"pitch_temperature": f"{first}:0.5"})
    header, _ = read_file(tmp_path / "m.safetensors")
    assert header["sampling"]["pitch_temperature"] == {first: 0.5}
    recommended = load_sampler(tmp_path / "m.safetensors")
    seeds = [(0, i) for i in range(6)]
    for style in sampler.style_names:  # the named style sharpened, the others as drawn without it
        want = sampler.generate_tokens(seeds, style=style,
                                       options={"pitch_temperature": 0.5 if style == first else 1.0})[0]
        assert np.array_equal(recommended.generate_tokens(seeds, style=style)[0], want)
    # the studio takes it too: a window of the named style grows as with the value for every style
    T = sampler.module.n_steps
    per_style = Engine(recommended).extend(None, T, 0, rng_for(3, 0))
    assert np.array_equal(per_style, Engine(sampler, overrides={"pitch_temperature": 0.5}).extend(None, T, 0,
                                                                                                  rng_for(3, 0)))
