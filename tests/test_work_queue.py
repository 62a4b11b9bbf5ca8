"""The studio's bound on heavy work: at capacity a job is refused at once, a waiting job gives up after its
deadline, and slots come back when jobs end (also when they fail)."""

import threading
import time

import pytest

from divertimento.errors import Busy
from divertimento.studio.work_queue import WorkQueue


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
