"""Farthest-first (greedy farthest-point) template selection.

Takes a C-contiguous 2-D array ``X`` of shape ``(n_rows, n_columns)`` (float32
or float64). Rows with a NaN in any column are never selected. The public
wrapper :func:`farthest_first` validates its input and calls the private
``_farthest_first`` kernel.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, register_warmup
from moveo.kernels.clustering import _CHUNK, _as_matrix, rows_complete

__all__ = ["farthest_first"]

# greedy steps done by streaming over all rows before switching to groups
# (see _farthest_first)
_N_STREAM = 64


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


@register_warmup
def _warmup() -> None:
    for dtype in (np.float64, np.float32):
        x = np.array([[0.0, 1.0], [2.0, np.nan], [3.0, 4.0]], dtype=dtype)
        farthest_first(x, 2)
