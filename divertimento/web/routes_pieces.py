"""The composing tools: new pieces, variations, interpolations, continuations and harmonisations, and a stored
piece fetched again by id. Each handler is a plain ``def`` (FastAPI runs it in its thread pool) calling one
method of the studio, which holds the compute semaphore."""

from pathlib import Path

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi import Path as PathParam

from ..sample.export import safe_stem
from ..studio.service import GenerateRequest
from . import schemas as S
from .context import Ctx, new_seed
from .uploads import MAX_UPLOAD, with_checked_file

UPLOAD_FILE = File(..., description="MIDI, MusicXML (.musicxml/.xml/.mxl) or ABC; its top line is the melody")
UPLOAD_STYLE = Form(None, max_length=40)
UPLOAD_SEED = Form(None, ge=0, le=2**31 - 1)

router = APIRouter(tags=["compose"])


@router.post("/api/generate")
def generate(body: S.GenerateBody, ctx: Ctx):
    """New pieces: one window (4 bars), a through-composed longer piece (bars), or a form such as AABA.
    Each piece carries its originality figure; near-copies are replaced unless avoid_copies is false."""
    ctx.check_style(body.style)
    seed = new_seed(body.seed)
    pieces, dropped = ctx.studio.generate(GenerateRequest(body.n, seed, body.style, body.temperature, body.bars,
                                                          body.form, body.avoid_copies, body.meter))
    return ctx.reply(pieces, seed=seed, near_copies_replaced=dropped)


@router.post("/api/variations")
def variations(body: S.VariationsBody, ctx: Ctx):
    """Variations of a piece: each (voice, bar) cell redrawn with probability distance, the rest kept (same style,
    form and length)."""
    parent = ctx.load_piece(body.piece_id)
    pieces, dropped = ctx.studio.variations(parent, body.n, body.distance, new_seed(body.seed), body.avoid_copies)
    return ctx.reply(pieces, near_copies_replaced=dropped)


@router.post("/api/interpolate")
def interpolate(body: S.InterpolateBody, ctx: Ctx):
    """A morph from one piece's first window to another's: cells taken from either end, the ones between redrawn."""
    return ctx.reply(ctx.studio.interpolate(ctx.load_piece(body.a), ctx.load_piece(body.b), body.steps))


@router.post("/api/continue")
def continue_(body: S.ContinueBody, ctx: Ctx):
    """A piece followed by new bars that grow out of its last bars."""
    return ctx.reply([ctx.studio.continue_piece(ctx.load_piece(body.piece_id), body.bars, new_seed(body.seed))])


@router.post("/api/harmonise")
def harmonise(ctx: Ctx, file: UploadFile = UPLOAD_FILE, style: str | None = UPLOAD_STYLE,
              seed: int | None = UPLOAD_SEED):
    """Alto, tenor and bass for an uploaded melody, in a chosen style; the melody is kept exactly."""
    style = style or None  # an empty form field means no style
    ctx.check_style(style)
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, f"file larger than {MAX_UPLOAD // 1024} KiB")
    title = safe_stem(Path(file.filename or "melody").stem)[:40]
    p = with_checked_file(data, lambda path: ctx.studio.harmonise_file(path, style, new_seed(seed), title))
    return ctx.reply([p])


@router.post("/api/harmonise/piece")
def harmonise_piece(body: S.HarmonisePieceBody, ctx: Ctx):
    """Harmonise again the soprano of a piece, e.g. a folk tune in Bach's style."""
    ctx.check_style(body.style)
    parent = ctx.load_piece(body.piece_id)
    return ctx.reply([ctx.studio.harmonise_tokens(parent.tokens[0], body.style, new_seed(body.seed), parent.title)])


@router.get("/api/pieces/{piece_id}")
def get_piece(ctx: Ctx, piece_id: str = PathParam(pattern=S.ID)):
    return ctx.piece_json(piece_id, ctx.load_piece(piece_id))
