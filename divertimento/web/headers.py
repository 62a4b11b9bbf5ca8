"""Security headers on every HTTP response, errors included, as the outermost ASGI middleware: a body-size 413, a
Host 421 or an unexpected exception's 500 carries them as a page does. An exception that reaches this layer is
logged and answered with a bare 500 here (Starlette's own error middleware sits outside every user middleware,
so its 500 would go out without them)."""

import json
import logging

log = logging.getLogger("divertimento.web")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def with_headers(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in msg.get("headers", [])}
                msg = dict(msg, headers=list(msg.get("headers", [])) + [h for h in HEADERS if h[0] not in names])
            await send(msg)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            log.exception("internal error on %s", scope.get("path", ""))
            if started:  # half a response is out: the server must abort the connection, not end it as complete
                raise
            body = json.dumps({"detail": "internal error"}).encode()
            await with_headers({"type": "http.response.start", "status": 500,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
