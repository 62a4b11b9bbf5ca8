"""Does "for you" learn a taste? Simulated listeners whose taste is a hidden rule on the music rate what they
are given, round after round; we count how often the recommendations please them.

    python -m divertimento.studio.simulate [--model PATH] [--listeners 5] [--rounds 6] [--per-round 8]

Rules (thresholds are quantiles of the model's own unsteered output, so the base rate is known):
  high-register  the soprano's mean pitch is in the top quarter of unsteered pieces
  busy           notes per bar in the top quarter
  style:NAME     the piece is in style NAME
  rising         the soprano ends higher than it starts (no feature the preference model sees: only the
                 variations of liked pieces can carry it)
"""

import argparse
import json
import time

import numpy as np
import torch

from ..music.roll import FIRST_PITCH_TOKEN
from .engine import Engine, load_studio_model
from .forms import compose
from .steering import Rating, first_window, recommend, similarity


def _soprano(tokens):
    return tokens[0][tokens[0] >= FIRST_PITCH_TOKEN].astype(np.float64)


def measures(tokens: np.ndarray) -> dict[str, float]:
    s = _soprano(tokens)
    return {"register": float(s.mean()) if len(s) else -1.0,
            "busy": float((tokens >= FIRST_PITCH_TOKEN).sum() / (tokens.shape[1] / 16)),
            "rising": float(s[-3:].mean() - s[:3].mean()) if len(s) >= 6 else -99.0}


def make_rules(engine: Engine, seed: int = 12345, n: int = 200) -> dict:
    base = [compose(engine, (seed, i)) for i in range(n)]
    m = [measures(p.tokens) for p in base]
    reg_q = float(np.quantile([x["register"] for x in m], 0.75))
    busy_q = float(np.quantile([x["busy"] for x in m], 0.75))
    styles = [p.style for p in base]
    rarest = min(set(styles), key=styles.count) if styles else engine.style_names[0]
    rules = {
        "high-register": lambda p: measures(p.tokens)["register"] >= reg_q,
        "busy": lambda p: measures(p.tokens)["busy"] >= busy_q,
        f"style:{rarest}": lambda p: p.style == rarest,
        "rising": lambda p: measures(p.tokens)["rising"] > 0,
    }
    base_rate = {k: float(np.mean([f(p) for p in base])) for k, f in rules.items()}
    return {"rules": rules, "base_rate": base_rate}


def simulate(engine: Engine, rule, listeners: int = 5, rounds: int = 6, per_round: int = 8,
             mode: str = "steered", seed: int = 0) -> dict:
    """Hit rate per round (round 0 = no ratings yet) averaged over listeners, and diversity of what was given.
    mode: steered (full), near-only (proposals near liked pieces, no preference model), random (unsteered)."""
    hits = np.zeros((listeners, rounds))
    within, repeats = [], []
    for li in range(listeners):
        ratings: list[Rating] = []
        for r in range(rounds):
            s = seed * 100_003 + li * 1000 + r
            if mode == "random":
                recs = [compose(engine, (s, i)) for i in range(per_round)]
            else:
                recs = recommend(engine, ratings, per_round, s, use_model=(mode == "steered"))
            T = engine.n_steps  # pieces of several meters compare as windows
            liked = [first_window(x.piece.tokens, T) for x in ratings if x.value > 0]
            toks = np.stack([first_window(p.tokens, T) for p in recs])
            if liked:
                repeats.append(float((similarity(toks, np.stack(liked), engine.low) >= 0.8).mean()))
            within.append(float(np.mean([similarity(toks[i : i + 1], np.delete(toks, i, 0), engine.low)[0]
                                         for i in range(len(toks))])))
            verdicts = [bool(rule(p)) for p in recs]
            hits[li, r] = np.mean(verdicts)
            ratings += [Rating(p, 1 if v else -1) for p, v in zip(recs, verdicts)]
    return {"hit_rate_by_round": [round(float(x), 3) for x in hits.mean(0)],
            "ratings_before_round": [r * per_round for r in range(rounds)],
            "last_rounds_hit_rate": round(float(hits[:, -2:].mean()), 3),
            "mean_similarity_within_round": round(float(np.mean(within)), 3),
            "repeat_rate_of_liked": round(float(np.mean(repeats)), 3) if repeats else 0.0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--listeners", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--per-round", type=int, default=8)
    ap.add_argument("--modes", default="steered,near-only,random")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    engine = load_studio_model(args.model)
    t0 = time.perf_counter()
    made = make_rules(engine)
    result = {"model": str(engine.sampler.path), "base_rate": made["base_rate"], "rules": {}}
    for name, rule in made["rules"].items():
        result["rules"][name] = {m: simulate(engine, rule, args.listeners, args.rounds, args.per_round, m)
                                 for m in args.modes.split(",")}
        print(name, json.dumps(result["rules"][name]), flush=True)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result["base_rate"]), f"{result['seconds']} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
