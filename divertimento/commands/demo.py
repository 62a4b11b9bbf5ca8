def add_arguments(p) -> None:
    p.add_argument("--out", default="demo-out", help="gallery directory (default ./demo-out)")
    p.add_argument("--per-style", type=int, default=2, help="pieces per style (default 2)")
    p.add_argument("--model", default=None, help="a shipped model's name, or a model file, checkpoint or run dir "
                        "(default: the shipped default, see divertimento models)")
    p.add_argument("--audio", default="ogg", choices=("ogg", "wav"), help="audio format (default ogg)")


def run(args) -> int:
    from ..demo import run_demo
    from ..errors import UserError

    if not 1 <= args.per_style <= 50:
        raise UserError("--per-style must be 1..50")
    from ..music.render import check_renderer

    check_renderer()
    index = run_demo(args.out, args.per_style, args.model, args.audio)
    print(f"demo gallery: {index.resolve()}  (open it in a browser)")
    return 0
