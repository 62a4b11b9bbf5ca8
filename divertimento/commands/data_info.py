def add_arguments(p) -> None:
    p.add_argument("data", help="a prepared dataset directory")


def run(args) -> int:
    from ..data.dataset import load_prepared
    from ..data.info import summarise

    print(summarise(load_prepared(args.data)))
    return 0
