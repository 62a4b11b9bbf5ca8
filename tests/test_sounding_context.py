"""The sequence model's sounding context: a head reads the pitch each voice sounds (not the bare HOLD), computed
alike for whole windows (teacher forcing) and step by step (sampling); zero tables leave a model unchanged, so a
trained model starts a run with them where it stood."""

import json

import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.models.sequence import ARModel, sounding_tokens
from divertimento.music.roll import HOLD, REST
from divertimento.train.loop import train

from .conftest import TINY_MLE

K = 9  # REST, HOLD and pitch tokens 2..8


def _model(sounding: bool, seed: int = 0, hidden: int = 12) -> ARModel:
    torch.manual_seed(seed)
    return ARModel(n_voices=3, vocab_size=K, n_steps=16, n_styles=2, bar_steps=(16, 12), style_dim=4,
                   hidden=hidden, embed=4, sounding_context=sounding)


def _batch(seed: int = 5):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, K, (6, 3, 16), generator=g), torch.randint(0, 4, (6,), generator=g)


def test_sounding_tokens_follow_holds_and_rests():
    # worked by hand: a HOLD before any note and a HOLD after a rest sound nothing; a HOLD keeps the last pitch
    tokens = torch.tensor([[[HOLD, 5, HOLD, REST, HOLD, 7, HOLD, HOLD],
                            [3, HOLD, 4, HOLD, HOLD, REST, 6, HOLD]]])
    want = torch.tensor([[[REST, 5, 5, REST, REST, 7, 7, 7],
                          [3, 3, 4, 4, 4, REST, 6, 6]]])
    assert torch.equal(sounding_tokens(tokens), want)


def test_whole_windows_and_steps_agree():
    # with tables that are not zero, teacher forcing and step-by-step forcing must give every token the same
    # log-probability: the sampler and the trainer see the same model
    model = _model(True).eval()
    for table in (model.sound_now, model.sound_before):
        torch.nn.init.normal_(table.weight)
    tokens, cond = _batch()
    with torch.no_grad():
        want = model.log_probs(tokens, cond).sum(dim=(1, 2))
    dec = model.begin(6, 16)
    got = sum(model.step(dec, t, cond, torch.zeros(6, 3, K), 1.0, given=tokens[:, :, t]) for t in range(16))
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()
    assert torch.equal(dec.out, tokens)


def test_the_head_reads_the_held_pitch():
    # two windows that differ only in the pitch voice 0 holds from step 0: with the LSTM's reading of the tokens
    # removed (its output weights at zero), only the sounding tables can tell the held pitches apart at step 3
    model = _model(True).eval()
    for table in (model.sound_now, model.sound_before):
        torch.nn.init.normal_(table.weight)
    a = torch.full((2, 3, 16), HOLD)
    a[:, :, 0] = torch.tensor([[4, 3, 2], [6, 3, 2]])
    cond = torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        model.in_embed.weight.zero_()  # the LSTM reads no tokens: both windows give it the same input
        logp = model.log_probs(a, cond)
        model.sound_before.weight.zero_()
        model.sound_now.weight.zero_()
        blind = model.log_probs(a, cond)
    assert (logp[0, 1, 3] - logp[1, 1, 3]).abs() > 1e-3
    assert (blind[0, 1, 3] - blind[1, 1, 3]).abs() < 1e-6


def test_zero_tables_change_nothing():
    plain, with_tables = _model(False, seed=3).eval(), _model(True, seed=4).eval()
    state = plain.state_dict() | {k: v for k, v in with_tables.state_dict().items() if k.startswith("sound_")}
    with_tables.load_state_dict(state)
    tokens, cond = _batch()
    with torch.no_grad():
        assert torch.allclose(with_tables.log_probs(tokens, cond), plain.log_probs(tokens, cond), atol=1e-6)


def _first_row(run) -> dict:
    return json.loads((run / "stats.jsonl").read_text().splitlines()[0])


def test_a_run_that_adds_the_tables_starts_where_its_source_stands(small_data, tiny_mle_run, tmp_path):
    base = {**TINY_MLE, "steps": 1, "log_every": 1, "init_from": str(tiny_mle_run)}
    train(small_data, tmp_path / "same", config_from_dict(base), progress=False)
    train(small_data, tmp_path / "sounding", config_from_dict({**base, "sounding_context": True}), progress=False)
    same, sounding = _first_row(tmp_path / "same"), _first_row(tmp_path / "sounding")
    assert sounding["MLE/nll"] == pytest.approx(same["MLE/nll"], rel=1e-5)
    # with a wider model too: the zero tables grow with the rest
    widened = {**base, "sounding_context": True, "hidden": 48, "init_widen": True}
    train(small_data, tmp_path / "both", config_from_dict(widened), progress=False)
    assert _first_row(tmp_path / "both")["MLE/nll"] == pytest.approx(same["MLE/nll"], rel=1e-5)
    # a source with the tables does not start a run without them (nothing is dropped unseen)
    with pytest.raises(UserError, match="another architecture"):
        train(small_data, tmp_path / "refused", config_from_dict({**base, "init_from": str(tmp_path / "sounding")}),
              progress=False)
