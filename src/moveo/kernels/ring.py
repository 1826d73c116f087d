"""Ring-buffer copy-in / copy-out primitives.

These kernels move rows between a preallocated circular buffer of shape
``(capacity, n_channels)`` (plus a ``(capacity,)`` timestamp array) and plain
arrays. Sample number ``i`` (counted from the first sample ever written) lives in
row ``i % capacity``. The kernels know nothing about publication order or
concurrency: :class:`moveo.realtime.RingBuffer` above them decides which sample
range is safe to copy. Compiled with ``nogil`` (see :mod:`moveo._numba`), so the
acquisition and predict threads copy in parallel.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = ["ring_read", "ring_read_channels_first", "ring_write"]


@jit
def ring_write(buf, tbuf, data, timestamps, first):  # pragma: no cover - compiled
    """Copy ``data`` rows into the ring starting at sample number ``first``.

    Parameters
    ----------
    buf : ndarray of shape (capacity, n_channels)
        Ring storage.
    tbuf : ndarray of shape (capacity,)
        Ring timestamps.
    data : ndarray of shape (n, n_channels)
        New samples, ``n <= capacity``.
    timestamps : ndarray of shape (n,)
        Their timestamps.
    first : int
        Sample number of ``data[0]``.
    """
    cap = buf.shape[0]
    n = data.shape[0]
    n_ch = data.shape[1]
    pos = first % cap
    # two contiguous blocks: [pos, cap) then [0, rest)
    head = min(n, cap - pos)
    for i in range(head):
        r = pos + i
        for c in range(n_ch):
            buf[r, c] = data[i, c]
        tbuf[r] = timestamps[i]
    for i in range(head, n):
        r = i - head
        for c in range(n_ch):
            buf[r, c] = data[i, c]
        tbuf[r] = timestamps[i]


@jit
def ring_read(buf, tbuf, first, n, out, tout):  # pragma: no cover - compiled
    """Copy ``n`` samples starting at sample number ``first`` into ``out``.

    Parameters
    ----------
    buf : ndarray of shape (capacity, n_channels)
        Ring storage.
    tbuf : ndarray of shape (capacity,)
        Ring timestamps.
    first : int
        Sample number of the first sample to copy.
    n : int
        Number of samples, ``n <= capacity``.
    out : ndarray of shape (>= n, n_channels)
        Destination rows ``out[:n]``.
    tout : ndarray of shape (>= n,)
        Destination timestamps ``tout[:n]``.
    """
    cap = buf.shape[0]
    n_ch = buf.shape[1]
    pos = first % cap
    head = min(n, cap - pos)
    for i in range(head):
        r = pos + i
        for c in range(n_ch):
            out[i, c] = buf[r, c]
        tout[i] = tbuf[r]
    for i in range(head, n):
        r = i - head
        for c in range(n_ch):
            out[i, c] = buf[r, c]
        tout[i] = tbuf[r]


@jit
def ring_read_channels_first(buf, tbuf, first, n, out, tout):  # pragma: no cover - compiled
    """Copy ``n`` samples from sample number ``first`` into a channels-first array.

    Same as :func:`ring_read` but ``out`` has shape ``(n_channels, >= n)`` and
    receives ``out[c, i] = sample[first + i, c]`` (the layout the EMG feature
    kernels read fastest).

    Parameters
    ----------
    buf : ndarray of shape (capacity, n_channels)
        Ring storage.
    tbuf : ndarray of shape (capacity,)
        Ring timestamps.
    first : int
        Sample number of the first sample to copy.
    n : int
        Number of samples, ``n <= capacity``.
    out : ndarray of shape (n_channels, >= n)
        Destination columns ``out[:, :n]``.
    tout : ndarray of shape (>= n,)
        Destination timestamps ``tout[:n]``.
    """
    cap = buf.shape[0]
    n_ch = buf.shape[1]
    pos = first % cap
    head = min(n, cap - pos)
    for i in range(head):
        r = pos + i
        for c in range(n_ch):
            out[c, i] = buf[r, c]
        tout[i] = tbuf[r]
    for i in range(head, n):
        r = i - head
        for c in range(n_ch):
            out[c, i] = buf[r, c]
        tout[i] = tbuf[r]


@register_warmup
def _warmup() -> None:
    for dtype in (np.float32, np.float64):
        buf = np.zeros((4, 2), dtype=dtype)
        tbuf = np.zeros(4)
        data = np.ones((3, 2), dtype=dtype)
        ts = np.arange(3.0)
        ring_write(buf, tbuf, data, ts, 2)
        out = np.empty((3, 2), dtype=dtype)
        tout = np.empty(3)
        ring_read(buf, tbuf, 2, 3, out, tout)
        out_cf = np.empty((2, 3), dtype=dtype)
        ring_read_channels_first(buf, tbuf, 2, 3, out_cf, tout)
