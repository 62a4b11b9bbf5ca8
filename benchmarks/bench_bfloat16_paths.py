"""Round 17's bfloat16 decoding against the path before it, batch by batch in one process, so that the machine's
drift between runs does not enter the ratio:

    python benchmarks/bench_bfloat16_paths.py [--models guided,adversarial-wide] [--pairs 6]

The path before: the LSTM cell by cell (``LowPrecision.of(fused=False)``), the heads' hidden layer widened to
float32 between its two products, and the critic under bfloat16 autocast. The two alternate, one batch of 256
windows each (a guided model's 2,048 candidates), the order flipped every pair; it prints each side's windows/s and
the paired ratios. Torch runs on 2 threads.
"""


import numpy as np
import torch
import torch.nn.functional as F
from paired import paired_rates, run_models  # benchmarks/ is the script's own folder, first on sys.path

from divertimento.models import guided as guided_module
from divertimento.models import low_precision as lp
from divertimento.sample.sampler import load_sampler

NEW_OF, NEW_HEAD, NEW_CRITIC = lp.LowPrecision.of.__func__, lp.LowPrecision.head, guided_module.bfloat16_critic


def old_head(self, v: int, ctx: torch.Tensor) -> torch.Tensor:
    """The head as it was: each product widened to float32 and its float32 bias added (``bf16_linear``)."""
    w1, b1, w2, b2 = self.heads[v]
    return lp.bf16_linear(F.gelu(lp.bf16_linear(ctx, w1, b1.float())), w2, b2)


def use_path(before: bool) -> None:
    lp.LowPrecision.of = classmethod(lambda cls, model, fused=None: NEW_OF(cls, model, False if before else fused))
    lp.LowPrecision.head = old_head if before else NEW_HEAD
    guided_module.bfloat16_critic = (lambda critic: None) if before else NEW_CRITIC


def bench(name: str, pairs: int) -> dict:
    sampler = load_sampler(name)
    rows = 256 * int(np.prod(sampler.module.noise_shape[:-3]))  # every candidate of 256 pieces in one batch
    return paired_rates(use_path, lambda: sampler.generate_tokens([(4, i) for i in range(256)], batch_size=rows,
                                                                  low_precision=True), 256, pairs)


def main() -> int:
    return run_models(__doc__, "guided,adversarial-wide", bench)


if __name__ == "__main__":
    raise SystemExit(main())
