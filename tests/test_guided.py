"""Discriminator-guided sampling: the resampling weights and the calibration by hand, the guided family trained by
the one trainer, its control, resume, and its refusals."""

import math

import numpy as np
import pytest
import torch

from divertimento.cli import main
from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.losses.calibration import fit_platt
from divertimento.models.files import read_file
from divertimento.models.guided import resample_choice, resample_weights
from divertimento.sample.sampler import load_sampler
from divertimento.train.loop import train

from .conftest import straight_and_resumed

BASE = {"family": "mle", "steps": 4, "batch_size": 8, "hidden": 16, "layers": 1, "embed": 4, "style_dim": 4,
        "log_every": 2, "sample_count": 0, "threads": 1}
GUIDED = {"family": "guided", "steps": 4, "batch_size": 8, "d_channels": 32, "candidates": 4, "log_every": 2,
          "sample_count": 2, "ckpt_every": 2, "threads": 1}


@pytest.fixture(scope="module")
def base_run(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("guided") / "base"
    train(small_data, out, config_from_dict(BASE), progress=False)
    return out


@pytest.fixture(scope="module")
def guided_run(small_data, base_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("guided") / "critic"
    train(small_data, out, config_from_dict(dict(GUIDED, base_model=str(base_run))), progress=False)
    return out


def test_resampling_weights_by_hand():
    # scores are log density ratios: log 1, log 2, log 3 -> weights (D / (1 - D))^beta = 1 : 2^beta : 3^beta
    scores = torch.log(torch.tensor([[1.0, 2.0, 3.0]]))
    assert resample_weights(scores, 1.0)[0].tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert resample_weights(scores, 2.0)[0].tolist() == pytest.approx([1 / 14, 4 / 14, 9 / 14])
    assert resample_weights(scores, 0.0)[0].tolist() == pytest.approx([1 / 3] * 3)  # the proposal's own draw
    # Gumbel-max: the kept index is argmax(beta * score + g); with g = (1.0, 0.2, 0): 1.0, 0.2 + ln 2 = 0.89,
    # ln 3 = 1.10 -> candidate 2 at beta 1; at beta 0 only g counts -> candidate 0
    g = torch.tensor([[1.0, 0.2, 0.0]])
    assert resample_choice(scores, 1.0, g).tolist() == [2]
    assert resample_choice(scores, 0.0, g).tolist() == [0]


def test_platt_scaling_recovers_a_known_logistic_and_stays_finite_when_separable():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(20000, generator=g) * 2
    y = (torch.rand(20000, generator=g) < torch.sigmoid(1.5 * s - 0.5)).float()
    a, b = fit_platt(s, y)
    assert a == pytest.approx(1.5, abs=0.06) and b == pytest.approx(-0.5, abs=0.06)
    # perfectly separated scores: Platt's smoothed targets (n + 1) / (n + 2) keep the fit finite
    a, b = fit_platt(torch.tensor([-2.0, -1.0, 1.0, 2.0]), torch.tensor([0.0, 0.0, 1.0, 1.0]))
    assert math.isfinite(a) and 0 < a < 10
    # at the largest score the calibrated probability is the smoothed target 3 / 4, not 1
    assert torch.sigmoid(torch.tensor(2.0 * a + b)).item() == pytest.approx(0.75, abs=0.05)


def test_guided_model_file_and_its_sampling(guided_run, base_run):
    header, tensors = read_file(guided_run / "model.safetensors")
    assert header["family"] == "guided" and header["base"]["family"] == "mle"
    assert "heldout/critic/accuracy" in header["heldout"]
    sampler = load_sampler(guided_run)
    assert sampler.module.calibration.tolist() != [1.0, 0.0]  # fitted on held-out windows
    pairs = [(3, i) for i in range(6)]
    a, styles = sampler.generate_tokens(pairs)
    b, _ = sampler.generate_tokens(pairs[::-1], batch_size=4)
    assert np.array_equal(a, b[::-1])  # deterministic per piece, whatever else is in the batch
    # beta = 0: the kept window is the candidate the resampling noise alone picks, a plain proposal draw
    zero, _ = sampler.generate_tokens(pairs, options={"beta": 0.0})
    m = sampler.module
    for (seed, index), got in zip(pairs, zero):
        d = sampler.draw(seed, index)
        k = int(d.noise[:, 0, 0, -1].argmax())
        label = d.style * len(sampler.meter_names) + d.meter  # the condition: (style, meter)
        style = torch.tensor([label]) if m.conditional else None
        want = m.base.sample(style, d.noise[k : k + 1, ..., :-1], 1.0)[0].numpy()
        want[np.asarray(sampler.manifest["voice_use"][d.style]) < 0.01] = 0
        assert np.array_equal(got, want)
    # the control (the proposal's own likelihood) reranks the same candidates: every kept window is one of them
    control, _ = sampler.generate_tokens(pairs, options={"rerank": "likelihood", "beta": 50.0})
    d = sampler.draw(*pairs[0])
    label = d.style * len(sampler.meter_names) + d.meter
    style = torch.tensor([label] * m.candidates) if m.conditional else None
    cands = m.base.sample(style, d.noise[..., :-1], 1.0)
    logp = m.base.log_probs(cands, style).sum(dim=(1, 2))
    best = cands[int(logp.argmax())].numpy()  # beta 50: best-of-K by likelihood, for all practical purposes
    best[np.asarray(sampler.manifest["voice_use"][d.style]) < 0.01] = 0
    assert np.array_equal(control[0], best)



def test_a_guided_sampler_draws_in_low_precision(guided_run):
    sampler = load_sampler(guided_run)
    pairs = [(2, i) for i in range(4)]
    a, _ = sampler.generate_tokens(pairs, low_precision=True, options={"beta": 0.0})
    b, _ = sampler.generate_tokens(pairs[::-1], batch_size=8, low_precision=True, options={"beta": 0.0})
    assert np.array_equal(a, b[::-1])  # deterministic per piece, whatever else is in the batch
    m = sampler.module
    for (seed, index), got in zip(pairs, a):  # beta 0: the candidate the resampling noise picks, drawn in bfloat16
        d = sampler.draw(seed, index)
        k = int(d.noise[:, 0, 0, -1].argmax())
        style = torch.tensor([d.style * len(sampler.meter_names) + d.meter]) if m.conditional else None
        want = m.base.sample(style, d.noise[k : k + 1, ..., :-1], 1.0, low_precision=True)[0].numpy()
        want[np.asarray(sampler.manifest["voice_use"][d.style]) < 0.01] = 0
        assert np.array_equal(got, want)

@pytest.mark.parametrize("critic", ["conv", "sequence", "sounding", "residual", "causal", "causal-sounding"])
def test_guided_resume_is_exact(small_data, base_run, tmp_path, critic):
    # the sequence critic draws dropout masks from torch's global stream: the checkpoint must carry it; the
    # sounding critic judges (and is calibrated on) real windows moved to random keys
    cfg = dict(GUIDED, base_model=str(base_run), r1_gamma=1.0, r1_interval=2, critic=critic,
               critic_transposed=critic == "sounding")
    a, b = straight_and_resumed(small_data, cfg, tmp_path)
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_guided_refusals(small_data, tiny_run, guided_run, tmp_path, capsys):
    with pytest.raises(UserError, match="base_model"):
        config_from_dict({"family": "guided"})
    with pytest.raises(UserError, match="gan model"):  # a proposal with a latent
        train(small_data, tmp_path / "x", config_from_dict(dict(GUIDED, base_model=str(tiny_run))), progress=False)
    with pytest.raises(UserError, match="another shape"):  # the shipped mle learnt six styles, not these two
        train(small_data, tmp_path / "y", config_from_dict(dict(GUIDED, base_model="mle")), progress=False)
    for option, message in (("beta=1000", "beta must lie"), ("rerank=vibes", "rerank must be"),
                            ("candidates=0", "candidates must be a whole number in 1..64 (got 0)"),
                            ("candidates=65", "candidates must be a whole number in 1..64 (got 65)"),
                            ("candidates=2.5", "candidates must be a whole number in 1..64 (got 2.5)")):
        code = main(["generate", "--model", str(guided_run), "--n", "1", "--out", str(tmp_path / "o"),
                     "--option", option])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and message in err[0], err
    for option in ("beta=1", "candidates=2"):
        assert main(["generate", "--model", str(tiny_run), "--n", "1", "--out", str(tmp_path / "p"),
                     "--option", option]) == 2
        assert f"has no sampling option {option.split('=')[0]}" in capsys.readouterr().err


def test_fewer_candidates_per_call_draw_that_many_and_the_file_k_is_the_default(guided_run):
    """``candidates`` sets K per call: each piece's noise is drawn for that K, the kept window is one of those K
    candidates, and asking for the file's own K draws exactly what the default draws."""
    sampler, K = load_sampler(guided_run), GUIDED["candidates"]
    pairs = [(5, i) for i in range(5)]
    default, _ = sampler.generate_tokens(pairs)
    same, _ = sampler.generate_tokens(pairs, options={"candidates": K})
    assert np.array_equal(default, same)
    two, _ = sampler.generate_tokens(pairs, options={"candidates": 2.0, "beta": 0.0})  # 2.0: as a command line gives it
    m = sampler.module
    for (seed, index), got in zip(pairs, two):
        d = sampler.draw(seed, index, options={"candidates": 2})
        assert d.noise.shape == (2, m.n_voices, m.n_steps, m.vocab_size + 1)
        k = int(d.noise[:, 0, 0, -1].argmax())  # beta 0: the candidate the resampling noise alone picks
        style = torch.tensor([d.style * len(sampler.meter_names) + d.meter]) if m.conditional else None
        want = m.base.sample(style, d.noise[k : k + 1, ..., :-1], 1.0)[0].numpy()
        want[np.asarray(sampler.manifest["voice_use"][d.style]) < 0.01] = 0
        assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="noise for 2 candidates, but 3 asked for"):
        m.sample(None, torch.zeros(1, 2, m.n_voices, m.n_steps, m.vocab_size + 1), candidates=3)



def test_a_sequence_critic_starts_from_the_proposal_embeddings_and_samples(small_data, base_run, tmp_path):
    from divertimento.models.sequence_critic import SequenceCritic

    out = tmp_path / "seq"
    cfg = dict(GUIDED, base_model=str(base_run), critic="sequence", embed=BASE["embed"], lr=1e-7, steps=1)
    train(small_data, out, config_from_dict(cfg), progress=False)
    sampler = load_sampler(out)
    critic, base = sampler.module.critic, sampler.module.base
    # (one Adam step of lr 1e-7 moves each weight by at most about 1e-7)
    assert isinstance(critic, SequenceCritic)
    assert torch.allclose(critic.in_embed.weight, base.in_embed.weight, atol=1e-6)
    tokens, _ = sampler.generate_tokens([(1, i) for i in range(3)])
    again, _ = sampler.generate_tokens([(1, i) for i in range(3)])
    assert np.array_equal(tokens, again)  # eval mode: no dropout at sampling time
    with pytest.raises(UserError, match="critic must be conv, sequence, sounding, residual, causal or causal-sounding"):
        config_from_dict(dict(GUIDED, base_model=str(base_run), critic="transformer"))


def test_the_studio_runs_on_a_guided_model(guided_run):
    """The studio's first bar is generate's piece's (the critic's pick among K candidates), and its tools with
    given notes run through the proposal with the critic picking the kept particle."""
    from divertimento.studio import compose as C
    from divertimento.studio.engine import Engine

    engine = Engine(load_sampler(guided_run))
    assert engine.candidates == GUIDED["candidates"] and engine.critic is not None
    assert Engine(load_sampler(guided_run), overrides={"candidates": 2}).candidates == 2
    with pytest.raises(UserError, match="candidates must be a whole number"):
        Engine(load_sampler(guided_run), overrides={"candidates": 99})
    piece = C.compose(engine, (2, 1), style="bach", bars=6)
    ref, _ = engine.sampler.generate_tokens([(2, 1)], style="bach")
    # a piece longer than one window opens with generate's first bar, then is drawn towards its cadences
    assert np.array_equal(piece.tokens[:, : piece.bar], ref[0][:, : piece.bar]) and piece.tokens.shape == (4, 96)
    melody = piece.tokens[0].astype(np.int64)
    h = C.harmonise(engine, melody, "bach", (0, 0))
    assert np.array_equal(h.tokens[0], melody)


def test_a_residual_critic_reads_the_frozen_proposal(small_data, base_run, tmp_path):
    from divertimento.models.residual_critic import ResidualCritic

    out = tmp_path / "res"
    train(small_data, out, config_from_dict(dict(GUIDED, base_model=str(base_run), critic="residual",
                                                 embed=BASE["embed"], steps=2)), progress=False)
    _, tensors = read_file(out / "model.safetensors")
    _, start = read_file(base_run / "model.safetensors")
    # the proposal is stored once (as the sampler's base) and did not train; the critic holds only its head
    assert not any(k.startswith("model.critic.base") or "_base" in k for k in tensors)
    for k, v in start.items():
        if k.startswith("model."):
            assert torch.equal(tensors["model.base." + k.removeprefix("model.")], v), k
    sampler = load_sampler(out)
    critic, base = sampler.module.critic, sampler.module.base
    assert isinstance(critic, ResidualCritic) and critic.base is base
    tokens, _ = sampler.generate_tokens([(3, i) for i in range(4)])
    x = torch.as_tensor(tokens.astype(np.int64))
    style = torch.zeros(len(x), dtype=torch.long)
    feats = critic.proposal_features(x, style if base.conditional else None)
    H, V = base.lstm.hidden_size, base.n_voices
    # the surprisal features are the proposal's own token log-likelihoods, negated
    want = -base.log_probs(x, style if base.conditional else None).transpose(1, 2)
    assert torch.allclose(feats[..., H : H + V], want, atol=1e-5)
    assert (feats[..., H + V :] >= -1e-6).all()  # entropies
    with pytest.raises(UserError, match="guided only"):
        config_from_dict({"family": "mle", "critic": "residual"})
