"""Clustering kernels: nearest-centroid assignment, farthest-first selection, standardisation.

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
    "farthest_first",
    "nan_column_stats",
    "nearest_centroid",
    "rows_complete",
    "standardize",
]

# Rows per parallel chunk: large enough to amortise the scheduling cost, small
# enough that two cores get balanced work on a few hundred thousand rows.
_CHUNK = 4096

# farthest-first: greedy steps done by streaming over all rows before switching
# to groups (see _farthest_first)
_N_STREAM = 64


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


@jit
def _compact(gstart, gcount, n_groups, bidx, br, bx, sidx, sr, sx):
    # copy every group's member segment to the front of the spare buffers, in
    # group order; returns the new end of the used part
    pos = 0
    d = bx.shape[1]
    for g in range(n_groups):
        a = gstart[g]
        for q in range(gcount[g]):
            sidx[pos + q] = bidx[a + q]
            sr[pos + q] = br[a + q]
            for j in range(d):
                sx[pos + q, j] = bx[a + q, j]
        gstart[g] = pos
        pos += gcount[g]
    return pos


@jit
def _prunable(dc2, r):
    # exact triangle-inequality test (see _farthest_first): a row at squared
    # distance r from its centre, whose centre is at squared distance dc2 from
    # the new centre, cannot get closer to the new centre
    return dc2 > 4.0 * r * (1.0 + 1e-9)


@jit
def _update_min_dist(x, point, slot, dc2, assign, min_d, best_val, best_idx):
    # min_d[i] = min(min_d[i], ||x[i] - point||^2) for rows still eligible
    # (min_d >= 0); then a per-chunk argmax (first index wins ties).
    #
    # Pruning (exact): row i's nearest selected point so far is slot a = assign[i]
    # at distance r = sqrt(min_d[i]). If the new point is at distance D >= 2r from
    # slot a, the triangle inequality gives ||x_i - point|| >= D - r >= r, so the
    # new point cannot be closer and the row's distance need not be computed.
    # dc2[a] = D^2, so the test is D^2 > 4 r^2 (with a relative margin for rounding).
    #
    # Serial on purpose: a thread barrier per step (thousands of steps) costs
    # more than it saves on a shared machine (measured: 2 threads 2.6x slower
    # than 1 under load).
    n, d = x.shape
    n_chunks = best_val.shape[0]
    for c in range(n_chunks):
        start = c * _CHUNK
        stop = min(start + _CHUNK, n)
        bv = -1.0
        bi = -1
        for i in range(start, stop):
            cur = min_d[i]
            if cur < 0.0:  # missing row or already selected
                continue
            a = assign[i]
            if a < 0 or dc2[a] <= 4.0 * cur * (1.0 + 1e-9):
                s = 0.0
                for j in range(d):
                    diff = np.float64(x[i, j]) - point[j]
                    s += diff * diff
                if s < cur:
                    cur = s
                    min_d[i] = s
                    assign[i] = slot
            if cur > bv:
                bv = cur
                bi = i
        best_val[c] = bv
        best_idx[c] = bi


@jit
def _farthest_first(x, n_select, first, min_d, n_stream):
    # Greedy farthest-point traversal: start at ``first``; repeatedly add the
    # row whose squared distance r to its nearest selected row is largest,
    # lowest row index on ties. Rows with min_d < 0 (NaN rows) never take part.
    #
    # The first n_stream steps stream over all rows (_update_min_dist: one
    # pass per step, per-row triangle pruning): while there are few centres,
    # groups are large and most rows would move each step, so streaming is
    # cheaper. Then the rows are put into groups, one per selected centre: the
    # rows whose nearest centre it is (the first centre reaching the minimum),
    # stored contiguously (row index, r, a float64 copy of the row) and sorted
    # by (r descending, row index ascending), so a group's first member is its
    # farthest row and the next centre is the best first member.
    #
    # When a new centre c is added at squared distance D2 from centre a, a member
    # of group a at squared distance r with D2 > 4 r (1 + 1e-9) cannot get closer
    # to c: the triangle inequality gives ||x - c|| >= sqrt(D2) - sqrt(r) >=
    # sqrt(r), and the relative margin covers rounding. Because members are
    # sorted by r, the rows that can change are a prefix of each group (found by
    # binary search; empty for most groups). Only prefixes are scanned; members
    # that get closer to c move to c's new group, the others keep their order.
    # Both phases give what computing every row's distance to every new centre
    # gives.
    n, d = x.shape
    selected = np.empty(n_select, dtype=np.int64)
    points = np.empty((n_select, d), dtype=np.float64)
    dc2 = np.empty(n_select, dtype=np.float64)
    assign = np.full(n, -1, dtype=np.int64)
    n_chunks = max(1, (n + _CHUNK - 1) // _CHUNK)
    best_val = np.empty(n_chunks, dtype=np.float64)
    best_idx = np.empty(n_chunks, dtype=np.int64)
    n_stream = max(1, min(n_stream, n_select))
    cur = first
    for s in range(n_stream):
        selected[s] = cur
        min_d[cur] = -1.0
        for j in range(d):
            points[s, j] = x[cur, j]
        if s == n_select - 1:
            return selected
        for a in range(s):
            acc = 0.0
            for j in range(d):
                diff = points[a, j] - points[s, j]
                acc += diff * diff
            dc2[a] = acc
        _update_min_dist(x, points[s], s, dc2, assign, min_d, best_val, best_idx)
        bv = -1.0
        bi = -1
        for c in range(n_chunks):
            if best_val[c] > bv:
                bv = best_val[c]
                bi = best_idx[c]
        cur = bi
    # groups of the n_stream centres: rows by centre (counting sort, so each
    # group is in row order), then each group by r descending (stable)
    gstart = np.zeros(n_select, dtype=np.int64)
    gcount = np.zeros(n_select, dtype=np.int64)
    n_live = 0
    for i in range(n):
        if min_d[i] >= 0.0:
            n_live += 1
            gcount[assign[i]] += 1
    for g in range(1, n_stream):
        gstart[g] = gstart[g - 1] + gcount[g - 1]
    cap = n_live + n_live // 2 + 1024
    bidx = np.empty(cap, dtype=np.int64)
    br = np.empty(cap, dtype=np.float64)
    bx = np.empty((cap, d), dtype=np.float64)
    sidx = np.empty(cap, dtype=np.int64)
    sr = np.empty(cap, dtype=np.float64)
    sx = np.empty((cap, d), dtype=np.float64)
    mv_idx = np.empty(n_live, dtype=np.int64)
    mv_r = np.empty(n_live, dtype=np.float64)
    pdist = np.empty(n_live, dtype=np.float64)
    plen = np.zeros(n_select, dtype=np.int64)
    fill = gstart.copy()
    for i in range(n):
        if min_d[i] >= 0.0:
            sidx[fill[assign[i]]] = i
            fill[assign[i]] += 1
    radius = np.full(n_select, -1.0)
    far = np.full(n_select, -1, dtype=np.int64)
    for g in range(n_stream):
        a = gstart[g]
        m = gcount[g]
        for q in range(m):
            mv_idx[q] = sidx[a + q]
            mv_r[q] = min_d[sidx[a + q]]
        _sorted_group(x, mv_idx, mv_r, m, a, bidx, br, bx)
        _first_member(g, gstart, gcount, br, bidx, radius, far)
    tail = n_live
    for s in range(n_stream, n_select):
        # next centre: the farthest first member, lowest row index on ties
        # (radius/far mirror each group's first member; -1 when empty)
        bv = -1.0
        c = -1
        home = -1
        for g in range(s):
            if radius[g] > bv or (radius[g] == bv and far[g] < c):
                bv = radius[g]
                c = far[g]
                home = g
        selected[s] = c
        gstart[home] += 1
        gcount[home] -= 1
        _first_member(home, gstart, gcount, br, bidx, radius, far)
        for j in range(d):
            points[s, j] = np.float64(x[c, j])
        # per group: squared centre distance, and the prefix of rows that can change
        need = 0
        for a in range(s):
            acc = 0.0
            for j in range(d):
                diff = points[a, j] - points[s, j]
                acc += diff * diff
            dc2[a] = acc
            if gcount[a] == 0 or _prunable(acc, radius[a]):
                plen[a] = 0
                continue
            lo = gstart[a]
            hi = lo + gcount[a]
            while hi - lo > 1:  # first prunable member (r is non-increasing)
                mid = (lo + hi) // 2
                if _prunable(acc, br[mid]):
                    hi = mid
                else:
                    lo = mid
            plen[a] = hi - gstart[a]
            need += plen[a]
        if tail + need > cap:
            tail = _compact(gstart, gcount, s, bidx, br, bx, sidx, sr, sx)
            bidx, sidx = sidx, bidx
            br, sr = sr, br
            bx, sx = sx, bx
        moved = 0
        for a in range(s):
            p = plen[a]
            if p == 0:
                continue
            start = gstart[a]
            # distances of the prefix to the new centre (branch-free)
            n_closer = 0
            for q in range(p):
                s2 = 0.0
                for j in range(d):
                    diff = bx[start + q, j] - points[s, j]
                    s2 += diff * diff
                pdist[q] = s2
                n_closer += s2 < br[start + q]
            if n_closer == 0:
                continue
            # walk the prefix backwards, packing the rows that stay against
            # the unscanned rest of the group (their order is kept)
            w = start + p - 1
            for q in range(start + p - 1, start - 1, -1):
                cur = br[q]
                s2 = pdist[q - start]
                if s2 < cur:
                    mv_idx[moved] = bidx[q]
                    mv_r[moved] = s2
                    moved += 1
                    continue
                if w != q:
                    bidx[w] = bidx[q]
                    br[w] = cur
                    for j in range(d):
                        bx[w, j] = bx[q, j]
                w -= 1
            gone = w - start + 1
            gstart[a] += gone
            gcount[a] -= gone
            _first_member(a, gstart, gcount, br, bidx, radius, far)
        gstart[s] = tail
        gcount[s] = moved
        tail = _sorted_group(x, mv_idx, mv_r, moved, tail, bidx, br, bx)
        _first_member(s, gstart, gcount, br, bidx, radius, far)
    return selected


@jit
def _first_member(g, gstart, gcount, br, bidx, radius, far):
    # mirror group g's first member (its farthest row) in the dense arrays
    if gcount[g] > 0:
        radius[g] = br[gstart[g]]
        far[g] = bidx[gstart[g]]
    else:
        radius[g] = -1.0
        far[g] = -1


@jit
def _sorted_group(x, idx, r, m, at, bidx, br, bx):
    # write rows idx[:m] (squared distances r[:m]) at position ``at`` of the
    # group buffers, sorted by (r descending, row index ascending)
    by_row = np.argsort(idx[:m])
    order = by_row[np.argsort(-r[:m][by_row], kind="mergesort")]
    d = x.shape[1]
    for q in range(m):
        i = idx[order[q]]
        bidx[at + q] = i
        br[at + q] = r[order[q]]
        for j in range(d):
            bx[at + q, j] = np.float64(x[i, j])
    return at + m


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


def farthest_first(x: np.ndarray, n_select: int, *, first: int | None = None) -> np.ndarray:
    """Select rows by greedy farthest-point traversal.

    Starting from ``first``, repeatedly add the row whose squared Euclidean
    distance to its nearest already-selected row is largest (ties: lowest row
    index). Rows with a NaN are never selected. Standardise the columns first
    (:func:`standardize`) so no column dominates by its units.

    Parameters
    ----------
    x : array of shape (n_rows, n_columns)
    n_select : int
        Number of rows to select; at most the number of rows without NaN.
    first : int, optional
        Row to start from (must have no NaN). Default: the first complete row.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_select,): selected row indices in selection order.

    Raises
    ------
    ValueError
        If ``n_select`` is negative or larger than the number of complete rows,
        or ``first`` is out of range or a row with NaN.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [10.0], [4.0]])
    >>> farthest_first(x, 3, first=0).tolist()
    [0, 2, 3]
    """
    arr = _as_matrix(x, "x")
    n_select = int(n_select)
    complete = rows_complete(arr)
    n_ok = int(complete.sum())
    if n_select < 0:
        raise ValueError(f"n_select must be >= 0, got {n_select}")
    if n_select > n_ok:
        raise ValueError(
            f"n_select={n_select} is larger than the {n_ok} rows without NaN; "
            "ask for fewer rows or provide more data"
        )
    if n_select == 0:
        return np.empty(0, dtype=np.int64)
    if first is None:
        first = int(np.argmax(complete))
    first = int(first)
    if not 0 <= first < arr.shape[0]:
        raise ValueError(f"first={first} is outside 0..{arr.shape[0] - 1}")
    if not complete[first]:
        raise ValueError(f"first={first} is a row with NaN; start from a complete row")
    min_d = np.where(complete, np.inf, -1.0)
    return _farthest_first(arr, n_select, first, min_d, _N_STREAM)


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
        farthest_first(x, 2)
        m, s, _ = nan_column_stats(x)
        standardize(x, m, s)
