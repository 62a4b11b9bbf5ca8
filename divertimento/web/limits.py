"""Request body size caps as plain ASGI middleware: checked against Content-Length before anything is read,
and counted while reading for chunked bodies."""

import json

from .uploads import MAX_UPLOAD

MAX_BODY = 64 * 1024  # JSON bodies
MAX_UPLOAD_BODY = MAX_UPLOAD + 64 * 1024  # a whole uploaded file plus multipart overhead


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        # the one route that takes a file (routes_pieces.harmonise); every other body is JSON
        limit = MAX_UPLOAD_BODY if path == "/api/harmonise" else MAX_BODY
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    if int(v) > limit:
                        return await _reject(send, limit)
                except ValueError:
                    return await _reject(send, limit, 400, "bad Content-Length")
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return msg

        async def tracking_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, limit)


async def _reject(send, limit: int, status: int = 413, detail: str | None = None):
    body = json.dumps({"detail": detail or f"request body larger than {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
