"""Sampling with bfloat16 products (models.low_precision.LowPrecision) and the critics' token lookup: the same equations
as float32's, checked on values bfloat16 holds exactly, refused where a family has no such path, and float32 where the
CPU has no bfloat16 kernels (an AVX2-only CPU; the tests set which CPU they stand for, so both paths run on any)."""

import json

import pytest
import torch
import torch.nn.functional as F

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.models import low_precision
from divertimento.models.causal_critic import CausalCritic
from divertimento.models.discriminator import Discriminator
from divertimento.models.files import read_file
from divertimento.models.guided import GuidedSampler, bfloat16_critic
from divertimento.models.low_precision import LowPrecision
from divertimento.models.sequence import ARModel
from divertimento.models.sequence_critic import SequenceCritic
from divertimento.models.sounding_critic import CausalSoundingCritic, SoundingCritic
from divertimento.sample.draw import gumbel_noise
from divertimento.sample.sampler import load_sampler
from divertimento.train.loop import train

from .conftest import TINY_MLE


def _model() -> ARModel:
    torch.manual_seed(0)
    return ARModel(n_voices=3, vocab_size=7, n_steps=16, n_styles=2, style_dim=4, hidden=8, layers=2,
                   embed=4).eval()


def _halves(*shape: int, generator: torch.Generator) -> torch.Tensor:
    """Values in {-1, -0.5, 0, 0.5, 1}: bfloat16 holds them, and any sum of a few dozen of their products."""
    return (torch.randint(-2, 3, shape, generator=generator) / 2).float()


def test_the_bfloat16_cell_is_torchs_lstm_cell_on_values_bfloat16_holds():
    g = torch.Generator().manual_seed(3)
    model = _model()
    for p in model.lstm.parameters():  # weights and biases bfloat16 holds, so the products are exact
        p.data = _halves(*p.shape, generator=g)
    low = LowPrecision.of(model, fused=False)  # the cells: a fused copy keeps none
    for k, width in enumerate((model.lstm.input_size, 8)):
        x, h, c = _halves(5, width, generator=g), _halves(5, 8, generator=g), _halves(5, 8, generator=g)
        want_h, want_c = torch._VF.lstm_cell(x, (h, c), *model.lstm.all_weights[k])
        got_h, got_c = low.lstm_cell(k, x, h, c)
        assert got_h.dtype == got_c.dtype == torch.float32
        torch.testing.assert_close(got_c, want_c, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(got_h, want_h, rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not low_precision.onednn_bfloat16(), reason="this CPU has no bfloat16 kernels")
def test_the_fused_bfloat16_step_is_torchs_lstm_cells_with_h_rounded():
    g = torch.Generator().manual_seed(6)
    model = _model()
    for p in model.lstm.parameters():
        p.data = _halves(*p.shape, generator=g)
    x = _halves(40, model.lstm.input_size, generator=g)
    state = (_halves(2, 40, 8, generator=g), _halves(2, 40, 8, generator=g))
    got_out, (got_h, got_c) = LowPrecision.of(model, fused=True).step(x, state)
    # float32 cells, layer by layer, each layer's h rounded to bfloat16 before the next layer reads it: every product
    # is then exact in both (bfloat16 values times halves, a few dozen of them), so what is left is the rounding of
    # h (in [-1, 1]: half a step of 2^-8 at most) and the kernels' own sigmoid and tanh
    inp = x
    for k in range(2):
        want_h, want_c = torch._VF.lstm_cell(inp, (state[0][k], state[1][k]), *model.lstm.all_weights[k])
        assert got_h.dtype == torch.bfloat16 and got_c.dtype == torch.float32
        torch.testing.assert_close(got_c[k], want_c, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got_h[k].float(), want_h, rtol=0, atol=2**-9 + 1e-6)
        inp = got_h[k].float()
    assert torch.equal(got_out, got_h[-1])


def test_a_bfloat16_head_is_the_float32_head_with_its_hidden_layer_rounded():
    g = torch.Generator().manual_seed(7)
    model = _model()
    for p in [*model.head_hidden.parameters(), *model.head_out.parameters()]:
        p.data = _halves(*p.shape, generator=g)
    ctx = _halves(30, 8, generator=g)
    low = LowPrecision.of(model, fused=False)
    for v in range(model.n_voices):
        hidden = F.gelu(model.head_hidden[v](ctx))  # exact products of halves, GELU in float32
        # the second product reads GELU's output rounded to bfloat16 and rounds its own sum; the bias is float32
        want = (hidden.to(torch.bfloat16).float() @ model.head_out[v].weight.T).to(torch.bfloat16).float()
        want = want + model.head_out[v].bias
        torch.testing.assert_close(low.head(v, ctx), want, rtol=0, atol=1e-6)
        assert not torch.equal(low.head(v, ctx), model.head_out[v](hidden))  # rounded: not float32's


@pytest.mark.skipif(not low_precision.onednn_bfloat16(), reason="an LSTM under bfloat16 autocast needs the kernels")
@pytest.mark.parametrize("critic_class", [SequenceCritic, CausalCritic, SoundingCritic, CausalSoundingCritic])
def test_a_bfloat16_critic_gives_autocasts_logits_exactly(critic_class):
    torch.manual_seed(8)
    critic = critic_class(n_voices=3, vocab_size=7, n_steps=16, n_styles=2, embed=4, hidden=8).eval()
    tokens, style = torch.randint(0, 7, (40, 3, 16)), torch.arange(40) % 2
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            want = critic(tokens, style).float()
        got = bfloat16_critic(critic)(tokens, style).float()
    assert torch.equal(got, want)
    assert next(critic.parameters()).dtype == torch.float32  # the copy is bfloat16, the critic is left as it was


def test_critics_a_bfloat16_copy_would_round_differently_run_under_autocast():
    mode_critic = SequenceCritic(n_voices=3, vocab_size=7, n_steps=16, n_styles=4, embed=4, hidden=8)
    mode_critic.add_modes(2, 60)
    conv = Discriminator(n_voices=3, vocab_size=7, n_steps=16, n_styles=2, channels=8, conditional=True)
    assert bfloat16_critic(mode_critic) is None and bfloat16_critic(conv) is None


def test_bfloat16_draws_are_float32s_up_to_rare_near_ties(monkeypatch):
    monkeypatch.setattr(low_precision, "native_bfloat16", lambda: True)  # emulated where the CPU has no kernels
    model = _model()
    noise = gumbel_noise((64, 3, 16, 7), torch.Generator().manual_seed(1))
    style = torch.arange(64) % 2
    want = model.sample(style, noise)
    got = model.sample(style, noise, low_precision=True)
    # a token changes only where two logits plus noise lie within bfloat16's rounding (~1 %) of each other, and a
    # change then carries on down the window; a wrong gate or a dropped bias would change most tokens
    assert (got == want).float().mean() > 0.9
    assert not torch.equal(got, torch.zeros_like(got))


@pytest.mark.parametrize("critic_class", [SequenceCritic, CausalCritic, SoundingCritic])
def test_a_critic_looks_tokens_up_exactly_as_it_reads_one_hots(critic_class):
    torch.manual_seed(2)
    critic = critic_class(n_voices=3, vocab_size=7, n_steps=16, n_styles=2, embed=4, hidden=8).eval()
    tokens = torch.randint(0, 7, (5, 3, 16))
    style = torch.tensor([0, 1, 1, 0, 1])
    with torch.no_grad():
        assert torch.equal(critic(tokens, style), critic(F.one_hot(tokens, 7).float(), style))


def test_low_precision_is_refused_for_a_family_without_it(tiny_run):
    sampler = load_sampler(tiny_run)  # a token GAN
    with pytest.raises(UserError, match="low-precision sampling applies to mle and guided models, not gan"):
        sampler.generate_tokens([(0, 0)], low_precision=True)



def test_a_cpu_without_bfloat16_kernels_draws_float32s_tokens(monkeypatch):
    # a sequence critic's LSTM under bfloat16 autocast fails on such a CPU, so the guided sampler must not ask for it
    monkeypatch.setattr(low_precision, "native_bfloat16", lambda: False)
    torch.manual_seed(4)
    critic = SequenceCritic(n_voices=3, vocab_size=7, n_steps=16, n_styles=2, embed=4, hidden=8).eval()
    guided = GuidedSampler(_model(), critic, candidates=3, beta=1.0).eval()
    noise = gumbel_noise((6, 3, 3, 16, 8), torch.Generator().manual_seed(5))
    style = torch.arange(6) % 2
    assert torch.equal(guided.sample(style, noise, low_precision=True), guided.sample(style, noise))
    model = guided.base
    assert torch.equal(model.sample(style, noise[:, 0, ..., :-1], low_precision=True),
                       model.sample(style, noise[:, 0, ..., :-1]))


def _first_nll(run) -> float:
    return json.loads((run / "stats.jsonl").read_text().splitlines()[0])["MLE/nll"]


def test_bfloat16_training_falls_back_to_float32_without_kernels(small_data, tmp_path, monkeypatch):
    monkeypatch.setattr(low_precision, "native_bfloat16", lambda: False)
    cfg = {**TINY_MLE, "steps": 3, "log_every": 1}
    train(small_data, tmp_path / "f32", config_from_dict(cfg), progress=False)
    train(small_data, tmp_path / "asked", config_from_dict({**cfg, "bf16_autocast": True}), progress=False)
    a, b = (read_file(tmp_path / run / "model.safetensors")[1] for run in ("f32", "asked"))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.skipif(not low_precision.native_bfloat16(), reason="this CPU has no bfloat16 kernels")
def test_bfloat16_training_scores_the_first_batch_as_float32_does(small_data, tmp_path):
    cfg = {**TINY_MLE, "steps": 1, "log_every": 1}
    train(small_data, tmp_path / "f32", config_from_dict(cfg), progress=False)
    train(small_data, tmp_path / "bf16", config_from_dict({**cfg, "bf16_autocast": True}), progress=False)
    f32, bf16 = _first_nll(tmp_path / "f32"), _first_nll(tmp_path / "bf16")
    # products rounded to 8 bits of mantissa move a window's NLL (~200 nats) by well under 1 %; a wrong cast of the
    # logits or the loss summed in bfloat16 (steps of 1 nat at that size) would not stay this close
    assert bf16 == pytest.approx(f32, rel=5e-3) and bf16 != f32


def test_the_bfloat16_linear_is_the_promoted_sum_exactly():
    g = torch.Generator().manual_seed(4)
    x, w, b = torch.randn(33, 20, generator=g), torch.randn(12, 20, generator=g), torch.randn(12, generator=g)
    got = low_precision.bf16_linear(x, w.to(torch.bfloat16), b)
    # what torch computes for a bfloat16 product plus a float32 bias: the product widened, then a float32 sum
    want = torch.add(x.to(torch.bfloat16) @ w.to(torch.bfloat16).T, b)
    assert got.dtype == torch.float32 and torch.equal(got, want)


# /proc/cpuinfo as written by Linux, cut to what matters: an AVX-512 CPU without BF16 (round 26's), one with it,
# one with AMX, and none
AVX512_ONLY = "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n\n" \
    "processor\t: 1\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n"
WITH_BF16 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n"
WITH_AMX = "processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_tile amx_bf16 amx_int8\n"


@pytest.mark.parametrize("text, units", [(AVX512_ONLY, False), (WITH_BF16, True), (WITH_AMX, True),
                                         ("processor\t: 0\n", None)])
def test_bfloat16_is_native_only_where_the_cpu_has_bfloat16_units(tmp_path, monkeypatch, text, units):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    monkeypatch.setattr(low_precision, "CPUINFO", cpuinfo)
    assert low_precision.cpu_bfloat16_units(low_precision.cpu_flags()) is units
    monkeypatch.setattr(low_precision, "onednn_bfloat16", lambda: True)
    # oneDNN's kernels alone (emulated on AVX-512 without BF16) are not enough; flags that cannot be read leave it
    # to oneDNN
    assert low_precision.native_bfloat16() is (units is not False)
    monkeypatch.setattr(low_precision, "onednn_bfloat16", lambda: False)
    assert low_precision.native_bfloat16() is False


def test_no_cpuinfo_leaves_it_to_onednn(tmp_path, monkeypatch):
    monkeypatch.setattr(low_precision, "CPUINFO", tmp_path / "absent")
    assert low_precision.cpu_flags() is None
    monkeypatch.setattr(low_precision, "onednn_bfloat16", lambda: True)
    assert low_precision.native_bfloat16() is True
