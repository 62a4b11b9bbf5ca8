"""Reading in workers that cannot hang a run: an item that runs forever or kills its worker is reported with its
reason, and the others are read."""

import os
import time

from divertimento.data.workers import bounded_map


def work(item):
    if item == "hang":
        time.sleep(3600)
    if item == "die":
        os._exit(9)  # what the kernel's out-of-memory killer or a crash in a C parser looks like
    if item == "hog":
        return len(bytearray(2**31))  # 2 GiB: past the worker's budget
    return item * 2


def test_hangs_deaths_and_memory_hogs_are_reported_and_the_rest_is_read():
    items = [1, "hang", 2, "die", 3, "hog", 4]
    t0 = time.monotonic()
    got = {repr(item): (status, value) for item, status, value in bounded_map(work, items, workers=2,
                                                                              time_limit=1.0,
                                                                              memory_bytes=2**30)}
    assert time.monotonic() - t0 < 30
    assert {k: v for k, v in got.items() if v[0] == "ok"} == {"1": ("ok", 2), "2": ("ok", 4), "3": ("ok", 6),
                                                              "4": ("ok", 8)}
    assert got["'hang'"] == ("error", "took longer than 1 s to read")
    assert got["'die'"] == ("error", "the worker died reading it (out of memory or a crash in a parser)")
    assert got["'hog'"] == ("error", "needed more than the worker's memory budget (1024 MiB)")
