"""Loading a generator from a model file, a training checkpoint or a run dir; the shipped default when none."""

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..models.generator import Generator
from ..train.checkpoint import latest_checkpoint, module_state, read_file

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "assets" / "default_model.safetensors"


@dataclass
class GeneratorBundle:
    G: Generator  # EMA weights, eval mode
    header: dict  # config, data summary, step, ...
    path: Path

    @property
    def manifest(self) -> dict:
        return self.header["data"]

    @property
    def low(self) -> int:
        return self.manifest["pitch_range"][0]

    @property
    def style_names(self) -> list[str]:
        return self.manifest["style_names"]

    @property
    def style_shares(self) -> list[float]:
        return self.manifest["style_shares"]

    @property
    def default_temperature(self) -> float:
        return float(self.header.get("sampling", {}).get("temperature", 1.0))


def build_generator(cfg: dict, data: dict) -> Generator:
    return Generator(
        n_voices=len(data["roles"]), vocab_size=data["vocab_size"], n_steps=data["window_steps"],
        z_dim=cfg["z_dim"], n_styles=len(data["style_names"]), style_dim=cfg["style_dim"],
        channels=cfg["g_channels"], conditional=cfg["conditional"],
    )


def resolve_model_path(path: str | Path | None) -> Path:
    if path is None:
        if not DEFAULT_MODEL.is_file():
            raise UserError("no shipped default model in this installation; pass --model")
        return DEFAULT_MODEL
    p = Path(path)
    if p.is_dir():
        if (p / "model.safetensors").is_file():
            return p / "model.safetensors"
        ckpt = latest_checkpoint(p)
        if ckpt is None:
            raise UserError(f"{p} holds no model.safetensors and no checkpoints")
        return ckpt
    return p


def load_generator(path: str | Path | None = None) -> GeneratorBundle:
    p = resolve_model_path(path)
    header, tensors = read_file(p)
    try:
        G = build_generator(header["config"], header["data"])
        G.load_state_dict(module_state(tensors, "G_ema"))
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise UserError(f"{p} does not match this divertimento's generator ({str(e).splitlines()[0][:100]})") from None
    G.eval()
    for param in G.parameters():
        param.requires_grad_(False)
    return GeneratorBundle(G, header, p)


