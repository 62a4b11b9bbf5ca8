"""What the service is running and the limits it enforces, for monitors and for clients building controls."""

from fastapi import APIRouter

from ..studio.service import MAX_N
from .context import STEPS_PER_BAR, Ctx
from .schemas import MAX_BARS
from .uploads import MAX_UPLOAD

router = APIRouter(tags=["service"])


@router.get("/health")
async def health(ctx: Ctx):
    """Liveness and what is loaded. Async: it runs on the event loop, so it answers even when every request
    thread is busy with heavy work."""
    s = ctx.engine.sampler
    return {"status": "ok", "model": s.path.name, "step": s.header.get("step"),
            "styles": s.style_names, "originality": ctx.studio.originality.status}


@router.get("/api/info")
def info(ctx: Ctx):
    """Styles, limits and defaults, for clients to build their controls."""
    s, studio = ctx.engine.sampler, ctx.studio
    return {"styles": s.style_names, "style_shares": s.style_shares, "harmony_styles": ctx.engine.harmony_styles(),
            "default_temperature": studio.temperature(None), "max_pieces": MAX_N, "max_bars": MAX_BARS,
            "meters": s.meter_names, "roles": s.manifest["roles"], "layout": ctx.engine.layout.name,
            "steps_per_bar": STEPS_PER_BAR,
            "max_upload_bytes": MAX_UPLOAD,
            "originality": studio.originality.status, "model": s.path.name,
            "model_step": s.header.get("step")}
