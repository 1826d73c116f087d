"""Clustering kernels: nearest-centroid assignment, NaN-aware column statistics, standardisation.

Farthest-first template selection lives in :mod:`moveo.kernels.farthest`.

All kernels take C-contiguous 2-D arrays ``X`` of shape ``(n_rows, n_columns)``
(float32 or float64). A row with a NaN in any column is *missing*: it is never
assigned to a cluster (label ``-1``), never selected as a template and does not
contribute to column statistics of the columns where it is NaN.

The public wrappers at the bottom validate their input and call the private
``_`` kernels; features and models call the wrappers.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, prange, register_warmup

__all__ = [
    "nan_column_stats",
    "nearest_centroid",
    "rows_complete",
    "standardize",
]

# Rows per parallel chunk: large enough to amortise the scheduling cost, small
# enough that two cores get balanced work on a few hundred thousand rows.
_CHUNK = 4096


@jit(parallel=True)
def _rows_complete(x, out):
    n, d = x.shape
    for i in prange(n):
        ok = True
        for j in range(d):
            v = x[i, j]
            if v != v:  # NaN
                ok = False
                break
        out[i] = ok


@jit(parallel=True)
def _nearest_centroid(x, ct, labels, dist):
    # x: (n, d); ct: centroids transposed (d, k) so the inner loop runs over
    # clusters with unit stride and vectorises. Distances are computed exactly
    # (not via ||x||^2 - 2 x.c + ||c||^2) so near-ties resolve like the formula.
    n, d = x.shape
    k = ct.shape[1]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        acc = np.empty(k, dtype=np.float64)
        start = c * _CHUNK
        stop = min(start + _CHUNK, n)
        for i in range(start, stop):
            for m in range(k):
                acc[m] = 0.0
            missing = False
            for j in range(d):
                xv = np.float64(x[i, j])
                if xv != xv:
                    missing = True
                    break
                for m in range(k):
                    # squared Euclidean distance, summed column by column:
                    # acc[m] = sum_j (x[i, j] - c[m, j]) ** 2
                    diff = xv - ct[j, m]
                    acc[m] += diff * diff
            if missing or k == 0:
                labels[i] = -1
                dist[i] = np.nan
                continue
            best = 0
            best_d = acc[0]
            for m in range(1, k):
                if acc[m] < best_d:
                    best_d = acc[m]
                    best = m
            labels[i] = best
            dist[i] = best_d


@jit(parallel=True)
def _column_sums(x, sums, counts):
    # Per-chunk partial sums (rows of sums/counts are chunks) so no two
    # iterations write the same slot.
    n, d = x.shape
    n_chunks = sums.shape[0]
    for c in prange(n_chunks):
        start = c * _CHUNK
        stop = min(start + _CHUNK, n)
        for i in range(start, stop):
            for j in range(d):
                v = np.float64(x[i, j])
                if v == v:
                    sums[c, j] += v
                    counts[c, j] += 1


@jit(parallel=True)
def _column_sq_dev(x, mean, sq):
    n, d = x.shape
    n_chunks = sq.shape[0]
    for c in prange(n_chunks):
        start = c * _CHUNK
        stop = min(start + _CHUNK, n)
        for i in range(start, stop):
            for j in range(d):
                v = np.float64(x[i, j])
                if v == v:
                    diff = v - mean[j]
                    sq[c, j] += diff * diff


@jit(parallel=True)
def _standardize(x, mean, scale, out):
    n, d = x.shape
    for i in prange(n):
        for j in range(d):
            out[i, j] = (np.float64(x[i, j]) - mean[j]) / scale[j]


# --------------------------------------------------------------------------- wrappers


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows, columns), got shape {arr.shape}")
    if arr.dtype not in (np.float32, np.float64):
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def rows_complete(x: np.ndarray) -> np.ndarray:
    """Return which rows have no NaN in any column.

    Parameters
    ----------
    x : array of shape (n_rows, n_columns)

    Returns
    -------
    numpy.ndarray
        Boolean array of shape (n_rows,).
    """
    arr = _as_matrix(x, "x")
    out = np.empty(arr.shape[0], dtype=np.bool_)
    _rows_complete(arr, out)
    return out


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assign every row to its nearest centroid (squared Euclidean distance).

    Rows with a NaN in any column get label ``-1`` and distance NaN: they are
    never given a cluster they might not belong to. Ties go to the lowest
    centroid index.

    Parameters
    ----------
    x : array of shape (n_rows, n_columns)
        float32 or float64; other real dtypes are converted to float64.
    centroids : array of shape (n_clusters, n_columns)
        Must be finite.

    Returns
    -------
    labels : numpy.ndarray
        int64 array of shape (n_rows,): the centroid index, or -1 for missing rows.
    sq_dist : numpy.ndarray
        float64 array of shape (n_rows,): squared distance to that centroid (NaN
        for missing rows).

    Raises
    ------
    ValueError
        If the column counts differ, there are no centroids, or a centroid is
        not finite.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 0.0], [9.0, 9.0], [np.nan, 1.0]])
    >>> labels, d = nearest_centroid(x, np.array([[1.0, 0.0], [10.0, 10.0]]))
    >>> labels.tolist(), d.tolist()[:2]
    ([0, 1, -1], [1.0, 2.0])
    """
    arr = _as_matrix(x, "x")
    cent = _as_matrix(centroids, "centroids").astype(np.float64)
    if cent.shape[0] == 0:
        raise ValueError("centroids is empty: need at least one centroid")
    if cent.shape[1] != arr.shape[1]:
        raise ValueError(
            f"x has {arr.shape[1]} columns but centroids have {cent.shape[1]}: "
            "use the same columns the centroids were fitted on"
        )
    if not np.isfinite(cent).all():
        raise ValueError("centroids contain NaN or infinite values")
    labels = np.empty(arr.shape[0], dtype=np.int64)
    dist = np.empty(arr.shape[0], dtype=np.float64)
    ct = np.ascontiguousarray(cent.T)
    _nearest_centroid(arr, ct, labels, dist)
    return labels, dist


def nan_column_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean, population standard deviation and count, ignoring NaN.

    Parameters
    ----------
    x : array of shape (n_rows, n_columns)

    Returns
    -------
    mean : numpy.ndarray
        float64 array of shape (n_columns,); NaN for a column with no values.
    std : numpy.ndarray
        float64 array of shape (n_columns,) (``ddof=0``); NaN for a column with
        no values.
    count : numpy.ndarray
        int64 array of shape (n_columns,): number of non-NaN values.
    """
    arr = _as_matrix(x, "x")
    n, d = arr.shape
    n_chunks = max(1, (n + _CHUNK - 1) // _CHUNK)
    sums = np.zeros((n_chunks, d), dtype=np.float64)
    counts = np.zeros((n_chunks, d), dtype=np.int64)
    _column_sums(arr, sums, counts)
    count = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, sums.sum(axis=0) / np.maximum(count, 1), np.nan)
    sq = np.zeros((n_chunks, d), dtype=np.float64)
    _column_sq_dev(arr, np.nan_to_num(mean), sq)
    std = np.where(count > 0, np.sqrt(sq.sum(axis=0) / np.maximum(count, 1)), np.nan)
    return mean, std, count


def standardize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Return ``(x - mean) / std`` column by column, as float64.

    Columns whose ``std`` is 0 or not finite are only centred (divided by 1),
    so constant columns stay 0 instead of becoming NaN. NaN in ``x`` stays NaN.

    Parameters
    ----------
    x : array of shape (n_rows, n_columns)
    mean, std : array of shape (n_columns,)

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_rows, n_columns).
    """
    arr = _as_matrix(x, "x")
    mean = np.ascontiguousarray(mean, dtype=np.float64)
    std = np.ascontiguousarray(std, dtype=np.float64)
    if mean.shape != (arr.shape[1],) or std.shape != (arr.shape[1],):
        raise ValueError(
            f"mean and std must have shape ({arr.shape[1]},) to match x; "
            f"got {mean.shape} and {std.shape}"
        )
    scale = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    out = np.empty(arr.shape, dtype=np.float64)
    _standardize(arr, np.nan_to_num(mean), scale, out)
    return out


@register_warmup
def _warmup() -> None:
    for dtype in (np.float64, np.float32):
        x = np.array([[0.0, 1.0], [2.0, np.nan], [3.0, 4.0]], dtype=dtype)
        rows_complete(x)
        nearest_centroid(x, np.array([[0.0, 0.0], [3.0, 3.0]]))
        m, s, _ = nan_column_stats(x)
        standardize(x, m, s)
