"""Critic-tilted distillation: the pool's draw probabilities by hand, the run resumes exactly, the pool is scored
as asked, and what it refuses."""

import json

import numpy as np
import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.losses.likelihood import categorical_nll
from divertimento.losses.tilted_pool import effective_share, tilted_draw_probabilities
from divertimento.models.factory import load
from divertimento.models.files import read_file
from divertimento.train.loop import train

from .conftest import straight_and_resumed

BASE = {"family": "mle", "steps": 3, "batch_size": 8, "hidden": 16, "layers": 1, "embed": 4, "style_dim": 4,
        "log_every": 1, "sample_count": 0, "threads": 1, "ckpt_every": 3}


def test_tilted_draw_probabilities_by_hand():
    # condition 0 holds log-ratios [0, ln 3]: softmax [1/4, 3/4], times its share of the pool (1/2) -> [1/8, 3/8];
    # condition 1 holds [0, 0]: [1/4, 1/4]. beta = 0: every window 1/4, the proposal's own distribution
    log_ratio, conditions = torch.tensor([0.0, 1.0986123, 0.0, 0.0]), torch.tensor([0, 0, 1, 1])
    assert tilted_draw_probabilities(log_ratio, conditions, 1.0).tolist() == pytest.approx([1 / 8, 3 / 8, 1 / 4, 1 / 4])
    assert tilted_draw_probabilities(log_ratio, conditions, 0.0).tolist() == pytest.approx([0.25] * 4)
    # beta = 2 squares the ratio: [1, 9] / 10 * 1/2
    assert tilted_draw_probabilities(log_ratio, conditions, 2.0).tolist() == pytest.approx([0.05, 0.45, 0.25, 0.25])
    # Kish: condition 0 (1/2)^2 / (1/64 + 9/64) = 1.6 of 2 windows, condition 1 all 2 of 2: (1.6 + 2) / 4 = 0.9
    probs = tilted_draw_probabilities(log_ratio, conditions, 1.0)
    assert effective_share(probs, conditions) == pytest.approx(0.9)
    assert effective_share(torch.full((4,), 0.25, dtype=torch.float64), conditions) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def runs(small_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("distill")
    train(small_data, root / "base", config_from_dict(BASE), progress=False)
    train(small_data, root / "guided", config_from_dict({"family": "guided", "base_model": str(root / "base"),
                                                          "steps": 2, "batch_size": 8, "d_channels": 32,
                                                          "candidates": 2, "sample_count": 0, "threads": 1}),
          progress=False)
    # a second critic (of another kind) of the same proposal, and a critic of another proposal
    train(small_data, root / "guided-sequence", config_from_dict({
        "family": "guided", "base_model": str(root / "base"), "critic": "sequence", "steps": 2, "batch_size": 8,
        "d_channels": 32, "candidates": 2, "sample_count": 0, "threads": 1}), progress=False)
    train(small_data, root / "other-base", config_from_dict(BASE | {"seed": 1}), progress=False)
    train(small_data, root / "guided-other", config_from_dict({
        "family": "guided", "base_model": str(root / "other-base"), "steps": 2, "batch_size": 8, "d_channels": 32,
        "candidates": 2, "sample_count": 0, "threads": 1}), progress=False)
    return root


def distill_config(runs, **extra) -> dict:
    return dict(BASE, init_from=str(runs / "base"), distill_from=str(runs / "guided"), distill_pool=24, lr=1e-3,
                ckpt_every=2, **extra)


@pytest.mark.parametrize("rerank", ["critic", "likelihood"])
def test_a_distillation_starts_from_the_model_and_resumes_exactly(small_data, runs, tmp_path, rerank):
    cfg = distill_config(runs, distill_rerank=rerank, distill_beta=2.0)
    a, b = straight_and_resumed(small_data, cfg, tmp_path)
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # it trained: the model moved from its start
    _, start = read_file(runs / "base" / "model.safetensors")
    assert any(not torch.equal(a[k], v) for k, v in start.items() if k.startswith("model."))
    header, _ = read_file(tmp_path / "straight" / "model.safetensors")
    assert header["family"] == "mle"
    rows = [json.loads(line) for line in (tmp_path / "straight" / "stats.jsonl").read_text().splitlines()]
    assert all("DISTILL/nll" in r and "MLE/nll" in r for r in rows)
    # the pool's figures are logged once, at the step that drew it; a tilt at beta 2 concentrates the pool
    assert 0 < rows[0]["DISTILL/effective_share"] < 1 and rows[0]["DISTILL/pool"] == 24
    assert all("DISTILL/effective_share" not in r for r in rows[1:])


def test_the_pool_is_tilted_by_the_score_asked_for(small_data, runs):
    # the recipe built as train builds it; its pool drawn from a hand-made batch source, then checked against the
    # proposal's likelihood computed here by teacher forcing (the control) and the critic's log-ratio (the default)
    from divertimento.data.dataset import load_prepared
    from divertimento.data.summary import data_summary
    from divertimento.train.batches import BatchSampler
    from divertimento.train.distributed import DistInfo
    from divertimento.train.recipes import make_recipe

    data = load_prepared(small_data)
    summary = data_summary(data)
    batches = BatchSampler(data, 8, True, torch.Generator().manual_seed(0))
    _, guided, _ = load(runs / "guided")
    for rerank, beta in (("likelihood", 0.5), ("critic", 1.0)):
        cfg = config_from_dict(distill_config(runs, distill_rerank=rerank, distill_beta=beta))
        recipe = make_recipe(cfg, summary, torch.Generator().manual_seed(0), DistInfo())
        terms = recipe._pool_terms(batches)
        x, style = recipe.pool.long(), recipe.pool_style
        with torch.no_grad():
            if rerank == "likelihood":
                score = -categorical_nll(guided.base(x, style), x)
            else:
                score = guided.log_ratio(x, style)
        expected = torch.zeros(len(x), dtype=torch.float64)
        for c in style.unique():  # within a condition exp(beta * score), normalised, times its share
            rows = style == c
            w = torch.exp(beta * (score[rows].double() - score[rows].max()))
            expected[rows] = w / w.sum() * rows.sum() / len(x)
        assert torch.allclose(recipe.pool_probs, expected, atol=1e-5)
        assert terms["DISTILL/pool_score_mean"] == pytest.approx(score.mean().item(), rel=1e-4)
        # the pool holds the conditions of training windows only
        assert set(style.tolist()) <= set(batches.style.tolist())


def test_two_critics_tilt_the_pool_by_the_mean_of_their_log_ratios(small_data, runs):
    from divertimento.data.dataset import load_prepared
    from divertimento.data.summary import data_summary
    from divertimento.train.batches import BatchSampler
    from divertimento.train.distributed import DistInfo
    from divertimento.train.recipes import make_recipe

    data = load_prepared(small_data)
    batches = BatchSampler(data, 8, True, torch.Generator().manual_seed(0))
    cfg = config_from_dict(distill_config(runs, distill_beta=1.5) |
                           {"distill_from": f"{runs / 'guided'}, {runs / 'guided-sequence'}"})
    recipe = make_recipe(cfg, data_summary(data), torch.Generator().manual_seed(0), DistInfo())
    terms = recipe._pool_terms(batches)
    x, style = recipe.pool.long(), recipe.pool_style
    with torch.no_grad():
        scores = [load(runs / name)[1].log_ratio(x, style).double() for name in ("guided", "guided-sequence")]
    mean = (scores[0] + scores[1]) / 2
    expected = torch.zeros(len(x), dtype=torch.float64)
    for c in style.unique():
        rows = style == c
        w = torch.exp(1.5 * (mean[rows] - mean[rows].max()))
        expected[rows] = w / w.sum() * rows.sum() / len(x)
    assert torch.allclose(recipe.pool_probs, expected, atol=1e-5)
    # Pearson's r of the two critics' scores, by numpy on the same numbers
    r = np.corrcoef(scores[0].numpy(), scores[1].numpy())[0, 1]
    assert terms["DISTILL/critic_correlation"] == pytest.approx(r, abs=1e-4)


def test_distillation_refusals(small_data, runs, tmp_path):
    with pytest.raises(UserError, match="set init_from"):
        cfg = distill_config(runs)
        cfg.pop("init_from")
        train(small_data, tmp_path / "a", config_from_dict(cfg), progress=False)
    with pytest.raises(UserError, match="distill_from: .* is a mle model"):
        train(small_data, tmp_path / "b", config_from_dict(distill_config(runs) | {"distill_from": str(runs / "base")}),
              progress=False)
    with pytest.raises(UserError, match="judges another proposal"):
        two = f"{runs / 'guided'},{runs / 'guided-other'}"
        train(small_data, tmp_path / "c", config_from_dict(distill_config(runs) | {"distill_from": two}),
              progress=False)
    with pytest.raises(UserError, match="names each guided model once"):
        config_from_dict(distill_config(runs) | {"distill_from": f"{runs / 'guided'},{runs / 'guided'}"})
    with pytest.raises(UserError, match="distill_beta tune a distillation"):
        config_from_dict(dict(BASE, distill_beta=2.0))
    for wrong, said in (({"adv_weight": 1.0}, "without adv_weight"), ({"distill_pool": 4}, "distill_pool"),
                        ({"distill_beta": -1.0}, "distill_beta"), ({"distill_weight": 0.0}, "distill_weight"),
                        ({"distill_rerank": "random"}, "distill_rerank"), ({"family": "vae"}, "family mle")):
        with pytest.raises(UserError, match=said):
            config_from_dict(distill_config(runs) | wrong)


def test_a_run_without_a_critic_refuses_r1(small_data, runs, tmp_path):
    # a plain likelihood run (or a distillation) has no critic for R1 to smooth: the setting is refused before any
    # step rather than ignored; the config itself still loads, as old model files carry it
    for cfg in (dict(BASE, r1_gamma=0.5), distill_config(runs, r1_gamma=0.5), dict(BASE, family="vae", r1_gamma=0.5)):
        config_from_dict(cfg)
        with pytest.raises(UserError, match="r1_gamma .* penalises a critic"):
            train(small_data, tmp_path / "r1", config_from_dict(cfg), progress=False)
        assert not (tmp_path / "r1" / "checkpoints").exists() or not list((tmp_path / "r1" / "checkpoints").iterdir())
