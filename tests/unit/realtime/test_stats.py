"""TickStats: the locked summary and the lock-free ``recent`` view agree, and ``recent``
never reports a tick the writer may have been overwriting while it copied."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from moveo.realtime.stats import TickStats, format_stats, percentiles


def _record(stats, k, period=0.01):
    deadline = k * period
    stats.record(start=deadline + 0.001 * (k % 3), deadline=deadline, duration=0.002,
                 latency=0.004 + 0.001 * (k % 5), new_data=k % 2 == 0, period=period)


def test_recent_equals_summary_over_the_same_ticks():
    stats = TickStats(history=64)
    for k in range(50):
        _record(stats, k)
    full, recent = stats.summary(), stats.recent(64)
    assert recent["window"] == 50 and recent["ticks"] == 50
    for key in ("rate_hz", "new_data_fraction"):
        assert recent[key] == pytest.approx(full[key])
    for key in ("lateness_ms", "latency_ms", "duration_ms", "jitter_ms"):
        assert recent[key] == pytest.approx(full[key])
    assert recent["rate_hz"] == pytest.approx(100.0, rel=0.01)


def test_recent_covers_the_newest_n_ticks():
    stats = TickStats(history=16)
    for k in range(40):  # wraps the history twice
        _record(stats, k)
    r = stats.recent(5)
    assert r["window"] == 5 and r["ticks"] == 40
    lateness = np.array([0.001 * (k % 3) for k in range(35, 40)]) * 1e3
    assert r["lateness_ms"] == pytest.approx(percentiles(lateness))
    # asking for more than the history: everything kept except the slot the writer
    # would overwrite next
    assert stats.recent(1000)["window"] == 15
    assert math.isnan(TickStats().recent()["rate_hz"])


def test_recent_is_consistent_while_a_writer_records():
    stats = TickStats(history=128)
    stop = threading.Event()

    def writer():
        k = 0
        while not stop.is_set():
            _record(stats, k)
            k += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(300):
            r = stats.recent(128)
            # every summarised tick is a complete record: lateness and latency of the
            # synthetic ticks lie in known ranges, rate is exactly 100 Hz
            if r["window"] > 1:
                assert 0.0 <= r["lateness_ms"]["max"] <= 2.0 + 1e-9
                assert 4.0 - 1e-9 <= r["latency_ms"]["p50"] <= 8.0 + 1e-9
                assert r["rate_hz"] == pytest.approx(100.0, rel=0.01)
    finally:
        stop.set()
        t.join()


def test_format_stats_lists_the_figures():
    stats = TickStats()
    for k in range(3):
        _record(stats, k)
    text = format_stats(stats.summary())
    assert "latency_ms" in text and "ticks 3" in text
