"""Adversarial fine-tuning of the sequence model: the policy-gradient term by hand, the run resumes exactly, and
what it refuses."""

import json

import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.losses.policy_gradient import reinforce_terms
from divertimento.models.files import list_checkpoints, read_file
from divertimento.train.export import export_model
from divertimento.train.loop import train

BASE = {"family": "mle", "steps": 3, "batch_size": 8, "hidden": 16, "layers": 1, "embed": 4, "style_dim": 4,
        "log_every": 1, "sample_count": 0, "threads": 1, "ckpt_every": 3}
TUNE = dict(BASE, adv_weight=1.0, adv_kl=0.5, d_channels=32, lr=1e-3, sample_count=2, ckpt_every=2)


def test_reinforce_terms_by_hand():
    # rewards: critic logit - kl * (log p - log p_ref) = 1 - 0.5 * 0.5 = 0.75 and -1 - 0.5 * (-1) = -0.5;
    # baseline 0.125, advantages +-0.625; loss = -mean(adv * log p) = -(0.625 * -2 - 0.625 * -4) / 2 = -0.625
    logp = torch.tensor([-2.0, -4.0], requires_grad=True)
    loss, terms = reinforce_terms(logp, torch.tensor([-2.5, -3.0]), torch.tensor([1.0, -1.0]), kl=0.5)
    assert loss.item() == pytest.approx(-0.625)
    assert terms["ADV/reward"] == pytest.approx(0.125) and terms["ADV/kl_to_start"] == pytest.approx(-0.25)
    loss.backward()
    # d loss / d log p = -advantage / B: the better-rewarded window is made more likely
    assert logp.grad.tolist() == pytest.approx([-0.3125, 0.3125])
    # a constant reward is all baseline: no gradient at all
    logp.grad = None
    reinforce_terms(logp, logp.detach(), torch.tensor([3.0, 3.0]), kl=0.0)[0].backward()
    assert logp.grad.tolist() == [0.0, 0.0]


@pytest.fixture(scope="module")
def base_run(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("adv") / "base"
    train(small_data, out, config_from_dict(BASE), progress=False)
    return out


def test_finetune_starts_from_the_model_and_resumes_exactly(small_data, base_run, tmp_path):
    cfg = dict(TUNE, init_from=str(base_run))
    train(small_data, tmp_path / "straight", config_from_dict(dict(cfg, steps=4)), progress=False)
    train(small_data, tmp_path / "stopped", config_from_dict(dict(cfg, steps=2)), progress=False)
    train(small_data, tmp_path / "stopped", config_from_dict(dict(cfg, steps=4)), resume=True, progress=False)
    _, a = read_file(list_checkpoints(tmp_path / "straight")[-1])
    _, b = read_file(list_checkpoints(tmp_path / "stopped")[-1])
    assert set(a) == set(b) and {k.split(".")[0] for k in a} >= {"model", "critic", "reference"}
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the reference is the starting model, untouched by the fine-tuning
    _, start = read_file(base_run / "model.safetensors")
    for k, v in start.items():
        if k.startswith("model."):
            assert torch.equal(a["reference" + k[len("model"):]], v), k
    header, model = read_file(tmp_path / "straight" / "model.safetensors")
    assert {k.split(".")[0] for k in model} == {"model", "fingerprint"} and header["family"] == "mle"
    rows = [json.loads(line) for line in (tmp_path / "straight" / "stats.jsonl").read_text().splitlines()]
    assert all("ADV/entropy_per_token" in r and "MLE/nll" in r for r in rows)


def test_finetune_refusals(small_data, tiny_run, tmp_path):
    with pytest.raises(UserError, match="init_from"):
        train(small_data, tmp_path / "a", config_from_dict(TUNE), progress=False)
    with pytest.raises(UserError, match="gan model"):
        train(small_data, tmp_path / "b", config_from_dict(dict(TUNE, init_from=str(tiny_run))), progress=False)
    with pytest.raises(UserError, match="family mle"):
        config_from_dict({"family": "vae", "adv_weight": 1.0})


def test_a_finetuned_model_is_sampled_as_its_start(small_data, base_run, tmp_path):
    export_model(base_run, tmp_path / "start.safetensors", {"temperature": 0.9, "strict_voice_leading": True})
    out = tmp_path / "tuned"
    train(small_data, out, config_from_dict(dict(TUNE, steps=1, init_from=str(tmp_path / "start.safetensors"))),
          progress=False)
    header, _ = read_file(out / "model.safetensors")
    assert header["sampling"] == {"temperature": 0.9, "strict_voice_leading": True}


def test_finetune_can_start_from_a_guided_models_critic(small_data, base_run, tmp_path):
    guided = tmp_path / "guided"
    train(small_data, guided, config_from_dict({"family": "guided", "base_model": str(base_run), "steps": 2,
                                                "batch_size": 8, "d_channels": 32, "candidates": 2,
                                                "sample_count": 0, "threads": 1}), progress=False)
    out = tmp_path / "tuned"
    cfg = dict(TUNE, steps=1, init_from=str(base_run), critic_init=str(guided), lr_d=1e-12, sample_count=0)
    train(small_data, out, config_from_dict(cfg), progress=False)
    _, src = read_file(guided / "model.safetensors")
    _, ckpt = read_file(list_checkpoints(out)[-1])
    # one critic step at a vanishing learning rate: the fine-tune's critic is the guided model's
    for k, v in ckpt.items():
        if k.startswith("critic."):
            assert torch.allclose(v, src["model." + k], atol=1e-6), k
    with pytest.raises(UserError, match="critic_init"):
        train(small_data, tmp_path / "bad", config_from_dict(dict(cfg, critic_init=str(base_run))), progress=False)
