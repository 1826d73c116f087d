"""RingBuffer: hand-worked cases, hypothesis vs the locked reference, real-thread stress."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.ring import (
    COUNT,
    RESERVED,
    ring_latest,
    ring_push,
    ring_read,
    ring_read_channels_first,
    ring_since,
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
        st.tuples(st.sampled_from(["write", "latest", "since", "since_cf"]),
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
        elif op == "latest":
            n = min(a, cap)
            w = rb.latest(n)
            d, t, c = ref.latest(n)
            np.testing.assert_array_equal(w.data, d)
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


def test_push_publishes_counters_and_rejects_bad_shapes():
    buf = np.zeros((4, 2), np.float32)
    tbuf = np.zeros(4)
    state = np.zeros(2, np.int64)
    assert ring_push(buf, tbuf, state, *_block(0, 3)) == 0
    assert state.tolist() == [3, 3]
    assert ring_push(buf, tbuf, state, *_block(3, 6)) == 0  # longer than the ring
    assert state.tolist() == [9, 9]
    np.testing.assert_array_equal(tbuf, [0.08, 0.05, 0.06, 0.07])  # row = sample % 4
    assert ring_push(buf, tbuf, state, np.zeros((2, 3), np.float32), np.zeros(2)) == -1
    assert ring_push(buf, tbuf, state, np.zeros((2, 2), np.float32), np.zeros(3)) == -2
    assert ring_push(buf, tbuf, state, np.zeros((0, 2), np.float32), np.zeros(0)) == 0
    assert state.tolist() == [9, 9]  # rejected and empty writes publish nothing
    np.testing.assert_array_equal(tbuf, [0.08, 0.05, 0.06, 0.07])


def test_write_in_progress_is_reported_as_lost():
    """A reservation ahead of the count (a write mid-copy) makes its rows unsafe.

    Capacity 4, samples 0..5 written, then the producer reserves samples 6 and 7:
    their rows hold samples 2 and 3, which may be half overwritten. A read of the
    newest 4 (samples 2..5) must drop 2 and 3 and say so; ``since(0)`` starts at 4.
    """
    rb = RingBuffer(4, 2)
    rb.write(*_block(0, 6))
    rb._state[RESERVED] = 8  # what ring_push stores before it copies samples 6, 7
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
    assert ring_latest(rb._buf, rb._tbuf, rb._state, 4, out, tout, False) == (6, 4, 2)
    assert ring_since(rb._buf, rb._tbuf, rb._state, 0, 4, out, tout, False) == (4, 6, 0)
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


def test_concurrent_producer_two_readers_never_torn():
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
    stats = {"latest": 0, "since": 0, "lost": 0, "short": 0}

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

    threads = [threading.Thread(target=f) for f in (producer, reader_latest, reader_since)]
    for t in threads:
        t.start()
    # run until the producer has lapped the ring many times and both readers have
    # read often (correctness under overwrite is what is tested, not speed: on a
    # loaded machine this may take longer than the usual ~1 s)
    enough = wait_until(
        lambda: rb.count > 10 * cap and stats["latest"] > 10 and stats["since"] > 10
        and stats["lost"] > 0,
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
    assert stats["since"] > 10
    assert stats["lost"] > 0  # the slow reader was told about overwritten samples
