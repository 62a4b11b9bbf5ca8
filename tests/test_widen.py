"""Function-preserving widening: a wider model started from a narrow one computes exactly the narrow one's
likelihood, its new units still learn, and anything but the hidden size differing is refused."""

import json

import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.models.sequence import ARModel
from divertimento.models.widen import widen_state
from divertimento.train.loop import train

from .conftest import TINY_MLE


def _model(hidden: int, seed: int, layers: int = 2, embed: int = 4, bar_steps=(16, 12)) -> ARModel:
    torch.manual_seed(seed)
    return ARModel(n_voices=3, vocab_size=9, n_steps=16, n_styles=2, bar_steps=bar_steps, style_dim=4,
                   hidden=hidden, layers=layers, embed=embed)


def _batch(seed: int = 5):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, 9, (6, 3, 16), generator=g)
    cond = torch.randint(0, 4, (6,), generator=g)  # 2 styles x 2 meters
    return tokens, cond


def test_widened_model_has_the_narrow_models_likelihood():
    narrow, wide = _model(8, seed=0).eval(), _model(20, seed=1).eval()
    wide.load_state_dict(widen_state(narrow.state_dict(), wide, 8, 20))
    tokens, cond = _batch()
    with torch.no_grad():
        want = narrow.log_probs(tokens, cond)
        got = wide.log_probs(tokens, cond)
        unwidened = _model(20, seed=1).eval().log_probs(tokens, cond)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
    assert (unwidened - want).abs().max() > 0.1  # the fresh wide model alone computes something else


def test_old_units_are_where_they_were_and_the_gates_keep_their_blocks():
    narrow, wide = _model(8, seed=0), _model(20, seed=1)
    state = widen_state(narrow.state_dict(), wide, 8, 20)
    old_hh = narrow.state_dict()["lstm.weight_hh_l1"]  # [4*8, 8]
    new_hh = state["lstm.weight_hh_l1"]  # [4*20, 20]
    for gate in range(4):  # i, f, g, o: rows 20*gate .. 20*gate+7 are the old gate's 8 rows
        assert torch.equal(new_hh[20 * gate : 20 * gate + 8, :8], old_hh[8 * gate : 8 * gate + 8])
        assert torch.count_nonzero(new_hh[20 * gate : 20 * gate + 8, 8:]) == 0  # old units never read new ones
        assert torch.count_nonzero(new_hh[20 * gate + 8 : 20 * gate + 20]) > 0  # new units read everything
    assert torch.count_nonzero(state["head_out.0.weight"][:, 8:]) == 0


def test_new_units_learn():
    narrow, wide = _model(8, seed=0), _model(20, seed=1)
    wide.load_state_dict(widen_state(narrow.state_dict(), wide, 8, 20))
    tokens, cond = _batch()
    (-wide.log_probs(tokens, cond).sum()).backward()
    # the zero weights by which the logits read the new units get a gradient: training can open them
    assert wide.head_out[0].weight.grad[:, 8:].abs().sum() > 0
    assert wide.lstm.weight_hh_l0.grad[:8, 8:].abs().sum() > 0


def test_other_architectures_are_refused():
    with pytest.raises(UserError, match="only the hidden size may grow"):
        widen_state(_model(8, seed=0, embed=4).state_dict(), _model(20, seed=1, embed=6), 8, 20)
    with pytest.raises(UserError, match="is in one model and not the other"):
        widen_state(_model(8, seed=0, layers=1).state_dict(), _model(20, seed=1, layers=2), 8, 20)
    with pytest.raises(UserError, match="cannot narrow"):
        widen_state(_model(20, seed=0).state_dict(), _model(8, seed=1), 20, 8)


def _first_row(run) -> dict:
    return json.loads((run / "stats.jsonl").read_text().splitlines()[0])


def test_a_widened_run_starts_where_its_source_stands(small_data, tiny_mle_run, tmp_path):
    # one update each, logged at once: the first row's loss is the model's NLL on the run's first batch, before it
    # learns anything; the same seed draws the same batch, so the widened model must score it as its source does
    base = {**TINY_MLE, "steps": 1, "log_every": 1, "init_from": str(tiny_mle_run)}
    train(small_data, tmp_path / "same", config_from_dict(base), progress=False)
    train(small_data, tmp_path / "wide", config_from_dict({**base, "hidden": 48, "init_widen": True}), progress=False)
    same, wide = _first_row(tmp_path / "same"), _first_row(tmp_path / "wide")
    assert wide["MLE/nll"] == pytest.approx(same["MLE/nll"], rel=1e-5)
    fresh = {**base, "hidden": 48, "init_from": ""}
    train(small_data, tmp_path / "fresh", config_from_dict(fresh), progress=False)
    assert abs(_first_row(tmp_path / "fresh")["MLE/nll"] - same["MLE/nll"]) > 1.0  # an untrained model scores worse
    with pytest.raises(UserError, match="another architecture"):  # without the switch a wider model is refused
        train(small_data, tmp_path / "refused", config_from_dict({**base, "hidden": 48}), progress=False)
    with pytest.raises(UserError, match="set init_from"):
        config_from_dict({**TINY_MLE, "init_widen": True})
