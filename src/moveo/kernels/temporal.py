"""Temporal context: Gaussian smoothing, lagged copies and Gaussian-pooled statistics.

The kernels behind the ``temporal-stack`` feature (mosaic's temporal stacking).
They work on a long table sorted by (individual, frame) with segment
``offsets`` (see :func:`moveo.kernels.windows.segment_offsets`) and never reach
across a segment: each segment is a signal on its own *frame grid* (frame
``f`` of a segment starting at ``f0`` is sample ``f - f0``; a missing frame is
a NaN sample) padded at both ends with its first / last value (scipy's
``mode="nearest"``, which mosaic uses). Values are ``(n, n_columns)`` arrays;
the kernels run ``prange`` over (segment, column) pairs.

- :func:`gaussian_smooth`: ``scipy.ndimage.gaussian_filter1d`` per segment
  (weights ``exp(-k^2 / 2 sigma^2)`` normalised over ``|k| <= int(4 sigma +
  0.5)``). A NaN within reach gives NaN, as in scipy.
- :func:`lag_stack`: the value ``offset`` frames later (earlier for a negative
  offset) for every offset, clamped to the segment's ends; NaN at a missing
  frame. Written straight into one output block (``float32`` by default, as
  mosaic emits), one contiguous column per (offset, column).
- :func:`gaussian_pool`: Gaussian-weighted mean, variance
  (``sum_k w_k (x_k - mean)^2``, the same as mosaic's ``E[x^2] - mean^2``
  without its cancellation) and standard deviation over ``|k| <= radius``
  frames; NaN when a NaN is within reach.
- :func:`pool_window`: mosaic's rule for the pooling window from ``fps``,
  ``win_sec`` and ``sigma_pool``.

Cost: the smoothing is a direct convolution, ``2 * int(4 sigma + 0.5) + 1``
multiply-adds per value (241 at mosaic's default sigma 30); rows whose window
lies inside the segment take a branch-free dot product that numba vectorises,
only the ``radius`` rows at each end clamp. Lags are a gather per output value
(memory bound: the output block is what has to be written anyway).
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup

__all__ = ["gaussian_pool", "gaussian_smooth", "gaussian_weights", "lag_stack", "pool_window"]


# ----------------------------------------------------------------------------- helpers


@jit(inline="always")
def _clamp(k: int, m: int) -> int:
    return 0 if k < 0 else (m - 1 if k >= m else k)


@jit
def _grid(values, frames, start, stop, c):
    # the segment on its frame grid (missing frames are NaN)
    f0 = frames[start]
    m = frames[stop - 1] - f0 + 1
    g = np.full(m, np.nan)
    for i in range(start, stop):
        g[frames[i] - f0] = values[i, c]
    return g


@jit
def _source(values, frames, start, stop, c):
    # a view of the column when no frame is missing, else the gridded copy
    if frames[stop - 1] - frames[start] + 1 == stop - start:
        return values[start:stop, c]
    return _grid(values, frames, start, stop, c)


# ----------------------------------------------------------------------------- kernels


@jit(parallel=True)
def _gaussian_smooth(values, frames, offsets, w, out):
    r = (w.shape[0] - 1) // 2
    n_seg = offsets.shape[0] - 1
    n_col = values.shape[1]
    for task in prange(n_seg * n_col):
        s = task // n_col
        c = task - s * n_col
        start = offsets[s]
        stop = offsets[s + 1]
        if stop == start:
            continue
        src = _source(values, frames, start, stop, c)
        m = src.shape[0]
        f0 = frames[start]
        for i in range(start, stop):
            k = frames[i] - f0
            acc = 0.0
            if k - r >= 0 and k + r < m:
                base = k - r
                for j in range(w.shape[0]):  # inside: a plain dot product (vectorised)
                    acc += w[j] * src[base + j]
            else:
                for j in range(w.shape[0]):
                    acc += w[j] * src[_clamp(k - r + j, m)]
            out[i, c] = acc


@jit(parallel=True)
def _lag_stack(values, frames, offsets, lags, out):
    n_seg = offsets.shape[0] - 1
    n_col = values.shape[1]
    n_lag = lags.shape[0]
    for task in prange(n_seg * n_col):
        s = task // n_col
        c = task - s * n_col
        start = offsets[s]
        stop = offsets[s + 1]
        if stop == start:
            continue
        src = _source(values, frames, start, stop, c)
        m = src.shape[0]
        f0 = frames[start]
        for q in range(n_lag):
            col = q * n_col + c
            d = lags[q]
            for i in range(start, stop):
                out[i, col] = src[_clamp(frames[i] - f0 + d, m)]


@jit(parallel=True)
def _gaussian_pool(values, frames, offsets, w, mean, var, std):
    r = (w.shape[0] - 1) // 2
    n_seg = offsets.shape[0] - 1
    n_col = values.shape[1]
    for task in prange(n_seg * n_col):
        s = task // n_col
        c = task - s * n_col
        start = offsets[s]
        stop = offsets[s + 1]
        if stop == start:
            continue
        src = _source(values, frames, start, stop, c)
        m = src.shape[0]
        f0 = frames[start]
        for i in range(start, stop):
            k = frames[i] - f0
            m1 = 0.0
            for j in range(w.shape[0]):
                m1 += w[j] * src[_clamp(k - r + j, m)]
            # two passes: sum w (x - mean)^2 does not cancel the way E[x^2] - mean^2
            # does (that one leaves ~sqrt(eps) * |mean| of noise in the std)
            m2 = 0.0
            for j in range(w.shape[0]):
                d = src[_clamp(k - r + j, m)] - m1
                m2 += w[j] * d * d
            mean[i, c] = m1
            var[i, c] = m2
            std[i, c] = math.sqrt(m2)


# ----------------------------------------------------------------------------- public API


def gaussian_weights(sigma: float, radius: int) -> np.ndarray:
    """Normalised Gaussian weights ``exp(-k^2 / (2 sigma^2))`` for ``k = -radius..radius``.

    Parameters
    ----------
    sigma : float
        Standard deviation in frames (> 0).
    radius : int
        Half-width in frames (>= 0).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (2 * radius + 1,) summing to 1 (scipy's
        ``gaussian_filter1d`` kernel for ``radius = int(4 sigma + 0.5)``).
    """
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number of frames, got {sigma!r}")
    if int(radius) != radius or radius < 0:
        raise ValueError(f"radius must be an integer >= 0, got {radius!r}")
    k = np.arange(-int(radius), int(radius) + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * k * k)
    return w / w.sum()


def pool_window(fps: float, win_sec: float, sigma_pool: float) -> tuple[float, int]:
    """Return mosaic's pooling ``(sigma, radius)`` in frames.

    The window spans ``W = fps * win_sec`` frames. ``sigma = sigma_pool`` when
    positive, else ``max(W / 6, 1)``; ``radius = max(floor(W / 2 + 1/2),
    floor(sigma + 1/2))`` (measured on mosaic-behavior 0.17).

    Parameters
    ----------
    fps : float
        Frames per second (> 0).
    win_sec : float
        Window width in seconds (> 0).
    sigma_pool : float
        Gaussian sigma in frames; ``<= 0`` derives it from the window.

    Returns
    -------
    tuple of (float, int)
    """
    if not (np.isfinite(fps) and fps > 0 and np.isfinite(win_sec) and win_sec > 0):
        raise ValueError(f"fps and win_sec must be positive, got fps={fps}, win_sec={win_sec}")
    width = float(fps) * float(win_sec)
    sigma = float(sigma_pool) if sigma_pool > 0 else max(width / 6.0, 1.0)
    radius = max(math.floor(width / 2.0 + 0.5), math.floor(sigma + 0.5))
    return sigma, int(radius)


def _prepare(values: np.ndarray, frames: np.ndarray, offsets: np.ndarray) -> tuple:
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
    return np.asfortranarray(values), frames, offsets


def gaussian_smooth(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    sigma: float,
    *,
    truncate: float = 4.0,
) -> np.ndarray:
    """Gaussian-smooth each segment on its frame grid (nearest padding).

    Parameters
    ----------
    values : numpy.ndarray
        Array of shape (n,) or (n, n_columns).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    sigma : float
        Standard deviation in frames; ``<= 0`` returns a copy (no smoothing).
    truncate : float, default 4.0
        Radius ``int(truncate * sigma + 0.5)`` (scipy's default).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n, n_columns), Fortran order.

    Examples
    --------
    >>> import numpy as np
    >>> out = gaussian_smooth(np.array([0.0, 0.0, 3.0, 0.0, 0.0]), np.arange(5), [0, 5], 1.0)
    >>> round(float(out[2, 0]), 6)
    1.19683
    """
    v, frames, offsets = _prepare(values, frames, offsets)
    if sigma <= 0:
        return v.copy(order="F")
    w = gaussian_weights(float(sigma), int(truncate * float(sigma) + 0.5))
    out = np.empty_like(v, order="F")
    _gaussian_smooth(v, frames, offsets, w, out)
    return out


def lag_stack(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    lags: np.ndarray | list[int],
    *,
    dtype: type = np.float32,
) -> np.ndarray:
    """Lagged copies of every column, clamped to each segment's first / last frame.

    Parameters
    ----------
    values : numpy.ndarray
        Array of shape (n,) or (n, n_columns).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    lags : sequence of int
        Frame offsets (negative: earlier).
    dtype : numpy dtype, default float32
        Output dtype (mosaic writes float32).

    Returns
    -------
    numpy.ndarray
        Array of shape (n, len(lags) * n_columns), Fortran order: column
        ``q * n_columns + c`` is column ``c`` shifted by ``lags[q]``.
    """
    v, frames, offsets = _prepare(values, frames, offsets)
    lag_arr = np.ascontiguousarray(lags, dtype=np.int64)
    if lag_arr.ndim != 1:
        raise ValueError("lags must be a 1-D sequence of integers")
    out = np.empty((v.shape[0], lag_arr.shape[0] * v.shape[1]), dtype=dtype, order="F")
    _lag_stack(v, frames, offsets, lag_arr, out)
    return out


def gaussian_pool(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    sigma: float,
    radius: int,
    *,
    dtype: type = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-weighted mean, variance and standard deviation per segment.

    Parameters
    ----------
    values : numpy.ndarray
        Array of shape (n,) or (n, n_columns).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    sigma : float
        Gaussian standard deviation in frames (> 0).
    radius : int
        Frames on each side (see :func:`pool_window`).
    dtype : numpy dtype, default float64
        Output dtype.

    Returns
    -------
    tuple of numpy.ndarray
        ``(mean, var, std)``, each of shape (n, n_columns), Fortran order.
    """
    v, frames, offsets = _prepare(values, frames, offsets)
    w = gaussian_weights(float(sigma), int(radius))
    shape = v.shape
    mean = np.empty(shape, dtype=dtype, order="F")
    var = np.empty(shape, dtype=dtype, order="F")
    std = np.empty(shape, dtype=dtype, order="F")
    _gaussian_pool(v, frames, offsets, w, mean, var, std)
    return mean, var, std


@register_warmup
def _warmup() -> None:
    x = np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0], [5.0, 6.0]])
    frames = np.array([0, 1, 3, 0], dtype=np.int64)
    offsets = np.array([0, 3, 4], dtype=np.int64)
    s = gaussian_smooth(x, frames, offsets, 1.0)
    lag_stack(s, frames, offsets, [-1, 0, 2])
    lag_stack(s, frames, offsets, [-1, 0, 2], dtype=np.float64)
    gaussian_pool(x, frames, offsets, 1.0, 2, dtype=np.float32)
    gaussian_pool(x, frames, offsets, 1.0, 2)
