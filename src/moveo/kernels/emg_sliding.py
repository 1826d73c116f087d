"""LS (the second sample L-moment) over overlapping windows, keeping each window sorted.

LS needs every window sorted. Windows of :func:`moveo.emg.windows` overlap (hop
25 of 200 is typical), so sorting each window from scratch re-sorts the samples
it shares with the previous one. :func:`ls_rows` keeps each channel's window
sorted, with each value's sample index, instead: per hop it sorts the
``increment`` samples that enter and rebuilds the sorted window in one merge
pass over the old one, dropping the samples that left by their index (O(size)
per window instead of O(size log size)).
:func:`ls_sorted` then computes LS from the sorted window with the arithmetic of
the whole-window kernel (:mod:`moveo.kernels.emg_window`), so both paths give
the same numbers, bit for bit.

The input is sample-major data read in place (``moveo.emg.windows`` views of
C-ordered ``(n_samples, n_channels)`` data, float32 or float64), window ``w``
being ``flat[w * increment : w * increment + size]``.

Conventions: sums in float64. A channel whose window holds a NaN gets NaN, and
its sorted window is rebuilt from scratch once the NaN has left. Windows that
do not overlap (``increment >= size``) are sorted one by one. The slid window
holds exactly the window's values (zeros keep their sign); zeros of either sign
compare equal, so their order may differ from a fresh sort's, which changes no
sum (see :func:`ls_sorted`).
"""

from __future__ import annotations

import numpy as np

from moveo._numba import FASTMATH, jit, prange, register_warmup

__all__ = ["ls_rows", "ls_rows_parallel", "ls_sorted"]

MIN_CHUNK = 64
"""Fewest windows per parallel task (each task sorts its first window from scratch)."""

RANK_SORT_MAX = 32
"""Longest hop sorted by counting ranks (longer hops use ``np.argsort``)."""

TASKS = 16
"""(channel, chunk) tasks :func:`ls_rows_parallel` aims for at least (few channels)."""


@jit(fastmath=set(FASTMATH - {"arcp"}))
def ls_sorted(s):
    """LS = 2 b1 - b0 of a sorted window (N >= 2).

    ``b0 = (1/N) Σ s_i`` and ``b1 = (1/N) Σ i / (N - 1) · s_i`` with ``s``
    sorted ascending: the arithmetic, in the same order, of the whole-window LS.
    Zeros of either sign give the same sums (a zero term leaves a non-zero
    partial sum unchanged).

    Compiled without ``arcp``: inlined in a loop over windows, the divisions by
    the loop-invariant ``N`` would otherwise become multiplications by a hoisted
    reciprocal (fused with the subtraction), one rounding away from the
    whole-window LS, which divides.

    Parameters
    ----------
    s : ndarray of shape (N,), float64, sorted ascending

    Returns
    -------
    float
    """
    n = s.shape[0]
    b0 = 0.0
    b1 = 0.0
    for i in range(n):
        b0 += s[i]
        b1 += i * s[i]
    b0 /= n
    b1 /= n * (n - 1.0)
    return 2.0 * b1 - b0


@jit
def _load_sorted(flat, start, size, c, s):
    # s <- flat[start : start + size, c], sorted; returns whether a NaN was seen
    bad = False
    for i in range(size):
        v = flat[start + i, c]
        s[i] = v
        if v != v:
            bad = True
    if not bad:
        s.sort()
    return bad


@jit
def _load_indexed(flat, start, size, c, s, age):
    # s <- flat[start : start + size, c] sorted, age <- each value's sample index
    for i in range(size):
        s[i] = flat[start + i, c]
    order = np.argsort(s)
    for i in range(size):
        age[i] = start + order[i]
    for i in range(size):
        s[i] = flat[age[i], c]


@jit
def _sort_entering(flat, enter, c, vals, new, new_age):
    # (new, new_age) <- the hop flat[enter : enter + n, c] sorted, with each value's
    # sample index; returns the index of its last NaN, or -1 (ranks of a hop holding a
    # NaN collide, but no window holding that hop is ever slid into)
    n = vals.shape[0]
    last_nan = -1
    for i in range(n):
        v = flat[enter + i, c]
        vals[i] = v
        if v != v:
            last_nan = enter + i
    if n > RANK_SORT_MAX:
        order = np.argsort(vals)
        for i in range(n):
            new[i] = vals[order[i]]
            new_age[i] = enter + order[i]
        return last_nan
    for i in range(n):
        # rank by counting: no data-dependent branch (a hop is short)
        v = vals[i]
        rank = 0
        for j in range(n):
            rank += (vals[j] < v) | ((vals[j] == v) & (j < i))
        new[rank] = v
        new_age[rank] = enter + i
    return last_nan


@jit
def _slide(s, age, start, new, new_age, t, t_age):
    # (t, t_age) <- (s, age) without the samples older than start, merged with the
    # sorted hop (new, new_age) in one pass; new[-1] is a +inf sentinel (the merge
    # compares strictly, so a real +inf goes in after the others)
    n_new = new.shape[0] - 1
    e = 0
    x = new[0]
    k = 0
    for i in range(s.shape[0]):
        v = s[i]
        while x < v:
            t[k] = x
            t_age[k] = new_age[e]
            k += 1
            e += 1
            x = new[e]
        a = age[i]
        t[k] = v
        t_age[k] = a
        k += a >= start  # a leaving sample is overwritten (no branch to mispredict)
    while e < n_new:
        t[k] = new[e]
        t_age[k] = new_age[e]
        k += 1
        e += 1


@jit
def _ls_channel(flat, increment, size, c, w0, w1, offset, out):
    # LS of channel c for windows [w0, w1), sorting window w0 from scratch
    s = np.empty(size)
    if increment >= size:
        for w in range(w0, w1):
            if _load_sorted(flat, w * increment, size, c, s):
                out[w, offset + c] = np.nan
            else:
                out[w, offset + c] = ls_sorted(s)
        return
    # the sorted window and each value's sample index (a sample leaves by its index)
    age = np.empty(size, dtype=np.int64)
    t = np.empty(size)
    t_age = np.empty(size, dtype=np.int64)
    vals = np.empty(increment)
    new = np.empty(increment + 1)
    new[increment] = np.inf
    new_age = np.empty(increment, dtype=np.int64)
    start = w0 * increment
    last_nan = -1  # index of the last NaN read so far
    for i in range(start, start + size):
        if flat[i, c] != flat[i, c]:
            last_nan = i
    ready = False  # whether (s, age) hold window w - 1 sorted
    for w in range(w0, w1):
        start = w * increment
        if w > w0:
            hop = _sort_entering(flat, start - increment + size, c, vals, new, new_age)
            last_nan = max(last_nan, hop)
        if last_nan >= start:
            out[w, offset + c] = np.nan
            ready = False
            continue
        if ready:
            _slide(s, age, start, new, new_age, t, t_age)
            s, t = t, s
            age, t_age = t_age, age
        else:
            _load_indexed(flat, start, size, c, s, age)
            ready = True
        out[w, offset + c] = ls_sorted(s)


@jit
def _n_chunks(n_windows, n_channels):
    # at least TASKS (channel, chunk) tasks, so few channels still keep every thread
    # busy; chunks of >= MIN_CHUNK windows (values do not depend on the split)
    want = (TASKS + n_channels - 1) // n_channels
    return max(1, min(want, n_windows // MIN_CHUNK))


@jit
def ls_rows(flat, increment, n_windows, offset, out):
    """LS of windows over sample-major data, on the calling thread.

    Parameters
    ----------
    flat : ndarray of shape (n_samples, n_channels), float32 or float64, C-ordered
        Window ``w`` is ``flat[w * increment : w * increment + size]`` with
        ``size = flat.shape[0] - (n_windows - 1) * increment`` (>= 2).
    increment : int
        Samples between window starts (>= 1).
    n_windows : int
    offset : int
        Output column of channel 0 (channel ``c`` goes to ``offset + c``).
    out : ndarray of shape (n_windows, n_columns), float64
        Output; only columns ``offset .. offset + n_channels - 1`` are written.
    """
    if n_windows < 1:
        return
    n_ch = flat.shape[1]
    size = flat.shape[0] - (n_windows - 1) * increment
    for c in range(n_ch):
        _ls_channel(flat, increment, size, c, 0, n_windows, offset, out)


@jit(parallel=True)
def ls_rows_parallel(flat, increment, n_windows, offset, out):
    """:func:`ls_rows` in parallel over (channel, chunk of windows) tasks (same arguments).

    Each task sorts its first window from scratch, so the values equal
    :func:`ls_rows`'s whatever the number of threads.
    """
    if n_windows < 1:
        return
    n_ch = flat.shape[1]
    size = flat.shape[0] - (n_windows - 1) * increment
    n_chunks = _n_chunks(n_windows, n_ch)
    for task in prange(n_ch * n_chunks):
        c = task // n_chunks
        chunk = task % n_chunks
        w0 = chunk * n_windows // n_chunks
        w1 = (chunk + 1) * n_windows // n_chunks
        _ls_channel(flat, increment, size, c, w0, w1, offset, out)


@register_warmup
def _warmup() -> None:
    # the signatures moveo uses: read-only C-ordered float32 / float64 sample-major data
    n = 16
    n_ch = 2
    out = np.empty((3, n_ch))
    for dtype in (np.float64, np.float32):
        flat = np.sin(np.arange((n + 2 * 4) * n_ch, dtype=dtype)).reshape(-1, n_ch)
        flat.flags.writeable = False
        for entry in (ls_rows, ls_rows_parallel):
            entry(flat, 4, 3, 0, out)
