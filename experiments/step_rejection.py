"""Strict voice leading by redrawing a whole step instead of masking voice by voice (round 9).

`ARModel.step`'s strict sampling masks, for each voice in turn, the notes that would make parallel fifths or octaves
with the voices above it already drawn: the upper voices choose freely and the correction falls on the lower
ones, the bass most. Round 8 found the Bach bass leaping more and moving less than Bach's; this asks whether that
is the mask's doing. Here a step is drawn with no mask at all, and the rows where it has a parallel are drawn again
(all voices, fresh noise) up to --tries times, a draw from the model's step distribution conditioned on having none;
a row still failing falls back to the mask. It then runs the per-style protocol with every strict draw made so:

    python experiments/step_rejection.py --tries 20 -- --n 350 --seeds 3 --styles bach \
        --json runs/protocol/round9-step-rejection-bach.json --point "mle rejection T=1:mle:temperature=1.0"

(arguments after -- go to per_style_protocol.py). The redraws' noise comes from a generator seeded by the batch's
own noise, so a run repeats exactly.
"""

import argparse
import runpy
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from divertimento.models.sequence import ARModel
from divertimento.models.voice_leading import parallel_mask
from divertimento.music.roll import FIRST_PITCH_TOKEN, HOLD
from divertimento.sample.draw import gumbel_noise


def draw_step(model: ARModel, ctx, sounding, before, noise, temperature: float, masked: bool):
    """(tokens [b, V], what sounds after them [b, V], whether the step has a parallel [b]) from LSTM outputs ctx
    [b, H], voice by voice as ``ARModel.step`` draws; ``masked``: with its voice-leading mask."""
    b, V = ctx.shape[0], model.n_voices
    offsets = model._offsets()
    tokens, now = torch.zeros(b, V, dtype=torch.long), sounding.clone()
    parallel = torch.zeros(b, dtype=torch.bool)
    for v in range(V):
        logits = model._head(v, ctx) / temperature
        if v > 0:
            forbidden = parallel_mask(before, now, v, model.vocab_size)
            if masked:
                logits = logits.masked_fill(forbidden, -torch.inf)
        tok = (logits + noise[:, v]).argmax(dim=-1)
        if v > 0:
            parallel |= forbidden.gather(1, tok[:, None])[:, 0]
        tokens[:, v] = tok
        ctx = ctx + F.embedding(tok + offsets[v], model.voice_embed.weight)
        now[:, v] = torch.where(tok >= FIRST_PITCH_TOKEN, tok, torch.where(tok == HOLD, sounding[:, v], -1))
    return tokens, now, parallel


def sample_by_rejection(model: ARModel, style, noise, temperature: float, tries: int, counts: dict):
    B, V, T, K = noise.shape
    dec = model.begin(B, T)
    dec.positions = model._positions(B, 0, T, style)
    g = torch.Generator().manual_seed(int(noise[:, 0, 0].sum().item() * 1000) % 2**31)
    for t in range(T):
        ctx = model._lstm_step(torch.cat([dec.prev[:, 0], dec.positions[:, t]], dim=1), dec)
        tokens, now = torch.zeros(B, V, dtype=torch.long), dec.sounding.clone()
        rows = torch.arange(B)
        for r in range(tries + 1):
            n = noise[rows, :, t] if r == 0 else gumbel_noise((len(rows), V, K), g)
            tk, nw, bad = draw_step(model, ctx[rows], dec.sounding[rows], dec.before[rows], n, temperature, False)
            tokens[rows[~bad]], now[rows[~bad]] = tk[~bad], nw[~bad]
            counts["redrawn"] += int(bad.sum()) if r == 0 else 0
            rows = rows[bad]
            if len(rows) == 0:
                break
        if len(rows):
            counts["masked"] += len(rows)
            tk, nw, _ = draw_step(model, ctx[rows], dec.sounding[rows], dec.before[rows], noise[rows, :, t],
                                  temperature, True)
            tokens[rows], now[rows] = tk, nw
        counts["steps"] += B
        dec.out[:, :, t] = tokens
        onset = (tokens >= FIRST_PITCH_TOKEN).any(dim=1, keepdim=True)
        dec.sounding, dec.before = now, torch.where(onset, now, dec.before)
        dec.prev = model.in_embed(tokens + model._offsets().view(1, V)).reshape(B, 1, -1)
    return dec.out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("protocol_args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    counts = {"steps": 0, "redrawn": 0, "masked": 0}
    plain = ARModel.sample

    @torch.no_grad()
    def sample(self, style, noise, temperature=1.0, z=None, strict_voice_leading=False, low_precision=False,
               top_p=1.0):
        if not strict_voice_leading:
            return plain(self, style, noise, temperature, z, strict_voice_leading, low_precision, top_p)
        return sample_by_rejection(self, style, noise, temperature, args.tries, counts)

    ARModel.sample = sample  # every strict draw of the protocol below, whatever model file it reads
    sys.argv = ["per_style_protocol.py"] + [a for a in args.protocol_args if a != "--"]
    try:
        runpy.run_path(str(Path(__file__).with_name("per_style_protocol.py")), run_name="__main__")
    except SystemExit as e:
        if e.code:
            raise
    print(f"steps drawn {counts['steps']}, with a parallel at the first draw {counts['redrawn']}, "
          f"masked after {args.tries} redraws {counts['masked']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
