"""Listener profiles, their likes and dislikes, and new pieces steered by them ("for you")."""

from fastapi import APIRouter, Header, HTTPException
from fastapi import Path as PathParam

from ..studio.steering import Rating
from . import schemas as S
from .context import Context, Ctx, new_seed

router = APIRouter(tags=["listeners"])


AUTH = Header(None, max_length=200, description="Bearer TOKEN: the token /api/listeners gave this listener")


def _check_listener(ctx: Context, listener_id: str, authorization: str | None) -> dict:
    """The listener's profile, for a caller that shows the listener's token (401 without one, 403 with another)."""
    prof = ctx.store.get_listener(listener_id)
    if prof is None:
        raise HTTPException(404, "no such listener")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "this listener's token is needed (Authorization: Bearer TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})
    if not ctx.store.token_matches(listener_id, token.strip()):
        raise HTTPException(403, "not this listener's token")
    return prof


@router.post("/api/listeners")
def new_listener(body: S.ListenerBody, ctx: Ctx):
    """A listener profile and its secret token: keep both; rating, reading the profile and asking for pieces
    "for you" need the token as ``Authorization: Bearer TOKEN`` (it is shown only now)."""
    lid, token = ctx.store.add_listener(body.name)
    return {"id": lid, "name": body.name, "token": token}


@router.get("/api/listeners/{listener_id}")
def get_listener(ctx: Ctx, listener_id: str = PathParam(pattern=S.ID), authorization: str | None = AUTH):
    return _check_listener(ctx, listener_id, authorization)


@router.post("/api/ratings")
def rate(body: S.RatingBody, ctx: Ctx, authorization: str | None = AUTH):
    """Like (1), dislike (-1) or un-rate (0) a piece."""
    _check_listener(ctx, body.listener_id, authorization)
    if ctx.store.get_piece(body.piece_id) is None:
        raise HTTPException(404, "no such piece")
    ctx.store.rate(body.listener_id, body.piece_id, body.value)
    prof = ctx.store.get_listener(body.listener_id)
    return {"ok": True, "likes": prof["likes"], "dislikes": prof["dislikes"]}


@router.post("/api/for-you")
def for_you(body: S.ForYouBody, ctx: Ctx, authorization: str | None = AUTH):
    """New pieces steered toward what this listener liked (and away from what they disliked), diverse among
    themselves and never near-copies of the liked pieces."""
    _check_listener(ctx, body.listener_id, authorization)
    rated = ctx.store.rated_pieces(body.listener_id)
    pieces = ctx.studio.for_you([Rating(p, v) for p, v in rated], body.n, new_seed(body.seed))
    return ctx.reply(pieces, ratings_used=len(rated))
