"""A mode condition (major or minor) beside style and meter: modes and labels by hand, a run that adds it starts
where its source stood, pieces are drawn in a mode by the style's share (and other models' draws are unchanged),
the likelihood marginal over modes, and the refusals where it is not carried yet."""

import numpy as np
import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.data.conditions import condition_labels, n_conditions
from divertimento.data.dataset import load_prepared
from divertimento.data.modes import mode_labels, mode_summary, window_modes
from divertimento.errors import UserError
from divertimento.models.factory import load
from divertimento.models.files import read_file
from divertimento.sample.sampler import load_sampler
from divertimento.train.loop import train
from tests.conftest import TINY_MLE

R, H = 0, 1


def on(p: int, low: int = 40) -> int:
    return 2 + p - low  # a pitch token relative to MIDI ``low``


def test_modes_and_labels_by_hand():
    # A minor with its leading tone (A C E over G# A), C major (C E G over C G), silence; tokens relative to MIDI 40
    windows = np.array([[[on(69), on(72), on(76), R], [on(68), H, on(57), H]],
                        [[on(67), on(72), on(76), R], [on(60), H, on(55), H]],
                        [[R, R, R, R], [R, H, R, R]]], dtype=np.uint8)
    assert window_modes(windows, 40).tolist() == [1, 0, -1]
    assert mode_labels(windows, 40).tolist() == [1, 0, 0]  # no notes: major
    summary = {"style_names": ["a", "b", "c"], "meter_names": ["4/4", "3/4"], "mode_names": ["major", "minor"]}
    assert n_conditions(summary) == 12
    # (mode * styles + style) * meters + meter: style 2, meter 1, minor -> (3 + 2) * 2 + 1
    assert condition_labels(2, 1, summary, 1) == 11 and condition_labels(2, 1, summary) == 5
    assert condition_labels(2, 1, {"style_names": ["a", "b", "c"], "meter_names": ["4/4", "3/4"]}) == 5


@pytest.fixture(scope="module")
def mode_run(small_data, tiny_mle_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("mode") / "run"
    cfg = dict(TINY_MLE, steps=6, init_from=str(tiny_mle_run), mode_condition=True, sample_count=0)
    train(small_data, out, config_from_dict(cfg), progress=False)
    return out


def test_a_run_that_adds_modes_starts_where_its_source_stood(small_data, tiny_mle_run, tmp_path):
    out = tmp_path / "lr0"
    cfg = dict(TINY_MLE, steps=1, lr=1e-12, init_from=str(tiny_mle_run), mode_condition=True, sample_count=0)
    train(small_data, out, config_from_dict(cfg), progress=False)
    _, grown, _ = load(out)
    _, source, _ = load(tiny_mle_run)
    data = load_prepared(small_data)
    x = torch.as_tensor(data.splits["train"]["rolls"][:8].astype(np.int64))
    cond = torch.as_tensor(data.conditions("train")[:8])
    per_mode = grown.n_styles * grown.n_meters
    want = source.eval().log_probs(x, cond)
    for m in (0, 1):  # every mode starts as the source: its vector is zero
        assert torch.allclose(grown.eval().log_probs(x, cond + m * per_mode), want, atol=1e-5)


def test_pieces_are_drawn_in_a_mode_by_the_styles_share(small_data, mode_run, tiny_mle_run):
    header, _ = read_file(load_sampler(mode_run).path)
    data = load_prepared(small_data)
    assert header["data"]["mode_names"] == ["major", "minor"]
    assert header["data"]["mode_shares"] == mode_summary(data)["mode_shares"]
    modes = mode_labels(data.splits["train"]["rolls"], data.low)
    style = data.splits["train"]["style"]
    for s, shares in enumerate(header["data"]["mode_shares"]):
        assert shares[1] == pytest.approx(np.mean(modes[style == s] == 1), abs=1e-6)
    sampler, plain = load_sampler(mode_run), load_sampler(tiny_mle_run)
    draws = [sampler.draw(0, i) for i in range(300)]
    got = np.mean([d.mode for d in draws])
    pooled = sum(np.asarray(header["data"]["mode_shares"])[d.style][1] for d in draws) / len(draws)
    assert abs(got - pooled) < 0.1  # 300 draws: about 3 standard errors
    d, e = sampler.draw(3, 1), plain.draw(3, 1)  # the mode is drawn last: the rest of a piece's draw is unchanged
    assert d.style == e.style and torch.equal(d.noise, e.noise) and e.mode == 0
    tokens, _ = sampler.generate_tokens([(0, i) for i in range(4)])
    assert tokens.shape[0] == 4


def test_the_likelihood_marginal_over_modes(mode_run):
    import sys
    sys.path.insert(0, "experiments")
    from held_out_nll import nll_per_token

    _, model, _ = load(mode_run)
    model.eval()
    x = np.random.default_rng(0).integers(0, model.vocab_size, (3, model.n_voices, model.n_steps))
    cond = np.zeros(3, dtype=np.int64)  # style 0, meter 0, major
    shares = [[0.25, 0.75]] + [[1.0, 0.0]] * (model.n_styles - 1)
    per_mode = model.n_styles * model.n_meters
    logp = [model.log_probs(torch.as_tensor(x), torch.as_tensor(cond + m * per_mode)).sum(dim=(1, 2)).double()
            for m in (0, 1)]
    # log(0.25 p(x | major) + 0.75 p(x | minor)), in logs (the probabilities underflow)
    want = -np.logaddexp(np.log(0.25) + logp[0].numpy(), np.log(0.75) + logp[1].numpy()).sum() / x.size
    assert nll_per_token(model, x, cond, mode_shares=shares) == pytest.approx(float(want), rel=1e-5)


def test_where_a_mode_is_not_carried_yet_it_is_refused(small_data, mode_run, tmp_path):
    from divertimento.studio.engine import Engine

    with pytest.raises(UserError, match="studio does not yet"):
        Engine(load_sampler(mode_run))
    with pytest.raises(UserError, match="mode_condition conditions the sequence model"):
        config_from_dict({"family": "gan", "mode_condition": True})
    guided = {"family": "guided", "steps": 1, "batch_size": 4, "base_model": str(mode_run), "threads": 1}
    with pytest.raises(UserError, match="conditioned on mode"):
        train(small_data, tmp_path / "g", config_from_dict(guided), progress=False)


def test_a_run_told_the_mode_resumes_without_being_told_again(small_data, tiny_mle_run, tmp_path):
    out = tmp_path / "run"
    cfg = dict(TINY_MLE, steps=2, init_from=str(tiny_mle_run), mode_condition=True, sample_count=0)
    train(small_data, out, config_from_dict(cfg), progress=False)
    # ``train --resume --set steps=3``: the run's own config says it is told the mode
    train(small_data, out, config_from_dict(dict(TINY_MLE, steps=3, sample_count=0)), resume=True, progress=False)
    header, model, _ = load(out)
    assert header["step"] == 3 and model.n_modes == 2 and header["data"]["mode_names"] == ["major", "minor"]
