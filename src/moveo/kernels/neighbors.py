"""Per-frame nearest neighbours among individuals.

Input is the long table (rows sorted by (individual, frame)); the search runs
per *frame*, so the rows are first put in frame-major order
(:func:`frame_order`: a counting sort on frame numbers, or a stable argsort when
the frame numbers are sparse). Within a frame only individuals with finite X and
Y take part.

For ``k = 1`` on the common "panel" layout (a few individuals, each a block of
rows sorted by frame, sharing most of the frame range) no frame sort is done at
all: frames are processed in blocks, each individual's rows of a block are found
by binary search in its own block of rows, and the pair search runs branch-free
over the frames of a block (:func:`_nearest_panel`). Results are identical.

Otherwise each frame's group is searched either densely (all pairs, for small groups) or
with a uniform grid (cell size from the group's bounding box and count, about
two points per cell; rings of cells are visited outwards until no unvisited cell
can hold a nearer point). Both paths give identical results: the k nearest by
distance, ties broken by the smaller id. Frames are independent, so the search
runs in parallel over frames.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels._checks import as_int64_1d, positive_int
from moveo.kernels.geometry import rotate, run_offsets, wrap

__all__ = ["DENSE_MAX", "PANEL_MAX_LANES", "frame_order", "nearest_neighbors", "neighbor_deltas"]

DENSE_MAX: int = 40
"""Largest frame group searched with all pairs; bigger groups use the grid."""

_GROUPS_PER_TASK = 256  # frame groups per parallel task (one scratch set per task)


# ----------------------------------------------------------------------------- ordering


@jit
def _counting_order(frames: np.ndarray, fmin: int, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    n = frames.shape[0]
    starts = np.zeros(n_bins + 1, dtype=np.int64)
    for i in range(n):
        starts[frames[i] - fmin + 1] += 1
    n_groups = 0
    for b in range(n_bins):
        if starts[b + 1] > 0:
            n_groups += 1
        starts[b + 1] += starts[b]
    goff = np.empty(n_groups + 1, dtype=np.int64)
    g = 0
    for b in range(n_bins):
        if starts[b + 1] > starts[b]:
            goff[g] = starts[b]
            g += 1
    goff[n_groups] = n
    perm = np.empty(n, dtype=np.int64)
    fill = starts[:n_bins].copy()
    for i in range(n):  # stable: rows of one frame keep their table order
        b = frames[i] - fmin
        perm[fill[b]] = i
        fill[b] += 1
    return perm, goff


def frame_order(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame-major permutation of a table sorted by (individual, frame).

    Parameters
    ----------
    frames : numpy.ndarray
        Integer frame numbers (or any integer frame-group key) of shape (n,).

    Returns
    -------
    perm : numpy.ndarray
        int64 array of shape (n,): ``frames[perm]`` is sorted and rows of one
        frame keep their original relative order (stable).
    group_offsets : numpy.ndarray
        int64 array of shape (n_frames + 1,): frame group ``g`` is
        ``perm[group_offsets[g]:group_offsets[g + 1]]``.
    """
    frames = as_int64_1d("frames", frames)
    n = frames.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    fmin = int(frames.min())
    span = int(frames.max()) - fmin + 1
    if span <= 4 * n + 1024:
        return _counting_order(frames, fmin, span)
    # sparse frame numbers: the table is a few sorted runs, which timsort merges fast
    perm = np.argsort(frames, kind="stable").astype(np.int64, copy=False)
    return perm, run_offsets(frames[perm])


# ----------------------------------------------------------------------------- panel layout

PANEL_MAX_LANES: int = 32
"""Most individuals (id blocks) for the panel fast path (``k == 1``)."""

_PANEL_BLOCK = 128  # frames per block: lanes x block scratch stays in L1/L2
_PANEL_BLOCKS_PER_TASK = 16


@jit
def _panel_lanes(ids: np.ndarray, frames: np.ndarray, max_lanes: int) -> np.ndarray:
    # lanes = maximal blocks of equal id with strictly increasing frames (the
    # stored (id, frame) order); an empty result means "not a panel"
    n = ids.shape[0]
    starts = np.empty(max_lanes + 1, dtype=np.int64)
    if n == 0:
        return starts[:0]
    starts[0] = 0
    n_lanes = 1
    for i in range(1, n):
        if ids[i] != ids[i - 1]:
            if n_lanes == max_lanes:
                return starts[:0]
            starts[n_lanes] = i
            n_lanes += 1
        elif frames[i] <= frames[i - 1]:
            return starts[:0]
    starts[n_lanes] = n
    return starts[: n_lanes + 1]


@jit
def _closer_lane(
    pxa: np.ndarray,
    pya: np.ndarray,
    pxb: np.ndarray,
    pyb: np.ndarray,
    prowb: np.ndarray,
    bd: np.ndarray,
    brow: np.ndarray,
    nb: int,
) -> None:
    # offer lane b to lane a over the frames of a block. Lanes are offered in
    # increasing id order, so a strict "<" keeps the smallest id among equal
    # distances; the second clause lets an infinite (overflowed) distance win
    # when nothing was found yet, as in the frame-major path. A NaN distance
    # (absent row, non-finite position) fails both. Branch-free: vectorises.
    for q in range(nb):
        dx = pxb[q] - pxa[q]
        dy = pyb[q] - pya[q]
        d2 = dx * dx + dy * dy
        cur = bd[q]
        best = brow[q]
        win = (d2 < cur) | ((d2 == cur) & (best < 0))
        bd[q] = d2 if win else cur
        brow[q] = prowb[q] if win else best


@jit
def _load_lane(
    x: np.ndarray, y: np.ndarray, lo: int, nb: int, pxa: np.ndarray, pya: np.ndarray
) -> None:
    # a lane with a row for every frame of the block: contiguous copy, NaN
    # where the position is not finite (so it never finds nor is found)
    for q in range(nb):
        xv = x[lo + q]
        yv = y[lo + q]
        ok = (abs(xv) < np.inf) & (abs(yv) < np.inf)
        pxa[q] = xv if ok else np.nan
        pya[q] = yv


@jit
def _store_lane(
    bd: np.ndarray, brow: np.ndarray, lo: int, nb: int, out_row: np.ndarray, out_dist: np.ndarray
) -> None:
    # results of a lane with a row for every frame of the block (rows lo + q)
    for q in range(nb):
        best = brow[q]
        out_row[lo + q] = best
        out_dist[lo + q] = math.sqrt(bd[q]) if best >= 0 else np.nan


@jit(parallel=True)
def _nearest_panel(
    x: np.ndarray,
    y: np.ndarray,
    frames: np.ndarray,
    lanes: np.ndarray,
    by_id: np.ndarray,
    fmin: int,
    span: int,
    out_row: np.ndarray,
    out_dist: np.ndarray,
) -> None:
    # k = 1 over a table of a few id blocks (lanes), each sorted by frame.
    # Frames are processed in blocks laid out as (lane, frame-in-block) arrays;
    # a lane's rows in a block are found by binary search on its frames, absent
    # rows hold NaN. by_id lists the lanes in increasing id order (tie rule).
    n_lanes = lanes.shape[0] - 1
    bsz = _PANEL_BLOCK
    n_blocks = (span + bsz - 1) // bsz
    n_tasks = (n_blocks + _PANEL_BLOCKS_PER_TASK - 1) // _PANEL_BLOCKS_PER_TASK
    for t in prange(n_tasks):
        px = np.empty((n_lanes, bsz))
        py = np.empty((n_lanes, bsz))
        prow = np.empty((n_lanes, bsz), dtype=np.int64)
        bd = np.empty(bsz)
        brow = np.empty(bsz, dtype=np.int64)
        lo_row = np.empty(n_lanes, dtype=np.int64)
        hi_row = np.empty(n_lanes, dtype=np.int64)
        for blk in range(
            t * _PANEL_BLOCKS_PER_TASK, min((t + 1) * _PANEL_BLOCKS_PER_TASK, n_blocks)
        ):
            f0 = fmin + blk * bsz
            nb = min(bsz, fmin + span - f0)
            for a in range(n_lanes):
                seg = frames[lanes[a] : lanes[a + 1]]
                lo = lanes[a] + np.searchsorted(seg, f0)
                hi = lanes[a] + np.searchsorted(seg, f0 + nb)
                lo_row[a] = lo
                hi_row[a] = hi
                if hi - lo == nb:  # every frame present: q = r - lo
                    _load_lane(x, y, lo, nb, px[a], py[a])
                    for q in range(nb):
                        prow[a, q] = lo + q
                    continue
                for q in range(nb):
                    px[a, q] = np.nan
                    py[a, q] = np.nan
                    prow[a, q] = -1
                for r in range(lo, hi):
                    q = frames[r] - f0
                    prow[a, q] = r
                    if np.isfinite(x[r]) and np.isfinite(y[r]):
                        px[a, q] = x[r]
                        py[a, q] = y[r]
            for a in range(n_lanes):
                if hi_row[a] == lo_row[a]:
                    continue
                for q in range(nb):
                    bd[q] = np.inf
                    brow[q] = -1
                for i in range(n_lanes):
                    b = by_id[i]
                    if b != a and hi_row[b] > lo_row[b]:
                        _closer_lane(px[a], py[a], px[b], py[b], prow[b], bd, brow, nb)
                if hi_row[a] - lo_row[a] == nb:
                    _store_lane(bd, brow, lo_row[a], nb, out_row, out_dist)
                    continue
                for r in range(lo_row[a], hi_row[a]):
                    q = frames[r] - f0
                    out_row[r] = brow[q]
                    out_dist[r] = math.sqrt(bd[q]) if brow[q] >= 0 else np.nan


def _panel_search(
    x: np.ndarray,
    y: np.ndarray,
    ids: np.ndarray,
    frames: np.ndarray,
    *,
    max_lanes: int = PANEL_MAX_LANES,
    min_fill: float = 0.25,
) -> tuple[np.ndarray, np.ndarray] | None:
    # k = 1 without sorting rows by frame, when the table is a few id blocks
    # sorted by frame that share most of their frame range; None otherwise
    n = x.shape[0]
    if n == 0:
        return None
    lanes = _panel_lanes(ids, frames, max_lanes)
    if lanes.shape[0] == 0:
        return None
    n_lanes = lanes.shape[0] - 1
    first = frames[lanes[:-1]]
    last = frames[lanes[1:] - 1]
    fmin = int(first.min())
    span = int(last.max()) - fmin + 1
    if n_lanes * span > n / min_fill:  # mostly empty (lane, frame) cells
        return None
    by_id = np.argsort(ids[lanes[:-1]], kind="stable").astype(np.int64)
    rows = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    _nearest_panel(x, y, frames, lanes, by_id, fmin, span, rows, dist)
    return rows.reshape(n, 1), dist.reshape(n, 1)


# ----------------------------------------------------------------------------- search


@jit(inline="always")
def _offer(
    d2: float, ident: int, row: int, k: int, bd: np.ndarray, bid: np.ndarray, brow: np.ndarray
) -> None:
    # keep bd/bid/brow sorted by (distance, id); bd[k-1] is the worst kept
    if d2 > bd[k - 1] or (d2 == bd[k - 1] and ident >= bid[k - 1]):
        return
    j = k - 1
    while j > 0 and (bd[j - 1] > d2 or (bd[j - 1] == d2 and bid[j - 1] > ident)):
        bd[j] = bd[j - 1]
        bid[j] = bid[j - 1]
        brow[j] = brow[j - 1]
        j -= 1
    bd[j] = d2
    bid[j] = ident
    brow[j] = row


@jit(parallel=True)
def _nearest(
    x: np.ndarray,
    y: np.ndarray,
    ids: np.ndarray,
    perm: np.ndarray,
    goff: np.ndarray,
    k: int,
    dense_max: int,
    out_row: np.ndarray,
    out_dist: np.ndarray,
) -> None:
    n_groups = goff.shape[0] - 1
    max_m = 0
    for g in range(n_groups):
        max_m = max(max_m, goff[g + 1] - goff[g])
    n_tasks = (n_groups + _GROUPS_PER_TASK - 1) // _GROUPS_PER_TASK
    for t in prange(n_tasks):
        # scratch for this task's frames: valid points, grid, best-k lists
        lx = np.empty(max_m)
        ly = np.empty(max_m)
        lid = np.empty(max_m, dtype=np.int64)
        lrow = np.empty(max_m, dtype=np.int64)
        cell_of = np.empty(max_m, dtype=np.int64)
        by_cell = np.empty(max_m, dtype=np.int64)
        cell_start = np.empty(3 * max_m + 2, dtype=np.int64)
        bd = np.empty(k)
        bid = np.empty(k, dtype=np.int64)
        brow = np.empty(k, dtype=np.int64)
        s_d2 = np.empty(max_m)
        s_id = np.empty(max_m, dtype=np.int64)
        s_row = np.empty(max_m, dtype=np.int64)
        for g in range(t * _GROUPS_PER_TASK, min((t + 1) * _GROUPS_PER_TASK, n_groups)):
            a = goff[g]
            b = goff[g + 1]
            m = 0
            for p in range(a, b):
                r = perm[p]
                if np.isfinite(x[r]) and np.isfinite(y[r]):
                    lx[m] = x[r]
                    ly[m] = y[r]
                    lid[m] = ids[r]
                    lrow[m] = r
                    m += 1
                else:  # NaN position: no neighbour
                    for j in range(k):
                        out_row[r, j] = -1
                        out_dist[r, j] = np.nan
            if m < 2:
                if m == 1:  # alone in its frame
                    for j in range(k):
                        out_row[lrow[0], j] = -1
                        out_dist[lrow[0], j] = np.nan
                continue
            if k == 1 and m <= dense_max:
                # the common case (a few animals, one neighbour): every pair once,
                # offered to both ends; scalars per point instead of best-k lists
                for i in range(m):
                    s_d2[i] = np.inf
                    s_id[i] = np.iinfo(np.int64).max
                    s_row[i] = -1
                for i in range(m):
                    for j in range(i + 1, m):
                        dx = lx[j] - lx[i]
                        dy = ly[j] - ly[i]
                        d2 = dx * dx + dy * dy
                        if d2 < s_d2[i] or (d2 == s_d2[i] and lid[j] < s_id[i]):
                            s_d2[i] = d2
                            s_id[i] = lid[j]
                            s_row[i] = lrow[j]
                        if d2 < s_d2[j] or (d2 == s_d2[j] and lid[i] < s_id[j]):
                            s_d2[j] = d2
                            s_id[j] = lid[i]
                            s_row[j] = lrow[i]
                for i in range(m):
                    out_row[lrow[i], 0] = s_row[i]
                    out_dist[lrow[i], 0] = math.sqrt(s_d2[i])
                continue
            if m <= dense_max:
                for i in range(m):
                    for j in range(k):
                        bd[j] = np.inf
                        bid[j] = np.iinfo(np.int64).max
                        brow[j] = -1
                    for j in range(m):
                        if j != i:
                            dx = lx[j] - lx[i]
                            dy = ly[j] - ly[i]
                            _offer(dx * dx + dy * dy, lid[j], lrow[j], k, bd, bid, brow)
                    for j in range(k):  # fewer than k others: -1 / NaN
                        out_row[lrow[i], j] = brow[j]
                        out_dist[lrow[i], j] = math.sqrt(bd[j]) if brow[j] >= 0 else np.nan
                continue
            # ---- uniform grid, about two points per cell
            xmin = lx[0]
            xmax = lx[0]
            ymin = ly[0]
            ymax = ly[0]
            for i in range(1, m):
                xmin = min(xmin, lx[i])
                xmax = max(xmax, lx[i])
                ymin = min(ymin, ly[i])
                ymax = max(ymax, ly[i])
            w = xmax - xmin
            h = ymax - ymin
            target = max(m // 2, 1)
            # cell >= each side / target, so nx * ny <= 3 * target + 1 cells
            cell = max(math.sqrt(w * h / target), max(w, h) / target)
            if not cell > 0.0:
                cell = 1.0  # every point at the same place
            nx = min(int(w / cell) + 1, target + 1)
            ny = min(int(h / cell) + 1, target + 1)
            n_cells = nx * ny
            for c in range(n_cells + 1):
                cell_start[c] = 0
            for i in range(m):
                cx = min(int((lx[i] - xmin) / cell), nx - 1)
                cy = min(int((ly[i] - ymin) / cell), ny - 1)
                cell_of[i] = cy * nx + cx
                cell_start[cell_of[i] + 1] += 1
            for c in range(n_cells):
                cell_start[c + 1] += cell_start[c]
            for i in range(m):  # counting sort of points by cell
                c = cell_of[i]
                by_cell[cell_start[c]] = i
                cell_start[c] += 1
            for c in range(n_cells, 0, -1):  # restore the starts
                cell_start[c] = cell_start[c - 1]
            cell_start[0] = 0
            max_ring = max(nx, ny)
            for i in range(m):
                for j in range(k):
                    bd[j] = np.inf
                    bid[j] = np.iinfo(np.int64).max
                    brow[j] = -1
                cx = cell_of[i] % nx
                cy = cell_of[i] // nx
                for ring in range(max_ring + 1):
                    for gy in range(max(cy - ring, 0), min(cy + ring, ny - 1) + 1):
                        on_edge_row = gy == cy - ring or gy == cy + ring
                        step = 1 if on_edge_row else 2 * ring
                        gx = cx - ring
                        while gx <= cx + ring:
                            if 0 <= gx < nx:
                                c = gy * nx + gx
                                for q in range(cell_start[c], cell_start[c + 1]):
                                    j = by_cell[q]
                                    if j != i:
                                        dx = lx[j] - lx[i]
                                        dy = ly[j] - ly[i]
                                        _offer(dx * dx + dy * dy, lid[j], lrow[j], k, bd, bid, brow)
                            if step == 0:
                                break
                            gx += step
                    # points outside rings 0..ring are >= ring * cell away; the
                    # small margin covers rounding in the cell assignment
                    reach = ring * cell * (1.0 - 1e-9)
                    if bd[k - 1] < reach * reach:
                        break
                for j in range(k):  # fewer than k others: -1 / NaN
                    out_row[lrow[i], j] = brow[j]
                    out_dist[lrow[i], j] = math.sqrt(bd[j]) if brow[j] >= 0 else np.nan


@jit(parallel=True)
def _deltas(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    has_angle: bool,
    nn: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    ex: np.ndarray,
    ey: np.ndarray,
    da: np.ndarray,
) -> None:
    for i in prange(x.shape[0]):
        j = nn[i]
        if j < 0:
            dx[i] = np.nan
            dy[i] = np.nan
            if has_angle:
                ex[i] = np.nan
                ey[i] = np.nan
                da[i] = np.nan
            continue
        ddx = x[j] - x[i]
        ddy = y[j] - y[i]
        dx[i] = ddx
        dy[i] = ddy
        if has_angle:
            ex[i], ey[i] = rotate(ddx, ddy, angle[i])
            da[i] = wrap(angle[j] - angle[i])


# ----------------------------------------------------------------------------- public API


def nearest_neighbors(
    x: np.ndarray,
    y: np.ndarray,
    ids: np.ndarray,
    frames: np.ndarray,
    k: int = 1,
    *,
    dense_max: int = DENSE_MAX,
) -> tuple[np.ndarray, np.ndarray]:
    """Find the k nearest other individuals of every row, within its frame.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 arrays of shape (n,). Rows with a non-finite (NaN or
        infinite) coordinate are missing: they neither search nor are found.
        Huge finite coordinates (up to the float64 limit) are searched exactly;
        only a distance beyond that limit is returned as ``inf``.
    ids : numpy.ndarray
        Integer individual ids of shape (n,), unique within a frame.
    frames : numpy.ndarray
        Integer frame numbers (or frame-group keys) of shape (n,).
    k : int, default 1
        Number of neighbours.
    dense_max : int, default :data:`DENSE_MAX`
        Frames with at most this many valid individuals are searched with all
        pairs; larger frames use a uniform grid. Results do not depend on it.
        (With ``k == 1`` on a panel layout, at most :data:`PANEL_MAX_LANES` id
        blocks sorted by frame, the vectorised panel path is used instead.)

    Returns
    -------
    rows : numpy.ndarray
        int64 array of shape (n, k): row index of the j-th nearest neighbour,
        ``-1`` if there is none (alone in the frame, or NaN position).
    dist : numpy.ndarray
        float64 array of shape (n, k): its Euclidean distance, NaN if none.
        Neighbours are ordered by distance, ties by the smaller id.

    Examples
    --------
    >>> import numpy as np
    >>> rows, dist = nearest_neighbors(
    ...     np.array([0.0, 3.0, 0.0]), np.array([0.0, 4.0, 1.0]),
    ...     np.array([1, 2, 3]), np.array([0, 0, 0]))
    >>> rows[:, 0], dist[:, 0]
    (array([2, 2, 0]), array([1.        , 4.24264069, 1.        ]))
    """
    k = positive_int("k", k)
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    y = np.ascontiguousarray(y, dtype=np.float64)
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if x.ndim != 1 or y.shape != (n,) or ids.shape != (n,) or np.shape(frames) != (n,):
        raise ValueError("x, y, ids and frames must be 1-D arrays of equal length")
    shift = _overflow_shift(x, y)
    if shift:
        # squared distances would overflow: search on exactly rescaled coordinates
        # (a power of two keeps every comparison and tie), then scale distances back
        x = x * 2.0**-shift
        y = y * 2.0**-shift
    if k == 1:
        frames = as_int64_1d("frames", frames)
        found = _panel_search(x, y, ids, frames)
        if found is not None:
            return found if not shift else (found[0], _scale_back(found[1], shift))
    perm, goff = frame_order(frames)
    rows = np.empty((n, int(k)), dtype=np.int64)
    dist = np.empty((n, int(k)))
    _nearest(x, y, ids, perm, goff, int(k), int(dense_max), rows, dist)
    return rows, (dist if not shift else _scale_back(dist, shift))


_SAFE_EXP = 510
"""Coordinates up to 2**510 in magnitude: dx*dx + dy*dy stays below 2**1023."""


def _overflow_shift(x: np.ndarray, y: np.ndarray) -> int:
    """Return the power of two to divide coordinates by so squared distances fit float64.

    0 for every realistic input (one cheap max over each array); only finite
    values count (non-finite positions are missing rows anyway).
    """
    if x.size == 0:
        return 0
    with np.errstate(invalid="ignore"):
        big = max(float(np.nanmax(np.abs(x), initial=0.0)),
                  float(np.nanmax(np.abs(y), initial=0.0)))
    if not big > 2.0**_SAFE_EXP:
        return 0
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return 0
    big = max(float(np.abs(x[finite]).max()), float(np.abs(y[finite]).max()))
    if not big > 2.0**_SAFE_EXP:
        return 0
    return int(math.ceil(math.log2(big))) - _SAFE_EXP


def _scale_back(dist: np.ndarray, shift: int) -> np.ndarray:
    # a distance beyond the float64 range (e.g. from -1e308 to 1e308) becomes inf
    with np.errstate(over="ignore"):
        return dist * 2.0**shift


def neighbor_deltas(
    x: np.ndarray, y: np.ndarray, nn_rows: np.ndarray, angle: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Displacement to a neighbour, in the arena frame and in self's heading frame.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 arrays of shape (n,).
    nn_rows : numpy.ndarray
        int64 array of shape (n,): neighbour row per row, ``-1`` for none
        (a column of the ``rows`` output of :func:`nearest_neighbors`).
    angle : numpy.ndarray, optional
        Headings in radians, shape (n,); adds the egocentric and angle deltas.

    Returns
    -------
    dict of str to numpy.ndarray
        float64 arrays of shape (n,), NaN where there is no neighbour:
        ``dx``, ``dy`` (neighbour minus self) and, with ``angle``, ``dx_ego``,
        ``dy_ego`` (rotated by -angle of self: forward, left) and ``dangle``
        (``wrap(angle_nn - angle_self)``).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    y = np.ascontiguousarray(y, dtype=np.float64)
    nn = np.ascontiguousarray(nn_rows, dtype=np.int64)
    if y.shape != (n,) or nn.shape != (n,):
        raise ValueError("x, y and nn_rows must be 1-D arrays of equal length")
    if n and (nn.max() >= n or nn.min() < -1):
        raise ValueError("nn_rows must hold row indices in [0, n) or -1")
    has_angle = angle is not None
    ang = np.ascontiguousarray(angle, dtype=np.float64) if has_angle else np.empty(0)
    if has_angle and ang.shape != (n,):
        raise ValueError(f"angle must have shape ({n},), got {ang.shape}")
    dx = np.empty(n)
    dy = np.empty(n)
    m = n if has_angle else 0
    ex = np.empty(m)
    ey = np.empty(m)
    da = np.empty(m)
    _deltas(x, y, ang, has_angle, nn, dx, dy, ex, ey, da)
    out = {"dx": dx, "dy": dy}
    if has_angle:
        out.update(dx_ego=ex, dy_ego=ey, dangle=da)
    return out


@register_warmup
def _warmup() -> None:
    x = np.array([0.0, 1.0, 2.0, np.nan])
    ids = np.array([0, 1, 2, 3], dtype=np.int64)
    frames = np.zeros(4, dtype=np.int64)
    for dense_max in (0, DENSE_MAX):
        rows, _ = nearest_neighbors(x, x, ids, frames, 2, dense_max=dense_max)
    # k = 1 panel path: two id blocks, one with a gap (scatter) and one full
    _panel_search(x, x, np.array([0, 0, 1, 1]), np.array([0, 2, 0, 1]), max_lanes=4, min_fill=1e-9)
    frame_order(np.array([0, 10**9], dtype=np.int64))
    neighbor_deltas(x, x, rows[:, 0], x)
    neighbor_deltas(x, x, rows[:, 0])
