"""Autoregressive baseline: exact likelihood on hand-checkable cases, causality, sampling that agrees with the
teacher-forced model, determinism per seed."""

import math

import numpy as np
import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.data.dataset import load_prepared
from divertimento.data.summary import data_summary
from divertimento.errors import UserError
from divertimento.losses.likelihood import categorical_nll, mle_loss
from divertimento.metrics.decode import decode, to_absolute
from divertimento.metrics.descriptors import parallel_fifths_octaves_rate
from divertimento.models.sequence import ARModel
from divertimento.models.voice_leading import parallel_mask
from divertimento.sample.sampler import load_sampler
from divertimento.train.distributed import DistInfo
from divertimento.train.export import export_model
from divertimento.train.loop import train
from divertimento.train.recipe_likelihood import LikelihoodRecipe
from divertimento.train.schedule import lr_at

TINY_AR = {"family": "mle", "steps": 6, "batch_size": 8, "hidden": 16, "layers": 1, "embed": 4, "style_dim": 4,
           "log_every": 3, "sample_count": 2, "threads": 1}


def _model(conditional: bool = True, K: int = 7, T: int = 16) -> ARModel:
    torch.manual_seed(0)
    return ARModel(n_voices=3, vocab_size=K, n_steps=T, n_styles=2, style_dim=4, hidden=16, layers=2, embed=4,
                   conditional=conditional).eval()


def test_uniform_model_nll_is_positions_times_log_k():
    m = _model()
    with torch.no_grad():
        for head in m.head_out:  # zero output layers -> every distribution uniform over K = 7
            head.weight.zero_()
            head.bias.zero_()
    tokens = torch.randint(0, 7, (2, 3, 16))
    style = torch.tensor([0, 1])
    nll = categorical_nll(m(tokens, style), tokens)
    assert nll.tolist() == pytest.approx([3 * 16 * math.log(7)] * 2, abs=1e-4)
    assert torch.allclose(m.log_probs(tokens, style), torch.full((2, 3, 16), -math.log(7)), atol=1e-6)


def test_causal_in_time_and_in_voice_order():
    m = _model()
    style = torch.tensor([1])
    x = torch.randint(0, 7, (1, 3, 16))
    base = m.log_probs(x, style)
    # change step 9 of voice 0: nothing before step 9 moves, nor voice 0 at step 9 (its own token aside)
    y = x.clone()
    y[0, 0, 9] = (x[0, 0, 9] + 1) % 7
    lp = m.log_probs(y, style)
    assert torch.allclose(lp[..., :9], base[..., :9], atol=1e-6)
    assert not torch.allclose(lp[0, 1, 9], base[0, 1, 9])  # alto at step 9 sees the soprano of step 9
    # change the lowest voice at step 5: the voices above it at step 5 keep their probabilities
    z = x.clone()
    z[0, 2, 5] = (x[0, 2, 5] + 1) % 7
    lp = m.log_probs(z, style)
    assert torch.allclose(lp[0, :2, 5], base[0, :2, 5], atol=1e-6)
    assert torch.allclose(lp[..., :5], base[..., :5], atol=1e-6)
    assert not torch.allclose(lp[..., 6:], base[..., 6:])


def test_greedy_sampling_agrees_with_teacher_forced_argmax():
    # with zero noise, sampling picks the argmax token at each position given what it sampled before; the
    # teacher-forced logits on that sample must have the same argmax everywhere (same network, same order)
    m = _model()
    style = torch.tensor([0, 1, 1])
    x = m.sample(style, torch.zeros(3, 3, 16, 7))
    assert torch.equal(m(x, style).argmax(-1), x)


def test_unconditional_model_ignores_style():
    m = _model(conditional=False)
    x = torch.randint(0, 7, (2, 3, 16))
    assert torch.allclose(m(x, None), m(x, torch.tensor([0, 1])))


def test_loss_is_mean_nll():
    cfg = config_from_dict(TINY_AR)
    m = _model(K=7)
    x = torch.randint(0, 7, (4, 3, 16))
    style = torch.tensor([0, 1, 0, 1])
    loss, stats = mle_loss(m, cfg, 0, x, style, torch.Generator())
    assert loss.item() == pytest.approx(-m.log_probs(x, style).sum(dim=(1, 2)).mean().item(), rel=1e-5)
    assert stats["MLE/nll_per_token"] == pytest.approx(loss.item() / (3 * 16), rel=1e-6)


def test_trained_ar_samples_deterministically(small_data, tmp_path):
    out = tmp_path / "ar"
    row = train(small_data, out, config_from_dict(TINY_AR), progress=False)
    # lr: the cosine's value at the last update (lr_final 1 in TINY_AR keeps it constant)
    assert row["step"] == 6 and "MLE/nll" in row and row["lr"] == pytest.approx(1e-3)
    assert (out / "model.safetensors").is_file() and (out / "samples" / "step-00000006.png").is_file()
    sampler = load_sampler(out / "model.safetensors")
    assert sampler.family == "mle" and not sampler.has_latent
    seeds = [(5, i) for i in range(5)]
    a, styles = sampler.generate_tokens(seeds)
    b, styles_b = load_sampler(out).generate_tokens(seeds, batch_size=2)
    assert np.array_equal(a, b) and styles == styles_b
    assert a.shape == (5, 4, 64) and a.dtype == np.uint8 and a.max() < sampler.manifest["vocab_size"]
    c, _ = sampler.generate_tokens([(5, 3), (1, 1)])
    assert np.array_equal(c[0], a[3])
    d, _ = sampler.generate_tokens(seeds, temperature=0.5)
    assert not np.array_equal(a, d)
    one, names = sampler.generate_tokens(seeds[:2], style=sampler.style_names[-1])
    assert names == [sampler.style_names[-1]] * 2
    with pytest.raises(UserError, match="truncation"):
        sampler.generate_tokens(seeds, truncation=1.0)
    with pytest.raises(UserError, match="temperature"):
        sampler.generate_tokens(seeds, temperature=0.0)


def test_cosine_learning_rate_by_hand():
    cfg = config_from_dict({**TINY_AR, "steps": 5, "lr": 1e-3, "lr_final": 0.1})
    # progress 0, 1/4, 1/2, 1: lr * (0.1 + 0.9 * (1 + cos(pi p)) / 2)
    assert [lr_at(s, cfg) for s in (0, 1, 2, 4)] == pytest.approx([1e-3, 1e-3 * (0.1 + 0.45 * (1 + math.sqrt(0.5))),
                                                                  5.5e-4, 1e-4])
    assert lr_at(3, config_from_dict(TINY_AR)) == 1e-3  # lr_final 1 = constant
    # a fixed horizon: the cosine ends at update lr_decay_steps - 1 whatever the run's budget, then stays flat
    fixed = config_from_dict({**TINY_AR, "steps": 2, "lr": 1e-3, "lr_final": 0.1, "lr_decay_steps": 5})
    assert [lr_at(s, fixed) for s in (0, 2, 4, 9)] == pytest.approx([1e-3, 5.5e-4, 1e-4, 1e-4])
    with pytest.raises(UserError, match="lr_final"):
        config_from_dict({**TINY_AR, "lr_final": 1.5})


def test_heldout_nll_is_the_val_windows_mean(small_data, tmp_path):
    data = load_prepared(small_data)
    cfg = config_from_dict(TINY_AR)
    torch.manual_seed(0)
    recipe = LikelihoodRecipe(cfg, data_summary(data), torch.Generator(), DistInfo())
    model = recipe.net.eval()
    val = data.splits["val"]
    n = min(len(val["rolls"]), 2048)
    assert n > 3
    # one window at a time, straight from the model's log-probabilities; the condition label is (style, meter)
    meters = len(data.meter_names)
    label = val["style"].astype(np.int64) * meters + val["meter"]
    per_window = [-model.log_probs(torch.from_numpy(val["rolls"][i : i + 1].astype(np.int64)),
                                   torch.tensor([int(label[i])])).sum().item() for i in range(n)]
    terms = recipe.finish(data, batch_size=3)
    assert terms["heldout/MLE/nll"] == pytest.approx(float(np.mean(per_window)), rel=1e-4)
    assert "heldout/lr" not in terms


def test_parallel_mask_by_hand():
    K = 40  # tokens 2.. are pitches; intervals between tokens are intervals between pitches
    # soprano 26 -> 28 (up a tone); bass was 14, an octave below 26. Parallel octave: bass 16 (up); contrary or
    # oblique motion is fine: 12 (down, still an octave apart), 14 (repeats: does not move)
    before = torch.tensor([[26, -1, -1, 14]])
    chosen = torch.tensor([[28, -1, -1, -1]])
    m = parallel_mask(before, chosen, 3, K)[0]
    assert m[16] and m[28]  # an octave below, a unison: both reached moving up with the soprano
    assert not m[4] and not m[12] and not m[14] and not m[0] and not m[1]  # moving down, repeated, rest, hold
    assert not m[21]  # a fifth below 28, but the voices were an octave apart before: not parallel
    # fifths: alto 19 (a fifth below 26) must not go to 21 when the soprano goes 26 -> 28
    m = parallel_mask(torch.tensor([[26, 19, -1, -1]]), chosen, 1, K)[0]
    assert m[21] and m[35] and not m[9] and not m[20] and not m[17]  # 35: a fifth above, crossing, still parallel
    # a silent upper voice, or one that holds its note, constrains nothing
    assert not parallel_mask(before, torch.tensor([[26, -1, -1, -1]]), 3, K).any()
    assert not parallel_mask(torch.tensor([[-1, -1, -1, 14]]), chosen, 3, K).any()


def test_strict_voice_leading_leaves_no_parallels(small_data, tmp_path):
    out = tmp_path / "ar"
    train(small_data, out, config_from_dict({**TINY_AR, "steps": 2}), progress=False)
    sampler = load_sampler(out)
    seeds = [(1, i) for i in range(64)]
    free, _ = sampler.generate_tokens(seeds, style="bach")
    strict, _ = sampler.generate_tokens(seeds, style="bach", strict_voice_leading=True)
    # the descriptor, computed on decoded notes, is the independent judge
    assert np.nansum(parallel_fifths_octaves_rate(decode(to_absolute(free, sampler.low)))) > 0
    assert np.nansum(parallel_fifths_octaves_rate(decode(to_absolute(strict, sampler.low)))) == 0
    # the model file's recommendation is the default; the weights are untouched
    export_model(out, tmp_path / "strict.safetensors", {"strict_voice_leading": True})
    recommended = load_sampler(tmp_path / "strict.safetensors")
    assert recommended.strict_voice_leading and not sampler.strict_voice_leading
    assert np.array_equal(recommended.generate_tokens(seeds, style="bach")[0], strict)
    assert np.array_equal(recommended.generate_tokens(seeds, style="bach", strict_voice_leading=False)[0], free)
