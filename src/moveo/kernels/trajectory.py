"""Trajectory cleaning: jump detection, gap interpolation, Savitzky-Golay smoothing.

The kernels behind the ``trajectory-smooth`` feature. Like every tracking
kernel they work on a long table sorted by (individual, frame) and described by
segment ``offsets`` (segment ``s`` is rows ``offsets[s]:offsets[s + 1]``, one
individual in frame order, see :func:`moveo.kernels.windows.segment_offsets`);
nothing crosses a segment boundary. Positions are in *frames*, not rows: when
frames are missing (rows absent), a displacement is divided by the frames it
spans, a gap is as long as the frames it spans, and smoothing never reaches
across a missing frame.

- :func:`flag_jumps`: a row is a *jump* when its displacement from the previous
  row of its segment, per frame, exceeds a threshold; every row within
  ``expand`` frames of a jump is flagged.
- :func:`fill_gaps`: NaN values are replaced by linear interpolation (in frame
  numbers) between the nearest finite values of the segment, and by the
  nearest finite value before the first / after the last one; with ``max_gap``
  a gap longer than that many frames stays NaN.
- :func:`savgol_runs`: a Savitzky-Golay filter (scipy's ``savgol_filter`` with
  ``mode="interp"``: the coefficients come from :mod:`scipy.signal`) applied
  to every run of consecutive frames with finite values that is at least a
  window long; shorter runs and NaN are left as they are. No value next to a
  gap is pulled towards a number that was never measured.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from moveo._numba import jit, prange, register_warmup

__all__ = ["fill_gaps", "flag_jumps", "savgol_operator", "savgol_runs"]


# ----------------------------------------------------------------------------- kernels


@jit(parallel=True)
def _flag_jumps(x, y, frames, offsets, threshold, expand, out):
    n_seg = offsets.shape[0] - 1
    for s in prange(n_seg):
        start = offsets[s]
        stop = offsets[s + 1]
        for i in range(start, stop):
            out[i] = False
        for i in range(start + 1, stop):
            step = frames[i] - frames[i - 1]
            d = math.hypot(x[i] - x[i - 1], y[i] - y[i - 1]) / step
            if d > threshold:  # NaN compares False: a missing position is no jump
                out[i] = True
        if expand > 0:
            # flag every row within `expand` frames of a jump: two sweeps, each
            # carrying the frame of the nearest jump seen so far
            last = -1
            marks = np.zeros(stop - start, dtype=np.bool_)
            for i in range(start, stop):
                if out[i]:
                    last = i
                if last >= 0 and frames[i] - frames[last] <= expand:
                    marks[i - start] = True
            last = -1
            for i in range(stop - 1, start - 1, -1):
                if out[i]:
                    last = i
                if last >= 0 and frames[last] - frames[i] <= expand:
                    marks[i - start] = True
            for i in range(start, stop):
                out[i] = marks[i - start]


@jit(parallel=True)
def _fill_gaps(values, frames, offsets, max_gap, out):
    # values, out: (n, n_columns); max_gap < 0 means no limit
    n_seg = offsets.shape[0] - 1
    n_col = values.shape[1]
    for task in prange(n_seg * n_col):
        s = task // n_col
        c = task - s * n_col
        start = offsets[s]
        stop = offsets[s + 1]
        prev = -1
        for i in range(start, stop):
            v = values[i, c]
            out[i, c] = v
            if not math.isfinite(v):
                continue
            if i > start and prev < i - 1:
                # a gap of rows prev+1 .. i-1 (prev == -1: the leading edge)
                if prev < 0:
                    span = frames[i] - frames[start]
                    if max_gap < 0 or span <= max_gap:
                        for j in range(start, i):
                            out[j, c] = v
                else:
                    span = frames[i] - frames[prev] - 1
                    if max_gap < 0 or span <= max_gap:
                        a = values[prev, c]
                        f0 = frames[prev]
                        width = frames[i] - f0
                        for j in range(prev + 1, i):
                            out[j, c] = a + (v - a) * ((frames[j] - f0) / width)
            prev = i
        if prev >= 0 and prev < stop - 1:  # the trailing edge
            span = frames[stop - 1] - frames[prev]
            if max_gap < 0 or span <= max_gap:
                v = values[prev, c]
                for j in range(prev + 1, stop):
                    out[j, c] = v


@jit
def _savgol_run(values, c, s, e, stencil, before, left, right, out):
    # one run of finite values, rows s..e-1 (e - s >= window)
    w = left.shape[1]
    n_edge = left.shape[0]
    for k in range(n_edge):
        acc = 0.0
        for j in range(w):
            acc += left[k, j] * values[s + j, c]
        out[s + k, c] = acc
        acc = 0.0
        for j in range(w):
            acc += right[k, j] * values[e - w + j, c]
        out[e - n_edge + k, c] = acc
    m = stencil.shape[0]
    for i in range(s + n_edge, e - n_edge):
        acc = 0.0
        base = i - before
        for j in range(m):
            acc += stencil[j] * values[base + j, c]
        out[i, c] = acc


@jit(parallel=True)
def _savgol_runs(values, frames, offsets, stencil, before, left, right, out):
    n_seg = offsets.shape[0] - 1
    n_col = values.shape[1]
    w = left.shape[1]
    for task in prange(n_seg * n_col):
        s = task // n_col
        c = task - s * n_col
        start = offsets[s]
        stop = offsets[s + 1]
        for i in range(start, stop):
            out[i, c] = values[i, c]
        i = start
        while i < stop:
            if not math.isfinite(values[i, c]):
                i += 1
                continue
            e = i + 1
            while e < stop and frames[e] == frames[e - 1] + 1 and math.isfinite(values[e, c]):
                e += 1
            if e - i >= w:
                _savgol_run(values, c, i, e, stencil, before, left, right, out)
            i = e


# ----------------------------------------------------------------------------- public API


def _check(values: np.ndarray, frames: np.ndarray, offsets: np.ndarray) -> tuple:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"values must be 1-D or 2-D (rows, columns), got shape {values.shape}")
    n = values.shape[0]
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if frames.shape != (n,):
        raise ValueError(f"frames must have shape ({n},), got {frames.shape}")
    if offsets.ndim != 1 or offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must run from 0 to len(values), non-decreasing")
    inner = np.ones(max(n - 1, 0), dtype=bool)
    inner[offsets[1:-1] - 1] = False
    if np.any(np.diff(frames)[inner] <= 0):
        raise ValueError("frames must be strictly increasing within each segment")
    return values, frames, offsets


def flag_jumps(
    x: np.ndarray,
    y: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    threshold: float,
    *,
    expand: int = 0,
) -> np.ndarray:
    """Flag rows whose displacement per frame exceeds ``threshold``, plus neighbours.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions of shape (n,).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    threshold : float
        Largest allowed displacement per frame (``hypot(dx, dy) / dframes``
        from the previous row of the segment). Equal is allowed.
    expand : int, default 0
        Also flag every row within this many frames of a flagged row.

    Returns
    -------
    numpy.ndarray
        bool array of shape (n,). A NaN displacement (a missing position) is
        no jump; the first row of a segment is never one.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 1.0, 9.0, 10.0, 11.0])
    >>> flag_jumps(x, np.zeros(5), np.arange(5), np.array([0, 5]), 2.0).tolist()
    [False, False, True, False, False]
    """
    if not (np.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    if isinstance(expand, bool) or not isinstance(expand, int | np.integer) or expand < 0:
        raise ValueError(f"expand must be an integer >= 0, got {expand!r}")
    xy, frames, offsets = _check(np.column_stack([x, y]), frames, offsets)
    out = np.empty(xy.shape[0], dtype=np.bool_)
    _flag_jumps(
        np.ascontiguousarray(xy[:, 0]),
        np.ascontiguousarray(xy[:, 1]),
        frames,
        offsets,
        float(threshold),
        int(expand),
        out,
    )
    return out


def fill_gaps(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    *,
    max_gap: int | None = None,
) -> np.ndarray:
    """Fill NaN gaps per segment: linear in frames inside, nearest value at the edges.

    Parameters
    ----------
    values : numpy.ndarray
        Array of shape (n,) or (n, n_columns); NaN and ±inf are missing.
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    max_gap : int, optional
        Fill only gaps of at most this many frames (an inner gap between
        finite values at frames ``a`` and ``b`` spans ``b - a - 1`` frames; an
        edge gap the frames from the segment's first / last row to its nearest
        finite value). ``None``: every gap. A column of a segment without any
        finite value stays NaN.

    Returns
    -------
    numpy.ndarray
        float64 array of the shape of ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan])
    >>> fill_gaps(v, np.arange(6), np.array([0, 6])).tolist()
    [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]
    """
    one_d = np.asarray(values).ndim == 1
    v, frames, offsets = _check(values, frames, offsets)
    if max_gap is not None and (
        isinstance(max_gap, bool) or int(max_gap) != max_gap or max_gap < 0
    ):
        raise ValueError(f"max_gap must be None or an integer >= 0, got {max_gap!r}")
    v = np.asfortranarray(v)  # the kernel walks columns
    out = np.empty_like(v, order="F")
    _fill_gaps(v, frames, offsets, -1 if max_gap is None else int(max_gap), out)
    return out[:, 0] if one_d else out


@lru_cache(maxsize=64)
def savgol_operator(window: int, polyorder: int) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Return the linear operator of ``scipy.signal.savgol_filter(..., mode="interp")``.

    Parameters
    ----------
    window : int
        Window length (> ``polyorder``).
    polyorder : int
        Polynomial order (>= 0).

    Returns
    -------
    stencil : numpy.ndarray
        Weights of an interior output over ``x[i - before : i - before + len(stencil)]``.
    before : int
        Samples before the output the stencil starts at.
    left, right : numpy.ndarray
        Arrays of shape (window // 2, window): the first / last ``window // 2``
        outputs of a run as weights over its first / last ``window`` samples
        (the polynomial fitted to that window, evaluated at those positions).
    """
    from scipy.signal import savgol_filter

    if polyorder < 0 or window <= polyorder:
        raise ValueError(
            f"savgol window must exceed the polynomial order, got window={window}, "
            f"polyorder={polyorder}"
        )
    n = 3 * window + 2
    # scipy's filter applied to every unit impulse is its matrix: row i = output i
    op = savgol_filter(np.eye(n), window, polyorder, axis=0, mode="interp")
    edge = window // 2
    mid = n // 2
    row = op[mid]
    nz = np.flatnonzero(np.abs(row) > 1e-13 * np.abs(row).max())
    before = int(mid - nz.min()) if nz.size else 0
    stencil = np.ascontiguousarray(row[mid - before : mid - before + window])
    if nz.size and nz.max() - nz.min() + 1 > window:
        raise AssertionError("unexpected savgol stencil")  # pragma: no cover
    left = np.ascontiguousarray(op[:edge, :window])
    right = np.ascontiguousarray(op[n - edge :, n - window :])
    return stencil, before, left, right


def savgol_runs(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    window: int,
    polyorder: int = 2,
) -> np.ndarray:
    """Savitzky-Golay filter each run of consecutive frames with finite values.

    Parameters
    ----------
    values : numpy.ndarray
        Array of shape (n,) or (n, n_columns).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    window : int
        Window length in frames (> ``polyorder``).
    polyorder : int, default 2
        Polynomial order.

    Returns
    -------
    numpy.ndarray
        float64 array of the shape of ``values``: each run of at least
        ``window`` consecutive frames with finite values (per column) equals
        ``scipy.signal.savgol_filter(run, window, polyorder, mode="interp")``;
        shorter runs and NaN are unchanged.
    """
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    one_d = np.asarray(values).ndim == 1
    v, frames, offsets = _check(values, frames, offsets)
    stencil, before, left, right = savgol_operator(int(window), int(polyorder))
    v = np.asfortranarray(v)  # the kernel walks columns
    out = np.empty_like(v, order="F")
    _savgol_runs(v, frames, offsets, stencil, before, left, right, out)
    return out[:, 0] if one_d else out


@register_warmup
def _warmup() -> None:
    x = np.array([0.0, 1.0, np.nan, 9.0, 10.0, 11.0])
    frames = np.array([0, 1, 2, 4, 5, 6], dtype=np.int64)
    offsets = np.array([0, 6], dtype=np.int64)
    flag_jumps(x, x, frames, offsets, 2.0, expand=1)
    two = np.column_stack([x, x])
    for v in (x, two):  # one column is C-contiguous too: both layouts get compiled
        fill_gaps(v, frames, offsets, max_gap=3)
        savgol_runs(v, frames, offsets, 3, 1)
