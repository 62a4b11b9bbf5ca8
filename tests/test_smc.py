"""Sampling with given tokens by sequential Monte Carlo: resampling by hand, and on a model small enough to
enumerate, the particles' distribution against the exact conditional distribution."""

import itertools
import math

import numpy as np
import pytest
import torch

from divertimento.models.sequence import ARModel, crossing_mask
from divertimento.models.smc import FREE, effective_sample_size, pick, sample_given, systematic_resample
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
