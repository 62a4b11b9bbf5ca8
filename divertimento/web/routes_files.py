"""Downloads: a stored piece as MIDI, MusicXML, OGG audio or a piano-roll PNG, made on first request."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from ..errors import UserError
from ..sample.export import safe_stem
from ..studio.work_queue import Ticket
from . import cost as K
from .context import Ctx
from .files import MEDIA, parse_name
from .jobs import watched

router = APIRouter(tags=["files"])


@router.get("/files/{name}")
async def get_file(name: str, ctx: Ctx, request: Request):
    """A piece as MIDI, MusicXML, OGG audio or piano-roll PNG: /files/<piece id>.<mid|musicxml|ogg|png>."""
    parsed = parse_name(name)
    if parsed is None:
        raise HTTPException(404, "not found")
    pid, fmt = parsed

    def work(cancel):
        p = ctx.load_piece(pid)
        try:
            if ctx.files.ready(pid, fmt):
                path = ctx.files.ensure(pid, fmt, p, ctx.engine)
            else:  # making a file (audio: a second of FluidSynth) is heavy work, bounded like the tools
                with ctx.studio.queue.slot(Ticket(K.make_file(fmt, p), cancel=cancel)):
                    path = ctx.files.ensure(pid, fmt, p, ctx.engine)
        except UserError as e:  # e.g. no FluidSynth on this machine
            raise HTTPException(503, str(e)) from None
        return FileResponse(path, media_type=MEDIA[fmt], filename=f"{safe_stem(p.title)}.{fmt}")

    return await watched(request, work)
