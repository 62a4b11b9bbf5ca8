"""Sampling a sequence model with bfloat16 products (``ARModel.sample(low_precision=True)``): the weights' bfloat16
copies and the two operations that use them."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def native_bfloat16() -> bool:
    """Whether this CPU has oneDNN's bfloat16 kernels (AVX-512 or AMX). Without them (an AVX2-only CPU, such as the
    EPYC of round 9) torch emulates bfloat16: a sampling step's products run 4x slower than in float32 (67 against
    282 windows/s for ``mle``, 2,048 in a batch), and an LSTM under bfloat16 autocast, as a guided sampler's critic
    runs, fails outright ("could not create a primitive descriptor")."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def use_bfloat16(asked: bool) -> bool:
    """Whether a decoding asked for bfloat16 products gets them: only where this CPU multiplies bfloat16 natively,
    since low precision is a speed option and float32 is faster (and draws the reference tokens) everywhere else."""
    return asked and native_bfloat16()


def bf16_linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x @ w.T + b with x rounded to bfloat16 and w a bfloat16 copy; the result is float32: the bfloat16 product
    converted, then the float32 bias added in place (the same numbers as ``torch.add``'s promotion of the mixed
    pair, which runs 1.7x slower on a [2,048 x 1,024] product)."""
    return F.linear(x.to(torch.bfloat16), w).float().add_(b)


@dataclass
class LowPrecision:
    """bfloat16 copies of the matrices a sampling step multiplies by, made once per decoding.

    On CPUs with bfloat16 matrix units (AMX) a large product runs up to ten times faster in bfloat16; the rest of a
    step is elementwise work, so a guided sampler's batch of 2,048 candidates gets 1.4x faster on 2 threads. The
    products' inputs and results are rounded to bfloat16 (8 bits of mantissa; they accumulate in float32); the
    biases, the gates' nonlinearities, the LSTM's cell state and the logits' sums stay float32. Draws then differ
    from float32's token by token (a logit moves by about 0.5 %), not in distribution (docs/studio.md, "Speed")."""

    lstm: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: [W_ih | W_hh] bfloat16 [4H, D+H], b_ih + b_hh float32
    heads: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]  # per voice: (W1, b1, W2, b2)

    @classmethod
    def of(cls, model: nn.Module) -> "LowPrecision":
        """The copies of a sequence model's (``ARModel``) LSTM and heads."""
        low = torch.bfloat16
        lstm = []
        for k in range(model.lstm.num_layers):
            w_ih, w_hh, b_ih, b_hh = model.lstm.all_weights[k]
            lstm.append((torch.cat([w_ih, w_hh], dim=1).to(low), b_ih + b_hh))
        heads = [(h.weight.to(low), h.bias, o.weight.to(low), o.bias) for h, o in zip(model.head_hidden,
                                                                                         model.head_out)]
        return cls(lstm, heads)

    def lstm_cell(self, k: int, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer k's (h', c') for input x [B, D] and state (h, c) [B, H]: ``torch.lstm_cell``'s equations (gates in
        the order input, forget, cell, output) with one bfloat16 product for both of its matrices."""
        w, b = self.lstm[k]
        gates = bf16_linear(torch.cat([x, h], dim=1), w, b)
        H = c.shape[1]
        s = torch.sigmoid(gates)  # one call for all four gates; the cell gate's part is unused
        c = torch.addcmul(s[:, H : 2 * H] * c, s[:, :H], torch.tanh(gates[:, 2 * H : 3 * H]))
        return s[:, 3 * H :] * torch.tanh(c), c
