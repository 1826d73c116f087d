"""Ring-buffer copy-in / copy-out primitives.

These kernels move rows between a preallocated circular buffer of shape
``(capacity, n_channels)`` (plus a ``(capacity,)`` timestamp array) and plain
arrays. Sample number ``i`` (counted from the first sample ever written) lives in
row ``i % capacity``. The kernels know nothing about publication order or
concurrency: :class:`moveo.realtime.RingBuffer` above them decides which sample
range is safe to copy. Compiled with ``nogil`` (see :mod:`moveo._numba`), so the
acquisition and predict threads copy in parallel.

The fused kernels (:func:`ring_push`, :func:`ring_latest`, :func:`ring_since`) also
carry the publication protocol of :class:`moveo.realtime.RingBuffer`, so one
compiled call per write or read does the copy *and* the counter traffic. The two
counters live in an int64 ``state`` array ``[reserved, count]`` and are accessed
with LLVM atomic loads/stores plus fences (a seqlock):

- writer: ``reserved = end`` → release fence → copy rows → ``count = end`` (release
  store), so a reader that sees ``count`` sees the rows below it;
- reader: ``count`` (acquire load) → copy rows → acquire fence → ``reserved``, so
  the re-check of ``reserved`` happens after the copy, and any row numbered below
  ``reserved - capacity`` may have been overwritten while it was copied.

On x86-64 these orderings cost nothing at run time (plain moves); they exist so the
compiler (and weaker CPUs) cannot move the counter accesses across the copy.
"""

from __future__ import annotations

import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from moveo._numba import jit, register_warmup

__all__ = [
    "RESERVED",
    "COUNT",
    "ring_latest",
    "ring_push",
    "ring_read",
    "ring_read_channels_first",
    "ring_since",
    "ring_write",
]

RESERVED = 0
"""Index in ``state`` of the producer's reservation (published before a copy)."""
COUNT = 1
"""Index in ``state`` of the count of complete samples (published after a copy)."""


# ------------------------------------------------------------------ ordering primitives
def _state_pointer(context, builder, sig, args):
    aryty, idxty = sig.args[0], sig.args[1]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = context.cast(builder, args[1], idxty, types.intp)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx])


@intrinsic
def _load_acquire(typingctx, state, idx):  # pragma: no cover - compiled
    """``state[idx]`` as an atomic load with acquire ordering (int64 array)."""

    def codegen(context, builder, sig, args):
        return builder.load_atomic(_state_pointer(context, builder, sig, args), "acquire", 8)

    return types.int64(state, idx), codegen


@intrinsic
def _load_relaxed(typingctx, state, idx):  # pragma: no cover - compiled
    """``state[idx]`` as an atomic (monotonic) load: never torn, never cached."""

    def codegen(context, builder, sig, args):
        return builder.load_atomic(_state_pointer(context, builder, sig, args), "monotonic", 8)

    return types.int64(state, idx), codegen


@intrinsic
def _store_release(typingctx, state, idx, value):  # pragma: no cover - compiled
    """``state[idx] = value`` as an atomic store with release ordering."""

    def codegen(context, builder, sig, args):
        ptr = _state_pointer(context, builder, sig, args[:2])
        val = context.cast(builder, args[2], sig.args[2], types.int64)
        builder.store_atomic(val, ptr, "release", 8)
        return context.get_dummy_value()

    return types.void(state, idx, value), codegen


@intrinsic
def _store_relaxed(typingctx, state, idx, value):  # pragma: no cover - compiled
    """``state[idx] = value`` as an atomic (monotonic) store."""

    def codegen(context, builder, sig, args):
        ptr = _state_pointer(context, builder, sig, args[:2])
        val = context.cast(builder, args[2], sig.args[2], types.int64)
        builder.store_atomic(val, ptr, "monotonic", 8)
        return context.get_dummy_value()

    return types.void(state, idx, value), codegen


@intrinsic
def _fence_release(typingctx):  # pragma: no cover - compiled
    """Earlier loads and stores complete before later stores."""

    def codegen(context, builder, sig, args):
        builder.fence("release")
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def _fence_acquire(typingctx):  # pragma: no cover - compiled
    """Earlier loads complete before later loads and stores."""

    def codegen(context, builder, sig, args):
        builder.fence("acquire")
        return context.get_dummy_value()

    return types.void(), codegen


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


_LATEST_ATTEMPTS = 3  # copies tried before ring_latest reports a torn window start


@jit(nogil=False)
def ring_push(buf, tbuf, state, data, timestamps):  # pragma: no cover - compiled
    """Append ``data`` to the ring and publish it (the producer's whole write).

    Keeps the GIL on purpose: a write of a few rows takes far less time than
    releasing and re-taking it, and a producer that never gives the GIL away in
    the middle of a write cannot be delayed by a reader's Python code.

    Parameters
    ----------
    buf : ndarray of shape (capacity, n_channels)
        Ring storage.
    tbuf : ndarray of shape (capacity,)
        Ring timestamps.
    state : ndarray of shape (2,), int64
        ``[reserved, count]`` (see the module docstring); updated here.
    data : ndarray of shape (n, n_channels)
        New samples, any ``n``: only the newest ``capacity`` can survive, but all
        ``n`` are counted.
    timestamps : ndarray of shape (n,)
        Their timestamps.

    Returns
    -------
    int
        0 on success, -1 if ``data`` has the wrong number of channels, -2 if
        ``timestamps`` does not have one entry per row of ``data`` (nothing is
        written then).
    """
    cap = buf.shape[0]
    n = data.shape[0]
    if data.shape[1] != buf.shape[1]:
        return -1
    if timestamps.shape[0] != n:
        return -2
    if n == 0:
        return 0
    first = _load_relaxed(state, COUNT)  # only this thread writes it
    skip = n - cap if n > cap else 0
    end = first + n
    _store_relaxed(state, RESERVED, end)  # rows of samples < end - cap are being replaced
    _fence_release()  # ... and readers must see that before any replaced row
    ring_write(buf, tbuf, data[skip:], timestamps[skip:], first + skip)
    _store_release(state, COUNT, end)  # samples < end are complete
    return 0


@jit
def ring_latest(buf, tbuf, state, n, out, tout, channels_first):  # pragma: no cover - compiled
    """Copy out the newest ``n`` samples with the torn-read check.

    Parameters
    ----------
    buf : ndarray of shape (capacity, n_channels)
        Ring storage.
    tbuf : ndarray of shape (capacity,)
        Ring timestamps.
    state : ndarray of shape (2,), int64
        ``[reserved, count]``; only read.
    n : int
        Samples wanted, ``0 <= n <= capacity``.
    out : ndarray of shape (>= n, n_channels) or (n_channels, >= n)
        Destination (channels-first when ``channels_first``).
    tout : ndarray of shape (>= n,)
        Destination timestamps.
    channels_first : bool
        Layout of ``out``.

    Returns
    -------
    end : int
        Count at the window's end (one past its newest sample).
    k : int
        Samples copied, ``min(n, end)``, into ``out[:k]`` / ``out[:, :k]``.
    torn : int
        Leading copied samples that were overwritten during the copy on every one
        of the attempts (0 almost always); rows ``[torn, k)`` are valid.
    """
    cap = buf.shape[0]
    end = 0
    k = 0
    torn = 0
    for _ in range(_LATEST_ATTEMPTS):
        end = _load_acquire(state, COUNT)
        k = min(n, end)
        first = end - k
        if channels_first:
            ring_read_channels_first(buf, tbuf, first, k, out, tout)
        else:
            ring_read(buf, tbuf, first, k, out, tout)
        _fence_acquire()  # the copy's loads happen before the re-check
        torn = _load_relaxed(state, RESERVED) - cap - first
        if torn <= 0:
            return end, k, 0
    return end, k, min(torn, k)


@jit
def ring_since(buf, tbuf, state, count, limit, out, tout, channels_first):  # pragma: no cover
    """Copy out up to ``limit`` samples from sample number ``count`` on.

    Parameters
    ----------
    buf : ndarray of shape (capacity, n_channels)
        Ring storage.
    tbuf : ndarray of shape (capacity,)
        Ring timestamps.
    state : ndarray of shape (2,), int64
        ``[reserved, count]``; only read.
    count : int
        First sample number wanted, ``0 <= count <=`` the published count.
    limit : int
        Maximum samples to copy; ``out`` and ``tout`` hold at least that many.
    out : ndarray of shape (>= limit, n_channels) or (n_channels, >= limit)
        Destination (channels-first when ``channels_first``).
    tout : ndarray of shape (>= limit,)
        Destination timestamps.
    channels_first : bool
        Layout of ``out``.

    Returns
    -------
    first : int
        Sample number copied to ``out[0]`` (``> count`` when older samples were
        already overwritten).
    stop : int
        One past the last sample copied; ``stop - first`` rows were copied.
    torn : int
        Leading copied rows overwritten during the copy; rows ``[torn, stop -
        first)`` are valid.
    """
    cap = buf.shape[0]
    end = _load_acquire(state, COUNT)
    first = max(count, _load_relaxed(state, RESERVED) - cap)
    stop = min(end, first + limit)
    first = min(first, stop)
    n = stop - first
    if channels_first:
        ring_read_channels_first(buf, tbuf, first, n, out, tout)
    else:
        ring_read(buf, tbuf, first, n, out, tout)
    _fence_acquire()
    torn = min(n, max(0, _load_relaxed(state, RESERVED) - cap - first))
    return first, stop, torn


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
    # the RingBuffer's own calls: float32 rows, float64 timestamps, int64 state
    buf = np.zeros((4, 2), dtype=np.float32)
    tbuf = np.zeros(4)
    state = np.zeros(2, dtype=np.int64)
    ring_push(buf, tbuf, state, np.ones((3, 2), dtype=np.float32), np.arange(3.0))
    for out in (np.empty((3, 2), dtype=np.float32), np.empty((2, 3), dtype=np.float32)):
        cf = out.shape[0] == 2
        ring_latest(buf, tbuf, state, 3, out, np.empty(3), cf)
        ring_since(buf, tbuf, state, 0, 3, out, np.empty(3), cf)
