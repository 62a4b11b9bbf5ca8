"""``divertimento serve``: the web studio on loopback (by default) with uvicorn."""

from ..errors import UserError
from ..web.guard import LOOPBACK_NAMES as LOOPBACK


def add_arguments(p) -> None:
    p.add_argument("--model", default=None,
                   help="a shipped model's name, or a sequence model file, checkpoint or run dir (mle or guided; "
                        "default: the default model, divertimento models)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--data-dir", default=None,
                   help="folder for the SQLite database and generated files (default ~/.local/share/divertimento/"
                        "studio)")
    p.add_argument("--train-data", default=None,
                   help="prepared training data for originality figures (default: the model's data_dir)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--workers", type=int, default=2,
                   help="heavy requests computed at once; up to 4 more wait, the rest get 503 (default 2)")
    p.add_argument("--deadline", type=float, default=60.0, metavar="SECONDS",
                   help="a heavy request is stopped this long after it was admitted, waiting included, and answered "
                        "503; a request that could not finish in it is refused at once (default 60)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a name clients may reach the server by, besides the bind address and loopback names "
                        "(Host and Origin headers are checked against them; repeatable)")


def run(args) -> int:
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port must be 1..65535 (got {args.port})")
    if not 1 <= args.threads <= 64 or not 1 <= args.workers <= 16:
        raise UserError("--threads must be 1..64 and --workers 1..16")
    if not 5 <= args.deadline <= 3600:
        raise UserError(f"--deadline must be 5..3600 seconds (got {args.deadline:g})")
    if args.host not in LOOPBACK:
        print(f"warning: serving on {args.host}, reachable from other machines; the studio has no login. Clients "
              "must reach it by a name given with --allow-host (or this address): other Host headers get 421")
    import torch
    import uvicorn

    from ..web.app import build, default_data_dir

    torch.set_num_threads(args.threads)
    data_dir = args.data_dir or default_data_dir()
    try:
        hosts = {*LOOPBACK, args.host, *args.allow_host}
        app = build(args.model, data_dir, args.train_data, args.workers, hosts, args.deadline)
    except OSError as e:
        raise UserError(f"cannot use --data-dir {data_dir}: {e.strerror}") from None
    print(f"divertimento studio on http://{args.host}:{args.port}/  (API docs at /docs; data in {data_dir})",
          flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws_max_size=65536,
                    timeout_graceful_shutdown=3)
    except OSError as e:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {e.strerror}") from None
    return 0
