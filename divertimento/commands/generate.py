import sys

from ..atomic import write_json_atomic
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
    p.add_argument("--bars", type=int, default=None,
                   help="bars per piece, 1..128 (default: the style's usual length, 32 for reels and jigs, else 16; "
                        "a sequence model carries its context across the whole piece and ends on the tonic; a gan or "
                        "vae writes one window)")
    p.add_argument("--meter", default=None,
                   help="time signature, e.g. 6/8 (default: drawn by the style's shares in the training data)")
    p.add_argument("--form", default=None,
                   help="sections, e.g. AABB: the bars divide into equal sections (4 bars each without --bars); a "
                        "letter heard again is its section again (default: the style's own form, AABB for reels "
                        "and jigs, else through-composed; sequence models)")
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
                        "model, or of the strains a model file carries: strain_candidates=K (0..16; 0: strains "
                        "through-composed), strain_beta=B (0..100) and strain_rerank=likelihood (the control) "
                        "(default: what the model file recommends)")
    p.add_argument("--keep-copies", action="store_true",
                   help="keep pieces that are near-copies of a training window (default: such a piece is drawn "
                        "again, up to 3 times, when the model's training data is on this machine)")
    p.add_argument("--train-data", default=None,
                   help="the model's prepared training data, for the near-copy check (default: the data_dir the "
                        "model file names)")


def run(args) -> int:
    # imported here: the CLI builds every command's parser, and only the command that runs should pay for torch
    from ..sample.draw import MAX_PIECES, check_meter
    from ..sample.export import parse_formats, prepare_out_dir
    from ..sample.originality import Originality, draw_novel_tokens, resolve_data_dir
    from ..sample.sampler import load_sampler
    from ..studio.strains import OPTIONS as STRAIN_OPTIONS
    from ..studio.whole import check_length, sequence_engine, whole_pieces

    formats = parse_formats(args.formats)
    if args.seeds is not None:
        pairs = [(s, 0) for s in parse_seeds(args.seeds)]
    else:
        if not 1 <= args.n <= MAX_PIECES:
            raise UserError(f"--n must be 1..{MAX_PIECES} (got {args.n})")
        pairs = [(args.seed, i) for i in range(args.n)]
    sampler = load_sampler(args.model)
    if args.style is not None and args.style not in sampler.style_names:
        raise UserError(f"unknown style {args.style!r}; this model knows {', '.join(sampler.style_names)}")
    check_meter(args.meter, args.style, sampler.manifest)
    options = {} if args.voice_leading is None else {"strict_voice_leading": args.voice_leading == "strict"}
    strain_options = {}
    if args.option:
        options["options"] = parse_options(args.option)
        strain_options = {k: options["options"].pop(k) for k in STRAIN_OPTIONS if k in options["options"]}
    engine = sequence_engine(sampler, options.get("strict_voice_leading"), options.get("options"), strain_options)
    check_length(sampler, engine, args.bars, args.form)
    if args.keep_copies:
        tokens, styles = sampler.generate_tokens(pairs, args.style, args.truncation, args.temperature,
                                                 meter=args.meter, **options)
        used, figures, status = list(pairs), [None] * len(pairs), "not checked (--keep-copies)"
        originality = None
    else:
        data_dir = resolve_data_dir(sampler, args.train_data)
        if args.train_data is not None and data_dir is None:
            raise UserError(f"--train-data {args.train_data} is not a prepared dataset (no manifest.json)")
        originality = Originality(data_dir, sampler.fingerprint)
        tokens, styles, used, figures = draw_novel_tokens(sampler, pairs, args.style, args.truncation,
                                                          args.temperature, originality, meter=args.meter, **options)
        status = originality.status
        if status != "ready":
            print(f"note: near-copies not checked: originality {status} (give --train-data DIR)", file=sys.stderr)
    out = prepare_out_dir(args.out)
    if engine is None:
        pieces = [_window_piece(sampler, tok, style, drawn, args) for tok, style, drawn in zip(tokens, styles, used)]
    else:
        pieces = whole_pieces(engine, styles, used, args.bars, args.form, args.meter, args.temperature)
        if originality is not None and status == "ready":  # the whole piece, not only its first window
            from ..studio.pickup import on_barlines

            figures = originality.score([on_barlines(t, p.meta.get("pickup_steps", 0), b) for p, t, b in pieces],
                                        sampler.low, sampler.module.noise_shape[-2], [b for _, _, b in pieces])
    index = _write(pieces, styles, pairs, used, figures, out, formats)
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


def _window_piece(sampler, tok, style: str, drawn, args):
    """(piece, tokens, bar steps) of one window from a model without an engine."""
    from ..sample.pieces import name_piece, seed_label, tokens_to_piece

    meter = sampler.meter_names[sampler.draw(*drawn, style=style, meter=args.meter).meter]
    tok = tok[:, : (args.bars * sampler.bar_steps(0) if args.bars else tok.shape[-1])]
    piece = name_piece(tokens_to_piece(tok, sampler.low, sampler.manifest, style, "", meter),
                       seed_label(*drawn))
    return piece, tok, sampler.bar_steps(0)


def _write(pieces, styles, pairs, used, figures, out, formats) -> list[dict]:
    from ..sample.export import safe_stem, write_piece_files

    index = []
    for (piece, tokens, bar), style, (seed, i), drawn, fig in zip(pieces, styles, pairs, used, figures):
        meter = piece.meta.get("meter", "4/4")
        stem = safe_stem(f"{style}-{meter.replace('/', '-')}-seed{seed}-{i:04d}")
        files = write_piece_files(piece, out, stem, formats)
        entry = {"seed": seed, "index": i, "style": style, "meter": meter, "bars": -(-tokens.shape[-1] // bar),
                 "pickup_steps": piece.meta.get("pickup_steps", 0), "title": piece.title, "notes": piece.n_notes,
                 "files": files, "originality": fig}
        if piece.meta.get("strains"):  # each strain's bar-level form and the critic's choice among candidates
            entry["strains"] = piece.meta["strains"]
        if tuple(drawn) != (seed, i):
            entry["redrawn_from_seed_pair"] = list(drawn)
        index.append(entry)
    return index
