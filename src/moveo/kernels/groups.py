"""Fission-fusion groups: per-frame connected components and stable-subgroup events.

The kernels behind the ``ffgroups`` feature, on one sequence laid out as a grid
of ``T`` frames (the distinct frame numbers, in order) by ``N`` individuals (the
distinct ids, in order); an individual without a row, or with a non-finite
position, at a frame is *absent* there.

Links
    Two individuals are linked at frame position ``p`` when the mean of their
    distance over the frames ``p - h .. p + h`` (``h = window_size // 2``, frame
    *positions*, clipped at the ends) at which both are present is below
    ``distance_cutoff``. A mean below the cutoff needs one frame of the window
    at which they are closer than the cutoff, so the candidate pairs of a
    frame are the pairs closer than the cutoff at some frame of its window:
    each frame's close pairs come from a uniform grid of cell ``distance_cutoff``
    (O(m + close pairs) per frame, not O(m²)), and a frame's candidates are the
    merge of its window's lists.
Components
    Union-find by rank with path compression over the links in lexicographic
    order of (smaller, larger) individual index, skipping pairs already
    connected (a union of those would change nothing). Component labels are
    the ranks of the roots among all roots: the same labels as a union-find
    over the full pairwise matrix visited row by row (mosaic-behavior 0.17's
    ``ffgroups``), at the cost of the close pairs only. Every individual of the
    grid has a label, absent ones too (alone, unless the window links them).
Events
    A frame-run is a maximal run of consecutive frame numbers. Within it, an
    event is a maximal run of frames at which one exact member set forms a
    component, lasting at least ``min_event_duration`` (last minus first frame
    number). Events are numbered by (frame-run, member set as a sorted id
    tuple, first frame); cells in no event get -1.

Frames are independent for the components (parallel over chunks of frames);
events are one sequential pass over the grid.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup

__all__ = ["component_labels", "ffgroups", "periphery", "stable_events"]

_FRAMES_PER_TASK = 32


# ----------------------------------------------------------------------------- close pairs


@jit
def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@jit
def _close_pairs(
    px: np.ndarray,
    py: np.ndarray,
    pid: np.ndarray,
    m: int,
    cutoff: float,
    cell_of: np.ndarray,
    by_cell: np.ndarray,
    cell_start: np.ndarray,
    tmp: np.ndarray,
    out_a: np.ndarray,
    out_b: np.ndarray,
    n_out: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    # Append the pairs (pid[i], pid[j]) with pid[i] < pid[j] and distance <
    # cutoff among the m points (sorted by pid), in lexicographic order.
    if m < 2:
        return out_a, out_b, n_out
    xmin = px[0]
    xmax = px[0]
    ymin = py[0]
    ymax = py[0]
    for i in range(1, m):
        xmin = min(xmin, px[i])
        xmax = max(xmax, px[i])
        ymin = min(ymin, py[i])
        ymax = max(ymax, py[i])
    w = xmax - xmin
    h = ymax - ymin
    cell = cutoff
    if not (np.isfinite(w) and np.isfinite(h)):
        cell = np.inf
    else:
        while (w / cell + 1.0) * (h / cell + 1.0) > 2.0 * m + 4.0:
            cell *= 2.0
    nx = int(w / cell) + 1 if np.isfinite(cell) else 1
    ny = int(h / cell) + 1 if np.isfinite(cell) else 1
    reach = int(math.ceil(cutoff / cell)) if np.isfinite(cell) else 0
    n_cells = nx * ny
    for c in range(n_cells + 1):
        cell_start[c] = 0
    for i in range(m):
        gx = min(int((px[i] - xmin) / cell), nx - 1) if nx > 1 else 0
        gy = min(int((py[i] - ymin) / cell), ny - 1) if ny > 1 else 0
        cell_of[i] = gy * nx + gx
        cell_start[cell_of[i] + 1] += 1
    for c in range(n_cells):
        cell_start[c + 1] += cell_start[c]
    for i in range(m):
        c = cell_of[i]
        by_cell[cell_start[c]] = i
        cell_start[c] += 1
    for c in range(n_cells, 0, -1):
        cell_start[c] = cell_start[c - 1]
    cell_start[0] = 0
    for i in range(m):
        cx = cell_of[i] % nx
        cy = cell_of[i] // nx
        k = 0
        for gy in range(max(cy - reach, 0), min(cy + reach, ny - 1) + 1):
            for gx in range(max(cx - reach, 0), min(cx + reach, nx - 1) + 1):
                c = gy * nx + gx
                for q in range(cell_start[c], cell_start[c + 1]):
                    j = by_cell[q]
                    if j <= i:  # points are sorted by pid: j > i <=> pid[j] > pid[i]
                        continue
                    dx = px[j] - px[i]
                    dy = py[j] - py[i]
                    if math.sqrt(dx * dx + dy * dy) < cutoff:
                        tmp[k] = j
                        k += 1
        if k == 0:
            continue
        # insertion sort of the (few) partners, then append in order
        for u in range(1, k):
            v = tmp[u]
            s = u - 1
            while s >= 0 and tmp[s] > v:
                tmp[s + 1] = tmp[s]
                s -= 1
            tmp[s + 1] = v
        out_a = _grow(out_a, n_out + k)
        out_b = _grow(out_b, n_out + k)
        for u in range(k):
            out_a[n_out + u] = pid[i]
            out_b[n_out + u] = pid[tmp[u]]
        n_out += k
    return out_a, out_b, n_out


@jit(inline="always")
def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # full path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@jit(parallel=True)
def _components(
    x: np.ndarray,
    y: np.ndarray,
    col: np.ndarray,
    perm: np.ndarray,
    goff: np.ndarray,
    n_ids: int,
    cutoff: float,
    half: int,
    labels: np.ndarray,
    sizes: np.ndarray,
) -> None:
    # perm/goff: rows of each frame position, each frame's rows in column order
    # (col = individual index); labels/sizes: (T, N) outputs.
    n_frames = goff.shape[0] - 1
    max_m = 1
    for p in range(n_frames):
        max_m = max(max_m, goff[p + 1] - goff[p])
    n_tasks = (n_frames + _FRAMES_PER_TASK - 1) // _FRAMES_PER_TASK
    for t in prange(n_tasks):
        p0 = t * _FRAMES_PER_TASK
        p1 = min(p0 + _FRAMES_PER_TASK, n_frames)
        q0 = max(p0 - half, 0)
        q1 = min(p1 + half, n_frames)
        nq = q1 - q0
        # positions of the window frames of this chunk: (nq, n_ids), NaN = absent
        gx = np.full((nq, n_ids), np.nan)
        gy = np.full((nq, n_ids), np.nan)
        px = np.empty(max_m)
        py = np.empty(max_m)
        pid = np.empty(max_m, dtype=np.int64)
        cell_of = np.empty(max_m, dtype=np.int64)
        by_cell = np.empty(max_m, dtype=np.int64)
        cell_start = np.empty(2 * max_m + 8, dtype=np.int64)
        tmp = np.empty(max_m, dtype=np.int64)
        pa = np.empty(16 * max_m, dtype=np.int64)
        pb = np.empty(16 * max_m, dtype=np.int64)
        poff = np.empty(nq + 1, dtype=np.int64)
        poff[0] = 0
        n_pairs = 0
        for q in range(q0, q1):
            m = 0
            for k in range(goff[q], goff[q + 1]):
                r = perm[k]
                if np.isfinite(x[r]) and np.isfinite(y[r]):
                    gx[q - q0, col[r]] = x[r]
                    gy[q - q0, col[r]] = y[r]
                    px[m] = x[r]
                    py[m] = y[r]
                    pid[m] = col[r]
                    m += 1
            pa, pb, n_pairs = _close_pairs(
                px, py, pid, m, cutoff, cell_of, by_cell, cell_start, tmp, pa, pb, n_pairs
            )
            poff[q - q0 + 1] = n_pairs
        parent = np.empty(n_ids, dtype=np.int64)
        rank = np.zeros(n_ids, dtype=np.int64)
        label_of = np.empty(n_ids, dtype=np.int64)
        count = np.empty(n_ids, dtype=np.int64)
        heads = np.empty(2 * half + 1, dtype=np.int64)
        for p in range(p0, p1):
            for i in range(n_ids):
                parent[i] = i
                rank[i] = 0
            w0 = max(p - half, 0)
            w1 = min(p + half + 1, n_frames)
            nw = w1 - w0
            for u in range(nw):
                heads[u] = poff[w0 + u - q0]
            # k-way merge of the window's sorted pair lists, without duplicates
            last_a = -1
            last_b = -1
            while True:
                best = -1
                ba = 0
                bb = 0
                for u in range(nw):
                    k = heads[u]
                    if k < poff[w0 + u - q0 + 1]:
                        a = pa[k]
                        b = pb[k]
                        if best < 0 or a < ba or (a == ba and b < bb):
                            best = u
                            ba = a
                            bb = b
                if best < 0:
                    break
                heads[best] += 1
                if ba == last_a and bb == last_b:
                    continue
                last_a = ba
                last_b = bb
                ra = _find(parent, ba)
                rb = _find(parent, bb)
                if ra == rb:
                    continue  # already connected: a union would change nothing
                if half > 0:
                    s = 0.0
                    c = 0
                    for q in range(w0, w1):
                        xa = gx[q - q0, ba]
                        xb = gx[q - q0, bb]
                        if np.isfinite(xa) and np.isfinite(xb):
                            dx = xb - xa
                            dy = gy[q - q0, bb] - gy[q - q0, ba]
                            s += math.sqrt(dx * dx + dy * dy)
                            c += 1
                    if not (c > 0 and s / c < cutoff):
                        continue
                # union by rank; on a tie the first (smaller index) root wins
                if rank[ra] < rank[rb]:
                    parent[ra] = rb
                elif rank[ra] > rank[rb]:
                    parent[rb] = ra
                else:
                    parent[rb] = ra
                    rank[ra] += 1
            n_lab = 0
            for i in range(n_ids):
                count[i] = 0
                if _find(parent, i) == i:
                    label_of[i] = n_lab
                    n_lab += 1
            for i in range(n_ids):
                root = _find(parent, i)
                labels[p, i] = label_of[root]
                count[root] += 1
            for i in range(n_ids):
                sizes[p, i] = count[parent[i]]


def component_labels(
    x: np.ndarray,
    y: np.ndarray,
    col: np.ndarray,
    pos: np.ndarray,
    n_frames: int,
    n_ids: int,
    cutoff: float,
    window_size: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Component label and size of every (frame position, individual) cell.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions of the rows, float64 of shape (n,).
    col : numpy.ndarray
        int64 individual index of every row, in ``0 .. n_ids - 1``.
    pos : numpy.ndarray
        int64 frame position of every row, in ``0 .. n_frames - 1``; at most one
        row per (pos, col).
    n_frames, n_ids : int
        Grid size.
    cutoff : float
        Link distance (strict: a mean distance equal to it does not link).
    window_size : int, default 1
        Odd number of frame positions the distance is averaged over.

    Returns
    -------
    labels, sizes : numpy.ndarray
        int32 arrays of shape (n_frames, n_ids): component label (rank of the
        component's union-find root) and component size.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    y = np.ascontiguousarray(y, dtype=np.float64)
    col = np.ascontiguousarray(col, dtype=np.int64)
    pos = np.ascontiguousarray(pos, dtype=np.int64)
    if y.shape != (n,) or col.shape != (n,) or pos.shape != (n,):
        raise ValueError("x, y, col and pos must be 1-D arrays of equal length")
    if not (cutoff > 0 and math.isfinite(cutoff)):
        raise ValueError(f"cutoff must be a positive number, got {cutoff!r}")
    if window_size < 1 or window_size % 2 == 0:
        raise ValueError(f"window_size must be an odd integer >= 1, got {window_size}")
    if n and (col.min() < 0 or col.max() >= n_ids or pos.min() < 0 or pos.max() >= n_frames):
        raise ValueError("col and pos must index the (n_frames, n_ids) grid")
    # rows of each frame position in individual order: sort by (pos, col)
    order = np.lexsort((col, pos)).astype(np.int64)
    goff = np.searchsorted(pos[order], np.arange(n_frames + 1)).astype(np.int64)
    labels = np.empty((n_frames, n_ids), dtype=np.int32)
    sizes = np.empty((n_frames, n_ids), dtype=np.int32)
    _components(x, y, col, order, goff, int(n_ids), float(cutoff), int(window_size // 2),
                labels, sizes)  # fmt: skip
    return labels, sizes


# ----------------------------------------------------------------------------- events


@jit
def _set_less(members: np.ndarray, moff: np.ndarray, a: int, b: int) -> bool:
    # lexicographic comparison of the member tuples of runs a and b
    la = moff[a + 1] - moff[a]
    lb = moff[b + 1] - moff[b]
    for k in range(min(la, lb)):
        va = members[moff[a] + k]
        vb = members[moff[b] + k]
        if va != vb:
            return va < vb
    return la < lb


@jit
def _run_less(
    frun: np.ndarray, start: np.ndarray, members: np.ndarray, moff: np.ndarray, a: int, b: int
) -> bool:
    if frun[a] != frun[b]:
        return frun[a] < frun[b]
    if _set_less(members, moff, a, b):
        return True
    if _set_less(members, moff, b, a):
        return False
    return start[a] < start[b]


@jit
def _events(
    labels: np.ndarray, sizes: np.ndarray, frame_vals: np.ndarray, min_duration: int
) -> np.ndarray:
    n_frames, n_ids = labels.shape
    cell_run = np.empty((n_frames, n_ids), dtype=np.int64)
    run_start = np.empty(16, dtype=np.int64)
    run_end = np.empty(16, dtype=np.int64)
    run_frun = np.empty(16, dtype=np.int64)
    members = np.empty(16, dtype=np.int64)
    moff = np.zeros(17, dtype=np.int64)
    n_runs = 0
    # members of each label at the current frame (counting sort by label)
    lab_start = np.empty(n_ids + 1, dtype=np.int64)
    lab_members = np.empty(n_ids, dtype=np.int64)
    run_of_label = np.empty(n_ids, dtype=np.int64)
    prev_run_of_label = np.empty(n_ids, dtype=np.int64)
    frun = -1
    for p in range(n_frames):
        boundary = p == 0 or frame_vals[p] - frame_vals[p - 1] > 1
        if boundary:
            frun += 1
        for k in range(n_ids + 1):
            lab_start[k] = 0
        for i in range(n_ids):
            lab_start[labels[p, i] + 1] += 1
        for k in range(n_ids):
            lab_start[k + 1] += lab_start[k]
        for i in range(n_ids):  # ascending i: members come out sorted
            lab = labels[p, i]
            lab_members[lab_start[lab]] = i
            lab_start[lab] += 1
        for k in range(n_ids, 0, -1):
            lab_start[k] = lab_start[k - 1]
        lab_start[0] = 0
        for lab in range(n_ids):
            a = lab_start[lab]
            b = lab_start[lab + 1]
            if a == b:
                continue
            size = b - a
            same = False
            if not boundary:
                first = lab_members[a]
                prev_lab = labels[p - 1, first]
                if sizes[p - 1, first] == size:
                    same = True
                    for k in range(a + 1, b):
                        if labels[p - 1, lab_members[k]] != prev_lab:
                            same = False
                            break
            if same:
                r = prev_run_of_label[labels[p - 1, lab_members[a]]]
            else:
                r = n_runs
                n_runs += 1
                run_start = _grow(run_start, n_runs)
                run_end = _grow(run_end, n_runs)
                run_frun = _grow(run_frun, n_runs)
                moff = _grow(moff, n_runs + 1)
                members = _grow(members, moff[r] + size)
                run_start[r] = frame_vals[p]
                run_frun[r] = frun
                for k in range(size):
                    members[moff[r] + k] = lab_members[a + k]
                moff[r + 1] = moff[r] + size
            run_end[r] = frame_vals[p]
            run_of_label[lab] = r
            for k in range(a, b):
                cell_run[p, lab_members[k]] = r
        for lab in range(n_ids):
            prev_run_of_label[lab] = run_of_label[lab]
    # number the qualifying runs by (frame-run, member tuple, start)
    qual = np.empty(n_runs, dtype=np.int64)
    n_q = 0
    for r in range(n_runs):
        if run_end[r] - run_start[r] >= min_duration:
            qual[n_q] = r
            n_q += 1
    order = qual[:n_q].copy()
    buf = np.empty(n_q, dtype=np.int64)
    width = 1
    while width < n_q:  # bottom-up merge sort with the run comparator
        for lo in range(0, n_q, 2 * width):
            mid = min(lo + width, n_q)
            hi = min(lo + 2 * width, n_q)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if _run_less(run_frun, run_start, members, moff, order[j], order[i]):
                    buf[k] = order[j]
                    j += 1
                else:
                    buf[k] = order[i]
                    i += 1
                k += 1
            while i < mid:
                buf[k] = order[i]
                i += 1
                k += 1
            while j < hi:
                buf[k] = order[j]
                j += 1
                k += 1
        order, buf = buf, order
        width *= 2
    number = np.full(n_runs, -1, dtype=np.int64)
    for e in range(n_q):
        number[order[e]] = e
    event = np.empty((n_frames, n_ids), dtype=np.int64)
    for p in range(n_frames):
        for i in range(n_ids):
            event[p, i] = number[cell_run[p, i]]
    return event


def stable_events(
    labels: np.ndarray, sizes: np.ndarray, frame_values: np.ndarray, min_event_duration: int = 1
) -> np.ndarray:
    """Event number of every grid cell (see the module docs), -1 outside events.

    Parameters
    ----------
    labels, sizes : numpy.ndarray
        Component labels and sizes of shape (n_frames, n_ids) (from
        :func:`component_labels`).
    frame_values : numpy.ndarray
        int64 frame number of every frame position, increasing, shape (n_frames,).
    min_event_duration : int, default 1
        Fewest frames (last minus first frame number) of an event.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_frames, n_ids).
    """
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    sizes = np.ascontiguousarray(sizes, dtype=np.int32)
    frames = np.ascontiguousarray(frame_values, dtype=np.int64)
    if labels.ndim != 2 or sizes.shape != labels.shape or frames.shape != (labels.shape[0],):
        raise ValueError("labels and sizes must be (n_frames, n_ids); frame_values (n_frames,)")
    if frames.size > 1 and np.any(np.diff(frames) <= 0):
        raise ValueError("frame_values must be strictly increasing")
    return _events(labels, sizes, frames, int(min_event_duration))


def _dense_codes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, return_inverse=True)`` without a sort when it is not needed.

    Frame numbers span a short range (a counting pass over the span) and ids of
    an entry come sorted (run boundaries); anything else falls back to
    ``np.unique``. The results are identical in every case.
    """
    n = a.shape[0]
    if n == 0:
        return np.unique(a, return_inverse=True)
    lo = int(a.min())
    span = int(a.max()) - lo + 1
    if span <= 4 * n + 1024:
        mark = np.zeros(span, dtype=np.int64)
        mark[a - lo] = 1
        rank = np.cumsum(mark) - 1
        return (np.flatnonzero(mark) + lo).astype(a.dtype), rank[a - lo]
    if n < 2 or bool(np.all(a[1:] >= a[:-1])):
        starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
        codes = np.repeat(np.arange(starts.shape[0], dtype=np.int64), np.diff(np.r_[starts, n]))
        return a[starts], codes
    return np.unique(a, return_inverse=True)


def ffgroups(
    x: np.ndarray,
    y: np.ndarray,
    ids: np.ndarray,
    frames: np.ndarray,
    *,
    distance_cutoff: float = 50.0,
    window_size: int = 5,
    min_event_duration: int = 1,
) -> dict[str, np.ndarray]:
    """Fission-fusion groups of one sequence, per row.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 of shape (n,).
    ids, frames : numpy.ndarray
        Integer individual ids and frame numbers of shape (n,); (id, frame)
        unique.
    distance_cutoff, window_size, min_event_duration
        See the module docs.

    Returns
    -------
    dict of str to numpy.ndarray
        Per row: ``group_membership`` and ``group_size`` (int32), ``event``
        (int64).
    """
    ids = np.asarray(ids)
    frames = np.asarray(frames)
    if ids.dtype.kind not in "iu" or frames.dtype.kind not in "iu":
        raise TypeError("ids and frames must be integer arrays")
    uid, col = _dense_codes(ids)
    ufr, pos = _dense_codes(frames)
    labels, sizes = component_labels(
        x, y, col.astype(np.int64), pos.astype(np.int64), ufr.shape[0], uid.shape[0],
        float(distance_cutoff), int(window_size),
    )  # fmt: skip
    event = stable_events(labels, sizes, ufr.astype(np.int64), int(min_event_duration))
    return {
        "group_membership": labels[pos, col],
        "group_size": sizes[pos, col],
        "event": event[pos, col],
    }


@register_warmup(covers=("ffgroups",))
def _warmup() -> None:
    x = np.array([0.0, 1.0, 5.0, np.nan, 0.5, 9.0])
    ids = np.array([0, 0, 1, 1, 2, 2], dtype=np.int64)
    frames = np.array([0, 1, 0, 1, 0, 1], dtype=np.int64)
    for window in (1, 3):
        ffgroups(x, x * 0, ids, frames, distance_cutoff=2.0, window_size=window)


# ----------------------------------------------------------------------------- periphery

_TIE_RTOL = 1e-9  # distances closer than this fraction of the coordinate scale tie


@jit(parallel=True)
def _periphery(
    x: np.ndarray,
    y: np.ndarray,
    size: np.ndarray,
    perm: np.ndarray,
    goff: np.ndarray,
    dist: np.ndarray,
    farthest: np.ndarray,
) -> None:
    n_groups = goff.shape[0] - 1
    max_m = 1
    for g in range(n_groups):
        max_m = max(max_m, goff[g + 1] - goff[g])
    n_tasks = (n_groups + 255) // 256
    for t in prange(n_tasks):
        buf = np.empty(max_m)
        for g in range(t * 256, min((t + 1) * 256, n_groups)):
            a = goff[g]
            b = goff[g + 1]
            # centroid: X and Y averaged separately over their finite values
            nx = 0
            sx = 0.0
            ny = 0
            sy = 0.0
            for p in range(a, b):
                r = perm[p]
                if np.isfinite(x[r]):
                    nx += 1
                    sx += x[r]
                if np.isfinite(y[r]):
                    ny += 1
                    sy += y[r]
            cx = sx / nx if nx > 0 else np.nan
            cy = sy / ny if ny > 0 else np.nan
            m = 0
            for p in range(a, b):
                r = perm[p]
                dx = x[r] - cx
                dy = y[r] - cy
                d = math.sqrt(dx * dx + dy * dy)
                dist[r] = d
                if not np.isnan(d):
                    buf[m] = d
                    m += 1
            srt = np.sort(buf[:m])
            # distances equal up to rounding are ties: both members of a pair are
            # equidistant from their midpoint, whatever the last bits say
            tol = _TIE_RTOL * (abs(cx) + abs(cy) + (srt[m - 1] if m > 0 else 0.0))
            for p in range(a, b):
                r = perm[p]
                d = dist[r]
                if np.isnan(d):
                    farthest[r] = False
                    continue
                # rank with ties at their maximum = number of distances <= d
                rank = np.searchsorted(srt, d + tol, side="right")
                farthest[r] = rank == size[r]


def periphery(
    x: np.ndarray,
    y: np.ndarray,
    group_size: np.ndarray,
    perm: np.ndarray,
    group_offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the group centroid and "farthest of its group" per row.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 of shape (n,).
    group_size : numpy.ndarray
        int64 size of every row's group (as ffgroups reports it), shape (n,).
    perm, group_offsets : numpy.ndarray
        The groups (rows of one frame and event); rows outside every group
        keep NaN / False.

    Returns
    -------
    dist : numpy.ndarray
        float64 distance to the centroid of the row's group (X and Y averaged
        over their finite values), NaN for a non-finite position.
    farthest : numpy.ndarray
        bool: the row's distance rank in its group (ties counted at their
        highest rank, NaN distances unranked) equals its ``group_size``.
        Distances within ``1e-9 * (|cx| + |cy| + largest distance)`` of each
        other tie (rounding must not pick one member of an equidistant pair).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    y = np.ascontiguousarray(y, dtype=np.float64)
    size = np.ascontiguousarray(group_size, dtype=np.int64)
    if y.shape != (n,) or size.shape != (n,):
        raise ValueError("x, y and group_size must be 1-D arrays of equal length")
    dist = np.full(n, np.nan)
    farthest = np.zeros(n, dtype=np.bool_)
    _periphery(x, y, size, np.ascontiguousarray(perm, dtype=np.int64),
               np.ascontiguousarray(group_offsets, dtype=np.int64), dist, farthest)  # fmt: skip
    return dist, farthest


@register_warmup(covers=("periphery",))
def _warmup_periphery() -> None:
    x = np.array([0.0, 1.0, 5.0, np.nan])
    periphery(x, x, np.array([3, 3, 3, 1]), np.arange(4), np.array([0, 3, 4]))
