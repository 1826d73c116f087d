"""RingBuffer: hand-worked cases, hypothesis vs the locked reference, real-thread stress."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo._numba import jit
from moveo.kernels.ring import (
    BAD_ARGS,
    CAPACITY,
    CHANNELS,
    COUNT,
    NOT_ENOUGH,
    RESERVED,
    TORN,
    ring_alloc,
    ring_latest,
    ring_latest_exact,
    ring_latest_exact_cf,
    ring_latest_exact_unchecked,
    ring_push,
    ring_push_unchecked,
    ring_read,
    ring_read_channels_first,
    ring_since,
    ring_views,
    ring_write,
)
from moveo.realtime.ring import RingBuffer
from reference.realtime import LockedRing, wait_until


def _block(first, n, n_ch=2):
    data = (np.arange(first, first + n, dtype=np.float32)[:, None] * 10
            + np.arange(n_ch, dtype=np.float32)[None, :])
    return data, np.arange(first, first + n, dtype=np.float64) / 100.0


# ------------------------------------------------------------------ hand-worked
def test_latest_and_since_hand_worked():
    rb = RingBuffer(4, 2)
    assert rb.count == 0
    w = rb.latest(3)
    assert w.data.shape == (0, 2)
    assert w.count == 0
    assert w.lost == 0
    rb.write(*_block(0, 3))
    w = rb.latest(2)
    np.testing.assert_array_equal(w.data, [[10, 11], [20, 21]])
    np.testing.assert_array_equal(w.timestamps, [0.01, 0.02])
    assert (w.count, w.lost, w.start) == (3, 0, 1)
    rb.write(*_block(3, 3))  # samples 0..5 written, capacity 4 keeps 2..5
    w = rb.since(0)
    assert w.lost == 2
    assert w.start == 2
    assert w.count == 6
    np.testing.assert_array_equal(w.data[:, 0], [20, 30, 40, 50])
    w = rb.since(4, max_samples=1)
    assert (w.start, w.count, w.lost) == (4, 5, 0)
    np.testing.assert_array_equal(w.data, [[40, 41]])
    w = rb.since(6)
    assert len(w) == 0
    assert w.count == 6
    assert w.lost == 0
    w = rb.latest(4, channels_first=True)
    np.testing.assert_array_equal(w.data, [[20, 30, 40, 50], [21, 31, 41, 51]])


def test_write_longer_than_capacity_keeps_newest():
    rb = RingBuffer(3, 2)
    rb.write(*_block(0, 7))
    assert rb.count == 7
    w = rb.latest(3)
    np.testing.assert_array_equal(w.timestamps, [0.04, 0.05, 0.06])
    w = rb.since(2)
    assert w.lost == 2
    assert w.start == 4


def test_out_buffers_are_reused_and_owned():
    rb = RingBuffer(16, 3)
    rb.write(*_block(0, 10, 3))
    out = np.empty((5, 3), np.float32)
    w = rb.latest(5, out=out)
    assert np.shares_memory(w.data, out)
    out_cf = np.empty((3, 8), np.float32)
    w = rb.latest(8, out=out_cf, channels_first=True)
    assert np.shares_memory(w.data, out_cf)
    assert w.data.shape == (3, 8)
    rb.write(*_block(10, 10, 3))  # the window we hold does not change
    np.testing.assert_array_equal(w.timestamps, np.arange(2, 10) / 100.0)
    w = rb.since(12, out=np.empty((4, 3), np.float32))
    assert (w.start, w.count) == (12, 16)


def test_dtype_conversion_on_write():
    rb = RingBuffer(4, 2)
    rb.write(np.array([[1, 2], [3, 4]], dtype=np.int64), [0, 1])
    np.testing.assert_array_equal(rb.latest(2).data, [[1, 2], [3, 4]])
    assert rb.latest(2).data.dtype == np.float32


def _unaligned(shape, dtype):
    """A C-contiguous array whose data pointer is not a multiple of its itemsize."""
    dtype = np.dtype(dtype)
    raw = np.zeros(int(np.prod(shape)) * dtype.itemsize + 1, np.uint8)
    arr = raw[1:].view(dtype).reshape(shape)
    assert not arr.flags.aligned
    return arr


def _layouts(arr):
    """The same values as C, Fortran, strided, reversed, read-only, unaligned and
    byte-swapped arrays.

    Plus the other float width and a nested list: everything ``write`` converts.
    """
    strided = np.zeros((*arr.shape[:-1], 2 * arr.shape[-1]), arr.dtype)[..., ::2]
    strided[:] = arr
    readonly = arr.copy()
    readonly.flags.writeable = False
    unaligned = _unaligned(arr.shape, arr.dtype)
    unaligned[:] = arr
    other = np.float64 if arr.dtype == np.float32 else np.float32
    return {
        "C": arr.copy(),
        "F": np.asfortranarray(arr),
        "strided": strided,
        "readonly": readonly,
        "unaligned": unaligned,
        "byte-swapped": arr.astype(arr.dtype.newbyteorder()),
        "reversed": arr[::-1].copy()[::-1],
        "other-float": arr.astype(other),
        "list": arr.tolist(),
    }


@pytest.mark.parametrize("layout", list(_layouts(np.zeros((1, 1), np.float32))))
def test_write_accepts_any_layout(layout):
    data, ts = _block(0, 5, 3)
    data[2, 1] = np.nan
    ts[1:] += 1e-9  # not a float32 value: timestamps must stay float64
    rb = RingBuffer(8, 3)
    rb.write(_layouts(data)[layout], _layouts(ts)[layout] if layout != "other-float" else ts)
    w = rb.latest(5)
    np.testing.assert_array_equal(w.data, data)
    np.testing.assert_array_equal(w.timestamps, ts)
    rb.write(data, _layouts(ts)[layout])
    np.testing.assert_array_equal(rb.latest(5).timestamps,
                                  ts.astype(np.float32) if layout == "other-float" else ts)


@pytest.mark.parametrize("channels_first", [False, True])
@pytest.mark.parametrize("layout", ["C", "F", "strided", "unaligned", "bigger"])
def test_latest_into_any_out_layout(layout, channels_first):
    data, ts = _block(0, 7, 3)
    rb = RingBuffer(8, 3)
    rb.write(data, ts)
    expected = data[2:].T if channels_first else data[2:]
    if layout == "bigger":
        out = np.full((3, 9) if channels_first else (9, 3), -1, np.float32)
    else:
        out = _layouts(np.zeros_like(expected))[layout]
    ts_out = np.zeros(9) if layout == "bigger" else _layouts(np.zeros(5))[layout]
    w = rb.latest(5, out=out, channels_first=channels_first, ts_out=ts_out)
    np.testing.assert_array_equal(w.data, expected)
    np.testing.assert_array_equal(w.timestamps, ts[2:])
    assert (w.count, w.lost) == (7, 0)
    assert np.shares_memory(w.data, out)
    assert np.shares_memory(w.timestamps, ts_out)
    np.testing.assert_array_equal(out[:, :5] if channels_first else out[:5], expected)
    np.testing.assert_array_equal(ts_out[:5], ts[2:])
    w = rb.since(3, out=out, channels_first=channels_first, ts_out=ts_out)
    np.testing.assert_array_equal(w.data, expected[:, 1:] if channels_first else expected[1:])
    np.testing.assert_array_equal(w.timestamps, ts[3:])


def test_fast_read_returns_the_callers_arrays():
    rb = RingBuffer(16, 3)
    rb.write(*_block(0, 10, 3))
    out, ts_out = np.empty((4, 3), np.float32), np.empty(4)
    w = rb.latest(4, out=out, ts_out=ts_out)
    assert w.data is out
    assert w.timestamps is ts_out
    assert (w.count, w.lost, w.start) == (10, 0, 6)
    np.testing.assert_array_equal(ts_out, np.arange(6, 10) / 100.0)
    w = rb.latest(np.int64(4), out=out)  # numpy integers take the same path
    assert w.data is out
    assert len(w) == 4
    w = rb.latest(2.0)  # a float count works as before (int(n))
    np.testing.assert_array_equal(w.timestamps, [0.08, 0.09])


class _LooksLikeAnArray:
    """Has the attributes the write fast path looks at, but is no numpy array."""

    dtype = np.dtype(np.float32)
    ndim = 2
    shape = (2, 2)


def test_write_fast_path_rejects_array_lookalikes():
    rb = RingBuffer(4, 2)
    with pytest.raises(TypeError, match="data must be a numeric array of shape"):
        rb.write(_LooksLikeAnArray(), np.zeros(2))
    with pytest.raises(TypeError, match="timestamps must be a numeric array"):
        rb.write(np.zeros((2, 2), np.float32), object())
    assert rb.count == 0
    rb.write(np.broadcast_to(np.float32([[1, 2]]), (3, 2)), np.arange(3.0))  # stride 0
    np.testing.assert_array_equal(rb.latest(3).data, [[1, 2]] * 3)


def test_byte_swapped_after_unaligned_is_converted():
    """numba types an unaligned and a byte-swapped float32 array alike (one fingerprint):
    once it saw the former, the latter must still not be copied as native floats."""
    data, ts = _block(0, 4)
    rb = RingBuffer(4, 2)
    rb.write(_layouts(data)["unaligned"], _layouts(ts)["unaligned"])
    rb.write(_layouts(data)["byte-swapped"], _layouts(ts)["byte-swapped"])
    w = rb.latest(4)
    np.testing.assert_array_equal(w.data, data)
    np.testing.assert_array_equal(w.timestamps, ts)
    out = _unaligned((4, 2), np.float32)
    rb.latest(4, out=out, ts_out=_unaligned((4,), np.float64))
    np.testing.assert_array_equal(out, data)
    with pytest.raises(TypeError, match="float32"):
        rb.latest(4, out=np.zeros((4, 2), ">f4"))
    with pytest.raises(TypeError, match="float64"):
        rb.latest(4, ts_out=np.zeros(4, ">f8"))


def test_unaligned_after_big_endian_still_reads():
    """numba types a big-endian and an unaligned array alike once it saw the former."""
    data, ts = _block(0, 4)
    rb = RingBuffer(4, 2)
    rb.write(data.astype(">f4"), ts)
    with pytest.raises(TypeError, match="float32"):
        rb.latest(2, out=np.zeros((2, 2), ">f4"))
    with pytest.raises(TypeError, match="float64"):
        rb.latest(2, ts_out=np.zeros(2, ">f8"))
    out = _unaligned((2, 2), np.float32)
    rb.write(_layouts(data)["unaligned"], ts)
    w = rb.latest(2, out=out)
    np.testing.assert_array_equal(out, data[2:])
    assert np.shares_memory(w.data, out)


def _readonly(shape, dtype):
    arr = np.zeros(shape, dtype)
    arr.flags.writeable = False
    return arr


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda rb: rb.write(np.zeros((2, 3), np.float32), np.zeros(2)), "3 channels"),
        (lambda rb: rb.write(np.zeros(4, np.float32), np.zeros(4)), r"shape \(n_samples, 2\)"),
        (lambda rb: rb.write(np.zeros((2, 2), np.float32), np.zeros(3)), "timestamps must"),
        (lambda rb: rb.latest(5), "capacity 4"),
        (lambda rb: rb.since(99), "count must be between 0"),
        (lambda rb: rb.since(-1), "count must be between 0"),
        (lambda rb: rb.latest(2, out=np.zeros((1, 2), np.float32)), r"out must have shape"),
        (lambda rb: rb.latest(2, out=np.zeros((2, 2), np.float64)), "float32"),
        (lambda rb: rb.since(0, max_samples=-1), "max_samples"),
        (lambda rb: rb.latest(-1), "between 0 and the capacity"),
        (lambda rb: rb.latest(None), "n must be an integer"),
        (lambda rb: rb.since(None), "count must be an integer"),
        (lambda rb: rb.latest(2, out=np.zeros((2, 2, 1), np.float32)), "2 dimension"),
        (lambda rb: rb.latest(3, out=np.zeros((2, 2), np.float32), channels_first=True),
         r"out must have shape \(2, >= 3\) for channels_first"),
        (lambda rb: rb.latest(2, out=_readonly((2, 2), np.float32)), "out must be writeable"),
        (lambda rb: rb.latest(2, ts_out=np.zeros(2, np.float32)), "ts_out must be a float64"),
        (lambda rb: rb.latest(2, ts_out=np.zeros(1)), r"ts_out must have shape \(>= 2,\)"),
        (lambda rb: rb.latest(2, ts_out=_readonly((2,), np.float64)), "ts_out must be writ"),
        (lambda rb: rb.since(0, ts_out=np.zeros((2, 1))), "ts_out must have 1 dimension"),
        (lambda rb: rb.latest(2, ts_out=np.zeros((2, 1))), "ts_out must have 1 dimension"),
        (lambda rb: rb.latest(2, ts_out=[0.0, 0.0]), "ts_out must be a float64"),
        (lambda rb: rb.latest(2, out=[[0.0, 0.0]] * 2), "out must be a float32"),
        (lambda rb: rb.write(np.zeros((2, 2), np.float32), np.zeros((2, 1))), "timestamps"),
        (lambda rb: rb.write(np.zeros((2, 2), np.float64), np.zeros(3)), "timestamps must"),
        (lambda rb: rb.write(np.zeros((2, 5), np.float64), np.zeros(2)), "5 channels"),
    ],
)
def test_bad_input_messages(call, match):
    rb = RingBuffer(4, 2)
    rb.write(*_block(0, 2))
    with pytest.raises((ValueError, TypeError), match=match):
        call(rb)


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_bad_capacity(bad):
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        RingBuffer(bad, 2)


# ------------------------------------------------------------------ kernels vs reference
@given(
    cap=st.integers(1, 9),
    n_ch=st.integers(1, 3),
    ops=st.lists(
        st.tuples(st.sampled_from(["write", "latest", "latest_out", "latest_cf", "since",
                                   "since_cf"]),
                  st.integers(0, 20), st.integers(0, 20)),
        max_size=25,
    ),
)
def test_matches_locked_reference(cap, n_ch, ops):
    rb = RingBuffer(cap, n_ch)
    ref = LockedRing(cap, n_ch)
    written = 0
    for op, a, b in ops:
        if op == "write":
            data, ts = _block(written, a, n_ch)
            if a:
                data[a // 2, 0] = np.nan  # NaN passes through untouched
            rb.write(data, ts)
            ref.write(data, ts)
            written += a
        elif op.startswith("latest"):
            n = min(a, cap)
            cf = op == "latest_cf"
            if op == "latest_out":  # the fast path: exact-size out and ts_out
                out, ts_out = np.full((n, n_ch), -1, np.float32), np.full(n, -1.0)
                w = rb.latest(n, out=out, ts_out=ts_out)
                assert np.shares_memory(w.data, out) or w.data.size == 0
            else:
                w = rb.latest(n, channels_first=cf)
            d, t, c = ref.latest(n)
            np.testing.assert_array_equal(w.data.T if cf else w.data, d)
            np.testing.assert_array_equal(w.timestamps, t)
            assert (w.count, w.lost) == (c, 0)
        else:
            count = min(a, written)
            cf = op == "since_cf"
            w = rb.since(count, max_samples=b, channels_first=cf)
            d, t, c, lost = ref.since(count, max_samples=b)
            np.testing.assert_array_equal(w.data.T if cf else w.data, d)
            np.testing.assert_array_equal(w.timestamps, t)
            assert (w.count, w.lost) == (c, lost)
        assert rb.count == ref.count


@given(cap=st.integers(1, 7), first=st.integers(0, 30), n=st.integers(0, 7))
def test_kernels_wrap_like_modulo(cap, first, n):
    n = min(n, cap)
    buf = np.zeros((cap, 2), np.float32)
    tbuf = np.zeros(cap)
    data, ts = _block(first, n)
    ring_write(buf, tbuf, data, ts, first)
    for i in range(n):
        np.testing.assert_array_equal(buf[(first + i) % cap], data[i])
    out = np.zeros((n, 2), np.float32)
    tout = np.zeros(n)
    ring_read(buf, tbuf, first, n, out, tout)
    np.testing.assert_array_equal(out, data)
    np.testing.assert_array_equal(tout, ts)
    out_cf = np.zeros((2, n), np.float32)
    ring_read_channels_first(buf, tbuf, first, n, out_cf, tout)
    np.testing.assert_array_equal(out_cf, data.T)


@given(
    cap=st.integers(1, 7),
    n_ch=st.integers(1, 4),
    first=st.integers(0, 30),
    n=st.integers(0, 7),
    step=st.sampled_from([1, 2]),
    fortran=st.booleans(),
)
def test_copy_paths_agree(cap, n_ch, first, n, step, fortran):
    """memcpy (contiguous rows) and element loops (any other layout) copy the same."""
    n = min(n, cap)
    data, ts = _block(first, n, n_ch)
    src = np.zeros((n, n_ch * step), np.float32)[:, ::step]
    src[:] = data
    tsrc = np.zeros(n * step)[::step]
    tsrc[:] = ts
    if fortran:
        src = np.asfortranarray(src)
    buf, tbuf = np.full((cap, n_ch), -1, np.float32), np.full(cap, -1.0)
    ring_write(buf, tbuf, src, tsrc, first)
    expected, texpected = np.full((cap, n_ch), -1, np.float32), np.full(cap, -1.0)
    for i in range(n):  # the obvious version
        expected[(first + i) % cap] = data[i]
        texpected[(first + i) % cap] = ts[i]
    np.testing.assert_array_equal(buf, expected)
    np.testing.assert_array_equal(tbuf, texpected)
    out = np.full((n, n_ch * step), -1, np.float32)[:, ::step]
    if fortran:
        out = np.asfortranarray(out)
    tout = np.full(n * step, -1.0)[::step]
    ring_read(buf, tbuf, first, n, out, tout)
    np.testing.assert_array_equal(out, data)
    np.testing.assert_array_equal(tout, ts)
    out_cf = np.full((n_ch, n * step), -1, np.float32)[:, ::step]
    ring_read_channels_first(buf, tbuf, first, n, out_cf, tout)
    np.testing.assert_array_equal(out_cf, data.T)


def test_push_publishes_counters_and_rejects_bad_shapes():
    mem = ring_alloc(4, 2)
    state, tbuf, buf = ring_views(mem)
    assert state[:4].tolist() == [0, 0, 4, 2]
    assert buf.shape == (4, 2)
    assert np.isnan(tbuf).all()
    assert ring_push(mem, *_block(0, 3)) == 0
    assert state[:2].tolist() == [3, 3]
    assert ring_push(mem, *_block(3, 6)) == 0  # longer than the ring
    assert state[:2].tolist() == [9, 9]
    np.testing.assert_array_equal(tbuf, [0.08, 0.05, 0.06, 0.07])  # row = sample % 4
    np.testing.assert_array_equal(buf[:, 0], [80, 50, 60, 70])
    assert ring_push(mem, np.zeros((2, 3), np.float32), np.zeros(2)) == -1
    assert ring_push(mem, np.zeros((2, 2), np.float32), np.zeros(3)) == -2
    assert ring_push(mem, np.zeros((0, 2), np.float32), np.zeros(0)) == 0
    assert state[:2].tolist() == [9, 9]  # rejected and empty writes publish nothing
    np.testing.assert_array_equal(tbuf, [0.08, 0.05, 0.06, 0.07])


def test_unchecked_push_is_ring_push_without_typing():
    push = ring_push_unchecked()
    assert push is ring_push_unchecked()
    for layout in ("C", "F", "strided", "reversed", "readonly", "unaligned"):
        mem, ref = ring_alloc(4, 3), ring_alloc(4, 3)
        data, ts = _block(0, 6, 3)
        assert push(mem, _layouts(data)[layout], _layouts(ts)[layout]) == 0
        assert ring_push(ref, data, ts) == 0
        np.testing.assert_array_equal(mem, ref)
    assert push(mem, np.zeros((2, 2), np.float32), np.zeros(2)) == -1
    assert push(mem, np.zeros((2, 3), np.float32), np.zeros(1)) == -2
    with pytest.raises(TypeError):
        push(mem, [[1.0, 2.0, 3.0]], np.zeros(1))


@pytest.mark.parametrize("channels_first", [False, True])
@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed", "unaligned"])
def test_unchecked_latest_is_the_exact_kernel_without_typing(layout, channels_first):
    latest = ring_latest_exact_unchecked(channels_first)
    assert latest is ring_latest_exact_unchecked(channels_first)
    mem = ring_alloc(8, 3)
    data, ts = _block(0, 11, 3)
    ring_push(mem, data, ts)
    expected = data[6:].T if channels_first else data[6:]
    out = _layouts(np.zeros_like(expected))[layout]
    tout = _layouts(np.zeros(5))[layout]
    assert latest(mem, 5, out, tout) == 11
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(tout, ts[6:])
    assert latest(mem, 4, out, tout) == BAD_ARGS  # not exactly n: nothing copied
    assert latest(mem, 9, np.zeros((9, 3), np.float32), np.zeros(9)) == BAD_ARGS
    with pytest.raises(TypeError):
        latest(mem, 5, None, tout)


def test_arena_layout_is_aligned_and_checked():
    for cap, n_ch in [(1, 1), (3, 5), (4096, 64)]:
        mem = ring_alloc(cap, n_ch)
        state, tbuf, buf = ring_views(mem)
        assert mem.ctypes.data % 64 == 0
        assert buf.ctypes.data % 64 == 0
        assert (state[CAPACITY], state[CHANNELS]) == (cap, n_ch)
        assert buf.shape == (cap, n_ch)
        assert tbuf.shape == (cap,)
        assert not np.shares_memory(buf, tbuf)
        assert not np.shares_memory(state, tbuf)
    # a byte array that is not an arena (too short for the shape in its header, or
    # no shape at all) is never written to or read from
    mem = ring_alloc(4, 2)
    short = mem[:-1].copy()
    for bad in (short, np.zeros(8, np.uint8), np.zeros(64, np.uint8)):
        before = bad.copy()
        assert ring_push(bad, *_block(0, 2)) == BAD_ARGS
        out, tout = np.zeros((2, 2), np.float32), np.zeros(2)
        assert ring_latest_exact(bad, 2, out, tout) == BAD_ARGS
        assert ring_latest_exact_cf(bad, 2, out, tout) == BAD_ARGS
        assert ring_latest(bad, 2, out, tout, False) == (-1, 0, 0)
        assert ring_since(bad, 0, 2, out, tout, False) == (-1, 0, 0)
        np.testing.assert_array_equal(bad, before)
        assert not out.any()


def test_exact_read_reports_why_it_did_not_copy():
    mem = ring_alloc(4, 2)
    out, tout = np.zeros((3, 2), np.float32), np.zeros(3)
    ring_push(mem, *_block(0, 2))
    assert ring_latest_exact(mem, 3, out, tout) == NOT_ENOUGH
    ring_push(mem, *_block(2, 3))  # samples 0..4 written
    assert ring_latest_exact(mem, 3, out, tout) == 5
    np.testing.assert_array_equal(out[:, 0], [20, 30, 40])
    np.testing.assert_array_equal(tout, [0.02, 0.03, 0.04])
    out_cf = np.zeros((2, 3), np.float32)
    assert ring_latest_exact_cf(mem, 3, out_cf, tout) == 5
    np.testing.assert_array_equal(out_cf, out.T)
    # shapes that are not exactly n samples go to the general kernel instead
    assert ring_latest_exact(mem, 2, out, tout) == BAD_ARGS
    assert ring_latest_exact(mem, 3, out, np.zeros(4)) == BAD_ARGS
    assert ring_latest_exact(mem, 3, out_cf, tout) == BAD_ARGS
    assert ring_latest_exact(mem, 5, np.zeros((5, 2), np.float32), np.zeros(5)) == (
        BAD_ARGS
    )  # more than the capacity
    assert ring_latest_exact(mem, -1, out[:0], tout[:0]) == BAD_ARGS
    assert ring_latest(mem, 3, np.zeros((3, 3), np.float32), tout, False) == (-1, 0, 0)
    assert ring_since(mem, 6, 2, out, tout, False) == (-1, 0, 0)  # ahead of the count
    assert ring_since(mem, -1, 2, out, tout, False) == (-1, 0, 0)


def test_arena_kernels_never_compile_at_call_time():
    """Other argument types raise TypeError at once (RingBuffer converts them)."""
    mem = ring_alloc(4, 2)
    data, ts = _block(0, 2)
    with pytest.raises(TypeError, match="No matching definition"):
        ring_push(mem, data.astype(np.float64), ts)
    with pytest.raises(TypeError, match="No matching definition"):
        ring_latest_exact(mem, 2, np.zeros((2, 2), np.float64), np.zeros(2))
    readonly = np.zeros((2, 2), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(TypeError, match="No matching definition"):
        ring_latest(mem, 2, readonly, np.zeros(2), False)
    for kernel in (ring_push, ring_latest_exact, ring_latest_exact_cf, ring_latest, ring_since):
        assert not kernel._can_compile


def test_write_in_progress_is_reported_as_lost():
    """A reservation ahead of the count (a write mid-copy) makes its rows unsafe.

    Capacity 4, samples 0..5 written, then the producer reserves samples 6 and 7:
    their rows hold samples 2 and 3, which may be half overwritten. A read of the
    newest 4 (samples 2..5) must drop 2 and 3 and say so; ``since(0)`` starts at 4.
    """
    rb = RingBuffer(4, 2)
    rb.write(*_block(0, 6))
    rb._state[RESERVED] = 8  # what ring_push stores before it copies samples 6, 7
    out = np.empty((4, 2), np.float32)
    w = rb.latest(4, out=out, ts_out=np.empty(4))  # the fast path falls back
    assert (w.start, w.count, w.lost) == (4, 6, 2)
    np.testing.assert_array_equal(w.data[:, 0], [40, 50])
    assert np.shares_memory(w.data, out)
    w = rb.latest(4)
    assert (w.start, w.count, w.lost) == (4, 6, 2)
    np.testing.assert_array_equal(w.data[:, 0], [40, 50])
    w = rb.latest(4, channels_first=True)
    np.testing.assert_array_equal(w.data, [[40, 50], [41, 51]])
    assert w.lost == 2
    w = rb.since(0)
    assert (w.start, w.count, w.lost) == (4, 6, 4)
    np.testing.assert_array_equal(w.timestamps, [0.04, 0.05])
    # the kernels report the same numbers directly
    out, tout = np.empty((4, 2), np.float32), np.empty(4)
    assert ring_latest(rb._mem, 4, out, tout, False) == (6, 4, 2)
    assert ring_latest_exact(rb._mem, 4, out, tout) == TORN
    assert ring_latest_exact_cf(rb._mem, 4, out.reshape(2, 4), tout) == TORN
    assert ring_since(rb._mem, 0, 4, out, tout, False) == (4, 6, 0)
    assert rb._state[COUNT] == 6


# ------------------------------------------------------------------ real threads
def _seq_block(first, n, n_ch):
    idx = np.arange(first, first + n)
    data = np.empty((n, n_ch), np.float32)
    data[:, 0] = idx % 1_000_000  # float32-exact pieces of the sample number
    data[:, 1:] = (idx // 1_000_000)[:, None]
    return data, idx.astype(np.float64)


def _check_contiguous(w, n_ch, channels_first=False):
    data = w.data.T if channels_first else w.data
    idx = np.arange(w.start, w.count)
    np.testing.assert_array_equal(w.timestamps, idx.astype(np.float64))
    np.testing.assert_array_equal(data[:, 0], (idx % 1_000_000).astype(np.float32))
    for c in range(1, n_ch):
        np.testing.assert_array_equal(data[:, c], (idx // 1_000_000).astype(np.float32))


def test_concurrent_producer_and_readers_never_torn():
    n_ch, cap, win = 4, 256, 200
    # compile (or load) the kernels first, as App does before its threads start: a
    # first call compiling under numba's compiler lock is not what this test measures
    # (with exactly the call forms the threads use: out= and channels_first select
    # their own compiled signatures)
    warm = RingBuffer(8, n_ch)
    warm.write(*_seq_block(0, 3, n_ch))
    warm.latest(2, channels_first=True)
    warm.latest(2, out=np.empty((n_ch, 2), np.float32), channels_first=True)
    warm.since(0, max_samples=2)
    rb = RingBuffer(cap, n_ch)
    stop = threading.Event()
    errors: list[BaseException] = []
    stats = {"latest": 0, "rows": 0, "since": 0, "lost": 0, "short": 0}

    def producer():
        first = 0
        blocks = [_seq_block(0, 7, n_ch)]
        try:
            while not stop.is_set():
                data, _ = blocks[0]
                idx = np.arange(first, first + 7)
                data[:, 0] = idx % 1_000_000
                data[:, 1:] = (idx // 1_000_000)[:, None]
                rb.write(data, idx.astype(np.float64))
                first += 7
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader_latest():
        out = np.empty((n_ch, win), np.float32)
        try:
            while not stop.is_set():
                w = rb.latest(win, out=out, channels_first=True)
                _check_contiguous(w, n_ch, channels_first=True)
                stats["latest"] += 1
                stats["short"] += len(w) < win and w.count >= win
        except BaseException as exc:
            errors.append(exc)

    def reader_latest_rows():  # the exact-size fast path, rows layout, own ts_out
        out, ts_out = np.empty((win, n_ch), np.float32), np.empty(win)
        try:
            while not stop.is_set():
                w = rb.latest(win, out=out, ts_out=ts_out)
                _check_contiguous(w, n_ch)
                stats["rows"] += 1
                stats["short"] += len(w) < win and w.count >= win
        except BaseException as exc:
            errors.append(exc)

    def reader_since():
        count = 0
        try:
            while not stop.is_set():
                w = rb.since(count, max_samples=64)
                _check_contiguous(w, n_ch)
                assert w.start == count + w.lost
                stats["lost"] += w.lost
                stats["since"] += 1
                count = w.count
                time.sleep(0.0005)  # slower than the producer: must see overwrites
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=f)
               for f in (producer, reader_latest, reader_latest_rows, reader_since)]
    for t in threads:
        t.start()
    # run until the producer has lapped the ring many times and both readers have
    # read often (correctness under overwrite is what is tested, not speed: on a
    # loaded machine this may take longer than the usual ~1 s)
    enough = wait_until(
        lambda: rb.count > 10 * cap and stats["latest"] > 10 and stats["rows"] > 10
        and stats["since"] > 10 and stats["lost"] > 0,
        timeout=30.0,
    )
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors[0]
    assert enough, (rb.count, stats)
    assert rb.count > 10 * cap
    assert stats["latest"] > 10
    assert stats["rows"] > 10
    assert stats["since"] > 10
    assert stats["lost"] > 0  # the slow reader was told about overwritten samples


_CACHE_SCRIPT = """
import numpy as np
from moveo.kernels.ring import (
    ring_latest, ring_latest_exact, ring_latest_exact_cf, ring_push, ring_since,
)
from moveo.realtime.ring import RingBuffer

rb = RingBuffer(16, 3)
data = np.arange(30, dtype=np.float32).reshape(10, 3)
rb.write(data, np.arange(10.0))
out = np.empty((4, 3), np.float32)
w = rb.latest(4, out=out)
assert w.data is out and (w.count, w.lost) == (10, 0), w
assert (out == data[6:]).all()
assert (rb.latest(4, channels_first=True).data == data[6:].T).all()
assert (rb.since(8).timestamps == [8.0, 9.0]).all()
try:
    ring_push(rb._mem, data.astype(np.float64), np.arange(10.0))
except TypeError:
    pass
else:
    raise AssertionError("compiled a new signature")
kernels = (ring_push, ring_latest_exact, ring_latest_exact_cf, ring_latest, ring_since)
print(sum(sum(k.stats.cache_hits.values()) for k in kernels),
      sum(sum(k.stats.cache_misses.values()) for k in kernels))
"""


def test_fixed_signatures_work_from_numba_cache(tmp_path):
    """The compile-then-disable scheme also holds when the kernels come from the cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "MOVEO_NUMBA_CACHE": "1"}
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env,
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr
        runs.append(tuple(int(x) for x in proc.stdout.split()))
    n_signatures = 8
    assert runs[0] == (0, n_signatures)  # compiled and saved ...
    assert runs[1] == (n_signatures, 0)  # ... then loaded, and it works the same


@jit
def _native_producer(mem, data, ts, n_writes):  # pragma: no cover - compiled
    """Sequence-numbered writes from compiled code: no GIL, truly parallel to readers."""
    chunk = data.shape[0]
    first = 0
    for _ in range(n_writes):
        for i in range(chunk):
            data[i, 0] = (first + i) % 1_000_000
            for c in range(1, data.shape[1]):
                data[i, c] = (first + i) // 1_000_000
            ts[i] = first + i
        if ring_push(mem, data, ts):
            return -1
        first += chunk
    return first


def test_concurrent_overwrite_during_copy_is_detected():
    """Windows one sample smaller than the ring, read while a GIL-free producer laps it.

    The producer runs compiled code without the GIL, so it overwrites rows while a
    reader copies them (a Python producer rarely can: it waits for the GIL the
    reader's copy just released). ``since`` makes one attempt, so such reads come
    back torn: the overwritten start dropped and counted in ``lost``, the rest
    contiguous and consistent (without the re-check, torn rows fail the consistency
    check). ``latest`` retries; whatever it returns satisfies ``len(w) + w.lost == n``.
    """
    n_ch, cap, win, chunk = 64, 128, 127, 16
    rb = RingBuffer(cap, n_ch)
    data, ts = np.empty((chunk, n_ch), np.float32), np.empty(chunk)
    _native_producer(rb._mem, data, ts, 1)  # compile before timing anything
    rb = RingBuffer(cap, n_ch)
    errors: list[BaseException] = []
    stats = {"latest": 0, "since": 0, "torn": 0, "written": 0}

    def producer():
        stats["written"] = _native_producer(rb._mem, data, ts, 400_000)

    def reader():
        out = np.empty((win, n_ch), np.float32)
        try:
            while not done.is_set():
                w = rb.latest(win, out=out)
                if w.count < win:
                    continue
                _check_contiguous(w, n_ch)
                assert len(w) + w.lost == win
                stats["latest"] += 1
                start = w.count - win
                w = rb.since(start, out=out)
                _check_contiguous(w, n_ch)
                assert w.start == start + w.lost
                stats["since"] += 1
                stats["torn"] += w.lost > 0
        except BaseException as exc:
            errors.append(exc)

    done = threading.Event()
    threads = [threading.Thread(target=reader), threading.Thread(target=producer)]
    for t in threads:
        t.start()
    threads[1].join(120)
    done.set()
    threads[0].join(10)
    assert not errors, errors[0]
    assert stats["written"] == 400_000 * chunk
    assert stats["latest"] > 10, stats
    assert stats["torn"] > 0, stats
