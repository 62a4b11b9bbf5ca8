"""divertimento train --data DIR --out RUN --config FILE: the one trainer, for the family the config names."""

import os
import sys


def add_arguments(p) -> None:
    p.add_argument("--data", required=True, help="a prepared dataset directory (from `divertimento prepare`)")
    p.add_argument("--out", required=True, help="run directory to create (or continue with --resume)")
    p.add_argument("--config", default=None,
                   help="JSON config file (divertimento.config.TrainConfig keys; its family key picks gan, vae, "
                        "mle or guided, e.g. configs/mle.json; family strains fits the strain critic a trained "
                        "model's reels and jigs are chosen by, studio/strain_fit.py StrainConfig keys, e.g. "
                        "configs/strains.json)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config key")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its latest checkpoint, with the config it started with "
                        "(a steps key given by --set or --config becomes its new step budget)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..config import load_config
    from ..json_file import read_json_object
    from ..train.loop import train

    values = read_json_object(args.config, "config") if args.config is not None else {}
    if values.get("family") == "strains":  # no training steps: a fit on top of a trained model
        return _fit_strains(args, values)
    cfg = load_config(args.config, args.set)
    steps_given = any(item.partition("=")[0].strip() == "steps" for item in args.set) or (
        args.config is not None and "steps" in read_json_object(args.config, "config"))
    row = train(args.data, args.out, cfg, resume=args.resume, progress=not args.quiet, new_budget=steps_given)
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        print(f"trained to step {row.get('step')} in {row.get('seconds')} s -> {args.out}/model.safetensors")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # A torchrun worker leaves at once, its work done and written. Left to interpreter shutdown, a gloo worker
        # thread may still be destroying the last collective's work object; freeing a Python-owned tensor then
        # needs the GIL during finalisation and the process aborts ("terminate called without an active
        # exception", about 6 % of launches under load; upstream PyTorch issue 190489).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _fit_strains(args, values: dict) -> int:
    from ..errors import UserError
    from ..studio.strain_fit import fit_strains, strain_config

    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set wants key=value (got {item!r})")
        overrides[key.strip()] = value.strip()
    if args.resume:
        print("note: a strain fit has no steps to resume; it is fitted afresh", file=sys.stderr)
    fitted = fit_strains(args.data, args.out, strain_config(values, overrides),
                         log=(lambda line: None) if args.quiet else print)
    print(f"fitted strains in {fitted['fit']['seconds']} s -> {args.out}/model.safetensors")
    return 0
