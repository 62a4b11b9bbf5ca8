"""The relaxed rollout of the straight-through-time fine-tune: in value it is the sampler's teacher-forced logits and
the drawn window's one-hots; in gradient it is plain straight-through's where no token feeds a later position, and
it reaches a token's logits from the positions after it where tokens do."""

import pytest
import torch

from divertimento.losses.relaxed_rollout import relaxed_rollout
from divertimento.losses.straight_through import straight_through_one_hot
from divertimento.models.sequence import ARModel
from divertimento.sample.draw import gumbel_noise


def small_model(sounding_context: bool = False) -> ARModel:
    torch.manual_seed(0)
    model = ARModel(n_voices=3, vocab_size=9, n_steps=6, n_styles=2, hidden=16, layers=2, embed=4, style_dim=4,
                    sounding_context=sounding_context).eval().double()
    if sounding_context:
        with torch.no_grad():
            model.sound_now.weight.normal_()
            model.sound_before.weight.normal_()
    return model


STYLE = torch.tensor([0, 1, 1, 0])


def drawn(model: ARModel, pitch_temperature=1.0) -> tuple[torch.Tensor, torch.Tensor]:
    noise = gumbel_noise((len(STYLE), *model.noise_shape), torch.Generator().manual_seed(1)).double()
    return model.sample(STYLE, noise, pitch_temperature=pitch_temperature), noise


@pytest.mark.parametrize("sounding_context", [False, True])
@pytest.mark.parametrize("pitch_temperature", [1.0, (0.6, 1.4)])
def test_in_value_it_is_the_samplers_logits_and_the_drawn_window(sounding_context, pitch_temperature):
    model = small_model(sounding_context)
    tokens, noise = drawn(model, pitch_temperature)
    logits, y = relaxed_rollout(model, tokens, noise, STYLE, pitch_temperature, tau=0.5)
    # the teacher-forced pass is another computation of the same logits: one fused LSTM call, a cumulative sum
    # over the voices
    assert torch.allclose(logits, model.sampling_logits(tokens, STYLE, pitch_temperature), atol=1e-12)
    assert torch.equal(y, torch.nn.functional.one_hot(tokens, 9).double())


def parameter_gradients(model: ARModel, y: torch.Tensor, upstream: torch.Tensor) -> dict:
    model.zero_grad()
    (y * upstream).sum().backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def test_without_a_path_through_the_tokens_its_gradient_is_plain_straight_throughs():
    # with both token tables at zero no token changes what a later position reads, so feeding the one-hots back adds
    # nothing: the gradient of any critic of the one-hots is plain straight-through's on the teacher-forced logits
    model = small_model()
    with torch.no_grad():
        model.in_embed.weight.zero_()
        model.voice_embed.weight.zero_()
    tokens, noise = drawn(model)
    upstream = torch.randn(len(STYLE), 3, 6, 9, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    plain = parameter_gradients(model, straight_through_one_hot(tokens, model.sampling_logits(tokens, STYLE), noise,
                                                                1.0), upstream)
    rolled = parameter_gradients(model, relaxed_rollout(model, tokens, noise, STYLE, 1.0, 1.0)[1], upstream)
    assert plain.keys() == rolled.keys()
    for name in plain:
        assert torch.allclose(plain[name], rolled[name], atol=1e-12), name


def test_a_critic_of_the_last_step_reaches_the_first_steps_logits_through_time():
    # a critic that reads only the last step's one-hots: plain straight-through gives the earlier positions' logits
    # no gradient; fed back, the first step's logits get one (through the LSTM's input and the voices below). The
    # one-hots read logits + noise, so the noise's gradient is the logits'
    model = small_model()
    tokens, noise = drawn(model)
    upstream = torch.zeros(len(STYLE), 3, 6, 9, dtype=torch.float64)
    upstream[:, :, -1] = torch.randn(len(STYLE), 3, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    rolled_noise, plain_noise = noise.clone().requires_grad_(True), noise.clone().requires_grad_(True)
    (relaxed_rollout(model, tokens, rolled_noise, STYLE, 1.0, 1.0)[1] * upstream).sum().backward()
    logits = model.sampling_logits(tokens, STYLE).detach()
    (straight_through_one_hot(tokens, logits, plain_noise, 1.0) * upstream).sum().backward()
    assert rolled_noise.grad[:, :, 0].abs().min(dim=-1).values.gt(0).all()  # every row, voice and token
    assert plain_noise.grad[:, :, :-1].abs().sum() == 0
    # at the last step the bass feeds nothing: its gradient is plain straight-through's
    assert torch.allclose(rolled_noise.grad[:, -1, -1], plain_noise.grad[:, -1, -1], atol=1e-12)
    assert not torch.allclose(rolled_noise.grad[:, 0, -1], plain_noise.grad[:, 0, -1])
