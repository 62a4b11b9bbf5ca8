"""Write a folder of multi-track band MIDI (Lakh-like: drums on channel 10, bass, piano, guitar, strings or a lead)
to test and benchmark the band and piano layouts offline, where Lakh cannot be downloaded.

Each song is 16 bars in a key, a meter (mostly 4/4, some 3/4 and 12/8), a tempo and one of several grooves: a
chord progression voiced on the piano with a comping rhythm, a bass line on the roots (with fifths and approach
notes), a drum pattern with fills and a crash every four bars, and, in some songs, guitar power chords or
arpeggios, a string pad, or a lead melody on chord and scale tones. Some songs change tempo half way.

    python experiments/band_midi.py OUT_DIR [--n 300] [--seed 0]
"""

import argparse
import random
from pathlib import Path

import mido

TPB = 480
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
# progressions as scale degrees (0 = I); four bars each
PROGRESSIONS = {
    "major": [(0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 3), (1, 4, 0, 0), (0, 5, 1, 4), (3, 4, 0, 0)],
    "minor": [(0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 3, 6, 2), (5, 6, 0, 0)],
}
METERS = [((4, 4), 0.75), ((3, 4), 0.15), ((12, 8), 0.10)]


def _chord(scale, tonic, degree, sevenths):
    """Pitch classes (root first) of the diatonic triad or seventh chord on ``degree``."""
    steps = (0, 2, 4, 6) if sevenths else (0, 2, 4)
    return [(tonic + scale[(degree + s) % 7]) % 12 for s in steps]


def _near(pc, centre):
    """The pitch of class ``pc`` nearest ``centre``."""
    return centre + ((pc - centre + 6) % 12) - 6


class Song:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.meter = rng.choices([m for m, _ in METERS], [w for _, w in METERS])[0]
        num, den = self.meter
        self.beat = TPB * 4 // den * (3 if num % 3 == 0 and num > 3 else 1)  # ticks per felt beat
        self.beats = num // 3 if num % 3 == 0 and num > 3 else num
        self.bar = self.beat * self.beats
        self.minor = rng.random() < 0.4
        self.scale = MINOR if self.minor else MAJOR
        self.tonic = rng.randrange(12)
        self.prog = rng.choice(PROGRESSIONS["minor" if self.minor else "major"])
        self.sevenths = rng.random() < 0.3
        self.tempo = rng.randrange(80, 150)
        self.tracks: dict[str, tuple[int, int, list]] = {}  # name -> (channel, program, notes)

    def chord_at(self, bar):
        return _chord(self.scale, self.tonic, self.prog[bar % 4] if bar < 15 else 0, self.sevenths)

    def add(self, name, channel, program, notes):
        self.tracks[name] = (channel, program, notes)

    def drums(self, bars):
        rng, b, n = self.rng, self.beat, self.beats
        style = rng.choice(["rock", "floor", "half", "funk"]) if n == 4 else "simple"
        notes = []
        for bar in range(bars):
            t0 = bar * self.bar
            hats = 2 if style != "funk" else 4
            for k in range(n * hats):
                open_hat = style == "floor" and k % 2 == 1
                notes.append((t0 + k * b // hats, b // 4, 46 if open_hat else 42, rng.randrange(60, 90)))
            kicks = {"rock": [0, 2], "floor": [0, 1, 2, 3], "half": [0], "funk": [0, 1.5, 2.5], "simple": [0]}[style]
            snares = {"rock": [1, 3], "floor": [1, 3], "half": [2], "funk": [1, 3], "simple": list(range(1, n))}[style]
            notes += [(t0 + int(k * b), b // 4, 36, 100) for k in kicks if k < n]
            notes += [(t0 + int(k * b), b // 4, 38, 100) for k in snares if k < n]
            if style == "funk":
                notes.append((t0 + int(2.75 * b), b // 4, 38, 45))  # a ghost note
            if bar % 4 == 3:  # a fill over the last beat into a crash on the next downbeat
                for k, tom in enumerate((50, 48, 45, 41)):
                    notes.append((t0 + (n - 1) * b + k * b // 4, b // 4, tom, 95))
            if bar % 4 == 0:
                notes.append((t0, b, 49, 105))
        self.add("Drums", 9, 0, notes)

    def bass(self, bars):
        rng, b = self.rng, self.beat
        kind = rng.choice(["roots", "eighths", "fifths", "walk"])
        notes = []
        for bar in range(bars):
            t0, ch = bar * self.bar, self.chord_at(bar)
            root = _near(ch[0], 40)
            nxt = _near(self.chord_at(bar + 1)[0], 40)
            for k in range(self.beats):
                if kind == "roots":
                    notes.append((t0 + k * b, b * 9 // 10, root, 95))
                elif kind == "eighths":
                    notes += [(t0 + k * b + h * b // 2, b // 2 - 20, root, 90 + 10 * (h == 0)) for h in (0, 1)]
                elif kind == "fifths":
                    notes.append((t0 + k * b, b * 9 // 10, root + (7 if k % 2 else 0), 95))
                else:  # walking: root, chord tones, a chromatic approach to the next bar's root
                    p = [root, _near(ch[1], root + 4), _near(ch[2], root + 7), nxt + rng.choice((-1, 1))]
                    notes.append((t0 + k * b, b * 9 // 10, p[k % 4] if k < self.beats - 1 else p[3], 92))
        self.add("Bass", 1, rng.choice((32, 33, 34, 35)), notes)

    def piano(self, bars):
        rng, b = self.rng, self.beat
        rhythm = rng.choice(["whole", "beats", "offbeats", "syncopated"])
        centre = rng.choice((60, 64, 67))
        notes = []
        for bar in range(bars):
            t0 = bar * self.bar
            voicing = sorted(_near(pc, centre) for pc in self.chord_at(bar))
            if rhythm == "whole" or bar == bars - 1:
                hits = [(0, self.bar - 30)]
            elif rhythm == "beats":
                hits = [(k * b, b - 30) for k in range(self.beats)]
            elif rhythm == "offbeats":
                hits = [(k * b + b // 2, b // 2 - 20) for k in range(self.beats)]
            else:
                hits = [(0, b + b // 2 - 20), (b + b // 2, b - 20), (self.bar - b, b - 20)]
            for at, dur in hits:
                notes += [(t0 + at, dur, p, rng.randrange(65, 85)) for p in voicing]
        self.add("Piano", 0, rng.choice((0, 1, 4)), notes)

    def guitar(self, bars):
        rng, b = self.rng, self.beat
        arpeggio = rng.random() < 0.5
        notes = []
        for bar in range(bars):
            t0, ch = bar * self.bar, self.chord_at(bar)
            root = _near(ch[0], 52)
            if arpeggio:
                tones = sorted(_near(pc, 62) for pc in ch)
                notes += [(t0 + k * b // 2, b // 2 - 10, tones[k % len(tones)], 75) for k in range(self.beats * 2)]
            else:  # power chords on the beats
                notes += [(t0 + k * b, b - 40, p, 85) for k in range(self.beats) for p in (root, root + 7)]
        self.add("Guitar", 2, rng.choice((25, 27, 29, 30)), notes)

    def strings(self, bars):
        notes = []
        for bar in range(bars):
            voicing = sorted(_near(pc, 67) for pc in self.chord_at(bar)[:3])
            notes += [(bar * self.bar, self.bar - 20, p, 60) for p in voicing]
        self.add("Strings", 3, 48, notes)

    def lead(self, bars):
        rng, b = self.rng, self.beat
        notes, p = [], _near(self.tonic, 74)
        for bar in range(bars):
            ch = self.chord_at(bar)
            t = bar * self.bar
            while t < (bar + 1) * self.bar:
                dur = rng.choice((b // 2, b, b, b * 2)) if bar < bars - 1 else (bar + 1) * self.bar - t
                dur = min(dur, (bar + 1) * self.bar - t)
                on_beat = (t - bar * self.bar) % b == 0
                pool = ch if on_beat else [(self.tonic + s) % 12 for s in self.scale]
                cands = [_near(pc, p) for pc in pool]
                p = min(cands, key=lambda q: abs(q - p) + rng.random() * 4)
                if bar == bars - 1:
                    p = _near(self.tonic, p)
                if rng.random() > 0.1 or bar == bars - 1:
                    notes.append((t, dur - 20, p, 88))
                t += dur
        self.add("Lead", 4, rng.choice((56, 65, 73, 80)), notes)


def write_song(path: Path, rng: random.Random, bars: int = 16) -> None:
    song = Song(rng)
    song.drums(bars)
    song.bass(bars)
    song.piano(bars)
    for extra, share in ((song.guitar, 0.6), (song.strings, 0.4), (song.lead, 0.5)):
        if rng.random() < share:
            extra(bars)
    mid = mido.MidiFile(ticks_per_beat=TPB)
    num, den = song.meter
    meta = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=num, denominator=den),
                           mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(song.tempo))])
    if rng.random() < 0.2:  # a tempo change half way (the grid counts beats, so notes stay in place)
        meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(song.tempo + 10), time=bars // 2 * song.bar))
    mid.tracks.append(meta)
    for name, (channel, program, notes) in song.tracks.items():
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        if channel != 9:
            track.append(mido.Message("program_change", channel=channel, program=program))
        events = sorted([(s, 1, p, v) for s, d, p, v in notes] + [(s + max(d, 10), 0, p, 0) for s, d, p, v in notes],
                        key=lambda e: (e[0], e[1]))
        now = 0
        for tick, on, p, v in events:
            track.append(mido.Message("note_on" if on else "note_off", channel=channel, note=max(0, min(127, p)),
                                      velocity=v, time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(args.n):
        write_song(out / f"song{i:04d}.mid", random.Random(args.seed * 1_000_003 + i))
    print(f"wrote {args.n} songs to {out}")


if __name__ == "__main__":
    main()
