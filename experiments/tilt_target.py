"""Is a distillation's target itself closer to real music than its proposal, before any model learns it? Per seed,
a pool of one style's windows from the guided models' proposal (at their own sampling, pieces seed * SEED_BLOCK + i)
is scored by each critic (its calibrated log-ratio); then the protocol's figures (``per_style_protocol.py``) of
--n windows drawn from the pool with replacement: uniformly (the proposal itself), and by the tilted probabilities
of ``losses/tilted_pool.py`` (within each condition softmax(beta * score)) for the critics' mean and for each critic
alone. A tilt whose rows stand no nearer real music than the proposal's is a critic that cannot correct what is
wrong; a tilt that stands nearer while the distilled model does not (its own --point rows, drawn as the protocol
draws them) is a model that did not learn its target.

    python experiments/tilt_target.py runs/guided-sounding-wide,runs/guided-sequence-wide --style bach \
        --pool 4000 --n 350 --seeds 3 --point "distilled:runs/distill-two:pitch_temperature=1"
"""

import argparse
import sys

import numpy as np
import torch
from per_style_protocol import summarise
from points import SEED_BLOCK, parse_point  # experiments/ is the script's own folder, first on sys.path

from divertimento.data.dataset import load_prepared
from divertimento.losses.tilted_pool import effective_share, tilted_draw_probabilities
from divertimento.metrics.key_keeping import key_keeping_figures
from divertimento.metrics.key_register import key_register_figures
from divertimento.metrics.per_style import style_figures
from divertimento.metrics.reference import load_reference
from divertimento.metrics.set_stats import compute_set_stats
from divertimento.metrics.sets import from_prepared, from_tokens
from divertimento.models.factory import load
from divertimento.sample.sampler import load_sampler
from divertimento.sample.windows import sample_window_set

POOL_BATCH = 256  # pieces sampled at a time


def pool_of(proposal, sampling: dict, style: str, size: int, seed: int) -> tuple[np.ndarray, torch.Tensor]:
    """``size`` windows of ``style`` from the proposal at the guided models' sampling, and their condition labels;
    each piece's draw (noise and meter) made once, then sampled a batch at a time as ``generate_tokens`` does."""
    options = proposal.options({"pitch_temperature": sampling.get("pitch_temperature", 1.0)})
    draws = proposal.draws([(seed * SEED_BLOCK + i, 0) for i in range(size)], style, options=options)
    temperature = float(sampling.get("temperature", 1.0))
    strict = bool(sampling.get("strict_voice_leading", False))
    tokens = np.concatenate([proposal.tokens_from_draws(draws[a : a + POOL_BATCH], temperature, strict, options)
                             for a in range(0, size, POOL_BATCH)])
    cond = proposal.conditions([d.style for d in draws], [d.meter for d in draws])
    return tokens, cond


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("guided", help="guided models of one proposal, comma-separated (as distill_from names them)")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--style", default="bach")
    ap.add_argument("--pool", type=int, default=4000, help="proposal windows per seed")
    ap.add_argument("--n", type=int, default=350, help="windows per row and seed, drawn from the pool")
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--point", action="append", default=[], help="LABEL:MODEL:KNOBS, a model drawn as the protocol")
    args = ap.parse_args()
    data = load_prepared(args.data)
    ref = load_reference(data, "test")
    i = list(ref.style_names).index(args.style)
    real_x = ref.std.transform(ref.stats.vectors)[ref.style_labels == i]
    test_ws = from_prepared(data, "test")
    real_tokens = test_ws.tokens[test_ws.style == i]
    critics = [load(name) for name in args.guided.split(",")]
    header = critics[0][0]
    proposal = load_sampler(header["base"]["path"])
    m = proposal.manifest

    def window_set(tokens: np.ndarray):  # the sampler's tokens as the protocol evaluates them
        return from_tokens(tokens, proposal.low, int(m["steps_per_quarter"]), tuple(m["roles"]), "",
                           np.full(len(tokens), i, dtype=np.int16), proposal.style_names)

    def figures(ws, seed: int) -> dict:
        x = ref.std.transform(compute_set_stats(ws, ref.config).vectors)
        return (style_figures(real_x, x, seed) | key_register_figures(real_tokens, ws.tokens)
                | key_keeping_figures(ws.tokens))

    names = ["proposal", f"tilt, mean of critics (beta {args.beta})"]
    names += [f"tilt, {path.parent.name if path.name == 'model.safetensors' else path.stem} alone"
              for _, _, path in critics] if len(critics) > 1 else []
    rows = {name: {args.style: []} for name in names + [parse_point(p)[0] for p in args.point]}
    for seed in range(args.seeds):
        tokens, cond = pool_of(proposal, header.get("sampling", {}), args.style, args.pool, seed)
        x = torch.as_tensor(tokens.astype(np.int64))
        with torch.no_grad():
            scores = torch.stack([module.log_ratio(x, cond).double() for _, module, _ in critics])
        tilts = [torch.zeros(len(x), dtype=torch.float64), scores.mean(dim=0)]
        tilts += list(scores) if len(critics) > 1 else []
        gen = torch.Generator().manual_seed(seed)
        for name, score in zip(names, tilts):
            probs = tilted_draw_probabilities(score, cond, args.beta)
            rows_drawn = torch.multinomial(probs.float(), args.n, replacement=True, generator=gen).numpy()
            rows[name][args.style].append(figures(window_set(tokens[rows_drawn]), seed))
            print(f"seed {seed} {name}: effective share {effective_share(probs, cond):.3f}, distinct "
                  f"{len(set(rows_drawn.tolist()))} of {args.n}", file=sys.stderr, flush=True)
        if len(critics) > 1:
            print(f"seed {seed}: critics' correlation {np.corrcoef(scores.numpy())[0, 1]:.3f}", file=sys.stderr)
        for text in args.point:
            label, model, temperature, options = parse_point(text)
            ws = sample_window_set(load_sampler(model), args.n, seed * SEED_BLOCK, args.style,
                                   temperature=temperature, options=options)
            rows[label][args.style].append(figures(ws, seed))
    summarise(rows, [args.style])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
