"""Sampling a sequence model with bfloat16 products (``ARModel.sample(low_precision=True)``): the weights' bfloat16
copies and the two operations that use them."""

import copy
import functools
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# CPU flags of units that multiply bfloat16 (AVX-512 BF16, AMX); oneDNN's kernels run on AVX-512 CPUs without them
# too, by converting to float32, and are then slower than float32 itself (round 26's CPU, AVX-512 with VNNI but no
# BF16 or AMX: a hidden-512 training step 2.11 s under bfloat16 autocast against 0.76 s in float32; sampling 85
# against 231 windows/s)
BFLOAT16_UNITS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively: oneDNN has bfloat16 kernels here and, where the CPU's flags can
    be read (Linux), the CPU has bfloat16 units. Without them (an AVX2-only CPU, such as the EPYC of round 9, or an
    AVX-512 CPU without BF16 or AMX) bfloat16 is emulated: a sampling step's products run 3-4x slower than in
    float32 (67 against 282 windows/s for ``mle``, 2,048 in a batch, on the EPYC), and an LSTM under bfloat16
    autocast, as a guided sampler's critic runs, fails outright on a CPU without the kernels ("could not create a
    primitive descriptor")."""
    units = cpu_bfloat16_units(cpu_flags())
    return onednn_bfloat16() and (units is None or units)


def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags (the first ``flags`` line of /proc/cpuinfo), or None where there is none to read."""
    return _cpu_flags(CPUINFO)


@functools.lru_cache(maxsize=4)  # read once: a decoding asks at every start
def _cpu_flags(path: Path) -> frozenset[str] | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return None


def cpu_bfloat16_units(flags: frozenset[str] | None) -> bool | None:
    """Whether these CPU flags name a unit that multiplies bfloat16; None when the flags are unknown."""
    return None if flags is None else any(f in flags for f in BFLOAT16_UNITS)


def onednn_bfloat16() -> bool:
    """Whether oneDNN has bfloat16 kernels on this CPU: the CPU itself, which a test that makes ``native_bfloat16``
    stand for another CPU does not change. The fused LSTM step (``LowPrecision.step``) has no emulation without
    them, so it asks this."""
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


# The widest LSTM whose step oneDNN's fused kernel takes sooner than the cells do. Measured on this project's 2-core
# AMX CPU, 2 threads, both layers of one step, best of 5: hidden 256 (``mle``, ``guided``'s proposal), 11.8 against
# 16.6 ms for 2,048 rows and 1.75 against 1.86 for 256; hidden 512 (``mle-wide``), 54.6 against 27.9 ms for 2,048
# rows and 5.6 against 4.7 for 256. A one-layer kernel of hidden 384 already took 16.8 ms for 2,048 rows, against
# 5.8 at 256: past 256 its products stop scaling.
FUSED_MAX_HIDDEN = 256


@dataclass
class LowPrecision:
    """bfloat16 copies of the matrices a sampling step multiplies by, made once per decoding.

    On CPUs with bfloat16 matrix units (AMX) a large product runs up to ten times faster in bfloat16; the rest of a
    step is elementwise work, which the fused LSTM step (``step``) keeps inside oneDNN's kernel. The products'
    inputs and results are rounded to bfloat16 (8 bits of mantissa; they accumulate in float32), and so are the
    LSTM's output h and the heads' hidden layer; the LSTM's cell state, the output layers' biases and the logits'
    sums stay float32. Draws then differ from float32's token by token (a logit moves by about 0.5 %), not in
    distribution (docs/studio.md, "Speed")."""

    lstm: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: [W_ih | W_hh] bfloat16 [4H, D+H], b_ih + b_hh float32;
    # empty when fused
    heads: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]  # per voice: (W1, b1, W2, b2), b1 too
    # bfloat16 (``head``)
    fused: nn.LSTM | None = None  # the whole LSTM in bfloat16, for oneDNN's fused step (``step``); None: by cells

    @classmethod
    def of(cls, model: nn.Module, fused: bool | None = None) -> "LowPrecision":
        """The copies of a sequence model's (``ARModel``) LSTM and heads. ``fused`` (default: where oneDNN has
        bfloat16 kernels, ``onednn_bfloat16``, and the LSTM is at most ``FUSED_MAX_HIDDEN`` wide): a step runs the
        LSTM as one oneDNN call (``step``) rather than cell by cell."""
        low = torch.bfloat16
        if fused is None:
            fused = onednn_bfloat16() and model.lstm.hidden_size <= FUSED_MAX_HIDDEN
        lstm = []  # the cells' copies, only where the step runs cell by cell
        for k in range(0 if fused else model.lstm.num_layers):
            w_ih, w_hh, b_ih, b_hh = model.lstm.all_weights[k]
            lstm.append((torch.cat([w_ih, w_hh], dim=1).to(low), b_ih + b_hh))
        heads = [(h.weight.to(low), h.bias.to(low), o.weight.to(low), o.bias) for h, o in zip(model.head_hidden,
                                                                                                  model.head_out)]
        return cls(lstm, heads, copy.deepcopy(model.lstm).to(low) if fused else None)

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, tuple]:
        """The last layer's output [B, H] for one step's input x [B, D], and the new state (h, c) [L, B, H].

        Fused: oneDNN's LSTM for a sequence of one step, with bfloat16 inputs, weights and h, and the cell state c
        kept in float32. Its gates' nonlinearities run inside the kernel, where the cell by cell path makes six
        passes over [B, 4H] float32 tensors (``FUSED_MAX_HIDDEN`` gives the times). h comes out rounded to
        bfloat16, as the next product would round it anyway."""
        h, c = state
        if self.fused is not None:
            out, (h, c) = self.fused(x.to(torch.bfloat16).unsqueeze(1), (h.to(torch.bfloat16), c))  # batch first
            return out[:, 0], (h, c)
        hs, cs = [], []
        for k in range(len(self.lstm)):
            x, c_k = self.lstm_cell(k, x, h[k], c[k])
            hs.append(x)
            cs.append(c_k)
        return x, (torch.stack(hs), torch.stack(cs))

    def head(self, v: int, ctx: torch.Tensor) -> torch.Tensor:
        """Voice v's logits [B, K] (float32) of its context [B, H]: the hidden layer's product, bias and GELU stay
        in bfloat16, as the second product would round them anyway; its bias is then rounded too (a logit moves by
        about 0.5 % more). Two conversions of [B, H] fewer: for 2,048 rows, 0.58 against 0.76-1.1 ms at hidden 256 and
        2.4 against 7.0 ms at hidden 512 (one head, best of 5)."""
        w1, b1, w2, b2 = self.heads[v]
        return F.linear(F.gelu(F.linear(ctx.to(torch.bfloat16), w1, b1)), w2).float().add_(b2)

    def lstm_cell(self, k: int, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer k's (h', c') for input x [B, D] and state (h, c) [B, H]: ``torch.lstm_cell``'s equations (gates in
        the order input, forget, cell, output) with one bfloat16 product for both of its matrices."""
        w, b = self.lstm[k]
        gates = bf16_linear(torch.cat([x, h], dim=1), w, b)
        H = c.shape[1]
        s = torch.sigmoid(gates)  # one call for all four gates; the cell gate's part is unused
        c = torch.addcmul(s[:, H : 2 * H] * c, s[:, :H], torch.tanh(gates[:, 2 * H : 3 * H]))
        return s[:, 3 * H :] * torch.tanh(c), c
