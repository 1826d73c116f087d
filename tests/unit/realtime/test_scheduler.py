"""Scheduler: absolute deadline grid, skipped ticks, no drift; DataTrigger."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from moveo.realtime._util import clock
from moveo.realtime.scheduler import DataTrigger, Scheduler


def test_ticks_on_the_grid_without_drift():
    s = Scheduler(200.0)
    ticks = [s.wait() for _ in range(60)]
    t0 = ticks[0].deadline
    idx = np.array([t.index for t in ticks])
    deadlines = np.array([t.deadline for t in ticks])
    np.testing.assert_allclose(deadlines, t0 + idx * 0.005, atol=1e-9)
    assert all(t.start >= t.deadline for t in ticks)
    # every grid slot is accounted for: run or skipped
    assert idx[-1] + 1 == s.ticks + s.skipped
    # over 0.3 s the last tick is at most one period late (generous on a shared machine)
    assert ticks[-1].start - (t0 + 59 * 0.005) < 0.3


def test_slow_callback_skips_ticks_and_stays_on_grid():
    period = 0.02
    s = Scheduler(1 / period)
    ticks = []
    for _ in range(15):
        t = s.wait()
        ticks.append(t)
        time.sleep(1.5 * period)  # longer than a period
    idx = np.array([t.index for t in ticks])
    deadlines = np.array([t.deadline for t in ticks])
    np.testing.assert_allclose(deadlines - deadlines[0], (idx - idx[0]) * period, atol=1e-9)
    assert np.all(np.diff(idx) >= 2)  # never a burst of late ticks
    assert s.skipped >= 14
    assert s.skipped == idx[-1] + 1 - s.ticks
    assert sum(t.skipped for t in ticks) == s.skipped


def test_uncapped_rate_returns_at_once():
    s = Scheduler(0)
    t = time.perf_counter()
    ticks = [s.wait() for _ in range(1000)]
    assert time.perf_counter() - t < 1.0
    assert [x.index for x in ticks[:3]] == [0, 1, 2]
    assert s.period == 0.0


def test_stop_event_interrupts_wait():
    s = Scheduler(0.5)  # 2 s period
    stop = threading.Event()
    assert s.wait(stop) is not None  # tick 0 is immediate
    threading.Timer(0.1, stop.set).start()
    t = clock()
    assert s.wait(stop) is None
    assert clock() - t < 1.5


def test_reset_restarts_grid():
    s = Scheduler(100.0)
    s.wait()
    s.wait()
    s.reset()
    assert s.wait().index == 0


def test_bad_rate():
    with pytest.raises(ValueError, match="rate_hz must be a number"):
        Scheduler(float("nan"))


def test_data_trigger_no_lost_wakeup():
    trig = DataTrigger()
    assert trig.wait(0.01) is False
    trig.notify()
    assert trig.wait(0.01) is True
    trig.clear()
    threading.Timer(0.05, trig.notify).start()
    assert trig.wait(2.0) is True
