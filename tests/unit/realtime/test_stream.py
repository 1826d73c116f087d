"""Stream: acquisition thread, filters, disconnect/reconnect, errors never silent."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from moveo.realtime.sources import ReplaySource
from moveo.realtime.stream import Stream
from reference.realtime import GateSource, sequence_data, wait_until


def test_replay_into_ring_exactly():
    data = sequence_data(5000)
    src = ReplaySource(data, fs=1000.0, chunk=7, speed=math.inf)
    s = Stream("emg", src, window_ms=100, buffer_s=10.0)
    assert (s.n_channels, s.fs, s.window) == (3, 1000.0, 100)
    s.start()
    assert wait_until(lambda: s.status == "finished", 10)
    s.stop()
    assert s.status == "finished"
    assert s.ring.count == 5000
    w = s.ring.since(0)
    np.testing.assert_array_equal(w.data, data)
    assert s.counters["samples"] == 5000
    assert s.counters["chunks"] == math.ceil(5000 / 7)


def test_streaming_filter_equals_offline_filter():
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(0)
    data = rng.standard_normal((3000, 2)).astype(np.float32)
    sos = butter(4, [20, 200], btype="band", fs=1000.0, output="sos")
    s = Stream("emg", ReplaySource(data, fs=1000.0, chunk=13, speed=math.inf),
               filters=[sos], buffer_s=5.0)
    s.start()
    assert wait_until(lambda: s.status == "finished", 10)
    s.stop()
    expected = sosfilt(sos, data.astype(np.float64), axis=0)
    np.testing.assert_allclose(s.ring.since(0).data, expected, atol=2e-4)


def test_listener_called_after_each_write():
    calls = []
    s = Stream("emg", ReplaySource(sequence_data(100), fs=1000.0, chunk=10, speed=math.inf))
    s.add_listener(lambda: calls.append(s.ring.count))
    s.start()
    assert wait_until(lambda: s.status == "finished")
    s.stop()
    assert calls == list(range(10, 101, 10))


def test_silence_marks_disconnected_then_reconnects(gate_source):
    s = Stream("emg", gate_source, silence_s=0.2)
    s.start()
    assert wait_until(lambda: s.status == "connected")
    gate_source.gate.clear()
    assert wait_until(lambda: s.status == "disconnected", 3)
    assert s.counters["disconnects"] == 1
    gate_source.gate.set()
    assert wait_until(lambda: s.status == "connected", 3)
    assert s.counters["reconnects"] == 1
    s.stop()
    assert s.status == "stopped"


def test_source_errors_are_counted_not_fatal(gate_source):
    gate_source.fail_next = 3
    s = Stream("emg", gate_source)
    s.start()
    assert wait_until(lambda: s.ring.count > 100, 5)
    assert s.running
    s.stop()
    assert s.counters["errors"] == 3
    assert "device hiccup" in s.last_error


def test_worker_errors_reraise_with_env_switch(gate_source, monkeypatch):
    monkeypatch.setenv("MOVEO_RAISE_WORKER_ERRORS", "1")
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    gate_source.fail_next = 1
    s = Stream("emg", gate_source)
    s.start()
    assert wait_until(lambda: not s.running, 5)
    s.stop()
    assert len(seen) == 1
    assert isinstance(seen[0], OSError)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"window_ms": 0}, ValueError, "window_ms must be > 0"),
        ({"filters": [np.zeros((2, 5))]}, ValueError, r"filters\[0\] must be second-order"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Stream("emg", GateSource(n_channels=2), **kwargs)


def test_source_type_checked():
    with pytest.raises(TypeError, match="source must be a moveo.realtime Source"):
        Stream("emg", object())
