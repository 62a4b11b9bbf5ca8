"""Heavy work for one HTTP request, run in the thread pool while the event loop watches the client: when it
disconnects, the job's ``Cancel`` flag is set, so the job stops at its next checkpoint (between two model steps) or
stops waiting for a worker, and its slot comes free for someone still listening (``studio/work_queue.py``).

A heavy handler is ``async`` only to do this watching; everything it did before (SQLite look-ups, the studio's
tool, storing the new pieces) runs in ``work``, in a pool thread, as a plain ``def`` handler's body did."""

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..studio.work_queue import Cancel

POLL_S = 0.25  # how often a running request asks whether its client is still there (one cheap receive each)

T = TypeVar("T")


async def watched(request: Request, work: Callable[[Cancel], T]) -> T:
    """``work(cancel)`` in a pool thread; ``cancel`` is set once the client has gone. Waits for the thread either
    way (a cancelled job ends at its next checkpoint), so its exception is the answer (nobody reads it then)."""
    cancel = Cancel()
    job = asyncio.ensure_future(run_in_threadpool(work, cancel))
    try:
        while not job.done():
            await asyncio.wait({job}, timeout=POLL_S)
            if not job.done() and not cancel.is_set() and await request.is_disconnected():
                cancel.set()
    except asyncio.CancelledError:  # the server itself gave up on the request (shutting down): so does the job
        cancel.set()
        raise
    return job.result()
