import json

from ..data.windows import DEFAULT_METERS
from ..errors import UserError


def _range(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in text.split(":" if ":" in text else ","))
    except ValueError:
        raise UserError(f"--transpose wants LOW:HIGH semitones, e.g. -3:3 (got {text!r})") from None
    return lo, hi


def add_arguments(p) -> None:
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="music21:COLLECTION or a file/folder, optionally =STYLE; none = the embedded default")
    p.add_argument("--out", required=True, help="output dataset directory")
    p.add_argument("--layout", default="satb", help="track layout: satb (4 voices), band (drums, piano, guitar, "
                   "bass, strings) or piano (up to 6 notes at once); docs/layouts.md")
    p.add_argument("--bars", type=int, default=4, help="window length in 4/4 bars (default 4)")
    p.add_argument("--steps-per-quarter", type=int, default=4, help="grid resolution (default 4 = 16ths)")
    p.add_argument("--hop", type=int, default=4, help="quarters between window starts (default 4)")
    p.add_argument("--meters", default=",".join(DEFAULT_METERS), help="time signatures to keep, comma-separated")
    p.add_argument("--transpose", default="-3:3", help="train-time transposition range LOW:HIGH (default -3:3)")
    p.add_argument("--seed", type=int, default=0, help="split seed")
    p.add_argument("--workers", type=int, default=2, help="parallel parser processes")
    p.add_argument("--cache", default=None, help="parsed-piece cache dir (default ~/.cache/divertimento)")
    p.add_argument("--file-time-limit", type=float, default=120.0,
                   help="seconds to read one file before it is skipped with that reason (default 120)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..data.prepare import PrepareOptions, prepare

    opts = PrepareOptions(
        layout=args.layout, steps_per_quarter=args.steps_per_quarter, bars=args.bars, hop_quarters=args.hop,
        meters=tuple(m.strip() for m in args.meters.split(",") if m.strip()), transpose=_range(args.transpose),
        seed=args.seed, workers=args.workers, cache_dir=args.cache, sources=list(args.sources),
        file_time_limit=args.file_time_limit,
    )
    m = prepare(args.out, opts, progress=not args.quiet)
    per_style = ", ".join(f"{s} {sum(v['windows'].values())}" for s, v in m["styles"].items())
    print(f"prepared {m['windows']} windows ({per_style}) from "
          f"{sum(sum(v['pieces'].values()) for v in m['styles'].values())} pieces; "
          f"{len(m['skipped'])} skipped; pitch range {m['pitch_range'][0]}-{m['pitch_range'][1]}; "
          f"{m['seconds']:.1f} s -> {args.out}")
    notes = m["notes"]
    if notes["placed"] and notes["kept"] < notes["placed"]:
        print(f"kept {notes['kept']} of the {notes['placed']} notes of the tracks placed in the {m['layout']} layout's "
              f"parts ({100 * notes['kept'] / notes['placed']:.1f} %); the rest sounded with more notes than a part "
              "has lanes (pieces.json says which, per track)")
    if notes["tracks_left_out"]:
        print("notes of tracks left out:", json.dumps(notes["tracks_left_out"]))
    if m["skipped"]:
        print("skipped:", json.dumps(m["skipped_reason_counts"]))
    return 0
