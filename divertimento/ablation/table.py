"""Aggregation over seeds and the markdown tables of results.md."""

import math

import numpy as np

# (column label, metric key, what is better): "up" higher, "down" lower, "real" closest to the real held-out row
COLUMNS = [
    ("QN", "descriptors/qualified_note_rate", "real"),
    ("UPC", "descriptors/used_pitch_classes", "real"),
    ("poly", "descriptors/polyphony_rate", "real"),
    ("rel.err", "quality/relative_error/mean", "down"),
    ("prec", "quality/precision", "up"),
    ("density", "quality/density", "real"),
    ("FDD", "quality/frechet_descriptor_distance", "down"),
    ("recall", "diversity/recall", "up"),
    ("cover", "diversity/coverage", "up"),
    ("pair", "diversity/pairwise_distance/ratio", "real"),
    ("NDB", "diversity/ndb/ratio", "down"),
    ("dup", "diversity/dup_rate", "down"),
    ("copy", "novelty/copy_rate", "down"),
    ("styleTV", "style/shares/tv_distance", "down"),
]
RUN_NUMBERS = ("train_seconds", "steps", "kimg", "sample_seconds", "eval_seconds", "sampler_params")


def _stats(values) -> dict:
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if len(x) == 0:
        return {"mean": None, "sd": None, "min": None, "max": None, "n": 0}
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else None,
            "min": float(x.min()), "max": float(x.max()), "n": int(len(x))}


def summarise(runs: list[dict]) -> dict:
    """Per metric key (and per style coverage, run numbers, sweep points): mean, sample sd (ddof 1; None with one
    seed), min, max and the number of seeds with a finite value."""
    keys = sorted({k for r in runs for k in r["metrics"]})
    out = {"metrics": {k: _stats([r["metrics"].get(k) for r in runs]) for k in keys}}
    styles = sorted({s for r in runs for s in r.get("coverage_by_style", {})})
    out["coverage_by_style"] = {s: _stats([r["coverage_by_style"].get(s) for r in runs]) for s in styles}
    out["run"] = {k: _stats([r.get(k) for r in runs]) for k in RUN_NUMBERS}
    sweeps = {}
    for param in sorted({p for r in runs for p in r.get("sweeps", {})}):
        values = [pt["value"] for pt in runs[0]["sweeps"].get(param, {}).get("points", [])]
        points = []
        for i, value in enumerate(values):
            mkeys = sorted({k for r in runs for k in r["sweeps"][param]["points"][i]["metrics"]})
            points.append({"value": value, "metrics": {
                k: _stats([r["sweeps"][param]["points"][i]["metrics"].get(k) for r in runs]) for k in mkeys}})
        sweeps[param] = points
    out["sweeps"] = sweeps
    return out


def fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.0f}"


def cell(s: dict | None) -> str:
    if not s or s.get("mean") is None:
        return "–"
    return fmt(s["mean"]) + (f" ± {fmt(s['sd'])}" if s.get("sd") is not None else "")


def _real_row(results: dict) -> tuple[str, dict] | None:
    for name, c in results.get("calibration", {}).items():
        if name.startswith("real "):
            return name, c
    return None


def targets(results: dict) -> dict[str, dict]:
    """Per variant, the issue's targets against the real held-out row (means over seeds):
    QN, UPC and polyphony within 5 % of the real row's; coverage >= 0.9 x the real row's; near-copy rate 0;
    no exact duplicates; every style's share within 10 % (relative) of its reference share."""
    real = _real_row(results)
    if real is None:
        return {}
    rm = real[1]["metrics"]
    out = {}
    for name, v in results["variants"].items():
        s = v.get("summary", {}).get("metrics", {})

        def mean(k, s=s):
            return (s.get(k) or {}).get("mean")

        row = {}
        for label, key in (("QN", "descriptors/qualified_note_rate"), ("UPC", "descriptors/used_pitch_classes"),
                           ("poly", "descriptors/polyphony_rate")):
            g, r = mean(key), rm.get(key)
            row[label] = None if g is None or not r else abs(g - r) / abs(r) <= 0.05
        g, r = mean("diversity/coverage"), rm.get("diversity/coverage")
        row["cover"] = None if g is None or not r else g >= 0.9 * r
        row["copy"] = None if mean("novelty/copy_rate") is None else mean("novelty/copy_rate") == 0
        row["dup"] = None if mean("diversity/dup_rate") is None else mean("diversity/dup_rate") == 0
        # the classifier-corrected mix against the training data's shares where the run has them (older results:
        # the raw votes against the reference split's shares)
        adjusted = any(k.startswith("style/shares/adjusted/") for k in s)
        got, want = ("adjusted", "draw_share") if adjusted else ("share", "ref_share")
        errs = []
        for k in s:
            if k.startswith(f"style/shares/{got}/"):
                style = k.rsplit("/", 1)[1]
                ref = mean(f"style/shares/{want}/{style}")
                if ref:
                    errs.append(abs(mean(k) - ref) / ref)
        row["styles"] = None if not errs else max(errs) <= 0.10
        row["max_style_share_error"] = max(errs) if errs else None
        out[name] = row
    return out


def render_markdown(results: dict) -> str:
    st = results["settings"]
    lines = []
    if results.get("quick"):
        lines += ["> **QUICK RUN — NOT RESULTS.** A harness check: every variant trained for a handful of steps. "
                  "The numbers only show that training, sampling, evaluation, tables and plots work end to end.", ""]
    if st.get("budget_minutes"):
        budget = f"{st['budget_minutes']} min per run (steps from a timed probe per variant: see the steps column)"
    else:
        steps = sorted({v["budget"]["steps"] for v in results["variants"].values()})
        budget = f"{', '.join(str(x) for x in steps) or '–'} steps per run"
    lines += [
        "# Ablation results",
        "",
        f"- data: `{results['data']['dir']}` (content hash `{results['data']['content_hash'][:12]}`), "
        f"windows per split {results['data']['windows']}",
        f"- reference: the **{st['reference_split']}** split; novelty (copy) against the train split",
        f"- budget: {budget}; seeds {st['seeds']}; {st['n_samples']} windows sampled per run at seeds "
        f"({st['sample_seed']}, i), temperature {st['temperature']}, no truncation, styles drawn by the data's shares",
        f"- machine: {results['machine']['platform']}, torch {results['machine']['torch']}, "
        f"{results['machine']['threads']} threads; whole ablation {fmt(results.get('elapsed_s'), 0)} s",
        f"- cells: mean ± sample sd over seeds (– where one seed or undefined); command: `{results['command']}`",
        "",
        "## Main table",
        "",
    ]
    head = ["set", "family", "steps", "train s"] + [c[0] for c in COLUMNS]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, c in results.get("calibration", {}).items():
        m = c["metrics"]
        lines.append(f"| *{name}* (n={c['n']}) | data | – | – | " + " | ".join(fmt(m.get(k)) for _, k, _ in COLUMNS)
                     + " |")
    for name, v in results["variants"].items():
        s = v.get("summary")
        if not s:
            continue
        run = s["run"]
        lines.append(f"| **{name}** | {v['family']} | {fmt(run['steps']['mean'], 0)} | "
                     f"{fmt(run['train_seconds']['mean'], 0)} | "
                     + " | ".join(cell(s["metrics"].get(k)) for _, k, _ in COLUMNS) + " |")
    better = {"up": "higher is better", "down": "lower is better", "real": "closest to the real row is best"}
    lines += ["", "Columns: " + "; ".join(f"{lab} = `{k}` ({better[d]})" for lab, k, d in COLUMNS) + ".", ""]
    vanilla = results["variants"].get("vanilla", {}).get("summary")
    if vanilla:
        lines += ["## Against the vanilla GAN (difference of means; ± combined sd)", "",
                  "| variant | Δ prec | Δ cover | Δ recall | Δ pair | Δ styleTV |", "|---|---|---|---|---|---|"]
        for name, v in results["variants"].items():
            s = v.get("summary")
            if name == "vanilla" or not s:
                continue
            cells = []
            for key in ("quality/precision", "diversity/coverage", "diversity/recall",
                        "diversity/pairwise_distance/ratio", "style/shares/tv_distance"):
                a, b = s["metrics"].get(key) or {}, vanilla["metrics"].get(key) or {}
                if a.get("mean") is None or b.get("mean") is None:
                    cells.append("–")
                    continue
                d = a["mean"] - b["mean"]
                sd = math.sqrt((a.get("sd") or 0) ** 2 + (b.get("sd") or 0) ** 2) if a.get("sd") is not None \
                    and b.get("sd") is not None else None
                cells.append(f"{d:+.3f}" + (f" ± {sd:.3f}" if sd is not None else ""))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    tg = targets(results)
    if tg:
        real = _real_row(results)[0]
        lines += [f"## Issue targets (against *{real}*)", "",
                  "| variant | QN ±5 % | UPC ±5 % | poly ±5 % | cover ≥ 0.9 real | copy = 0 | dup = 0 | "
                  "style shares ±10 % (max err) |", "|---|---|---|---|---|---|---|---|"]
        mark = {True: "yes", False: "no", None: "–"}
        for name, row in tg.items():
            lines.append(f"| {name} | " + " | ".join(mark[row[k]] for k in ("QN", "UPC", "poly", "cover", "copy",
                                                                              "dup"))
                         + f" | {mark[row['styles']]} ({fmt(row['max_style_share_error'])}) |")
        lines.append("")
    styles = results["data"]["style_names"]
    lines += ["## Coverage per style", "", "| set | " + " | ".join(styles) + " |", "|---|" + "---|" * len(styles)]
    for name, c in results.get("calibration", {}).items():
        lines.append(f"| *{name}* | " + " | ".join(fmt(c["coverage_by_style"].get(s)) for s in styles) + " |")
    for name, v in results["variants"].items():
        s = v.get("summary")
        if s:
            lines.append(f"| {name} | " + " | ".join(cell(s["coverage_by_style"].get(s_)) for s_ in styles) + " |")
    lines += ["", "## Style shares (style classifier on generated windows; reference shares in the first row)", "",
              "| set | " + " | ".join(styles) + " |", "|---|" + "---|" * len(styles)]
    real = _real_row(results)
    if real:
        rm = real[1]["metrics"]
        lines.append("| *reference shares* | " + " | ".join(fmt(rm.get(f"style/shares/ref_share/{s}")) for s in styles)
                     + " |")
    for name, v in results["variants"].items():
        s = v.get("summary")
        if s:
            lines.append(f"| {name} | " + " | ".join(cell(s["metrics"].get(f"style/shares/share/{s_}"))
                                                      for s_ in styles) + " |")
    adjusted = [(name, v["summary"]["metrics"]) for name, v in results["variants"].items()
                if any(k.startswith("style/shares/adjusted/") for k in (v.get("summary") or {}).get("metrics", {}))]
    if adjusted:
        lines += ["", "Corrected for the classifier's held-out confusion (`style/shares/adjusted`), against the "
                  "training data's shares, which unconditioned draws follow (first row); the issue's ±10 % target "
                  "reads this table:", "", "| set | " + " | ".join(styles) + " |", "|---|" + "---|" * len(styles),
                  "| *training data's shares* | " + " | ".join(cell(adjusted[0][1].get(f"style/shares/draw_share/{s_}"))
                                                             for s_ in styles) + " |"]
        for name, m in adjusted:
            lines.append(f"| {name} | " + " | ".join(cell(m.get(f"style/shares/adjusted/{s_}")) for s_ in styles)
                         + " |")
    sweep_rows = []
    for name, v in results["variants"].items():
        for param, points in (v.get("summary") or {}).get("sweeps", {}).items():
            for pt in points:
                m = pt["metrics"]
                sweep_rows.append(f"| {name} | {param} {pt['value']} | " + " | ".join(
                    cell(m.get(k)) for k in ("quality/precision", "quality/density", "diversity/recall",
                                             "diversity/coverage", "diversity/dup_rate", "novelty/copy_rate")) + " |")
    if sweep_rows:
        lines += ["", "## Sampling sweeps (the main table is temperature "
                  f"{st['temperature']}, no truncation)", "",
                  "| variant | setting | prec | density | recall | cover | dup | copy |", "|---" * 8 + "|"]
        lines += sweep_rows
    lines += ["", "## Variants", ""]
    for name, v in results["variants"].items():
        lines.append(f"- **{name}** ({v['family']}): {v['description']}")
    plots = results.get("plots", [])
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"
