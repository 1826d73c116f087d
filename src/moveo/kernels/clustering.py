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
from moveo.kernels._checks import as_matrix

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


# --------------------------------------------------------------- nearest centroid
#
# Contract: the label of a complete row is the argmin over centroids of its
# squared Euclidean distance computed in float64 the obvious way,
# ``sum_j (x[i, j] - c[m, j]) ** 2`` summed left to right with every operation
# rounded (no fused multiply-add, no reordering), ties to the lowest index; the
# returned distance is that float64 value. ``tests/reference/models.py`` spells
# out the same formula and the tests compare labels and distances bit for bit.
#
# Evaluating that for every (row, centroid) pair costs two dependent float64
# operations per element. Instead a *filter* runs first, in float32 and in the
# GEMM form, after shifting everything by s = the mean of the centroids
# (distances do not change; the rounding error shrinks for data far from 0):
#
#     A[i, m] = ||c_m - s||^2 - 2 (x_i - s) . (c_m - s)     (= D[i, m] - ||x_i - s||^2)
#
# one float32 FMA per element, vectorised over a block of rows (the block is
# transposed to (n_columns, block) float32 so the inner loop runs over
# contiguous rows). Per row the filter keeps the smallest value b1 (at centroid
# ``arg``) and the second smallest b2 (equal to b1 on a tie). Given a bound E
# with |A[i, m] + ||x_i - s||^2 - R[i, m]| <= E for every m, where R is the
# contract distance, ``b2 - b1 > 2 E`` proves R[i, m] - R[i, arg] >=
# A[i, m] - A[i, arg] - 2 E >= b2 - b1 - 2 E > 0 for every m != arg: ``arg`` is
# the contract's label (and the argmin of the real-valued distance too). Rows
# failing the test (near or exact ties, NaN, huge values) are recomputed with
# the exact loop over all centroids. The returned distance is always the
# contract value, computed exactly for the winner.
#
# The bound (see _filter_bound). u = 2**-24 (float32 unit roundoff), d columns,
# x* = x - s and c* = c_m - s exactly, X = ||x*||^2, C = ||c*||^2,
# P = sum_j |x*_j c*_j| <= (X + C) / 2, gamma_n = n u / (1 - n u).
# - The filter's inputs fl32(fl64(x_j - s_j)) and fl32(-2 fl64(c_j - s_j)) are
#   each within a relative u (1 + 2**-28) of x*_j and -2 c*_j, so each product
#   is within 2.01 u * 2 |x*_j c*_j| of -2 x*_j c*_j; fl32(||c*||^2) is within
#   1.01 u C.
# - Summing the d + 1 terms in float32, in any order, fused or not, adds at most
#   gamma_{d+1} times the sum of their magnitudes, <= 1.01 (C + 2 P) <= 2.02 (X + C).
# - So |A - (C - 2 x*.c*)| <= u (X + C) (3.02 + 2.05 (d + 1)) for (d + 1) u <= 0.01.
# - The contract value R is within gamma_{d+2} (float64) of the real distance
#   D <= 2 (X + C): below 0.01 u (X + C) for d <= 4096.
# - The kernel only has Xf = fl32(sum_j fl32(x*_j)^2) >= X (1 - 1.1 (d + 2) u).
# Hence |A + X - R| <= u (Xf + Cmax) (2.06 d + 5.2) for d <= 4096, with
# Cmax = max_m C; we use E = (4 d + 8) u (Xf + Cmax), a margin of almost two
# (which also absorbs the float64 rounding of Cmax, of E and of b2 - b1), plus
# 2**-140 (d + 1 + Xf + Cmax) for float32 underflow (an underflowing rounding
# is off by <= 2**-150 absolute, not relatively). Overflow is impossible while
# Xf <= 2**100 and Cmax <= 2**100 (every partial sum stays below 2**115); rows
# with a larger, infinite or NaN Xf take the exact path, and calls whose
# shifted centroids are that large or that have more than 4096 columns run the
# exact path for every row.

# Rows per filter block: the float32 transposed block (n_columns x 256 x 4
# bytes, 20 KB for 20 columns) and the per-row accumulators stay in L1.
_BLOCK = 256
# Largest squared norm (of a shifted row or centroid) the float32 filter accepts.
_FILTER_MAX_NORM = 2.0**100
_FILTER_MAX_COLUMNS = 4096


@jit
def _filter_bound(xf, c_max, d):
    # E in the derivation above: bound on |A[i, m] + ||x_i - s||^2 - R[i, m]|
    # given the float32 squared norm xf of the shifted row.
    u = 2.0**-24
    return (4.0 * d + 8.0) * u * (xf + c_max) + 2.0**-140 * (d + 1.0 + xf + c_max)


@jit(fastmath=False)
def _exact_sq_dist(x, i, cent, m):
    # The contract formula, compiled without fast-math so the compiler may not
    # fuse the multiply-add or reorder the sum: sum_j (x[i, j] - c[m, j]) ** 2.
    s = 0.0
    for j in range(x.shape[1]):
        t = np.float64(x[i, j]) - cent[m, j]
        s = s + t * t
    return s


@jit(fastmath=False)
def _winner_sq_dist(x, start, nb, cent, arg, dist):
    # dist[start + r] = contract distance of row start + r to centroid arg[r].
    # Four rows at a time: four independent left-to-right sums keep the
    # floating-point units busy where a single sum waits on each addition.
    d = x.shape[1]
    r = 0
    while r + 4 <= nb:
        i = start + r
        m0 = arg[r]
        m1 = arg[r + 1]
        m2 = arg[r + 2]
        m3 = arg[r + 3]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for j in range(d):
            t0 = np.float64(x[i, j]) - cent[m0, j]
            t1 = np.float64(x[i + 1, j]) - cent[m1, j]
            t2 = np.float64(x[i + 2, j]) - cent[m2, j]
            t3 = np.float64(x[i + 3, j]) - cent[m3, j]
            s0 = s0 + t0 * t0
            s1 = s1 + t1 * t1
            s2 = s2 + t2 * t2
            s3 = s3 + t3 * t3
        dist[i] = s0
        dist[i + 1] = s1
        dist[i + 2] = s2
        dist[i + 3] = s3
        r += 4
    while r < nb:
        dist[start + r] = _exact_sq_dist(x, start + r, cent, arg[r])
        r += 1


@jit(fastmath=False)
def _exact_row(x, i, ct, acc, labels, dist):
    # Row i against every centroid by the contract; NaN rows get -1 / NaN.
    # ct: (d, k) centroids transposed, acc: (k,) scratch. Each centroid's sum
    # still runs left to right over the columns; the loop over centroids is
    # the inner one only so that it vectorises (no reordering within a sum).
    d = x.shape[1]
    k = ct.shape[1]
    for j in range(d):
        v = x[i, j]
        if v != v:
            labels[i] = -1
            dist[i] = np.nan
            return
    for m in range(k):
        acc[m] = 0.0
    for j in range(d):
        v = np.float64(x[i, j])
        for m in range(k):
            t = v - ct[j, m]
            acc[m] = acc[m] + t * t
    best = 0
    best_d = acc[0]
    for m in range(1, k):
        if acc[m] < best_d:  # strict: ties keep the lower index
            best_d = acc[m]
            best = m
    labels[i] = best
    dist[i] = best_d


@jit(parallel=True)
def _nearest_centroid_exact(x, ct, labels, dist, n_exact):
    # Exact path for every row (when the float32 filter is not safe to use).
    n = x.shape[0]
    for c in prange(n_exact.shape[0]):
        acc = np.empty(ct.shape[1], dtype=np.float64)
        stop = min(c * _CHUNK + _CHUNK, n)
        for i in range(c * _CHUNK, stop):
            _exact_row(x, i, ct, acc, labels, dist)
        n_exact[c] = max(0, stop - c * _CHUNK)


@jit(parallel=True)
def _nearest_centroid(x, cent, ct, shift, w, cn, c_max, labels, dist, n_exact):
    # x: (n, d) rows; cent: (k, d) float64 centroids and ct = cent.T (exact
    # path); shift: (d,);
    # w: (k, d) float32 = -2 (c - shift); cn: (k,) float32 = ||c - shift||^2;
    # c_max = max ||c - shift||^2. n_exact[c]: rows of chunk c that took the
    # exact path (for tests and diagnostics).
    n, d = x.shape
    k = w.shape[0]
    for c in prange(n_exact.shape[0]):
        # per-chunk scratch, reused by every block of the chunk
        xt = np.empty((d, _BLOCK), dtype=np.float32)
        xn = np.empty(_BLOCK, dtype=np.float32)
        acc0 = np.empty(_BLOCK, dtype=np.float32)
        acc1 = np.empty(_BLOCK, dtype=np.float32)
        b1 = np.empty(_BLOCK, dtype=np.float32)
        b2 = np.empty(_BLOCK, dtype=np.float32)
        arg = np.empty(_BLOCK, dtype=np.int64)
        scratch = np.empty(k, dtype=np.float64)
        exact = 0
        c_start = c * _CHUNK
        c_stop = min(c_start + _CHUNK, n)
        for bs in range(c_start, c_stop, _BLOCK):
            nb = min(_BLOCK, c_stop - bs)
            # shift, round to float32 and transpose the block; ||x - s||^2
            for r in range(nb):
                sq = np.float32(0.0)
                for j in range(d):
                    v = np.float32(np.float64(x[bs + r, j]) - shift[j])
                    xt[j, r] = v
                    sq += v * v
                xn[r] = sq
                b1[r] = np.inf
                b2[r] = np.inf
                arg[r] = 0
            # two centroids per pass share the loads of xt; an odd last
            # centroid is paired with itself plus an infinite offset (never wins)
            for m0 in range(0, k, 2):
                m1 = min(m0 + 1, k - 1)
                off0 = cn[m0]
                off1 = cn[m1] if m0 + 1 < k else np.float32(np.inf)
                # acc[r] = ||c - s||^2 + sum_j xt[j, r] * (-2 (c[m, j] - s[j])):
                # the first d % 4 columns with the initialisation, then four
                # columns a sweep; the last sweep merges the pair into each
                # row's (smallest, second smallest, argmin) without storing acc
                rem = d % 4
                n4 = d // 4
                if rem == 0:
                    for r in range(nb):
                        acc0[r] = off0
                        acc1[r] = off1
                elif rem == 1:
                    p0 = w[m0, 0]
                    q0 = w[m1, 0]
                    for r in range(nb):
                        x0 = xt[0, r]
                        acc0[r] = off0 + x0 * p0
                        acc1[r] = off1 + x0 * q0
                elif rem == 2:
                    p0 = w[m0, 0]
                    p1 = w[m0, 1]
                    q0 = w[m1, 0]
                    q1 = w[m1, 1]
                    for r in range(nb):
                        x0 = xt[0, r]
                        x1 = xt[1, r]
                        acc0[r] = off0 + x0 * p0 + x1 * p1
                        acc1[r] = off1 + x0 * q0 + x1 * q1
                else:
                    p0 = w[m0, 0]
                    p1 = w[m0, 1]
                    p2 = w[m0, 2]
                    q0 = w[m1, 0]
                    q1 = w[m1, 1]
                    q2 = w[m1, 2]
                    for r in range(nb):
                        x0 = xt[0, r]
                        x1 = xt[1, r]
                        x2 = xt[2, r]
                        acc0[r] = off0 + x0 * p0 + x1 * p1 + x2 * p2
                        acc1[r] = off1 + x0 * q0 + x1 * q1 + x2 * q2
                j = rem
                for _ in range(n4 - 1):
                    p0 = w[m0, j]
                    p1 = w[m0, j + 1]
                    p2 = w[m0, j + 2]
                    p3 = w[m0, j + 3]
                    q0 = w[m1, j]
                    q1 = w[m1, j + 1]
                    q2 = w[m1, j + 2]
                    q3 = w[m1, j + 3]
                    for r in range(nb):
                        x0 = xt[j, r]
                        x1 = xt[j + 1, r]
                        x2 = xt[j + 2, r]
                        x3 = xt[j + 3, r]
                        acc0[r] += x0 * p0 + x1 * p1 + x2 * p2 + x3 * p3
                        acc1[r] += x0 * q0 + x1 * q1 + x2 * q2 + x3 * q3
                    j += 4
                if n4 > 0:  # last sweep + merge
                    p0 = w[m0, j]
                    p1 = w[m0, j + 1]
                    p2 = w[m0, j + 2]
                    p3 = w[m0, j + 3]
                    q0 = w[m1, j]
                    q1 = w[m1, j + 1]
                    q2 = w[m1, j + 2]
                    q3 = w[m1, j + 3]
                    for r in range(nb):
                        x0 = xt[j, r]
                        x1 = xt[j + 1, r]
                        x2 = xt[j + 2, r]
                        x3 = xt[j + 3, r]
                        a0 = acc0[r] + (x0 * p0 + x1 * p1 + x2 * p2 + x3 * p3)
                        a1 = acc1[r] + (x0 * q0 + x1 * q1 + x2 * q2 + x3 * q3)
                        lo = min(a0, a1)
                        hi = max(a0, a1)
                        idx = m1 if a1 < a0 else m0
                        prev = b1[r]
                        b2[r] = min(max(prev, lo), min(b2[r], hi))
                        better = lo < prev
                        b1[r] = lo if better else prev
                        arg[r] = idx if better else arg[r]
                else:  # fewer than 4 columns: merge only
                    for r in range(nb):
                        a0 = acc0[r]
                        a1 = acc1[r]
                        lo = min(a0, a1)
                        hi = max(a0, a1)
                        idx = m1 if a1 < a0 else m0
                        prev = b1[r]
                        b2[r] = min(max(prev, lo), min(b2[r], hi))
                        better = lo < prev
                        b1[r] = lo if better else prev
                        arg[r] = idx if better else arg[r]
            # the winner's exact distance for every row (fallback rows below
            # overwrite theirs), then the test of the filter's answer
            _winner_sq_dist(x, bs, nb, cent, arg, dist)
            for r in range(nb):
                i = bs + r
                xf = np.float64(xn[r])
                gap = np.float64(b2[r]) - np.float64(b1[r])
                if xf <= _FILTER_MAX_NORM and gap > 2.0 * _filter_bound(xf, c_max, d):
                    labels[i] = arg[r]
                else:  # near or exact tie, NaN, or too large for float32
                    _exact_row(x, i, ct, scratch, labels, dist)
                    exact += 1
        n_exact[c] = exact


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
    arr = as_matrix("x", x)
    out = np.empty(arr.shape[0], dtype=np.bool_)
    _rows_complete(arr, out)
    return out


def _assign(x: np.ndarray, cent: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Run the nearest-centroid kernels; also return how many rows took the exact path."""
    n = x.shape[0]
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    n_exact = np.zeros((n + _CHUNK - 1) // _CHUNK, dtype=np.int64)
    ct = np.ascontiguousarray(cent.T)
    # huge centroids may overflow here: c_max is then inf or NaN -> exact path
    with np.errstate(over="ignore", invalid="ignore"):
        shift = cent.mean(axis=0)
        shifted = cent - shift
        c_norm = np.einsum("ij,ij->i", shifted, shifted)
    c_max = float(c_norm.max())
    if c_max <= _FILTER_MAX_NORM and x.shape[1] <= _FILTER_MAX_COLUMNS:
        w = (-2.0 * shifted).astype(np.float32)
        cn = c_norm.astype(np.float32)
        _nearest_centroid(x, cent, ct, shift, w, cn, c_max, labels, dist, n_exact)
    else:
        _nearest_centroid_exact(x, ct, labels, dist, n_exact)
    return labels, dist, int(n_exact.sum())


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assign every row to its nearest centroid (squared Euclidean distance).

    Rows with a NaN in any column get label ``-1`` and distance NaN: they are
    never given a cluster they might not belong to. Ties go to the lowest
    centroid index (a row whose distances all overflow to infinity, e.g. one
    holding ``inf``, therefore gets centroid 0).

    The result is exact: labels and distances are those of the float64 formula
    ``sum_j (x[i, j] - c[m, j]) ** 2`` evaluated left to right with every
    operation rounded, bit for bit.

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

    Notes
    -----
    A float32 filter does most of the work: after shifting rows and centroids
    by the centroids' mean, it computes ``||c||^2 - 2 x.c`` for blocks of 256
    rows (one vectorised FMA per row, centroid and column, two threads over
    row chunks) and keeps each row's best and second-best value. A proven
    bound on the filter's rounding error, ``(4 d + 8) 2**-24 (||x - s||^2 +
    max_m ||c_m - s||^2)`` for ``d`` columns, decides: when the best value
    beats the second by more than twice the bound, the best centroid is the
    exact answer and only its distance is computed in float64; otherwise
    (near or exact ties, NaN, values too large for float32) the row is
    recomputed exactly against every centroid (1 to 2 rows in 10,000 in the
    benchmarks). The derivation of the bound is in the module source.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 0.0], [9.0, 9.0], [np.nan, 1.0]])
    >>> labels, d = nearest_centroid(x, np.array([[1.0, 0.0], [10.0, 10.0]]))
    >>> labels.tolist(), d.tolist()[:2]
    ([0, 1, -1], [1.0, 2.0])
    """
    arr = as_matrix("x", x)
    cent = as_matrix("centroids", centroids).astype(np.float64)
    if cent.shape[0] == 0:
        raise ValueError("centroids is empty: need at least one centroid")
    if cent.shape[1] != arr.shape[1]:
        raise ValueError(
            f"x has {arr.shape[1]} columns but centroids have {cent.shape[1]}: "
            "use the same columns the centroids were fitted on"
        )
    if not np.isfinite(cent).all():
        raise ValueError("centroids contain NaN or infinite values")
    labels, dist, _ = _assign(arr, cent)
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
    arr = as_matrix("x", x)
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
    arr = as_matrix("x", x)
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
    # float64 only: the features hand these kernels float64 matrices
    # (moveo.features._global.matrix); float32 input compiles on its first call
    x = np.array([[0.0, 1.0], [2.0, np.nan], [3.0, 4.0]])
    rows_complete(x)
    nearest_centroid(x, np.array([[0.0, 0.0], [3.0, 3.0]]))
    m, s, _ = nan_column_stats(x)
    standardize(x, m, s)
