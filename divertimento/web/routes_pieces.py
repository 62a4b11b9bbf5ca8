"""The composing tools: new pieces, variations, interpolations, continuations and harmonisations, and a stored
piece fetched again by id. Each heavy handler estimates its cost (``cost.py``) and runs its work in the thread pool
with the client watched (``jobs.py``): the studio holds a job slot for it (``studio/work_queue.py``), refused at
once when its cost does not fit, stopped at its deadline or when the client goes away."""

from pathlib import Path

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi import Path as PathParam

from ..sample.export import safe_stem
from ..studio.service import GenerateRequest
from ..studio.work_queue import Ticket
from . import cost as K
from . import schemas as S
from .context import Ctx, new_seed
from .jobs import watched
from .uploads import MAX_UPLOAD, with_checked_file

UPLOAD_FILE = File(..., description="MIDI, MusicXML (.musicxml/.xml/.mxl) or ABC; its top line is the melody")
UPLOAD_STYLE = Form(None, max_length=40)
UPLOAD_SEED = Form(None, ge=0, le=2**31 - 1)

router = APIRouter(tags=["compose"])


@router.post("/api/generate")
async def generate(body: S.GenerateBody, ctx: Ctx, request: Request):
    """New pieces: one window (4 bars), a through-composed longer piece (bars), or a form such as AABA.
    Each piece carries its originality figure; near-copies are replaced unless avoid_copies is false."""
    ctx.check_style(body.style)
    seed = new_seed(body.seed)

    def work(cancel):
        cost = K.generate(ctx.engine, body.n, body.bars, body.form, body.meter, body.style)
        ticket = Ticket(cost, "lower n or bars", cancel)
        pieces, dropped = ctx.studio.generate(GenerateRequest(body.n, seed, body.style, body.temperature, body.bars,
                                                              body.form, body.avoid_copies, body.meter), ticket)
        return ctx.reply(pieces, seed=seed, near_copies_replaced=dropped)

    return await watched(request, work)


@router.post("/api/variations")
async def variations(body: S.VariationsBody, ctx: Ctx, request: Request):
    """Variations of a piece: each (voice, bar) cell redrawn with probability distance, the rest kept (same style,
    form and length)."""
    def work(cancel):
        parent = ctx.load_piece(body.piece_id)
        ticket = Ticket(K.variations(ctx.engine, parent, body.n, body.distance),
                        "lower n, or vary a shorter piece", cancel)
        pieces, dropped = ctx.studio.variations(parent, body.n, body.distance, new_seed(body.seed),
                                                body.avoid_copies, ticket)
        return ctx.reply(pieces, near_copies_replaced=dropped)

    return await watched(request, work)


@router.post("/api/interpolate")
async def interpolate(body: S.InterpolateBody, ctx: Ctx, request: Request):
    """A morph from one piece's first window to another's: cells taken from either end, the ones between redrawn."""
    def work(cancel):
        a, b = ctx.load_piece(body.a), ctx.load_piece(body.b)
        ticket = Ticket(K.interpolate(ctx.engine, body.steps), "lower steps", cancel)
        return ctx.reply(ctx.studio.interpolate(a, b, body.steps, ticket))

    return await watched(request, work)


@router.post("/api/continue")
async def continue_(body: S.ContinueBody, ctx: Ctx, request: Request):
    """A piece followed by new bars that grow out of its last bars."""
    def work(cancel):
        parent = ctx.load_piece(body.piece_id)
        ticket = Ticket(K.continue_piece(ctx.engine, parent, body.bars), "lower bars", cancel)
        return ctx.reply([ctx.studio.continue_piece(parent, body.bars, new_seed(body.seed), ticket)])

    return await watched(request, work)


@router.post("/api/harmonise")
async def harmonise(request: Request, ctx: Ctx, file: UploadFile = UPLOAD_FILE, style: str | None = UPLOAD_STYLE,
                    seed: int | None = UPLOAD_SEED):
    """Alto, tenor and bass for an uploaded melody, in a chosen style; the melody is kept exactly."""
    style = style or None  # an empty form field means no style
    ctx.check_style(style)

    def work(cancel):
        data = file.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise HTTPException(413, f"file larger than {MAX_UPLOAD // 1024} KiB")
        title = safe_stem(Path(file.filename or "melody").stem)[:40]

        def harmonise_checked(path):
            ticket = Ticket(K.harmonise_upload(ctx.engine, path), "send a shorter melody", cancel)
            return ctx.studio.harmonise_file(path, style, new_seed(seed), title, ticket)

        return ctx.reply([with_checked_file(data, harmonise_checked)])

    return await watched(request, work)


@router.post("/api/harmonise/piece")
async def harmonise_piece(body: S.HarmonisePieceBody, ctx: Ctx, request: Request):
    """Harmonise again the soprano of a piece, e.g. a folk tune in Bach's style."""
    ctx.check_style(body.style)

    def work(cancel):
        parent = ctx.load_piece(body.piece_id)
        melody = parent.tokens[0]
        ticket = Ticket(K.harmonise(ctx.engine, len(melody)), "harmonise a shorter piece", cancel)
        return ctx.reply([ctx.studio.harmonise_tokens(melody, body.style, new_seed(body.seed), parent.title,
                                                      ticket=ticket)])

    return await watched(request, work)


@router.get("/api/pieces/{piece_id}")
def get_piece(ctx: Ctx, piece_id: str = PathParam(pattern=S.ID)):
    return ctx.piece_json(piece_id, ctx.load_piece(piece_id))
