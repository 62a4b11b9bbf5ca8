"""The studio's HTTP and WebSocket API, and the single page that uses it: this module assembles the app from
the route modules (``routes_*``), adds the security headers, the body-size cap and the error handlers.

Every handler validates its input with a pydantic model (bounded numbers, patterned ids, no unknown fields),
calls one function of ``divertimento.studio`` and returns JSON. Heavy handlers run their work in the thread pool
while watching the client (``jobs.py``) and share the studio's bounded queue, admitted by their estimated cost
(``cost.py``), so a burst of requests is refused at once instead of oversubscribing the CPU, and work whose
deadline passes or whose client goes away stops. Nothing a user sends reaches a shell or becomes a path."""

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import Busy, UserError
from ..studio.engine import load_studio_model
from ..studio.service import Studio
from ..studio.work_queue import DEADLINE_S, Stopped, TooMuchWork
from . import routes_files, routes_library, routes_listeners, routes_pages, routes_pieces, routes_service, routes_stream
from .context import Context
from .files import OutputDir
from .guard import LOOPBACK_NAMES, HostOriginGuard
from .headers import SecurityHeaders
from .limits import BodyLimit
from .priority import let_stream_bars_go_first
from .store import Store

# in this order the OpenAPI document lists the paths as it always has
ROUTERS = (routes_pages, routes_service, routes_pieces, routes_files, routes_listeners, routes_library,
           routes_stream)


def create_app(studio: Studio, data_dir: str | Path, allowed_hosts=None) -> FastAPI:
    """The studio's app. ``allowed_hosts``: the names a request's Host (and Origin, when sent) may carry
    (``guard.py``); None = no check (an app embedded in a test client or another server)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="divertimento studio", version="1", docs_url=None, redoc_url=None,
                  description="Generate, play, harmonise, vary, rate and stream music from a sequence model. "
                              "Every numeric parameter is bounded; see each body's schema.")
    app.state.context = Context(studio, Store(data_dir / "studio.sqlite"), OutputDir(data_dir / "files"))
    let_stream_bars_go_first(studio)  # heavy jobs pause between model steps while a stream bar is drawn
    app.add_middleware(BodyLimit)
    if allowed_hosts is not None:
        app.add_middleware(HostOriginGuard, allowed_hosts=allowed_hosts)
    app.add_middleware(SecurityHeaders)  # added last: the outermost, so every response carries the headers
    app.add_exception_handler(UserError, user_error)
    app.add_exception_handler(Busy, busy)
    app.add_exception_handler(Stopped, stopped)
    app.add_exception_handler(TooMuchWork, too_much_work)
    app.add_exception_handler(RequestValidationError, invalid)
    for module in ROUTERS:
        app.include_router(module.router)
    return app


async def user_error(request: Request, exc: UserError):
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def busy(request: Request, exc: Busy):
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)})


async def stopped(request: Request, exc: Stopped):
    # a deadline passed or the client went away: the job stopped between two model steps and stored nothing
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)})


async def too_much_work(request: Request, exc: TooMuchWork):
    # never fits however idle the studio is: a 4xx, not a 503 (retrying the same request cannot help)
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def invalid(request: Request, exc: RequestValidationError):
    # the offending input is not echoed back: it may be huge, binary, or NaN (not valid JSON)
    detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:200], "type": e.get("type", "")}
              for e in exc.errors()[:20]]
    return JSONResponse({"detail": detail}, status_code=422)


def build(model: str | None = None, data_dir: str | Path | None = None, train_data: str | None = None,
          max_parallel: int = 2, hosts=LOOPBACK_NAMES, deadline: float = DEADLINE_S) -> FastAPI:
    """The app ``serve`` runs: Host and Origin checked against ``hosts`` (the bind address, loopback names and any
    --allow-host); each heavy request stopped ``deadline`` seconds after it was admitted."""
    engine = load_studio_model(model)
    return create_app(Studio(engine, train_data, max_parallel, deadline=deadline), data_dir or default_data_dir(),
                      allowed_hosts=hosts)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "divertimento" / "studio"


__all__ = ["create_app", "build", "default_data_dir"]
