"""The docs' per-style protocol tables from per_style_protocol.py's JSON files: one row per (style, point), the
chosen figures as mean ± spread over seeds.

    python experiments/protocol_table.py runs/protocol/round3.json runs/protocol/round3-adv.json \
        [--figures precision,coverage,two_sample,tonic_tv] [--points "mle T=1,guided b=2"]
"""

import argparse
import json


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--figures", default="precision,coverage,fdd,two_sample,tonic_tv,register_w1")
    ap.add_argument("--points", default=None, help="comma list of point labels, in order (default: all)")
    args = ap.parse_args()
    summary: dict = {}
    for f in args.files:
        for label, by_style in json.load(open(f))["summary"].items():
            summary.setdefault(label, by_style)
    figures = args.figures.split(",")
    points = args.points.split(",") if args.points else list(summary)
    styles = list(next(iter(summary.values())))
    print("| style | point | " + " | ".join(figures) + " |")
    print("|---|---|" + "---|" * len(figures))
    for s in styles:
        for p in points:
            cells = []
            for f in figures:
                mean, spread = summary[p][s][f]
                cells.append(f"{mean:.3f} ± {spread:.3f}" if spread else f"{mean:.3f}")
            print(f"| {s} | {p} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
