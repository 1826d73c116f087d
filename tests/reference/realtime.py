"""Slow, obvious references for the realtime ring buffer.

``LockedRing`` keeps the same sample-numbering semantics as
:class:`moveo.realtime.RingBuffer` but takes a lock around every operation and
copies with plain Python/numpy slicing, so it is easy to believe. ``RollRing`` is
the classic "lock + np.roll" buffer used as a benchmark baseline.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from moveo.realtime.sources import Source, SyntheticSource


class LockedRing:
    """Reference ring buffer: a lock and per-sample Python copies."""

    def __init__(self, capacity: int, n_channels: int):
        self.capacity = capacity
        self.n_channels = n_channels
        self.buf = np.zeros((capacity, n_channels), dtype=np.float32)
        self.tbuf = np.full(capacity, np.nan)
        self.count = 0
        self.lock = threading.Lock()

    def write(self, data, timestamps):
        data = np.asarray(data, dtype=np.float32)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        with self.lock:
            for i in range(data.shape[0]):
                row = self.count % self.capacity
                self.buf[row] = data[i]
                self.tbuf[row] = timestamps[i]
                self.count += 1

    def latest(self, n):
        """Return (data (k, ch), timestamps (k,), count) for the newest k = min(n, count)."""
        with self.lock:
            k = min(n, self.count)
            rows = [(self.count - k + i) % self.capacity for i in range(k)]
            return self.buf[rows].copy(), self.tbuf[rows].copy(), self.count

    def since(self, count, max_samples=None):
        """Return (data, timestamps, new_count, lost) like ``RingBuffer.since``."""
        with self.lock:
            oldest = max(0, self.count - self.capacity)
            first = max(count, oldest)
            lost = first - count
            limit = self.capacity if max_samples is None else min(self.capacity, max_samples)
            stop = min(self.count, first + limit)
            rows = [i % self.capacity for i in range(first, stop)]
            return self.buf[rows].copy(), self.tbuf[rows].copy(), stop, lost


class CopyRing:
    """Benchmark baseline: a lock and two-slice numpy copies (a typical Python ring)."""

    def __init__(self, capacity: int, n_channels: int):
        self.capacity = capacity
        self.buf = np.zeros((capacity, n_channels), dtype=np.float32)
        self.tbuf = np.zeros(capacity)
        self.count = 0
        self.lock = threading.Lock()

    def write(self, data, timestamps):
        n = data.shape[0]
        with self.lock:
            pos = self.count % self.capacity
            head = min(n, self.capacity - pos)
            self.buf[pos : pos + head] = data[:head]
            self.tbuf[pos : pos + head] = timestamps[:head]
            if head < n:
                self.buf[: n - head] = data[head:]
                self.tbuf[: n - head] = timestamps[head:]
            self.count += n

    def latest(self, n):
        with self.lock:
            end = self.count % self.capacity
            start = end - n
            if start >= 0:
                return self.buf[start:end].copy(), self.tbuf[start:end].copy()
            return (
                np.concatenate((self.buf[start:], self.buf[:end])),
                np.concatenate((self.tbuf[start:], self.tbuf[:end])),
            )


class RollRing:
    """Benchmark baseline: a lock and ``np.roll`` on every write (newest samples last)."""

    def __init__(self, capacity: int, n_channels: int):
        self.buf = np.zeros((capacity, n_channels), dtype=np.float32)
        self.tbuf = np.zeros(capacity)
        self.lock = threading.Lock()

    def write(self, data, timestamps):
        n = data.shape[0]
        with self.lock:
            self.buf = np.roll(self.buf, -n, axis=0)
            self.tbuf = np.roll(self.tbuf, -n)
            self.buf[-n:] = data
            self.tbuf[-n:] = timestamps

    def latest(self, n):
        with self.lock:
            return self.buf[-n:].copy(), self.tbuf[-n:].copy()


# ---------------------------------------------------------------- test helpers
class GateSource(Source):
    """A paced synthetic source that can be silenced (``gate.clear()``) and resumed."""

    def __init__(self, **kwargs):
        self.inner = SyntheticSource(**kwargs)
        self.n_channels = self.inner.n_channels
        self.fs = self.inner.fs
        self.max_chunk = self.inner.max_chunk
        self.channel_names = self.inner.channel_names
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next = 0

    def open(self, timeout=None):
        self.inner.open()

    def read(self, out, out_ts, timeout):
        if self.fail_next:
            self.fail_next -= 1
            raise OSError("device hiccup")
        n = self.inner.read(out, out_ts, timeout)
        if not self.gate.is_set():
            return 0
        return n

    def close(self):
        self.inner.close()


def sequence_data(n: int, n_channels: int = 3) -> np.ndarray:
    """Samples whose channel 0 is the sample number (float32-exact below 2**24)."""
    data = np.empty((n, n_channels), np.float32)
    data[:, 0] = np.arange(n)
    data[:, 1:] = np.arange(1, n_channels)[None, :]
    return data


def wait_until(cond, timeout=5.0, step=0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


# ---------------------------------------------------------------- display (signal view)
def minmax_buckets_ref(data, first, spb, col0, n_cols):
    """Per-column nan-min / nan-max by slicing each column's samples out of ``data``."""
    n, n_ch = data.shape
    lo = np.full((n_ch, n_cols), np.nan, np.float32)
    hi = np.full((n_ch, n_cols), np.nan, np.float32)
    for j in range(n_cols):
        a = (col0 + j) * spb - first  # rows of data inside column j
        b = a + spb
        rows = data[max(a, 0):max(min(b, n), 0)]
        for c in range(n_ch):
            v = rows[:, c]
            v = v[~np.isnan(v)]
            if v.size:
                lo[c, j] = v.min()
                hi[c, j] = v.max()
    return lo, hi


def envelope_raster_ref(lo, hi, gain, colors, height):
    """Paint pixel by pixel: is row r inside channel c's (connected, clamped) run?"""
    n_ch, n_cols = lo.shape
    out = np.zeros((height, n_cols, 4), np.uint8)
    if n_ch == 0 or height == 0:
        return out
    band = height / n_ch
    for c in range(n_ch):
        r0 = min(int(np.floor(c * band)), height - 1)
        r1 = max(r0, min(int(np.floor((c + 1) * band)) - 1, height - 1))
        for j in range(n_cols):
            if np.isnan(lo[c, j]) or np.isnan(hi[c, j]):
                continue
            low, high = float(lo[c, j]), float(hi[c, j])
            if j > 0 and not (np.isnan(lo[c, j - 1]) or np.isnan(hi[c, j - 1])):
                low = min(low, float(hi[c, j - 1]))
                high = max(high, float(lo[c, j - 1]))
            centre, scale = (c + 0.5) * band, gain * band * 0.5
            top = int(np.clip(np.floor(centre - high * scale), r0, r1))
            bottom = int(np.clip(np.floor(centre - low * scale), r0, r1))
            for r in range(height):
                if top <= r <= bottom:
                    out[r, j] = colors[c]
    return out
