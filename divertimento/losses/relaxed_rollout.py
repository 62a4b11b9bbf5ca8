"""The sequence model re-run over a window it drew, with straight-through one-hots fed back as its own inputs, so the
critic's gradient runs through time (the straight-through fine-tune's ``straight-through-time`` estimator).

Plain straight-through (losses/straight_through.py) takes the teacher-forced logits of the drawn window: each
position's relaxed one-hot carries a gradient to that position's logits alone, as if the tokens before it had been
given. A key chosen in a window's first notes then gets no credit for the notes it leads to. Here every token the
model reads, at the LSTM's input (the step before) and at the heads (the voices above, this step), is read through
its one-hot y = one_hot(x) + s - stop_gradient(s), as RelGAN and Gumbel-softmax sequence GANs feed their relaxed
samples back: the values are exactly the drawn tokens, so the logits are exactly the teacher-forced ones, and
d critic / d l_t gathers the paths through every later position that token t feeds.

Costs a step-by-step pass with gradient (64 LSTM steps) where plain straight-through runs one fused LSTM call. What
the ``sounding_context`` tables add is read from the drawn tokens as given (no path through them).
"""

import torch
import torch.nn.functional as F

from ..models.sequence import ARModel, pitch_sharpened
from .straight_through import straight_through_one_hot


def relaxed_rollout(net: ARModel, tokens: torch.Tensor, noise: torch.Tensor, cond: torch.Tensor | None,
                    pitch_temperature: float | tuple[float, ...], tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, y), each [B, V, T, K] float32, for a window ``tokens`` [B, V, T] that ``net`` drew with Gumbel
    ``noise`` [B, V, T, K] at ``pitch_temperature``: the sampler's logits at every position (equal in value to
    ``net.sampling_logits``) and the straight-through one-hots at temperature ``tau``, both with the gradient of the
    one-hots fed back through time. Run the model in eval mode (the sample was drawn without dropout)."""
    B, V, T = tokens.shape
    K, H = net.vocab_size, net.lstm.hidden_size
    tokens = tokens.long()
    temperature = net.row_values(pitch_temperature, cond)
    sharpen = not isinstance(temperature, float) or temperature != 1.0
    positions = net._positions(B, 0, T, cond)  # [B, T, D]
    sounding = net.sounding_terms(tokens) if net.sounding_context else None  # [B, T, V, H]
    in_rows = net.in_embed.weight.view(V, K, -1)  # voice v's token embeddings at the LSTM's input
    voice_rows = net.voice_embed.weight.view(V, K, H)  # ... at the heads of the voices below it
    offsets = net._offsets()
    prev = net.start.view(1, -1).expand(B, -1)  # [B, V*E]
    state, logits, ys = None, [], []
    for t in range(T):
        h, state = net.lstm(torch.cat([prev, positions[:, t]], dim=1).unsqueeze(1), state)
        above = h[:, 0]  # the LSTM's state plus the voices above, drawn at this step
        fed_in = []
        for v in range(V):
            ctx = above if sounding is None else above + sounding[:, t, v]
            step_logits = net._head(v, ctx).float()
            if sharpen:
                step_logits = pitch_sharpened(step_logits, temperature)
            y = straight_through_one_hot(tokens[:, v, t], step_logits, noise[:, v, t], tau)  # [B, K]
            relaxed = y - y.detach()  # exactly zero in value, the one-hot's gradient
            # the value is the table's row for the drawn token (as teacher forcing reads it, in any precision); the
            # gradient is that of the one-hot times the table
            above = above + F.embedding(tokens[:, v, t] + offsets[v], net.voice_embed.weight) + relaxed @ voice_rows[v]
            fed_in.append(F.embedding(tokens[:, v, t] + offsets[v], net.in_embed.weight) + relaxed @ in_rows[v])
            logits.append(step_logits)
            ys.append(y)
        prev = torch.cat(fed_in, dim=1)
    # positions were appended step by step, voice by voice: [T, V] -> [B, V, T, K]
    logits = torch.stack(logits, dim=1).view(B, T, V, K).transpose(1, 2)
    ys = torch.stack(ys, dim=1).view(B, T, V, K).transpose(1, 2)
    return logits, ys
