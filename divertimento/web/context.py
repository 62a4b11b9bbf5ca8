"""What every route shares: the studio, the piece store and the output folder of one app, and the look-ups
that turn a client's ids into pieces and pieces into JSON.

``create_app`` makes one ``Context`` and keeps it on ``app.state``; a handler asks for it with a parameter
annotated ``Ctx`` (a FastAPI dependency), so two apps in one process never share state."""

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from ..studio.pieces import StudioPiece
from ..studio.service import Studio
from .files import MEDIA, OutputDir
from .library import Library
from .store import Store

MAX_STREAMS = 4  # live streams at once
STEPS_PER_BAR = 16  # the grid of every piece and stream bar sent to clients


def new_seed(seed: int | None) -> int:
    """The client's seed, or a fresh random one when it sent none."""
    return seed if seed is not None else secrets.randbelow(2**31)


@dataclass
class Context:
    studio: Studio
    store: Store
    files: OutputDir
    # created here, not per request: the cap counts the streams of the whole app
    streams: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_STREAMS))
    library: Library = field(init=False)

    def __post_init__(self):
        self.library = Library(self.store)

    @property
    def engine(self):
        return self.studio.engine

    def knows_style(self, style: str | None) -> bool:
        return style is None or style in self.engine.style_names

    def check_style(self, style: str | None) -> None:
        if not self.knows_style(style):
            names = ", ".join(self.engine.style_names)
            raise HTTPException(422, f"unknown style {style!r}; this model knows {names}")

    def load_piece(self, pid: str) -> StudioPiece:
        p = self.store.get_piece(pid)
        if p is None:
            raise HTTPException(404, "no such piece")
        return p

    def piece_json(self, pid: str, p: StudioPiece) -> dict:
        program, tempo = p.sound(self.engine.manifest.get("style_tempos"))
        return {"id": pid, "title": p.title, "style": p.style, "kind": p.kind, "form": p.form,
                "bars": p.n_bars, "meter": p.meter, "steps_per_bar": p.bar, "tempo": tempo, "program": program,
                "notes": p.notes(self.engine), "drums": StudioPiece.drum_tracks(self.engine),
                "voices": self.voice_names(),
                "originality": p.originality, "melody_locked": p.melody_locked, "meta": p.meta,
                "files": {fmt: f"/files/{pid}.{fmt}" for fmt in MEDIA}}

    def voice_names(self) -> list[str]:
        """Per voice index of a piece's ``notes``, its name for the piano-roll's legend (a band's parts, satb's
        voices), as ``StudioPiece.drum_tracks`` counts them."""
        layout = self.engine.layout
        return [p.name for p in layout.parts] if layout.multi_part else list(layout.roles)

    def reply(self, pieces: list[StudioPiece], **extra) -> dict:
        """Store new pieces (so they can be fetched, rated and varied later) and answer with them."""
        ids = self.store.add_pieces(pieces)
        return {"pieces": [self.piece_json(i, p) for i, p in zip(ids, pieces)], **extra}


async def _context(conn: HTTPConnection) -> Context:
    # async so FastAPI calls it on the event loop instead of spending a thread-pool hop per request;
    # HTTPConnection so it serves WebSocket routes as well as HTTP ones
    return conn.app.state.context


Ctx = Annotated[Context, Depends(_context)]
