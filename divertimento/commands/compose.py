"""``divertimento compose``: the composing tools from the command line (the web studio calls the same functions).

    divertimento compose harmonise tune.abc --style bach --out DIR
    divertimento compose form --form AABA --style irish --out DIR
    divertimento compose long --bars 16 --out DIR
    divertimento compose vary --seed 3 --index 0 --n 4 --distance 0.3 --out DIR

Every piece is written as MIDI, MusicXML, audio and a piano-roll (``--formats``), with a compose.json that lists
each piece's originality figure.
"""

from pathlib import Path

from ..errors import UserError


def add_arguments(p) -> None:
    p.add_argument("tool", choices=("harmonise", "form", "long", "vary"), help="what to make")
    p.add_argument("melody", nargs="?", default=None, help="harmonise: a MIDI, MusicXML or ABC file")
    p.add_argument("--model", default=None,
                   help="a shipped model's name, or a sequence model file, checkpoint or run dir (mle or guided; "
                        "default: the studio's model, divertimento models)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--style", default=None, help="style (default: drawn by the data's shares)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--index", type=int, default=0, help="vary: which piece of the seed to vary (default 0)")
    p.add_argument("--form", default="AABA", help="form: section letters A-H (default AABA)")
    p.add_argument("--bars", type=int, default=16, help="long: length in bars (default 16)")
    p.add_argument("--n", type=int, default=4, help="vary: number of variations (default 4)")
    p.add_argument("--distance", type=float, default=0.3,
                   help="vary: share of (voice, bar) cells redrawn, 0..1 (default 0.3)")
    p.add_argument("--train-data", default=None, help="training data for originality (default: the model's)")
    p.add_argument("--formats", default="mid,musicxml,ogg,png", help="comma list of mid,musicxml,ogg,wav,png")


def run(args) -> int:
    from ..atomic import write_json_atomic
    from ..sample.export import parse_formats, prepare_out_dir, safe_stem, write_piece_files
    from ..studio import compose as C
    from ..studio.engine import load_studio_model
    from ..studio.service import Studio

    formats = parse_formats(args.formats)
    if args.tool == "harmonise" and not args.melody:
        raise UserError("harmonise needs a melody file")
    if not 0 <= args.distance <= 1 or not 1 <= args.n <= 64:
        raise UserError("--distance must lie in 0..1 and --n in 1..64")
    engine = load_studio_model(args.model)
    if args.style is not None and args.style not in engine.style_names:
        raise UserError(f"unknown style {args.style!r}; this model knows {', '.join(engine.style_names)}")
    studio = Studio(engine, args.train_data)
    temp = studio.temperature(None)
    if args.tool == "harmonise":
        if not Path(args.melody).is_file():
            raise UserError(f"{args.melody} is not a file")
        pieces = [studio.harmonise_file(args.melody, args.style, args.seed)]
    elif args.tool == "form":
        pieces = studio.score([C.compose(engine, (args.seed, 0), args.style, temp, form=args.form)])
    elif args.tool == "long":
        pieces = studio.score([C.compose(engine, (args.seed, 0), args.style, temp, bars=args.bars)])
    else:
        parent = C.compose(engine, (args.seed, args.index), args.style, temp)
        pieces = studio.score([parent] + C.variations(engine, parent, args.n, args.distance, args.seed + 1))
    out = prepare_out_dir(args.out)
    index = []
    for k, p in enumerate(pieces):
        files = write_piece_files(p.to_piece(engine), out, f"{k:02d}-{safe_stem(p.title)}", formats)
        index.append({"title": p.title, "kind": p.kind, "style": p.style, "bars": p.n_bars, "form": p.form,
                      "originality": p.originality, "meta": p.meta, "files": files})
    write_json_atomic(out / "compose.json", {"model": str(engine.sampler.path), "tool": args.tool, "pieces": index})
    for e in index:
        o = e["originality"]
        fig = "originality n/a" if o is None else ("NEAR-COPY" if o["near_copy"] else f"originality {o['distance']}")
        print(f"{e['title']}: {e['bars']} bars, {fig}")
    print(f"wrote {len(index)} piece(s) to {out}")
    return 0
