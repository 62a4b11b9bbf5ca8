"""What the service is running and the limits it enforces, for monitors and for clients building controls."""

from fastapi import APIRouter

from ..studio.service import MAX_N
from .context import STEPS_PER_BAR, Ctx
from .schemas import MAX_BARS
from .uploads import MAX_UPLOAD

router = APIRouter(tags=["service"])


@router.get("/health")
def health(ctx: Ctx):
    """Liveness and what is loaded."""
    bundle = ctx.bundle
    return {"status": "ok", "model": bundle.path.name, "step": bundle.header.get("step"),
            "styles": bundle.style_names, "originality": ctx.studio.originality.status}


@router.get("/api/info")
def info(ctx: Ctx):
    """Styles, limits and defaults, for clients to build their controls."""
    bundle, studio = ctx.bundle, ctx.studio
    return {"styles": bundle.style_names, "style_shares": bundle.style_shares,
            "default_temperature": studio.temperature(None), "max_pieces": MAX_N, "max_bars": MAX_BARS,
            "roles": bundle.manifest["roles"], "steps_per_bar": STEPS_PER_BAR, "max_upload_bytes": MAX_UPLOAD,
            "originality": studio.originality.status, "model": bundle.path.name,
            "model_step": bundle.header.get("step")}
