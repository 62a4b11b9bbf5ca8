"""Nucleus (top-p) sampling of the sequence model: the nucleus on a hand-worked distribution, a vanishing top_p
draws what greedy decoding draws, a draw never leaves the nucleus, and a top_p out of range is one clear error."""

import math

import numpy as np
import pytest
import torch

from divertimento.errors import UserError
from divertimento.models.sequence import outside_nucleus
from divertimento.sample.draw import gumbel_noise
from divertimento.sample.sampler import load_sampler

from .test_models_sequence import _model  # three voices, seven tokens, sixteen steps


def _logits(probs: list[float]) -> torch.Tensor:
    return torch.tensor([[math.log(p) for p in probs]])


def test_the_nucleus_of_a_hand_worked_distribution():
    # probabilities 0.15, 0.5, 0.05, 0.3 (shuffled on purpose); sorted 0.5, 0.3, 0.15, 0.05, running sums before
    # each: 0, 0.5, 0.8, 0.95
    logits = _logits([0.15, 0.5, 0.05, 0.3])
    assert outside_nucleus(logits, 0.7).tolist() == [[True, False, True, False]]  # 0.5 + 0.3 >= 0.7
    assert outside_nucleus(logits, 0.5).tolist() == [[True, False, True, True]]  # 0.5 alone reaches 0.5
    assert outside_nucleus(logits, 0.81).tolist() == [[False, False, True, False]]  # needs the 0.15 too
    assert outside_nucleus(logits, 0.01).tolist() == [[True, False, True, True]]  # the likeliest always stays
    masked = _logits([0.15, 0.5, 0.05, 0.3]).masked_fill(torch.tensor([[False, True, False, False]]), -torch.inf)
    # with the 0.5 token forbidden the rest renormalise to 0.3, 0.1, 0.6: 0.6 + 0.3 reaches 0.85
    assert outside_nucleus(masked, 0.85).tolist() == [[False, True, True, False]]


def test_a_vanishing_nucleus_is_greedy_decoding():
    m = _model()
    style = torch.tensor([0, 1, 1, 0])
    noise = gumbel_noise((4, 3, 16, 7), torch.Generator().manual_seed(1))
    greedy = m.sample(style, torch.zeros(4, 3, 16, 7))
    assert torch.equal(m.sample(style, noise, top_p=1e-6), greedy)
    assert not torch.equal(m.sample(style, noise), greedy)  # the noise does draw something else without it


def test_every_draw_lies_in_its_nucleus():
    m = _model()
    style = torch.tensor([0, 1] * 32)
    noise = gumbel_noise((64, 3, 16, 7), torch.Generator().manual_seed(2))
    x = m.sample(style, noise, top_p=0.6)
    # the teacher-forced logits on the sample are the logits it was drawn from, position by position
    outside = outside_nucleus(m(x, style).reshape(-1, 7), 0.6)
    assert not outside.gather(1, x.reshape(-1, 1)).any()
    assert not torch.equal(x, m.sample(style, noise))  # the nucleus changed some draws


def test_top_p_out_of_range_is_one_clear_error(tiny_mle_run):
    sampler = load_sampler(tiny_mle_run)
    with pytest.raises(UserError, match=r"top_p must lie in \(0, 1\]"):
        sampler.generate_tokens([(0, 0)], options={"top_p": 1.5})
    a, _ = sampler.generate_tokens([(0, i) for i in range(4)], options={"top_p": 1.0})
    b, _ = sampler.generate_tokens([(0, i) for i in range(4)])
    assert np.array_equal(a, b)  # top_p = 1 is the whole distribution


def test_the_studio_draws_every_window_of_a_piece_from_the_nucleus(tiny_mle_run):
    from divertimento.studio.engine import Engine, rng_for

    # a vanishing nucleus leaves the most probable token alone: the noise no longer matters, so two seeds grow the
    # same 3 windows from nothing (if a later window ignored top_p the seeds would part there)
    greedy = Engine(load_sampler(tiny_mle_run), overrides={"top_p": 1e-6})
    T = greedy.n_steps
    a = greedy.extend(None, 3 * T, 0, rng_for(1, 0))
    b = greedy.extend(None, 3 * T, 0, rng_for(2, 0))
    assert a.shape[1] == 3 * T and np.array_equal(a, b)
    free = Engine(load_sampler(tiny_mle_run))
    assert not np.array_equal(free.extend(None, 3 * T, 0, rng_for(1, 0)), free.extend(None, 3 * T, 0, rng_for(2, 0)))
    with pytest.raises(UserError, match="top_p must lie"):
        Engine(load_sampler(tiny_mle_run), overrides={"top_p": 0.0})
