"""Ring-buffer copy-in / copy-out primitives.

Sample number ``i`` (counted from the first sample ever written) lives in row
``i % capacity`` of a preallocated circular buffer of shape ``(capacity,
n_channels)`` plus a ``(capacity,)`` timestamp array.

Two layers:

:func:`ring_write`, :func:`ring_read`, :func:`ring_read_channels_first`
    Plain copies between a ring and ordinary arrays. They know nothing about
    publication order or concurrency.
:func:`ring_push`, :func:`ring_latest_exact` (and ``_cf``), :func:`ring_latest`,
:func:`ring_since`
    The whole producer write or reader read of :class:`moveo.realtime.RingBuffer`,
    copy *and* counter traffic, in one compiled call. They work on an *arena*: one
    uint8 array from :func:`ring_alloc` holding a 64-byte header (the counters and
    the shape), the timestamps and the samples. Passing one array instead of three
    matters: numba's per-call cost grows with every array argument, and a 10-sample
    write costs less than that overhead.

The two counters in the header, ``reserved`` and ``count``, are accessed with LLVM
atomic loads/stores plus fences (a seqlock):

- writer: ``reserved = end`` → release fence → copy rows → ``count = end`` (release
  store), so a reader that sees ``count`` sees the rows below it;
- reader: ``count`` (acquire load) → copy rows → acquire fence → ``reserved``, so
  the re-check of ``reserved`` happens after the copy, and any row numbered below
  ``reserved - capacity`` may have been overwritten while it was copied.

On x86-64 these orderings cost nothing at run time (plain moves); they exist so the
compiler (and weaker CPUs) cannot move the counter accesses across the copy.

Contiguous blocks of rows are moved with ``memcpy`` (what ``numpy.copyto`` uses for
contiguous arrays too); other layouts fall back to element loops.

The arena kernels are compiled for a fixed set of signatures by
:func:`compile_ring_kernels` (``RingBuffer`` calls it once), after which numba is
told not to compile new ones: a call with any other argument types raises
``TypeError`` at once instead of compiling a specialisation in the middle of a
realtime loop, and ``RingBuffer`` catches that to convert or explain its input.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from numba import carray
from numba.core import cgutils, types
from numba.extending import intrinsic

from moveo._numba import jit, register_warmup

__all__ = [
    "CAPACITY",
    "CHANNELS",
    "COUNT",
    "HEADER_BYTES",
    "RESERVED",
    "compile_ring_kernels",
    "ring_alloc",
    "ring_latest",
    "ring_latest_exact",
    "ring_latest_exact_cf",
    "ring_latest_exact_unchecked",
    "ring_push",
    "ring_push_unchecked",
    "ring_read",
    "ring_read_channels_first",
    "ring_since",
    "ring_views",
    "ring_write",
]

RESERVED = 0
"""Header slot of the producer's reservation (published before a copy)."""
COUNT = 1
"""Header slot of the count of complete samples (published after a copy)."""
CAPACITY = 2
"""Header slot of the capacity (rows), written once by :func:`ring_alloc`."""
CHANNELS = 3
"""Header slot of the number of channels, written once by :func:`ring_alloc`."""
HEADER_BYTES = 64
"""Bytes before the timestamps: eight int64 slots, one cache line."""
_ALIGN = 64  # the arena and its sample block start on cache-line boundaries

NOT_ENOUGH = -1
""":func:`ring_latest_exact`: fewer than ``n`` samples written so far."""
TORN = -2
""":func:`ring_latest_exact`: the window's start was overwritten on every attempt."""
BAD_ARGS = -3
""":func:`ring_latest_exact`: ``n`` or an output shape does not fit (nothing copied)."""

_LATEST_ATTEMPTS = 3  # copies tried before a read reports a torn window start


def _sample_offset(capacity: int) -> int:
    """Byte offset of the sample block: after the header and timestamps, aligned."""
    end_ts = HEADER_BYTES + 8 * capacity
    return -(-end_ts // _ALIGN) * _ALIGN


def ring_alloc(capacity: int, n_channels: int) -> np.ndarray:
    """Allocate a zeroed arena for the arena kernels.

    Parameters
    ----------
    capacity : int
        Rows kept, ``>= 1``.
    n_channels : int
        Channels per row, ``>= 1``.

    Returns
    -------
    ndarray of shape (nbytes,), uint8
        Header (counters at 0, the shape filled in), timestamps (NaN) and samples
        (0), starting on a 64-byte boundary.
    """
    nbytes = _sample_offset(capacity) + 4 * capacity * n_channels
    raw = np.zeros(nbytes + _ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % _ALIGN
    mem = raw[start : start + nbytes]
    state, tbuf, _ = ring_views(mem, capacity, n_channels)
    state[CAPACITY] = capacity
    state[CHANNELS] = n_channels
    tbuf[:] = np.nan
    return mem


def ring_views(
    mem: np.ndarray, capacity: int | None = None, n_channels: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numpy views of an arena's parts (for Python-side reads and tests).

    Parameters
    ----------
    mem : ndarray
        An arena from :func:`ring_alloc`.
    capacity, n_channels : int, optional
        The shape (read from the header when omitted).

    Returns
    -------
    state : ndarray of shape (8,), int64
        Header: ``state[RESERVED]``, ``state[COUNT]``, ``state[CAPACITY]``,
        ``state[CHANNELS]``.
    tbuf : ndarray of shape (capacity,), float64
        Timestamps.
    buf : ndarray of shape (capacity, n_channels), float32
        Samples.
    """
    state = mem[:HEADER_BYTES].view(np.int64)
    cap = int(state[CAPACITY]) if capacity is None else capacity
    n_ch = int(state[CHANNELS]) if n_channels is None else n_channels
    tbuf = mem[HEADER_BYTES : HEADER_BYTES + 8 * cap].view(np.float64)
    s0 = _sample_offset(cap)
    buf = mem[s0 : s0 + 4 * cap * n_ch].view(np.float32).reshape(cap, n_ch)
    return state, tbuf, buf


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


# ------------------------------------------------------------------ raw memory
@intrinsic
def _byte_pointer(typingctx, arr, offset):  # pragma: no cover - compiled
    """``arr``'s data pointer plus ``offset`` bytes, as a ``void*``."""
    if not isinstance(arr, types.Array) or not isinstance(offset, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        off = context.cast(builder, args[1], sig.args[1], types.intp)
        return builder.gep(builder.bitcast(ary.data, cgutils.voidptr_t), [off])

    return types.voidptr(arr, offset), codegen


@intrinsic
def _copy(typingctx, dst, dst_index, src, src_index, count):  # pragma: no cover - compiled
    """``memcpy`` of ``count`` items from flat index ``src_index`` of ``src`` on.

    Only for blocks that are contiguous in both arrays (the caller checks the
    strides); indices are in items, counted from the arrays' first elements.
    Makes no alignment assumption.
    """
    if not (
        isinstance(dst, types.Array)
        and isinstance(src, types.Array)
        and dst.dtype == src.dtype
        and all(isinstance(t, types.Integer) for t in (dst_index, src_index, count))
    ):
        return None

    def codegen(context, builder, sig, args):
        dty, dity, sty, sity, nty = sig.args
        d = context.make_array(dty)(context, builder, args[0])
        s = context.make_array(sty)(context, builder, args[2])
        di = context.cast(builder, args[1], dity, types.intp)
        si = context.cast(builder, args[3], sity, types.intp)
        n = context.cast(builder, args[4], nty, types.intp)
        itemsize = context.get_abi_sizeof(context.get_data_type(dty.dtype))
        cgutils.raw_memcpy(builder, builder.gep(d.data, [di]), builder.gep(s.data, [si]),
                           n, itemsize)
        return context.get_dummy_value()

    return types.void(dst, dst_index, src, src_index, count), codegen


@jit(inline="always")
def _rows_contiguous(a):  # pragma: no cover - compiled
    """Whether the rows of 2-D ``a`` follow each other without gaps."""
    return a.strides[1] == a.itemsize and (
        a.shape[0] <= 1 or a.strides[0] == a.itemsize * a.shape[1]
    )


@jit(inline="always")
def _arena(mem):  # pragma: no cover - compiled
    """``(state, tbuf, buf, ok)``: views of an arena; ``ok`` False if it is not one.

    Built from raw pointers (no reference counting), so they cost a few
    instructions instead of the ~100 ns of slicing and viewing ``mem``. When ``mem``
    is too small for the shape in its header, the views are empty and ``ok`` is
    False (the kernels then touch nothing).
    """
    ok = mem.shape[0] >= HEADER_BYTES
    state = carray(_byte_pointer(mem, 0), HEADER_BYTES // 8 if ok else 0, np.int64)
    cap = state[CAPACITY] if ok else 0
    n_ch = state[CHANNELS] if ok else 0
    s0 = -(-(HEADER_BYTES + 8 * cap) // _ALIGN) * _ALIGN
    if not ok or cap < 1 or n_ch < 1 or mem.shape[0] < s0 + 4 * cap * n_ch:
        ok = False
        cap = 0
        n_ch = 0
    tbuf = carray(_byte_pointer(mem, HEADER_BYTES if ok else 0), cap, np.float64)
    buf = carray(_byte_pointer(mem, s0 if ok else 0), (cap, n_ch), np.float32)
    return state, tbuf, buf, ok


# ------------------------------------------------------------------ plain copies
@jit(inline="always")
def _vector_contiguous(a):  # pragma: no cover - compiled
    return a.shape[0] <= 1 or a.strides[0] == a.itemsize


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
    # two contiguous blocks: ring rows [pos, pos + head) then [0, n - head)
    head = min(n, cap - pos)
    if _rows_contiguous(buf) and _rows_contiguous(data):
        _copy(buf, pos * n_ch, data, 0, head * n_ch)
        _copy(buf, 0, data, head * n_ch, (n - head) * n_ch)
    else:
        for i in range(n):
            r = pos + i if i < head else i - head
            for c in range(n_ch):
                buf[r, c] = data[i, c]
    if _vector_contiguous(tbuf) and _vector_contiguous(timestamps):
        _copy(tbuf, pos, timestamps, 0, head)
        _copy(tbuf, 0, timestamps, head, n - head)
    else:
        for i in range(n):
            tbuf[pos + i if i < head else i - head] = timestamps[i]


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
    if _rows_contiguous(buf) and _rows_contiguous(out):
        # out[:head] = buf[pos:pos + head]; out[head:n] = buf[:n - head]
        _copy(out, 0, buf, pos * n_ch, head * n_ch)
        _copy(out, head * n_ch, buf, 0, (n - head) * n_ch)
    else:
        for i in range(n):
            r = pos + i if i < head else i - head
            for c in range(n_ch):
                out[i, c] = buf[r, c]
    if _vector_contiguous(tbuf) and _vector_contiguous(tout):
        _copy(tout, 0, tbuf, pos, head)
        _copy(tout, head, tbuf, 0, n - head)
    else:
        for i in range(n):
            tout[i] = tbuf[pos + i if i < head else i - head]


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
    for i in range(n):
        r = pos + i if i < head else i - head
        for c in range(n_ch):
            out[c, i] = buf[r, c]
    if _vector_contiguous(tbuf) and _vector_contiguous(tout):
        _copy(tout, 0, tbuf, pos, head)
        _copy(tout, head, tbuf, 0, n - head)
    else:
        for i in range(n):
            tout[i] = tbuf[pos + i if i < head else i - head]


# ------------------------------------------------------------------ the protocol
@jit(nogil=False)
def ring_push(mem, data, timestamps):  # pragma: no cover - compiled
    """Append ``data`` to the arena's ring and publish it (a producer's whole write).

    Keeps the GIL on purpose: a write of a few rows takes far less time than
    releasing and re-taking it, and a producer that never gives the GIL away in
    the middle of a write cannot be delayed by a reader's Python code.

    Parameters
    ----------
    mem : ndarray of shape (nbytes,), uint8
        Arena from :func:`ring_alloc`; its counters are updated here.
    data : ndarray of shape (n, n_channels), float32
        New samples, any ``n``: only the newest ``capacity`` can survive, but all
        ``n`` are counted.
    timestamps : ndarray of shape (n,), float64
        Their timestamps.

    Returns
    -------
    int
        0 on success, -1 if ``data`` has the wrong number of channels, -2 if
        ``timestamps`` does not have one entry per row of ``data``, -3 if ``mem``
        is not an arena (nothing is written then).
    """
    state, tbuf, buf, ok = _arena(mem)
    if not ok:
        return BAD_ARGS
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


@jit(inline="always")
def _read_newest(state, tbuf, buf, n, out, tout, channels_first):  # pragma: no cover
    """Copy the newest ``min(n, count)`` samples; ``(end, k, torn)`` as in ring_latest."""
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


@jit(inline="always")
def _fits(buf, n, out, tout, channels_first):  # pragma: no cover - compiled
    """Whether ``n`` samples fit the ring and the outputs (``-1`` if not, else rows)."""
    if n < 0 or n > buf.shape[0] or tout.shape[0] < n:
        return -1
    rows = out.shape[1] if channels_first else out.shape[0]
    cols = out.shape[0] if channels_first else out.shape[1]
    if cols != buf.shape[1] or rows < n:
        return -1
    return rows


@jit(inline="always")
def _latest_exact(mem, n, out, tout, channels_first):  # pragma: no cover - compiled
    state, tbuf, buf, ok = _arena(mem)
    if not ok or _fits(buf, n, out, tout, channels_first) != n or tout.shape[0] != n:
        return BAD_ARGS
    if _load_acquire(state, COUNT) < n:
        return NOT_ENOUGH
    end, k, torn = _read_newest(state, tbuf, buf, n, out, tout, channels_first)
    return end if torn == 0 else TORN


@jit
def ring_latest_exact(mem, n, out, tout):  # pragma: no cover - compiled
    """Copy out exactly the newest ``n`` samples, or say why not (the fast read).

    Parameters
    ----------
    mem : ndarray of shape (nbytes,), uint8
        Arena from :func:`ring_alloc`; only read.
    n : int
        Samples wanted.
    out : ndarray of shape (n, n_channels), float32
        Destination, exactly ``n`` rows.
    tout : ndarray of shape (n,), float64
        Destination timestamps.

    Returns
    -------
    int
        The count at the window's end (``>= n``) when all ``n`` samples were
        copied untorn; otherwise :data:`NOT_ENOUGH` (fewer written so far),
        :data:`TORN` (the window's start was overwritten during every attempt)
        or :data:`BAD_ARGS` (``n`` or a shape does not fit; nothing copied).
        :func:`ring_latest` handles every case.
    """
    return _latest_exact(mem, n, out, tout, False)


@jit
def ring_latest_exact_cf(mem, n, out, tout):  # pragma: no cover - compiled
    """:func:`ring_latest_exact` into a channels-first ``out`` of shape (n_channels, n).

    (A separate kernel rather than a flag: a bool argument costs numba ~60 ns per
    call to type, a fifth of the whole call.)

    Parameters
    ----------
    mem : ndarray of shape (nbytes,), uint8
        Arena from :func:`ring_alloc`; only read.
    n : int
        Samples wanted.
    out : ndarray of shape (n_channels, n), float32
        Destination, exactly ``n`` columns.
    tout : ndarray of shape (n,), float64
        Destination timestamps.

    Returns
    -------
    int
        As :func:`ring_latest_exact`.
    """
    return _latest_exact(mem, n, out, tout, True)


@jit
def ring_latest(mem, n, out, tout, channels_first):  # pragma: no cover - compiled
    """Copy out the newest ``n`` samples with the torn-read check.

    Parameters
    ----------
    mem : ndarray of shape (nbytes,), uint8
        Arena from :func:`ring_alloc`; only read.
    n : int
        Samples wanted, ``0 <= n <= capacity``.
    out : ndarray of shape (>= n, n_channels) or (n_channels, >= n), float32
        Destination (channels-first when ``channels_first``).
    tout : ndarray of shape (>= n,), float64
        Destination timestamps.
    channels_first : bool
        Layout of ``out``.

    Returns
    -------
    end : int
        Count at the window's end (one past its newest sample); -1 if ``n`` or a
        shape does not fit (nothing copied).
    k : int
        Samples copied, ``min(n, end)``, into ``out[:k]`` / ``out[:, :k]``.
    torn : int
        Leading copied samples that were overwritten during the copy on every one
        of the attempts (0 almost always); rows ``[torn, k)`` are valid.
    """
    state, tbuf, buf, ok = _arena(mem)
    if not ok or _fits(buf, n, out, tout, channels_first) < 0:
        return -1, 0, 0
    return _read_newest(state, tbuf, buf, n, out, tout, channels_first)


@jit
def ring_since(mem, count, limit, out, tout, channels_first):  # pragma: no cover - compiled
    """Copy out up to ``limit`` samples from sample number ``count`` on.

    Parameters
    ----------
    mem : ndarray of shape (nbytes,), uint8
        Arena from :func:`ring_alloc`; only read.
    count : int
        First sample number wanted, ``0 <= count <=`` the published count.
    limit : int
        Maximum samples to copy, ``0 <= limit <= capacity``; ``out`` and ``tout``
        hold at least that many.
    out : ndarray of shape (>= limit, n_channels) or (n_channels, >= limit), float32
        Destination (channels-first when ``channels_first``).
    tout : ndarray of shape (>= limit,), float64
        Destination timestamps.
    channels_first : bool
        Layout of ``out``.

    Returns
    -------
    first : int
        Sample number copied to ``out[0]`` (``> count`` when older samples were
        already overwritten); -1 if ``count``, ``limit`` or a shape does not fit
        (nothing copied).
    stop : int
        One past the last sample copied; ``stop - first`` rows were copied.
    torn : int
        Leading copied rows overwritten during the copy; rows ``[torn, stop -
        first)`` are valid.
    """
    state, tbuf, buf, ok = _arena(mem)
    if not ok or count < 0 or _fits(buf, limit, out, tout, channels_first) < 0:
        return -1, 0, 0
    cap = buf.shape[0]
    end = _load_acquire(state, COUNT)
    if count > end:
        return -1, 0, 0
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


# ------------------------------------------------------------------ fixed signatures
def _array(dtype, ndim, layout, *, readonly=False, aligned=True):
    return types.Array(dtype, ndim, layout, readonly=readonly, aligned=aligned)


_MEM = _array(types.uint8, 1, "C")
# exactly what RingBuffer's fast paths pass (fresh or caller-owned C arrays) ...
_F32_C = _array(types.float32, 2, "C")
_F64_C = _array(types.float64, 1, "C")
# ... and one signature that any array of the right dtype and dimension converts to
_F32_ANY_RO = _array(types.float32, 2, "A", readonly=True, aligned=False)
_F64_ANY_RO = _array(types.float64, 1, "A", readonly=True, aligned=False)
_F32_ANY = _array(types.float32, 2, "A", aligned=False)
_F64_ANY = _array(types.float64, 1, "A", aligned=False)
_SIGNATURES = {
    ring_push: [(_MEM, _F32_C, _F64_C), (_MEM, _F32_ANY_RO, _F64_ANY_RO)],
    ring_latest_exact: [(_MEM, types.int64, _F32_C, _F64_C),
                        (_MEM, types.int64, _F32_ANY, _F64_ANY)],
    ring_latest_exact_cf: [(_MEM, types.int64, _F32_C, _F64_C),
                           (_MEM, types.int64, _F32_ANY, _F64_ANY)],
    ring_latest: [(_MEM, types.int64, _F32_ANY, _F64_ANY, types.boolean)],
    ring_since: [(_MEM, types.int64, types.int64, _F32_ANY, _F64_ANY, types.boolean)],
}
# the kernels whose last signature (any layout) is also handed out unchecked, below
_UNCHECKED_KERNELS = (ring_push, ring_latest_exact, ring_latest_exact_cf)
_COMPILE_LOCK = threading.Lock()
# compiled entry points of the "any layout" signatures, once compile_ring_kernels ran
_UNCHECKED: dict[str, Callable[..., int]] = {}


def compile_ring_kernels() -> None:
    """Compile (or load from numba's cache) the arena kernels' signatures, once.

    Afterwards the arena kernels accept only those signatures (arguments
    that convert to them included) and raise ``TypeError`` for anything else
    instead of compiling: a realtime thread never waits for the compiler.
    """
    if _UNCHECKED:
        return
    with _COMPILE_LOCK:
        if _UNCHECKED:
            return
        entries = {}
        for kernel, signatures in _SIGNATURES.items():
            for sig in signatures:
                entry = kernel.compile(sig)  # numba returns the compiled entry point
                if sig is signatures[-1] and kernel in _UNCHECKED_KERNELS:
                    entries[kernel.__name__] = entry
            kernel.disable_compile()
        _UNCHECKED.update(entries)


# Numba's dispatcher spends ~150 ns per call working out the argument types, about
# half of a 10-sample write and most of a read's per-call cost. The two functions
# below return compiled entry points that skip that step: they read whatever they
# are given *as* the types of their "any layout" signature, so their callers check
# what those types need (RingBuffer does, in a few attribute reads).


def ring_push_unchecked() -> Callable[[np.ndarray, np.ndarray, np.ndarray], int]:
    """:func:`ring_push` without numba's argument typing, for the producer's hot path.

    Returns
    -------
    callable
        ``push(mem, data, timestamps) -> int``, as :func:`ring_push`. The caller
        must guarantee that ``mem`` is an arena, ``data`` a numpy array with dtype
        float32 (native byte order) and 2 dimensions, ``timestamps`` float64 with 1
        dimension (any strides, read-only or unaligned are fine); anything else is
        undefined behaviour (wrong values or a crash). Objects that are not numpy
        arrays raise ``TypeError``.
    """
    compile_ring_kernels()
    return _UNCHECKED["ring_push"]


def ring_latest_exact_unchecked(
    channels_first: bool = False,
) -> Callable[[np.ndarray, int, np.ndarray, np.ndarray], int]:
    """:func:`ring_latest_exact` (or ``_cf``) without numba's argument typing.

    Parameters
    ----------
    channels_first : bool, default False
        Return the channels-first kernel's entry point.

    Returns
    -------
    callable
        ``latest(mem, n, out, tout) -> int``, as :func:`ring_latest_exact`. The
        caller must guarantee that ``mem`` is an arena, ``out`` a *writeable* numpy
        array with dtype float32 (native byte order) and 2 dimensions, ``tout`` a
        writeable float64 array with 1 dimension (any strides); anything else is
        undefined behaviour (it may write into read-only memory, or crash).
    """
    compile_ring_kernels()
    return _UNCHECKED["ring_latest_exact_cf" if channels_first else "ring_latest_exact"]


@register_warmup
def _warmup() -> None:
    # the arena kernels RingBuffer runs, at their fixed signatures (ring_write,
    # ring_read and ring_read_channels_first are compiled into them; called on
    # their own they compile on their first call)
    compile_ring_kernels()
