"""Listener profiles, their likes and dislikes, and new pieces steered by them ("for you")."""

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam

from ..studio.steering import Rating
from ..studio.work_queue import Ticket
from . import cost as K
from . import schemas as S
from .auth import AUTH, check_listener
from .context import Ctx, new_seed
from .jobs import watched

router = APIRouter(tags=["listeners"])


@router.post("/api/listeners")
def new_listener(body: S.ListenerBody, ctx: Ctx):
    """A listener profile and its secret token: keep both; rating, reading the profile and asking for pieces
    "for you" need the token as ``Authorization: Bearer TOKEN`` (it is shown only now)."""
    lid, token = ctx.store.add_listener(body.name)
    return {"id": lid, "name": body.name, "token": token}


@router.get("/api/listeners/{listener_id}")
def get_listener(ctx: Ctx, listener_id: str = PathParam(pattern=S.ID), authorization: str | None = AUTH):
    return check_listener(ctx, listener_id, authorization)


@router.post("/api/ratings")
def rate(body: S.RatingBody, ctx: Ctx, authorization: str | None = AUTH):
    """Like (1), dislike (-1) or un-rate (0) a piece."""
    check_listener(ctx, body.listener_id, authorization)
    if ctx.store.get_piece(body.piece_id) is None:
        raise HTTPException(404, "no such piece")
    ctx.store.rate(body.listener_id, body.piece_id, body.value)
    prof = ctx.store.get_listener(body.listener_id)
    return {"ok": True, "likes": prof["likes"], "dislikes": prof["dislikes"]}


@router.post("/api/for-you")
async def for_you(body: S.ForYouBody, ctx: Ctx, request: Request, authorization: str | None = AUTH):
    """New pieces steered toward what this listener liked (and away from what they disliked), diverse among
    themselves and never near-copies of the liked pieces."""
    def work(cancel):
        check_listener(ctx, body.listener_id, authorization)
        rated = ctx.store.rated_pieces(body.listener_id)
        ticket = Ticket(K.for_you(ctx.engine, body.n), "lower n", cancel)
        pieces = ctx.studio.for_you([Rating(p, v) for p, v in rated], body.n, new_seed(body.seed), ticket=ticket)
        return ctx.reply(pieces, ratings_used=len(rated))

    return await watched(request, work)
