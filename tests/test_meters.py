"""Meters end to end on hand-made tunes: windows per meter in the manifest, metric accents, and scores that carry
the key, the time signature, the tempo and a spelling in the key (read back by music21 and symusic)."""

import json

import music21
import numpy as np
import pytest
import symusic
import torch

from divertimento.data.dataset import load_prepared
from divertimento.data.prepare import PrepareOptions, prepare
from divertimento.models.sequence import ARModel
from divertimento.music.key import Key, key_of_notes
from divertimento.music.notes import Piece, Track
from divertimento.music.roll import FIRST_PITCH_TOKEN
from divertimento.music.write import write_midi, write_musicxml
from divertimento.sample.pieces import bar_lines, metric_velocities, style_tempo

# A jig in 6/8 with a one-eighth pickup: 9 bars of running eighths (D and A major arpeggios), then a last bar of
# five eighths (it completes the pickup's bar).
JIG = """X:1
T:Test jig
M:6/8
L:1/8
Q:3/8=120
K:D
A|dfa afd|dfa afd|ceg gec|ceg gec|dfa afd|dfa afd|ceg gec|ceg gec|dfa afd|d3-d2|
"""
# A waltz in 3/4 with a one-quarter pickup: 8 bars of quarters, then a dotted half.
WALTZ = """X:2
T:Test waltz
M:3/4
L:1/4
K:G
D|GBd|GBd|FAc|FAc|GBd|GBd|FAc|FAc|G3|
"""


@pytest.fixture(scope="module")
def metered_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tunes")
    for style, text in (("jigs", JIG), ("waltzes", WALTZ)):
        (root / style).mkdir()
        (root / style / "tune.abc").write_text(text)
    out = root / "data"
    prepare(out, PrepareOptions(sources=[str(root / "jigs"), str(root / "waltzes")], workers=1, split=(1.0, 0, 0),
                                cache_dir=str(root / "cache")), progress=False)
    return out


def test_windows_are_counted_per_meter_and_start_on_barlines(metered_data):
    m = json.loads((metered_data / "manifest.json").read_text())
    # the jig: after the pickup, 9 full 6/8 bars of 12 steps (steps 2..110) and a short last bar; a 64-step window
    # runs over 6 whole bars (5 1/3 used); windows start on barlines at least 16 steps apart (the hop): bar 0
    # (step 2), bar 2 (step 26); bar 4 (step 50) would need bars 4..9, and bar 9 is short.
    # the waltz: after the pickup, 9 full 3/4 bars of 12 steps (4..112): windows at bar 0 (4) and bar 2 (28);
    # bar 4 (52) would need a tenth bar
    assert m["meters"] == {"3/4": 2, "6/8": 2}
    assert m["styles"]["jigs"]["meters"] == {"6/8": 2} and m["styles"]["waltzes"]["meters"] == {"3/4": 2}
    data = load_prepared(metered_data)
    train = data.splits["train"]
    names = data.meter_names
    jig = train["style"] == data.style_names.index("jigs")
    assert sorted(train["start"][jig].tolist()) == [2, 26]
    assert {names[k] for k in train["meter"][jig]} == {"6/8"}
    waltz = ~jig
    assert sorted(train["start"][waltz].tolist()) == [4, 28]
    # the pickups: the jig's upbeat eighth (2 steps), the waltz's upbeat quarter (4 steps)
    assert m["pickups"] == {"jigs": {"6/8": {"pieces": 1, "pickups": {"2": 1}}},
                            "waltzes": {"3/4": {"pieces": 1, "pickups": {"4": 1}}}}


def test_window_tokens_are_the_tune_exactly(metered_data):
    data = load_prepared(metered_data)
    train = data.splits["train"]
    i = int(np.flatnonzero((train["style"] == data.style_names.index("jigs")) & (train["start"] == 2))[0])
    soprano = train["rolls"][i, 0]
    # d f a a f d as eighths (2 steps each): D5=74, F#5=78, A5=81
    pitches = [74, 78, 81, 81, 78, 74]
    want = sum(([FIRST_PITCH_TOKEN + p - data.low, 1] for p in pitches), [])
    assert soprano[:12].tolist() == want


def test_six_eight_accents_and_tempo():
    # 6/8 at 4 steps per quarter: bar 12 steps, beats (dotted quarters) at 0 and 6, eighths every 2
    starts = np.array([0, 2, 6, 8, 12, 18])
    assert metric_velocities(starts, 4, voice=1, meter="6/8").tolist() == [92, 72, 86, 72, 92, 86]
    # 3/4: beats every 4 steps, no middle-of-bar accent
    assert metric_velocities(np.array([0, 4, 8, 12, 2]), 4, 1, "3/4").tolist() == [92, 80, 80, 92, 72]
    # a jig's dotted quarter as fast as a reel's quarter: 116 dotted quarters = 174 quarters per minute
    assert style_tempo("irish", "6/8") == 174.0 and style_tempo("irish", "4/4") == 116.0
    assert bar_lines(30, 4, "6/8").tolist() == [[0, 12, 6, 8], [12, 12, 6, 8], [24, 12, 6, 8]]


def test_key_spelling_by_hand():
    # D major: F# and C#, and a chromatic C natural stays C (not B#)
    d = Key(2, False).spelling()
    assert (d[6], d[1], d[0], d[10]) == ("F#", "C#", "C", "A#")
    # E-flat major: B-flat, E-flat, A-flat; B natural is B, not C-flat
    eb = Key(3, False).spelling()
    assert (eb[10], eb[3], eb[8], eb[11]) == ("B-", "E-", "A-", "B")
    # A minor: G# is the leading tone; D minor: C# (not D-flat) and B natural (not C-flat)
    assert Key(9, True).spelling()[8] == "G#"
    dm = Key(2, True).spelling()
    assert (dm[1], dm[11], dm[10]) == ("C#", "B", "B-") and Key(2, True).fifths == -1
    assert Key(9, True).name == "Am" and Key(6, False).fifths == 6 and Key(1, False).fifths == -5


def test_key_of_notes_finds_the_tonic_triad():
    # a G major scale with the tonic triad held longest
    pitches = np.array([67, 69, 71, 72, 74, 76, 78, 79, 67, 71, 74])
    weights = np.array([1, 1, 1, 1, 1, 1, 1, 1, 8, 6, 6])
    assert key_of_notes(pitches, weights) == Key(7, False)
    # A harmonic minor with its tonic weighted: A minor, not C major
    pitches = np.array([69, 71, 72, 74, 76, 77, 80, 81, 69, 72, 76])
    assert key_of_notes(pitches, weights) == Key(9, True)


def hand_piece(meter=(6, 8), silent_alto=True) -> Piece:
    """Soprano D5 F#5 A5 C#6 as dotted quarters in 6/8 (6 steps each), bass D3; the alto and tenor are silent."""
    sop = np.array([[0, 6, 74, 90], [6, 6, 78, 80], [12, 6, 81, 90], [18, 6, 85, 80]], dtype=np.int32)
    bass = np.array([[0, 12, 50, 90], [12, 12, 57, 90]], dtype=np.int32)
    empty = np.zeros((0, 4), dtype=np.int32)
    tracks = [Track("soprano", 73, False, sop), Track("alto", 73, False, empty), Track("tenor", 73, False, empty),
              Track("bass", 73, False, bass)]
    bars = np.array([[0, 12, *meter], [12, 12, *meter]], dtype=np.int32)
    return Piece("Jig in D, seed 7", 4, tracks, bars, 174.0, {"key": [2, False]})


def test_exported_scores_carry_key_time_tempo_and_only_sounding_staves(tmp_path):
    piece = hand_piece()
    write_musicxml(piece, tmp_path / "p.musicxml")
    write_midi(piece, tmp_path / "p.mid")
    sc = music21.converter.parse(tmp_path / "p.musicxml")
    assert [k.sharps for k in sc.recurse().getElementsByClass("KeySignature")][:1] == [2]
    assert {t.ratioString for t in sc.recurse().getElementsByClass("TimeSignature")} == {"6/8"}
    assert len(sc.parts) == 2  # alto and tenor are silent: no staff for them
    names = [p.nameWithOctave for p in sc.parts[0].recurse().notes]
    assert names == ["D5", "F#5", "A5", "C#6"]  # spelled in D major, not G-flat or D-flat
    mark = next(iter(sc.recurse().getElementsByClass("MetronomeMark")))
    assert mark.number == 116 and mark.referent.quarterLength == 1.5  # dotted quarter = 116
    assert sc.metadata.composer == "divertimento"
    assert "Jig in D, seed 7" in (tmp_path / "p.musicxml").read_text()
    s = symusic.Score(str(tmp_path / "p.mid"))
    assert [(t.numerator, t.denominator) for t in s.time_signatures] == [(6, 8)]
    assert [(k.key, k.tonality) for k in s.key_signatures] == [(2, 0)]
    assert len(s.tracks) == 2 and round(s.tempos[0].qpm) == 174


def test_metered_model_reads_the_position_in_the_bar():
    # two meters: 3/4 (12 steps) and 4/4 (16 steps); a window starting on a barline at step t0 = 20 of a 3/4
    # window is at position 20 % 12 = 8 of its bar; of a 4/4 window at 20 % 16 = 4
    torch.manual_seed(0)
    m = ARModel(n_voices=1, vocab_size=5, n_steps=32, n_styles=2, bar_steps=(12, 16), hidden=8, layers=1, embed=4)
    assert m.n_meters == 2 and m.metered
    step = torch.zeros(2, 1, 4)
    cond = torch.tensor([1 * 2 + 0, 0 * 2 + 1])  # (style 1, 3/4) and (style 0, 4/4)
    x = m._inputs(step, 20, cond)
    metric = x[:, 0, -16:]
    assert torch.equal(metric[0], m.metric.weight[0 * 16 + 8]) and torch.equal(metric[1], m.metric.weight[16 + 4])
    assert torch.equal(x[0, 0, 4 + 16 : 4 + 16 + 32], m.style.weight[1])
    # a model of data without meters has no metric input, as before meters
    plain = ARModel(n_voices=1, vocab_size=5, n_steps=32, n_styles=2, hidden=8, layers=1, embed=4)
    assert plain.metric is None and plain._inputs(step, 0, torch.tensor([0, 1])).shape[-1] == 4 + 16 + 32


def test_generate_writes_whole_pieces_in_the_asked_meter(tiny_mle_run, tmp_path, capsys):
    from divertimento.cli import main

    out = tmp_path / "jigs"
    assert main(["generate", "--model", str(tiny_mle_run), "--style", "folk", "--meter", "6/8", "--bars", "10",
                 "--n", "2", "--out", str(out), "--formats", "mid,musicxml", "--keep-copies"]) == 0
    index = json.loads((out / "generated.json").read_text())["pieces"]
    assert [(e["meter"], e["bars"]) for e in index] == [("6/8", 10), ("6/8", 10)]
    for e in index:
        s = symusic.Score(str(out / e["files"]["mid"]))
        assert [(t.numerator, t.denominator) for t in s.time_signatures] == [(6, 8)]
        end = max(n.time + n.duration for t in s.tracks for n in t.notes) / s.ticks_per_quarter
        # ten bars of three quarters, the last bar held to its end; after a pickup, the MIDI opens with the silence
        # before the upbeat (its bar less the pickup)
        assert end == 10 * 3.0 + ((12 - e["pickup_steps"]) / 4 if e["pickup_steps"] else 0)
        sc = music21.converter.parse(out / e["files"]["musicxml"])
        assert len(sc.parts) == 1 and sc.parts[0].recurse().notes  # a tune: one staff
        label = "seed 0" + (f", piece {e['index']}" if e["index"] else "")
        assert e["title"].startswith("Folk piece in ") and e["title"].endswith(label)


@pytest.mark.parametrize("args, message", [
    (["--bars", "0"], "--bars must be 1..128"),
    (["--bars", "100000"], "--bars must be 1..128"),
    (["--meter", "5/4"], "never saw meter 5/4"),
    (["--style", "bach", "--meter", "6/8"], "style bach never uses meter 6/8"),
])
def test_generate_refuses_bad_lengths_and_meters(tiny_mle_run, tmp_path, capsys, args, message):
    from divertimento.cli import main

    assert main(["generate", "--model", str(tiny_mle_run), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
