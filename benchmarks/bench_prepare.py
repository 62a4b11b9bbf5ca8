"""Speed of prepare on a folder of real MIDI files, on a folder of multi-track band songs (band and piano
layouts), and of the embedded default (cold and warm cache).

    python benchmarks/bench_prepare.py --data data/default [--files 3000] [--band-files 1000] [--default]

The MIDI folder is made from real windows of a prepared dataset, written as 8-bar pieces (two consecutive
windows of one piece) in several transpositions, so the parser sees real music. The band songs are
``experiments/band_midi.py``'s: 16 bars of drums, bass, piano and sometimes guitar, strings or a lead."""

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from divertimento.data.dataset import load_prepared
from divertimento.data.prepare import PrepareOptions, prepare
from divertimento.music.notes import Piece, Track
from divertimento.music.roll import tokens_to_notes
from divertimento.music.write import write_midi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))
from band_midi import write_song  # noqa: E402  (an experiment script, not part of the package)


def make_midi_folder(data_dir: str, folder: Path, n_files: int) -> None:
    data = load_prepared(data_dir)
    rolls, styles = data.splits["train"]["rolls"], data.splits["train"]["style"]
    names = data.style_names
    rng = np.random.default_rng(0)
    for i in range(n_files):
        j = int(rng.integers(len(rolls)))
        shift = int(rng.integers(-2, 3))
        tracks = [Track(role, 0, False, _shifted(tokens_to_notes(rolls[j, v], data.low), shift))
                  for v, role in enumerate(data.manifest["roles"])]
        bars = np.asarray([(s, 16, 4, 4) for s in range(0, 64, 16)], dtype=np.int32)
        sub = folder / names[styles[j]]
        sub.mkdir(parents=True, exist_ok=True)
        write_midi(Piece(f"p{i}", 4, tracks, bars), sub / f"piece{i:05d}.mid")


def _shifted(notes: np.ndarray, shift: int) -> np.ndarray:
    notes = notes.copy()
    notes[:, 2] += shift
    return notes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--band-files", type=int, default=1000)
    ap.add_argument("--default", action="store_true", help="also time the embedded default, cold and warm")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    try:
        folder = tmp / "midi"
        make_midi_folder(args.data, folder, args.files)
        t0 = time.perf_counter()
        m = prepare(tmp / "out", PrepareOptions(sources=[str(folder)], workers=args.workers,
                                                cache_dir=str(tmp / "cache")), progress=False)
        dt = time.perf_counter() - t0
        print(f"MIDI folder: {args.files} files -> {m['windows']} windows in {dt:.2f} s = "
              f"{args.files / dt:.0f} files/s end to end ({args.workers} workers)")
        band = tmp / "band"
        band.mkdir()
        for i in range(args.band_files):
            write_song(band / f"song{i:05d}.mid", random.Random(i))
        for layout in ("band", "piano"):
            t0 = time.perf_counter()
            m = prepare(tmp / f"out-{layout}", PrepareOptions(sources=[str(band)], layout=layout,
                                                              workers=args.workers), progress=False)
            dt = time.perf_counter() - t0
            print(f"band songs, {layout} layout: {args.band_files} files ({m['notes']['placed']} notes placed) -> "
                  f"{m['windows']} windows in {dt:.2f} s = {args.band_files / dt:.0f} files/s end to end "
                  f"({args.workers} workers)")
        if args.default:
            cache = tmp / "default-cache"
            for label in ("cold", "warm"):
                t0 = time.perf_counter()
                m = prepare(tmp / "default", PrepareOptions(workers=args.workers, cache_dir=str(cache)),
                            progress=False)
                print(f"embedded default ({label} cache): {m['windows']} windows from "
                      f"{sum(sum(v['pieces'].values()) for v in m['styles'].values())} pieces in "
                      f"{time.perf_counter() - t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
