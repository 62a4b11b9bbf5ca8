"""What sounds, read from one-hots with a gradient: equal to the looked-up features on exact one-hots, their
expectation on soft ones (worked by hand), and a gradient that reaches a held note."""

import torch
import torch.nn.functional as F

from divertimento.models.sequence import sounding_tokens
from divertimento.models.soft_sounding import soft_pair_intervals, soft_sounding
from divertimento.models.sounding_critic import CausalSoundingCritic, SoundingCritic, pair_intervals, voice_pairs
from divertimento.music.roll import HOLD, REST

K = 30
PAIRS = voice_pairs(3)
UPPER, LOWER = torch.tensor([u for u, _ in PAIRS]), torch.tensor([v for _, v in PAIRS])
# soprano: token 20, held; alto: 16, then a rest, then a HOLD after the rest; bass: a HOLD with nothing before, 8, 13
TOKENS = torch.tensor([[[20, HOLD, HOLD, HOLD], [16, HOLD, REST, HOLD], [HOLD, 8, 13, HOLD]]])


def test_on_exact_one_hots_they_are_the_looked_up_features():
    y = F.one_hot(TOKENS, K).float()
    sounding = soft_sounding(y)
    assert torch.equal(sounding, F.one_hot(sounding_tokens(TOKENS), K).float())
    assert torch.equal(sounding[0, :, :, HOLD], torch.zeros(3, 4))  # nothing sounds as HOLD
    want = F.one_hot(pair_intervals(sounding_tokens(TOKENS), UPPER, LOWER), 13).float()
    assert torch.equal(soft_pair_intervals(sounding, UPPER, LOWER), want)


def test_soft_one_hots_by_hand():
    # upper voice: half token 20, half token 16, then HOLD with 0.75 and REST with 0.25; lower voice: token 8, held.
    y = torch.zeros(1, 2, 2, K)
    y[0, 0, 0, 20], y[0, 0, 0, 16] = 0.5, 0.5
    y[0, 0, 1, HOLD], y[0, 0, 1, REST] = 0.75, 0.25
    y[0, 1, 0, 8], y[0, 1, 1, HOLD] = 1.0, 1.0
    s = soft_sounding(y)
    # step 1 of the upper voice: 0.25 REST + 0.75 * (0.5 on 20, 0.5 on 16)
    assert torch.allclose(s[0, 0, 1, [REST, 16, 20]], torch.tensor([0.25, 0.375, 0.375]))
    assert torch.allclose(s[0, 0, 1].sum(), torch.tensor(1.0))
    intervals = soft_pair_intervals(s, torch.tensor([0]), torch.tensor([1]))  # [1, 1, 2, 13]
    # 20 - 8 = 12 -> class 0; 16 - 8 = 8 -> class 8; at step 1 a quarter of the mass is the upper voice's rest
    want = torch.zeros(2, 13)
    want[0, 0], want[0, 8] = 0.5, 0.5
    want[1, 0], want[1, 8], want[1, 12] = 0.375, 0.375, 0.25
    assert torch.allclose(intervals[0, 0], want)


def test_a_critic_judges_one_hots_as_it_judges_tokens():
    torch.manual_seed(0)
    tokens = torch.randint(0, K, (5, 3, 16))
    for kind in (SoundingCritic, CausalSoundingCritic):
        critic = kind(n_voices=3, vocab_size=K, n_steps=16, embed=4, hidden=8, dropout=0.0).eval()
        with torch.no_grad():
            assert torch.allclose(critic(tokens), critic(F.one_hot(tokens, K).float()), atol=1e-5)


def test_the_gradient_reaches_a_held_note():
    # the soprano's note at step 0 is held to step 3: d s_3 / d y_0 is the identity on what it could start (the
    # HOLDs carry all of it), and a critic reading only what sounds passes a gradient back to that note
    y = F.one_hot(TOKENS, K).float().requires_grad_(True)
    s = soft_sounding(y)
    (grad,) = torch.autograd.grad(s[0, 0, 3, 20], y)
    assert grad[0, 0, 0, 20] == 1.0 and grad[0, 0, 0, 16] == 0.0
    torch.manual_seed(1)
    critic = SoundingCritic(n_voices=3, vocab_size=K, n_steps=4, embed=4, hidden=8, dropout=0.0).eval()
    with torch.no_grad():  # the tokens as written carry nothing: only what sounds reaches the LSTM
        critic.in_embed.weight.zero_()
    (grad,) = torch.autograd.grad(critic(y).sum(), y)
    assert grad[0, 0, 0].abs().sum() > 0
