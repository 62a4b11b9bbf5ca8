"""Guided sampling steered by a causal critic's prefixes (``models/twisted.py``): its two exact limits, a
critic whose judgement is known, the critics' prefix logits read in pieces, the option's refusals, and a trained
guided model drawing with it."""

import numpy as np
import pytest
import torch

from divertimento.cli import main
from divertimento.config import config_from_dict
from divertimento.models.causal_critic import CausalCritic
from divertimento.models.guided import GuidedSampler, resample_steps
from divertimento.models.sequence import ARModel
from divertimento.models.sequence_critic import SequenceCritic
from divertimento.models.sounding_critic import CausalSoundingCritic
from divertimento.models.twisted import gumbel_to_uniform
from divertimento.sample.draw import gumbel_noise
from divertimento.sample.sampler import load_sampler
from divertimento.train.loop import train

V, K, T, C = 3, 9, 8, 5
BASE = {"family": "mle", "steps": 4, "batch_size": 8, "hidden": 16, "layers": 1, "embed": 4, "style_dim": 4,
        "log_every": 2, "sample_count": 0, "threads": 1}
GUIDED = {"family": "guided", "steps": 4, "batch_size": 8, "candidates": 4, "log_every": 2, "sample_count": 0,
          "ckpt_every": 2, "threads": 1, "critic": "causal-sounding"}


def sampler_of(critic: torch.nn.Module, a: float = 3.0) -> GuidedSampler:
    torch.manual_seed(0)
    base = ARModel(n_voices=V, vocab_size=K, n_steps=T, n_styles=2, hidden=16, embed=4).eval()
    guided = GuidedSampler(base, critic.eval(), candidates=C, beta=1.0).eval()
    guided.calibration.copy_(torch.tensor([a, 0.5]))
    return guided


def noise_of(seed: int, rows: int = 6) -> torch.Tensor:
    return gumbel_noise((rows, C, V, T, K + 1), torch.Generator().manual_seed(seed))


STYLE = torch.tensor([0, 1, 0, 1, 0, 1])


def causal_sounding() -> CausalSoundingCritic:
    torch.manual_seed(1)
    return CausalSoundingCritic(n_voices=V, vocab_size=K, n_steps=T, n_styles=2, embed=4, hidden=8, dropout=0.0)


def test_judged_only_at_the_end_it_is_the_guided_pick_and_at_beta_0_the_proposal():
    g = sampler_of(causal_sounding(), a=60.0)  # a sharp critic: particles do get resampled along the way
    noise = noise_of(1)
    assert torch.equal(g.sample(STYLE, noise, resample_every=T), g.sample(STYLE, noise))
    assert torch.equal(g.sample(STYLE, noise, resample_every=100), g.sample(STYLE, noise))
    steered = g.sample(STYLE, noise, resample_every=2)
    assert not torch.equal(steered, g.sample(STYLE, noise))
    # beta 0: no weight moves, nothing is resampled; the kept candidate is the one the last column's noise picks
    plain = g.sample(STYLE, noise, beta=0.0, resample_every=1)
    keep = noise[:, :, 0, 0, -1].argmax(dim=1)
    cands = g.base.sample(STYLE.repeat_interleave(C), noise[..., :-1].reshape(6 * C, V, T, -1)).view(6, C, V, T)
    assert torch.equal(plain, cands[torch.arange(6), keep])


class FirstNoteCritic(CausalCritic):
    """A critic whose judgement is known: every prefix of a window whose soprano starts on token 5 scores +50,
    any other -50."""

    def continued_logits(self, windows, style, start, state):
        good = (windows[:, 0, 0] == 5).float() * 100 - 50
        return good.view(-1, 1).expand(-1, windows.shape[2] - start), state if state is not None else (
            torch.zeros(1, len(windows), 1),)


def test_a_prefix_the_critic_rejects_is_dropped_after_its_first_judgement():
    critic = FirstNoteCritic(n_voices=V, vocab_size=K, n_steps=T, n_styles=2, hidden=4)
    g = sampler_of(critic, a=1.0)
    noise = noise_of(2, rows=40)
    style = torch.arange(40) % 2
    # the first step of every candidate is drawn before any judgement: which rows have a candidate opening on 5
    cands = g.base.sample(style.repeat_interleave(C), noise[..., :-1].reshape(40 * C, V, T, -1)).view(40, C, V, T)
    opens = (cands[:, :, 0, 0] == 5).any(dim=1)
    assert 0 < int(opens.sum()) < 40  # the fixture has both kinds of rows
    got = g.sample(style, noise, resample_every=2)
    # after the judgement at step 2 only candidates opening on 5 carry weight: every such row keeps one (exp(-100)
    # against exp(0)), and a row without one is left as it was (all its weights equal: nothing to resample)
    assert bool((got[opens, 0, 0] == 5).all())
    assert torch.equal(got[~opens], g.sample(style, noise)[~opens])


@pytest.mark.parametrize("make", [causal_sounding, lambda: CausalCritic(n_voices=V, vocab_size=K, n_steps=T,
                                                                         n_styles=2, hidden=8, dropout=0.0)])
def test_prefix_logits_read_in_pieces_equal_read_at_once_and_ignore_what_follows(make):
    critic = make().eval()
    x = torch.randint(0, K, (4, V, T), generator=torch.Generator().manual_seed(3))
    whole = critic.prefix_logits(x, STYLE[:4])
    first, state = critic.continued_logits(x[:, :, :3], STYLE[:4], 0, None)
    rest, _ = critic.continued_logits(x, STYLE[:4], 3, state)
    assert torch.allclose(torch.cat([first, rest], dim=1), whole, atol=1e-6)
    later = x.clone()
    later[:, :, 5:] = (later[:, :, 5:] + 1) % K  # change only steps 5.. : prefixes up to step 4 judge the same
    assert torch.allclose(critic.prefix_logits(later, STYLE[:4])[:, :5], whole[:, :5], atol=1e-6)


def test_gumbel_to_uniform_inverts_the_draw():
    u = torch.tensor([0.1, 0.5, 0.9])
    assert torch.allclose(gumbel_to_uniform(-torch.log(-torch.log(u))), u, atol=1e-6)


def test_resample_every_refusals():
    assert resample_steps("4") == 4 and resample_steps(4.0) == 4 and resample_steps(0) == 0
    for bad in ("-1", "x", 2.5, True):
        with pytest.raises(ValueError, match="whole number of steps"):
            resample_steps(bad)
    with pytest.raises(ValueError, match="needs rerank=critic"):
        GuidedSampler.check_options({"resample_every": 4, "rerank": "likelihood"})
    window = sampler_of(SequenceCritic(n_voices=V, vocab_size=K, n_steps=T, n_styles=2, hidden=8))
    with pytest.raises(ValueError, match="judges prefixes"):
        window.sample(STYLE, noise_of(1), resample_every=4)


@pytest.fixture(scope="module")
def twisted_run(small_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("twisted")
    train(small_data, root / "base", config_from_dict(BASE), progress=False)
    train(small_data, root / "guided", config_from_dict(dict(GUIDED, base_model=str(root / "base"))), progress=False)
    return root / "guided"


def test_a_trained_causal_sounding_guide_steers_generate(twisted_run, tmp_path, capsys):
    sampler = load_sampler(twisted_run)
    assert isinstance(sampler.module.critic, CausalSoundingCritic)
    pairs = [(1, i) for i in range(3)]
    a, _ = sampler.generate_tokens(pairs, options={"resample_every": "4"})
    b, _ = sampler.generate_tokens(pairs[::-1], batch_size=2, options={"resample_every": "4"})
    assert np.array_equal(a, b[::-1])  # each piece from its own noise, whatever else is in the batch
    code = main(["generate", "--model", str(twisted_run), "--n", "1", "--out", str(tmp_path / "o"),
                 "--option", "resample_every=-2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "whole number of steps" in err[0], err


def test_the_studio_steers_every_window_and_keeps_given_notes(twisted_run):
    from divertimento.models.smc import FREE, sample_given
    from divertimento.studio import compose as Cm
    from divertimento.studio.engine import Engine

    steered = Engine(load_sampler(twisted_run), overrides={"resample_every": 4})
    assert steered.resample_every == 4
    piece = Cm.compose(steered, (2, 1), style="bach", bars=6)
    ref, _ = steered.sampler.generate_tokens([(2, 1)], style="bach", options={"resample_every": 4})
    assert np.array_equal(piece.tokens[:, : piece.bar], ref[0][:, : piece.bar])  # generate's opening
    plain = Cm.compose(Engine(load_sampler(twisted_run)), (2, 1), style="bach", bars=6)
    assert not np.array_equal(piece.tokens, plain.tokens)
    melody = piece.tokens[0].astype(np.int64)
    assert np.array_equal(Cm.harmonise(steered, melody, "bach", (0, 0)).tokens[0], melody)
    # a twist of beta 0 moves no weight: the particles are those drawn without one
    m = steered.sampler.module
    g = torch.Generator().manual_seed(0)
    noise, uniforms = gumbel_noise((2, 4, m.n_voices, 16, m.vocab_size), g), torch.rand(2, 16, generator=g)
    given = torch.full((2, m.n_voices, 16), FREE)
    given[:, 0, ::3] = 3 + torch.arange(6) % 4  # a few soprano notes given
    style = torch.tensor([0, 1])
    without = sample_given(m.base, style, noise, given, uniforms)
    with_zero = sample_given(m.base, style, noise, given, uniforms, twist=m.twist(4, 0.0))
    assert torch.equal(without[0], with_zero[0]) and torch.allclose(without[1], with_zero[1])
    steered_parts, _ = sample_given(m.base, style, noise, given, uniforms, twist=m.twist(1, 50.0))
    assert not torch.equal(steered_parts, without[0])
    assert bool((steered_parts[:, :, 0, ::3] == given[:, None, 0, ::3]).all())  # given notes kept, steered or not


def test_the_critic_learns_the_proposal_at_the_base_files_pitch_temperature(small_data, tmp_path):
    from divertimento.models.files import read_file
    from divertimento.train.distributed import DistInfo
    from divertimento.train.recipe_guided import GuidedRecipe

    base = tmp_path / "base"
    train(small_data, base, config_from_dict(BASE), progress=False)
    style_names = load_sampler(base).style_names
    sharp = tmp_path / "sharp.safetensors"
    assert main(["export", str(base), str(sharp), "--option", f"pitch_temperature={style_names[0]}:0.5"]) == 0
    cfg = config_from_dict(dict(GUIDED, base_model=str(sharp)))
    header, _ = read_file(sharp)
    recipe = GuidedRecipe(cfg, header["data"], torch.Generator().manual_seed(0), DistInfo())
    want = tuple([0.5] + [1.0] * (len(style_names) - 1))
    assert recipe.pitch_temperature == want
    assert recipe.extra_header["sampling"]["pitch_temperature"] == {style_names[0]: 0.5}
    style = torch.tensor([0, 1, 0, 1])
    noise_rng, again = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    drawn = recipe.proposal(style, noise_rng)
    m = recipe.model.base
    noise = gumbel_noise((4, *m.noise_shape), again)
    assert torch.equal(drawn, m.sample(style, noise, pitch_temperature=want))
    assert not torch.equal(drawn, m.sample(style, noise))  # not the proposal at pitch temperature 1
