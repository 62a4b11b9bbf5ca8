"""How a piece was drawn, as plain JSON (its *recipe*), and the piece drawn again from it, note for note.

Every tool draws from generators seeded by (seed, index) pairs it is given, so a piece is fixed by its tool, the
settings it was asked for, the seeds, and (for variations and continuations) the recipe of the piece it grew from.
A library keeps the recipe beside the tokens; ``redraw`` proves the tokens can be made again on the same model.

Settings are kept as they were *asked for* (a style or meter left open stays open): an open style is drawn from the
piece's own generators, so passing the style that came out could draw other music."""

import numpy as np

from ..errors import UserError
from . import compose as C
from .engine import Engine
from .pieces import StudioPiece

MAX_DEPTH = 8  # a variation of a variation ... is redrawn through its ancestors; deeper chains keep no recipe
TOOLS = ("generate", "variation", "continue", "harmonise")


def generate_recipe(seed: int, index: int, style: str | None, temperature: float, bars: int, form: str | None,
                    meter: str | None) -> dict:
    return {"tool": "generate", "seed": seed, "index": index, "style": style, "temperature": temperature,
            "bars": bars, "form": form, "meter": meter, "depth": 0}


def _child(tool: str, parent: StudioPiece, **settings) -> dict | None:
    """A recipe that starts from ``parent``'s, or None when the parent has none (or the chain is too long)."""
    before = parent.meta.get("recipe")
    if not before or before.get("depth", 0) >= MAX_DEPTH:
        return None
    return {"tool": tool, **settings, "parent": before, "depth": before.get("depth", 0) + 1}


def variation_recipe(parent: StudioPiece, distance: float, seed: int, index: int) -> dict | None:
    return _child("variation", parent, distance=distance, seed=seed, index=index)


def continue_recipe(parent: StudioPiece, bars: int, seed: int) -> dict | None:
    return _child("continue", parent, bars=bars, seed=seed)


def harmonise_recipe(melody: np.ndarray, style: str | None, seed: int, temperature: float, title: str,
                     meter: str | None, tempo: float | None) -> dict:
    """The melody goes in the recipe itself: an uploaded file is not kept."""
    return {"tool": "harmonise", "melody": [int(x) for x in melody], "style": style, "seed": seed,
            "temperature": temperature, "title": title, "meter": meter, "tempo": tempo, "depth": 0}


def redraw(engine: Engine, recipe: dict) -> StudioPiece:
    """The piece ``recipe`` describes, drawn again (the caller holds a job slot). A recipe that does not parse is
    a UserError, never a crash: it may come from an older store."""
    try:
        tool = recipe["tool"]
        if tool == "generate":
            p = C.compose(engine, (int(recipe["seed"]), int(recipe["index"])), recipe["style"],
                          float(recipe["temperature"]), int(recipe["bars"]), recipe["form"], recipe["meter"])
        elif tool == "variation":
            parent = redraw(engine, recipe["parent"])
            seed, index = int(recipe["seed"]), int(recipe["index"])
            # the numbering Studio.variations uses: piece i of a request is seed * 1000 + i, numbered i + 1
            p = C.variations(engine, parent, 1, float(recipe["distance"]), seed * 1000 + index, index + 1)[0]
        elif tool == "continue":
            p = C.continue_piece(engine, redraw(engine, recipe["parent"]), int(recipe["bars"]), int(recipe["seed"]))
        elif tool == "harmonise":
            p = C.harmonise(engine, np.asarray(recipe["melody"], dtype=np.int64), recipe["style"],
                            (int(recipe["seed"]), 0), float(recipe["temperature"]), recipe["title"],
                            meter=recipe["meter"], tempo=recipe["tempo"])
        else:
            raise UserError(f"unknown recipe tool {tool!r}; known: {', '.join(TOOLS)}")
    except (KeyError, TypeError, ValueError):
        raise UserError("this piece's recipe is incomplete, so it cannot be drawn again") from None
    p.meta["recipe"] = recipe
    return p
