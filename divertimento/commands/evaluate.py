"""divertimento evaluate GENERATED --reference DATA_DIR --out DIR: metrics.json, report.html, calibration.json."""

import math
import sys
import time
from pathlib import Path

from ..errors import UserError
from .sampling_options import parse_options


def add_arguments(p) -> None:
    p.add_argument("generated", metavar="GENERATED",
                   help="a folder (or file) of MIDI/MusicXML/ABC, a prepared data dir, a shipped model's name "
                        "(divertimento models) or a model file / run dir of any family")
    p.add_argument("--reference", required=True, metavar="DATA_DIR", help="prepared dataset to compare with")
    p.add_argument("--out", required=True, metavar="DIR", help="output dir for metrics.json and report.html")
    p.add_argument("--train", default=None, metavar="DATA_DIR",
                   help="prepared dataset the model learnt from, for novelty (default: the reference dataset)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric names, groups (quality, diversity, novelty, style, descriptors) "
                        "or globs (diversity/*); default all")
    p.add_argument("--n", type=int, default=None,
                   help="windows to evaluate: a random subset of a folder, or samples from a model (default 1000)")
    p.add_argument("--split", default="test", help="split of GENERATED when it is a prepared data dir (default test)")
    p.add_argument("--reference-split", default="train", choices=("train", "val", "test", "all"),
                   help="split of the reference dataset compared with (default train)")
    p.add_argument("--seed", type=int, default=0, help="seed for subsets and model samples")
    p.add_argument("--style", default=None, help="model samples: generate only this style")
    p.add_argument("--truncation", type=float, default=None, help="model samples: latent truncation")
    p.add_argument("--temperature", type=float, default=None,
                   help="model samples: sampling temperature (default: the model's recommended value, as generate)")
    p.add_argument("--sweep", default=None, metavar="V1,V2,...",
                   help="model only: also evaluate over these truncation (or --sweep-param) values and plot "
                        "quality against diversity")
    p.add_argument("--sweep-param", default="truncation",
                   help="truncation, temperature, or a sampling option of the model's family (e.g. beta for a "
                        "guided model)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="model samples: a sampling option of the model's family, as generate --option")
    p.add_argument("--no-calibration", action="store_true", help="skip the calibration sets")
    p.add_argument("--quiet", action="store_true", help="no progress messages")


def _clean(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def run(args) -> int:
    from ..atomic import write_bytes_atomic, write_json_atomic
    from ..data.dataset import load_prepared
    from ..metrics.calibration import calibrate
    from ..metrics.reference import load_reference, load_train
    from ..metrics.registry import resolve
    from ..metrics.report import render
    from ..metrics.sets import is_model_path, load_generated
    from ..metrics.suite import evaluate_set
    from ..metrics.sweep import parse_values, sweep
    from ..models.factory import SHIPPED
    from ..sample.sampler import load_sampler
    from ..sample.windows import sample_window_set

    say = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    if args.n is not None and args.n < 1:
        raise UserError("--n must be at least 1")
    names = resolve(args.metrics)
    is_model = args.generated in SHIPPED or is_model_path(args.generated)
    if args.sweep and not is_model:
        raise UserError("--sweep needs a model (a shipped name, a .safetensors file or a run dir) as GENERATED")
    t0 = time.perf_counter()
    data = load_prepared(args.reference)
    train_data = load_prepared(args.train) if args.train else data
    say(f"reading {args.generated}")
    sampler = load_sampler(args.generated) if is_model else None
    if sampler is not None:
        options = parse_options(args.option)
        if args.sweep and args.sweep_param not in ("truncation", "temperature"):
            sampler.options({args.sweep_param: 0})  # a knob this family has, or one clear error now
        gen = sample_window_set(sampler, args.n or 1000, args.seed, args.style, args.truncation, args.temperature,
                                options)
    elif args.option:
        raise UserError("--option applies to model samples (GENERATED is music)")
    else:
        gen = load_generated(args.generated, data.manifest, n=args.n, split=args.split, seed=args.seed,
                             progress=not args.quiet)
    say(f"reference statistics of {args.reference} ({args.reference_split})")
    ref = load_reference(data, args.reference_split, seed=args.seed)
    train = load_train(train_data)
    notes = [] if args.train else [f"novelty measured against the reference dataset's train split ({data.root})"]
    if gen.tokens.shape[1:] != (len(ref.roles), ref.window_steps):
        raise UserError(f"generated windows are {gen.tokens.shape[1]} voices x {gen.tokens.shape[2]} steps, the "
                        f"reference's {len(ref.roles)} x {ref.window_steps}; evaluate against data of the same layout")
    if gen.skipped:
        summary = ", ".join(f"{c} {r}" for r, c in gen.skipped_summary().items())
        say(f"skipped {len(gen.skipped)} file(s): {summary}")
    say(f"evaluating {len(gen)} windows")
    ev = evaluate_set(gen, ref, train, names, args.seed, warn=lambda s: say(f"warning: {s}"))
    ev.info["notes"] = notes + ev.info["notes"]
    calibration = None
    if not args.no_calibration:
        say("calibration sets (cached after the first run)")
        calibration = calibrate(ref, train, names, len(gen), args.seed)
    sweep_result = None
    if args.sweep:
        values = parse_values(args.sweep)
        n = args.n or 1000

        def sample(v):
            kw = {"truncation": args.truncation, "temperature": args.temperature, "options": dict(options)}
            if args.sweep_param in ("truncation", "temperature"):
                kw[args.sweep_param] = v
            else:
                kw["options"][args.sweep_param] = v
            return sample_window_set(sampler, n, args.seed, args.style, **kw)

        sweep_result = sweep(sample, values, ref, train, args.sweep_param, seed=args.seed, progress=say)
        if calibration:
            sweep_result["calibration"] = {k: v for k, v in calibration["sets"].items()
                                           if k in ("real test vs train", "random notes", "one window repeated")}
    metrics = dict(ev.metrics)
    metrics.update({"count/generated_windows": len(gen), "count/skipped_files": len(gen.skipped),
                    "count/reference_windows": ref.n, "count/train_windows": train.stats.n})
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "metrics.json", _clean(metrics))
    info = dict(ev.info)
    info.update({"skipped": gen.skipped, "skipped_reason_counts": gen.skipped_summary(), "files_read": gen.n_files,
                 "seconds": round(time.perf_counter() - t0, 2), "timings": {k: round(v, 3) for k, v in
                                                                             ev.timings.items()}})
    write_json_atomic(out / "info.json", info)
    if calibration:
        write_json_atomic(out / "calibration.json", calibration)
    if sweep_result:
        write_json_atomic(out / "sweep.json", {**sweep_result, "points": [
            {"value": p["value"], "metrics": _clean(p["metrics"])} for p in sweep_result["points"]]})
    page = render(ev, calibration, gen.skipped, sweep_result, title=f"divertimento evaluate: {Path(gen.label).name}")
    write_bytes_atomic(out / "report.html", page.encode())
    _summary(metrics, calibration, ev.info["notes"], out, time.perf_counter() - t0)
    return 0


def _multitrack_summary(m: dict) -> None:
    """MuseGAN's per-part figures, generated beside real, for layouts of parts."""
    def fmt(x) -> str:
        return f"{x:.3f}" if isinstance(x, float) and math.isfinite(x) else "-"

    prefix = "multitrack/musegan/gen/"
    for k, v in m.items():
        if k.startswith(prefix) and "/chords_" not in k:
            name = k[len(prefix):]
            print(f"{name:40s} {fmt(v)}   (real: {fmt(m.get(f'multitrack/musegan/real/{name}'))})")


def _summary(m: dict, calibration, notes, out: Path, seconds: float) -> None:
    keys = ("quality/precision", "quality/frechet_descriptor_distance", "diversity/coverage", "diversity/dup_rate",
            "diversity/pairwise_distance/ratio", "novelty/copy_rate", "style/shares/tv_distance")
    real = (calibration or {}).get("sets", {}).get("real test vs train", {})
    for k in keys:
        if k in m:
            v = m[k]
            ref = real.get(k)
            tail = f"   (real test vs train: {ref:.3f})" if isinstance(ref, float) else ""
            print(f"{k:40s} {v:.3f}{tail}" if isinstance(v, float) and math.isfinite(v) else f"{k:40s} -")
    _multitrack_summary(m)
    for n in notes:
        print(f"note: {n}")
    print(f"wrote {out / 'metrics.json'} and {out / 'report.html'} in {seconds:.1f} s")
