"""The straight-through Gumbel-softmax estimator of the adversarial fine-tune: its one-hots, gradient, KL anchor and
temperature schedule by hand; the relaxed sample peaks on the tokens the model drew; what the config refuses."""

import math

import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.losses.straight_through import (
    annealed_tau,
    charge_score_term,
    position_kl,
    straight_through_one_hot,
    straight_through_terms,
)
from divertimento.models.sequence import ARModel
from divertimento.sample.draw import gumbel_noise


def test_the_one_hot_is_the_drawn_token_and_its_gradient_the_relaxed_samples():
    # logits 0, noise [0, ln 2, 0]: token 1 drawn; at tau = 1 the relaxed sample s = softmax([0, ln 2, 0]) =
    # [1/4, 1/2, 1/4]. A critic reading y_0 alone (upstream gradient c = [1, 0, 0]) gives
    # d/dl = (diag(s) - s s^T) c = s * c - s (s . c) = [1/4 - 1/16, -1/8, -1/16]
    logits = torch.zeros(3, requires_grad=True)
    noise = torch.tensor([0.0, math.log(2.0), 0.0])
    y = straight_through_one_hot(torch.tensor(1), logits, noise, tau=1.0)
    assert y.tolist() == [0.0, 1.0, 0.0]
    y[0].backward()
    assert logits.grad.tolist() == pytest.approx([3 / 16, -1 / 8, -1 / 16])
    # tau = 2: s = softmax([0, ln 2 / 2, 0]) = [1, sqrt 2, 1] / (2 + sqrt 2) = [1 - sqrt 2 / 2, sqrt 2 - 1, ...],
    # and the gradient is halved: (1 / 2) [s0 (1 - s0), -s1 s0, -s0^2]
    logits.grad = None
    straight_through_one_hot(torch.tensor(1), logits, noise, tau=2.0)[0].backward()
    s0, s1 = 1 - math.sqrt(2) / 2, math.sqrt(2) - 1
    assert logits.grad.tolist() == pytest.approx([s0 * (1 - s0) / 2, -s1 * s0 / 2, -s0 * s0 / 2])


def test_the_kl_to_the_start_summed_over_a_windows_positions_by_hand():
    # window 0: p = [1/2, 1/2] against ref [1/4, 3/4] is 1/2 ln 2 + 1/2 ln (2/3) = 1/2 ln (4/3), then a position
    # where both agree (0); window 1: p = [1/4, 3/4] against [1/2, 1/2] is 1/4 ln (1/2) + 3/4 ln (3/2)
    ln3 = math.log(3.0)
    logits = torch.tensor([[[[0.0, 0.0], [1.0, 2.0]]], [[[0.0, ln3], [0.0, 0.0]]]])  # [B=2, V=1, T=2, K=2]
    ref = torch.tensor([[[[0.0, ln3], [1.0, 2.0]]], [[[0.0, 0.0], [5.0, 5.0]]]])
    want = [0.5 * math.log(4 / 3), 0.25 * math.log(0.5) + 0.75 * math.log(1.5)]
    assert position_kl(logits, ref).tolist() == pytest.approx(want, abs=1e-6)


def test_the_loss_raises_the_critics_logit_less_the_drift():
    # logits [2, 0] (mean 1), drifts [0.2, 0.4] (mean 0.3) at kl 0.5: -1 + 0.15
    logit = torch.tensor([2.0, 0.0], requires_grad=True)
    loss, terms = straight_through_terms(logit, torch.tensor([0.2, 0.4]), kl=0.5)
    assert loss.item() == pytest.approx(-0.85) and terms["ADV/kl_to_start"] == pytest.approx(0.3)
    loss.backward()
    assert logit.grad.tolist() == [-0.5, -0.5]


def test_a_charge_on_the_drawn_tokens_reaches_the_model_by_the_score_function():
    # charges [2, 0, 1] (mean 1): advantages [1, -1, 0]; loss = (1 * -3 + -1 * -1 + 0 * -2) / 3 = -2 / 3, and its
    # gradient lowers the charged window's log-probability and raises the uncharged one's, each by 1 / 3
    logp = torch.tensor([-3.0, -1.0, -2.0], requires_grad=True)
    loss = charge_score_term(logp, torch.tensor([2.0, 0.0, 1.0]))
    assert loss.item() == pytest.approx(-2 / 3)
    loss.backward()
    assert logp.grad.tolist() == pytest.approx([1 / 3, -1 / 3, 0.0])


def test_the_temperature_anneals_geometrically_from_first_to_last_step():
    # Transformer-GAN's 1 / 100^(i / N) over three steps: 1, 0.1, 0.01; tau_final 0 keeps tau throughout
    assert [annealed_tau(1.0, 0.01, i, 3) for i in range(3)] == pytest.approx([1.0, 0.1, 0.01])
    assert [annealed_tau(2.0, 0.0, i, 3) for i in range(3)] == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("pitch_temperature", [1.0, (0.6, 1.4)])
def test_the_relaxed_sample_peaks_on_the_tokens_the_model_drew(pitch_temperature):
    # the teacher-forced logits of the sampler plus the noise that drew a window have their argmax at every drawn
    # token: the straight-through one-hots stand for the window the critic judged
    torch.manual_seed(0)
    model = ARModel(n_voices=3, vocab_size=9, n_steps=8, n_styles=2, hidden=16, layers=2, embed=4,
                    style_dim=4, sounding_context=True).eval()
    with torch.no_grad():
        model.sound_now.weight.normal_()
        model.sound_before.weight.normal_()
    style = torch.tensor([0, 1, 1, 0, 1])
    noise = gumbel_noise((5, *model.noise_shape), torch.Generator().manual_seed(1))
    tokens = model.sample(style, noise, pitch_temperature=pitch_temperature)
    logits = model.sampling_logits(tokens, style, pitch_temperature)
    assert torch.equal((logits + noise).argmax(dim=-1), tokens)
    y = straight_through_one_hot(tokens, logits, noise, tau=1.0)
    assert torch.equal(y.argmax(dim=-1), tokens) and torch.equal(y.sum(dim=-1), torch.ones_like(tokens).float())


def test_what_the_straight_through_fine_tune_refuses():
    tune = {"family": "mle", "adv_weight": 1.0, "adv_estimator": "straight-through", "critic": "sequence"}
    config_from_dict(tune)
    with pytest.raises(UserError, match="one of reinforce, straight-through, straight-through-time"):
        config_from_dict(dict(tune, adv_estimator="gumbel"))
    with pytest.raises(UserError, match="adv_tau"):
        config_from_dict(dict(tune, adv_tau=0.0))
    config_from_dict(dict(tune, silence_charge=0.5))  # a charge on the drawn tokens, by the score function
    for wrong, said in (({"critic": "causal"}, "a causal critic"),
                        ({"window_critic_init": "guided"}, "window_critic_init"), ({"adv_weight": 0.0}, "adv_weight")):
        with pytest.raises(UserError, match=f"straight-through.*{said}"):
            config_from_dict(dict(tune, **wrong))
        with pytest.raises(UserError, match=f"straight-through-time.*{said}"):
            config_from_dict(dict(tune, adv_estimator="straight-through-time", **wrong))
