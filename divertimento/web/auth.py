"""A listener's secret token, checked: every call that reads or changes a listener's ratings or library shows it
as ``Authorization: Bearer TOKEN`` (never in a URL, where logs and histories would keep it)."""

from fastapi import Header, HTTPException

from .context import Context

AUTH = Header(None, max_length=200, description="Bearer TOKEN: the token /api/listeners gave this listener")


def check_listener(ctx: Context, listener_id: str, authorization: str | None) -> dict:
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
