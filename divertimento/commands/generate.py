import sys

from ..errors import UserError
from .sampling_options import parse_options


def parse_seeds(text: str) -> list[int]:
    """'0-99' or '1,5,9' or '3' -> list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                a, b = part.split("-", 1) if not part.startswith("-") else ("-" + part[1:].split("-", 1)[0],
                                                                            part[1:].split("-", 1)[1])
                a, b = int(a), int(b)
                if b < a:
                    raise ValueError
                if b - a >= 10_000:
                    raise UserError(f"--seeds {text}: at most 10000 seeds")
                seeds += list(range(a, b + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise UserError(f"--seeds wants a range like 0-99 or a list like 1,5,9 (got {text!r})") from None
    if not seeds:
        raise UserError("--seeds is empty")
    return seeds


def add_arguments(p) -> None:
    p.add_argument("--model", default=None,
                   help="a shipped model's name (divertimento models), or a model file, checkpoint or run dir of "
                        "any family (default: the shipped default)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--n", type=int, default=8, help="number of pieces (default 8)")
    p.add_argument("--style", default=None, help="style to generate; default: drawn by the data's shares")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--seed", type=int, default=0, help="run seed: piece i uses (seed, i) (default 0)")
    group.add_argument("--seeds", default=None, help="explicit piece seeds, e.g. 0-99; overrides --n")
    p.add_argument("--truncation", type=float, default=None, help="truncation of the latent, e.g. 1.0 (default off)")
    p.add_argument("--temperature", type=float, default=None,
                   help="sampling temperature of the tokens (default: the model's recommended value)")
    p.add_argument("--formats", default="mid,png", help="comma list of mid,musicxml,ogg,wav,png (default mid,png)")
    p.add_argument("--voice-leading", choices=("strict", "free"), default=None,
                   help="strict: no parallel fifths or octaves between voices (autoregressive models); default: "
                        "what the model file recommends (strict for the shipped default)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a sampling option of the model's family, e.g. beta=0.5 or rerank=likelihood for a guided "
                        "model (default: what the model file recommends)")
    p.add_argument("--keep-copies", action="store_true",
                   help="keep pieces that are near-copies of a training window (default: such a piece is drawn "
                        "again, up to 3 times, when the model's training data is on this machine)")
    p.add_argument("--train-data", default=None,
                   help="the model's prepared training data, for the near-copy check (default: the data_dir the "
                        "model file names)")


def run(args) -> int:
    # imported here: the CLI builds every command's parser, and only the command that runs should pay for torch
    from ..atomic import write_json_atomic
    from ..sample.draw import MAX_PIECES
    from ..sample.export import parse_formats, prepare_out_dir, write_piece_files
    from ..sample.originality import Originality, draw_novel_tokens, resolve_data_dir
    from ..sample.pieces import tokens_to_piece
    from ..sample.sampler import load_sampler

    formats = parse_formats(args.formats)
    if args.seeds is not None:
        pairs = [(s, 0) for s in parse_seeds(args.seeds)]
    else:
        if not 1 <= args.n <= MAX_PIECES:
            raise UserError(f"--n must be 1..{MAX_PIECES} (got {args.n})")
        pairs = [(args.seed, i) for i in range(args.n)]
    sampler = load_sampler(args.model)
    options = {} if args.voice_leading is None else {"strict_voice_leading": args.voice_leading == "strict"}
    if args.option:
        options["options"] = parse_options(args.option)
    if args.keep_copies:
        tokens, styles = sampler.generate_tokens(pairs, args.style, args.truncation, args.temperature, **options)
        used, figures, status = list(pairs), [None] * len(pairs), "not checked (--keep-copies)"
    else:
        originality = Originality(resolve_data_dir(sampler, args.train_data))
        tokens, styles, used, figures = draw_novel_tokens(sampler, pairs, args.style, args.truncation,
                                                          args.temperature, originality, **options)
        status = originality.status
        if status != "ready":
            print(f"note: near-copies not checked: originality {status} (give --train-data DIR)", file=sys.stderr)
    out = prepare_out_dir(args.out)
    index = []
    for tok, style, (seed, i), drawn, fig in zip(tokens, styles, pairs, used, figures):
        piece = tokens_to_piece(tok, sampler.low, sampler.manifest, style, f"{style} seed {seed}.{i}")
        stem = f"{style}-seed{seed}-{i:04d}"
        files = write_piece_files(piece, out, stem, formats)
        entry = {"seed": seed, "index": i, "style": style, "notes": piece.n_notes, "files": files,
                 "originality": fig}
        if tuple(drawn) != (seed, i):
            entry["redrawn_from_seed_pair"] = list(drawn)
        index.append(entry)
    redrawn = sum("redrawn_from_seed_pair" in e for e in index)
    copies = sum(bool(f and f["near_copy"]) for f in figures)
    write_json_atomic(out / "generated.json", {"model": str(sampler.path), "family": sampler.family,
                                               "truncation": args.truncation,
                                               "temperature": args.temperature or sampler.default_temperature,
                                               "strict_voice_leading": options.get("strict_voice_leading",
                                                                                   sampler.strict_voice_leading),
                                               "options": sampler.options(options.get("options")),
                                               "originality": status, "redrawn": redrawn, "near_copies": copies,
                                               "pieces": index})
    checked = f"; {redrawn} near-copies redrawn, {copies} left" if status == "ready" else ""
    print(f"wrote {len(index)} pieces ({', '.join(formats)}) to {out}{checked}")
    return 0
