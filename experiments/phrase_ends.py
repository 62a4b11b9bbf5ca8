"""How the corpus's phrases end, the figures studio/phrases.py gives its cadences by:

    python experiments/phrase_ends.py [--json runs/phrase_ends.json]

- Bach's four-part chorales (music21's corpus, the ones in 4/4 or 3/4 with fermatas in the soprano): the steps
  between fermatas, the beat a fermata falls on, how long the fermata chord is, and the bass's degree under each
  fermata (semitones above the tonic of the chorale's key, music21's Krumhansl-Kessler estimate), for internal
  phrase ends and the last one, in major and minor keys; and the share of fermata chords that are root-position
  triads (``long_pieces.triad_over_bass``, as for generated chorales).
- O'Neill's 1850 collection (the Irish style's tunes): the share of 8-bar strains whose last bar opens on the tonic
  (music21's key estimate of the tune), and in which the tonic sounds at all, counting bars from the first full
  bar.
"""

import argparse
import collections
import json

import music21 as m21
from long_pieces import triad_over_bass  # experiments/ is the script's own folder, first on sys.path
from music21 import corpus


def chorale_figures(limit: int | None = None) -> dict:
    gaps, beats, lengths = collections.Counter(), collections.Counter(), collections.Counter()
    triads: list[bool] = []
    inner = {"major": collections.Counter(), "minor": collections.Counter()}
    final = {"major": collections.Counter(), "minor": collections.Counter()}
    used = 0
    for path in corpus.getComposer("bach")[:limit]:
        try:
            score = corpus.parse(path)
        except Exception:  # a file music21 cannot read is not a chorale we can count
            continue
        meters = score.recurse().getElementsByClass("TimeSignature")
        if len(score.parts) != 4 or not meters or meters[0].ratioString not in ("4/4", "3/4"):
            continue
        soprano, bass = score.parts[0].flatten().notes, score.parts[-1].flatten().notes
        held = [n for n in soprano if any(isinstance(e, m21.expressions.Fermata) for e in n.expressions)]
        if len(held) < 2:
            continue
        key = score.analyze("key")
        mode = "minor" if key.mode == "minor" else "major"
        used += 1
        for a, b in zip(held, held[1:]):
            gaps[float(b.offset - a.offset)] += 1
        chords = score.chordify().flatten().notes
        for i, n in enumerate(held):
            at = [c for c in chords if c.offset <= n.offset < c.offset + c.quarterLength]
            if at and hasattr(at[0], "pitches"):
                triads.append(triad_over_bass([p.midi for p in at[0].pitches]))
            beats[float(n.beat)] += 1
            lengths[float(n.quarterLength)] += 1
            under = [b for b in bass if b.offset <= n.offset < b.offset + b.quarterLength and hasattr(b, "pitch")]
            if under:
                degree = (under[0].pitch.pitchClass - key.tonic.pitchClass) % 12
                (final if i == len(held) - 1 else inner)[mode][degree] += 1

    def shares(c: collections.Counter) -> dict:
        total = sum(c.values())
        return {str(k): round(v / total, 3) for k, v in c.most_common()}

    return {"chorales": used, "quarters_between_fermatas": shares(gaps), "fermata_beat": shares(beats),
            "fermata_quarters": shares(lengths),
            "fermata_chords": len(triads), "root_position_triads": round(sum(triads) / max(1, len(triads)), 3),
            "inner_bass_degree": {m: shares(c) for m, c in inner.items()},
            "final_bass_degree": {m: shares(c) for m, c in final.items()}}


def strain_figures() -> dict:
    down = sounds = strains = tunes = 0
    for path in corpus.getPaths():
        if "oneills1850" not in str(path):
            continue
        parsed = corpus.parse(path)  # a file of several tunes is an Opus, of one a Score
        for score in (parsed.scores if hasattr(parsed, "scores") else [parsed]):
            part = score.parts[0] if score.parts else score
            measures = list(part.getElementsByClass("Measure"))
            if len(measures) < 9:
                continue
            tonic = score.analyze("key").tonic.pitchClass
            first = 1 if measures[0].duration.quarterLength < measures[1].duration.quarterLength else 0
            tunes += 1
            for end in range(first + 7, len(measures), 8):
                notes = [n for n in measures[end].notes if hasattr(n, "pitch")]
                if notes:
                    strains += 1
                    down += notes[0].offset == 0 and notes[0].pitch.pitchClass == tonic
                    sounds += any(n.pitch.pitchClass == tonic for n in notes)
    return {"tunes": tunes, "strains": strains, "last_bar_opens_on_tonic": round(down / max(1, strains), 3),
            "tonic_sounds_in_last_bar": round(sounds / max(1, strains), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    ap.add_argument("--limit", type=int, default=None, help="chorale files to read (default: all)")
    args = ap.parse_args()
    out = {"bach": chorale_figures(args.limit), "irish": strain_figures()}
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
