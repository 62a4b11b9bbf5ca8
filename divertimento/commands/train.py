"""divertimento train --data DIR --out RUN --config FILE: the one trainer, for the family the config names."""

import os
import sys


def add_arguments(p) -> None:
    p.add_argument("--data", required=True, help="a prepared dataset directory (from `divertimento prepare`)")
    p.add_argument("--out", required=True, help="run directory to create (or continue with --resume)")
    p.add_argument("--config", default=None,
                   help="JSON config file (divertimento.config.TrainConfig keys; its family key picks gan, vae or "
                        "mle, e.g. configs/mle.json)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config key")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its latest checkpoint, with the config it started with "
                        "(a steps key given by --set or --config becomes its new step budget)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..config import load_config
    from ..json_file import read_json_object
    from ..train.loop import train

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
