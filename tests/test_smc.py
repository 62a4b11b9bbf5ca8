"""Sampling with given tokens by sequential Monte Carlo: resampling by hand, and on a model small enough to
enumerate, the particles' distribution against the exact conditional distribution."""

import itertools
import math

import numpy as np
import pytest
import torch

from divertimento.models.sequence import ARModel
from divertimento.models.smc import FREE, effective_sample_size, pick, sample_given, systematic_resample
from divertimento.models.voice_leading import crossing_mask
from divertimento.sample.draw import gumbel_noise


def test_systematic_resampling_and_ess_by_hand():
    logw = torch.log(torch.tensor([[0.5, 0.25, 0.25, 1e-12]]))
    # positions (0.5 + k) / 4 = .125 .375 .625 .875 against the cumulative weights .5 .75 1 1
    assert systematic_resample(logw, torch.tensor([0.5])).tolist() == [[0, 0, 1, 2]]
    # u = 0: positions 0 .25 .5 .75 -> 0 0 0 1 (searchsorted takes the first cumulative weight >= the position)
    assert systematic_resample(logw, torch.tensor([0.0])).tolist() == [[0, 0, 0, 1]]
    # ESS = 1 / sum w^2 = 1 / (.25 + .0625 + .0625) = 8 / 3
    assert float(effective_sample_size(logw)[0]) == pytest.approx(8 / 3, rel=1e-6)
    assert float(effective_sample_size(torch.zeros(1, 5))[0]) == pytest.approx(5.0)


def _peaked_model() -> ARModel:
    torch.manual_seed(3)
    m = ARModel(n_voices=2, vocab_size=4, n_steps=3, n_styles=1, hidden=16, layers=1, embed=4)
    with torch.no_grad():  # large weights: peaked, strongly context-dependent distributions
        for p in m.parameters():
            p.mul_(3.0)
    return m.eval()


def _exact_conditional(m: ARModel, given0: list[int]) -> dict[tuple, float]:
    """p(voice 1 = x | voice 0 = given0) by enumerating all 4^3 lower lines and normalising the joint."""
    lines = list(itertools.product(range(4), repeat=3))
    tokens = torch.tensor([[given0, list(x)] for x in lines])
    with torch.no_grad():
        logp = m.log_probs(tokens).sum(dim=(1, 2))
    p = torch.softmax(logp, dim=0).numpy()
    return {x: float(q) for x, q in zip(lines, p)}


def _empirical(m: ARModel, given0: list[int], particles: int, rows: int, seed: int) -> dict[tuple, float]:
    g = torch.Generator().manual_seed(seed)
    given = torch.full((rows, 2, 3), FREE, dtype=torch.long)
    given[:, 0] = torch.tensor(given0)
    noise = gumbel_noise((rows, particles, 2, 3, 4), g)
    parts, logw = sample_given(m, None, noise, given, torch.rand(rows, 3, generator=g))
    kept = parts[torch.arange(rows), pick(logw, gumbel_noise((rows, particles), g))]
    assert (kept[:, 0] == torch.tensor(given0)).all()  # the given line, exactly
    counts: dict[tuple, float] = {}
    for x in kept[:, 1].tolist():
        counts[tuple(x)] = counts.get(tuple(x), 0) + 1 / rows
    return counts


def _tv(p: dict, q: dict) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def test_particles_follow_the_exact_conditional_where_forcing_does_not():
    m = _peaked_model()
    given0 = [3, 0, 2]
    exact = _exact_conditional(m, given0)
    smc = _empirical(m, given0, particles=32, rows=3000, seed=1)
    forced = _empirical(m, given0, particles=1, rows=3000, seed=1)
    # the plain forced draw picks each lower note knowing only the given notes so far, and is far off (0.31); the
    # particles reach the exact conditional up to sampling noise (0.02 here; seeds fixed, so this is deterministic)
    assert _tv(smc, exact) < 0.05
    assert _tv(forced, exact) > 0.2


def test_nothing_given_beyond_a_prefix_is_a_plain_draw():
    m = _peaked_model()
    g = torch.Generator().manual_seed(0)
    noise = gumbel_noise((5, 1, 2, 3, 4), g)
    parts, logw = sample_given(m, None, noise, torch.full((5, 2, 3), FREE), torch.rand(5, 3))
    assert torch.equal(parts[:, 0], m.sample(None, noise[:, 0]))
    assert torch.equal(logw, torch.zeros(5, 1))
    with pytest.raises(ValueError):
        sample_given(m, None, gumbel_noise((1, 65, 2, 3, 4), g), torch.full((1, 2, 3), FREE), torch.rand(1, 3))
    assert math.isfinite(float(logw.sum())) and np.isfinite(parts.numpy()).all()


def test_crossing_mask_by_hand():
    # tokens: 0 REST, 1 HOLD, 2.. pitches; vocab 6 = pitch tokens 2 3 4 5
    above = torch.tensor([4, -1, 3])  # the voice above sounds token 4; is silent; sounds token 3
    held = torch.tensor([5, 5, 2])  # the note this voice would hold
    m = crossing_mask(above, held, 6)
    assert m.tolist() == [[False, True, False, False, False, True],  # 5 > 4 crosses, and holding 5 does
                          [False, False, False, False, False, False],  # nothing above: nothing crosses
                          [False, False, False, False, True, True]]  # 4, 5 > 3; holding 2 is below


def test_the_opening_given_to_every_row_is_read_in_one_call_as_step_would_leave_it():
    # a 3-voice model with 2 LSTM layers and metered, styled conditions: forcing 6 steps one by one (step) and
    # reading them at once (prefill) leave the same decoding state, so a window drawn after a context is the same
    torch.manual_seed(5)
    m = ARModel(n_voices=3, vocab_size=7, n_steps=10, n_styles=2, bar_steps=(4, 3), hidden=16, layers=2,
                embed=4).eval()
    style = torch.tensor([0, 3])
    tokens = torch.tensor([[[4, 1, 0, 5, 1, 1], [3, 1, 1, 0, 2, 1], [0, 0, 6, 1, 1, 4]],
                           [[2, 3, 4, 5, 6, 2], [0, 0, 0, 0, 0, 0], [6, 1, 1, 1, 1, 1]]])
    a, b = m.begin(2, 10), m.begin(2, 10)
    for t in range(6):
        m.step(a, t, style, torch.zeros(2, 3, 7), 1.0, given=tokens[:, :, t])
    m.prefill(b, tokens, style)
    assert torch.equal(a.out, b.out) and torch.equal(a.sounding, b.sounding) and torch.equal(a.before, b.before)
    for x, y in zip(a.state, b.state):
        assert torch.allclose(x, y, atol=1e-6)
    assert torch.allclose(a.prev, b.prev)
    # and by hand, row 1: voice 0 holds the 5 struck at step 3, voice 1 the 2 struck at step 4, voice 2 strikes 4 at
    # step 5, the last slice with an onset
    assert b.sounding.tolist()[0] == [5, 2, 4] and b.before.tolist()[0] == [5, 2, 4]
    # row 2: voice 1 rests throughout (-1); voice 2 holds 6 from step 0; voice 0 strikes 2 at step 5
    assert b.sounding.tolist()[1] == [2, -1, 6]


def test_a_bias_per_row_binds_only_its_row():
    m = _peaked_model()
    g = torch.Generator().manual_seed(2)
    bias = torch.zeros(2, 2, 3, 4)
    bias[0, :, :, 3] = -torch.inf  # row 0 may never take token 3, row 1 never token 2
    bias[1, :, :, 2] = -torch.inf
    noise = gumbel_noise((2, 8, 2, 3, 4), g)
    given = torch.full((2, 2, 3), FREE)
    given[:, 0, 0] = 0
    parts, _ = sample_given(m, None, noise, given, torch.rand(2, 3, generator=g), bias=bias)
    assert not (parts[0] == 3).any() and not (parts[1] == 2).any()
    # a shared bias [V, L, K] still binds every row
    parts, _ = sample_given(m, None, noise, given, torch.rand(2, 3, generator=g), bias=bias[0])
    assert not (parts == 3).any()
