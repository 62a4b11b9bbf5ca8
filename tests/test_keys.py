"""Key normalisation: hand-worked pitch-class counts and shifts, and a key-normalised model end to end (training
moves windows onto the white keys, generation and the studio move them back to keys the data uses)."""

import numpy as np
import pytest

from divertimento.config import config_from_dict
from divertimento.data.keys import (
    WHITE,
    home_shift_shares,
    normalising_shifts,
    place_in_key,
    sounding_pitch_classes,
)
from divertimento.music.notes import Piece, Track
from divertimento.sample.sampler import Sampler, load_sampler
from divertimento.studio import compose as C
from divertimento.studio.engine import Engine

from .conftest import TINY_MLE

LOW, VOCAB = 36, 60  # MIDI 36 (a C) .. 93, as in the embedded data
H, R = 1, 0


def tok(midi: int) -> int:
    return 2 + midi - LOW


def window(rows: list[list[int]], T: int = 8) -> np.ndarray:
    out = np.zeros((1, len(rows), T), dtype=np.uint8)
    for v, row in enumerate(rows):
        out[0, v, : len(row)] = row
    return out


def test_sounding_pitch_classes_counts_onsets_and_holds_only():
    # voice 0: E E E (onset + 2 holds), rest, a HOLD after a rest (nothing sounds), G
    # voice 1: a HOLD at the start (nothing sounds), C# C# (onset + hold), C# again, rest rest
    w = window([[tok(64), H, H, R, H, tok(67)], [H, tok(61), H, tok(61), R, R]], T=6)
    expected = np.zeros(12)
    expected[4], expected[7], expected[1] = 3, 1, 3
    assert np.array_equal(sounding_pitch_classes(w, LOW)[0], expected)


def test_d_major_goes_down_a_tone_and_chromatic_notes_stay_chromatic():
    d_major = [tok(p) for p in (62, 64, 66, 67, 69, 71, 73, 74)]  # D E F# G A B C# D
    shift, ok = normalising_shifts(window([d_major]), LOW, VOCAB)
    assert ok[0] and shift[0] == -2  # D -> C: C D E F G A B C
    a_minor_with_leading_tone = [tok(p) for p in (69, 71, 72, 74, 76, 77, 68, 69)]  # A B C D E F G# A
    shift, _ = normalising_shifts(window([a_minor_with_leading_tone]), LOW, VOCAB)
    assert shift[0] == 0  # 7 of 8 steps already white; the G# stays a G#


def test_pentatonic_tie_goes_to_the_tonic_weighted_key():
    # C D E G A fits C major, F major and G major equally; C is the weighted tonic, so no shift
    tune = [tok(60), H, H, H, tok(64), H, tok(67), H, tok(62), tok(69)]
    shift, _ = normalising_shifts(window([tune], T=10), LOW, VOCAB)
    assert shift[0] == 0


def test_a_window_at_the_top_of_the_range_moves_the_other_way():
    # B-flat major wants +2 (Bb -> C), but its top note is MIDI 93, the top of the range: -10 instead
    bb = [tok(p) for p in (70, 72, 74, 75, 77, 79, 81, 93)]
    shift, ok = normalising_shifts(window([bb]), LOW, VOCAB)
    assert ok[0] and shift[0] == -10
    # a window spanning the whole range cannot move at all (Bb at the bottom and the top)
    wide = window([[tok(46), tok(93), tok(36), tok(75)]])
    _, ok = normalising_shifts(wide, LOW, VOCAB)
    assert not ok[0]


def test_home_shares_and_placing():
    shares = home_shift_shares(np.array([-2, -2, 3, 5]), np.array([True, True, True, False]),
                               np.array([0, 0, 1, 1]), 2)
    # SHIFTS = -5..6: style 0 goes home by +2 (index 7), style 1 by -3 (index 2); the unusable window is ignored
    assert shares[0][7] == 1.0 and sum(shares[0]) == 1.0
    assert shares[1][2] == 1.0 and sum(shares[1]) == 1.0
    low_and_high = window([[tok(48), tok(90), H, R]])
    placed = place_in_key(low_and_high, np.array([6]), VOCAB)  # +6 would pass MIDI 93: an octave lower, -6
    assert placed[0, 0, :4].tolist() == [tok(42), tok(84), H, R]
    stuck = window([[tok(40), tok(90)]])  # neither +6 nor -6 fits: as far up as the range allows, +3
    assert place_in_key(stuck, np.array([6]), VOCAB)[0, 0, :2].tolist() == [tok(43), tok(93)]


@pytest.fixture(scope="module")
def keyed_run(small_data, tmp_path_factory):
    from divertimento.train.loop import train

    out = tmp_path_factory.mktemp("runs") / "keyed"
    train(small_data, out, config_from_dict(dict(TINY_MLE, key_normalise=True)), progress=False)
    return out


def test_training_windows_are_on_the_white_keys(small_data):
    import torch

    from divertimento.data.dataset import load_prepared
    from divertimento.train.batches import BatchSampler

    data = load_prepared(small_data)
    sampler = BatchSampler(data, 32, True, torch.Generator().manual_seed(0), key_normalise=True)
    rolls = data.splits["train"]["rolls"]
    _, ok = normalising_shifts(rolls, data.low, data.manifest["vocab_size"])
    assert len(sampler.tokens) == ok.sum() and sampler.dropped == (~ok).sum()
    pc = sounding_pitch_classes(sampler.tokens, data.low)
    raw = sounding_pitch_classes(rolls[ok], data.low)
    # each window holds the most white-key time any of the 12 transpositions gives it (brute force)
    best = np.max([np.roll(raw, k, axis=1) @ WHITE for k in range(12)], axis=0)
    assert np.array_equal(pc @ WHITE, best)
    assert (pc @ WHITE).sum() / pc.sum() > (raw @ WHITE).sum() / raw.sum()


def test_a_critic_gets_real_windows_in_their_own_keys(small_data):
    import torch

    from divertimento.data.dataset import load_prepared
    from divertimento.train.batches import BatchSampler

    data = load_prepared(small_data)
    rows = {r.tobytes() for r in data.splits["train"]["rolls"]}
    sampler = BatchSampler(data, 64, True, torch.Generator().manual_seed(0))
    moved, _ = sampler()
    written, _ = sampler(as_written=True)
    assert all(w.numpy().astype(np.uint8).tobytes() in rows for w in written)  # every one a window as stored
    assert sum(w.numpy().astype(np.uint8).tobytes() not in rows for w in moved) > 10  # transposition moves most


def test_generated_windows_go_back_to_the_data_keys(keyed_run):
    bundle = load_sampler(keyed_run)
    shares = np.asarray(bundle.manifest["key_home_shares"])
    assert shares.shape == (len(bundle.style_names), 12) and np.allclose(shares.sum(1), 1.0)
    pairs = [(3, i) for i in range(40)]
    placed, styles = bundle.generate_tokens(pairs)
    plain_manifest = {k: v for k, v in bundle.manifest.items() if k != "key_home_shares"}
    raw, _ = Sampler(bundle.module, dict(bundle.header, data=plain_manifest), bundle.path).generate_tokens(pairs)
    for pair, p, r, s in zip(pairs, placed, raw, styles):
        pitched = r >= 2
        assert np.array_equal(p >= 2, pitched) and np.array_equal(p[~pitched], r[~pitched])
        home = bundle.draw(*pair, style=s).home
        assert shares[bundle.style_names.index(s)][home + 5] > 0  # a key its style uses
        if pitched.any():
            moved = np.unique(p[pitched].astype(int) - r[pitched])
            assert len(moved) == 1 and moved[0] == expected_move(r, home, bundle.module.vocab_size)
    # the studio's one-window piece is the same music, heard in the same key
    engine = Engine(bundle)
    piece = C.compose(engine, pairs[5], temperature=bundle.default_temperature)
    # four bars of the piece's meter: the window's first 4 * 12 steps in 6/8, all 64 in 4/4
    assert piece.tokens.shape[1] == 4 * {"6/8": 12, "3/4": 12, "2/4": 8, "4/4": 16}[piece.meter]
    assert np.array_equal(piece.tokens, raw[5][:, : piece.tokens.shape[1]])
    notes = piece.to_piece(bundle).tracks[0].notes
    assert notes[:, 2].tolist() == [bundle.low + int(t) - 2 + piece.home for t in piece.tokens[0] if t >= 2]


def expected_move(raw: np.ndarray, home: int, vocab: int) -> int:
    """generate's move of a window: its home, or an octave down, or up, or as far as its range lets it."""
    pitched = raw[raw >= 2].astype(int)
    down, up = 2 - pitched.min(), vocab - 1 - pitched.max()
    fits = [h for h in (home, home - 12, home + 12) if down <= h <= up]
    return fits[0] if fits else int(np.clip(home, down, up))


def test_harmonised_melody_stays_in_its_own_key(keyed_run):
    d_major = np.array([62, 64, 66, 67, 69, 71, 73, 74] * 2)  # a D major scale, twice, one note a beat
    notes = np.array([[4 * i, 4, p, 80] for i, p in enumerate(d_major)], dtype=np.int32)
    tune = Piece("scale", 4, [Track("melody", 0, False, notes)], np.array([[0, 16, 4, 4]], dtype=np.int32), 100.0,
                 {})
    engine = Engine(load_sampler(keyed_run))
    melody, _ = C.melody_from_piece(tune, engine)
    h = C.harmonise(engine, melody, None, (0, 0), engine.temperature)
    assert h.home == 2  # harmonised on the white keys, heard a tone up
    assert h.to_piece(engine).tracks[0].notes[:, 2].tolist() == d_major.tolist()
