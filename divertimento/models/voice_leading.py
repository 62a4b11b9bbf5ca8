"""The voice-leading masks a sequence model samples under (``ARModel.step``): the tokens a voice may not take at a
step, given what the voices above it have just chosen.

They run once per voice and step of every decoding, so at the studio's batch sizes (one window, or one window's 8
candidates) their cost is the per-operation overhead, not the arithmetic: ``parallel_mask`` works in NumPy, whose
operations on a few hundred values cost about a microsecond against torch's five to ten, and only on the rows where
some voice above moves from a perfect interval with this one (the others can forbid nothing). That made a guided
window's 192 calls 30 ms of its 157 (an AVX2 EPYC, 2 threads) before.
"""

import numpy as np
import torch

from ..music.roll import FIRST_PITCH_TOKEN, HOLD


def parallel_mask(before: torch.Tensor, chosen: torch.Tensor, v: int, vocab_size: int) -> torch.Tensor:
    """[B, K] True where voice v's candidate token would make a parallel fifth or octave with a voice above it.

    ``before`` [B, V]: each voice's token pitch at the previous onset slice (-1 = silent); ``chosen`` [B, V]: the
    voices above v already chosen at this step, as pitch tokens where they sound (-1 = silent). The rule is the
    evaluation suite's (``metrics.descriptors.parallel_fifths_octaves_rate``): both voices sound in both slices,
    both change pitch, in the same direction, and the interval between them is a fifth (or a unison/octave),
    compound intervals included, before and after."""
    b, c = before.numpy(), chosen.numpy()
    mask = np.zeros((b.shape[0], vocab_size), dtype=bool)
    pv = b[:, v : v + 1]  # [B, 1]
    pu, qu = b[:, :v], c[:, :v]  # the voices above, before and now: [B, v]
    ib = np.abs(pu - pv) % 12
    # a voice above that sounds in both slices, moves, and stood a perfect interval from this (sounding) voice
    u_moves = (pu >= 0) & (qu >= 0) & (qu != pu) & ((ib == 7) | (ib == 0)) & (pv >= 0)
    rows = np.flatnonzero(u_moves.any(axis=1))
    if rows.size == 0:
        return torch.from_numpy(mask)
    cand = np.arange(vocab_size)  # [K]
    pr, qr, ir, ur = pu[rows, :, None], qu[rows, :, None], ib[rows, :, None], u_moves[rows, :, None]  # [R, v, 1]
    pvr = pv[rows]  # [R, 1]
    # to the same perfect interval, both voices moving the same way
    same = (np.abs(qr - cand) % 12 == ir) & (np.sign(qr - pr) == np.sign(cand - pvr)[:, None])  # [R, v, K]
    v_moves = (cand >= FIRST_PITCH_TOKEN) & (cand != pvr)  # this voice takes a new pitch: [R, K]
    mask[rows] = (ur & same).any(axis=1) & v_moves
    return torch.from_numpy(mask)


def crossing_mask(above: torch.Tensor, held: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """[B, K] True where a voice's token would cross the voice above it: a pitch above ``above`` [B] (the pitch
    token the voice above sounds at this step, -1 silent), or HOLD when the note it holds, ``held`` [B], is above
    it."""
    k = torch.arange(vocab_size).view(1, -1)
    sounds = (above >= 0).view(-1, 1)
    mask = sounds & (k >= FIRST_PITCH_TOKEN) & (k > above.view(-1, 1))
    mask[:, HOLD] |= (above >= 0) & (held > above)
    return mask
