"""Round 18's piece draws (Gumbel noise in place) against the draws before them, batch by batch in one process, so
that the machine's drift between runs does not enter the ratio:

    python benchmarks/bench_piece_draws.py [--models guided,guided@candidates=4] [--pairs 6]

A model may carry sampling options after an @ (``guided@candidates=4``). The draws before: -log(-log(u)) with its
temporaries. (Round 18 also drew the pieces on torch's threads side by side; that gained a few per cent at most,
within the noise, and was taken out.) The two alternate, one bfloat16 batch of 256 windows each, the order flipped
every pair; it prints each side's windows/s, the paired ratios, and the draws' own seconds per batch. The draws are
the same numbers either way (tests/test_generate.py). Torch runs on 2 threads.
"""


import torch
from paired import paired_rates, run_models  # benchmarks/ is the script's own folder, first on sys.path

from divertimento.sample import draw as draw_module
from divertimento.sample.sampler import load_sampler

NEW_GUMBEL = draw_module.gumbel_noise


def old_gumbel(shape: tuple[int, ...], rng: torch.Generator) -> torch.Tensor:
    u = torch.rand(shape, generator=rng).clamp_(1e-9, 1 - 1e-9)
    return -torch.log(-torch.log(u))


def use_path(before: bool) -> None:
    draw_module.gumbel_noise = old_gumbel if before else NEW_GUMBEL


def bench(spec: str, pairs: int) -> dict:
    name, *given = spec.split("@")
    options = dict(option.split("=", 1) for option in given) or None
    sampler = load_sampler(name)
    opts = sampler.options(options)
    rows = 256 * int(torch.tensor(sampler.noise_shape(opts)[:-3]).prod())  # every candidate of 256 pieces at once
    pieces = [(4, i) for i in range(256)]
    whole = paired_rates(use_path, lambda: sampler.generate_tokens(pieces, batch_size=rows, low_precision=True,
                                                                   options=options), 256, pairs)
    draws = paired_rates(use_path, lambda: sampler.draws(pieces, options=opts), 256, pairs)  # the draws alone
    return whole | {f"draws_s_median_{side}": round(256 / draws[f"median_{side}"], 3) for side in ("before", "after")}


def main() -> int:
    return run_models(__doc__, "guided,guided@candidates=4", bench)


if __name__ == "__main__":
    raise SystemExit(main())
