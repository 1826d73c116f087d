"""Segment-aware sliding windows and rolling reductions.

Tracking data is a long table sorted by (individual, frame): every individual is
one *segment*, a contiguous run of rows described by ``offsets`` (segment ``s``
is ``rows[offsets[s]:offsets[s + 1]]``). Rolling reductions never cross a
segment boundary.

A window is defined on *positions* (frame numbers for tracking, sample indices
for evenly sampled signals): the window of row ``i`` holds the rows ``j`` of the
same segment with ``pos[i] - before <= pos[j] <= pos[i] + after``. When every
frame is present this is the usual row window; when frames are missing (an
individual lost for a while) the window shrinks instead of reaching further back
in time.

For a window of ``size`` frames:

- trailing: ``before = size - 1``, ``after = 0``;
- centred: ``before = size // 2``, ``after = size - 1 - size // 2`` (for an even
  size the extra frame is on the past side, like pandas' ``center=True``).

Missing values are NaN (or ±inf): they are skipped, and ``min_periods`` counts
only finite values.

Cost: ``min``/``max`` use a monotonic deque (amortised O(1) per row); ``sum``,
``mean`` and ``std`` are summed over each row's window (O(window) per row) so
that no rounding residue of values that already left the window survives, as
it would with running add/subtract updates. Results are as exact as a direct
two-pass computation.

:func:`strided_windows` gives zero-copy read-only window views for evenly
sampled signals (EMG), shared with the EMG features.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels._checks import check_offsets, positive_int
from moveo.kernels.geometry import run_offsets

__all__ = [
    "ROLLING_STATS",
    "first_order_violation",
    "rolling",
    "segment_nanmedian",
    "segment_offsets",
    "strided_windows",
    "window_bounds",
]

ROLLING_STATS: tuple[str, ...] = ("mean", "std", "min", "max", "sum", "count")
"""Statistics :func:`rolling` can compute."""


# ----------------------------------------------------------------------------- kernels


@jit
def _first_order_violation(keys: np.ndarray, frames: np.ndarray) -> int:
    for i in range(1, keys.shape[0]):
        if keys[i] < keys[i - 1] or (keys[i] == keys[i - 1] and frames[i] <= frames[i - 1]):
            return i
    return -1


@jit(parallel=True)
def _rolling_moments(
    values: np.ndarray,
    offsets: np.ndarray,
    pos: np.ndarray,
    before: int,
    after: int,
    min_periods: int,
    ddof: int,
    out_sum: np.ndarray,
    out_mean: np.ndarray,
    out_std: np.ndarray,
    out_count: np.ndarray,
) -> None:
    # Two pointers find each row's window [lo, hi) in O(1) amortised; the sums
    # are then taken over the window itself (O(window) per row) rather than
    # updated by adding the entering and subtracting the leaving value. Running
    # add/remove updates leave rounding residue from values long gone (a window
    # of equal values after a large one would get std ~1e-7 instead of 0); this
    # way every result is as exact as a direct two-pass computation.
    n_seg = offsets.shape[0] - 1
    for s in prange(n_seg):
        start = offsets[s]
        stop = offsets[s + 1]
        lo = start
        hi = start
        for i in range(start, stop):
            while hi < stop and pos[hi] <= pos[i] + after:
                hi += 1
            while pos[lo] < pos[i] - before:
                lo += 1
            cnt = 0
            total = 0.0
            for j in range(lo, hi):
                v = values[j]
                if np.isfinite(v):
                    cnt += 1
                    total += v
            out_count[i] = cnt
            if cnt < min_periods or cnt == 0:
                out_sum[i] = np.nan
                out_mean[i] = np.nan
                out_std[i] = np.nan
                continue
            mean = total / cnt
            out_sum[i] = total
            out_mean[i] = mean
            if cnt - ddof > 0:
                m2 = 0.0
                for j in range(lo, hi):
                    v = values[j]
                    if np.isfinite(v):
                        m2 += (v - mean) * (v - mean)
                out_std[i] = np.sqrt(m2 / (cnt - ddof))
            else:
                out_std[i] = np.nan


@jit(parallel=True)
def _rolling_extreme(
    values: np.ndarray,
    offsets: np.ndarray,
    pos: np.ndarray,
    before: int,
    after: int,
    min_periods: int,
    want_max: bool,
    out: np.ndarray,
) -> None:
    # Monotonic deque of row indices (values decreasing for max, increasing for
    # min) so every row enters and leaves once: O(n) per segment.
    n_seg = offsets.shape[0] - 1
    for s in prange(n_seg):
        start = offsets[s]
        stop = offsets[s + 1]
        dq = np.empty(stop - start, dtype=np.int64)
        head = 0
        tail = 0  # deque is dq[head:tail]
        lo = start
        hi = start
        cnt = 0
        for i in range(start, stop):
            while hi < stop and pos[hi] <= pos[i] + after:
                v = values[hi]
                if np.isfinite(v):
                    cnt += 1
                    if want_max:
                        while tail > head and values[dq[tail - 1]] <= v:
                            tail -= 1
                    else:
                        while tail > head and values[dq[tail - 1]] >= v:
                            tail -= 1
                    dq[tail] = hi
                    tail += 1
                hi += 1
            while pos[lo] < pos[i] - before:
                if np.isfinite(values[lo]):
                    cnt -= 1
                if tail > head and dq[head] == lo:
                    head += 1
                lo += 1
            if cnt >= min_periods and cnt > 0:
                out[i] = values[dq[head]]
            else:
                out[i] = np.nan


@jit(parallel=True)
def _segment_nanmedian(values: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
    n_seg = offsets.shape[0] - 1
    for s in prange(n_seg):
        seg = values[offsets[s] : offsets[s + 1]]
        finite = seg[np.isfinite(seg)]
        out[s] = np.median(finite) if finite.shape[0] > 0 else np.nan


# ----------------------------------------------------------------------------- public API


def segment_offsets(keys: np.ndarray) -> np.ndarray:
    """Return the start offsets of runs of equal keys.

    Parameters
    ----------
    keys : numpy.ndarray
        1-D integer array, e.g. individual ids of a table sorted by (id, frame).

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_segments + 1,): segment ``s`` is
        ``rows[offsets[s]:offsets[s + 1]]``. ``[0]`` for empty input.

    Examples
    --------
    >>> import numpy as np
    >>> segment_offsets(np.array([3, 3, 5, 5, 5, 9]))
    array([0, 2, 5, 6])
    """
    keys = np.ascontiguousarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"keys must be 1-D, got shape {keys.shape}")
    if keys.shape[0] == 0:
        return np.zeros(1, dtype=np.int64)
    return run_offsets(keys)


def first_order_violation(keys: np.ndarray, frames: np.ndarray) -> int:
    """Find the first row that breaks the (key, frame) order.

    Parameters
    ----------
    keys : numpy.ndarray
        Integer segment keys (e.g. individual ids) of shape (n,).
    frames : numpy.ndarray
        Integer frame numbers of shape (n,).

    Returns
    -------
    int
        The first ``i`` with ``(keys[i], frames[i]) <= (keys[i-1], frames[i-1])``
        (keys decreasing, or a frame not strictly after the previous one of the
        same key), or ``-1`` if the rows are strictly sorted.

    Examples
    --------
    >>> import numpy as np
    >>> first_order_violation(np.array([1, 1, 2]), np.array([0, 1, 0]))
    -1
    >>> first_order_violation(np.array([1, 1, 2]), np.array([0, 0, 0]))
    1
    """
    keys = np.ascontiguousarray(keys)
    frames = np.ascontiguousarray(frames)
    if keys.shape != frames.shape or keys.ndim != 1:
        raise ValueError("keys and frames must be 1-D arrays of equal length")
    return int(_first_order_violation(keys, frames))


def window_bounds(size: int, *, center: bool) -> tuple[int, int]:
    """Return ``(before, after)`` for a window of ``size`` frames.

    Parameters
    ----------
    size : int
        Window length in frames (>= 1).
    center : bool
        Centred window (``True``) or trailing window ending at the row (``False``).

    Returns
    -------
    tuple of int
        Frames reached before and after the row: ``before + after + 1 == size``.
    """
    size = positive_int("window size", size)
    size = int(size)
    if center:
        return size // 2, size - 1 - size // 2
    return size - 1, 0


def rolling(
    values: np.ndarray,
    offsets: np.ndarray | None,
    size: int,
    *,
    stats: tuple[str, ...] | list[str] = ("mean",),
    center: bool = False,
    min_periods: int = 1,
    positions: np.ndarray | None = None,
    ddof: int = 1,
) -> dict[str, np.ndarray]:
    """Compute rolling statistics per segment, NaN-aware, never crossing segments.

    Parameters
    ----------
    values : numpy.ndarray
        1-D float array of shape (n,). NaN and ±inf are missing values.
    offsets : numpy.ndarray or None
        Segment offsets of shape (n_segments + 1,) from :func:`segment_offsets`;
        ``None`` treats all rows as one segment.
    size : int
        Window length in frames (positions).
    stats : sequence of str, default ("mean",)
        Any of ``"mean"``, ``"std"``, ``"min"``, ``"max"``, ``"sum"``, ``"count"``.
    center : bool, default False
        Centred window instead of trailing (see the module docstring).
    min_periods : int, default 1
        Minimum number of finite values in the window; fewer gives NaN
        (``count`` is always reported).
    positions : numpy.ndarray, optional
        int64 frame numbers of shape (n,), strictly increasing within each
        segment. ``None`` uses the row index (every frame present).
    ddof : int, default 1
        Delta degrees of freedom of ``std`` (1 = sample standard deviation).

    Returns
    -------
    dict of str to numpy.ndarray
        One float64 array of shape (n,) per requested statistic (``count`` is
        int64).

    Raises
    ------
    ValueError
        If an argument is out of range or ``positions`` are not increasing.

    Examples
    --------
    >>> import numpy as np
    >>> out = rolling(np.array([1.0, 2.0, np.nan, 4.0]), None, 2, stats=("mean", "sum"))
    >>> out["mean"]
    array([1. , 1.5, 2. , 4. ])
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(
        values.dtype, np.complexfloating
    ):
        raise TypeError(f"values must be real numbers, got dtype {values.dtype}")
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = values.shape[0]
    offsets = check_offsets(offsets, n)
    before, after = window_bounds(size, center=center)
    if isinstance(min_periods, bool) or not isinstance(min_periods, int | np.integer):
        raise ValueError(f"min_periods must be an integer, got {min_periods!r}")
    if not 1 <= min_periods <= size:
        raise ValueError(
            f"min_periods must be between 1 and the window size {size}, got {min_periods}"
        )
    if ddof < 0:
        raise ValueError(f"ddof must be >= 0, got {ddof}")
    stats = tuple(stats)
    unknown = [s for s in stats if s not in ROLLING_STATS]
    if unknown or not stats:
        raise ValueError(f"unknown rolling statistic(s) {unknown}; choose from {ROLLING_STATS}")
    if positions is None:
        pos = np.arange(n, dtype=np.int64)
    else:
        pos = np.ascontiguousarray(positions, dtype=np.int64)
        if pos.shape != (n,):
            raise ValueError(f"positions must have shape ({n},), got {pos.shape}")
        steps = np.diff(pos)
        inner = np.ones(max(n - 1, 0), dtype=bool)
        inner[offsets[1:-1] - 1] = False  # a new segment may restart its frames
        if np.any(steps[inner] <= 0):
            raise ValueError("positions must be strictly increasing within each segment")

    out: dict[str, np.ndarray] = {}
    if {"mean", "std", "sum", "count"} & set(stats):
        s_sum = np.empty(n)
        s_mean = np.empty(n)
        s_std = np.empty(n)
        s_cnt = np.empty(n, dtype=np.int64)
        _rolling_moments(
            values, offsets, pos, before, after, min_periods, ddof, s_sum, s_mean, s_std, s_cnt
        )
        moments = {"sum": s_sum, "mean": s_mean, "std": s_std, "count": s_cnt}
        out.update({k: v for k, v in moments.items() if k in stats})
    for name, want_max in (("min", False), ("max", True)):
        if name in stats:
            ext = np.empty(n)
            _rolling_extreme(values, offsets, pos, before, after, min_periods, want_max, ext)
            out[name] = ext
    return {k: out[k] for k in stats}


def segment_nanmedian(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Median of the finite values of each segment.

    Parameters
    ----------
    values : numpy.ndarray
        1-D float array of shape (n,).
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_segments,); NaN for a segment without any
        finite value.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {values.shape}")
    offsets = check_offsets(offsets, values.shape[0])
    out = np.empty(offsets.shape[0] - 1)
    _segment_nanmedian(values, offsets, out)
    return out


def strided_windows(x: np.ndarray, size: int, step: int = 1) -> np.ndarray:
    """Zero-copy, read-only sliding-window view of an evenly sampled signal.

    Parameters
    ----------
    x : numpy.ndarray
        Array of shape (n_samples, ...) (e.g. (n_samples, n_channels)).
    size : int
        Window length in samples (>= 1).
    step : int, default 1
        Hop between window starts in samples (>= 1).

    Returns
    -------
    numpy.ndarray
        Read-only view of shape (n_windows, size, ...) with
        ``n_windows = (n_samples - size) // step + 1`` (0 if ``size > n_samples``);
        window ``w`` is ``x[w * step : w * step + size]``. It shares memory with
        ``x``: nothing is copied.

    Examples
    --------
    >>> import numpy as np
    >>> strided_windows(np.arange(6.0), 3, 2)
    array([[0., 1., 2.],
           [2., 3., 4.]])
    """
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError("x must have at least one dimension (samples first)")
    size = positive_int("size", size)
    step = positive_int("step", step)
    n = x.shape[0]
    n_windows = max((n - size) // step + 1, 0) if n >= size else 0
    shape = (n_windows, int(size), *x.shape[1:])
    strides = (x.strides[0] * int(step), x.strides[0], *x.strides[1:])
    return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)


@register_warmup
def _warmup() -> None:
    keys = np.array([1, 1, 2], dtype=np.int64)
    vals = np.array([1.0, np.nan, 3.0])
    offs = segment_offsets(keys)
    rolling(vals, offs, 2, stats=ROLLING_STATS, center=True)
    rolling(vals, offs, 2, stats=ROLLING_STATS, positions=np.array([0, 2, 0]))
    segment_nanmedian(vals, offs)
    first_order_violation(keys, keys)
