"""divertimento ablate: train every ablation variant under one budget and set of seeds, evaluate each against the
data's held-out split, write results.md, results.json and plots. See docs/ablation.md.

Until ``ablate`` is listed in cli.COMMANDS it also runs as ``python -m divertimento.commands.ablate ...``."""

import sys
from pathlib import Path

from ..errors import UserError


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise UserError(f"{what} wants comma-separated numbers (got {text!r})") from None


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise UserError(f"{what} wants comma-separated integers (got {text!r})") from None


def command_line() -> str:
    """How this run was started, as ``divertimento ablate ...`` whether through the CLI or ``python -m``."""
    import shlex

    argv = sys.argv[1:]
    if argv[:1] == ["ablate"]:
        argv = argv[1:]
    return "divertimento ablate " + shlex.join(argv)


def add_arguments(p) -> None:
    p.add_argument("--data", default="data/default", help="prepared dataset (default data/default)")
    p.add_argument("--out", default=None, help="output folder (default runs/ablation, or runs/ablation-quick)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--budget-steps", type=int, default=None, metavar="N",
                        help="training steps per run, every variant (default 2000; --quick: 4)")
    budget.add_argument("--budget-minutes", type=float, default=None, metavar="M",
                        help="wall-clock minutes per run instead: a timed probe per variant sets its steps")
    p.add_argument("--seeds", default=None, help="training seeds, comma-separated (default 0,1; --quick: 0)")
    p.add_argument("--variants", default=None, help="comma-separated variant names (default all; see --list)")
    p.add_argument("--variants-dir", default=None, help="folder of variant files (default configs/ablation)")
    p.add_argument("--list", action="store_true", help="list the variants and exit")
    p.add_argument("--quick", action="store_true",
                   help="harness check: a handful of steps per variant, 200 samples, short sweeps; NOT results")
    p.add_argument("--n", type=int, default=None, help="windows sampled and evaluated per run (default 1000)")
    p.add_argument("--reference-split", default="test", choices=("test", "val", "train"),
                   help="split the samples are compared with (default test, held out); novelty is against train")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the main table")
    p.add_argument("--sweep-temperatures", default=None, metavar="T1,T2",
                   help="extra temperatures evaluated per run (default 0.5,0.75; '' = none)")
    p.add_argument("--sweep-truncations", default=None, metavar="T1,T2",
                   help="latent truncations evaluated per GAN/VAE run (default 0.5,1.0,1.5; '' = none)")
    p.add_argument("--no-calibration-sets", action="store_true",
                   help="only the real held-out calibration row (not: repeated window, copies, random notes)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every variant (e.g. batch_size=32)")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep the training checkpoints of finished runs")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args) -> int:
    from ..ablation.runner import QUICK_N, AblationSettings, run_ablation
    from ..ablation.variants import load_variants, select_variants
    from ..config import TrainConfig

    variants = load_variants(args.variants_dir)
    if args.list:
        for v in variants.values():
            print(f"{v.name:16s} {v.family:4s} {v.description}")
        return 0
    chosen = select_variants(variants, args.variants)
    overrides = {}
    known = set(TrainConfig.__dataclass_fields__)
    for item in args.set:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise UserError(f"--set wants key=value (got {item!r})")
        if key not in known:
            raise UserError(f"--set {key}: not a key of TrainConfig")
        overrides[key] = value
    quick = args.quick
    seeds = _ints(args.seeds, "--seeds") if args.seeds is not None else ([0] if quick else [0, 1])
    temps = _floats(args.sweep_temperatures, "--sweep-temperatures") if args.sweep_temperatures is not None \
        else ([0.5] if quick else [0.5, 0.75])
    truncs = _floats(args.sweep_truncations, "--sweep-truncations") if args.sweep_truncations is not None \
        else ([1.0] if quick else [0.5, 1.0, 1.5])
    out = Path(args.out or ("runs/ablation-quick" if quick else "runs/ablation"))
    settings = AblationSettings(
        data=Path(args.data), out=out, variants=chosen, seeds=seeds, budget_steps=args.budget_steps,
        budget_minutes=args.budget_minutes, n_samples=args.n or (QUICK_N if quick else 1000),
        temperature=args.temperature, reference_split=args.reference_split, threads=args.threads,
        sweep_temperatures=temps, sweep_truncations=truncs, full_calibration=not args.no_calibration_sets,
        overrides=overrides, quick=quick, keep_checkpoints=args.keep_checkpoints,
        probe_steps=4 if quick else 64, command=command_line())
    say = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    results = run_ablation(settings, say)
    print(f"{len(results['variants'])} variant(s) x {len(seeds)} seed(s) -> {out / 'results.md'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="divertimento ablate", description=__doc__)
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except UserError as e:
        print(f"divertimento ablate: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
