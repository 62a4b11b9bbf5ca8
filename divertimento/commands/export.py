"""divertimento export RUN OUT: a model file from a run dir or checkpoint, with its sampling recommendations."""


def add_arguments(p) -> None:
    p.add_argument("source", metavar="RUN", help="run dir, training checkpoint or model file")
    p.add_argument("out", metavar="OUT", help="model file to write (.safetensors)")
    p.add_argument("--temperature", type=float, default=None,
                   help="recommend this sampling temperature to generate, demo, evaluate and the studio")
    p.add_argument("--voice-leading", choices=("strict", "free"), default=None,
                   help="recommend strict voice leading (no parallel fifths or octaves; family mle) or free")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="recommend a sampling option of the model's family (e.g. pitch_temperature=0.7 for a "
                        "sequence model); repeatable")
    p.add_argument("--train-data", default=None,
                   help="embed the training windows of this prepared dataset, for the near-copy check (train does "
                        "it itself; for model files that lack them); it must be the data the model was trained on")


def run(args) -> int:
    from ..train.export import export_model
    from .sampling_options import parse_options

    sampling = parse_options(args.option)
    if args.temperature is not None:
        sampling["temperature"] = args.temperature
    if args.voice_leading is not None:
        sampling["strict_voice_leading"] = args.voice_leading == "strict"
    header = export_model(args.source, args.out, sampling, args.train_data)
    print(f"{header['family']} model, step {header.get('step', '?')}, sampling {header['sampling']} -> {args.out}")
    return 0
