"""The sounding critic's features: interval classes between voices worked by hand, and that the interval part of its
inputs sees intervals, not keys."""

import torch

from divertimento.models.sequence import sounding_tokens
from divertimento.models.sounding_critic import SoundingCritic, pair_intervals, voice_pairs
from divertimento.music.roll import HOLD, REST

K = 30


def test_voice_pairs_upper_first():
    assert voice_pairs(3) == [(0, 1), (0, 2), (1, 2)]


def test_pair_intervals_by_hand():
    # soprano: token 20, held; alto: 16, then a rest; bass: 8 then 13 (tokens are pitches offset by a constant,
    # which cancels in an interval)
    tokens = torch.tensor([[[20, HOLD, HOLD], [16, HOLD, REST], [8, 13, HOLD]]])
    pairs = voice_pairs(3)
    upper, lower = torch.tensor([u for u, _ in pairs]), torch.tensor([v for _, v in pairs])
    got = pair_intervals(sounding_tokens(tokens), upper, lower)
    want = torch.tensor([[[4, 4, 12],  # soprano - alto: 20 - 16 = 4 (a major third), then the alto is silent
                          [0, 7, 7],  # soprano - bass: 12 = an octave -> 0; then 20 - 13 = 7 (a fifth)
                          [8, 3, 12]]])  # alto - bass: 16 - 8 = 8; 16 - 13 = 3; alto silent
    assert torch.equal(got, want)


def test_the_interval_part_sees_intervals_not_keys():
    torch.manual_seed(0)
    critic = SoundingCritic(n_voices=3, vocab_size=K, n_steps=8, embed=4, hidden=8, dropout=0.0).eval()
    with torch.no_grad():  # only the interval classes reach the LSTM
        critic.in_embed.weight.zero_()
        critic.sound_embed.weight.zero_()
    window = torch.full((1, 3, 8), HOLD)
    window[0, :, 0] = torch.tensor([20, 16, 9])
    up_a_tone = window.clone()
    up_a_tone[0, :, 0] += 2  # the same chord a tone higher: the same intervals
    other_chord = window.clone()
    other_chord[0, 1, 0] = 15  # a minor third under the soprano instead of a major one
    with torch.no_grad():
        a, b, c = (critic(w) for w in (window, up_a_tone, other_chord))
    assert torch.allclose(a, b, atol=1e-6)
    assert (a - c).abs() > 1e-4
