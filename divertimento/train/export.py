"""Turn a training checkpoint into a model file (G_ema + metadata only): what ``train`` writes at its last step,
for any intermediate step. ``python -m divertimento.train.export RUN_OR_CKPT OUT.safetensors [TEMPERATURE]``"""

import sys
from pathlib import Path

from ..errors import UserError
from .checkpoint import KIND_CHECKPOINT, latest_checkpoint, module_state, read_file, save_model, write_file


def export_model(source: str | Path, out: str | Path, temperature: float | None = None) -> dict:
    """Model file from a checkpoint; ``temperature`` records the recommended sampling temperature."""
    source = Path(source)
    ckpt = latest_checkpoint(source) if source.is_dir() else source
    if ckpt is None:
        raise UserError(f"no checkpoint in {source}")
    header, tensors = read_file(ckpt)
    if header["kind"] != KIND_CHECKPOINT:
        raise UserError(f"{ckpt} is already a model file")
    from ..sample.model import build_generator

    G = build_generator(header["config"], header["data"])
    G.load_state_dict(module_state(tensors, "G_ema"))
    meta = {k: v for k, v in header.items() if k not in ("opt_G", "opt_D", "schema", "kind")}
    if temperature is not None:
        meta["sampling"] = {"temperature": temperature}
    save_model(Path(out), G, meta)
    return meta


def set_sampling(source: str | Path, out: str | Path, **values) -> dict:
    """Copy of a model file (GAN, VAE or AR) whose header recommends these sampling settings (``temperature``,
    ``strict_voice_leading``); the weights are untouched. ``generate`` and ``demo`` use the recommendation."""
    header, tensors = read_file(Path(source))
    if header.get("kind") == KIND_CHECKPOINT:
        raise UserError(f"{source} is a training checkpoint; export a model file first")
    header["sampling"] = {**header.get("sampling", {}), **values}
    write_file(Path(out), header, tensors)
    return header


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--sampling":
    # python -m divertimento.train.export --sampling MODEL OUT temperature=1.0 strict_voice_leading=true
    pairs = dict(a.split("=", 1) for a in sys.argv[4:])
    parsed = {k: (v.lower() == "true") if v.lower() in ("true", "false") else float(v) for k, v in pairs.items()}
    print(f"sampling {set_sampling(sys.argv[2], sys.argv[3], **parsed)['sampling']} -> {sys.argv[3]}")
elif __name__ == "__main__":
    meta = export_model(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else None)
    print(f"exported step {meta['step']} -> {sys.argv[2]}")
