"""The studio's HTTP and WebSocket API, and the single page that uses it.

Every handler validates its input with a pydantic model (bounded numbers, patterned ids, no unknown fields),
calls one function of ``divertimento.studio`` and returns JSON. Heavy handlers are plain ``def`` (FastAPI runs
them in its thread pool) and share the studio's compute semaphore, so a burst of requests queues instead of
oversubscribing the CPU. Nothing a user sends reaches a shell or becomes a path."""

import asyncio
import json
import logging
import secrets
import time
from pathlib import Path

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile, WebSocket
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from ..errors import UserError
from ..sample.export import safe_stem
from ..studio.pieces import StudioPiece
from ..studio.service import MAX_N, GenerateRequest, Studio
from ..studio.steering import Rating
from . import schemas as S
from .files import MEDIA, OutputDir, parse_name
from .limits import BodyLimit
from .store import Store
from .uploads import MAX_UPLOAD, with_checked_file

STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
MAX_STREAMS = 4  # live streams at once
MAX_STREAM_BARS = 2000  # bars per stream connection (~1.5 hours at 100 qpm); reconnect for more
LOOKAHEAD_BARS = 1.5  # bars a stream stays ahead of the listener's clock
log = logging.getLogger("divertimento.web")
UPLOAD_FILE = File(..., description="MIDI, MusicXML (.musicxml/.xml/.mxl) or ABC; its top line is the melody")
UPLOAD_STYLE = Form(None, max_length=40)
UPLOAD_SEED = Form(None, ge=0, le=2**31 - 1)


def _seed(seed: int | None) -> int:
    return seed if seed is not None else secrets.randbelow(2**31)


def create_app(studio: Studio, data_dir: str | Path) -> FastAPI:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "studio.sqlite")
    files = OutputDir(data_dir / "files")
    bundle = studio.bundle
    static_files = {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in STATIC_TYPES}
    streams = asyncio.Semaphore(MAX_STREAMS)
    app = FastAPI(title="divertimento studio", version="1", docs_url=None, redoc_url=None,
                  description="Generate, play, harmonise, vary, rate and stream music from a GAN. "
                              "Every numeric parameter is bounded; see each body's schema.")
    app.state.studio, app.state.store, app.state.files = studio, store, files

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    app.add_middleware(BodyLimit)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError):
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        # the offending input is not echoed back: it may be huge, binary, or NaN (not valid JSON)
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:200], "type": e.get("type", "")}
                  for e in exc.errors()[:20]]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.exception("internal error on %s", request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    # ---- helpers ----

    def check_style(style: str | None) -> None:
        if style is not None and style not in bundle.style_names:
            raise HTTPException(422, f"unknown style {style!r}; this model knows {', '.join(bundle.style_names)}")

    def piece_json(pid: str, p: StudioPiece) -> dict:
        program, tempo = p.sound()
        return {"id": pid, "title": p.title, "style": p.style, "kind": p.kind, "form": p.form,
                "bars": p.n_bars, "steps_per_bar": 16, "tempo": tempo, "program": program,
                "notes": p.notes(bundle), "originality": p.originality, "melody_locked": p.melody_locked,
                "meta": p.meta, "files": {fmt: f"/files/{pid}.{fmt}" for fmt in MEDIA}}

    def reply(pieces: list[StudioPiece], **extra) -> dict:
        ids = store.add_pieces(pieces)
        return {"pieces": [piece_json(i, p) for i, p in zip(ids, pieces)], **extra}

    def load_piece(pid: str) -> StudioPiece:
        p = store.get_piece(pid)
        if p is None:
            raise HTTPException(404, "no such piece")
        return p

    # ---- pages ----

    def static_response(name: str) -> Response:
        path = static_files.get(name)
        if path is None:
            raise HTTPException(404, "not found")
        return Response(path.read_bytes(), media_type=STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    def index():
        return static_response("index.html")

    @app.get("/docs", include_in_schema=False)
    def docs():
        """An offline reader of /openapi.json (Swagger UI would load its scripts from a CDN)."""
        return static_response("docs.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return static_response("icon.svg")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        return static_response(name)

    @app.get("/health", tags=["service"])
    def health():
        """Liveness and what is loaded."""
        return {"status": "ok", "model": bundle.path.name, "step": bundle.header.get("step"),
                "styles": bundle.style_names, "originality": studio.originality.status}

    @app.get("/api/info", tags=["service"])
    def info():
        """Styles, limits and defaults, for clients to build their controls."""
        return {"styles": bundle.style_names, "style_shares": bundle.style_shares,
                "default_temperature": studio.temperature(None), "max_pieces": MAX_N, "max_bars": 32,
                "roles": bundle.manifest["roles"], "steps_per_bar": 16, "max_upload_bytes": MAX_UPLOAD,
                "originality": studio.originality.status, "model": bundle.path.name,
                "model_step": bundle.header.get("step")}

    # ---- composing ----

    @app.post("/api/generate", tags=["compose"])
    def generate(body: S.GenerateBody):
        """New pieces: one window (4 bars), a through-composed longer piece (bars), or a form such as AABA.
        Each piece carries its originality figure; near-copies are replaced unless avoid_copies is false."""
        check_style(body.style)
        seed = _seed(body.seed)
        pieces, dropped = studio.generate(GenerateRequest(body.n, seed, body.style, body.truncation,
                                                          body.temperature, body.bars, body.form,
                                                          body.avoid_copies))
        return reply(pieces, seed=seed, near_copies_replaced=dropped)

    @app.post("/api/variations", tags=["compose"])
    def variations(body: S.VariationsBody):
        """Pieces at a chosen latent distance around a piece (same style, form and length)."""
        parent = load_piece(body.piece_id)
        pieces, dropped = studio.variations(parent, body.n, body.distance, _seed(body.seed), body.avoid_copies)
        return reply(pieces, near_copies_replaced=dropped)

    @app.post("/api/interpolate", tags=["compose"])
    def interpolate(body: S.InterpolateBody):
        """Pieces along the great circle between two pieces' first latents."""
        return reply(studio.interpolate(load_piece(body.a), load_piece(body.b), body.steps))

    @app.post("/api/continue", tags=["compose"])
    def continue_(body: S.ContinueBody):
        """A piece followed by new bars that grow out of its last bar."""
        return reply([studio.continue_piece(load_piece(body.piece_id), body.bars, _seed(body.seed))])

    @app.post("/api/harmonise", tags=["compose"])
    def harmonise(file: UploadFile = UPLOAD_FILE, style: str | None = UPLOAD_STYLE, seed: int | None = UPLOAD_SEED):
        """Alto, tenor and bass for an uploaded melody, in a chosen style; the melody is kept exactly."""
        check_style(style or None)
        data = file.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise HTTPException(413, f"file larger than {MAX_UPLOAD // 1024} KiB")
        title = safe_stem(Path(file.filename or "melody").stem)[:40]
        p = with_checked_file(data, lambda path: studio.harmonise_file(path, style or None, _seed(seed), title))
        return reply([p])

    @app.post("/api/harmonise/piece", tags=["compose"])
    def harmonise_piece(body: S.HarmonisePieceBody):
        """Harmonise again the soprano of a piece, e.g. a folk tune in Bach's style."""
        check_style(body.style)
        parent = load_piece(body.piece_id)
        return reply([studio.harmonise_tokens(parent.tokens[0], body.style, _seed(body.seed), parent.title)])

    @app.get("/api/pieces/{piece_id}", tags=["compose"])
    def get_piece(piece_id: str = PathParam(pattern=S.ID)):
        return piece_json(piece_id, load_piece(piece_id))

    @app.get("/files/{name}", tags=["files"])
    def get_file(name: str):
        """A piece as MIDI, MusicXML, OGG audio or piano-roll PNG: /files/<piece id>.<mid|musicxml|ogg|png>."""
        parsed = parse_name(name)
        if parsed is None:
            raise HTTPException(404, "not found")
        pid, fmt = parsed
        p = load_piece(pid)
        try:
            path = files.ensure(pid, fmt, p, bundle)
        except UserError as e:  # e.g. no FluidSynth on this machine
            raise HTTPException(503, str(e)) from None
        return FileResponse(path, media_type=MEDIA[fmt], filename=f"{safe_stem(p.title)}.{fmt}")

    # ---- listeners ----

    @app.post("/api/listeners", tags=["listeners"])
    def new_listener(body: S.ListenerBody):
        """A listener profile; keep its id to rate and to ask for pieces "for you"."""
        return {"id": store.add_listener(body.name), "name": body.name}

    @app.get("/api/listeners/{listener_id}", tags=["listeners"])
    def get_listener(listener_id: str = PathParam(pattern=S.ID)):
        prof = store.get_listener(listener_id)
        if prof is None:
            raise HTTPException(404, "no such listener")
        return prof

    @app.post("/api/ratings", tags=["listeners"])
    def rate(body: S.RatingBody):
        """Like (1), dislike (-1) or un-rate (0) a piece."""
        if store.get_listener(body.listener_id) is None:
            raise HTTPException(404, "no such listener")
        if store.get_piece(body.piece_id) is None:
            raise HTTPException(404, "no such piece")
        store.rate(body.listener_id, body.piece_id, body.value)
        prof = store.get_listener(body.listener_id)
        return {"ok": True, "likes": prof["likes"], "dislikes": prof["dislikes"]}

    @app.post("/api/for-you", tags=["listeners"])
    def for_you(body: S.ForYouBody):
        """New pieces steered toward what this listener liked (and away from what they disliked), diverse among
        themselves and never near-copies of the liked pieces."""
        if store.get_listener(body.listener_id) is None:
            raise HTTPException(404, "no such listener")
        rated = store.rated_pieces(body.listener_id)
        pieces = studio.for_you([Rating(p, v) for p, v in rated], body.n, _seed(body.seed))
        return reply(pieces, ratings_used=len(rated))

    # ---- live stream ----

    @app.websocket("/api/stream")
    async def stream(ws: WebSocket, seed: int | None = Query(None, ge=0, le=2**31 - 1),
                     style: str | None = Query(None, max_length=40),
                     intensity: float = Query(0.5, ge=0.0, le=1.0), tempo: float | None = Query(None, ge=40, le=220)):
        """Bars as JSON messages ({"type": "bar", "notes": [[voice, step, length, pitch], ...], ...}), paced to
        stay LOOKAHEAD_BARS ahead of playback; send {"type": "set", "style"/"intensity"/"tempo": ...} any time,
        or {"type": "stop"}."""
        from ..studio.stream import LiveStream

        if style is not None and style not in bundle.style_names:
            await ws.close(code=1008, reason="unknown style")
            return
        if streams.locked():
            await ws.close(code=1013, reason="too many streams; try again later")
            return
        async with streams:
            await ws.accept()
            live = await asyncio.to_thread(LiveStream, bundle, _seed(seed), style, intensity, tempo)
            await ws.send_json({"type": "hello", "styles": bundle.style_names, "steps_per_bar": 16,
                                "roles": bundle.manifest["roles"], "lookahead_bars": LOOKAHEAD_BARS})
            stop = asyncio.Event()

            async def receive():
                try:
                    while not stop.is_set():
                        text = await ws.receive_text()
                        if len(text) > 4096:
                            await ws.send_json({"type": "error", "detail": "message too long"})
                            continue
                        try:
                            msg = json.loads(text)
                            if isinstance(msg, dict) and msg.get("type") == "stop":
                                break
                            s = S.StreamSettings.model_validate(msg)
                            if s.style is not None and s.style not in bundle.style_names:
                                raise UserError(f"unknown style {s.style!r}")
                            live.set(s.style, s.intensity, s.tempo)
                            await ws.send_json({"type": "ack", "style": bundle.style_names[live.style],
                                                "intensity": live.intensity, "tempo": live.tempo})
                        except (ValueError, ValidationError, UserError) as e:
                            await ws.send_json({"type": "error", "detail": str(e).splitlines()[0][:200]})
                except (WebSocketDisconnect, RuntimeError):
                    pass
                finally:
                    stop.set()

            receiver = asyncio.create_task(receive())
            clock = None  # when the next bar starts playing, on this server's monotonic clock
            try:
                for _ in range(MAX_STREAM_BARS):
                    if stop.is_set():
                        break
                    bar = await asyncio.to_thread(live.next_bar)
                    now = time.monotonic()
                    clock = now + 0.3 if clock is None else clock
                    await ws.send_json(bar.to_json())
                    clock += bar.duration_s
                    wait = clock - LOOKAHEAD_BARS * bar.duration_s - time.monotonic()
                    if wait > 0:
                        try:
                            await asyncio.wait_for(stop.wait(), timeout=wait)
                        except TimeoutError:
                            pass
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                stop.set()
                receiver.cancel()
                try:
                    await ws.close()
                except (RuntimeError, WebSocketDisconnect):
                    pass  # the client has gone already

    return app


def build(model: str | None = None, data_dir: str | Path | None = None, train_data: str | None = None,
          max_parallel: int = 2) -> FastAPI:
    from ..sample.model import load_generator

    bundle = load_generator(model)
    return create_app(Studio(bundle, train_data, max_parallel), data_dir or default_data_dir())


def default_data_dir() -> Path:
    import os

    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "divertimento" / "studio"


__all__ = ["create_app", "build", "default_data_dir"]
