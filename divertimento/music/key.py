"""A piece's key (Krumhansl-Kessler profiles over its sounding time) and how its pitches are spelled in that key."""

from dataclasses import dataclass

import numpy as np

from .notes import DURATION, PITCH, Piece

# Krumhansl-Kessler key profiles, tonic at 0 (Krumhansl 1990, table 4.1).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

# Sharps (+) or flats (-) of the major key on each tonic pitch class; F# major rather than G-flat (6 sharps).
MAJOR_FIFTHS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 8: -4, 3: -3, 10: -2, 5: -1}
LETTERS = "CDEFGAB"
NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ORDER_OF_SHARPS = "FCGDAEB"


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0..11
    minor: bool

    @property
    def fifths(self) -> int:
        """Sharps (+) or flats (-) in the key signature (a minor key has its relative major's)."""
        return MAJOR_FIFTHS[(self.tonic + 3) % 12 if self.minor else self.tonic]

    @property
    def name(self) -> str:
        """'D', 'F#m', 'Bb' ... as musicians write keys in titles."""
        return spell_pitch_class(self.tonic, self).replace("-", "b") + ("m" if self.minor else "")

    @property
    def title(self) -> str:
        """'D', 'E minor', 'Bb' as a title says it."""
        return spell_pitch_class(self.tonic, self).replace("-", "b") + (" minor" if self.minor else "")

    def spelling(self) -> dict[int, str]:
        """Letter name with accidentals ('F#', 'B-') of every pitch class in this key: the key signature's notes
        first, then a minor key's raised sixth and seventh, then the other chromatic notes as naturals where they
        can be and otherwise as sharps in a sharp key and flats in a flat key (no E-flat beside D-sharp in one
        piece)."""
        fifths = self.fifths
        altered = {ch: (1 if fifths > 0 else -1) for ch in (ORDER_OF_SHARPS[:fifths] if fifths > 0
                                                           else ORDER_OF_SHARPS[::-1][:-fifths])}
        names: dict[int, str] = {}
        for letter in LETTERS:
            acc = altered.get(letter, 0)
            names[(NATURAL_PC[letter] + acc) % 12] = letter + {1: "#", -1: "-", 0: ""}[acc]
        if self.minor:  # the raised sixth and seventh keep the letter of the natural ones (G# in A minor)
            for natural in (8, 10):
                name = names[(self.tonic + natural) % 12]
                names[(self.tonic + natural + 1) % 12] = _raised(name)
        natural = {pc: letter for letter, pc in NATURAL_PC.items()}
        for pc in range(12):
            if pc not in names:
                if pc in natural:  # a chromatic natural: C natural in D major
                    names[pc] = natural[pc]
                elif fifths >= 0:
                    names[pc] = natural[(pc - 1) % 12] + "#"
                else:
                    names[pc] = natural[(pc + 1) % 12] + "-"
        return names


def _raised(name: str) -> str:
    """The same letter a semitone higher: B- -> B, B -> B#, F# -> F##."""
    return name[:-1] if name.endswith("-") else name + "#"


def spell_pitch_class(pc: int, key: Key) -> str:
    return key.spelling()[pc % 12]


def best_keys(pc_counts: np.ndarray) -> np.ndarray:
    """[N] the best of the 24 Krumhansl-Kessler keys for pitch-class counts [N, 12], by correlation: k for the major
    key on tonic k, 12 + k for the minor one; 0 for no notes."""
    profiles = np.stack([np.roll(KK_MAJOR, r) for r in range(12)] + [np.roll(KK_MINOR, r) for r in range(12)])
    profiles = profiles - profiles.mean(-1, keepdims=True)
    x = pc_counts - pc_counts.mean(-1, keepdims=True)
    # not quite the correlation: the profiles are not scaled to unit norm, so a major key's score carries its
    # profile's larger norm (4.38 against 4.00) and an even contest goes to major (``key_correlations`` is exact).
    # The descriptor suite's scale-degree histograms read their tonic here, so every figure since round 1 does.
    score = x @ profiles.T  # [N, 24]
    return np.argmax(score, axis=-1)


def key_correlations(pc_counts: np.ndarray) -> np.ndarray:
    """[N, 24] the correlation of pitch-class counts [N, 12] with each Krumhansl-Kessler key (major keys on tonics
    0..11, then the minor keys); 0 for no notes."""
    x = pc_counts - pc_counts.mean(-1, keepdims=True)
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return x @ key_profiles().T


def key_profiles() -> np.ndarray:
    """[24, 12] the Krumhansl-Kessler profiles of the 24 keys, centred and of unit norm (so that a centred,
    unit-norm pitch-class vector's product with them is its correlation with each key): rows 0..11 the major keys
    on tonics 0..11, rows 12..23 the minor keys."""
    profiles = np.stack([np.roll(KK_MAJOR, r) for r in range(12)] + [np.roll(KK_MINOR, r) for r in range(12)])
    profiles = profiles - profiles.mean(-1, keepdims=True)
    return profiles / np.linalg.norm(profiles, axis=-1, keepdims=True)


def modes_of_counts(pc_counts: np.ndarray) -> np.ndarray:
    """[N] the mode of the best-correlated key for pitch-class counts [N, 12]: 0 major, 1 minor, -1 for no notes.
    Round 13 read it from ``best_keys``, which leans to major: 9.6 % of the training windows change mode."""
    best = np.argmax(key_correlations(pc_counts), axis=-1)
    return np.where(pc_counts.sum(axis=-1) > 0, (best >= 12).astype(int), -1)


def key_of_notes(pitches: np.ndarray, weights: np.ndarray) -> Key:
    """The best-correlating of the 24 major and minor keys for notes of MIDI ``pitches`` held for ``weights``;
    C major for no notes."""
    if len(pitches) == 0:
        return Key(0, False)
    hist = np.bincount(np.asarray(pitches) % 12, weights=np.asarray(weights, dtype=np.float64), minlength=12)
    best, best_score = Key(0, False), -np.inf
    for minor, profile in ((False, KK_MAJOR), (True, KK_MINOR)):
        for tonic in range(12):
            score = np.corrcoef(hist, np.roll(profile, tonic))[0, 1] if hist.std() > 0 else 0.0
            if score > best_score + 1e-12:
                best, best_score = Key(tonic, minor), score
    return best


def key_of_piece(piece: Piece) -> Key:
    """The key of a piece from all its pitched notes, each weighted by its duration."""
    notes = [t.notes for t in piece.tracks if not t.is_drum and len(t.notes)]
    if not notes:
        return Key(0, False)
    n = np.concatenate(notes)
    return key_of_notes(n[:, PITCH], n[:, DURATION])
