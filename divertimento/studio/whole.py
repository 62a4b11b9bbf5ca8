"""Whole pieces for the command line (``generate``, ``demo``): a sequence model's first window grown into a piece
of any length by the studio's engine, titled by what it is, in its meter and key, ready to export."""

import numpy as np

from ..errors import UserError
from ..music.notes import Piece
from ..sample.pieces import name_piece, seed_label
from ..sample.sampler import Sampler
from .engine import Engine
from .forms import SECTION_BARS, compose_many
from .strain_figures import STRAIN_BARS

DEFAULT_BARS = 16  # a phrase-complete piece: four chorale phrases, a folk song's two or four lines
MAX_BARS = 128
# The forms of styles that have one, with their usual length: reels, jigs and hornpipes are two 8-bar strains, each
# played twice. Other styles are through-composed unless a form is asked for.
STYLE_FORMS = {"irish": ("AABB", 32), "fiddle": ("AABB", 32)}


def sequence_engine(sampler: Sampler, strict: bool | None = None, overrides: dict | None = None,
                    strain_options: dict | None = None) -> Engine | None:
    """The engine of a model that can be sampled step by step (mle, guided); None for one that writes a whole
    window at once (gan, vae), which has no strains to choose (``strain_options`` then refused)."""
    if hasattr(getattr(sampler.module, "base", sampler.module), "step"):
        return Engine(sampler, strict, overrides, strain_options)
    if strain_options:
        raise UserError(f"{', '.join(strain_options)}: a {sampler.family} model writes one window; strains are "
                        "chosen among a sequence model's (mle, guided)")
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


def length_and_form(style: str, bars: int | None, form: str | None) -> tuple[int, str | None, int]:
    """(bars, form, bars per section) of a piece: a form asked for divides the bars into equal sections (4 bars
    each when no length is given); with neither, the style's own form and length (``STYLE_FORMS``; a piece of one
    or two whole strains in a style with a form: its strains once each), else DEFAULT_BARS through-composed."""
    if form:
        form = form.strip().upper()
        if bars is None:
            return SECTION_BARS * len(form), form, SECTION_BARS
        if bars % len(form):
            raise UserError(f"--bars {bars} does not divide into the {len(form)} sections of form {form}")
        return bars, form, bars // len(form)
    own, own_bars = STYLE_FORMS.get(style, (None, DEFAULT_BARS))
    bars = own_bars if bars is None else bars
    if own:
        strains = "".join(dict.fromkeys(own))
        if bars < own_bars and bars % STRAIN_BARS == 0 and bars // STRAIN_BARS <= len(strains):
            # shorter than the tune: its strains once each (16 bars: AB), each a whole strain and chosen as one
            return bars, strains[: bars // STRAIN_BARS], STRAIN_BARS
        if bars % len(own) == 0:
            return bars, own, bars // len(own)
    return bars, None, SECTION_BARS


def whole_pieces(engine: Engine, styles: list[str], pairs: list[tuple[int, int]], bars: int | None = None,
                 form: str | None = None, meter: str | None = None,
                 temperature: float | None = None) -> list[tuple[Piece, np.ndarray, int]]:
    """(piece, its tokens [V, T], steps per bar) of each piece ``pairs[i]`` in ``styles[i]``: its first window is
    the one ``generate`` draws for the pair, then the engine grows it to ``bars`` bars in its form
    (``length_and_form``), ending on the tonic, opening with a pickup in the style's share of them (the pickup is
    the end of a bar drawn before the first section: studio/pickup.py). The pieces of a style are drawn side by
    side, each as it would be alone."""
    out: list = [None] * len(pairs)
    for style in dict.fromkeys(styles):
        rows = [i for i, s in enumerate(styles) if s == style]
        n_bars, shape, section_bars = length_and_form(style, bars, form)
        made = compose_many(engine, [tuple(pairs[i]) for i in rows], style, temperature, n_bars, shape, meter,
                            max_bars=MAX_BARS, section_bars=section_bars, pickups=True, strains=True)
        for i, sp in zip(rows, made):
            label = seed_label(*pairs[i]) + (f" ({shape})" if shape else "")
            out[i] = (name_piece(sp.to_piece(engine), label), sp.tokens, sp.bar)
    return out
