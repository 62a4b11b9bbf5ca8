"""A listener's library: keep a piece, name and tag it, list, delete, and draw it again from its recipe. Every
route needs the listener's token (``auth.py``); entries are looked up by listener and id together, so another
listener's entry is simply not found."""

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam

from ..studio.work_queue import Ticket
from . import cost as K
from . import schemas as S
from .auth import AUTH, check_listener
from .context import Context, Ctx
from .jobs import watched
from .library import LibraryFull

router = APIRouter(tags=["library"])
LISTENER = PathParam(pattern=S.ID)
ENTRY = PathParam(pattern=S.ID)


def _model(ctx: Context) -> str:
    """The model an entry was drawn by: its file's name and training step (a retrained file draws other music)."""
    s = ctx.engine.sampler
    return f"{s.path.name}@{s.header.get('step')}"


def _with_piece(ctx: Context, entry: dict) -> dict:
    settings = entry["settings"]
    return {**entry, "seed": settings.get("seed") if settings else None, "regenerable": settings is not None,
            "piece": ctx.piece_json(entry["piece_id"], ctx.load_piece(entry["piece_id"]))}


def _entry(ctx: Context, listener_id: str, entry_id: str) -> dict:
    entry = ctx.library.entry(listener_id, entry_id)
    if entry is None:
        raise HTTPException(404, "no such entry in this listener's library")
    return entry


@router.get("/api/listeners/{listener_id}/library")
def library(ctx: Ctx, listener_id: str = LISTENER, authorization: str | None = AUTH):
    """The listener's kept pieces, newest first, each with its piece (notes, files) and recipe."""
    check_listener(ctx, listener_id, authorization)
    return {"entries": [_with_piece(ctx, e) for e in ctx.library.entries(listener_id)]}


@router.post("/api/listeners/{listener_id}/library")
def keep(body: S.KeepBody, ctx: Ctx, listener_id: str = LISTENER, authorization: str | None = AUTH):
    """Keep a piece (keeping it again returns the same entry). Its recipe (seed and settings) and the model are
    stored with it, so it can be drawn again exactly."""
    check_listener(ctx, listener_id, authorization)
    piece = ctx.load_piece(body.piece_id)
    try:
        entry = ctx.library.keep(listener_id, body.piece_id, body.name or piece.title, body.tags or [], _model(ctx),
                                 piece.meta.get("recipe"))
    except LibraryFull as e:
        raise HTTPException(409, str(e)) from None
    return _with_piece(ctx, entry)


@router.patch("/api/listeners/{listener_id}/library/{entry_id}")
def rename(body: S.EntryPatch, ctx: Ctx, listener_id: str = LISTENER, entry_id: str = ENTRY,
           authorization: str | None = AUTH):
    """Rename and/or re-tag an entry (a field left out stays as it is)."""
    check_listener(ctx, listener_id, authorization)
    entry = ctx.library.update(listener_id, entry_id, body.name, body.tags)
    if entry is None:
        raise HTTPException(404, "no such entry in this listener's library")
    return _with_piece(ctx, entry)


@router.delete("/api/listeners/{listener_id}/library/{entry_id}")
def delete(ctx: Ctx, listener_id: str = LISTENER, entry_id: str = ENTRY, authorization: str | None = AUTH):
    check_listener(ctx, listener_id, authorization)
    if not ctx.library.delete(listener_id, entry_id):
        raise HTTPException(404, "no such entry in this listener's library")
    return {"ok": True, "id": entry_id}


@router.post("/api/listeners/{listener_id}/library/{entry_id}/regenerate")
async def regenerate(request: Request, ctx: Ctx, listener_id: str = LISTENER, entry_id: str = ENTRY,
                     authorization: str | None = AUTH):
    """The kept piece drawn again from its recipe, as a new piece; ``identical`` says whether every token came out
    the same (it does on the model it was kept with)."""
    def work(cancel):
        check_listener(ctx, listener_id, authorization)
        entry = _entry(ctx, listener_id, entry_id)
        if entry["settings"] is None:
            kind = ctx.load_piece(entry["piece_id"]).kind
            raise HTTPException(400, f"a {kind} piece keeps no recipe (it depends on ratings or on two pieces), so "
                                     "it is kept note for note but cannot be drawn again")
        if entry["model"] != _model(ctx):
            raise HTTPException(409, f"this piece was drawn by {entry['model']}; the server runs {_model(ctx)}")
        kept = ctx.load_piece(entry["piece_id"])
        ticket = Ticket(K.redraw(ctx.engine, kept, entry["settings"]), cancel=cancel)
        again = ctx.studio.redraw(entry["settings"], ticket)
        same = again.tokens.shape == kept.tokens.shape and bool((again.tokens == kept.tokens).all())
        return ctx.reply([again], identical=same, entry_id=entry_id)

    return await watched(request, work)
