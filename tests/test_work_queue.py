"""The studio's bound on heavy work: at capacity a job is refused at once, by count or by estimated cost, a waiting
job gives up after max_wait, a running job stops at its next checkpoint once its deadline has passed or it was
cancelled, and slots come back when jobs end (also when they fail or stop)."""

import threading
import time

import pytest

from divertimento.errors import Busy
from divertimento.studio.work_queue import Cancelled, DeadlinePassed, Ticket, TooMuchWork, WorkQueue


def test_full_queue_refuses_at_once_and_a_waiter_gets_the_next_slot():
    q = WorkQueue(workers=1, waiting=1, max_wait=60.0)
    running, release, got = threading.Event(), threading.Event(), []

    def first():
        with q.slot():
            running.set()
            release.wait(5)

    def second():
        with q.slot():
            got.append("second ran")

    a = threading.Thread(target=first)
    a.start()
    running.wait(5)
    b = threading.Thread(target=second)
    b.start()
    while q.admitted < 2:  # the second job is waiting for the one worker
        time.sleep(0.01)
    t0 = time.perf_counter()
    with pytest.raises(Busy, match="busy") as refused:  # "busy": refused for a full queue, not after max_wait
        with q.slot():
            pass
    assert time.perf_counter() - t0 < q.max_wait / 2 and refused.value.retry_after == 20
    release.set()
    a.join(5)
    b.join(5)
    assert got == ["second ran"] and q.admitted == 0


def test_a_waiter_gives_up_after_max_wait_and_failures_free_their_slot():
    q = WorkQueue(workers=1, waiting=1, max_wait=0.2)
    with q.slot():
        with pytest.raises(Busy, match="no free worker within 0.2 s"):
            with q.slot():
                pass
    with pytest.raises(ValueError):
        with q.slot():
            raise ValueError("the job failed")
    assert q.admitted == 0
    with q.slot():  # the slot came back
        assert q.admitted == 1


def wait_until(condition, limit: float = 30.0) -> None:
    """Wait for another thread to reach a state (polled: the threads signal nothing else); fail after ``limit``."""
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < limit, "the other thread never got there"
        time.sleep(0.005)


def test_a_heavy_job_stops_at_its_checkpoint_while_a_stream_bar_is_drawn():
    q = WorkQueue(workers=1, waiting=0, max_pause=60.0)
    log, at_checkpoint = [], threading.Event()
    waited = []

    def heavy():
        with q.slot():
            at_checkpoint.set()
            waited.append(q.checkpoint())  # a bar is being drawn: the job waits here until it is done
            log.append("heavy step")

    with q.ahead():  # a stream bar, drawn though the one heavy slot is about to be taken
        job = threading.Thread(target=heavy)
        job.start()
        at_checkpoint.wait(30)
        wait_until(lambda: q.paused == 1)
        assert log == [] and q.ahead_now == 1
        log.append("bar done")
    job.join(30)
    assert log == ["bar done", "heavy step"] and waited == [True] and q.paused == 0 and q.admitted == 0


def test_bars_take_no_slot_and_their_own_steps_never_wait():
    q = WorkQueue(workers=1, waiting=0, max_pause=60.0)
    with q.slot():  # the queue is full: heavy work is refused ...
        with pytest.raises(Busy):
            with q.slot():
                pass
        done = []

        def bar():  # ... but a bar gets in, and its own model steps (not a heavy job's) pass at once
            with q.ahead():
                done.append(q.checkpoint())

        bar = threading.Thread(target=bar)
        bar.start()
        bar.join(30)
        assert done == [False]
    assert q.admitted == 0
    with q.slot():
        assert q.checkpoint() is False  # no bar being drawn: heavy work runs on


def test_a_pause_is_bounded_so_endless_bars_cannot_starve_heavy_work():
    q = WorkQueue(workers=1, waiting=0, max_pause=0.01)
    with q.ahead():  # a bar that never ends (drawn in this thread, which also holds a heavy slot)
        with q.slot():
            assert q.checkpoint() is True and q.checkpoint() is True  # each pause ends after max_pause
    assert q.ahead_now == 0 and q.paused == 0


class FakeClock:
    """The queue's clock, moved by the test: deadlines without sleeping."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_checkpoint_raises_once_the_deadline_has_passed_and_the_slot_comes_free():
    clock = FakeClock()
    q = WorkQueue(workers=1, waiting=0, deadline=60.0, clock=clock)
    steps = []
    with pytest.raises(DeadlinePassed, match="60 s deadline") as stopped:
        with q.slot() as ticket:
            assert ticket.deadline_at == 1060.0
            for step in range(10):
                q.checkpoint()  # the model calls this before each step
                steps.append(step)
                clock.now += 25.0  # each step takes 25 s: the fourth checkpoint, 75 s in, is past the deadline
    assert steps == [0, 1, 2] and stopped.value.retry_after >= 1
    assert q.admitted == 0 and q.running == 0 and q.admitted_cost == 0
    with q.slot():  # the slot came back
        assert q.checkpoint() is False


def test_a_cancelled_job_stops_at_its_next_checkpoint_and_frees_its_slot():
    q = WorkQueue(workers=1, waiting=0)
    ticket, at_step, cancelled, steps, outcome = Ticket(cost=2.0), threading.Event(), threading.Event(), [], []

    def job():
        try:
            with q.slot(ticket):
                q.checkpoint()
                steps.append(1)
                at_step.set()
                cancelled.wait(30)  # the step is being computed when the client goes away
                q.checkpoint()
                steps.append(2)
        except Cancelled as e:
            outcome.append(str(e))

    t = threading.Thread(target=job)
    t.start()
    at_step.wait(30)
    with pytest.raises(Busy):  # the one worker is taken
        with q.slot():
            pass
    ticket.cancel.set()
    cancelled.set()
    t.join(30)
    assert steps == [1] and outcome == ["cancelled: the client went away"]
    assert q.admitted == 0 and q.running == 0
    with q.slot():
        pass


def test_a_cancelled_waiter_stops_waiting_at_once():
    q = WorkQueue(workers=1, waiting=1, max_wait=600.0)
    ticket, outcome = Ticket(), []

    def waiter():
        try:
            with q.slot(ticket):
                outcome.append("ran")
        except Cancelled:
            outcome.append("cancelled")

    with q.slot():  # the one worker is busy for as long as this block lasts
        t = threading.Thread(target=waiter)
        t.start()
        wait_until(lambda: q.admitted == 2)
        ticket.cancel.set()  # wakes the waiter, though no worker came free
        t.join(30)
        assert outcome == ["cancelled"] and q.admitted == 1
    assert q.admitted == 0


def test_admission_by_cost_refuses_what_does_not_fit_and_admits_it_once_cost_frees():
    # 10 s deadline at 0.5 s a window: one job may cost 20 windows, 2 workers hold 40 at once
    q = WorkQueue(workers=2, waiting=4, deadline=10.0, seconds_per_window=0.5)
    assert q.max_cost == 20 and q.capacity == 40
    with pytest.raises(TooMuchWork, match="about 21 model windows.*at most 20 fit in the 10 s deadline; lower n"):
        with q.slot(Ticket(cost=21, hint="lower n")):  # never fits, however idle: a 4xx, not a retry
            pass
    with q.slot(Ticket(cost=15)):
        with q.slot(Ticket(cost=15)):  # 30 of 40 admitted (two jobs, far below the count bound of 6)
            with pytest.raises(Busy, match="30 model windows of work admitted, 15 more do not fit") as busy:
                with q.slot(Ticket(cost=15)):
                    pass
            assert busy.value.retry_after == 2  # the 5 windows too many, on 2 workers at 0.5 s a window
            assert q.admitted == 2 and q.admitted_cost == 30
        with q.slot(Ticket(cost=15)):  # cost freed: the same request is admitted now
            assert q.admitted_cost == 30
    assert q.admitted == 0 and q.admitted_cost == 0


def test_a_stream_bar_with_a_cancelled_ticket_stops_at_its_next_step():
    q = WorkQueue()
    ticket = Ticket(cost=0.0)
    with q.ahead(ticket):
        assert q.checkpoint() is False  # a bar's steps never wait ...
        ticket.cancel.set()
        with pytest.raises(Cancelled):  # ... but stop once its stream has ended
            q.checkpoint()
    assert q.ahead_now == 0
    assert q.checkpoint() is False  # the ticket went with the bar
