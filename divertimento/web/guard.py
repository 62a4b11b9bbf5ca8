"""Host and Origin checks as plain ASGI middleware, against DNS rebinding and cross-site use of a local server.

- Host: every HTTP request and WebSocket must name one of the server's own names (the bind address, the loopback
  names, and any ``--allow-host``); a page on another site that rebinds its DNS name to 127.0.0.1 sends its own
  name and gets 421.
- Origin: a browser sends it with every WebSocket and every cross-site state-changing request. When present it must
  name an allowed host too (403 otherwise); requests without it (curl, scripts, same-origin GETs) pass.
"""

import json
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def host_name(value: str) -> str:
    """The name part of a Host header value or a URL's netloc, lower-case, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def origin_name(origin: str) -> str | None:
    """The host name an Origin header names; None for one that does not parse (urlsplit raises on an unclosed IPv6
    bracket such as ``http://[::1``): refused like a foreign one, not a 500."""
    try:
        return host_name(urlsplit(origin).netloc)
    except ValueError:
        return None


class HostOriginGuard:
    def __init__(self, app, allowed_hosts):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if host_name(headers.get("host", "")) not in self.allowed:
            return await _refuse(scope, receive, send, 421, "unknown Host")
        origin = headers.get("origin")
        checks_origin = scope["type"] == "websocket" or scope.get("method", "GET") in STATE_CHANGING
        if checks_origin and origin is not None and origin_name(origin) not in self.allowed:
            return await _refuse(scope, receive, send, 403, "foreign Origin")
        return await self.app(scope, receive, send)


async def _refuse(scope, receive, send, status: int, detail: str):
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        return await send({"type": "websocket.close", "code": 1008, "reason": detail})
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})
