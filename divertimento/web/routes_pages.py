"""The single page, its static assets and the offline API reader, served from the package's ``static`` folder.

Only files found in that folder when the app starts can be served, looked up by bare name: a request never
becomes a path, so ``..`` and encoded slashes simply find nothing."""

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
STATIC_FILES = {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in STATIC_TYPES}

router = APIRouter(include_in_schema=False)


def static_response(name: str) -> Response:
    path = STATIC_FILES.get(name)
    if path is None:
        raise HTTPException(404, "not found")
    return Response(path.read_bytes(), media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/")
def index():
    return static_response("index.html")


@router.get("/docs")
def docs():
    """An offline reader of /openapi.json (Swagger UI would load its scripts from a CDN)."""
    return static_response("docs.html")


@router.get("/favicon.ico")
def favicon():
    return static_response("icon.svg")


@router.get("/static/{name}")
def static(name: str):
    return static_response(name)
