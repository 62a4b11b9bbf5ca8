"""FLOPs of a model's forward pass per sample, counted with forward hooks, and of a training step built from them.

Conventions (the usual ones of FLOP-utilisation figures, e.g. the PaLM paper's appendix B):

- one multiply-add = 2 FLOPs; only the weight layers are counted: Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d
  and LSTM. Biases, activations, normalisation, softmax, embeddings (table look-ups) and the few matrix products
  written outside layers (the discriminator's pitch-class map) are left out: they are a few % at most here.
- Linear: 2 * in * out per row it is applied to, so a head applied at every step of a sequence counts every
  step (``models.generator.flops_per_sample`` counts one row per sample, which is right for the GAN's
  generator but misses a factor T on the sequence model's per-step heads; hence this counter).
- Conv: 2 * (in / groups) * prod(kernel) per output element; ConvTranspose: 2 * (out / groups) * prod(kernel)
  per input element (the same figures as ``flops_per_sample`` for the 1-D layers).
- LSTM, per timestep and layer l: the four gates are one matrix product of [x_t, h_{t-1}] (I_l + H values)
  with a (I_l + H) x 4H weight, so 2 * 4 * H * (I_l + H) FLOPs, with I_0 the input size and I_l = H (x2 when
  bidirectional) above; the gates' elementwise products and nonlinearities are left out like activations.
- training: a backward pass costs twice its forward (one product for the input gradient, one for the weight
  gradient), so a forward + backward costs 3x the forward. A gradient penalty (R1, WGAN-GP) costs about 6x the
  forward: forward 1, input gradient 1 (no weight gradients), then the backward through both 2 + 2.
"""

import math

import torch
from torch import nn
from torch.nn.modules.conv import _ConvNd

TRAIN = 3.0  # forward + backward, in forwards
PENALTY = 6.0  # a gradient-penalty pass (forward, input gradient with create_graph, backward of both)


def _lstm_flops(m: nn.LSTM, x: torch.Tensor) -> float:
    """All samples' FLOPs of one LSTM call on an unpacked input (batch_first or not)."""
    if m.proj_size:
        raise ValueError("LSTM with proj_size is not counted")
    if x.dim() == 2:  # unbatched [T, I]
        steps, batch = x.shape[0], 1
    else:
        steps, batch = (x.shape[1], x.shape[0]) if m.batch_first else (x.shape[0], x.shape[1])
    dirs = 2 if m.bidirectional else 1
    H = m.hidden_size
    per_step = sum(dirs * 2 * 4 * H * ((m.input_size if layer == 0 else dirs * H) + H)
                   for layer in range(m.num_layers))
    return float(per_step * steps * batch)


def _layer_flops(m: nn.Module, inp: tuple, out) -> float:
    """All samples' FLOPs of one call of weight layer ``m``."""
    if isinstance(m, nn.Linear):
        return 2.0 * m.in_features * m.out_features * (out.numel() // m.out_features)
    if isinstance(m, _ConvNd):
        k = math.prod(m.kernel_size)
        if m.transposed:
            return 2.0 * inp[0].numel() * (m.out_channels // m.groups) * k
        return 2.0 * (m.in_channels // m.groups) * k * out.numel()
    if isinstance(m, nn.LSTM):
        return _lstm_flops(m, inp[0])
    return 0.0


def forward_flops(model: nn.Module, *inputs) -> float:
    """FLOPs per sample of one forward pass of ``model`` on ``inputs`` (batch first in ``inputs[0]``; use a batch
    of several samples for a model that mixes them, like a discriminator's minibatch std)."""
    total = 0.0

    def hook(m, inp, out):
        nonlocal total
        total += _layer_flops(m, inp, out)

    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, _ConvNd, nn.LSTM))]
    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total / len(inputs[0])


def gan_step_flops(g: float, d: float, d_steps: int = 1, penalties: float = 0.0, recon: float = 0.0) -> float:
    """FLOPs per window of one GAN step (one batch per pass) from G's and D's forward FLOPs per window: each D
    update runs G forward (no backward) and D forward + backward on the real and the fake batch; ``penalties``
    gradient-penalty passes of D (R1 or WGAN-GP) in the step; then the G update runs G and D forward + backward
    (D to its input only, counted as a full backward: the usual convention). ``recon``: forward FLOPs per window
    of an extra likelihood term trained in the G update (the VAE-GAN's encoder + G), counted forward + backward."""
    d_update = g + 2 * TRAIN * d
    return d_steps * d_update + penalties * PENALTY * d + TRAIN * (g + d) + TRAIN * recon
