"""The band and piano layouts on hand-made multi-track MIDI: which track goes where, drums as drums, the per-track
report, transposition that leaves the drums alone, and MIDI out with drums on channel 10 (read back by mido)."""

import json

import mido
import numpy as np
import pytest

from divertimento.cli import main
from divertimento.data.dataset import load_prepared, pitched_voices, shift_bounds, transpose_tokens
from divertimento.data.prepare import PrepareOptions, prepare
from divertimento.music.layouts import BAND, PIANO
from divertimento.music.roll import FIRST_PITCH_TOKEN, HOLD, REST
from divertimento.music.write import write_midi
from divertimento.sample.pieces import tokens_to_piece

TPB = 480
STEP = TPB // 4  # one 16th


def _track(name, channel, program, notes):
    """A mido track of (start step, length in steps, pitch) notes."""
    t = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    if program is not None:
        t.append(mido.Message("program_change", channel=channel, program=program))
    events = sorted([(s * STEP, 1, p) for s, d, p in notes] + [((s + d) * STEP, 0, p) for s, d, p in notes],
                    key=lambda e: (e[0], e[1]))
    now = 0
    for tick, on, p in events:
        t.append(mido.Message("note_on" if on else "note_off", channel=channel, note=p, velocity=90 if on else 0,
                              time=tick - now))
        now = tick
    return t


def band_midi(path, bars=4):
    """Four 4/4 bars: a kit on channel 10 (kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on 8ths), a
    cowbell on channel 11 in a track named "Percussion", a C major chord held through each bar (piano), a bass
    C2 on every beat (program 33), a guitar E4 on the second 8th (program 25), a violin G5 per bar (program 40);
    the tempo goes 120 -> 90 at bar 3."""
    mid = mido.MidiFile(ticks_per_beat=TPB)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000),
                           mido.MetaMessage("set_tempo", tempo=666667, time=2 * 16 * STEP)])
    kit, cowbell, chord, bass, guitar, violin = [], [], [], [], [], []
    for b in range(bars):
        o = b * 16
        kit += [(o, 1, 36), (o + 8, 1, 36), (o + 4, 1, 38), (o + 12, 1, 38)] + [(o + k, 1, 42) for k in range(0, 16, 2)]
        cowbell.append((o + 6, 1, 56))
        chord += [(o, 16, 60), (o, 16, 64), (o, 16, 67)]
        bass += [(o + k, 4, 36) for k in (0, 4, 8, 12)]
        guitar.append((o + 2, 2, 64))
        violin.append((o, 16, 79))
    mid.tracks += [meta, _track("Kit", 9, None, kit), _track("Percussion", 10, 0, cowbell),
                   _track("Piano", 0, 0, chord), _track("Bass", 1, 33, bass), _track("Guitar", 2, 25, guitar),
                   _track("Violin", 3, 40, violin)]
    mid.save(path)


@pytest.fixture
def band_folder(tmp_path):
    (tmp_path / "midi").mkdir()
    band_midi(tmp_path / "midi" / "groove.mid")
    return tmp_path / "midi"


def _prepare(src, out, layout):
    m = prepare(out, PrepareOptions(sources=[f"{src}=groove"], layout=layout, workers=1), progress=False)
    data = load_prepared(out)
    rolls = np.concatenate([data.splits[sp]["rolls"] for sp in ("train", "val", "test")])
    return m, data, rolls


def test_band_tracks_go_to_their_lpd5_parts_and_drums_to_their_family_lanes(band_folder, tmp_path, capsys):
    m, data, rolls = _prepare(band_folder, tmp_path / "d", "band")
    assert m["roles"] == list(BAND.roles) and len(m["roles"]) == 15
    assert m["drum_voices"] == [True] * 4 + [False] * 11
    assert m["pitch_range"] == [36, 79] and rolls.shape == (1, 15, 64)
    low = 36
    tok = rolls[0].astype(int)
    role = {r: i for i, r in enumerate(m["roles"])}

    def onsets(r):
        return {int(s): int(tok[role[r], s]) - FIRST_PITCH_TOKEN + low for s in np.flatnonzero(tok[role[r]] >= 2)}

    bar = [0, 16, 32, 48]
    assert onsets("drums 1") == {s + k: 36 for s in bar for k in (0, 8)}  # kick
    assert onsets("drums 2") == {s + k: 38 for s in bar for k in (4, 12)}  # snare
    assert onsets("drums 3") == {s + k: 42 for s in bar for k in range(0, 16, 2)}  # hi-hat
    assert onsets("drums 4") == {s + 6: 56 for s in bar}  # the cowbell of the track named Percussion, channel 11
    assert (tok[role["drums 1"], 1] == REST)  # a hit is one step long
    # the chord: G4, E4, C4 over piano lanes 1-3, held through the bar; lane 4 silent
    assert [onsets(f"piano {k}") for k in (1, 2, 3)] == [{s: p for s in bar} for p in (67, 64, 60)]
    assert (tok[role["piano 1"], 1:16] == HOLD).all() and (tok[role["piano 4"]] == REST).all()
    assert onsets("bass") == {s + k: 36 for s in bar for k in (0, 4, 8, 12)}
    assert onsets("guitar 1") == {s + 2: 64 for s in bar} and onsets("strings 1") == {s: 79 for s in bar}
    # the per-track report says where each track went
    piece = json.loads((tmp_path / "d" / "pieces.json").read_text())[0]
    where = {t["name"]: (t["part"], t["kept"]) for t in piece["tracks"]}
    assert where == {"Kit": ("drums", 48), "Percussion": ("drums", 4), "Piano": ("piano", 12), "Bass": ("bass", 16),
                     "Guitar": ("guitar", 4), "Violin": ("strings", 4)}
    assert piece["tempo"] == {"qpm": 120.0, "changes": 1}
    assert main(["data-info", str(tmp_path / "d"), "--tracks"]) == 0
    report = capsys.readouterr().out
    assert "1 tempo change(s), first tempo kept" in report
    assert "Percussion               program   0 [drums] -> drums, 4 of 4 notes kept" in report
    assert "drum hits per lane: kick 8, snare 8, hi-hat 32, toms and cymbals 4" in report


def test_transposition_moves_the_pitched_lanes_and_never_the_drums(band_folder, tmp_path):
    m, data, rolls = _prepare(band_folder, tmp_path / "d", "band")
    pitched = pitched_voices(m)
    assert pitched.tolist() == [False] * 4 + [True] * 11
    # without the bass, the pitched lanes span C4 (60) .. G5 (79) in a vocabulary of 36..79: they may go down 3
    # semitones but not up; counted as pitches, the kick's key 36 would forbid going down as well
    no_bass = rolls.copy()
    no_bass[:, 11] = REST
    assert [int(x[0]) for x in shift_bounds(no_bass, m["vocab_size"], -3, 3, pitched)] == [-3, 0]
    assert [int(x[0]) for x in shift_bounds(no_bass, m["vocab_size"], -3, 3)] == [0, 0]
    moved = transpose_tokens(no_bass, np.array([-3]), m["vocab_size"], pitched)
    assert (moved[:, :4] == no_bass[:, :4]).all()  # the drum lanes keep their keys
    piano = no_bass[:, 4:8] >= 2
    assert (moved[:, 4:8][piano] == no_bass[:, 4:8][piano].astype(int) - 3).all()


def test_the_piano_layout_takes_the_keyboard_tracks_and_leaves_drums_out(band_folder, tmp_path):
    m, data, rolls = _prepare(band_folder, tmp_path / "d", "piano")
    assert m["roles"] == list(PIANO.roles) and rolls.shape == (1, 6, 64)
    piece = json.loads((tmp_path / "d" / "pieces.json").read_text())[0]
    report = {t["name"]: t for t in piece["tracks"]}
    assert report["Kit"]["part"] is None and "drums" in report["Kit"]["left_out"]
    assert report["Percussion"]["part"] is None
    assert [report[n]["left_out"] for n in ("Bass", "Guitar", "Violin")] == [
        f"not a keyboard track (program {p}) in a piece with a piano part" for p in (33, 25, 40)]
    assert report["Piano"] == {"name": "Piano", "program": 0, "drum": False, "notes": 12, "part": "piano", "kept": 12}
    # the chord G4 E4 C4 in lanes 1-3, high to low, from every downbeat
    assert [int(rolls[0, v, 16]) - 2 + m["pitch_range"][0] for v in range(3)] == [67, 64, 60]


def test_the_piano_layout_reduces_a_piece_without_a_keyboard(tmp_path):
    # a string trio: violin G4 + C5 double stop, viola E4, cello C3, all on each downbeat for a whole bar
    mid = mido.MidiFile(ticks_per_beat=TPB)
    mid.tracks += [_track("Violin", 0, 40, [(b * 16, 16, p) for b in range(4) for p in (67, 72)]),
                   _track("Viola", 1, 41, [(b * 16, 16, 64) for b in range(4)]),
                   _track("Cello", 2, 42, [(b * 16, 16, 48) for b in range(4)])]
    (tmp_path / "m").mkdir()
    mid.save(tmp_path / "m" / "trio.mid")
    m, data, rolls = _prepare(tmp_path / "m", tmp_path / "d", "piano")
    assert [int(rolls[0, v, 0]) - 2 + m["pitch_range"][0] for v in range(4)] == [72, 67, 64, 48]
    assert (rolls[0, 4:] == REST).all()


def test_band_tokens_export_drums_on_channel_10_with_each_parts_program(band_folder, tmp_path):
    m, data, rolls = _prepare(band_folder, tmp_path / "d", "band")
    piece = tokens_to_piece(rolls[0], m["pitch_range"][0], m, "groove", "test")
    write_midi(piece, tmp_path / "out.mid")
    mid = mido.MidiFile(tmp_path / "out.mid")
    notes_by_channel, programs = {}, {}
    for tr in mid.tracks:
        for msg in tr:
            if msg.type == "note_on" and msg.velocity:
                notes_by_channel.setdefault(msg.channel, []).append(msg.note)
            if msg.type == "program_change":
                programs[msg.channel] = msg.program
    drums = notes_by_channel[9]
    assert sorted(set(drums)) == [36, 38, 42, 56] and len(drums) == 4 * (2 + 2 + 8 + 1)
    by_program = {programs.get(ch): sorted(set(n)) for ch, n in notes_by_channel.items() if ch != 9}
    assert by_program == {0: [60, 64, 67], 25: [64], 33: [36], 48: [79]}


@pytest.mark.filterwarnings("ignore:No instrument found for MIDI program")  # music21's, for the program-300 part
def test_bad_multitrack_input_is_handled_or_skipped_with_a_reason(tmp_path):
    (tmp_path / "m").mkdir()
    # 10,000 notes struck at once on the piano (every pitch, 79 times): the part keeps 4 lanes' worth per onset
    crowd = mido.MidiFile(ticks_per_beat=TPB)
    crowd.tracks.append(_track("Piano", 0, 0, [(b * 16, 16, 30 + k % 79) for b in range(4) for k in range(2500)]))
    crowd.save(tmp_path / "m" / "crowd.mid")
    # a file that is all drums
    drums = mido.MidiFile(ticks_per_beat=TPB)
    drums.tracks.append(_track("Kit", 9, None, [(s, 1, 36) for s in range(0, 64, 4)]))
    drums.save(tmp_path / "m" / "drums.mid")
    # a MusicXML part that claims MIDI program 300
    (tmp_path / "m" / "odd.musicxml").write_text(ODD_PROGRAM)

    prepare(tmp_path / "band", PrepareOptions(sources=[str(tmp_path / "m")], layout="band", workers=1), progress=False)
    pieces = {p["source"].rsplit("/", 1)[-1]: p for p in json.loads((tmp_path / "band" / "pieces.json").read_text())}
    crowd_piano = pieces["crowd.mid"]["tracks"][0]
    # per onset: distinct pitches 30..108 = 79 kept as 4 (3 top + bass), the 2500 - 4 others dropped
    assert crowd_piano["part"] == "piano" and crowd_piano["kept"] == 4 * 4
    assert "more than 4 notes at once" in crowd_piano["left_out"]
    assert pieces["drums.mid"]["tracks"][0]["part"] == "drums"  # the band has a drum part
    odd = pieces["odd.musicxml"]["tracks"][0]
    assert odd["program"] == 0 and odd["part"] == "piano"  # program 300 read as 0 (acoustic piano)

    piano = prepare(tmp_path / "piano", PrepareOptions(sources=[str(tmp_path / "m")], layout="piano", workers=1),
                    progress=False)
    reasons = {s["source"].rsplit("/", 1)[-1]: s["reason"] for s in piano["skipped"]}
    assert reasons == {"drums.mid": "no track fits the layout (drums (the piano layout has no drum part))"}


_MEASURE = "<note><pitch><step>C</step><octave>4</octave></pitch><duration>4</duration><type>whole</type></note>"
_TIME = "<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time></attributes>"
ODD_PROGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>Odd</part-name>
<score-instrument id="P1-I1"><instrument-name>Odd</instrument-name></score-instrument>
<midi-instrument id="P1-I1"><midi-channel>1</midi-channel><midi-program>300</midi-program></midi-instrument>
</score-part></part-list><part id="P1">""" + "".join(
    f'<measure number="{m + 1}">{_TIME if m == 0 else ""}{_MEASURE}</measure>' for m in range(4)
) + "</part></score-partwise>"


def test_a_band_piece_ends_on_the_tonic_in_the_top_piano_lane_and_the_bass_never_in_the_drums():
    from divertimento.models.smc import FREE
    from divertimento.studio.ending import final_cadence, key_of_tokens

    low, vocab = 30, 2 + 60  # pitches 30..89
    opening = np.zeros((15, 32), dtype=np.int64)  # two bars of G major: G-B-D on the piano, G2 in the bass
    for lane, p in ((4, 67), (5, 62), (6, 59)):
        opening[lane, 0], opening[lane, 1:32] = 2 + p - low, HOLD
    opening[11, 0], opening[11, 1:16], opening[11, 16], opening[11, 17:] = 2 + 43 - low, HOLD, 2 + 43 - low, HOLD
    for lane, key in enumerate((37, 42, 44, 46)):  # a hit every step: side stick, hi-hats (C#, F#, G#, A#)
        opening[lane, :] = 2 + key - low
    assert key_of_tokens(opening, low).tonic != 7  # counted as pitches, the drums would move the key off G
    assert key_of_tokens(opening, low, BAND.drum_voices).tonic == 7
    given = final_cadence(opening, 32, 16, low, vocab, layout=BAND)
    last = given[:, 16]
    # G nearest each lane's median: G4 (67) in the top piano lane, G2 (43) in the bass; every other lane free
    assert last[4] == 2 + 67 - low and last[11] == 2 + 43 - low
    assert all(last[v] == FREE for v in range(15) if v not in (4, 11))
    assert (given[[4, 11], 17:] == HOLD).all() and (given[:, :16] == FREE).all()


def test_a_piano_part_is_engraved_on_a_grand_staff_and_drums_on_a_percussion_staff(tmp_path):
    import music21

    from divertimento.music.notes import Piece, Track
    from divertimento.music.write import write_musicxml

    chords = [(b * 16, 16, p, 80) for b in range(2) for p in (48, 55, 64, 67)]  # C3 G3 | E4 G4, two bars
    kit = [(s, 1, 36 if s % 8 == 0 else 42, 80) for s in range(0, 32, 4)]
    piece = Piece("t", 4, [Track("piano", 0, False, np.asarray(chords, dtype=np.int32)),
                           Track("drums", 0, True, np.asarray(kit, dtype=np.int32))],
                  np.asarray([(0, 16, 4, 4), (16, 16, 4, 4)], dtype=np.int32))
    write_musicxml(piece, tmp_path / "p.musicxml")
    score = music21.converter.parse(tmp_path / "p.musicxml")
    staves = list(score.parts)
    assert len(staves) == 3
    clefs = [type(s.recurse().getElementsByClass(music21.clef.Clef).first()).__name__ for s in staves]
    assert clefs == ["TrebleClef", "BassClef", "PercussionClef"]
    pitches = [sorted({p.midi for n in s.recurse().notes for p in n.pitches}) for s in staves[:2]]
    assert pitches == [[64, 67], [48, 55]]  # the right hand from middle C up, the left hand below
    groups = list(score.recurse().getElementsByClass(music21.layout.StaffGroup))
    assert len(groups) == 1 and groups[0].symbol == "brace"


def test_a_style_without_a_tempo_of_its_own_plays_at_its_data_median():
    from divertimento.sample.pieces import style_tempo

    assert style_tempo("pop", "4/4", {"pop": 117.0}) == 117.0  # the median of the songs' tempos
    assert style_tempo("pop", "4/4") == 100.0  # a model without the figure: the default
    assert style_tempo("bach", "4/4", {"bach": 60.0}) == 76.0  # a style's own tempo wins over the data's
    assert style_tempo("irish", "6/8", {}) == 116 * 1.5  # a jig's dotted quarter at the reel's quarter rate
