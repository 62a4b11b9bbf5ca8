"""The studio's bound on heavy work: at most ``workers`` jobs run at once, at most ``waiting`` more wait, and a job
that would wait beyond that, or longer than ``max_wait`` seconds, is refused at once (``errors.Busy``, a 503 with
Retry-After in the server) instead of holding a request thread until its client gives up. A sequence model's
pieces cost about a second of CPU each, so an unbounded queue on two cores turns a burst of requests into minutes
of waiting for everyone.

Admission is by cost as well as by count. Each job comes with a ``Ticket``: its estimated cost in model windows
(``web/cost.py``: one window of one row, about 0.15 s on an idle core of the 2-core machine) and a ``Cancel`` flag.
A job that could not finish within the deadline even alone (cost above ``max_cost`` = deadline / seconds per
window) is ``TooMuchWork`` (a 422: it never fits, retrying cannot help); one that would take the work admitted now
(running and waiting) past ``capacity`` (what the workers do in one deadline) is Busy, with Retry-After the time the
excess should take to drain. Counting alone let 6 requests of 16 long pieces in as easily as 6 of one bar.

Every job carries a deadline (``deadline`` seconds from admission, on ``clock``) and its ticket's cancel flag:
``checkpoint``, which the model calls before each step in the job's thread, raises ``DeadlinePassed`` once the
deadline is behind it and ``Cancelled`` once the flag is set (the server sets it when the client disconnects), so
the job stops between two model steps, its slot comes free and the caller stores nothing. A waiting job whose flag
is set stops waiting at once.

Live stream bars go first. A bar is due at a fixed moment (the listener hears a gap when it is late), while a heavy
job is a few seconds to a minute of work nobody hears; on two cores, two heavy jobs left 11 of 24 bars late. So a
bar runs in the ``ahead`` lane, outside the slots (its own bound is the streams' cap), and while any bar is being
drawn every heavy job stops at its next ``checkpoint`` (the server calls it before each model step) and waits until
the bars are done, at most ``max_pause`` seconds at a time (so a stream that never stops cannot starve the jobs).
A bar may carry a ticket too: its stream's, cancelled when the WebSocket closes."""

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import Busy

DEADLINE_S = 60.0  # the longest a heavy request may take, waiting included
SECONDS_PER_WINDOW = 0.11  # a window of one row: 0.065 s measured on the idle machine, with room for a shared one


class TooMuchWork(Exception):
    """A request whose estimated cost cannot fit within one deadline however idle the studio is: the server answers
    422 (asking again cannot help; asking for less can)."""


class Stopped(Exception):
    """A job stopped between two model steps; the server answers 503 with Retry-After."""

    def __init__(self, message: str, retry_after: int = 10):
        super().__init__(message)
        self.retry_after = retry_after


class DeadlinePassed(Stopped):
    """The job's deadline passed before it was done."""


class Cancelled(Stopped):
    """Whoever waited for the job stopped waiting (the client disconnected, the stream closed)."""


class Cancel:
    """A flag set by whoever stops waiting for a job. Setting it wakes the queue, so a job that is still waiting for a
    worker stops at once instead of when a worker comes free."""

    def __init__(self):
        self._event = threading.Event()
        self._wake = None  # set by the queue that admitted the job

    def set(self) -> None:
        self._event.set()
        if self._wake is not None:
            self._wake()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


@dataclass
class Ticket:
    """One job's claim on the queue."""
    cost: float = 1.0  # estimated model windows (web/cost.py)
    hint: str = ""  # what to ask for less of, when the cost never fits ("lower n or bars")
    cancel: Cancel = field(default_factory=Cancel)
    deadline_at: float = math.inf  # on the queue's clock; set at admission


class WorkQueue:
    def __init__(self, workers: int = 2, waiting: int = 4, max_wait: float = 30.0, max_pause: float = 2.0,
                 deadline: float = DEADLINE_S, seconds_per_window: float = SECONDS_PER_WINDOW,
                 clock=time.monotonic):
        self.workers, self.waiting, self.max_wait, self.max_pause = workers, waiting, max_wait, max_pause
        self.deadline, self.seconds_per_window, self.clock = deadline, seconds_per_window, clock
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting
        self._cost = 0.0  # their estimated windows
        self._running = 0
        self._ahead = 0  # stream bars being drawn now
        self._paused = 0  # heavy jobs waiting at a checkpoint now
        self._bars_done = threading.Condition(self._lock)
        self._worker_free = threading.Condition(self._lock)
        self._job = threading.local()  # .heavy: this thread holds a slot; .ticket: the job it runs

    @property
    def max_cost(self) -> float:
        """The most windows one job may cost: what one worker draws within the deadline."""
        return self.deadline / self.seconds_per_window

    @property
    def capacity(self) -> float:
        """The most windows admitted at once (running and waiting): what the workers draw within one deadline."""
        return self.workers * self.max_cost

    @property
    def admitted(self) -> int:
        return self._admitted

    @property
    def admitted_cost(self) -> float:
        return self._cost

    @property
    def running(self) -> int:
        return self._running

    @property
    def ahead_now(self) -> int:
        return self._ahead

    @property
    def paused(self) -> int:
        return self._paused

    def _drain_s(self, windows: float) -> int:
        """Seconds the workers take to draw ``windows`` (at least 1: a Retry-After)."""
        return max(1, math.ceil(windows * self.seconds_per_window / self.workers))

    def _admit(self, ticket: Ticket) -> None:
        if ticket.cost > self.max_cost:
            seconds = ticket.cost * self.seconds_per_window
            raise TooMuchWork(f"too much work for one request: about {ticket.cost:.0f} model windows "
                              f"(~{seconds:.0f} s), at most {self.max_cost:.0f} fit in the {self.deadline:g} s deadline"
                              + (f"; {ticket.hint}" if ticket.hint else ""))
        with self._lock:
            if self._admitted >= self.workers + self.waiting:
                raise Busy(f"the studio is busy ({self._admitted} jobs running or waiting); try again shortly",
                           retry_after=max(1, int(self.max_wait // 3)))
            if self._cost + ticket.cost > self.capacity:
                raise Busy(f"the studio is busy (about {self._cost:.0f} model windows of work admitted, "
                           f"{ticket.cost:.0f} more do not fit in {self.capacity:.0f}); try again shortly",
                           retry_after=self._drain_s(self._cost + ticket.cost - self.capacity))
            self._admitted += 1
            self._cost += ticket.cost
            ticket.deadline_at = min(ticket.deadline_at, self.clock() + self.deadline)
            ticket.cancel._wake = self._wake_waiters

    def _wake_waiters(self) -> None:
        with self._lock:
            self._worker_free.notify_all()

    def _take_worker(self, ticket: Ticket) -> None:
        with self._lock:
            limit = max(0.0, min(self.max_wait, ticket.deadline_at - self.clock()))
            free = self._worker_free.wait_for(lambda: self._running < self.workers or ticket.cancel.is_set(),
                                              timeout=limit)
            if ticket.cancel.is_set():
                raise Cancelled("cancelled while waiting for a worker", retry_after=1)
            if not free:
                raise Busy(f"no free worker within {limit:g} s; try again shortly",
                           retry_after=max(1, int(self.max_wait // 3)))
            self._running += 1

    def _give_back_worker(self) -> None:
        with self._lock:
            self._running -= 1
            self._worker_free.notify()

    @contextmanager
    def slot(self, ticket: Ticket | None = None):
        """Run the block as one heavy job, or raise TooMuchWork (its cost never fits), Busy now (full, by count or by
        cost) or Busy after max_wait (no worker came free). The block's checkpoints raise DeadlinePassed or
        Cancelled; either way the slot comes free."""
        ticket = ticket or Ticket()
        self._admit(ticket)
        try:
            self._take_worker(ticket)
            outer = getattr(self._job, "heavy", False), getattr(self._job, "ticket", None)
            self._job.heavy, self._job.ticket = True, ticket
            try:
                yield ticket
            finally:
                self._job.heavy, self._job.ticket = outer
                self._give_back_worker()
        finally:
            with self._lock:
                self._admitted -= 1
                self._cost -= ticket.cost
                if self._admitted == 0:
                    self._cost = 0.0  # no float drift left behind

    @contextmanager
    def ahead(self, ticket: Ticket | None = None):
        """Run the block (a stream bar) ahead of heavy work: it takes no slot, and heavy jobs pause at their next
        checkpoint until it ends. With a ticket, the bar's own checkpoints raise Cancelled once its flag is set."""
        with self._lock:
            self._ahead += 1
        outer = getattr(self._job, "ticket", None)
        self._job.ticket = ticket
        try:
            yield
        finally:
            self._job.ticket = outer
            with self._lock:
                self._ahead -= 1
                if self._ahead == 0:
                    self._bars_done.notify_all()

    def check(self, ticket: Ticket) -> None:
        """Raise Cancelled or DeadlinePassed when the ticket's job must stop now."""
        if ticket.cancel.is_set():
            raise Cancelled("cancelled: the client went away", retry_after=1)
        if self.clock() >= ticket.deadline_at:
            raise DeadlinePassed(f"stopped at the {self.deadline:g} s deadline before the work was done (the studio "
                                 "is loaded, or the request is large); try again later or ask for less",
                                 retry_after=self._drain_s(self._cost))

    def checkpoint(self) -> bool:
        """Called by heavy work between steps: stop the job (raise) when its deadline has passed or it was cancelled;
        in a heavy job's thread, wait while stream bars are being drawn (at most max_pause). Returns whether it
        waited. Any other thread (a bar itself, light work) passes at once, unless its ticket was cancelled."""
        ticket = getattr(self._job, "ticket", None)
        if ticket is not None:
            self.check(ticket)
        if not self._ahead or not getattr(self._job, "heavy", False):
            return False
        with self._lock:
            self._paused += 1
            try:
                self._bars_done.wait_for(lambda: self._ahead == 0, timeout=self.max_pause)
            finally:
                self._paused -= 1
        return True
