"""Training batches drawn straight from the in-memory token array (faster than a DataLoader on 2 cores),
with per-window random transposition within the dataset's range, or with every window moved onto the white-key
diatonic set (``key_normalise``, see data/keys.py). Uses the same helpers as WindowDataset."""

import numpy as np
import torch

from ..data.conditions import MODE_NAMES, condition_labels
from ..data.dataset import PreparedData, pitched_voices, shift_bounds, transpose_tokens
from ..data.keys import home_shift_shares, normalising_shifts
from ..data.modes import mode_labels
from ..errors import UserError


class BatchSampler:
    def __init__(self, data: PreparedData, batch_size: int, transpose: bool, generator: torch.Generator,
                 rank: int = 0, world: int = 1, key_normalise: bool = False, style_balance: float = 0.0,
                 mode_condition: bool = False):
        train = data.splits["train"]
        tokens, style = train["rolls"], train["style"].astype(np.int64)
        meter = train["meter"].astype(np.int64)
        self.vocab_size = data.manifest["vocab_size"]
        self.pitched = pitched_voices(data.manifest)  # drum lanes keep their keys
        self.home_shares: list[list[float]] | None = None  # per style, where generated windows go back to
        self.dropped = 0  # windows too wide to move onto the white keys without leaving the range
        if key_normalise and self.pitched is not None:
            raise UserError("key normalisation reads every voice as pitches; this layout has drum lanes")
        if key_normalise:  # replaces random transposition: every window in its white-key position
            shift, ok = normalising_shifts(tokens, data.low, self.vocab_size)
            self.home_shares = home_shift_shares(shift, ok, style, len(data.style_names))
            self.dropped = int((~ok).sum())
            tokens, style = transpose_tokens(tokens[ok], shift[ok], self.vocab_size).astype(np.uint8), style[ok]
            meter = meter[ok]
            transpose = False
        # DDP: each process draws from its own interleaved shard of windows
        self.tokens = tokens[rank::world]
        # what a batch carries besides its tokens: each window's condition label, (style, meter) or (style, meter,
        # mode); a window's mode does not change when it is transposed
        labels = (condition_labels(style, meter, data.manifest | {"mode_names": MODE_NAMES},
                                   mode_labels(tokens, data.low)) if mode_condition
                  else condition_labels(style, meter, data.manifest))
        self.style = torch.from_numpy(labels[rank::world])
        self.weights = window_weights(style[rank::world], style_balance) if style_balance > 0 else None
        lo, hi = data.manifest["augment"]["transpose"] if transpose else (0, 0)
        down, up = shift_bounds(self.tokens, self.vocab_size, lo, hi, self.pitched)
        self.down, self.span = torch.from_numpy(down), torch.from_numpy(up - down + 1)
        self.batch_size, self.rng = batch_size, generator
        if len(self.tokens) == 0:
            raise ValueError("no training windows")

    def __call__(self, as_written: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of (tokens [B, V, T], condition labels [B]); ``as_written``: windows in their own keys, never
        transposed. A critic must see real music as it is: transposed real windows look like a model trained on
        transposed windows (keys spread evenly), which hides the model's commonest error from the critic."""
        if self.weights is None:
            idx = torch.randint(len(self.tokens), (self.batch_size,), generator=self.rng)
        else:
            idx = torch.multinomial(self.weights, self.batch_size, replacement=True, generator=self.rng)
        shift = self.down[idx] + (torch.rand(self.batch_size, generator=self.rng) * self.span[idx]).long()
        if as_written:  # the shift is still drawn, so a run's random stream does not depend on who asked
            shift = torch.zeros_like(shift)
        tokens = transpose_tokens(self.tokens[idx.numpy()], shift.numpy(), self.vocab_size, self.pitched)
        return torch.from_numpy(tokens), self.style[idx]


def window_weights(style: np.ndarray, balance: float) -> torch.Tensor:
    """Each window's draw weight, (its style's window count)^-balance (torch.multinomial normalises them): style s
    gets the share n_s^(1 - balance) / sum_t n_t^(1 - balance) of the batches."""
    counts = np.bincount(style)
    return torch.from_numpy(counts[style].astype(np.float64) ** -balance)
