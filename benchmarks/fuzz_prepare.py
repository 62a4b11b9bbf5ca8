"""Bad and odd inputs for ``prepare``: builds a folder of at least 3,000 files of every supported format (broken,
truncated, hostile, or merely strange), runs ``divertimento prepare`` on it in a subprocess, and reports crashes,
hangs, peak memory and inputs that vanished without a word.

    python benchmarks/fuzz_prepare.py [--n 3000] [--seed 0] [--keep DIR] [--timeout 1200]

Every file is either turned into windows or listed in the manifest's ``skipped`` with a reason; a traceback, a
non-zero exit other than "no usable windows", a run past --timeout, or a file neither used nor skipped is a
finding. Peak RSS is the largest resident set of the prepare process and its workers (sampled every 0.2 s).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import symusic

from divertimento.data.sources import corpus_root

ABC = "X:{x}\nT:t{x}\nM:{m}\nL:1/8\nK:{k}\n{body}\n"
XML_NOTE = ('<note><pitch><step>{s}</step><octave>{o}</octave></pitch><duration>{d}</duration>'
            '<type>quarter</type></note>')
XML = ('<?xml version="1.0"?><score-partwise version="3.1"><part-list><score-part id="P1"><part-name>M</part-name>'
       '</score-part></part-list><part id="P1"><measure number="1"><attributes><divisions>{div}</divisions>'
       '<time><beats>{b}</beats><beat-type>{bt}</beat-type></time></attributes>{notes}</measure></part>'
       '</score-partwise>')


def midi_bytes(rng: random.Random) -> bytes:
    s = symusic.Score(rng.choice([1, 24, 96, 480, 960, 32767]))
    for k in range(rng.choice([0, 1, 2, 5])):
        t = symusic.Track(f"t{k}", rng.randrange(128), rng.random() < 0.2)
        for _ in range(rng.choice([0, 1, 10, 200])):
            t.notes.append(symusic.Note(rng.randrange(0, 10**rng.choice([2, 4, 7])), rng.randrange(1, 2000),
                                        rng.randrange(128), rng.randrange(1, 128)))
        s.tracks.append(t)
    for _ in range(rng.choice([0, 1, 3])):
        when = rng.randrange(0, 10**rng.choice([1, 3, 8]))
        s.time_signatures.append(symusic.TimeSignature(when, rng.choice([1, 3, 4, 5, 6, 7, 12, 99]),
                                                       rng.choice([1, 2, 4, 8, 16])))
    with tempfile.NamedTemporaryFile(suffix=".mid", delete=False) as f:
        path = f.name
    s.dump_midi(path)
    data = Path(path).read_bytes()
    os.unlink(path)
    return data


def mutate(data: bytes, rng: random.Random) -> bytes:
    kind = rng.choice(["truncate", "flip", "insert", "same"])
    b = bytearray(data)
    if kind == "truncate" and b:
        b = b[: rng.randrange(len(b))]
    elif kind == "flip" and b:
        for _ in range(rng.randrange(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "insert":
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = os.urandom(rng.randrange(1, 64))
    return bytes(b)


def build(root: Path, n: int, seed: int) -> int:
    rng = random.Random(seed)
    style = root / "fuzz"
    style.mkdir(parents=True)
    real = sorted((corpus_root() / "bach").glob("bwv1*.mxl"))[:20]
    made = 0
    while made < n:
        k = made
        fmt = rng.choice(["mid", "abc", "xml", "mxl", "krn", "odd"])
        path = style / f"f{k:05d}.{ 'musicxml' if fmt == 'xml' else fmt}"
        if fmt == "mid":
            path.write_bytes(mutate(midi_bytes(rng), rng))
        elif fmt == "abc":
            body = "".join(rng.choice(["A", "B2", "c/2", "z", "|", "[M:3/4]", "C1000", "^^f", "(3abc", "::"])
                           for _ in range(rng.choice([1, 20, 400])))
            text = "".join(ABC.format(x=rng.choice([1, 1, 2, 3]), m=rng.choice(["6/8", "4/4", "C|", "99999/1", "0/0"]),
                                      k=rng.choice(["D", "Gm", "H", ""]), body=body) for _ in range(rng.choice([1, 3])))
            path.write_bytes(mutate(text.encode(), rng) if rng.random() < 0.3 else text.encode())
        elif fmt == "xml":
            notes = "".join(XML_NOTE.format(s=rng.choice("CDEFGABX"), o=rng.choice([4, 5, -1, 99]),
                                            d=rng.choice([1, 2, 0, -1, 2147483000]))
                            for _ in range(rng.choice([0, 1, 30])))
            text = XML.format(div=rng.choice([1, 4, 0]), b=rng.choice([3, 6, 0, 99999]), bt=rng.choice([4, 8, 3]),
                              notes=notes)
            if rng.random() < 0.1:
                text = "<score-partwise><part-list/></score-partwise>"
            path.write_bytes(mutate(text.encode(), rng) if rng.random() < 0.3 else text.encode())
        elif fmt == "mxl":
            src = rng.choice(real).read_bytes() if real else b""
            if rng.random() < 0.2:
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                    z.writestr("score.xml", b" " * rng.choice([10, 2**20, 80 * 2**20]))
            else:
                path.write_bytes(mutate(src, rng))
        elif fmt == "krn":
            path.write_bytes(mutate(b"**kern\n*M4/4\n4c\n4d\n4e\n4f\n*-\n", rng))
        else:  # things that are not files at all, or files of no music
            choice = rng.choice(["dangling", "dir", "fifo", "empty", "devzero", "loop"])
            path = style / f"f{k:05d}.mid"
            if choice == "dangling":
                path.symlink_to(style / "nowhere.mid")
            elif choice == "dir":
                path.mkdir()
            elif choice == "fifo":
                os.mkfifo(path)
            elif choice == "empty":
                path.write_bytes(b"")
            elif choice == "devzero":
                path.symlink_to("/dev/zero")
            else:
                path.symlink_to(path)
        made += 1
    return made


def peak_rss(pid: int) -> int:
    """Resident bytes of a process and its children."""
    total = 0
    try:
        out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)], capture_output=True, text=True)
        total = sum(int(x) for x in out.stdout.split()) * 1024
    except (OSError, ValueError):
        pass
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None, help="build the inputs here and keep them")
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--file-time-limit", type=float, default=120, help="prepare's limit per file (seconds)")
    args = ap.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="fuzz-"))
    if root.exists() and any(root.iterdir()):
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    n = build(root / "src", args.n, args.seed)
    out = root / "out"
    cmd = [sys.executable, "-m", "divertimento.cli", "prepare", str(root / "src"), "--out", str(out),
           "--cache", str(root / "cache"), "--file-time-limit", str(args.file_time_limit)]
    t0, peak = time.monotonic(), 0
    log = root / "prepare.log"  # a file, not a pipe: progress output must never block the run being measured
    with open(log, "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        while p.poll() is None and time.monotonic() - t0 < args.timeout:
            peak = max(peak, peak_rss(p.pid))
            time.sleep(0.2)
        hung = p.poll() is None
        if hung:
            p.kill()
        p.wait()
    stderr = log.read_text(errors="replace")
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else {}
    pieces = json.loads((out / "pieces.json").read_text()) if (out / "pieces.json").exists() else []
    seen = {s["source"].split("#")[0] for s in manifest.get("skipped", [])} | {p["source"].split("#")[0]
                                                                              for p in pieces}
    inputs = {str(q) for q in (root / "src" / "fuzz").iterdir()}
    vanished = sorted(inputs - seen)
    report = {"inputs": n, "seconds": round(time.monotonic() - t0, 1), "exit": p.returncode, "hung": hung,
              "traceback": "Traceback" in stderr, "peak_rss_mib": round(peak / 2**20), "used": len(pieces),
              "skipped": len(manifest.get("skipped", [])), "vanished": len(vanished), "vanished_examples":
              vanished[:5], "reasons": manifest.get("skipped_reason_counts", {}),
              "stderr_tail": stderr.strip().splitlines()[-2:]}
    print(json.dumps(report, indent=1))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    bad = hung or report["traceback"] or report["vanished"] or (p.returncode not in (0, 2))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
