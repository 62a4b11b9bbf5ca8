"""Exported scores read by two independent readers: every MusicXML and MIDI file ``generate`` wrote in a folder is
parsed by music21 (key signature, time signature, no empty staff) and symusic, and engraved to PDF by MuseScore
(Debian ``musescore3``, headless), with pages counted.

    python benchmarks/check_scores.py OUT_DIR [--png]

``--png`` also writes the first page of each score as a PNG next to it, to look at. Prints one line per file and a
summary; exits 1 if any file fails a reader.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import music21
import symusic


def musescore() -> str | None:
    return shutil.which("mscore3") or shutil.which("musescore3") or shutil.which("mscore")


def engrave(exe: str, src: Path, out: Path) -> bool:
    """MuseScore converts ``src`` to ``out`` (PDF, or PNG pages named out-1.png, ...); True when it did."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        r = subprocess.run([exe, "-o", str(out), str(src)], env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and (out.exists() or out.with_name(f"{out.stem}-1{out.suffix}").exists())


def check_xml(path: Path) -> dict:
    sc = music21.converter.parse(path)
    keys = [k.sharps for k in sc.recurse().getElementsByClass("KeySignature")]
    meters = sorted({t.ratioString for t in sc.recurse().getElementsByClass("TimeSignature")})
    empty = [p.partName for p in sc.parts if not p.recurse().notes]
    return {"key_sharps": keys[0] if keys else None, "meters": meters, "staves": len(sc.parts), "empty": empty,
            "measures": len(sc.parts[0].getElementsByClass("Measure")) if sc.parts else 0,
            "title": sc.metadata.bestTitle, "composer": sc.metadata.composer}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--png", action="store_true")
    args = ap.parse_args()
    folder = Path(args.folder)
    exe = musescore()
    if exe is None:
        print("MuseScore not found (apt-get install musescore3); engraving skipped", file=sys.stderr)
    failures, rows = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for xml in sorted(folder.rglob("*.musicxml")):
            row = {"file": xml.name, **check_xml(xml)}
            ok = row["key_sharps"] is not None and row["meters"] and not row["empty"]
            midi = xml.with_suffix(".mid")
            if midi.exists():
                s = symusic.Score(str(midi))
                row["midi"] = {"tracks": len(s.tracks), "time_signatures": [f"{t.numerator}/{t.denominator}"
                                                                           for t in s.time_signatures],
                               "key_signatures": [k.key for k in s.key_signatures]}
                ok = ok and bool(s.time_signatures) and bool(s.key_signatures)
            if exe:
                pdf = Path(tmp) / (xml.stem + ".pdf")
                engraved = engrave(exe, xml, pdf)
                row["engraved_pdf_bytes"] = pdf.stat().st_size if engraved else None
                ok = ok and engraved
                if args.png and engraved:
                    engrave(exe, xml, xml.with_suffix(".png"))
            row["ok"] = bool(ok)
            failures += not ok
            rows.append(row)
            print(json.dumps(row))
    print(f"{len(rows)} scores, {failures} failed; MuseScore {'used' if exe else 'absent'}", file=sys.stderr)
    return 1 if failures or not rows else 0


if __name__ == "__main__":
    raise SystemExit(main())
