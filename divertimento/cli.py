"""The ``divertimento`` command: a thin layer over the library; each subcommand lives in commands/<name>.py."""

import argparse
import importlib
import os
import sys

from .errors import UserError

# name -> (module, one-line help). Modules are imported only when their command runs, so `prepare` never pays
# for importing torch.
COMMANDS = {
    "prepare": ("divertimento.commands.prepare", "turn corpora or MIDI folders into training windows"),
    "data-info": ("divertimento.commands.data_info", "summarise a prepared dataset"),
    "train": ("divertimento.commands.train", "train a model of any family (gan, vae, mle) on prepared data"),
    "export": ("divertimento.commands.export", "a model file from a run or checkpoint, with sampling recommendations"),
    "models": ("divertimento.commands.models", "list the shipped models by name"),
    "generate": ("divertimento.commands.generate", "write new pieces from a model"),
    "demo": ("divertimento.commands.demo", "a gallery of pieces across all styles from the shipped model"),
    "evaluate": ("divertimento.commands.evaluate", "measure quality, diversity and novelty of a set of pieces"),
    "compare": ("divertimento.commands.compare", "side-by-side table of several evaluations"),
    "ablate": ("divertimento.commands.ablate", "train every ablation variant and baseline under one budget, "
                                               "evaluate, tabulate"),
    "compose": ("divertimento.commands.compose", "harmonise a melody, long forms, variations from the command line"),
    "serve": ("divertimento.commands.serve", "the web studio: generate, play, rate, harmonise, stream"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="divertimento", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            sub._name_parser_map.pop(name, None)  # command not built in this version
            sub._choices_actions = [a for a in sub._choices_actions if a.dest != name]
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(importlib.import_module(args._module).run(args) or 0)
        sys.stdout.flush()  # here, where a closed pipe is caught below, not in the interpreter's exit
        return code
    except UserError as e:
        print(f"divertimento {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"divertimento {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`data-info DIR | head`): not an error of ours. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
