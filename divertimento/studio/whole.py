"""Whole pieces for the command line (``generate``, ``demo``): a sequence model's first window grown into a piece
of any length by the studio's engine, titled by what it is, in its meter and key, ready to export."""

import numpy as np

from ..errors import UserError
from ..music.notes import Piece
from ..sample.pieces import name_piece
from ..sample.sampler import Sampler
from .compose import compose_many
from .engine import Engine

DEFAULT_BARS = 16  # a phrase-complete tune: two 8-bar strains, or four chorale phrases
MAX_BARS = 128


def sequence_engine(sampler: Sampler, strict: bool | None = None, overrides: dict | None = None) -> Engine | None:
    """The engine of a model that can be sampled step by step (mle, guided); None for one that writes a whole
    window at once (gan, vae)."""
    if hasattr(getattr(sampler.module, "base", sampler.module), "step"):
        return Engine(sampler, strict, overrides)
    return None


def window_bars(sampler: Sampler) -> int:
    """Bars of the model's most common meter in one window (4 for the default data)."""
    return sampler.module.noise_shape[-2] // sampler.bar_steps(0)


def check_length(sampler: Sampler, engine: Engine | None, bars: int | None, form: str | None) -> None:
    if bars is not None and not 1 <= bars <= MAX_BARS:
        raise UserError(f"--bars must be 1..{MAX_BARS} (got {bars})")
    if engine is None and ((bars or 0) > window_bars(sampler) or form):
        raise UserError(f"a {sampler.family} model writes one window of {window_bars(sampler)} bars; --bars longer "
                        f"than that or a --form needs a sequence model (mle, guided)")


def whole_piece(engine: Engine, style: str, pair: tuple[int, int], bars: int | None = None, form: str | None = None,
                meter: str | None = None, temperature: float | None = None) -> tuple[Piece, np.ndarray, int]:
    """(piece, its tokens [V, T], steps per bar) of piece ``pair`` in ``style``: its first window is the one
    ``generate`` draws for the pair, then the engine grows it to ``bars`` bars (or the ``form``), ending on the
    tonic."""
    sp = compose_many(engine, [tuple(pair)], style, temperature, bars or DEFAULT_BARS, form, meter,
                      max_bars=MAX_BARS)[0]
    piece = name_piece(sp.to_piece(engine), f"seed {pair[0]}.{pair[1]}")
    return piece, sp.tokens, sp.bar
