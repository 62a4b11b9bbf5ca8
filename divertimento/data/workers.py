"""Worker processes that cannot hang a run: each item runs under a time limit in a worker whose memory is capped;
a worker that overruns is killed, one that dies (out of memory, a crash in a C parser) is noticed, and either way
the item is reported with its reason and a fresh worker takes its place. ``multiprocessing.Pool`` waits forever
for an item whose worker died, and cannot stop one that runs forever (music21 on some inputs)."""

import multiprocessing as mp
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait


def _address_space() -> int:
    """This process's virtual memory in bytes (what RLIMIT_AS counts)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _serve(conn, init, initargs, memory_bytes: int | None) -> None:
    if memory_bytes:
        # growth beyond what the fork inherited (a parent that imported torch maps gigabytes it never touches)
        limit = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if init is not None:
        init(*initargs)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        fn, item = job
        try:
            result = ("ok", fn(item))
        except MemoryError:
            result = ("error", f"needed more than the worker's memory budget ({memory_bytes // 2**20} MiB)")
        except Exception as e:  # the caller's fn decides what is an error; anything else is reported, not raised
            result = ("error", f"{type(e).__name__}: {str(e)[:120]}")
        conn.send(result)


class _Worker:
    def __init__(self, ctx, init, initargs, memory_bytes):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, init, initargs, memory_bytes), daemon=True)
        self.proc.start()
        child.close()
        self.item = None
        self.deadline = 0.0

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def bounded_map(fn: Callable, items: Iterable, workers: int, time_limit: float, memory_bytes: int | None = None,
                init=None, initargs=()) -> Iterator[tuple[object, str, object]]:
    """Yield (item, "ok", fn(item)) or (item, "error", reason) for every item, in completion order. ``fn`` and
    ``init`` must be picklable or module-level (workers are forked)."""
    ctx = mp.get_context("fork")
    todo = list(items)[::-1]
    pool = [_Worker(ctx, init, initargs, memory_bytes) for _ in range(min(workers, max(len(todo), 1)))]
    try:
        idle = list(pool)
        while todo or len(idle) < len(pool):
            while todo and idle:
                w = idle.pop()
                w.item = todo.pop()
                w.deadline = time.monotonic() + time_limit
                w.conn.send((fn, w.item))
            busy = [w for w in pool if w not in idle]
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout)
            for w in busy:
                reason = None
                if w.conn in ready:
                    try:
                        status, value = w.conn.recv()
                        yield w.item, status, value
                        idle.append(w)
                        continue
                    except (EOFError, OSError):
                        reason = "the worker died reading it (out of memory or a crash in a parser)"
                elif w.proc.sentinel in ready or not w.proc.is_alive():
                    reason = "the worker died reading it (out of memory or a crash in a parser)"
                elif time.monotonic() >= w.deadline:
                    reason = f"took longer than {time_limit:g} s to read"
                if reason is None:
                    continue
                yield w.item, "error", reason
                w.stop(kill=True)
                fresh = _Worker(ctx, init, initargs, memory_bytes)
                pool[pool.index(w)] = fresh
                idle.append(fresh)
    finally:
        for w in pool:
            w.stop(kill=True)  # idle or abandoned by the caller: nothing of theirs is lost


WORKER_MEMORY = 1 * 2**30  # growth of a worker's address space while reading; music21's largest corpus scores
# need a few hundred MiB, the hostile inputs that used to take 10 GB are stopped here
