"""The live stream: endless music over a WebSocket, one bar a message, paced to stay a little ahead of the
listener's playback, with style, intensity and tempo changeable while it plays."""

import asyncio
import json
import logging
import time

from fastapi import APIRouter, Query, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from ..errors import UserError
from ..studio.stream import LiveStream
from ..studio.work_queue import Cancelled, Ticket, WorkQueue
from . import schemas as S
from .context import STEPS_PER_BAR, Context, Ctx, new_seed

MAX_STREAM_BARS = 2000  # bars per stream connection (~1.5 hours at 100 qpm); reconnect for more
LOOKAHEAD_BARS = 1.5  # bars a stream stays ahead of the listener's clock
MAX_MESSAGE = 4096  # characters of one client message
START_DELAY_S = 0.3  # when the first bar starts playing, after it is sent

router = APIRouter()
log = logging.getLogger("divertimento.web")


class BarFailed(Exception):
    """Drawing a bar raised: a bug, logged and answered with close code 1011 (the stream's 500). Kept apart from
    the RuntimeError Starlette raises when the client has gone, which ends a stream quietly."""


@router.websocket("/api/stream")
async def stream(ws: WebSocket, ctx: Ctx, seed: int | None = Query(None, ge=0, le=2**31 - 1),
                 style: str | None = Query(None, max_length=40),
                 intensity: float = Query(0.5, ge=0.0, le=1.0), tempo: float | None = Query(None, ge=40, le=220)):
    """Bars as JSON messages ({"type": "bar", "notes": [[voice, step, length, pitch], ...], ...}), paced to
    stay LOOKAHEAD_BARS ahead of playback; send {"type": "set", "style"/"intensity"/"tempo": ...} any time,
    or {"type": "stop"}."""
    if not ctx.knows_style(style):
        await ws.close(code=1008, reason="unknown style")
        return
    if ctx.streams.locked():
        await ws.close(code=1013, reason="too many streams; try again later")
        return
    async with ctx.streams:
        await ws.accept()
        engine, queue = ctx.engine, ctx.studio.queue
        live = await asyncio.to_thread(LiveStream, engine, new_seed(seed), style, intensity, tempo)
        await ws.send_json({"type": "hello", "styles": engine.style_names, "steps_per_bar": STEPS_PER_BAR,
                            "roles": engine.manifest["roles"], "drums": list(engine.layout.drum_voices),
                            "lookahead_bars": LOOKAHEAD_BARS})
        stop = asyncio.Event()
        ticket = Ticket(cost=0.0)  # cancelled when the stream ends, so a bar being drawn for nobody stops
        receiver = asyncio.create_task(_receive(ws, ctx, live, stop, ticket))
        code = 1000
        try:
            await _send_bars(ws, live, stop, queue, ticket)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except BarFailed:
            log.exception("internal error on /api/stream")
            code = 1011
        finally:
            stop.set()
            ticket.cancel.set()
            receiver.cancel()
            try:
                await ws.close(code=code)
            except (RuntimeError, WebSocketDisconnect):
                pass  # the client has gone already


def _bar_ahead_of_heavy_work(live: LiveStream, queue: WorkQueue, ticket: Ticket):
    """The next bar, drawn in the queue's ``ahead`` lane: heavy jobs pause while it is drawn (a bar is due at a
    fixed moment; a heavy job is not). Its bound is the streams' cap (MAX_STREAMS), not the heavy slots; the
    stream's ticket stops it at a model step once the stream has ended."""
    with queue.ahead(ticket):
        return live.next_bar()


async def _send_bars(ws: WebSocket, live: LiveStream, stop: asyncio.Event, queue: WorkQueue,
                     ticket: Ticket) -> None:
    """Up to MAX_STREAM_BARS bars, each sent LOOKAHEAD_BARS before it plays, until ``stop`` is set."""
    clock = None  # when the next bar starts playing, on this server's monotonic clock
    for _ in range(MAX_STREAM_BARS):
        if stop.is_set():
            break
        try:
            bar = await asyncio.to_thread(_bar_ahead_of_heavy_work, live, queue, ticket)
        except Cancelled:  # the client went away while its bar was drawn
            break
        except Exception as e:
            raise BarFailed from e
        now = time.monotonic()
        clock = now + START_DELAY_S if clock is None else clock
        await ws.send_json(bar.to_json())
        clock += bar.duration_s
        wait = clock - LOOKAHEAD_BARS * bar.duration_s - time.monotonic()
        if wait > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except TimeoutError:
                pass


async def _receive(ws: WebSocket, ctx: Context, live: LiveStream, stop: asyncio.Event, ticket: Ticket) -> None:
    """Apply the client's settings messages until it says stop or goes away; then set ``stop`` and cancel the bar
    being drawn, if any."""
    try:
        while not stop.is_set():
            text = await ws.receive_text()
            if len(text) > MAX_MESSAGE:
                await ws.send_json({"type": "error", "detail": "message too long"})
                continue
            try:
                msg = json.loads(text)
                if isinstance(msg, dict) and msg.get("type") == "stop":
                    break
                s = S.StreamSettings.model_validate(msg)
                if not ctx.knows_style(s.style):
                    raise UserError(f"unknown style {s.style!r}")
                live.set(s.style, s.intensity, s.tempo)
                await ws.send_json({"type": "ack", "style": ctx.engine.style_names[live.style],
                                    "intensity": live.intensity, "tempo": live.tempo})
            except (ValueError, ValidationError, UserError) as e:
                await ws.send_json({"type": "error", "detail": str(e).splitlines()[0][:200]})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        stop.set()
        ticket.cancel.set()
