def add_arguments(p) -> None:
    p.add_argument("data", help="a prepared dataset directory")
    p.add_argument("--tracks", action="store_true",
                   help="also list every piece's tracks: the part each went to, notes kept, and why any were left out")


def run(args) -> int:
    from ..data.dataset import load_prepared
    from ..data.info import summarise, track_report

    data = load_prepared(args.data)
    print(summarise(data))
    if args.tracks:
        print(track_report(data))
    return 0
