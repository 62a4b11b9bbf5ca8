"""The strain rows of ``strain_studio.py`` as fronts over the sampling temperature: per style, a table and a figure
of how real the first strains' structure is (the judge's accuracy, 0.5: cannot tell) against how real and how varied
their windows are (the suite's window two-sample test, precision and coverage), each row a line through its
temperatures, and the claim checked the issue's way: a row is above another's front at a point where every point
of the other whose windows are at least as real (window two-sample accuracy no higher, within the seed spread)
tells its strains from real ones more easily, by more than the larger of the two seed spreads. (Window precision
is not monotone in the temperature here, so the front is matched on the two-sample test, the steadier axis.)

    python experiments/strain_fronts.py runs/r30/front-one.json runs/r30/front-k4.json --png docs/strain-fronts.png
"""

import argparse
import json
import re
from pathlib import Path

ROW = re.compile(r"^(?P<row>.*) T (?P<t>[0-9.]+)$")
AXES = (("window_two_sample", "windows: two-sample accuracy (lower: more real)"),
        ("window_coverage", "windows: coverage (higher: more varied)"))


def fronts(paths: list[str]) -> dict[str, dict[str, list[dict]]]:
    """style -> row -> its points (temperature, means and spreads), by temperature."""
    out: dict = {}
    for path in paths:
        for style, rows in json.loads(Path(path).read_text())["styles"].items():
            for label, row in rows.items():
                if (m := ROW.match(label)) is None:
                    continue
                point = {"t": float(m["t"])} | {k: v for k, v in row.items() if k.endswith(("_mean", "_spread"))}
                out.setdefault(style, {}).setdefault(m["row"], []).append(point)
    for rows in out.values():
        for points in rows.values():
            points.sort(key=lambda p: p["t"])
    return out


def best_at(points: list[dict], level: float, key: str) -> dict | None:
    """The point of the front ``points`` with the lowest judge accuracy among those whose window figure ``key``
    (lower is more real) is at most ``level`` (None when none is): the best the front does at that window quality."""
    good = [p for p in points if p[f"{key}_mean"] <= level]
    return min(good, key=lambda p: p["accuracy_mean"]) if good else None


def cell(point: dict, key: str, digits: int = 3) -> str:
    return f"{point[key + '_mean']:.{digits}f} ± {point[key + '_spread']:.{digits}f}"


def table(style: str, rows: dict[str, list[dict]]) -> list[str]:
    lines = [f"| {style} | T | strain A judge | strain B judge | window precision | window coverage | "
             "window two-sample | window FDD |", "|---|---|---|---|---|---|---|---|"]
    for name, points in rows.items():
        for p in points:
            lines.append(f"| {name} | {p['t']:g} | {cell(p, 'accuracy')} | {cell(p, 'second')} | "
                         f"{cell(p, 'window_precision')} | {cell(p, 'window_coverage')} | "
                         f"{cell(p, 'window_two_sample')} | {cell(p, 'window_fdd', 2)} |")
    return lines


def claim(rows: dict[str, list[dict]], row: str, against: str, key: str = "window_two_sample") -> list[str]:
    """Each point of ``row`` against the best point of ``against`` whose windows are at least as real (``key``, with
    a slack in the front's favour: the largest seed spread on ``key`` of the point and of the front's points)."""
    out = []
    for p in rows[row]:
        slack = max([p[f"{key}_spread"]] + [q[f"{key}_spread"] for q in rows[against]])
        there = best_at(rows[against], p[f"{key}_mean"] + slack, key)
        head = f"{row} T {p['t']:g}: judge {p['accuracy_mean']:.3f}, {key} {p[f'{key}_mean']:.3f}"
        if there is None:
            out.append(f"{head}: windows more real than any of {against}'s")
            continue
        gap, spread = there["accuracy_mean"] - p["accuracy_mean"], max(there["accuracy_spread"], p["accuracy_spread"])
        out.append(f"{head}; {against} at best {there['accuracy_mean']:.3f} (T {there['t']:g}): ahead by {gap:+.3f}, "
                   f"spread {spread:.3f}{' (above)' if gap > spread else ''}")
    return out


def plot(all_rows: dict[str, dict[str, list[dict]]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = list(all_rows)
    fig, axes = plt.subplots(len(styles), len(AXES), figsize=(6 * len(AXES), 4.6 * len(styles)), squeeze=False)
    for i, style in enumerate(styles):
        for j, (key, label) in enumerate(AXES):
            ax = axes[i][j]
            for name, points in all_rows[style].items():
                x = [p[f"{key}_mean"] for p in points]
                y = [p["accuracy_mean"] for p in points]
                ax.errorbar(x, y, xerr=[p[f"{key}_spread"] for p in points],
                            yerr=[p["accuracy_spread"] for p in points], marker="o", capsize=3, label=name)
                for p, xi, yi in zip(points, x, y):
                    ax.annotate(f"{p['t']:g}", (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel(label)
            ax.set_ylabel("first strains: judge accuracy (lower: more real)")
            ax.set_title(style, fontsize=10)
            ax.grid(alpha=0.3)
        axes[i][0].legend(fontsize=7)
    fig.suptitle("strain fronts over the sampling temperature (mean ± spread over 3 seeds; labels: T)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="strain_studio.py --temperatures outputs")
    ap.add_argument("--against", default="one form by the shares", help="the row whose front the others are held to")
    ap.add_argument("--png", default=None)
    args = ap.parse_args()
    all_rows = fronts(args.json)
    for style, rows in all_rows.items():
        print("\n".join(table(style, rows)) + "\n")
        for row in rows:
            if row != args.against and args.against in rows:
                print("\n".join(claim(rows, row, args.against)))
        print()
    if args.png:
        plot(all_rows, args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
