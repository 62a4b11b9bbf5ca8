"""Phrases that close: a chorale's cadences every two bars under fermatas, a tune's final cadence alone, the
cadences drawn by the corpus's shares, the pulls towards a key and a fermata's triad, fermatas and repeat signs in
the score (read back by music21, and the score expanded by its repeats against the MIDI file)."""

import collections

import music21
import numpy as np
import pytest
import symusic
import torch

from divertimento.models.smc import FREE
from divertimento.music.key import Key
from divertimento.music.layouts import SATB
from divertimento.music.notes import Piece, Track
from divertimento.music.roll import FIRST_PITCH_TOKEN, HOLD
from divertimento.music.write import write_midi, write_musicxml
from divertimento.sample.pieces import bar_lines
from divertimento.studio import compose as C
from divertimento.studio import phrases
from divertimento.studio.engine import load_studio_model
from divertimento.studio.phrases import CHORALE_CADENCES, fermata_steps, key_pull, phrase_plan

LOW = 36


def tok(p):
    return 2 + p - LOW


def d_major_opening():
    """Soprano D5 F#5 A5 F#5 as quarters, bass D3 held, alto and tenor silent (16 steps of 4/4)."""
    op = np.zeros((4, 16), dtype=np.int64)
    for i, p in enumerate([74, 78, 81, 78]):
        op[0, 4 * i], op[0, 4 * i + 1 : 4 * i + 4] = tok(p), HOLD
    op[3, 0], op[3, 1:] = tok(50), HOLD
    return op


def test_fermata_lengths_by_hand():
    assert fermata_steps(16, 4, 0) == 8  # 4/4 without an upbeat: beats 3 and 4
    assert fermata_steps(16, 4, 4) == 4  # after a quarter's upbeat: beat 3, then the next phrase's upbeat
    assert fermata_steps(16, 4, 8) == 4  # at least a quarter
    assert fermata_steps(12, 4, 0) == 4  # 3/4: half a bar is 6 steps, a whole quarter of it


def test_a_chorales_plan_by_hand():
    # 8 bars of 4/4 after a quarter's upbeat bar: the first full bar at 16, phrases of 2 bars ending a quarter early
    # (the next upbeat): at 16 + 32 - 4 = 44, 76, 108; the last bar's downbeat is 144 - 16 = 128 and a phrase end must
    # come before its upbeat (<= 124). Fermata chords of 4 steps: onsets 40, 72, 104.
    plan = phrase_plan("bach", d_major_opening(), 144, 16, 16, 4, 4, LOW, 60, SATB, None, torch.Generator())
    assert plan.fermatas == [40, 72, 104] and plan.period == 32
    allowed = {(2 + d) % 12 for d in CHORALE_CADENCES["bach"].major}  # D major: degrees above D
    for f in plan.fermatas:
        assert (plan.given[3, f] - 2 + LOW) % 12 in allowed
        assert abs(plan.given[3, f] - tok(50)) <= 6  # the octave nearest the bass's D3
        assert (plan.given[3, f + 1 : f + 4] == HOLD).all() and plan.given[3, f + 4] == FREE
    # the last bar: D in the soprano (D5, nearest its median F#5) and the bass (D3), held
    assert plan.given[0, 128] == tok(74) and (plan.given[0, 129:] == HOLD).all()
    assert plan.given[3, 128] == tok(50) and (plan.given[3, 129:] == HOLD).all()
    # nothing else is given: the soprano until the last bar, the silent alto and tenor, the bass between cadences
    assert (plan.given[0, :128] == FREE).all() and (plan.given[1:3] == FREE).all()
    given_bass = {int(t) for t in np.flatnonzero(plan.given[3] != FREE)}
    assert given_bass == {t for f in plan.fermatas for t in range(f, f + 4)} | set(range(128, 144))


def test_a_tune_gets_its_final_cadence_only():
    # reels and jigs end their strains on the tonic as often as O'Neill's without help (studio/phrases.py): a 16-bar
    # Irish tune is given its last bar's downbeat alone, D in the outer voices, the rest of the bar free (its strain
    # runs on into the repeat); its own last bar holds the D (the second ending)
    op = d_major_opening()
    plan = phrase_plan("irish", op, 256, 0, 16, 4, 0, LOW, 60, SATB, None, torch.Generator())
    assert plan.fermatas == [] and plan.pull is None and (plan.given[:, :240] == FREE).all()
    assert plan.given[0, 240] == tok(74) and plan.given[3, 240] == tok(50) and (plan.given[:, 241:] == FREE).all()
    assert (plan.given[1:3] == FREE).all()
    assert plan.ending.shape == (4, 16) and plan.ending[0, 0] == tok(74) and (plan.ending[0, 1:] == HOLD).all()
    assert plan.ending[3, 0] == tok(50) and (plan.ending[1:3] == FREE).all()
    drawn = np.full((4, 256), tok(62))
    ended = plan.cut(16).ended(drawn[:, 16:])
    assert np.array_equal(ended[0, -16:], plan.ending[0]) and (ended[1:3, -16:] == tok(62)).all()
    assert (ended[:, :-16] == tok(62)).all()
    # a chorale's last bar is given held, as it sounds, and has no ending of its own
    chorale = phrase_plan("bach", op, 256, 0, 16, 4, 0, LOW, 60, SATB, None, torch.Generator())
    assert chorale.ending is None and (chorale.given[0, 241:] == HOLD).all()
    # a pull asked for: the plan carries the key's
    plan = phrase_plan("irish", op, 256, 0, 16, 4, 0, LOW, 60, SATB, None, torch.Generator(), pull=0.5)
    assert np.array_equal(plan.pull, key_pull(Key(2, False), 0.5, LOW, 60))


def test_cadences_are_drawn_in_the_corpus_shares():
    counts = collections.Counter()
    for s in range(400):
        plan = phrase_plan("bach", d_major_opening(), 16 * 16, 0, 16, 4, 0, LOW, 60, SATB, None,
                           torch.Generator().manual_seed(s))
        counts.update((int(plan.given[3, f]) - 2 + LOW - 2) % 12 for f in plan.fermatas)  # degree above D
    n = sum(counts.values())
    assert n == 400 * 7  # phrase ends at bars 2, 4, ..., 14 of 16
    for degree, share in CHORALE_CADENCES["bach"].major.items():
        assert abs(counts[degree] / n - share) < 4 * (share * (1 - share) / n) ** 0.5 + 1e-3


def test_a_long_chorale_closes_its_phrases_under_fermatas(tiny_mle_run, tmp_path):
    engine = load_studio_model(str(tiny_mle_run))
    p = C.compose(engine, (4, 1), style="bach", bars=8, meter="4/4")
    # no upbeat: phrase ends at bars 2, 4 and 6, each a half-bar chord (beats 3 and 4), the bass given and held
    assert p.meta["fermatas"] == [24, 56, 88]
    for f in p.meta["fermatas"]:
        assert p.tokens[3, f] >= 2 and (p.tokens[3, f + 1 : f + 8] == HOLD).all()
    path = tmp_path / "chorale.musicxml"
    write_musicxml(p.to_piece(engine), path)
    score = music21.converter.parse(str(path))
    at = [f / 4 for f in p.meta["fermatas"]]  # quarters: beat 3 of bars 2, 4 and 6
    assert at == [6.0, 14.0, 22.0]
    for part in score.parts:  # a note (tied notes as one) carries a fermata exactly when it sounds at one of them
        marks = [n.offset for n in part.flatten().notes
                 if any(isinstance(e, music21.expressions.Fermata) for e in n.expressions)]
        for n in part.stripTies().flatten().notes:
            held = any(n.offset <= m < n.offset + n.quarterLength for m in marks)
            assert held == any(n.offset <= f < n.offset + n.quarterLength for f in at), (part.id, n.offset)


def test_repeated_sections_by_hand():
    # form AABA of one 2-step bar per section; the second A begins with a held note, so the first pair is not
    # written between repeat signs; in AAB with fresh notes it is
    a, b = np.array([[5, HOLD]]), np.array([[6, 7]])
    assert C.repeated_sections(np.concatenate([a, a, b, a], axis=1), "AABA", 1, 2) == [[0, 1]]
    held = np.array([[HOLD, 5]])
    assert C.repeated_sections(np.concatenate([held, held, b], axis=1), "AAB", 1, 2) == []
    assert C.repeated_sections(np.concatenate([a, b, a, b], axis=1), "ABAB", 1, 2) == []  # not in a row
    assert C.repeated_sections(np.concatenate([a, a, a], axis=1), "AAA", 1, 2) == [[0, 1]]  # the third written out
    # two 2-bar sections: the second hearing of B ends the piece in a last bar of its own, a second ending
    a2, b2, end2 = np.array([[5, 6, 7, 8]]), np.array([[9, 9, 6, 7]]), np.array([[9, 9, 6, HOLD]])
    assert C.repeated_sections(np.concatenate([a2, a2, b2, end2], axis=1), "AABB", 2, 2) == [[0, 2], [4, 2, 1]]
    # not where it is not the piece's end, nor where more than the last bar differs
    assert C.repeated_sections(np.concatenate([b2, end2, a2], axis=1), "AAB", 2, 2) == []
    assert C.repeated_sections(np.concatenate([a2, b2, b2[:, ::-1]], axis=1), "ABB", 2, 2) == []


def _notes_of_score(score) -> list[tuple[float, int]]:
    out = []
    for n in score.flatten().notes:
        if n.tie is None or n.tie.type == "start":
            out += [(round(float(n.offset), 3), p.midi) for p in n.pitches]
    return sorted(out)


@pytest.mark.parametrize("running", [False, True])
def test_a_reel_in_aabb_is_written_with_repeats_that_play_its_midi(tiny_mle_run, tmp_path, monkeypatch, running):
    engine = load_studio_model(str(tiny_mle_run))
    if running:  # the tiny model's folk tunes end as reels do: the strain runs on, the piece's last bar held
        monkeypatch.setattr(phrases, "RUNNING_ENDS", frozenset({"folk"}))
    checked = endings = 0
    for k in range(6):
        p = C.compose_many(engine, [(2, k)], "folk", bars=16, form="AABB", section_bars=4, pickups=True)[0]
        if not p.meta.get("repeats"):
            continue
        endings += [8, 4, 1] in p.meta["repeats"]
        if running:  # the piece's last bar is the top voice's tonic held from its downbeat to the end
            body = p.tokens[:, p.pickup :]
            last = body[0, 15 * p.bar :]
            assert last[0] >= FIRST_PITCH_TOKEN and (last[1:] == HOLD).all()
            # strain B is written between repeats where its second hearing starts on fresh notes, with an ending of
            # its own unless its first time round happened to hold the tonic too
            assert (body[:, 12 * p.bar] == HOLD).any() or [8, 4, 1] in p.meta["repeats"] or np.array_equal(
                body[:, 11 * p.bar : 12 * p.bar - p.pickup], body[:, 15 * p.bar :])
        piece = p.to_piece(engine)
        write_musicxml(piece, tmp_path / "reel.musicxml")
        write_midi(piece, tmp_path / "reel.mid")
        score = music21.converter.parse(str(tmp_path / "reel.musicxml"))
        written = len(score.parts[0].getElementsByClass("Measure"))
        # the upbeat's measure, 16 bars less each second hearing, but the piece's short last bar after an upbeat,
        # kept as the second ending
        kept = 1 if (p.pickup and [8, 4] in p.meta["repeats"]) or [8, 4, 1] in p.meta["repeats"] else 0
        assert written == (1 if p.pickup else 0) + 16 - 4 * len(p.meta["repeats"]) + kept
        midi = symusic.Score(str(tmp_path / "reel.mid"))
        tpq = midi.ticks_per_quarter
        lead = (p.bar - p.pickup) / 4 if p.pickup else 0.0  # MIDI writes the rest of the upbeat's bar as silence
        from_midi = sorted((round(n.time / tpq - lead, 3), n.pitch) for t in midi.tracks for n in t.notes)
        expanded = score.expandRepeats()
        first = min(o for o, _ in _notes_of_score(expanded))
        assert [(round(o - first, 3), m) for o, m in _notes_of_score(expanded)] == \
            [(round(o - from_midi[0][0], 3), m) for o, m in from_midi]
        checked += 1
    assert checked >= 2
    # with running ends, at least one piece's strain B is written with a second ending of its own (none without)
    assert endings >= 1 if running else endings == 0


def test_repeats_after_an_upbeat_end_in_first_and_second_endings(tmp_path):
    # 6/8, an eighth's upbeat D4, then strain A (G4 B4, dotted quarters) twice and strain B (D5, a bar) twice, the
    # second time cut to the 10 steps the upbeat leaves: written as upbeat |: A :|: B |1. B :|2. B' ||
    notes = np.array([[0, 2, 62, 80], [2, 6, 67, 80], [8, 6, 71, 80], [14, 6, 67, 80], [20, 6, 71, 80],
                      [26, 12, 74, 80], [38, 10, 74, 80]], dtype=np.int32)
    piece = Piece("Strains", 4, [Track("melody", 73, False, notes)], bar_lines(48, 4, "6/8", 2), 120.0,
                  {"meter": "6/8", "pickup_steps": 2, "repeats": [[0, 1], [2, 1]]})
    write_musicxml(piece, tmp_path / "s.musicxml")
    write_midi(piece, tmp_path / "s.mid")
    score = music21.converter.parse(str(tmp_path / "s.musicxml"))
    measures = list(score.parts[0].getElementsByClass("Measure"))
    assert [float(m.duration.quarterLength) for m in measures] == [0.5, 3.0, 3.0, 2.5]
    bars = [(m.leftBarline.direction if isinstance(m.leftBarline, music21.bar.Repeat) else None,
             m.rightBarline.direction if isinstance(m.rightBarline, music21.bar.Repeat) else None) for m in measures]
    assert bars == [(None, None), ("start", "end"), ("start", "end"), (None, None)]
    brackets = {b.number: [m.measureNumber for m in b.getSpannedElements()]
                for b in score.recurse().getElementsByClass(music21.spanner.RepeatBracket)}
    assert brackets == {"1": [2], "2": [3]}
    midi = symusic.Score(str(tmp_path / "s.mid"))
    tpq = midi.ticks_per_quarter
    from_midi = [(round(n.time / tpq - 2.5, 3), n.pitch) for n in midi.tracks[0].notes]  # 2.5: the upbeat's lead
    assert from_midi == [(0.0, 62), (0.5, 67), (2.0, 71), (3.5, 67), (5.0, 71), (6.5, 74), (9.5, 74)]
    assert _notes_of_score(score.expandRepeats()) == from_midi


def test_the_pull_towards_a_key_by_hand():
    # tokens: 0 REST, 1 HOLD, token 2 + p - 36 is MIDI pitch p; D major's scale is D E F# G A B C#
    pull = key_pull(Key(2, False), 1.5, LOW, 60)
    assert pull[0] == 0 and pull[1] == 0
    assert pull[tok(60)] == -1.5 and pull[tok(61)] == 0  # C natural is outside D major, C# inside
    assert pull[tok(62)] == 0 and pull[tok(63)] == -1.5 and pull[tok(65)] == -1.5 and pull[tok(66)] == 0
    assert (pull[2:] == 0).sum() == sum(1 for p in range(LOW, LOW + 58) if (p - 2) % 12 in (0, 2, 4, 5, 7, 9, 11))
    # B minor: its raised sixth and seventh (G#, A#) are in, C natural and F natural are not
    pull = key_pull(Key(11, True), 1.0, LOW, 60)
    assert pull[tok(68)] == 0 and pull[tok(70)] == 0 and pull[tok(72)] == -1.0 and pull[tok(65)] == -1.0


def test_the_pull_towards_a_fermatas_triad_by_hand():
    # D major, one fermata at step 24 over a bass drawn on a degree; with a chord pull of 2, at step 24 every voice
    # not given (soprano, alto, tenor) has -2 on each pitch outside the triad on that degree (its third major or
    # minor as the key has it), 0 on the triad's pitches, rests and holds; the bass, given, and other steps: 0
    plan = phrase_plan("bach", d_major_opening(), 128, 0, 16, 4, 0, LOW, 60, SATB, None, torch.Generator(),
                       chord=2.0)
    step, chord = plan.chords[0]
    assert step == plan.fermatas[0] == 24
    degree = (int(plan.given[3, 24]) - 2 + LOW - 2) % 12  # the bass's degree above D
    third = {0: 4, 2: 3, 4: 3, 5: 4, 7: 4, 9: 3}[degree]
    assert set(chord) == {(2 + degree) % 12, (2 + degree + third) % 12, (2 + degree + 7) % 12}
    b = plan.bias(20, 30, LOW, 60)
    assert b.shape == (4, 10, 60) and (b[:, [0, 1, 2, 3, 5, 6, 7, 8, 9]] == 0).all() and (b[3] == 0).all()
    classes = (np.arange(60) - 2 + LOW) % 12
    for v in range(3):
        assert (b[v, 4, :2] == 0).all()
        assert (b[v, 4, 2:][np.isin(classes[2:], chord)] == 0).all()
        assert (b[v, 4, 2:][~np.isin(classes[2:], chord)] == -2.0).all()
    # with the key's pull as well, the two add; without either, the plan does not bias at all
    both = phrase_plan("bach", d_major_opening(), 128, 0, 16, 4, 0, LOW, 60, SATB, None, torch.Generator(),
                       chord=2.0, pull=0.5).bias(24, 25, LOW, 60)
    assert both[0, 0, tok(60)] == -2.5  # C natural: outside D major and outside every triad of its degrees
    assert not phrase_plan("bach", d_major_opening(), 128, 0, 16, 4, 0, LOW, 60, SATB, None,
                           torch.Generator()).biased


def test_a_strain_that_ends_the_piece_in_a_bar_of_its_own_has_first_and_second_endings(tmp_path):
    # 6/8, no upbeat: strain A (G4 B4) twice, then strain B (D5 C5) whose second time ends the piece on D5 held a
    # bar (its own last bar, repeats entry [2, 1, 1]): written as |: A :|: B |1. (D5 C5) :|2. D5 || and played
    # back A A B B' (the expanded score is the MIDI, note for note)
    notes = np.array([[0, 6, 67, 80], [6, 6, 71, 80], [12, 6, 67, 80], [18, 6, 71, 80], [24, 6, 74, 80],
                      [30, 6, 72, 80], [36, 12, 74, 80]], dtype=np.int32)
    piece = Piece("Strains", 4, [Track("melody", 73, False, notes)], bar_lines(48, 4, "6/8"), 120.0,
                  {"meter": "6/8", "repeats": [[0, 1], [2, 1, 1]]})
    write_musicxml(piece, tmp_path / "s.musicxml")
    score = music21.converter.parse(str(tmp_path / "s.musicxml"))
    measures = list(score.parts[0].getElementsByClass("Measure"))
    assert [float(m.duration.quarterLength) for m in measures] == [3.0, 3.0, 3.0]
    brackets = {b.number: [m.measureNumber for m in b.getSpannedElements()]
                for b in score.recurse().getElementsByClass(music21.spanner.RepeatBracket)}
    assert brackets == {"1": [2], "2": [3]}
    played = [(float(n.offset), n.pitch.midi) for n in score.expandRepeats().flatten().notes]
    assert played == [(0.0, 67), (1.5, 71), (3.0, 67), (4.5, 71), (6.0, 74), (7.5, 72), (9.0, 74)]
