"""The studio's bound on heavy work: at most ``workers`` jobs run at once, at most ``waiting`` more wait, and a job
that would wait beyond that, or longer than ``max_wait`` seconds, is refused at once (``errors.Busy``, a 503 with
Retry-After in the server) instead of holding a request thread until its client gives up. A sequence model's
pieces cost about a second of CPU each, so an unbounded queue on two cores turns a burst of requests into minutes
of waiting for everyone."""

import threading
from contextlib import contextmanager

from ..errors import Busy


class WorkQueue:
    def __init__(self, workers: int = 2, waiting: int = 4, max_wait: float = 30.0):
        self.workers, self.waiting, self.max_wait = workers, waiting, max_wait
        self._running = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting

    @property
    def admitted(self) -> int:
        return self._admitted

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
            try:
                yield
            finally:
                self._running.release()
        finally:
            with self._lock:
                self._admitted -= 1
