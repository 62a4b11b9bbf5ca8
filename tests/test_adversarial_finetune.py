"""Adversarial fine-tuning of the sequence model: the policy-gradient term by hand, the run resumes exactly, and
what it refuses."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.losses.policy_gradient import dense_reinforce_terms, mode_weighted_reward, reinforce_terms
from divertimento.models.causal_critic import CausalCritic
from divertimento.models.files import list_checkpoints, read_file
from divertimento.models.low_precision import native_bfloat16
from divertimento.models.mode_fit import mode_fit
from divertimento.models.sequence_critic import SequenceCritic
from divertimento.music.key import KK_MAJOR, KK_MINOR
from divertimento.train.export import export_model
from divertimento.train.loop import train
from divertimento.train.recipe_adversarial import without_dropout

from .conftest import straight_and_resumed

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


def test_the_mode_term_weighed_apart_by_hand():
    # logits [1, -1] hold mode terms [0.5, -0.5] once: weighed 4x, [1 + 3 * 0.5, -1 - 3 * 0.5] = [2.5, -2.5];
    # weighed 0x, the rest of the judgement alone, [0.5, -0.5]; weighed 1x, unchanged
    logit, mode = torch.tensor([1.0, -1.0]), torch.tensor([0.5, -0.5])
    assert mode_weighted_reward(logit, mode, 4.0).tolist() == [2.5, -2.5]
    assert mode_weighted_reward(logit, mode, 0.0).tolist() == [0.5, -0.5]
    assert mode_weighted_reward(logit, mode, 1.0).tolist() == [1.0, -1.0]


def test_dense_reinforce_terms_by_hand():
    # prefix logits ell [[1, 3], [0, -1]] -> per-step gains (ell_t - ell_(t-1), ell_(-1) = 0) [[1, 2], [0, -1]];
    # kl = 0, gamma = 1: returns [[3, 2], [-1, -1]], step means [1, 0.5], advantages [[2, 1.5], [-2, -1.5]];
    # loss = -mean_b sum_t adv * log p = -((2 * -1 + 1.5 * -2) + (-2 * -3 - 1.5 * -4)) / 2 = -3.5
    ell = torch.tensor([[1.0, 3.0], [0.0, -1.0]])
    logp = torch.tensor([[-1.0, -2.0], [-3.0, -4.0]], requires_grad=True)
    loss, terms = dense_reinforce_terms(logp, logp.detach(), ell, kl=0.0, gamma=1.0)
    assert loss.item() == pytest.approx(-3.5)
    loss.backward()
    assert torch.allclose(logp.grad, torch.tensor([[-1.0, -0.75], [1.0, 0.75]]))
    # gamma = 0.5: G_1 = [2, -1], G_0 = [1 + 1, 0 - 0.5]; advantages [[1.25, 1.5], [-1.25, -1.5]]
    logp.grad = None
    dense_reinforce_terms(logp, logp.detach(), ell, kl=0.0, gamma=0.5)[0].backward()
    assert torch.allclose(logp.grad, torch.tensor([[-0.625, -0.75], [0.625, 0.75]]))
    # kl = 0.5 with drifts [[0.5, 0], [0, -1]]: rewards [[0.75, 2], [0, -0.5]], per window 2.75 and -0.5
    ref = logp.detach() - torch.tensor([[0.5, 0.0], [0.0, -1.0]])
    _, terms = dense_reinforce_terms(logp, ref, ell, kl=0.5)
    assert terms["ADV/reward"] == pytest.approx(1.125) and terms["ADV/kl_to_start"] == pytest.approx(-0.25)
    assert terms["ADV/critic_logit"] == pytest.approx(1.0)


def test_a_window_critics_judgement_joins_every_steps_return_undiscounted():
    # the example above at gamma = 1 with terminal logits [1, -1]: returns [[4, 3], [-2, -2]], step means [1, 0.5],
    # advantages [[3, 2.5], [-3, -2.5]]; d loss / d log p = -advantage / 2
    ell = torch.tensor([[1.0, 3.0], [0.0, -1.0]])
    logp = torch.tensor([[-1.0, -2.0], [-3.0, -4.0]], requires_grad=True)
    loss, terms = dense_reinforce_terms(logp, logp.detach(), ell, kl=0.0, terminal=torch.tensor([1.0, -1.0]))
    loss.backward()
    assert torch.allclose(logp.grad, torch.tensor([[-1.5, -1.25], [1.5, 1.25]]))
    assert terms["ADV/window_logit"] == 0.0 and terms["ADV/reward"] == pytest.approx(1.0)  # (3 + -1) / 2 + 0
    # discounted, the window's judgement still reaches the first step in full: gamma = 0.5 gives returns
    # [[2 + 1, 2 + 1], [-0.5 - 1, -1 - 1]]
    logp.grad = None
    dense_reinforce_terms(logp, logp.detach(), ell, kl=0.0, gamma=0.5, terminal=torch.tensor([1.0, -1.0]))[0].backward()
    assert torch.allclose(logp.grad, torch.tensor([[-1.125, -1.25], [1.125, 1.25]]))


def test_dense_returns_at_gamma_1_credit_the_first_step_with_the_windows_reward():
    g = torch.Generator().manual_seed(3)
    ell, logp, ref = (torch.randn(5, 7, generator=g) for _ in range(3))
    logp.requires_grad_(True)
    dense_reinforce_terms(logp, ref, ell, kl=0.3, gamma=1.0)[0].backward()
    first = logp.grad[:, 0].clone()
    window = logp.detach().sum(1).requires_grad_(True)
    reinforce_terms(window, ref.sum(1), ell[:, -1], kl=0.3)[0].backward()
    assert torch.allclose(first, window.grad, atol=1e-6)


def test_a_causal_critics_judgement_of_a_prefix_ignores_what_follows():
    torch.manual_seed(0)
    critic = CausalCritic(n_voices=2, vocab_size=5, n_steps=6, n_styles=3).eval()
    tokens = torch.randint(0, 5, (1, 2, 6))
    later = tokens.clone()
    later[0, :, 4:] = (later[0, :, 4:] + 1) % 5  # change steps 4 and 5 only

    def logits(x):
        return critic.prefix_logits(torch.nn.functional.one_hot(x, 5).float(), torch.tensor([1]))[0]

    a, b = logits(tokens), logits(later)
    assert torch.equal(a[:4], b[:4]) and not torch.allclose(a[4:], b[4:])
    assert critic(torch.nn.functional.one_hot(tokens, 5).float(), torch.tensor([1])).item() == a[-1].item()


@pytest.fixture(scope="module")
def base_run(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("adv") / "base"
    train(small_data, out, config_from_dict(BASE), progress=False)
    return out


SOUNDING_TRANSPOSED = {"critic": "sounding", "critic_transposed": True, "d_steps": 2, "silence_charge": 0.5}


@pytest.mark.parametrize("critic", [{}, {"critic": "causal", "adv_warmup": 1, "adv_gamma": 0.9}, SOUNDING_TRANSPOSED,
                                    pytest.param({"bf16_autocast": True}, marks=pytest.mark.skipif(
                                        not native_bfloat16(), reason="this CPU has no bfloat16 kernels")),
                                    {"adv_pitch_temperature": "bach:0.6"},
                                    {"adv_estimator": "straight-through", "critic": "sequence", "adv_tau": 0.5,
                                     "adv_pitch_temperature": "0.8"},
                                    {"adv_estimator": "straight-through-time", "critic": "sequence",
                                     "silence_charge": 0.5},
                                    {"adv_estimator": "straight-through", "critic": "sounding", "r1_gamma": 0.5,
                                     "r1_interval": 2}],
                         ids=["window", "causal", "sounding", "window-bf16", "pitch-temperature", "straight-through",
                              "straight-through-time", "straight-through-r1"])
def test_finetune_starts_from_the_model_and_resumes_exactly(small_data, base_run, tmp_path, critic):
    cfg = dict(TUNE, init_from=str(base_run), **critic)
    a, b = straight_and_resumed(small_data, cfg, tmp_path)
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
    # the critic's R1 penalty is taken (and logged) only in a run that asks for it
    assert any("D/r1" in r for r in rows) == ("r1_gamma" in critic)


def test_the_r1_penalty_reaches_the_critics_update(small_data, base_run, tmp_path):
    # the same start, seed and batches, one step: with R1 on, the critic leaves that step with other weights than
    # without it (a penalty only logged, not added to the critic's loss, would leave them equal)
    cfg = dict(TUNE, init_from=str(base_run), adv_estimator="straight-through", critic="sounding", steps=1,
               sample_count=0)
    train(small_data, tmp_path / "plain", config_from_dict(cfg), progress=False)
    train(small_data, tmp_path / "r1", config_from_dict(dict(cfg, r1_gamma=10.0, r1_interval=1)), progress=False)
    _, plain = read_file(list_checkpoints(tmp_path / "plain")[-1])
    _, r1 = read_file(list_checkpoints(tmp_path / "r1")[-1])
    critic = [k for k in plain if k.startswith("critic.")]
    assert critic and set(plain) == set(r1)
    assert any(not torch.equal(plain[k], r1[k]) for k in critic)


@pytest.mark.parametrize("main", [{"critic": "causal"}, SOUNDING_TRANSPOSED], ids=["causal", "sounding-transposed"])
def test_a_finetune_with_a_window_critic_beside_resumes_exactly(small_data, base_run, tmp_path, main):
    guided = tmp_path / "guided"
    train(small_data, guided, config_from_dict({"family": "guided", "base_model": str(base_run), "steps": 1,
                                                "batch_size": 8, "d_channels": 32, "candidates": 2,
                                                "sample_count": 0, "threads": 1}), progress=False)
    cfg = dict(TUNE, init_from=str(base_run / "model.safetensors"), window_critic_init=str(guided), sample_count=0,
               **main)
    a, b = straight_and_resumed(small_data, cfg, tmp_path)
    assert {k.split(".")[0] for k in a} >= {"model", "critic", "window_critic", "reference"}
    for k in a:
        assert torch.equal(a[k], b[k]), k
    rows = [json.loads(line) for line in (tmp_path / "straight" / "stats.jsonl").read_text().splitlines()]
    assert all("W/loss" in r and "ADV/window_logit" in r for r in rows)


def best_fits_by_corrcoef(counts: np.ndarray) -> list[float]:
    """(best major, best minor) correlation of pitch-class counts with the 24 rotated Krumhansl-Kessler profiles."""
    return [max(np.corrcoef(counts, np.roll(profile, k))[0, 1] for k in range(12)) for profile in (KK_MAJOR, KK_MINOR)]


# tokens of a window whose pitch tokens start at MIDI 57 (A): A, C, E and G# are tokens 2, 5, 9 and 13
A_MINOR = torch.tensor([[[2, 1, 5, 1], [9, 1, 13, 0]]])


def test_how_well_a_window_fits_the_best_major_and_minor_key():
    counts = np.zeros(12)
    counts[[9, 0, 4, 8]] = 1  # one onset each of A, C, E, G#
    want = best_fits_by_corrcoef(counts)
    assert want[1] > want[0]  # A harmonic minor's notes fit a minor key best
    assert mode_fit(A_MINOR, 57)[0].tolist() == pytest.approx(want, abs=1e-5)
    # the same from one-hot windows (a generator's soft samples), and zeros for a window without notes
    assert mode_fit(F.one_hot(A_MINOR, 20).float(), 57)[0].tolist() == pytest.approx(want, abs=1e-5)
    assert mode_fit(torch.zeros(1, 2, 4, dtype=torch.long), 57)[0].tolist() == [0.0, 0.0]


def test_a_critic_told_the_mode_adds_a_scaled_mode_vector_to_its_label():
    critic = SequenceCritic(n_voices=2, vocab_size=20, n_steps=4, n_styles=4, embed=3, hidden=4, style_dim=2,
                            dropout=0.0)
    critic.add_modes(2, 57)  # 4 labels: (mode * 2 styles + style), one meter
    with torch.no_grad():
        critic.style.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 2.0], [0.0, 1.0], [1.0, 2.0]]))
        # a zero mode vector: label 3 (minor, style 1) reads as label 1 (major, style 1)
        assert critic(A_MINOR, torch.tensor([3])).item() == critic(A_MINOR, torch.tensor([1])).item()
        critic.mode.weight.copy_(torch.tensor([[0.0, 0.0], [0.5, -0.25]]))
        # label 3: style row [1, 2] plus 32 x minor's [0.5, -0.25] = [17, -6]; label 1 keeps its row
        got = critic.condition_vectors(torch.tensor([3, 1]))
        assert got.tolist() == [[17.0, -6.0], [1.0, 2.0]]
        assert critic(A_MINOR, torch.tensor([3])).item() != critic(A_MINOR, torch.tensor([1])).item()
        # its projection term: with the head's output at zero and the inputs' mode part cancelled in the label
        # row, what is left is 32 x minor's vector times the projection of the window's key fits
        critic.head[-1].weight.zero_()
        critic.head[-1].bias.zero_()
        critic.style.weight[3] = critic.style.weight[1] - 32 * critic.mode.weight[1]  # label 3's inputs = label 1's
        critic.mode_projection.weight.copy_(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))  # [minor fit, 2 x major fit]
        assert critic(A_MINOR, torch.tensor([1])).item() == 0.0
        major, minor = best_fits_by_corrcoef(np.bincount([9, 0, 4, 8], minlength=12).astype(float))
        # 16 x minor fit - 8 x 2 x major fit
        assert critic(A_MINOR, torch.tensor([3])).item() == pytest.approx(16 * minor - 16 * major, abs=1e-4)
        # the term alone, as a fine-tune weighs it (adv_mode_weight): major's vector is zero, so label 1's is too
        got = critic.mode_term(A_MINOR.repeat(2, 1, 1), torch.tensor([3, 1])).tolist()
        assert got == pytest.approx([16 * minor - 16 * major, 0.0], abs=1e-4)


def test_a_mode_finetune_starts_from_a_sequence_critic_without_modes(small_data, base_run, tmp_path):
    guided = tmp_path / "guided"
    train(small_data, guided, config_from_dict({"family": "guided", "base_model": str(base_run), "steps": 1,
                                                "batch_size": 8, "critic": "sequence", "embed": 4,
                                                "candidates": 2, "sample_count": 0, "threads": 1}), progress=False)
    cfg = dict(TUNE, steps=1, init_from=str(base_run), critic="sequence", critic_init=str(guided), lr_d=1e-12,
               sample_count=0, mode_condition=True, adv_mode_weight=4.0)
    train(small_data, tmp_path / "tuned", config_from_dict(cfg), progress=False)
    # the mode term is weighed apart and logged: zero while the critic's mode vectors are
    row = json.loads((tmp_path / "tuned" / "stats.jsonl").read_text().splitlines()[-1])
    assert row["ADV/mode_term"] == pytest.approx(0.0, abs=1e-6)
    _, src = read_file(guided / "model.safetensors")
    _, ckpt = read_file(list_checkpoints(tmp_path / "tuned")[-1])
    assert torch.allclose(ckpt["critic.style.weight"], src["model.critic.style.weight"].repeat(2, 1), atol=1e-6)
    assert ckpt["critic.mode.weight"].abs().max().item() < 1e-6  # every mode starts as the source judged it
    assert "critic.mode_projection.weight" in ckpt  # its projection term is zero while the mode vectors are
    new = ("critic.style.weight", "critic.mode.weight", "critic.mode_projection.weight")
    for k, v in ckpt.items():
        if k.startswith("critic.") and k not in new:
            assert torch.allclose(v, src["model." + k], atol=1e-6), k


def test_finetune_refusals(small_data, tiny_run, base_run, tmp_path):
    with pytest.raises(UserError, match="init_from"):
        train(small_data, tmp_path / "a", config_from_dict(TUNE), progress=False)
    with pytest.raises(UserError, match="gan model"):
        train(small_data, tmp_path / "b", config_from_dict(dict(TUNE, init_from=str(tiny_run))), progress=False)
    with pytest.raises(UserError, match="family mle"):
        config_from_dict({"family": "vae", "adv_weight": 1.0})
    # a mode term's weight needs a fine-tune told the mode, by a critic with a mode term
    told = dict(TUNE, mode_condition=True, critic="sequence")
    config_from_dict(dict(told, adv_mode_weight=4.0))
    for wrong in ({"mode_condition": False}, {"critic": "causal"}, {"adv_weight": 0.0}):
        with pytest.raises(UserError, match="adv_mode_weight"):
            config_from_dict(dict(told, adv_mode_weight=4.0, **wrong))
    with pytest.raises(UserError, match=">= 0"):
        config_from_dict(dict(told, adv_mode_weight=-1.0))
    with pytest.raises(UserError, match="r1_gamma must be >= 0"):  # a negative penalty would reward a steep critic
        config_from_dict(dict(TUNE, r1_gamma=-0.01))
    # a pitch temperature to sample at needs a fine-tune, styles the data has and values in range, each in one line
    with pytest.raises(UserError, match="adv_pitch_temperature.*adv_weight > 0"):
        config_from_dict(dict(BASE, adv_pitch_temperature="0.7"))
    for wrong, said in (("mozart:0.7", "no style mozart"), ("0.01", "0.05..10"), ("bach=0.7", "STYLE:VALUE")):
        with pytest.raises(UserError, match=said):
            train(small_data, tmp_path / "c", config_from_dict(dict(TUNE, init_from=str(base_run),
                                                                   adv_pitch_temperature=wrong)), progress=False)
    with pytest.raises(UserError, match="needs a style-conditional model"):  # before any step, not mid-run
        train(small_data, tmp_path / "d", config_from_dict(dict(TUNE, init_from=str(base_run), conditional=False,
                                                               adv_pitch_temperature="bach:0.7")), progress=False)


def test_a_finetune_at_a_pitch_temperature_samples_and_scores_at_it(small_data, base_run, tmp_path):
    # the same start, seed and batches; at pitch temperature 0.05 almost every note the sampler picks has log q near 0
    # (only whether a note starts, holds or rests is left to chance), so the first step's samples cost fewer nats
    # per token under the sampler that drew them than at 1
    entropy = {}
    for label, extra in (("plain", {}), ("sharp", {"adv_pitch_temperature": "0.05"})):
        train(small_data, tmp_path / label, config_from_dict(dict(TUNE, steps=1, sample_count=0,
                                                                  init_from=str(base_run), **extra)), progress=False)
        row = json.loads((tmp_path / label / "stats.jsonl").read_text().splitlines()[0])
        entropy[label] = row["ADV/entropy_per_token"]
    assert 0 < entropy["sharp"] < 0.8 * entropy["plain"]


def test_a_finetuned_model_is_sampled_as_its_start(small_data, base_run, tmp_path):
    export_model(base_run, tmp_path / "start.safetensors", {"temperature": 0.9, "strict_voice_leading": True})
    out = tmp_path / "tuned"
    train(small_data, out, config_from_dict(dict(TUNE, steps=1, init_from=str(tmp_path / "start.safetensors"))),
          progress=False)
    header, _ = read_file(out / "model.safetensors")
    assert header["sampling"] == {"temperature": 0.9, "strict_voice_leading": True}
    # fine-tuned at a pitch temperature, it is sampled at that one too, the rest as its start
    train(small_data, tmp_path / "sharp", config_from_dict(dict(TUNE, steps=1, adv_pitch_temperature="bach:0.7",
                                                                 init_from=str(tmp_path / "start.safetensors"))),
          progress=False)
    header, _ = read_file(tmp_path / "sharp" / "model.safetensors")
    assert header["sampling"] == {"temperature": 0.9, "strict_voice_leading": True, "pitch_temperature": {"bach": 0.7}}


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
    # a run told each window's mode starts every mode's critic vector at the guided critic's (style, meter) one:
    # labels run (mode x styles + style) x meters + meter, so the table is the source's, once per mode
    train(small_data, tmp_path / "moded", config_from_dict(dict(cfg, mode_condition=True)), progress=False)
    _, moded = read_file(list_checkpoints(tmp_path / "moded")[-1])
    table = src["model.critic.style.weight"]
    assert moded["critic.style.weight"].shape[0] == 2 * table.shape[0]
    for m in (0, 1):
        assert torch.allclose(moded["critic.style.weight"][m * len(table):(m + 1) * len(table)], table, atol=1e-6)
    with pytest.raises(UserError, match="critic_init"):
        train(small_data, tmp_path / "bad", config_from_dict(dict(cfg, critic_init=str(base_run))), progress=False)
    with pytest.raises(UserError, match="set critic to conv"):  # a critic of another kind does not fill this one
        train(small_data, tmp_path / "other", config_from_dict(dict(cfg, critic="sounding")), progress=False)


def test_the_policy_is_scored_without_dropout_as_it_was_drawn(small_data, tmp_path):
    # at the first step the model is its reference, so log p(x) - log p_ref(x) of every sample is exactly 0 when the
    # model scores its samples as it drew them, without dropout; scored with dropout (0.5 between the two layers) it
    # would be another model's, and the logged drift would not be 0
    layered = dict(BASE, layers=2)
    train(small_data, tmp_path / "base", config_from_dict(layered), progress=False)
    train(small_data, tmp_path / "tuned", config_from_dict(dict(TUNE, layers=2, dropout=0.5, steps=1, sample_count=0,
                                                                init_from=str(tmp_path / "base"))), progress=False)
    row = json.loads((tmp_path / "tuned" / "stats.jsonl").read_text().splitlines()[0])
    assert row["step"] == 1 and row["ADV/kl_to_start"] == 0.0


def test_without_dropout_judges_as_calibrated_and_restores_each_mode():
    drop, fixed = torch.nn.Dropout(0.5).train(), torch.nn.Dropout(0.5).eval()
    x = torch.ones(1000)
    with without_dropout(drop, fixed):
        assert torch.equal(drop(x), x) and not drop.training
    assert drop.training and not fixed.training
    assert (drop(x) == 0).any()  # training again: about half the entries dropped
