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
