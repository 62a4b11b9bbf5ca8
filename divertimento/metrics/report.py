"""A self-contained HTML report of one evaluation: tables, calibration and plots as embedded PNG (no external files)."""

import base64
import html
import io
import math
from collections import Counter

import numpy as np

from .calibration import CAL_SETS
from .descriptors import LENGTH_LABELS, SCALARS
from .stats import kde_pair

HEADLINE = (
    ("quality/precision", "share of generated windows that look like some real one (1 best)"),
    ("quality/density", "crowding of real neighbourhoods (about 1 = like the data)"),
    ("quality/frechet_descriptor_distance", "Frechet distance of descriptor vectors; not CLaMP FMD (0 best)"),
    ("quality/mgeval/mean_oa", "MGEval overlap, inter-set vs intra-set distances (1 best)"),
    ("quality/relative_error/mean", "mean relative error of descriptor averages (0 best)"),
    ("diversity/recall", "share of the data reached by generated windows (1 best)"),
    ("diversity/coverage", "share of real neighbourhoods with a generated window (about 0.97 = like the data)"),
    ("diversity/dup_rate", "exact duplicates (0 best)"),
    ("diversity/dup_rate_any_key", "duplicates up to transposition (0 best)"),
    ("diversity/pairwise_distance/ratio", "mean pairwise distance / the data's (1 = as varied)"),
    ("diversity/intra_set_oa", "overlap of intra-set distance distributions (1 best)"),
    ("diversity/ndb/ratio", "share of k-means bins with a different share (0 best)"),
    ("diversity/ndb/jsd", "JSD of bin distributions in bits (0 best)"),
    ("novelty/nn_distance/mean", "distance to the nearest training window (0 = copies)"),
    ("novelty/copy_rate", "share of windows reproducing >= 80 % of a training window, any key"),
    ("novelty/max_overlap", "mean best overlap with a training window"),
    ("novelty/longest_copied_ngram/mean", "longest note pattern also in the training data (notes)"),
    ("style/shares/tv_distance", "style mix vs the data's, total variation (0 best)"),
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;
text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}.note{color:#555;font-size:.9em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}code{background:#f4f4f4;padding:0 .2em}
tr.cal td{color:#555}
"""


def _fmt(v) -> str:
    if v is None:
        return "–"
    try:
        v = float(v)
    except (TypeError, ValueError):
        return html.escape(str(v))
    if not math.isfinite(v):
        return "–"
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) < 100 else f"{v:.1f}"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plots(ev, sweep=None) -> list[tuple[str, str]]:
    # matplotlib is imported only to draw (about 0.6 s, and pyplot must come after the Agg backend is chosen).
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ctx = ev.context
    out = []
    if ctx is None:
        return out
    gs, rs = ctx.stats.desc, ctx.ref.stats.desc
    # 1. descriptor distributions
    names = [k for k in SCALARS if k != "empty_bar_rate"]
    cols = 4
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(14, 2.4 * rows))
    for ax, k in zip(axes.ravel(), names):
        g, r = gs.scalars[k], rs.scalars[k]
        g, r = g[np.isfinite(g)], r[np.isfinite(r)]
        if len(g) + len(r) == 0:
            ax.set_visible(False)
            continue
        both = np.concatenate([g, r])
        lo, hi = float(both.min()), float(both.max())
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 30)
        if len(r):
            ax.hist(r, bins=bins, density=True, alpha=0.5, label="reference", color="#888")
        if len(g):
            ax.hist(g, bins=bins, density=True, alpha=0.6, label="generated", color="#d62728")
        ax.set_title(k, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    out.append(("Descriptor distributions (generated vs reference)", _png(fig)))
    # 2. histograms
    fig, axes = plt.subplots(1, 3, figsize=(15, 3))
    for ax, (k, labels) in zip(axes, (("note_length_histogram", LENGTH_LABELS), ("ioi_histogram", LENGTH_LABELS),
                                      ("scale_degree_histogram", [str(i) for i in range(12)]))):
        x = np.arange(len(labels))
        ax.bar(x - 0.2, np.nanmean(rs.hists[k], 0), 0.4, label="reference", color="#888")
        ax.bar(x + 0.2, np.nanmean(gs.hists[k], 0), 0.4, label="generated", color="#d62728")
        ax.set_xticks(x, labels, rotation=45, fontsize=7, ha="right")
        ax.set_title(k.replace("_", " ") + (" (degrees from tonic)" if k.startswith("scale") else ""), fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    out.append(("Note lengths, inter-onset intervals and scale degrees (mean share per window)", _png(fig)))
    # 3. intra-set distances
    if "pairwise" in ctx.memo:
        g, r = ctx.memo["pairwise"]
        if len(g) >= 2 and len(r) >= 2:
            grid, pg, pr = kde_pair(g, r)
            fig, ax = plt.subplots(figsize=(7, 3))
            ax.plot(grid, pr, label="reference (intra-set)", color="#444")
            ax.plot(grid, pg, label="generated (intra-set)", color="#d62728")
            ax.fill_between(grid, np.minimum(pg, pr), color="#d62728", alpha=0.15, label="overlap")
            ax.set_xlabel("distance between two windows (standardised descriptor space)")
            ax.legend(fontsize=8)
            out.append(("Diversity: distribution of distances between windows of a set", _png(fig)))
    # 4. novelty
    pw = ctx.per_window
    if "copy_score" in pw or "nn_distance" in pw:
        fig, axes = plt.subplots(1, 2, figsize=(12, 3))
        if "copy_score" in pw:
            axes[0].hist(pw["copy_score"], bins=np.linspace(0, 1, 41), color="#d62728")
            axes[0].axvline(0.8, color="k", ls="--", lw=1)
            axes[0].set_xlabel("best overlap with a training window (any key); >= 0.8 counts as a copy")
        if "nn_distance" in pw:
            axes[1].hist(pw["nn_distance"], bins=40, color="#d62728")
            axes[1].set_xlabel("distance to the nearest training window (descriptor space)")
        fig.tight_layout()
        out.append(("Novelty: overlap with and distance to the training set", _png(fig)))
    # 5. NDB bins
    if "ndb_counts" in ctx.memo:
        rc = ctx.ref.bin_counts / max(ctx.ref.bin_counts.sum(), 1)
        gc = ctx.memo["ndb_counts"] / max(ctx.memo["ndb_counts"].sum(), 1)
        order = np.argsort(-rc)
        fig, ax = plt.subplots(figsize=(12, 2.8))
        x = np.arange(len(rc))
        ax.bar(x - 0.2, rc[order], 0.4, color="#888", label="reference")
        ax.bar(x + 0.2, gc[order], 0.4, color="#d62728", label="generated")
        ax.set_xlabel("k-means bin of the reference (sorted by reference share)")
        ax.legend(fontsize=8)
        out.append(("Mode coverage: share of windows per reference k-means bin (NDB)", _png(fig)))
    # 6. styles
    names = ctx.ref.style_names
    shares = {k: v for k, v in ev.metrics.items() if k.startswith("style/shares/share/")}
    if len(names) > 1 and shares:
        fig, ax = plt.subplots(figsize=(max(5, len(names) * 1.2), 3))
        x = np.arange(len(names))
        ax.bar(x - 0.2, [ev.metrics.get(f"style/shares/ref_share/{n}", 0) for n in names], 0.4, color="#888",
               label="reference")
        ax.bar(x + 0.2, [ev.metrics.get(f"style/shares/share/{n}", 0) for n in names], 0.4, color="#d62728",
               label="generated")
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.legend(fontsize=8)
        out.append(("Style shares (classifier on descriptors)", _png(fig)))
    if sweep:
        out.append(("Trade-off sweep", sweep_plot(sweep)))
    return out


def sweep_plot(sweep: dict) -> str:
    """Quality against diversity over a sweep: precision vs recall and density vs coverage, points labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    pairs = (("diversity/recall", "quality/precision"), ("diversity/coverage", "quality/density"),
             ("diversity/pairwise_distance/ratio", "quality/frechet_descriptor_distance"))
    for ax, (xk, yk) in zip(axes, pairs):
        xs = [p["metrics"].get(xk, np.nan) for p in sweep["points"]]
        ys = [p["metrics"].get(yk, np.nan) for p in sweep["points"]]
        ax.plot(xs, ys, "o-", color="#d62728")
        for p, x, y in zip(sweep["points"], xs, ys):
            ax.annotate(f"{sweep['param']}={p['value']}", (x, y), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        for name, cal in (sweep.get("calibration") or {}).items():
            if cal.get(xk) is not None and cal.get(yk) is not None:
                ax.plot([cal[xk]], [cal[yk]], "s", color="#444")
                ax.annotate(name, (cal[xk], cal[yk]), fontsize=7, color="#444", xytext=(3, -9),
                            textcoords="offset points")
        ax.set_xlabel(xk + " (diversity)")
        ax.set_ylabel(yk + " (quality)")
    fig.tight_layout()
    return _png(fig)


def render(ev, calibration: dict | None = None, skipped: list[dict] | None = None, sweep: dict | None = None,
           title: str = "divertimento evaluation") -> str:
    cal = (calibration or {}).get("sets", {})
    cal_names = [n for n in CAL_SETS if n in cal]
    m = ev.metrics
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    info = ev.info
    parts.append("<table>" + "".join(
        f"<tr><th class='l'>{html.escape(k)}</th><td class='l'>{html.escape(str(info.get(k)))}</td></tr>"
        for k in ("generated", "reference", "train", "n_generated", "n_reference", "n_train")) + "</table>")
    if info.get("notes"):
        parts.append("<p class='note'>" + "<br>".join(html.escape(n) for n in info["notes"]) + "</p>")
    if calibration:
        parts.append(f"<p class='note'>Calibration columns: the same metrics on sets whose answer is known, each of "
                     f"{calibration.get('n')} windows (real test vs train = the best a model can do).</p>")

    def table(keys_with_help):
        head = "<tr><th class='l'>metric</th><th>this set</th>" + "".join(
            f"<th>{html.escape(c)}</th>" for c in cal_names) + "<th class='l'>how to read</th></tr>"
        rows = []
        for k, help_text in keys_with_help:
            if k not in m:
                continue
            cells = "".join(f"<td>{_fmt(cal[c].get(k))}</td>" for c in cal_names)
            rows.append(f"<tr><td class='l'><code>{html.escape(k)}</code></td><td><b>{_fmt(m[k])}</b></td>{cells}"
                        f"<td class='l'>{html.escape(help_text)}</td></tr>")
        return "<table>" + head + "".join(rows) + "</table>"

    parts.append("<h2>Headline</h2>" + table(HEADLINE))
    desc_keys = [(f"descriptors/{k}", "") for k in SCALARS] + [
        (k, "") for k in m if k.startswith("descriptors/empty_bar_rate/")]
    parts.append("<h2>Descriptors (generated mean)</h2>" + table(desc_keys))
    for title_, plot in _plots(ev, sweep):
        parts.append(f"<h2>{html.escape(title_)}</h2>{plot}")
    parts.append("<h2>All metrics</h2>" + table([(k, "") for k in m]))
    if sweep:
        rows = "".join(f"<tr><td>{_fmt(p['value'])}</td>" + "".join(
            f"<td>{_fmt(p['metrics'].get(k))}</td>" for k in sweep["keys"]) + "</tr>" for p in sweep["points"])
        parts.append("<h2>Sweep values</h2><table><tr><th>" + html.escape(sweep["param"]) + "</th>" + "".join(
            f"<th>{html.escape(k)}</th>" for k in sweep["keys"]) + "</tr>" + rows + "</table>")
    if skipped:
        counts = Counter(s["reason"] for s in skipped)
        parts.append("<h2>Skipped files</h2><table><tr><th class='l'>reason</th><th>files</th></tr>" + "".join(
            f"<tr><td class='l'>{html.escape(r)}</td><td>{c}</td></tr>" for r, c in counts.most_common()) + "</table>")
        items = "".join(f"<li>{html.escape(s['source'])}: {html.escape(s['reason'])}</li>" for s in skipped[:2000])
        parts.append(f"<details><summary>file list</summary><ul>{items}</ul></details>")
    timings = getattr(ev, "timings", {})
    if timings:
        parts.append("<p class='note'>compute time: " + ", ".join(f"{html.escape(k)} {v:.2f} s"
                                                                    for k, v in timings.items() if v >= 0.01) + "</p>")
    parts.append("<p class='note'>Definitions and references: docs/metrics.md in the divertimento sources.</p>")
    parts.append("</body></html>")
    return "".join(parts)
