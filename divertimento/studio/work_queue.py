"""The studio's bound on heavy work: at most ``workers`` jobs run at once, at most ``waiting`` more wait, and a job
that would wait beyond that, or longer than ``max_wait`` seconds, is refused at once (``errors.Busy``, a 503 with
Retry-After in the server) instead of holding a request thread until its client gives up. A sequence model's
pieces cost about a second of CPU each, so an unbounded queue on two cores turns a burst of requests into minutes
of waiting for everyone.

Live stream bars go first. A bar is due at a fixed moment (the listener hears a gap when it is late), while a heavy
job is a few seconds to a minute of work nobody hears; on two cores, two heavy jobs left 11 of 24 bars late. So a
bar runs in the ``ahead`` lane, outside the slots (its own bound is the streams' cap), and while any bar is being
drawn every heavy job stops at its next ``checkpoint`` (the server calls it before each model step) and waits until
the bars are done, at most ``max_pause`` seconds at a time (so a stream that never stops cannot starve the jobs)."""

import threading
from contextlib import contextmanager

from ..errors import Busy


class WorkQueue:
    def __init__(self, workers: int = 2, waiting: int = 4, max_wait: float = 30.0, max_pause: float = 2.0):
        self.workers, self.waiting, self.max_wait, self.max_pause = workers, waiting, max_wait, max_pause
        self._running = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting
        self._ahead = 0  # stream bars being drawn now
        self._paused = 0  # heavy jobs waiting at a checkpoint now
        self._bars_done = threading.Condition(self._lock)
        self._job = threading.local()  # .heavy: this thread holds a slot

    @property
    def admitted(self) -> int:
        return self._admitted

    @property
    def ahead_now(self) -> int:
        return self._ahead

    @property
    def paused(self) -> int:
        return self._paused

    @contextmanager
    def slot(self):
        """Run the block as one heavy job, or raise Busy now (full) or after max_wait (no slot came free)."""
        with self._lock:
            if self._admitted >= self.workers + self.waiting:
                raise Busy(f"the studio is busy ({self._admitted} jobs running or waiting); try again shortly",
                           retry_after=max(1, int(self.max_wait // 3)))
            self._admitted += 1
        try:
            if not self._running.acquire(timeout=self.max_wait):
                raise Busy(f"no free worker within {self.max_wait:g} s; try again shortly",
                           retry_after=max(1, int(self.max_wait // 3)))
            outer = getattr(self._job, "heavy", False)
            self._job.heavy = True
            try:
                yield
            finally:
                self._job.heavy = outer
                self._running.release()
        finally:
            with self._lock:
                self._admitted -= 1

    @contextmanager
    def ahead(self):
        """Run the block (a stream bar) ahead of heavy work: it takes no slot, and heavy jobs pause at their next
        checkpoint until it ends."""
        with self._lock:
            self._ahead += 1
        try:
            yield
        finally:
            with self._lock:
                self._ahead -= 1
                if self._ahead == 0:
                    self._bars_done.notify_all()

    def checkpoint(self) -> bool:
        """Called by heavy work between steps: in a heavy job's thread, wait while stream bars are being drawn (at
        most max_pause). Returns whether it waited. Any other thread (a bar itself, light work) passes at once."""
        if not self._ahead or not getattr(self._job, "heavy", False):
            return False
        with self._lock:
            self._paused += 1
            try:
                self._bars_done.wait_for(lambda: self._ahead == 0, timeout=self.max_pause)
            finally:
                self._paused -= 1
        return True
