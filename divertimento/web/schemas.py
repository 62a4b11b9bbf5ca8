"""Request bodies: every field typed and bounded, unknown fields refused (a typo is an error, not a default)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ID = r"^[0-9a-f]{32}$"
SEED = Field(None, ge=0, le=2**31 - 1, description="random seed; omitted = a fresh random one")
MAX_BARS = 64  # the longest piece /api/generate makes


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateBody(Strict):
    n: int = Field(4, ge=1, le=16, description="number of pieces")
    seed: int | None = SEED
    style: str | None = Field(None, max_length=40, description="a style of the model; omitted = drawn by the "
                                                               "training data's shares")
    bars: int = Field(4, ge=1, le=MAX_BARS, description="length in bars of the piece's meter (ignored when form "
                                                         "is given)")
    meter: str | None = Field(None, pattern=r"^[0-9]{1,2}/[0-9]{1,2}$",
                              description="time signature, e.g. 6/8; omitted = drawn by the style's shares")
    form: str | None = Field(None, pattern=r"^[A-Ha-h]{1,10}$",
                             description="section letters, e.g. AABA: 4 bars each; a letter heard again is its "
                                         "section again")
    temperature: float | None = Field(None, ge=0.1, le=3.0, allow_inf_nan=False,
                                      description="sampling temperature; omitted = the model's default")
    avoid_copies: bool = Field(True, description="replace pieces that are near-copies of training music")


class VariationsBody(Strict):
    piece_id: str = Field(pattern=ID)
    n: int = Field(4, ge=1, le=16)
    distance: float = Field(0.3, ge=0.0, le=1.0, allow_inf_nan=False,
                            description="share of (voice, bar) cells redrawn: 0 = the piece itself, 1 = a new piece")
    seed: int | None = SEED
    avoid_copies: bool = True


class InterpolateBody(Strict):
    a: str = Field(pattern=ID)
    b: str = Field(pattern=ID)
    steps: int = Field(5, ge=2, le=12)


class ContinueBody(Strict):
    piece_id: str = Field(pattern=ID)
    bars: int = Field(4, ge=1, le=MAX_BARS - 4)
    seed: int | None = SEED


class HarmonisePieceBody(Strict):
    piece_id: str = Field(pattern=ID, description="a piece whose soprano is the melody")
    style: str | None = Field(None, max_length=40)
    seed: int | None = SEED


class ListenerBody(Strict):
    name: str = Field("listener", min_length=1, max_length=60)


class RatingBody(Strict):
    listener_id: str = Field(pattern=ID)
    piece_id: str = Field(pattern=ID)
    value: Literal[-1, 0, 1] = Field(description="1 like, -1 dislike, 0 remove the rating")


class ForYouBody(Strict):
    listener_id: str = Field(pattern=ID)
    n: int = Field(4, ge=1, le=16)
    seed: int | None = SEED


class StreamSettings(Strict):
    type: Literal["set"] = "set"
    style: str | None = Field(None, max_length=40)
    intensity: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    tempo: float | None = Field(None, ge=40, le=220, allow_inf_nan=False)



Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30,
                                       pattern=r"^[\w][\w .+#'-]*$")]
NAME = Field(None, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$",
             description="the entry's name (no control characters); omitted = the piece's title")
TAGS = Field(None, max_length=12, description="up to 12 tags of letters, digits, spaces and .+#'-")


class KeepBody(Strict):
    piece_id: str = Field(pattern=ID, description="a piece the studio made")
    name: str | None = NAME
    tags: list[Tag] | None = TAGS


class EntryPatch(Strict):
    name: str | None = NAME
    tags: list[Tag] | None = TAGS
