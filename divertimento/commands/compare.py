"""divertimento compare A B ...: one side-by-side table of several evaluations (markdown printed, md + json written)."""

from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_OR_METRICS",
                   help="metrics.json files, evaluate --out dirs, or run dirs holding one")
    p.add_argument("--out", default="compare", metavar="PREFIX",
                   help="write PREFIX.md and PREFIX.json (default ./compare.md, ./compare.json)")
    p.add_argument("--metrics", default=None, help="comma-separated keys or key prefixes to show (default headline)")
    p.add_argument("--all", action="store_true", help="show every metric key")


def run(args) -> int:
    from ..atomic import write_bytes_atomic, write_json_atomic
    from ..errors import UserError
    from ..metrics.compare import compare

    keys = [k.strip() for k in args.metrics.split(",") if k.strip()] if args.metrics else None
    md, table = compare(args.runs, keys, args.all)
    print(md, end="")
    prefix = Path(args.out)
    if prefix.suffix in (".md", ".json"):
        prefix = prefix.with_suffix("")
    if prefix.parent and not prefix.parent.exists():
        raise UserError(f"--out: directory {prefix.parent} does not exist")
    write_bytes_atomic(prefix.with_name(prefix.name + ".md"), md.encode())
    write_json_atomic(prefix.with_name(prefix.name + ".json"), table)
    print(f"wrote {prefix}.md and {prefix}.json")
    return 0
