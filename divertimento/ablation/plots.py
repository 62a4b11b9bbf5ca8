"""The ablation's figures (PNG): quality against diversity, coverage and shares per style, training curves,
sampling sweeps. Everything is read from the results dict and the run dirs' stats.jsonl."""

from pathlib import Path

import numpy as np

from ..train.loop import read_stats

FAMILY_MARKER = {"gan": "o", "vae": "s", "mle": "^"}
# training curves: per family, the stats keys worth watching
CURVES = {"gan": ("D/loss", "G/adv", "D/real_score", "D/fake_score"), "vae": ("VAE/recon", "VAE/kl"),
          "mle": ("MLE/nll_per_token",)}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _mean_sd(summary: dict, key: str) -> tuple[float, float]:
    s = (summary.get("metrics") or {}).get(key) or {}
    m = s.get("mean")
    return (np.nan if m is None else m), (s.get("sd") or 0.0)


def _colours(n: int):
    plt = _plt()
    cmap = plt.get_cmap("tab20")
    return [cmap(i % 20) for i in range(n)]


def quality_vs_diversity(results: dict, path: Path) -> None:
    """Two panels: precision against coverage, and precision against recall; each variant its mean over seeds with
    sd error bars; calibration sets as grey stars."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    variants = [(n, v) for n, v in results["variants"].items() if v.get("summary")]
    colours = _colours(len(variants))
    for ax, xkey, xlabel in ((axes[0], "diversity/coverage", "coverage (diversity)"),
                             (axes[1], "diversity/recall", "recall (diversity)")):
        for name, c in results.get("calibration", {}).items():
            x, y = c["metrics"].get(xkey), c["metrics"].get("quality/precision")
            if x is not None and y is not None:
                ax.scatter([x], [y], marker="*", s=160, color="0.35", zorder=3)
                ax.annotate(name, (x, y), fontsize=7, color="0.35", xytext=(4, -10), textcoords="offset points")
        for (name, v), col in zip(variants, colours):
            x, xs = _mean_sd(v["summary"], xkey)
            y, ys = _mean_sd(v["summary"], "quality/precision")
            ax.errorbar([x], [y], xerr=[xs], yerr=[ys], fmt=FAMILY_MARKER.get(v["family"], "o"), color=col,
                        ms=8, capsize=3, label=name)
            if np.isfinite(x) and np.isfinite(y):
                ax.annotate(name, (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("precision (quality)")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower right", ncol=2)
    title = "quality vs diversity (mean ± sd over seeds; ★ calibration sets)"
    if results.get("quick"):
        title = "QUICK RUN, NOT RESULTS: " + title
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def styles(results: dict, path: Path) -> None:
    """Left: coverage of each style's reference windows; right: share of each style among generated windows
    (style classifier) against the reference shares."""
    plt = _plt()
    names = results["data"]["style_names"]
    rows = []
    real = next(((n, c) for n, c in results.get("calibration", {}).items() if n.startswith("real ")), None)
    if real:
        rows.append((real[0], {s: real[1]["coverage_by_style"].get(s) for s in names},
                     {s: real[1]["metrics"].get(f"style/shares/share/{s}") for s in names}))
    for n, v in results["variants"].items():
        s = v.get("summary")
        if s:
            rows.append((n, {st: (s["coverage_by_style"].get(st) or {}).get("mean") for st in names},
                         {st: (s["metrics"].get(f"style/shares/share/{st}") or {}).get("mean") for st in names}))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    width = 0.8 / max(len(rows), 1)
    colours = _colours(len(rows))
    xs = np.arange(len(names))
    for i, ((label, cov, share), col) in enumerate(zip(rows, colours)):
        axes[0].bar(xs + i * width, [np.nan if cov[s] is None else cov[s] for s in names], width, color=col,
                    label=label)
        axes[1].bar(xs + i * width, [np.nan if share[s] is None else share[s] for s in names], width, color=col,
                    label=label)
    if real:
        ref = [real[1]["metrics"].get(f"style/shares/ref_share/{s}") for s in names]
        axes[1].scatter(xs + 0.4 - width / 2, [np.nan if r is None else r for r in ref], marker="_", s=900,
                        color="black", zorder=4, label="reference share")
    for ax, title in ((axes[0], "coverage of each style's reference windows"),
                      (axes[1], "share of generated windows per style")):
        ax.set_xticks(xs + 0.4 - width / 2)
        ax.set_xticklabels(names, rotation=20, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[1].legend(fontsize=6, ncol=2)
    if results.get("quick"):
        fig.suptitle("QUICK RUN, NOT RESULTS", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def training_curves(results: dict, out: Path, path: Path) -> None:
    """One panel per (family, stats key): every run's curve, one colour per variant."""
    plt = _plt()
    panels = []
    for fam, keys in CURVES.items():
        if any(v["family"] == fam for v in results["variants"].values()):
            panels += [(fam, k) for k in keys]
    if not panels:
        return
    cols = min(4, len(panels))
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3.2 * nrows), squeeze=False)
    colours = dict(zip(results["variants"], _colours(len(results["variants"]))))
    for ax, (fam, key) in zip(axes.flat, panels):
        for name, v in results["variants"].items():
            if v["family"] != fam:
                continue
            for j, run in enumerate(v["runs"]):
                rows = [r for r in read_stats(out / run["run_dir"]) if key in r]
                if rows:
                    ax.plot([r["step"] for r in rows], [r[key] for r in rows], color=colours[name], lw=1,
                            alpha=0.9 if j == 0 else 0.5, label=name if j == 0 else None)
        ax.set_title(f"{fam}: {key}", fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if results.get("quick"):
        fig.suptitle("QUICK RUN, NOT RESULTS", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def sweeps(results: dict, path: Path) -> bool:
    """Precision against coverage along each sweep (temperature; truncation for latent models), per variant, with
    the main setting (temperature from the settings, no truncation) as the curve's filled end."""
    plt = _plt()
    params = sorted({p for v in results["variants"].values() for p in (v.get("summary") or {}).get("sweeps", {})})
    if not params:
        return False
    fig, axes = plt.subplots(1, len(params), figsize=(6 * len(params), 5), squeeze=False)
    colours = dict(zip(results["variants"], _colours(len(results["variants"]))))
    for ax, param in zip(axes.flat, params):
        for name, v in results["variants"].items():
            s = v.get("summary") or {}
            points = s.get("sweeps", {}).get(param)
            if not points:
                continue
            xs = [(p["metrics"].get("diversity/coverage") or {}).get("mean") for p in points]
            ys = [(p["metrics"].get("quality/precision") or {}).get("mean") for p in points]
            xs = [np.nan if x is None else x for x in xs]
            ys = [np.nan if y is None else y for y in ys]
            ax.plot(xs, ys, "-", marker=FAMILY_MARKER.get(v["family"], "o"), ms=4, color=colours[name], label=name)
            for p, x, y in zip(points, xs, ys):
                if np.isfinite(x) and np.isfinite(y):
                    ax.annotate(f"{p['value']:g}", (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
            x0, _ = _mean_sd(s, "diversity/coverage")
            y0, _ = _mean_sd(s, "quality/precision")
            ax.scatter([x0], [y0], marker=FAMILY_MARKER.get(v["family"], "o"), s=50, color=colours[name],
                       edgecolors="black", zorder=3)
        ax.set_title(f"sweep over {param} (black edge: main setting)", fontsize=9)
        ax.set_xlabel("coverage")
        ax.set_ylabel("precision")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    if results.get("quick"):
        fig.suptitle("QUICK RUN, NOT RESULTS", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_plots(results: dict, out: Path) -> list[str]:
    """Writes OUT/plots/*.png; returns their paths relative to OUT (for results.md)."""
    folder = out / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    quality_vs_diversity(results, folder / "quality_vs_diversity.png")
    written.append("plots/quality_vs_diversity.png")
    styles(results, folder / "styles.png")
    written.append("plots/styles.png")
    training_curves(results, out, folder / "training_curves.png")
    if (folder / "training_curves.png").exists():
        written.append("plots/training_curves.png")
    if sweeps(results, folder / "sweeps.png"):
        written.append("plots/sweeps.png")
    return written
