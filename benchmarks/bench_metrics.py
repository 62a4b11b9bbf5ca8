"""Time every metric on 10,000 four-bar windows.

    python benchmarks/bench_metrics.py [DATA_DIR] [--n 10000] [--threads 2]

The generated set is made of DATA_DIR's val + test windows, tiled to --n with random transpositions and 10 % of
the notes moved by a semitone or two (so nothing is an exact duplicate and near-copy search has work to do). The
reference and the training set are DATA_DIR's train split. Prints seconds for: the reference statistics from
cold (no cache), the same from the disk cache, and all metrics on the generated set (the figure the < 30 s
target is about), with the time of each metric.
"""

import argparse
import os
import sys
import tempfile
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", default="data/default", help="prepared dataset (default data/default)")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (the target machine has 2 cores)")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ["DIVERTIMENTO_CACHE"] = tempfile.mkdtemp(prefix="bench-metrics-cache-")

    import numpy as np

    from divertimento.data.dataset import load_prepared
    from divertimento.metrics import reference as R
    from divertimento.metrics.sets import WindowSet, from_prepared
    from divertimento.metrics.suite import evaluate_set

    data = load_prepared(args.data)
    src = np.concatenate([from_prepared(data, "val").tokens, from_prepared(data, "test").tokens])
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(src), args.n)
    tok = src[idx].astype(np.int16)
    pitch = tok >= 2
    tok = np.where(pitch, tok + rng.integers(-3, 4, (args.n, 1, 1)), tok)
    nudge = pitch & (rng.random(tok.shape) < 0.1)
    tok = np.where(nudge, tok + rng.choice([-2, -1, 1, 2], tok.shape), tok)
    tok = np.clip(tok, 0, 129).astype(np.uint8)
    gen = WindowSet(tok, int(data.manifest["steps_per_quarter"]), tuple(data.manifest["roles"]), "bench")

    t = time.perf_counter()
    ref = R.load_reference(data)
    train = R.load_train(data)
    cold = time.perf_counter() - t
    R._MEMO.clear()
    t = time.perf_counter()
    ref = R.load_reference(data)
    train = R.load_train(data)
    warm = time.perf_counter() - t

    t = time.perf_counter()
    ev = evaluate_set(gen, ref, train)
    total = time.perf_counter() - t

    print(f"data: {args.data}; reference/train windows: {ref.n}; generated windows: {len(gen)}; "
          f"BLAS threads: {args.threads}")
    print(f"reference + train statistics, cold: {cold:.1f} s; from cache: {warm:.1f} s")
    for k, v in sorted(ev.timings.items(), key=lambda kv: -kv[1]):
        if v >= 0.05:
            print(f"  {k:45s} {v:6.2f} s")
    print(f"ALL METRICS on {len(gen)} windows: {total:.1f} s ({len(ev.metrics)} numbers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
