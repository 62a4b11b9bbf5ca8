"""Round 18's piece draws (Gumbel noise in place, pieces drawn on torch's threads side by side) against the draws
before them, batch by batch in one process, so that the machine's drift between runs does not enter the ratio:

    python benchmarks/bench_piece_draws.py [--models guided,guided@candidates=4] [--pairs 6]

A model may carry sampling options after an @ (``guided@candidates=4``). The draws before: one piece after another,
-log(-log(u)) with its temporaries. The two alternate, one bfloat16 batch of 256 windows each, the order flipped
every pair; it prints each side's windows/s, the paired ratios, and the draws' own seconds per batch. The draws are
the same numbers either way (tests/test_generate.py). Torch runs on 2 threads.
"""

import argparse
import statistics
import time

import torch

from divertimento.sample import draw as draw_module
from divertimento.sample.sampler import Sampler, load_sampler

NEW_DRAWS, NEW_GUMBEL = Sampler.draws, draw_module.gumbel_noise


def old_gumbel(shape: tuple[int, ...], rng: torch.Generator) -> torch.Tensor:
    u = torch.rand(shape, generator=rng).clamp_(1e-9, 1 - 1e-9)
    return -torch.log(-torch.log(u))


def old_draws(self, pairs, style=None, truncation=None, meter=None, options=None):
    return [self.draw(*pair, style, truncation, meter, options) for pair in pairs]


def use_path(before: bool) -> None:
    Sampler.draws = old_draws if before else NEW_DRAWS
    draw_module.gumbel_noise = old_gumbel if before else NEW_GUMBEL


def bench(spec: str, pairs: int) -> dict:
    name, *given = spec.split("@")
    options = dict(option.split("=", 1) for option in given) or None
    sampler = load_sampler(name)
    opts = sampler.options(options)
    rows = 256 * int(torch.tensor(sampler.noise_shape(opts)[:-3]).prod())  # every candidate of 256 pieces at once
    pieces = [(4, i) for i in range(256)]
    rates, draw_s = {"before": [], "after": []}, {"before": [], "after": []}
    for side in rates:  # warm-up of each path
        use_path(side == "before")
        sampler.generate_tokens(pieces[:8], low_precision=True, options=options)
    for p in range(pairs):
        for side in (("before", "after") if p % 2 == 0 else ("after", "before")):
            use_path(side == "before")
            t0 = time.perf_counter()
            sampler.draws(pieces, options=opts)
            draw_s[side].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sampler.generate_tokens(pieces, batch_size=rows, low_precision=True, options=options)
            rates[side].append(256 / (time.perf_counter() - t0))
    use_path(False)
    ratios = [a / b for a, b in zip(rates["after"], rates["before"])]
    return {side: [round(r, 1) for r in values] for side, values in rates.items()} | {
        "median_before": round(statistics.median(rates["before"]), 1),
        "median_after": round(statistics.median(rates["after"]), 1),
        "paired_ratio_median": round(statistics.median(ratios), 2),
        "paired_ratio_range": [round(min(ratios), 2), round(max(ratios), 2)],
        "draws_s_median_before": round(statistics.median(draw_s["before"]), 3),
        "draws_s_median_after": round(statistics.median(draw_s["after"]), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="guided,guided@candidates=4")
    ap.add_argument("--pairs", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(2)
    for spec in args.models.split(","):
        print(spec, bench(spec, args.pairs), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
