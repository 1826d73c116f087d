"""Farthest-first (greedy farthest-point) template selection.

Takes a C-contiguous 2-D array ``X`` of shape ``(n_rows, n_columns)`` (float32
or float64). Rows with a NaN in any column are never selected. The public
wrapper :func:`farthest_first` validates its input and calls the private
``_farthest_first`` kernel.

How the kernel avoids most distance computations, and why it stays exact
------------------------------------------------------------------------
Greedy farthest-point traversal keeps, for every row, ``r`` = the squared
distance to its nearest selected row, and adds the row with the largest ``r``
(lowest row index on ties). Computing every row's distance to every new
centre costs ``n_rows * n_select`` distances. On random normal 10-D data
(the worst case) the kernel screens about a fifth of those row-centre pairs
with a cheap int8 test and computes about one in 700 in float64; on data of
low intrinsic dimension it screens about one in a hundred. It still selects
exactly the same rows:

1. *Streaming steps.* The first ``n_stream`` steps visit every row. While
   there are few centres nearly every row can change, so a plain pass is
   cheapest.
2. *Groups.* Then every row is put in the group of its nearest centre (the
   first centre reaching the minimum), and each group is stored contiguously,
   sorted by ``r`` descending (row index ascending on ties). A group's first
   member is its farthest row, so the next centre is the best first member.
3. *Triangle pruning.* A new centre ``c`` at squared distance ``D2`` from the
   centre ``a`` of a group cannot come closer to a member at squared distance
   ``r`` from ``a`` when ``D2 > 4 r``: ``|x - c| >= |a - c| - |x - a| =
   sqrt(D2) - sqrt(r) >= sqrt(r)``. The test uses ``D2 > 4 r (1 + 1e-9)``; the
   relative margin is far larger than the rounding of either squared distance
   (about ``1e-15`` relative), so a pruned row is one whose computed distance
   could not be below ``r`` either. As members are sorted by ``r``, the rows
   that may change are a prefix of each group, and most groups have none.
4. *int8 screen, float64 decision.* Each group keeps its members' offsets
   ``v = x - a`` from its centre on a grid of step ``h`` = (largest offset
   coordinate in the group) / 127, as int8 ``q``, column by column (10 bytes
   a row for 10 columns, read by float32 SIMD loops); ``|v - h q| <= e_q =
   0.5001 h sqrt(d)``. A member moves to a new centre ``c`` exactly when
   ``|v - w|^2 < |v|^2`` with ``w = c - a``, that is ``2 v.w > |w|^2 = D2``,
   so the screen only needs the dot product ``h q.w``, in float32. Bounds,
   with ``u = 2**-24``, ``g = (d + 2) 2**-53`` and ``R >= r`` the group's
   largest ``r``: a row that moves in float64 (``s64 < r``, both within a
   relative ``g`` of the real squared distances) has ``v.w > D2/2 - 2 g R``;
   replacing ``v`` by ``h q`` costs at most ``e_q D``; rounding ``w`` and the
   ``d``-term dot product to float32 costs at most ``(d + 3) u |h q| D``, with
   ``|h q| <= sqrt(R)(1 + g) + e_q``. So every row that can move has ``h q.w
   >= D2/2 - e_q D - 2 (d + 4) u (sqrt(R) + e_q) D - 16 g R`` (the last two
   terms at least twice what is needed, which also covers the rounding of
   ``D2``; ``D`` is rounded up and the bound down to float32). Rows below it
   cannot move; the others are decided by the float64 distance (``_sqdist``,
   the very formula of the streaming steps), so every ``r`` the kernel stores
   and compares is a float64 distance and near ties are settled exactly.
   When ``sqrt(R)`` has fallen below half the largest offset the grid was made
   for, the group is quantised again (a group's radius only shrinks). Outside
   ``1e-30 <= R <= 1e30``, or with ``h < 1e-30`` or ``D2 < 1e-60``, float32
   could overflow or lose the bound to subnormals, and every prefix row is
   decided in float64.
5. *Moved rows.* A row that moves to the new centre's group is marked dead
   where it is (its ``r`` stays, so the group stays sorted), and a group is
   packed once a quarter of it is dead: amortised O(1) per move instead of
   shifting the prefix. The new group is written at the end of the buffers,
   which are compacted when full.

Measured alternatives (500,000 x 10 random normal, 5,000 selections): static
spatial leaves (median splits, 32-128 rows) with bounding spheres prune far
less than per-centre groups in 10-D (48-78 % of the rows scanned per step
against about 16 %); a float32 copy of the rows instead of int8 offsets
reads four times the bytes; 16-row register blocks were slower in numba; a
float32 screen in the streaming steps was no faster (the per-row decision
pass dominates);
``prange`` over the candidate groups of a step (2 threads, each group and its
scratch on one thread) was faster at best but several times slower in median
wall time on the shared 2-core machine, like the per-step thread barrier of
the streaming steps, so the kernel is serial.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, register_warmup
from moveo.kernels._checks import as_matrix
from moveo.kernels.clustering import rows_complete

__all__ = ["farthest_first"]

# greedy steps done by streaming over all rows before switching to groups
# (see _farthest_first)
_N_STREAM = 64
# rows per chunk of the streaming pass (one running maximum per chunk)
_CHUNK = 4096
# unit roundoff of float32
_U32 = 2.0**-24
# unit roundoff of float64
_U64 = 2.0**-53


@jit(fastmath=False)
def _sqdist(x, i, point):
    # squared distance of row i to a float64 point, columns summed in order.
    # No fast-math here: a row's distance to a centre must be the same number
    # in every phase of the kernel (streaming, float64 decisions), so a tie in
    # the data stays a tie and goes to the lowest row index.
    s = 0.0
    for j in range(x.shape[1]):
        diff = np.float64(x[i, j]) - point[j]
        s += diff * diff
    return s


@jit
def _prunable(dc2, r):
    # exact triangle-inequality test (module docstring, step 3): a row at
    # squared distance r from its centre, whose centre is at squared distance
    # dc2 from the new centre, cannot get closer to the new centre
    return dc2 > 4.0 * r * (1.0 + 1e-9)


@jit
def _update_min_dist(x, point, slot, dc2, assign, min_d, best_val, best_idx):
    # min_d[i] = min(min_d[i], ||x[i] - point||^2) for rows still eligible
    # (min_d >= 0); then a per-chunk argmax (first index wins ties). Rows whose
    # current centre assign[i] is prunable (step 3) are not recomputed.
    #
    # Serial on purpose: a thread barrier per step (thousands of steps) costs
    # more than it saves on a shared machine (measured: 2 threads 2.6x slower
    # than 1 under load).
    n = x.shape[0]
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
            if a < 0 or not _prunable(dc2[a], cur):
                s = _sqdist(x, i, point)
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
def _compact(gstart, gcount, ndead, n_groups, bidx, br, bq, sidx, sr, sq):
    # copy every group's member segment to the front of the spare buffers, in
    # group order; returns the new end of the used part
    # (live rows only: dead rows, bidx < 0, are dropped)
    pos = 0
    d = bq.shape[0]
    for g in range(n_groups):
        a = gstart[g]
        gstart[g] = pos
        for q in range(a, a + gcount[g]):
            if bidx[q] >= 0:
                sidx[pos] = bidx[q]
                sr[pos] = br[q]
                for j in range(d):
                    sq[j, pos] = bq[j, q]
                pos += 1
        gcount[g] = pos - gstart[g]
        ndead[g] = 0
    return pos


@jit
def _pack_group(g, gstart, gcount, ndead, bidx, br, bq):
    # drop group g's dead rows in place, keeping the order of the others
    d = bq.shape[0]
    a = gstart[g]
    w = a
    for q in range(a, a + gcount[g]):
        if bidx[q] >= 0:
            if w != q:
                bidx[w] = bidx[q]
                br[w] = br[q]
                for j in range(d):
                    bq[j, w] = bq[j, q]
            w += 1
    gcount[g] = w - a
    ndead[g] = 0


@jit
def _drop_dead_front(g, gstart, gcount, ndead, bidx):
    # the first member must be live (it is the group's farthest row)
    while gcount[g] > 0 and bidx[gstart[g]] < 0:
        gstart[g] += 1
        gcount[g] -= 1
        ndead[g] -= 1


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
def _to_int8(v):
    # clamp to [-127, 127]; a non-finite value (overflowing data, where the
    # screen is off anyway) becomes 0 rather than an undefined conversion
    if not np.isfinite(v):
        return np.int8(0)
    return np.int8(min(127.0, max(-127.0, v)))


@jit
def _quantize(x, points, g, at, m, bidx, bq, step):
    # int8 offsets of rows bidx[at:at + m] from their centre points[:, g]:
    # bq[j, q] = round((x[i, j] - centre[j]) / step[g]), |bq| <= 127, with
    # step[g] = (largest |offset|) / 127 (module docstring, step 4)
    d = x.shape[1]
    big = 0.0
    for q in range(at, at + m):
        i = bidx[q]
        if i < 0:  # dead row (moved to another group), never decided again
            continue
        for j in range(d):
            big = max(big, abs(np.float64(x[i, j]) - points[j, g]))
    h = big / 127.0
    step[g] = h
    inv = 1.0 / h if 0.0 < h < 1e300 else 0.0
    for q in range(at, at + m):
        i = bidx[q]
        if i < 0:
            continue
        for j in range(d):
            v = np.rint((np.float64(x[i, j]) - points[j, g]) * inv)
            bq[j, q] = _to_int8(v)


@jit
def _sorted_group(g, idx, r, off, m, at, bidx, br, bq, step):
    # write rows idx[:m] (squared distances r[:m], float64 offsets off[:m]
    # from the centre of group g) as group g at position ``at`` of the group
    # buffers, sorted by (r descending, row index ascending), with their int8
    # offsets (as _quantize, from the offsets already at hand)
    order = np.argsort(-r[:m])
    # equal r: lowest row index first (runs of ties are short except on
    # lattice-like data, where they are sorted by index as a whole)
    q = 0
    while q < m:
        e = q + 1
        while e < m and r[order[e]] == r[order[q]]:
            e += 1
        if e - q > 1:
            run = order[q:e]
            order[q:e] = run[np.argsort(idx[run])]
        q = e
    d = off.shape[1]
    big = 0.0
    for q in range(m):
        bidx[at + q] = idx[order[q]]
        br[at + q] = r[order[q]]
        for j in range(d):
            big = max(big, abs(off[q, j]))
    h = big / 127.0
    step[g] = h
    inv = 1.0 / h if 0.0 < h < 1e300 else 0.0
    for q in range(m):
        o = order[q]
        for j in range(d):
            bq[j, at + q] = _to_int8(np.rint(off[o, j] * inv))
    return at + m


@jit
def _farthest_first(x, n_select, first, min_d, n_stream):
    # Greedy farthest-point traversal from ``first`` (module docstring: the
    # streaming steps, the groups, triangle pruning and the int8 screen).
    # ``min_d`` holds +inf for complete rows and -1 for rows with NaN (which
    # never take part); it is overwritten.
    counts = np.zeros(3, dtype=np.int64)
    return _farthest_first_counted(x, n_select, first, min_d, n_stream, counts)


@jit
def _farthest_first_counted(x, n_select, first, min_d, n_stream, counts):
    # _farthest_first, also adding to ``counts``: [0] prefix rows screened,
    # [1] rows decided in float64 after the screen, [2] rows that moved
    # (tests use them to check that both the screen and its fallback run)
    n, d = x.shape
    selected = np.empty(n_select, dtype=np.int64)
    # centres column by column (vectorised centre-to-centre distances)
    points = np.empty((d, n_select), dtype=np.float64)
    pc = np.empty(d, dtype=np.float64)
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
            pc[j] = np.float64(x[cur, j])
            points[j, s] = pc[j]
        if s == n_select - 1:
            return selected
        for a in range(s):
            acc = 0.0
            for j in range(d):
                diff = points[j, a] - pc[j]
                acc += diff * diff
            dc2[a] = acc
        _update_min_dist(x, pc, s, dc2, assign, min_d, best_val, best_idx)
        bv = -1.0
        bi = -1
        for c in range(n_chunks):
            if best_val[c] > bv:
                bv = best_val[c]
                bi = best_idx[c]
        cur = bi
    # largest distance from an offset to its int8 grid point, in steps h
    # (module docstring, step 4)
    half_cell = 0.5001 * np.sqrt(d)
    # groups of the n_stream centres: rows by centre (counting sort, so each
    # group is in row order), then each group by r descending (stable)
    n_live = 0
    gstart = np.zeros(n_select, dtype=np.int64)
    gcount = np.zeros(n_select, dtype=np.int64)
    for i in range(n):
        if min_d[i] >= 0.0:
            n_live += 1
            gcount[assign[i]] += 1
    for g in range(1, n_stream):
        gstart[g] = gstart[g - 1] + gcount[g - 1]
    cap = n_live + n_live // 2 + 1024
    bidx = np.empty(cap, dtype=np.int64)
    br = np.empty(cap, dtype=np.float64)
    bq = np.empty((d, cap), dtype=np.int8)
    sidx = np.empty(cap, dtype=np.int64)
    sr = np.empty(cap, dtype=np.float64)
    sq = np.empty((d, cap), dtype=np.int8)
    step = np.zeros(n_select, dtype=np.float64)
    ndead = np.zeros(n_select, dtype=np.int64)
    mv_idx = np.empty(n_live, dtype=np.int64)
    mv_r = np.empty(n_live, dtype=np.float64)
    mv_off = np.empty((n_live, d), dtype=np.float64)
    acc32 = np.empty(n_live, dtype=np.float32)
    maybe = np.empty(n_live, dtype=np.int64)
    exact = np.empty(n_live, dtype=np.float64)
    w32 = np.empty(d, dtype=np.float32)
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
            i = sidx[a + q]
            mv_idx[q] = i
            mv_r[q] = min_d[i]
            for j in range(d):
                mv_off[q, j] = np.float64(x[i, j]) - points[j, g]
        _sorted_group(g, mv_idx, mv_r, mv_off, m, a, bidx, br, bq, step)
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
        _drop_dead_front(home, gstart, gcount, ndead, bidx)
        _first_member(home, gstart, gcount, br, bidx, radius, far)
        for j in range(d):
            pc[j] = np.float64(x[c, j])
            points[j, s] = pc[j]
        # squared centre distances, column by column (vectorised over groups)
        dc2[:s] = 0.0
        for j in range(d):
            pj = pc[j]
            col = points[j, :s]
            for a in range(s):
                diff = col[a] - pj
                dc2[a] += diff * diff
        moved = 0
        for a in range(s):
            if gcount[a] == 0 or _prunable(dc2[a], radius[a]):
                continue
            # the prefix of rows that can change (r is non-increasing):
            # galloping search for the first prunable member (probes stay
            # near the front, whose r values are read next anyway)
            start = gstart[a]
            end = start + gcount[a]
            lo = start
            step_len = 1
            hi = start + 1
            while hi < end and not _prunable(dc2[a], br[hi]):
                lo = hi
                step_len *= 2
                hi = start + step_len
            hi = min(hi, end)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _prunable(dc2[a], br[mid]):
                    hi = mid
                else:
                    lo = mid
            p = hi - start
            counts[0] += p
            # int8 screen (step 4): offsets were quantised against the
            # group's largest offset when written; once sqrt(R) is below half
            # of it, the grid is too coarse, so quantise the members again
            sqrt_r = np.sqrt(radius[a])
            if sqrt_r < 0.5 * 127.0 * step[a]:
                _quantize(x, points, a, start, gcount[a], bidx, bq, step)
            h = step[a]
            acc = acc32[:p]
            acc[:] = 0.0
            if 1e-30 <= radius[a] <= 1e30 and h >= 1e-30 and dc2[a] >= 1e-60:
                # dot products of the int8 offsets with w = c - a (float32);
                # a row can move only if h q.w reaches the bound (step 4)
                for j in range(d):
                    w32[j] = np.float32(pc[j] - points[j, a])
                for j in range(d):
                    wj = w32[j]
                    col8 = bq[j, start : start + p]
                    for q in range(p):
                        acc[q] += np.float32(col8[q]) * wj
                d_up = np.sqrt(dc2[a]) * (1.0 + 1e-12)
                e_q = half_cell * h
                bound = (
                    0.5 * dc2[a]
                    - e_q * d_up
                    - 2.0 * (d + 4) * _U32 * (sqrt_r + e_q) * d_up
                    - 16.0 * (d + 2) * _U64 * radius[a]
                ) / h
                # in float32, rounded down (a lower bound only flags more rows)
                bound -= abs(bound) * 1e-12
                bound32 = np.float32(bound)
                if np.float64(bound32) > bound:
                    bound32 = np.nextafter(bound32, np.float32(-np.inf))
            else:
                bound32 = np.float32(-np.inf)
            # rows the screen cannot rule out (few; dead rows are skipped later)
            n_maybe = 0
            for q in range(p):
                if acc[q] >= bound32:
                    maybe[n_maybe] = start + q
                    n_maybe += 1
            if n_maybe == 0:
                continue
            # float64 decision for those rows (positions first, then the
            # distances in a tight loop, so the scattered row reads overlap).
            # A row that moves is marked dead (bidx = -1) where it is: its r
            # stays, so the group stays sorted for the binary search, and the
            # group is packed once a quarter of it is dead (amortised O(1)
            # per move, instead of shifting the prefix at every move)
            n_live_maybe = 0
            for t in range(n_maybe):
                if bidx[maybe[t]] >= 0:
                    maybe[n_live_maybe] = maybe[t]
                    n_live_maybe += 1
            n_maybe = n_live_maybe
            counts[1] += n_maybe
            for t in range(n_maybe):
                exact[t] = _sqdist(x, bidx[maybe[t]], pc)
            n_closer = 0
            for t in range(n_maybe):
                q = maybe[t]
                if exact[t] < br[q]:
                    i = bidx[q]
                    mv_idx[moved] = i
                    mv_r[moved] = exact[t]
                    for j in range(d):
                        mv_off[moved, j] = np.float64(x[i, j]) - pc[j]
                    moved += 1
                    bidx[q] = -1
                    n_closer += 1
            if n_closer == 0:
                continue
            counts[2] += n_closer
            ndead[a] += n_closer
            _drop_dead_front(a, gstart, gcount, ndead, bidx)
            if 4 * ndead[a] > gcount[a]:
                _pack_group(a, gstart, gcount, ndead, bidx, br, bq)
            _first_member(a, gstart, gcount, br, bidx, radius, far)
        if tail + moved > cap:
            tail = _compact(gstart, gcount, ndead, s, bidx, br, bq, sidx, sr, sq)
            bidx, sidx = sidx, bidx
            br, sr = sr, br
            bq, sq = sq, bq
        gstart[s] = tail
        gcount[s] = moved
        tail = _sorted_group(s, mv_idx, mv_r, mv_off, moved, tail, bidx, br, bq, step)
        _first_member(s, gstart, gcount, br, bidx, radius, far)
    return selected


def farthest_first(x: np.ndarray, n_select: int, *, first: int | None = None) -> np.ndarray:
    """Select rows by greedy farthest-point traversal.

    Starting from ``first``, repeatedly add the row whose squared Euclidean
    distance to its nearest already-selected row is largest (ties: lowest row
    index). Rows with a NaN are never selected. Standardise the columns first
    (:func:`standardize`) so no column dominates by its units.

    The result is exactly that of computing every row's distance to every new
    row; triangle-inequality pruning and an int8 screen with a proven error
    bound only skip distances that cannot change the result, and every
    decision that matters is made with float64 distances (see the module
    docstring).

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
    arr = as_matrix("x", x)
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
    # float64 only: extract-templates hands it standardised float64 columns; float32
    # input compiles on its first call
    x = np.array([[0.0, 1.0], [2.0, np.nan], [3.0, 4.0], [5.0, 0.0]])
    farthest_first(x, 2)
    # the group phase too (n_stream=1)
    _farthest_first(x, 3, 0, np.where(rows_complete(x), np.inf, -1.0), 1)
