"""Training batches drawn straight from the in-memory token array (faster than a DataLoader on 2 cores),
with per-window random transposition within the dataset's range. Uses the same helpers as WindowDataset."""

import numpy as np
import torch

from ..data.dataset import PreparedData, shift_bounds, transpose_tokens


class BatchSampler:
    def __init__(self, data: PreparedData, batch_size: int, transpose: bool, generator: torch.Generator,
                 rank: int = 0, world: int = 1):
        train = data.splits["train"]
        # DDP: each process draws from its own interleaved shard of windows
        self.tokens = train["rolls"][rank::world]
        self.style = torch.from_numpy(train["style"][rank::world].astype(np.int64))
        self.vocab_size = data.manifest["vocab_size"]
        lo, hi = data.manifest["augment"]["transpose"] if transpose else (0, 0)
        down, up = shift_bounds(self.tokens, self.vocab_size, lo, hi)
        self.down, self.span = torch.from_numpy(down), torch.from_numpy(up - down + 1)
        self.batch_size, self.rng = batch_size, generator
        if len(self.tokens) == 0:
            raise ValueError("no training windows")

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(self.tokens), (self.batch_size,), generator=self.rng)
        shift = self.down[idx] + (torch.rand(self.batch_size, generator=self.rng) * self.span[idx]).long()
        tokens = transpose_tokens(self.tokens[idx.numpy()], shift.numpy(), self.vocab_size)
        return torch.from_numpy(tokens), self.style[idx]
