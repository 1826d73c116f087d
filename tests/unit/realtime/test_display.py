"""GUI-side data models: the signal envelope, the prediction history, the rate meter.

The envelope, updated chunk by chunk as the GUI would, equals the min/max per column
recomputed from scratch over everything written; a display that falls behind the
ring counts what it lost and still shows a consistent window. The prediction
history keeps numeric outputs in time order and ignores the rest.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.realtime import RingBuffer
from moveo.realtime.display import PredictionHistory, RateMeter, SignalEnvelope
from reference.realtime import minmax_buckets_ref


def _expected(all_data, env):
    left_bucket = env._bucket_end - env.n_columns
    return minmax_buckets_ref(all_data, 0, env.spb, left_bucket, env.n_columns)


@given(
    chunks=st.lists(st.integers(1, 37), min_size=1, max_size=30),
    reads=st.lists(st.booleans(), min_size=30, max_size=30),
    columns=st.integers(1, 50),
    seconds=st.floats(0.05, 0.5),
)
def test_incremental_envelope_equals_recomputed(chunks, reads, columns, seconds):
    rng = np.random.default_rng(len(chunks))
    fs, n_ch = 1000.0, 3
    ring = RingBuffer(4096, n_ch)
    env = SignalEnvelope(fs, n_ch, seconds, columns)
    written = []
    n = 0
    for chunk, read in zip(chunks, reads, strict=False):
        data = rng.standard_normal((chunk, n_ch)).astype(np.float32)
        ring.write(data, (n + np.arange(chunk)) / fs)
        written.append(data)
        n += chunk
        if read:
            env.update(ring)
    env.update(ring)
    all_data = np.concatenate(written)
    lo, hi = _expected(all_data, env)
    np.testing.assert_array_equal(env.lo, lo)
    np.testing.assert_array_equal(env.hi, hi)
    assert env.next_sample == n
    assert env.lost == 0
    assert env.spb == max(1, math.ceil(seconds * fs / columns))
    assert env.n_columns <= columns
    left, right = env.times()
    assert left <= 0 <= right <= env.spb / fs
    assert right - left == pytest.approx(env.span_samples / fs)


def test_first_update_shows_only_the_newest_span():
    ring = RingBuffer(10_000, 1)
    data = np.arange(5000, dtype=np.float32)[:, None]
    ring.write(data, np.arange(5000) / 1000.0)
    env = SignalEnvelope(1000.0, 1, seconds=1.0, columns=100)  # 10 samples per column
    assert env.update(ring) == 1000
    assert env.lo[0, 0] == 4000 and env.hi[0, -1] == 4999
    assert env.update(ring) == 0  # nothing new


def test_display_that_falls_behind_jumps_to_the_newest_span():
    ring = RingBuffer(1000, 1)
    env = SignalEnvelope(1000.0, 1, seconds=0.05, columns=50)  # 50 one-sample columns
    ring.write(np.zeros((10, 1), np.float32), np.arange(10) / 1e3)
    env.update(ring)
    data = np.arange(10, 310, dtype=np.float32)[:, None]
    ring.write(data, np.arange(10, 310) / 1e3)
    assert env.update(ring) == 50  # not 300: only the newest 50 can be shown
    assert env.next_sample == 310 and env.lost == 0
    np.testing.assert_array_equal(env.lo[0], np.arange(260, 310, dtype=np.float32))


def test_ring_shorter_than_the_view_counts_lost_samples():
    ring = RingBuffer(40, 1)
    env = SignalEnvelope(1000.0, 1, seconds=0.05, columns=50)
    ring.write(np.arange(100, dtype=np.float32)[:, None], np.arange(100) / 1e3)
    env.update(ring)
    assert env.lost == 10  # wanted 50..99, the ring holds 60..99
    assert np.isnan(env.lo[0, :10]).all()
    np.testing.assert_array_equal(env.lo[0, 10:], np.arange(60, 100, dtype=np.float32))


def test_resize_rereads_and_gain_follows_amplitude():
    ring = RingBuffer(4000, 2)
    data = np.zeros((2000, 2), np.float32)
    data[1500, 1] = -4.0
    ring.write(data, np.arange(2000) / 1000.0)
    env = SignalEnvelope(1000.0, 2, seconds=1.0, columns=1000)
    env.update(ring)
    assert env.amplitude == 4.0
    assert env.auto_gain == pytest.approx(1 / 4.8)
    env.resize(10)
    assert env.spb == 100 and env.next_sample is None
    env.update(ring)
    assert env.lo[1].min() == -4.0
    img = env.raster(20, np.full((2, 4), 200, np.uint8))
    assert img.shape == (20, 10, 4)
    assert img[:10, :, 3].any() and img[10:, :, 3].any()  # both bands drawn


def test_envelope_rejects_bad_arguments():
    with pytest.raises(ValueError, match="fs must be a positive"):
        SignalEnvelope(0.0, 2)
    with pytest.raises(ValueError, match="seconds must be > 0"):
        SignalEnvelope(100.0, 2, seconds=-1)
    with pytest.raises(ValueError, match="columns must be >= 1"):
        SignalEnvelope(100.0, 2, columns=0)
    env = SignalEnvelope(100.0, 2)
    with pytest.raises(ValueError, match="the ring has 3 channels"):
        env.update(RingBuffer(100, 3))
    with pytest.raises(ValueError, match=r"colors must have shape \(2, 4\)"):
        env.raster(10, np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError, match="height must be >= 1"):
        env.raster(0, np.zeros((2, 4), np.uint8))


class _FakePipeline:
    """Just the three attributes PredictionHistory reads (a plain record, not a mock)."""

    def __init__(self):
        self.prediction_count = 0
        self.predictions = {}
        self.prediction_time = math.nan

    def publish(self, t, result):
        self.predictions = result
        self.prediction_time = t
        self.prediction_count += 1


def test_prediction_history_samples_new_predictions_only():
    p = _FakePipeline()
    h = PredictionHistory(seconds=10.0, capacity=8)
    assert not h.update(p)
    for i in range(20):
        p.publish(100.0 + i, {"class": i % 3, "proba": [0.1, 0.2, 0.7], "time": 5.0,
                              "label": "text", "value": np.float32(i)})
        assert h.update(p)
        assert not h.update(p)  # the same prediction is not appended twice
    times, series = h.window(now=120.0)
    assert set(series) == {"class", "proba", "value"}  # "time" and text are not plotted
    assert np.all(np.diff(times) > 0) and times[-1] == -1.0
    assert series["proba"].shape[1] == 3
    np.testing.assert_array_equal(series["value"][:, 0], 20.0 + times)  # value i at 100 + i
    times, _ = h.window(now=125.0)
    assert times.min() >= -10.0


def test_rate_meter():
    m = RateMeter(window_s=1.0)
    assert math.isnan(m.update(0, now=0.0))
    assert m.update(500, now=0.5) == 1000.0
    assert m.update(2500, now=1.5) == pytest.approx(2000.0)
    assert math.isnan(m.update(0, now=2.0))  # a restarted counter starts over
