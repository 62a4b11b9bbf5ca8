"""Figures for a model card: a model's samples against held-out real data, next to real test windows.

    python benchmarks/evaluate_model.py [--model mle] --data data/default [--n 1000] [--temperatures 0.05,0.5,1.0]

--model: a shipped model's name (``divertimento models``: mle, the default, or gan), a model file, a checkpoint or
a run dir, of any family.

Rows: real test windows vs the train split (the best a model can do), then the model at each sampling
temperature. Reference = the data's train split, novelty against the train split.

``--per-style``: the note-level descriptors style by style (the model asked for the style, against the test
windows of that style), so a difference in the style mix of the test split cannot pass for a model's error."""

import argparse
import json
import time

import numpy as np

from divertimento.data.dataset import load_prepared
from divertimento.metrics import evaluate_windows
from divertimento.sample.sampler import load_sampler

KEYS = {
    "QN": "descriptors/qualified_note_rate",
    "UPC": "descriptors/used_pitch_classes",
    "poly": "descriptors/polyphony_rate",
    "in-scale": "descriptors/in_scale_rate",
    "EB": "descriptors/empty_bar_rate",
    "prec": "quality/precision",
    "recall": "diversity/recall",
    "cover": "diversity/coverage",
    "density": "quality/density",
    "FDD": "quality/frechet_descriptor_distance",
    "dup": "diversity/dup_rate",
    "copy": "novelty/copy_rate",
    "styleTV": "style/shares/tv_distance",
    "style err": "style/shares/max_share_error",
    "par": "descriptors/parallel_fifths_octaves_rate",
}


def row(name: str, m: dict) -> str:
    cells = []
    for key in KEYS.values():
        v = m.get(key)
        cells.append("-" if v is None else f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}")
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="shipped model name or path (default: the shipped default)")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--temperatures", default="0.05,0.5,1.0")
    ap.add_argument("--json", default=None, help="also write all metrics here")
    ap.add_argument("--per-style", type=float, default=None, metavar="T",
                    help="also a table of descriptors per style at sampling temperature T")
    args = ap.parse_args()
    data = load_prepared(args.data)
    sampler = load_sampler(args.model)  # any family (gan, vae, mle); None = the shipped default model
    rng = np.random.default_rng(0)
    test = data.splits["test"]
    pick = rng.choice(len(test["rolls"]), size=min(args.n, len(test["rolls"])), replace=False)
    results = {}
    t0 = time.perf_counter()
    results["real test"] = evaluate_windows(test["rolls"][pick], args.data, low=data.low,
                                            style=test["style"][pick].astype(np.int64), style_names=data.style_names)
    for t in (float(x) for x in args.temperatures.split(",")):
        tokens, styles = sampler.generate_tokens([(123, i) for i in range(args.n)], temperature=t)
        results[f"model T={t}"] = evaluate_windows(tokens, args.data, low=sampler.low)
    if sampler.strict_voice_leading:  # what the recommended voice leading changes
        tokens, _ = sampler.generate_tokens([(123, i) for i in range(args.n)], temperature=t,
                                            strict_voice_leading=False)
        results[f"model T={t}, free voice leading"] = evaluate_windows(tokens, args.data, low=sampler.low)
    print(f"{sampler.family} model {sampler.path}; {args.n} windows per row; reference = train split of {args.data}; "
          f"{time.perf_counter() - t0:.0f} s")
    print("| set | " + " | ".join(KEYS) + " |")
    print("|---|" + "---|" * len(KEYS))
    for name, m in results.items():
        print(row(name, m))
    shares = {k: v for k, v in results[f"model T={t}"].items() if k.startswith("style/shares/share/")}
    if shares:
        print("style shares (last row):", json.dumps({k.split("/")[-1]: round(v, 3) for k, v in shares.items()}))
    if args.per_style is not None:
        results["per style"] = per_style(sampler, data, args.data, args.n, args.per_style)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


STYLE_KEYS = ("QN", "UPC", "poly", "in-scale", "EB", "par")


def per_style(sampler, data, data_dir: str, n: int, temperature: float) -> dict:
    """Descriptors of n windows per style against (up to n of) that style's test windows; prints a table."""
    test = data.splits["test"]
    out = {}
    print(f"\nper style, model at T={temperature} vs the style's test windows (model / real):")
    print("| style | " + " | ".join(STYLE_KEYS) + " |")
    print("|---|" + "---|" * len(STYLE_KEYS))
    for s, name in enumerate(data.style_names):
        real = test["rolls"][test["style"] == s][:n]
        tokens, _ = sampler.generate_tokens([(321, i) for i in range(n)], style=name, temperature=temperature)
        m = evaluate_windows(tokens, data_dir, low=sampler.low, train=None, metrics=["descriptors"])
        r = evaluate_windows(real, data_dir, low=data.low, train=None, metrics=["descriptors"])
        out[name] = {"model": m, "real": r}
        cells = [f"{m[KEYS[k]]:.3f} / {r[KEYS[k]]:.3f}" for k in STYLE_KEYS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return out


if __name__ == "__main__":
    main()
