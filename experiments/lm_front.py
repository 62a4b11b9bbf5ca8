"""The protocol's front test on the language-model axes, from lm_scores.py's JSON files (one or more per seed).

    python experiments/lm_front.py runs/protocol/round7-lm-s0*.json runs/protocol/round7-lm-s1*.json ... \
        --base "mle T=" --challenger "adversarial T="

Quality is the LM score (lower: the judge finds the samples likelier real music) and diversity the reverse-LM score
(lower: an LM trained on the samples finds real music likelier). A model's front is its points over its own knob
(here the temperature in the label after the prefix), each the mean over seeds. For each challenger point, the base
front's reverse-LM score at the challenger's LM score is read off by linear interpolation between the two base points
whose LM scores bracket it (or from a base point at least as good on both axes, where one is better than that); the
challenger is above the front there when its reverse-LM score is lower by more than the seed spread (max - min over
seeds) of either side. The claim holds at a quality level only then, and the
protocol asks for three such levels. A challenger point whose LM score no base point brackets is outside the
front's range and is not counted.
"""

import argparse
import json
from collections import defaultdict

import numpy as np


def load_rows(files: list[str]) -> dict[str, dict[int, dict]]:
    """label -> seed -> {"lm", "reverse_lm"} from lm_scores.py's files (a label seen twice in one seed: the first)."""
    rows: dict[str, dict[int, dict]] = defaultdict(dict)
    for f in files:
        d = json.load(open(f))
        seed = int(d["args"]["seed"])
        for label, r in d["rows"].items():
            rows[label].setdefault(seed, r)
    return rows


def knob(label: str, prefix: str) -> float | None:
    """The number after ``prefix`` in a label (``mle T=0.85`` -> 0.85), or None if the label is not the model's."""
    if not label.startswith(prefix):
        return None
    try:
        return float(label[len(prefix) :].split()[0])
    except (ValueError, IndexError):
        return None


def summarise(by_seed: dict[int, dict], seeds: list[int]) -> dict | None:
    """Mean and spread over ``seeds`` of both scores; None when a seed is missing (points compare on equal seeds)."""
    if not all(s in by_seed for s in seeds):
        return None
    out = {}
    for axis in ("lm", "reverse_lm"):
        v = np.array([by_seed[s][axis] for s in seeds])
        out[axis], out[axis + "_spread"] = float(v.mean()), float(np.ptp(v))
    return out


def front(rows: dict, prefix: str, seeds: list[int]) -> list[tuple[float, dict]]:
    """(knob, summary) of a model's points measured on every seed, by knob."""
    pts = [(knob(label, prefix), summarise(r, seeds)) for label, r in rows.items()]
    return sorted((k, s) for k, s in pts if k is not None and s is not None)


def interpolate(base: list[tuple[float, dict]], lm: float) -> dict | None:
    """The base front's reverse-LM score (and its spread) at LM score ``lm``: between the two neighbouring base
    points (by knob) whose LM scores bracket it, or a base point at least as good on both axes where there is one
    (the front is the best the base reaches at that quality or better); None outside the front's range."""
    for (_, a), (_, b) in zip(base, base[1:]):
        lo, hi = sorted((a["lm"], b["lm"]))
        if lo <= lm <= hi and hi > lo:
            w = (lm - a["lm"]) / (b["lm"] - a["lm"])
            at = {"reverse_lm": a["reverse_lm"] + w * (b["reverse_lm"] - a["reverse_lm"]),
                  "spread": max(a["reverse_lm_spread"], b["reverse_lm_spread"])}
            better = [p for _, p in base if p["lm"] <= lm and p["reverse_lm"] < at["reverse_lm"]]
            if better:
                best = min(better, key=lambda p: p["reverse_lm"])
                at = {"reverse_lm": best["reverse_lm"], "spread": best["reverse_lm_spread"]}
            return at
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--base", default="mle T=")
    ap.add_argument("--challenger", default="adversarial T=")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = load_rows(args.files)
    seeds = sorted({s for r in rows.values() for s in r})
    base, challenger = front(rows, args.base, seeds), front(rows, args.challenger, seeds)
    print(f"seeds {seeds}; figures: mean ± spread (max - min over seeds)")
    print("| point | LM score | reverse-LM score |")
    print("|---|---|---|")
    for prefix, pts in ((args.base, base), (args.challenger, challenger)):
        for k, s in pts:
            print(f"| {prefix}{k:g} | {s['lm']:.4f} ± {s['lm_spread']:.4f} | "
                  f"{s['reverse_lm']:.4f} ± {s['reverse_lm_spread']:.4f} |")
    real = summarise(rows.get("real (test windows)", {}), seeds)
    if real:
        print(f"| real test windows | {real['lm']:.4f} ± {real['lm_spread']:.4f} | "
              f"{real['reverse_lm']:.4f} ± {real['reverse_lm_spread']:.4f} |")
    print("\n| challenger | its LM score | base front's reverse-LM there | challenger's | gain | larger spread | "
          "above the front |")
    print("|---|---|---|---|---|---|---|")
    levels = []
    for k, s in challenger:
        at = interpolate(base, s["lm"])
        if at is None:
            print(f"| {args.challenger}{k:g} | {s['lm']:.4f} | outside the base front's range | | | | |")
            continue
        gain = at["reverse_lm"] - s["reverse_lm"]
        spread = max(at["spread"], s["reverse_lm_spread"])
        above = gain > spread
        levels.append({"knob": k, "lm": s["lm"], "base_reverse_lm": at["reverse_lm"],
                       "reverse_lm": s["reverse_lm"], "gain": gain, "spread": spread, "above": above})
        print(f"| {args.challenger}{k:g} | {s['lm']:.4f} | {at['reverse_lm']:.4f} | {s['reverse_lm']:.4f} | "
              f"{gain:+.4f} | {spread:.4f} | {'yes' if above else 'no'} |")
    n_above = sum(lv["above"] for lv in levels)
    print(f"\nabove the base front by more than the spread at {n_above} of {len(levels)} matched quality levels "
          f"(the claim needs 3)")
    if args.json:
        from divertimento.atomic import write_json_atomic

        write_json_atomic(args.json, {"seeds": seeds, "levels": levels, "claim_holds": n_above >= 3})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
