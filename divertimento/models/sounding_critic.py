"""Critics that read what sounds, not only the tokens written: the sequence critic's inputs plus, at every
step, the pitch each voice sounds and the interval class between every pair of voices.

A held note's token is HOLD, so a critic of tokens alone (``SequenceCritic``) knows which pitches sound together
only as far as its LSTM remembers the last onset of each voice, and the harmony of a moving voice against a held one
is what it sees least. Round 11's diagnosis of Bach found exactly that in the samples: the suite's two-sample
classifier tells them from real chorales first by the tonal distance between voices, then by too many pitch classes
per bar and too few notes in the key. This critic is given both as inputs, computed from the tokens: per voice an
embedding of its sounding pitch (the sequence model's table layout, voice v's token k at row v * K + k, REST for
silence), and per pair of voices an embedding of the interval between their sounding pitches modulo the octave
(13 classes: 0-11 semitones, or one of the two silent). Interval classes do not change when a window is transposed,
so consonance is visible to it in every key at once.
"""

import torch
from torch import nn

from ..music.roll import FIRST_PITCH_TOKEN
from .causal_critic import CausalCritic
from .sequence import sounding_tokens
from .sequence_critic import SequenceCritic
from .soft_sounding import soft_pair_intervals, soft_sounding

INTERVAL_CLASSES = 13  # 12 interval classes, and "one of the two voices is silent"
INTERVAL_EMBED = 16


def voice_pairs(n_voices: int) -> list[tuple[int, int]]:
    """Every pair (upper, lower) of voices, upper first: (0, 1), (0, 2), ... (V-2, V-1)."""
    return [(u, v) for u in range(n_voices) for v in range(u + 1, n_voices)]


def pair_intervals(sounding: torch.Tensor, upper: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """[B, P, T] the interval class (upper's pitch minus lower's, modulo 12) of each pair of voices at each step, from
    sounding tokens [B, V, T] (``sounding_tokens``); 12 where either voice is silent. A voice that has crossed below
    the other gives the complement (a third below reads as a sixth), as an interval above the lower voice would."""
    up, low = sounding[:, upper], sounding[:, lower]
    both = (up >= FIRST_PITCH_TOKEN) & (low >= FIRST_PITCH_TOKEN)
    return torch.where(both, (up - low) % 12, INTERVAL_CLASSES - 1)


def sounding_width(n_voices: int, embed: int) -> int:
    """How many features ``SoundingInputs`` appends to each step: a pitch embedding per voice, an interval embedding
    per pair of voices."""
    return n_voices * embed + len(voice_pairs(n_voices)) * INTERVAL_EMBED


class SoundingInputs:
    """What a critic that reads what sounds adds to a step reader (``StepReader``): the tables of sounding pitches
    and interval classes, and step inputs with them appended. Mixed in before the critic's class, so its
    ``step_inputs`` extends the reader's and its tables keep their names in every critic that has them."""

    def add_sounding_tables(self, n_voices: int, vocab_size: int, embed: int) -> None:
        pairs = voice_pairs(n_voices)
        self.register_buffer("upper", torch.tensor([u for u, _ in pairs], dtype=torch.long), persistent=False)
        self.register_buffer("lower", torch.tensor([v for _, v in pairs], dtype=torch.long), persistent=False)
        # pair p's interval class c is row p * 13 + c of the interval table
        self.register_buffer("pair_rows", torch.arange(len(pairs)).view(1, -1, 1) * INTERVAL_CLASSES, persistent=False)
        self.sound_embed = nn.Embedding(n_voices * vocab_size, embed)
        self.interval_embed = nn.Embedding(len(pairs) * INTERVAL_CLASSES, INTERVAL_EMBED)

    def step_inputs(self, windows: torch.Tensor,
                    style: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The reader's step inputs with the sounding pitches and interval classes appended. Int tokens are looked
        up; one-hots (exact or soft) are read as products (``soft_sounding``), equal to the lookups on exact
        one-hots, so that their gradient reaches the notes held and the intervals. Step t's features depend on
        steps 0..t alone, so a causal critic stays causal."""
        x, s = super().step_inputs(windows, style)
        if windows.dtype.is_floating_point:
            B, V, T, K = windows.shape
            sounding = soft_sounding(windows)  # [B, V, T, K]
            table = self.sound_embed.weight.view(V, K, -1)
            pitches = torch.einsum("bvtk,vke->btve", sounding, table).reshape(B, T, -1)  # [B, T, V*E]
            interval = soft_pair_intervals(sounding, self.upper, self.lower)  # [B, P, T, 13]
            table = self.interval_embed.weight.view(len(self.upper), INTERVAL_CLASSES, -1)
            intervals = torch.einsum("bptc,pce->btpe", interval, table).reshape(B, T, -1)  # [B, T, P*16]
        else:
            B, _, T = windows.shape
            sounding = sounding_tokens(windows.long())  # [B, V, T], REST where silent
            pitches = self.sound_embed(self.table_rows(sounding)).permute(0, 2, 1, 3).reshape(B, T, -1)
            interval = pair_intervals(sounding, self.upper, self.lower)  # [B, P, T]
            intervals = self.interval_embed(interval + self.pair_rows).permute(0, 2, 1, 3).reshape(B, T, -1)
        return torch.cat([x, self.drop(torch.cat([pitches, intervals], dim=2))], dim=2), s


class SoundingCritic(SoundingInputs, SequenceCritic):
    """The bidirectional sequence critic reading what sounds: one logit per window."""

    def __init__(self, n_voices: int, vocab_size: int, n_steps: int = 64, n_styles: int = 1, embed: int = 32,
                 hidden: int = 128, style_dim: int = 16, dropout: float = 0.2, conditional: bool = True):
        super().__init__(n_voices, vocab_size, n_steps, n_styles, embed, hidden, style_dim, dropout, conditional,
                         extra_width=sounding_width(n_voices, embed))
        self.add_sounding_tables(n_voices, vocab_size, embed)


class CausalSoundingCritic(SoundingInputs, CausalCritic):
    """The causal critic reading what sounds: a logit after every step, each judging the harmony so far (a guided
    sampler's twists, ``models/twisted.py``, and a fine-tune's dense rewards)."""

    def __init__(self, n_voices: int, vocab_size: int, n_steps: int = 64, n_styles: int = 1, embed: int = 32,
                 hidden: int = 192, style_dim: int = 16, dropout: float = 0.2, conditional: bool = True):
        super().__init__(n_voices, vocab_size, n_steps, n_styles, embed, hidden, style_dim, dropout, conditional,
                         extra_width=sounding_width(n_voices, embed))
        self.add_sounding_tables(n_voices, vocab_size, embed)
