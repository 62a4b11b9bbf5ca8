"""Speed of the studio's tools on the shipped models, side by side in one run (the machine is shared and noisy):

    python benchmarks/bench_studio.py [--models mle,guided] [--repeats 10] [--json out.json] [--sampling-only]

A model may carry sampling options after an @: ``--models GUIDED,GUIDED@resample_every=16`` times a guided model
judging whole windows beside the same model steering its particles every bar, and ``GUIDED@candidates=4`` the same
model drawing 4 candidates per window instead of its file's 8.

Per model: one 8-bar piece (``compose``: a window as ``generate`` draws it, then 4 bars grown out of its last 2) and
one of 32 bars (ending on the tonic), a harmonisation of an 8-bar melody (16 particles), one bar of the live stream,
and where the file carries strains a 32-bar reel as ``generate`` writes it with its K candidate strains and without
the strain choice, p50 and p90 over --repeats calls each; and the model's own sampling throughput, windows/s for 256
windows drawn in one batch (a guided sampler's 256 x K candidates at once), with float32 products and with bfloat16
ones (``generate_tokens(low_precision=True)``), the median of --repeats batches, and the p50 latency of a single
window. ``--sampling-only`` times the batches alone. Torch runs on 2 threads, as the server does.

It reads the package through its public functions, so the same file times an older checkout:
``PYTHONPATH=OLD_CHECKOUT python benchmarks/bench_studio.py ...``. Runs of the two in turn compare the machine's
drift too (round 17: an unchanged float32 path 430 and then 550 windows/s); a ratio between code paths is measured
in one process, batch by batch (``bench_bfloat16_paths.py``).
"""

import argparse
import json
import statistics
import time

import numpy as np
import torch

from divertimento.atomic import write_json_atomic
from divertimento.sample.sampler import load_sampler
from divertimento.studio import compose as C
from divertimento.studio.engine import Engine
from divertimento.studio.stream import LiveStream
from divertimento.studio.whole import whole_pieces


def timed(fn, repeats: int) -> dict:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"p50_s": round(statistics.median(times), 3), "p90_s": round(float(np.percentile(times, 90)), 3)}


def engine_of(spec: str) -> Engine:
    """MODEL or MODEL@KEY=VALUE@...: the model's engine with those sampling options over its file's."""
    name, *options = spec.split("@")
    overrides = dict(option.split("=", 1) for option in options)
    return Engine(load_sampler(name), overrides=overrides or None)


def bench(name: str, repeats: int, sampling_only: bool = False) -> dict:
    engine = engine_of(name)
    k = iter(range(10_000))
    out = {} if sampling_only else tools(engine, repeats, k)
    s = engine.sampler
    rows = 256 * int(np.prod(s.noise_shape(engine.options)[:-3]))  # every candidate of 256 pieces in one batch
    for key, low in (("sample_windows_per_s", False), ("sample_windows_per_s_bfloat16", True)):
        s.generate_tokens([(4, i) for i in range(8)], low_precision=low,  # warm-up (bfloat16: weights packed once)
                          options=engine.overrides)
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            s.generate_tokens([(4, i) for i in range(256)], batch_size=rows, low_precision=low,
                              options=engine.overrides)
            rates.append(round(256 / (time.perf_counter() - t0), 1))
        out[key] = statistics.median(rates)
        out[key + "_all"] = rates
    out["sample_one_window"] = timed(lambda: s.generate_tokens([(5, next(k))], options=engine.overrides), repeats)
    return out


def tools(engine: Engine, repeats: int, k) -> dict:
    """p50 and p90 latency of the studio's tools on one engine; ``k`` numbers the pieces."""
    style = "bach" if "bach" in engine.style_names else engine.style_names[0]
    melody = C.compose(engine, (9, 0), style, bars=8).tokens[0].astype(np.int64)
    meter = "4/4" if "4/4" in engine.sampler.meter_names else None
    out = {"compose_8_bars": timed(lambda: C.compose(engine, (1, next(k)), style, bars=8), repeats),
           # issue "whole pieces": a 32-bar four-voice piece, its last bar on the tonic (16 Monte Carlo particles)
           "compose_32_bars": timed(lambda: C.compose(engine, (6, next(k)), style, bars=32, meter=meter), repeats),
           "harmonise_8_bars": timed(lambda: C.harmonise(engine, melody, style, (2, next(k))), repeats)}
    stream = LiveStream(engine, seed=3, style=style)
    out["stream_bar"] = timed(stream.next_bar, repeats)
    reels = [(m, row) for m, row in (engine.strains.rows.get("irish", {}) if engine.strains else {}).items()]
    if reels:  # a reel as generate writes it (AABB, 8-bar strains): K candidate strains, and none (K = 0)
        meter = reels[0][0]
        plain = Engine(engine.sampler, overrides=engine.overrides, strain_options={"strain_candidates": 0})
        for key, eng in ((f"reel_32_bars_{engine.strains.candidates}_strain_candidates", engine),
                         ("reel_32_bars_no_strain_choice", plain)):
            out[key] = timed(lambda eng=eng: whole_pieces(eng, ["irish"], [(8, next(k))], meter=meter), repeats)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mle,guided")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--json", default=None)
    ap.add_argument("--sampling-only", action="store_true", help="time the model's own batches alone")
    args = ap.parse_args()
    torch.set_num_threads(2)
    result = {m: bench(m, args.repeats, args.sampling_only) for m in args.models.split(",")}
    print(json.dumps(result, indent=1))
    if args.json:
        write_json_atomic(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
