"""Phrases that close: where a style's phrases end and what they end on, given to the engine as tokens ahead (as the
last bar's tonic is), so that the Monte Carlo draws music that leads to each cadence and the piece keeps its key.

A chorale is phrase by fermata: Bach's four-part chorales put a fermata 8 quarters (two bars of 4/4) after the last
in 48 % of their phrases (10 or 6 quarters in 17 % and 13 %), on beat 3 in 61 %, a chord of one quarter (52 %) or
two (31 %). Under it the bass sounds the dominant or the tonic in two phrase ends of three, and the sixth degree
(the relative key's tonic), the subdominant or the supertonic in the rest (``experiments/phrase_ends.py`` on
music21's corpus, 365 chorales in 4/4 and 3/4: ``runs/phrase_ends.json``; the shares below). Each inner phrase
end of a generated chorale draws its bass degree by those shares, in the key the piece opened in, and the chord is
marked with a fermata in the score.

Reels and jigs get no given strain cadence: the model already ends their strains on the tonic at least as often as
O'Neill's tunes do (the last bar of an 8-bar strain opens on the tonic in 27 % of O'Neill's strains and in 33 % of
the shipped model's A strains; the tonic sounds in it in 75 % and 88 %), so giving one would only make them
squarer.

Nor do their strains stop on a held note: no fiddle or Irish tune of the training split holds its last note for a
bar (the last note lasts 0.13-0.27 of a bar; the last written bar of a reel has 7-8 notes): the strain runs on into
its repeat. A tune's last bar is given as the tonic struck on its downbeat (``RUNNING_ENDS``), the model drawing the
rest of the bar, so that a strain played twice ends its first time round running on; the piece's own last bar, its
second ending, holds the tonic (``PhrasePlan.ending``, written over it once the piece is drawn).
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from ..models.smc import FREE
from ..music.key import Key
from ..music.layouts import Layout
from ..music.roll import FIRST_PITCH_TOKEN, HOLD
from ..sample.draw import draw_index
from .ending import final_cadence, key_of_tokens, near, sounding_voices

PHRASE_USE = 9  # the rng path (rng_for(seed, index, PHRASE_USE)) of a piece's cadence draws
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 9, 10, 11)
# The third above the root of the key's triad on each cadence degree (semitones above the tonic): major keys, and
# minor keys with the dominant major (the raised seventh)
TRIAD_THIRD = {False: {0: 4, 2: 3, 4: 3, 5: 4, 7: 4, 9: 3}, True: {0: 3, 3: 4, 5: 3, 7: 4, 8: 4, 10: 4}}
# Styles whose fermata chords are drawn with a pull towards the triad on their given bass (``PhrasePlan.bias``), in
# nats per token: of 0 to 4, the strength whose chorales' fermata chords on the validation split were root-position
# triads nearest as often as Bach's (59 %; docs/pieces.md "Phrases and cadences")
CHORD_PULL: dict[str, float] = {"bach": 0.5}
# Styles whose long pieces are drawn with a pull towards their key (``key_pull``), and its strength in nats per
# token: for each, the strength (of 0 to 2 for bach, 0 to 4 for palestrina) whose long pieces' in-scale rate came
# nearest that of the validation split's 4-bar windows (experiments/long_pieces.py --split val; docs/pieces.md
# "Key"). Folk tunes keep their keys unaided.
KEY_PULL: dict[str, float] = {"bach": 1.0, "palestrina": 2.0}
# styles whose strains run on into their repeat: the last bar is given its downbeat's tonic only (see above)
RUNNING_ENDS = frozenset({"irish", "fiddle"})


@dataclass(frozen=True)
class ChoraleCadences:
    """How a style's phrases end: every ``bars`` bars, the bass on a degree of the key (semitones above the tonic)
    drawn by its shares at each inner phrase end, under a chord marked with a fermata."""

    bars: int
    major: dict[int, float]
    minor: dict[int, float]

    def degrees(self, minor: bool) -> tuple[list[int], list[float]]:
        shares = self.minor if minor else self.major
        return list(shares), list(shares.values())


# experiments/phrase_ends.py: the bass under Bach's inner fermatas in major and in minor keys (degrees under 1 %
# left out)
CHORALE_CADENCES = {
    "bach": ChoraleCadences(2, major={7: 0.36, 0: 0.33, 9: 0.13, 5: 0.07, 2: 0.06, 4: 0.04},
                            minor={7: 0.33, 0: 0.28, 3: 0.22, 10: 0.09, 5: 0.04, 8: 0.03}),
}


@dataclass
class PhrasePlan:
    given: np.ndarray  # [V, n] tokens given ahead (FREE elsewhere): the cadences
    fermatas: list[int]  # steps where a fermata chord begins
    period: int = 0  # steps between phrase ends (0: no inner phrase ends)
    pull: np.ndarray | None = None  # [K] logit bias on every token: the piece's key (None: no pull)
    chords: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (fermata step, its triad's classes)
    chord_pull: float = 0.0  # nats off every pitch outside a fermata chord's triad, at the chord's first step
    # [V, bar] the piece's own last bar where its strains run on (``RUNNING_ENDS``): the tonic held, written over the
    # last bar once the piece is drawn (FREE: the drawn note stays); None: the last bar is given as it sounds
    ending: np.ndarray | None = None

    def cut(self, start: int) -> "PhrasePlan":
        """The plan from step ``start`` on."""
        return PhrasePlan(self.given[:, start:], [f - start for f in self.fermatas if f >= start], self.period,
                          self.pull, [(f - start, c) for f, c in self.chords if f >= start], self.chord_pull,
                          self.ending)

    def ended(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens [V, T] (a drawn piece, T its plan's steps) with the plan's own last bar written over their last."""
        if self.ending is None:
            return tokens
        out = tokens.copy()
        bar = self.ending.shape[1]
        out[:, -bar:] = np.where(self.ending != FREE, self.ending, out[:, -bar:])
        return out

    @property
    def biased(self) -> bool:
        return self.pull is not None or (self.chord_pull > 0 and bool(self.chords))

    def bias(self, lo: int, hi: int, low: int, vocab_size: int) -> np.ndarray:
        """[V, hi - lo, K] logit bias for steps lo..hi: the pull towards the key at every step, and at a fermata's
        step the pull towards its triad in every voice not given there (``chord_pull``, lifted from the triad's
        pitch classes); zeros for a plan without pulls."""
        V, K = self.given.shape[0], vocab_size
        out = np.zeros((V, hi - lo, K), dtype=np.float32)
        if self.pull is not None:
            out += self.pull.astype(np.float32)
        if not self.chord_pull:
            return out
        classes = (np.arange(K) - FIRST_PITCH_TOKEN + low) % 12
        for step, chord in self.chords:
            if lo <= step < hi:
                free = self.given[:, step] == FREE
                outside = (np.arange(K) >= FIRST_PITCH_TOKEN) & ~np.isin(classes, chord)
                out[free, step - lo] -= np.where(outside, self.chord_pull, 0.0).astype(np.float32)
        return out


def key_pull(key: Key, strength: float, low: int, vocab_size: int) -> np.ndarray:
    """[K] logit bias: -``strength`` on every pitch token outside the key's scale (major; minor with its raised
    sixth and seventh, as the harmonic and melodic minor have them), 0 on the scale's pitches, rests and holds."""
    scale = MINOR_SCALE if key.minor else MAJOR_SCALE
    tokens = np.arange(vocab_size)
    pitch_class = (tokens - FIRST_PITCH_TOKEN + low - key.tonic) % 12
    outside = (tokens >= FIRST_PITCH_TOKEN) & ~np.isin(pitch_class, scale)
    return np.where(outside, -float(strength), 0.0)


def fermata_steps(bar: int, quarter: int, pickup: int) -> int:
    """Steps of a chorale's fermata chord before the next phrase's upbeat: the second half of the bar less the
    upbeat, whole quarters, at least one (4/4: beats 3-4 with no upbeat, beat 3 with a quarter's)."""
    return max(quarter, (bar // 2) // quarter * quarter - pickup)


def phrase_plan(style: str, opening: np.ndarray, n_steps: int, start: int, bar: int, quarter: int,
                pickup: int, low: int, vocab_size: int, layout: Layout, voice_use: list[float] | None,
                rng: torch.Generator, final: bool = True, pull: float = 0.0, chord: float = 0.0) -> PhrasePlan:
    """The cadences of a piece [V, n_steps] whose first full bar begins at step ``start`` and whose phrases are
    shifted ``pickup`` steps early (the next phrase's upbeat): a chorale's inner phrase ends (``CHORALE_CADENCES``),
    and with ``final`` the last bar given as the tonic in the top voice and the bass, held to the end
    (``final_cadence``; in ``RUNNING_ENDS`` struck on the downbeat only, held in ``PhrasePlan.ending``); ``pull``
    > 0: the piece is drawn with that pull towards its key (``key_pull``), ``chord`` > 0 its fermata chords with
    that pull towards the triad on their bass (``PhrasePlan.bias``). The key is the one ``opening`` [V, t] (tokens
    relative to MIDI ``low``) implies; pitches sit in the octave nearest each voice's median there; a voice the
    style leaves silent, or silent in the opening, is left free."""
    V = opening.shape[0]
    given = np.full((V, n_steps), FREE, dtype=np.int64)
    fermatas: list[int] = []
    chords: list[tuple[int, tuple[int, ...]]] = []
    period = 0
    if n_steps < bar:
        return PhrasePlan(given, fermatas)
    key = key_of_tokens(opening, low, layout.drum_voices)
    last = n_steps - bar  # the last bar's downbeat
    outer = layout.outer_voices
    bass = outer[-1] if len(outer) > 1 else None
    cadences = CHORALE_CADENCES.get(style)
    if cadences is not None and bass is not None and bass in sounding_voices(opening, [bass], voice_use):
        length, period = fermata_steps(bar, quarter, pickup), cadences.bars * bar
        degrees, shares = cadences.degrees(key.minor)
        end = start + cadences.bars * bar - pickup
        while end <= last - pickup:
            onset = end - length
            degree = degrees[draw_index(float(torch.rand(1, generator=rng)), shares)]
            tok = near(key.tonic + degree, opening[bass], low, vocab_size)
            if tok is not None and onset >= 0:
                given[bass, onset] = tok
                given[bass, onset + 1 : end] = HOLD
                fermatas.append(onset)
                root = (key.tonic + degree) % 12
                chords.append((onset, (root, (root + TRIAD_THIRD[key.minor][degree]) % 12, (root + 7) % 12)))
            end += cadences.bars * bar
    own_ending = None
    if final:
        ending = final_cadence(opening, n_steps, bar, low, vocab_size, voice_use, layout)
        if style in RUNNING_ENDS:  # the downbeat's tonic given; the bar held to its end only as the piece's own
            own_ending = ending[:, last:]
            ending = np.where(np.arange(n_steps) == last, ending, FREE)
        given[:, last:] = np.where(ending[:, last:] != FREE, ending[:, last:], given[:, last:])
    return PhrasePlan(given, fermatas, period, key_pull(key, pull, low, vocab_size) if pull > 0 else None, chords,
                      float(chord), own_ending)
