"""Pair (dyadic) kernels: track cleaning, the pair row layout, per-pair geometry.

Input is the long track table of one sequence, sorted by (individual, frame):
individual ``s`` is the *segment* ``rows[offsets[s]:offsets[s + 1]]`` and
segments are in increasing id order (how entries are stored).

Cleaning (:func:`clean_columns`)
    mosaic's ``interpolation`` settings, per individual and column, measured on
    frame numbers: a missing value is linearly interpolated between the nearest
    valid values before and after it when one of them is at most
    ``linear_limit`` frames away (a leading / trailing run takes the first /
    last valid value); what is still missing is forward filled from a value at
    most ``edge_limit`` frames earlier, then back filled from one at most
    ``edge_limit`` frames later. A row whose fraction of still-missing columns
    exceeds ``max_missing_fraction`` is dropped; the remaining holes of the
    kept rows take the column's median over the kept rows. Angle columns are
    interpolated along the shorter arc.

Derivatives (:func:`frame_gradient`)
    Per individual over its kept rows: the central difference
    ``(v[f + 1] - v[f - 1]) / 2`` when both neighbouring frames are kept, the
    one-sided difference when only one is, NaN when neither is (numpy's
    ``gradient`` on an unbroken track). Angles use wrapped differences (the
    derivative of the unwrapped angle).

Pair layout (:func:`pair_rows`)
    One row per (frame, focal, partner) with both individuals kept at that
    frame, sorted by (focal id, partner id, frame) and unique. The selection:

    - ``"all"``: every ordered pair; a frame with ``m`` individuals gives
      ``m * (m - 1)`` rows (O(m²) work);
    - ``"nearest"``: the unordered pairs in which one individual is among the
      other's ``k`` nearest (by the given positions), both orders; a frame
      gives between ``m * min(k, m - 1)`` and ``2 * m * min(k, m - 1)`` rows
      (O(m·k) work, the grid of :mod:`moveo.kernels.neighbors`);
    - ``"radius"``: the pairs at distance ``<= radius``, both orders (a uniform
      grid of ``radius``-sized cells, O(m + rows) work).

    Both perspectives of an unordered pair are always present, so the table is
    closed under swapping focal and partner.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.geometry import wrap
from moveo.kernels.neighbors import frame_order, nearest_neighbors
from moveo.kernels.trig import cos_sin
from moveo.kernels.windows import rolling

__all__ = [
    "PAIR_FACING_COLUMNS",
    "approach_avoidance_events",
    "PAIR_MODES",
    "PAIR_POSITION_COLUMNS",
    "attention_targets",
    "clean_columns",
    "cwt_filters",
    "cwt_log_power",
    "delta_bins",
    "interaction_rows",
    "frame_gradient",
    "individual_kinematics",
    "lag_rows",
    "mirror_rows",
    "nn_response",
    "orientation_rel",
    "orientation_rel_columns",
    "pair_blocks",
    "pair_facing",
    "pair_position",
    "pair_rows",
    "pose_distance_layout",
    "pose_distances",
    "segment_of_rows",
    "smooth_columns",
    "step_velocity",
]

PAIR_MODES: tuple[str, ...] = ("all", "nearest", "radius")
"""Pair selections of :func:`pair_rows`."""

_DENSE_RADIUS = 48  # frame groups up to this size are searched with all pairs


# ----------------------------------------------------------------------------- cleaning


@jit(inline="always")
def _fill_linear(
    v: np.ndarray, fr: np.ndarray, s: int, e: int, limit: int, circular: bool, out: np.ndarray
) -> None:
    # step 1: linear interpolation within ``limit`` frames of a valid value
    i = s
    while i < e:
        if math.isfinite(v[i]):
            out[i] = v[i]
            i += 1
            continue
        j = i
        while j < e and not math.isfinite(v[j]):
            j += 1
        p = i - 1  # last valid before the run (or < s)
        q = j  # first valid after the run (or == e)
        for r in range(i, j):
            out[r] = np.nan
            near_p = p >= s and fr[r] - fr[p] <= limit
            near_q = q < e and fr[q] - fr[r] <= limit
            if p >= s and q < e:
                if near_p or near_q:
                    d = v[q] - v[p]
                    if circular:
                        d = wrap(d)
                    out[r] = d / (fr[q] - fr[p]) * (fr[r] - fr[p]) + v[p]
            elif near_q:
                out[r] = v[q]
            elif near_p:
                out[r] = v[p]
        i = j


@jit(inline="always")
def _fill_edges(out: np.ndarray, fr: np.ndarray, s: int, e: int, limit: int) -> None:
    # steps 2 and 3: forward fill, then back fill, within ``limit`` frames
    p = -1
    for r in range(s, e):
        if math.isfinite(out[r]):
            p = r
        elif p >= 0 and fr[r] - fr[p] <= limit:
            out[r] = out[p]
    q = -1
    for r in range(e - 1, s - 1, -1):
        if math.isfinite(out[r]):
            q = r
        elif q >= 0 and fr[q] - fr[r] <= limit:
            out[r] = out[q]


@jit(parallel=True)
def _clean(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    circular: np.ndarray,
    linear_limit: int,
    edge_limit: int,
    max_missing: float,
    out: np.ndarray,
    keep: np.ndarray,
) -> None:
    n_seg = offsets.shape[0] - 1
    n_col = values.shape[1]
    for g in prange(n_seg):
        s = offsets[g]
        e = offsets[g + 1]
        for c in range(n_col):
            _fill_linear(values[:, c], frames, s, e, linear_limit, circular[c], out[:, c])
            _fill_edges(out[:, c], frames, s, e, edge_limit)
        for r in range(s, e):
            missing = 0
            for c in range(n_col):
                if not math.isfinite(out[r, c]):
                    missing += 1
            keep[r] = n_col == 0 or missing / n_col <= max_missing
        buf = np.empty(e - s)
        for c in range(n_col):
            holes = False
            for r in range(s, e):
                if keep[r] and not math.isfinite(out[r, c]):
                    holes = True
                    break
            if not holes:
                continue
            m = 0
            for r in range(s, e):
                if keep[r] and math.isfinite(out[r, c]):
                    buf[m] = out[r, c]
                    m += 1
            med = np.nan
            if m > 0:
                srt = np.sort(buf[:m])
                med = srt[m // 2] if m % 2 else 0.5 * (srt[m // 2 - 1] + srt[m // 2])
            for r in range(s, e):
                if keep[r] and not math.isfinite(out[r, c]):
                    out[r, c] = med


def _check_offsets(offsets: np.ndarray, n: int) -> np.ndarray:
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or offsets.shape[0] < 1 or offsets[0] != 0 or offsets[-1] != n:
        raise ValueError(f"offsets must be 1-D, start at 0 and end at n={n}")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing")
    return offsets


def clean_columns(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    *,
    linear_limit: int = 10,
    edge_limit: int = 3,
    max_missing_fraction: float = 0.1,
    circular: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill gaps per individual and flag the rows to keep (see the module docs).

    Parameters
    ----------
    values : numpy.ndarray
        float64 array of shape (n, n_columns); NaN marks a missing value.
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    linear_limit : int, default 10
        Frames from a valid value within which gaps are interpolated.
    edge_limit : int, default 3
        Frames within which the remaining gaps are forward / back filled.
    max_missing_fraction : float, default 0.1
        Rows with a larger fraction of still-missing columns are dropped.
    circular : numpy.ndarray, optional
        bool array of shape (n_columns,): angle columns (radians).

    Returns
    -------
    filled : numpy.ndarray
        float64 array of shape (n, n_columns) (Fortran order); values of
        dropped rows are unspecified.
    keep : numpy.ndarray
        bool array of shape (n,).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[0.0], [np.nan], [2.0]])
    >>> filled, keep = clean_columns(v, np.arange(3), np.array([0, 3]))
    >>> filled[:, 0], keep
    (array([0., 1., 2.]), array([ True,  True,  True]))
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D (rows, columns), got shape {values.shape}")
    n, n_col = values.shape
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    if frames.shape != (n,):
        raise ValueError(f"frames must have shape ({n},), got {frames.shape}")
    offsets = _check_offsets(offsets, n)
    circ = np.zeros(n_col, dtype=np.bool_) if circular is None else np.asarray(circular, bool)
    if circ.shape != (n_col,):
        raise ValueError(f"circular must have shape ({n_col},), got {circ.shape}")
    if linear_limit < 0 or edge_limit < 0:
        raise ValueError("linear_limit and edge_limit must be >= 0")
    if not 0.0 <= max_missing_fraction <= 1.0:
        raise ValueError(f"max_missing_fraction must be in [0, 1], got {max_missing_fraction}")
    out = np.empty((n, n_col), order="F")
    keep = np.empty(n, dtype=np.bool_)
    _clean(
        np.asfortranarray(values),
        frames,
        offsets,
        np.ascontiguousarray(circ),
        int(linear_limit),
        int(edge_limit),
        float(max_missing_fraction),
        out,
        keep,
    )
    return out, keep


# ----------------------------------------------------------------------------- derivatives


@jit(parallel=True)
def _gradient(
    v: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    circular: bool,
    scale: float,
    out: np.ndarray,
) -> None:
    n_seg = offsets.shape[0] - 1
    for g in prange(n_seg):
        s = offsets[g]
        e = offsets[g + 1]
        p = -1  # previous kept row
        r = s
        while r < e and not keep[r]:
            out[r] = np.nan
            r += 1
        while r < e:
            q = r + 1  # next kept row
            while q < e and not keep[q]:
                out[q] = np.nan
                q += 1
            back = p >= 0 and frames[r] - frames[p] == 1
            ahead = q < e and frames[q] - frames[r] == 1
            if back and ahead:
                # the unwrapped angle's central difference for angles
                d = wrap(v[q] - v[r]) + wrap(v[r] - v[p]) if circular else v[q] - v[p]
                out[r] = d / 2.0 * scale
            elif ahead:
                d = v[q] - v[r]
                out[r] = (wrap(d) if circular else d) * scale
            elif back:
                d = v[r] - v[p]
                out[r] = (wrap(d) if circular else d) * scale
            else:
                out[r] = np.nan
            p = r
            r = q


def frame_gradient(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray | None = None,
    *,
    circular: bool = False,
    scale: float = 1.0,
) -> np.ndarray:
    """Per-frame derivative of every individual's values (see the module docs).

    Parameters
    ----------
    values : numpy.ndarray
        float64 array of shape (n,).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    keep : numpy.ndarray, optional
        bool array of shape (n,): rows that exist (others are skipped and NaN).
    circular : bool, default False
        Values are angles in radians (wrapped differences).
    scale : float, default 1.0
        Multiplier (the frame rate gives units per second).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n,).

    Examples
    --------
    >>> import numpy as np
    >>> frame_gradient(np.array([0.0, 1.0, 4.0]), np.arange(3), np.array([0, 3]))
    array([1., 2., 3.])
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    n = v.shape[0]
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    if v.ndim != 1 or frames.shape != (n,):
        raise ValueError("values and frames must be 1-D arrays of equal length")
    offsets = _check_offsets(offsets, n)
    k = np.ones(n, dtype=np.bool_) if keep is None else np.ascontiguousarray(keep, dtype=np.bool_)
    if k.shape != (n,):
        raise ValueError(f"keep must have shape ({n},), got {k.shape}")
    out = np.empty(n)
    _gradient(v, frames, offsets, k, bool(circular), float(scale), out)
    return out


# ----------------------------------------------------------------------------- pair layout


@jit
def _segment_of_rows(offsets: np.ndarray, n: int) -> np.ndarray:
    seg = np.empty(n, dtype=np.int64)
    for g in range(offsets.shape[0] - 1):
        for r in range(offsets[g], offsets[g + 1]):
            seg[r] = g
    return seg


def segment_of_rows(offsets: np.ndarray) -> np.ndarray:
    """Segment index of every row.

    Parameters
    ----------
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).

    Returns
    -------
    numpy.ndarray
        int64 array of shape (offsets[-1],).
    """
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    return _segment_of_rows(offsets, int(offsets[-1]))


@jit(inline="always")
def _merge_count(frames: np.ndarray, keep: np.ndarray, a0: int, a1: int, b0: int, b1: int) -> int:
    # number of frames at which both segments have a kept row
    i = a0
    j = b0
    c = 0
    while i < a1 and j < b1:
        fa = frames[i]
        fb = frames[j]
        if fa < fb:
            i += 1
        elif fb < fa:
            j += 1
        else:
            if keep[i] and keep[j]:
                c += 1
            i += 1
            j += 1
    return c


@jit(parallel=True)
def _all_pairs(
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    counting: bool,
    pair_off: np.ndarray,
    counts: np.ndarray,
    ra: np.ndarray,
    rb: np.ndarray,
) -> None:
    # unordered segment pairs (a < b): the matched frames are written twice,
    # as the block of (a, b) and the block of (b, a)
    n_seg = offsets.shape[0] - 1
    n_pairs = n_seg * (n_seg - 1) // 2
    for u in prange(n_pairs):
        # decode u -> (a, b), a < b, row-major over the upper triangle
        a = 0
        rem = u + 0
        while rem >= n_seg - 1 - a:
            rem -= n_seg - 1 - a
            a += 1
        b = a + 1 + rem
        a0 = offsets[a]
        a1 = offsets[a + 1]
        b0 = offsets[b]
        b1 = offsets[b + 1]
        if counting:
            c = _merge_count(frames, keep, a0, a1, b0, b1)
            counts[a * n_seg + b] = c
            counts[b * n_seg + a] = c
            continue
        o_ab = pair_off[a * n_seg + b]
        o_ba = pair_off[b * n_seg + a]
        i = a0
        j = b0
        c = 0
        while i < a1 and j < b1:
            fa = frames[i]
            fb = frames[j]
            if fa < fb:
                i += 1
            elif fb < fa:
                j += 1
            else:
                if keep[i] and keep[j]:
                    ra[o_ab + c] = i
                    rb[o_ab + c] = j
                    ra[o_ba + c] = j
                    rb[o_ba + c] = i
                    c += 1
                i += 1
                j += 1


@jit
def _radius_edges(
    x: np.ndarray,
    y: np.ndarray,
    perm: np.ndarray,
    goff: np.ndarray,
    radius: float,
    counting: bool,
    edge_off: np.ndarray,
    ea: np.ndarray,
    eb: np.ndarray,
) -> int:
    # directed edges (focal, partner) within ``radius``, frame group by frame group.
    # Serial over groups so the edges come out in frame order (the bucket sort
    # below relies on it); ``counting`` only counts per group.
    n_groups = goff.shape[0] - 1
    r2 = radius * radius
    max_m = 0
    for g in range(n_groups):
        max_m = max(max_m, goff[g + 1] - goff[g])
    lx = np.empty(max_m)
    ly = np.empty(max_m)
    lrow = np.empty(max_m, dtype=np.int64)
    keys = np.empty(max_m, dtype=np.int64)
    total = 0
    for g in range(n_groups):
        m = 0
        for p in range(goff[g], goff[g + 1]):
            r = perm[p]
            if math.isfinite(x[r]) and math.isfinite(y[r]):
                lx[m] = x[r]
                ly[m] = y[r]
                lrow[m] = r
                m += 1
        start = edge_off[g] if not counting else 0
        c = 0
        if m <= _DENSE_RADIUS:
            for i in range(m):
                for j in range(m):
                    if i != j:
                        dx = lx[j] - lx[i]
                        dy = ly[j] - ly[i]
                        if dx * dx + dy * dy <= r2:
                            if not counting:
                                ea[start + c] = lrow[i]
                                eb[start + c] = lrow[j]
                            c += 1
        else:
            xmin = lx[0]
            ymin = ly[0]
            for i in range(1, m):
                xmin = min(xmin, lx[i])
                ymin = min(ymin, ly[i])
            # cells of side ``radius``: partners lie in the 3 x 3 cells around
            stride = np.int64(1) << 31
            for i in range(m):
                cx = np.int64((lx[i] - xmin) / radius)
                cy = np.int64((ly[i] - ymin) / radius)
                keys[i] = cx * stride + cy
            order = np.argsort(keys[:m])
            sk = keys[:m][order]
            for i in range(m):
                cx = np.int64((lx[i] - xmin) / radius)
                cy = np.int64((ly[i] - ymin) / radius)
                for ddx in range(-1, 2):
                    lo_key = (cx + ddx) * stride + cy - 1
                    hi_key = (cx + ddx) * stride + cy + 1
                    lo = np.searchsorted(sk, lo_key)
                    hi = np.searchsorted(sk, hi_key, side="right")
                    for t in range(lo, hi):
                        j = order[t]
                        if j == i:
                            continue
                        dx = lx[j] - lx[i]
                        dy = ly[j] - ly[i]
                        if dx * dx + dy * dy <= r2:
                            if not counting:
                                ea[start + c] = lrow[i]
                                eb[start + c] = lrow[j]
                            c += 1
        if counting:
            edge_off[g + 1] = c
        total += c
    return total


@jit
def _nearest_edges(
    nn: np.ndarray, perm: np.ndarray, goff: np.ndarray, ea: np.ndarray, eb: np.ndarray
) -> int:
    # both orders of every (row, one of its k nearest) edge, in frame order
    k = nn.shape[1]
    c = 0
    for g in range(goff.shape[0] - 1):
        for p in range(goff[g], goff[g + 1]):
            r = perm[p]
            for j in range(k):
                s = nn[r, j]
                if s >= 0:
                    ea[c] = r
                    eb[c] = s
                    ea[c + 1] = s
                    eb[c + 1] = r
                    c += 2
    return c


@jit
def _bucket_edges(
    ea: np.ndarray, eb: np.ndarray, seg: np.ndarray, frames: np.ndarray, n_seg: int
) -> tuple[np.ndarray, np.ndarray]:
    # stable counting sort of frame-ordered edges by (focal segment, partner
    # segment), then drop repeats (equal edges are adjacent after the sort)
    n_e = ea.shape[0]
    n_b = n_seg * n_seg
    start = np.zeros(n_b + 1, dtype=np.int64)
    for i in range(n_e):
        start[seg[ea[i]] * n_seg + seg[eb[i]] + 1] += 1
    for b in range(n_b):
        start[b + 1] += start[b]
    sa = np.empty(n_e, dtype=np.int64)
    sb = np.empty(n_e, dtype=np.int64)
    for i in range(n_e):
        b = seg[ea[i]] * n_seg + seg[eb[i]]
        sa[start[b]] = ea[i]
        sb[start[b]] = eb[i]
        start[b] += 1
    m = 0
    for i in range(n_e):
        if m > 0 and sa[i] == sa[m - 1] and sb[i] == sb[m - 1]:
            continue
        sa[m] = sa[i]
        sb[m] = sb[i]
        m += 1
    return sa[:m], sb[:m]


def _sort_edges(
    ea: np.ndarray, eb: np.ndarray, seg: np.ndarray, frames: np.ndarray, n_seg: int
) -> tuple[np.ndarray, np.ndarray]:
    if n_seg * n_seg <= 4 * ea.shape[0] + (1 << 20):
        return _bucket_edges(ea, eb, seg, frames, n_seg)
    # very many individuals: a lexsort instead of n_seg² buckets
    order = np.lexsort((frames[ea], seg[eb], seg[ea]))
    sa, sb = ea[order], eb[order]
    if sa.shape[0] > 1:
        new = np.ones(sa.shape[0], dtype=bool)
        new[1:] = (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])
        sa, sb = sa[new], sb[new]
    return np.ascontiguousarray(sa), np.ascontiguousarray(sb)


def pair_rows(
    frames: np.ndarray,
    offsets: np.ndarray,
    ids: np.ndarray,
    keep: np.ndarray | None = None,
    *,
    mode: str = "all",
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    k: int = 1,
    radius: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the pair table: (focal row, partner row) per pair and frame.

    Parameters
    ----------
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,); segments in increasing id
        order (one segment per individual).
    ids : numpy.ndarray
        int64 individual id of every row, shape (n,).
    keep : numpy.ndarray, optional
        bool array of shape (n,): rows that take part (default all).
    mode : {"all", "nearest", "radius"}
        Pair selection (see the module docs for the row counts).
    x, y : numpy.ndarray, optional
        Positions of shape (n,) for ``"nearest"`` and ``"radius"``; rows with a
        NaN coordinate are in no selected pair.
    k : int, default 1
        Partners per individual for ``"nearest"``.
    radius : float, optional
        Largest pair distance for ``"radius"``.

    Returns
    -------
    focal, partner : numpy.ndarray
        int64 arrays of shape (n_pairs,), row indices into the track table,
        sorted by (focal id, partner id, frame), unique.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = pair_rows(np.array([0, 1, 0, 1]), np.array([0, 2, 4]), np.array([1, 1, 2, 2]))
    >>> a, b
    (array([0, 1, 2, 3]), array([2, 3, 0, 1]))
    """
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    n = frames.shape[0]
    offsets = _check_offsets(offsets, n)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if ids.shape != (n,):
        raise ValueError(f"ids must have shape ({n},), got {ids.shape}")
    kp = np.ones(n, dtype=np.bool_) if keep is None else np.ascontiguousarray(keep, dtype=np.bool_)
    if kp.shape != (n,):
        raise ValueError(f"keep must have shape ({n},), got {kp.shape}")
    n_seg = offsets.shape[0] - 1
    if mode not in PAIR_MODES:
        raise ValueError(f"pair mode must be one of {PAIR_MODES}, got {mode!r}")
    if mode == "all" or n_seg < 2:
        if n_seg < 2:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        counts = np.zeros(n_seg * n_seg, dtype=np.int64)
        dummy = np.empty(0, dtype=np.int64)
        _all_pairs(frames, offsets, kp, True, counts, counts, dummy, dummy)
        pair_off = np.zeros(n_seg * n_seg, dtype=np.int64)
        np.cumsum(counts[:-1], out=pair_off[1:])
        total = int(counts.sum())
        ra = np.empty(total, dtype=np.int64)
        rb = np.empty(total, dtype=np.int64)
        _all_pairs(frames, offsets, kp, False, pair_off, counts, ra, rb)
        return ra, rb
    if x is None or y is None:
        raise ValueError(f"pair mode {mode!r} needs positions x and y")
    px = np.array(x, dtype=np.float64)  # a copy: dropped rows become NaN
    py = np.ascontiguousarray(y, dtype=np.float64)
    if px.shape != (n,) or py.shape != (n,):
        raise ValueError(f"x and y must have shape ({n},)")
    px[~kp] = np.nan
    seg = segment_of_rows(offsets)
    perm, goff = frame_order(frames)
    if mode == "nearest":
        if isinstance(k, bool) or int(k) != k or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        nn, _ = nearest_neighbors(px, py, ids, frames, int(k))
        nn = np.ascontiguousarray(nn)
        size = 2 * int((nn >= 0).sum())
        ea = np.empty(size, dtype=np.int64)
        eb = np.empty(size, dtype=np.int64)
        _nearest_edges(nn, perm, goff, ea, eb)
    else:
        if radius is None or not (math.isfinite(radius) and radius > 0):
            raise ValueError(f"pair mode 'radius' needs a positive finite radius, got {radius!r}")
        edge_off = np.zeros(goff.shape[0], dtype=np.int64)
        dummy = np.empty(0, dtype=np.int64)
        _radius_edges(px, py, perm, goff, float(radius), True, edge_off, dummy, dummy)
        np.cumsum(edge_off, out=edge_off)
        total = int(edge_off[-1])
        ea = np.empty(total, dtype=np.int64)
        eb = np.empty(total, dtype=np.int64)
        _radius_edges(px, py, perm, goff, float(radius), False, edge_off, ea, eb)
    return _sort_edges(ea, eb, seg, frames, n_seg)


# ----------------------------------------------------------------------------- features


@jit(parallel=True)
def _pair_position(
    ra: np.ndarray,
    rb: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    hc: np.ndarray,
    hs: np.ndarray,
    kin: np.ndarray,
    out: np.ndarray,
) -> None:
    # kin columns per track row: speed, v_para, v_perp, ang_speed
    # out columns: A_speed, A_v_para, A_v_perp, A_ang_speed, A_heading_cos,
    # A_heading_sin, AB_dist, AB_dx_egoA, AB_dy_egoA, rel_heading_cos,
    # rel_heading_sin, B_speed, B_v_para, B_v_perp, B_ang_speed
    for i in prange(ra.shape[0]):
        a = ra[i]
        b = rb[i]
        ca = hc[a]
        sa = hs[a]
        cb = hc[b]
        sb = hs[b]
        dx = x[b] - x[a]
        dy = y[b] - y[a]
        out[i, 0] = kin[a, 0]
        out[i, 1] = kin[a, 1]
        out[i, 2] = kin[a, 2]
        out[i, 3] = kin[a, 3]
        out[i, 4] = ca
        out[i, 5] = sa
        out[i, 6] = math.sqrt(dx * dx + dy * dy)
        out[i, 7] = ca * dx + sa * dy  # rotation by -heading of A
        out[i, 8] = -sa * dx + ca * dy
        out[i, 9] = cb * ca + sb * sa  # cos(hB - hA)
        out[i, 10] = sb * ca - cb * sa  # sin(hB - hA)
        out[i, 11] = kin[b, 0]
        out[i, 12] = kin[b, 1]
        out[i, 13] = kin[b, 2]
        out[i, 14] = kin[b, 3]


PAIR_POSITION_COLUMNS: tuple[str, ...] = (
    "A_speed",
    "A_v_para",
    "A_v_perp",
    "A_ang_speed",
    "A_heading_cos",
    "A_heading_sin",
    "AB_dist",
    "AB_dx_egoA",
    "AB_dy_egoA",
    "rel_heading_cos",
    "rel_heading_sin",
    "B_speed",
    "B_v_para",
    "B_v_perp",
    "B_ang_speed",
)
"""Output columns of :func:`pair_position` (mosaic's egocentric pair columns)."""


def individual_kinematics(
    x: np.ndarray,
    y: np.ndarray,
    heading: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    fps: float,
) -> np.ndarray:
    """Speed, heading-frame velocity and angular speed of every track row.

    Parameters
    ----------
    x, y, heading : numpy.ndarray
        Cleaned positions and heading (radians), float64 of shape (n,).
    frames, offsets, keep
        As in :func:`frame_gradient`.
    fps : float
        Frames per second (derivatives are per second).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n, 4): speed, v_para (along the heading),
        v_perp (to its left), ang_speed (d heading / dt, signed).
    """
    vx = frame_gradient(x, frames, offsets, keep, scale=fps)
    vy = frame_gradient(y, frames, offsets, keep, scale=fps)
    w = frame_gradient(heading, frames, offsets, keep, circular=True, scale=fps)
    c, s = cos_sin(heading)
    out = np.empty((x.shape[0], 4))
    out[:, 0] = np.hypot(vx, vy)
    out[:, 1] = vx * c + vy * s
    out[:, 2] = -vx * s + vy * c
    out[:, 3] = w
    return out


def pair_position(
    focal: np.ndarray,
    partner: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    heading: np.ndarray,
    kinematics: np.ndarray,
) -> np.ndarray:
    """Compute mosaic's egocentric pair columns for every pair row.

    Parameters
    ----------
    focal, partner : numpy.ndarray
        int64 row indices of shape (n_pairs,) (from :func:`pair_rows`).
    x, y, heading : numpy.ndarray
        Cleaned positions and heading (radians) per track row, shape (n,).
    kinematics : numpy.ndarray
        float64 array of shape (n, 4) from :func:`individual_kinematics`.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_pairs, 15), columns
        :data:`PAIR_POSITION_COLUMNS`: the focal's (A) kinematics and heading,
        the distance, the partner's position in A's heading frame (x ahead, y
        to the left), cos / sin of (heading B - heading A), the partner's (B)
        kinematics.
    """
    ra = np.ascontiguousarray(focal, dtype=np.int64)
    rb = np.ascontiguousarray(partner, dtype=np.int64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    h = np.ascontiguousarray(heading, dtype=np.float64)
    kin = np.ascontiguousarray(kinematics, dtype=np.float64)
    n = x.shape[0]
    if y.shape != (n,) or h.shape != (n,) or kin.shape != (n, 4):
        raise ValueError("x, y, heading must have shape (n,) and kinematics (n, 4)")
    if ra.shape != rb.shape:
        raise ValueError("focal and partner must have equal shapes")
    out = np.empty((ra.shape[0], 15), order="F")  # columns contiguous (zero-copy Series)
    _pair_position(ra, rb, x, y, *cos_sin(h), kin, out)
    return out


# ----------------------------------------------------------------------------- smoothing


@jit(inline="always")
def _reflect(j: int, s: int, e: int) -> int:
    # mirror an index into [s, e) without repeating the edge (numpy "reflect")
    if e - s == 1:
        return s
    period = 2 * (e - s - 1)
    t = (j - s) % period
    if t < 0:
        t += period
    return s + (t if t < e - s else period - t)


@jit(parallel=True)
def _smooth(
    v: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    half: int,
    circular: bool,
    out: np.ndarray,
) -> None:
    n_seg = offsets.shape[0] - 1
    for g in prange(n_seg):
        s = offsets[g]
        e = offsets[g + 1]
        r = s
        while r < e:
            if not keep[r]:
                out[r] = v[r]
                r += 1
                continue
            q = r + 1  # run of kept rows with consecutive frames
            while q < e and keep[q] and frames[q] - frames[q - 1] == 1:
                q += 1
            for i in range(r, q):
                acc = 0.0
                for j in range(i - half, i + half + 1):
                    w = v[_reflect(j, r, q)]
                    acc += wrap(w - v[i]) if circular else w
                out[i] = v[i] + acc / (2 * half + 1) if circular else acc / (2 * half + 1)
            r = q


def smooth_columns(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    window: int,
    *,
    circular: bool = False,
) -> np.ndarray:
    """Centred moving average per individual over runs of consecutive kept frames.

    Parameters
    ----------
    values : numpy.ndarray
        float64 array of shape (n,).
    frames, offsets, keep
        As in :func:`frame_gradient`.
    window : int
        Odd number of frames (1: no smoothing).
    circular : bool, default False
        Angles: each window is averaged unwrapped around its centre value.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n,). A run's ends are padded by mirroring
        (``x[1], x[0], x[1]``), as numpy's ``"reflect"`` mode.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"the smoothing window must be an odd number of frames, got {window}")
    v = np.ascontiguousarray(values, dtype=np.float64)
    n = v.shape[0]
    out = np.empty(n)
    _smooth(
        v,
        np.ascontiguousarray(frames, dtype=np.int64),
        _check_offsets(offsets, n),
        np.ascontiguousarray(keep, dtype=np.bool_),
        window // 2,
        bool(circular),
        out,
    )
    return out


# ----------------------------------------------------------------------------- facing


_DEG = 180.0 / math.pi
_SQRT3 = math.sqrt(3.0)
_TAN_PI_12 = 2.0 - math.sqrt(3.0)  # tan(15 degrees)
# Taylor coefficients of atan(u) / u in z = u * u: (-1)^k / (2k + 1), k = 0..12. On the
# reduced range |u| <= tan(15 degrees) (z <= 0.0718) the first omitted term is below
# 2e-17 relative, so the series is as exact as float64 arithmetic allows.
_ATAN_C = tuple((-1.0) ** k / (2 * k + 1) for k in range(13))


@jit(inline="always")
def _atan2(y: float, x: float) -> float:
    # atan2 without branches (selects only), so pair loops vectorise; libm's atan2 is
    # a call per element, several times slower than this. Error about 2e-16 (tested
    # against numpy.arctan2). NaN in, NaN out; atan2(0, 0) = 0.
    ax = abs(x)
    ay = abs(y)
    swap = ay > ax
    num = ax if swap else ay
    den = ay if swap else ax
    r = num / (den + (1e-300 if den == 0.0 else 0.0))  # in [0, 1]; 0 / 0 -> 0
    big = r > _TAN_PI_12
    u = (r * _SQRT3 - 1.0) / (r + _SQRT3) if big else r  # atan(r) = pi/6 + atan(u)
    z = u * u
    p = _ATAN_C[12]
    p = p * z + _ATAN_C[11]
    p = p * z + _ATAN_C[10]
    p = p * z + _ATAN_C[9]
    p = p * z + _ATAN_C[8]
    p = p * z + _ATAN_C[7]
    p = p * z + _ATAN_C[6]
    p = p * z + _ATAN_C[5]
    p = p * z + _ATAN_C[4]
    p = p * z + _ATAN_C[3]
    p = p * z + _ATAN_C[2]
    p = p * z + _ATAN_C[1]
    p = p * z + _ATAN_C[0]
    t = u * p + (math.pi / 6.0 if big else 0.0)
    t = math.pi / 2.0 - t if swap else t
    t = math.pi - t if x < 0.0 else t
    return -t if y < 0.0 else t


@jit(inline="always")
def _angle_diff_deg(a: float, b: float) -> float:
    # |b - a| wrapped into [0, 180] degrees (floor instead of a modulo call: vectorises)
    d = b - a + 180.0
    return abs(d - 360.0 * math.floor(d / 360.0) - 180.0)


@jit(parallel=True)
def _pair_facing(
    ra: np.ndarray,
    rb: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
    body_deg: np.ndarray,
    dist_scale: float,
    angle_thresh: float,
    dist_thresh: float,
    out: np.ndarray,
    facing: np.ndarray,
) -> None:
    # out (Fortran order) columns: body_angle_deg, bearing_deg, angle_diff_deg, distance.
    # Two passes on purpose: the gathers first (dx, dy parked in columns 1 and 2),
    # then the arithmetic on contiguous columns, which vectorises (the atan2 above
    # is a quarter of the time of a per-element libm call only when vectorised).
    n = ra.shape[0]
    for i in prange(n):
        a = ra[i]
        b = rb[i]
        out[i, 0] = body_deg[a]
        out[i, 1] = hx[b] - hx[a]
        out[i, 2] = hy[b] - hy[a]
    for i in prange(n):
        dx = out[i, 1]
        dy = out[i, 2]
        bearing = _atan2(dy, dx) * _DEG
        diff = _angle_diff_deg(out[i, 0], bearing)
        dist = math.sqrt(dx * dx + dy * dy) * dist_scale
        out[i, 1] = bearing
        out[i, 2] = diff
        out[i, 3] = dist
        facing[i] = (diff < angle_thresh) & (dist < dist_thresh)  # NaN compares False


PAIR_FACING_COLUMNS: tuple[str, ...] = (
    "body_angle_deg",
    "bearing_deg",
    "angle_diff_deg",
    "distance",
)
"""Float columns of :func:`pair_facing` (then the boolean ``is_facing``)."""


def pair_facing(
    focal: np.ndarray,
    partner: np.ndarray,
    head_x: np.ndarray,
    head_y: np.ndarray,
    tail_x: np.ndarray,
    tail_y: np.ndarray,
    *,
    towards_tail: bool = True,
    dist_scale: float = 1.0,
    angle_thresh_deg: float = 45.0,
    dist_thresh: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Facing angle between a focal's body axis and the bearing to its partner's head.

    Parameters
    ----------
    focal, partner : numpy.ndarray
        int64 row indices of shape (n_pairs,).
    head_x, head_y, tail_x, tail_y : numpy.ndarray
        Head and rear (abdomen) keypoint per track row, shape (n,).
    towards_tail : bool, default True
        Body axis from head to tail (mosaic's ``head_to_abdomen``); False:
        from tail to head.
    dist_scale : float, default 1.0
        Multiplier of the head-to-head distance (cm per pixel).
    angle_thresh_deg, dist_thresh : float
        ``is_facing`` is ``angle_diff < angle_thresh_deg and distance < dist_thresh``.

    Returns
    -------
    values : numpy.ndarray
        float64 array of shape (n_pairs, 4), columns :data:`PAIR_FACING_COLUMNS`:
        the focal's body axis angle and the bearing from its head to the
        partner's head (degrees, atan2 convention), their absolute difference
        wrapped into [0, 180], the (scaled) head distance. NaN where a
        keypoint is missing.
    is_facing : numpy.ndarray
        bool array of shape (n_pairs,), False where a value is NaN.
    """
    ra = np.ascontiguousarray(focal, dtype=np.int64)
    rb = np.ascontiguousarray(partner, dtype=np.int64)
    hx = np.ascontiguousarray(head_x, dtype=np.float64)
    hy = np.ascontiguousarray(head_y, dtype=np.float64)
    tx = np.asarray(tail_x, dtype=np.float64)
    ty = np.asarray(tail_y, dtype=np.float64)
    if towards_tail:
        body = np.degrees(np.arctan2(ty - hy, tx - hx))
    else:
        body = np.degrees(np.arctan2(hy - ty, hx - tx))
    out = np.empty((ra.shape[0], 4), order="F")
    facing = np.empty(ra.shape[0], dtype=np.bool_)
    _pair_facing(
        ra,
        rb,
        hx,
        hy,
        body,
        float(dist_scale),
        float(angle_thresh_deg),
        float(dist_thresh),
        out,
        facing,
    )
    return out, facing


@jit
def _attention(
    id1: np.ndarray,
    id2: np.ndarray,
    frames: np.ndarray,
    angle: np.ndarray,
    facing: np.ndarray,
    counting: bool,
    block_off: np.ndarray,
    out_id: np.ndarray,
    out_frame: np.ndarray,
    out_target: np.ndarray,
    out_angle: np.ndarray,
) -> int:
    # rows grouped by id1 (contiguous blocks); per block a per-frame best partner
    n = id1.shape[0]
    total = 0
    s = 0
    blk = 0
    while s < n:
        e = s + 1
        while e < n and id1[e] == id1[s]:
            e += 1
        fmin = frames[s]
        fmax = frames[s]
        for r in range(s, e):
            fmin = min(fmin, frames[r])
            fmax = max(fmax, frames[r])
        span = fmax - fmin + 1
        present = np.zeros(span, dtype=np.bool_)
        best = np.full(span, np.inf)
        best_id = np.full(span, -1, dtype=np.int64)
        has = np.zeros(span, dtype=np.bool_)
        for r in range(s, e):
            q = frames[r] - fmin
            present[q] = True
            better = (
                not has[q] or angle[r] < best[q] or (angle[r] == best[q] and id2[r] < best_id[q])
            )
            if facing[r] and math.isfinite(angle[r]) and better:
                best[q] = angle[r]
                best_id[q] = id2[r]
                has[q] = True
        c = 0
        for q in range(span):
            if present[q]:
                if not counting:
                    o = block_off[blk] + c
                    out_id[o] = id1[s]
                    out_frame[o] = fmin + q
                    out_target[o] = best_id[q] if has[q] else -1
                    out_angle[o] = best[q] if has[q] else np.nan
                c += 1
        if counting:
            block_off[blk + 1] = block_off[blk] + c
        total += c
        blk += 1
        s = e
    return total


def attention_targets(
    id1: np.ndarray,
    id2: np.ndarray,
    frames: np.ndarray,
    angle_diff: np.ndarray,
    is_facing: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per (focal, frame): the facing partner with the smallest angle difference.

    Parameters
    ----------
    id1, id2, frames : numpy.ndarray
        int64 focal id, partner id and frame of every pair row, shape (n,);
        rows of one focal must be contiguous (a pair table is).
    angle_diff : numpy.ndarray
        float64 angle differences (degrees), shape (n,).
    is_facing : numpy.ndarray
        bool, shape (n,).

    Returns
    -------
    dict of str to numpy.ndarray
        ``id``, ``frame`` (int64; one row per focal and frame present, sorted
        by focal block then frame), ``target`` (int64 partner id, ``-1`` when
        no partner is faced) and ``angle`` (float64, NaN when none). Ties go to
        the smaller partner id.
    """
    id1 = np.ascontiguousarray(id1, dtype=np.int64)
    n = id1.shape[0]
    id2 = np.ascontiguousarray(id2, dtype=np.int64)
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    ang = np.ascontiguousarray(angle_diff, dtype=np.float64)
    fac = np.ascontiguousarray(is_facing, dtype=np.bool_)
    if not (id2.shape == frames.shape == ang.shape == fac.shape == (n,)):
        raise ValueError("id1, id2, frames, angle_diff and is_facing must have equal shapes")
    n_blocks = int(np.count_nonzero(np.diff(id1))) + 1 if n else 0
    block_off = np.zeros(n_blocks + 1, dtype=np.int64)
    e64 = np.empty(0, dtype=np.int64)
    total = _attention(id1, id2, frames, ang, fac, True, block_off, e64, e64, e64, np.empty(0))
    out = {
        "id": np.empty(total, dtype=np.int64),
        "frame": np.empty(total, dtype=np.int64),
        "target": np.empty(total, dtype=np.int64),
        "angle": np.empty(total),
    }
    _attention(
        id1,
        id2,
        frames,
        ang,
        fac,
        False,
        block_off,
        out["id"],
        out["frame"],
        out["target"],
        out["angle"],
    )
    return out


# ----------------------------------------------------------------------------- orientation


_ROW_CHUNK = 4096  # pair rows per parallel task (one scratch set per task)


@jit(inline="always")
def _sorted_stat_row(vals: np.ndarray, m: int) -> None:
    # insertion sort of vals[:m] (a few keypoints)
    for i in range(1, m):
        v = vals[i]
        j = i - 1
        while j >= 0 and vals[j] > v:
            vals[j + 1] = vals[j]
            j -= 1
        vals[j + 1] = v


@jit(inline="always")
def _quantile_sorted(vals: np.ndarray, m: int, q: float) -> float:
    # numpy's default ("linear") quantile of the sorted vals[:m]
    if m == 0:
        return np.nan
    pos = q * (m - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, m - 1)
    t = pos - lo
    a = vals[lo]
    b = vals[hi]
    return a + t * (b - a) if t < 0.5 else b - (1.0 - t) * (b - a)


@jit(parallel=True)
def _orientation_rel(
    ra: np.ndarray,
    rb: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    angle: np.ndarray,
    scale: np.ndarray,
    qs: np.ndarray,
    k_near: int,
    out: np.ndarray,
) -> None:
    n = ra.shape[0]
    n_kp = px.shape[1]
    n_q = qs.shape[0]
    n_chunks = (n + _ROW_CHUNK - 1) // _ROW_CHUNK
    for ch in prange(n_chunks):
        ex = np.empty(n_kp)
        ey = np.empty(n_kp)
        dd = np.empty(n_kp)
        for i in range(ch * _ROW_CHUNK, min((ch + 1) * _ROW_CHUNK, n)):
            a = ra[i]
            b = rb[i]
            # centroids of the keypoints with both coordinates
            ax = 0.0
            ay = 0.0
            na = 0
            bx = 0.0
            by = 0.0
            nb = 0
            for j in range(n_kp):
                if math.isfinite(px[a, j]) and math.isfinite(py[a, j]):
                    ax += px[a, j]
                    ay += py[a, j]
                    na += 1
                if math.isfinite(px[b, j]) and math.isfinite(py[b, j]):
                    bx += px[b, j]
                    by += py[b, j]
                    nb += 1
            ax = ax / na if na else np.nan
            ay = ay / na if na else np.nan
            bx = bx / nb if nb else np.nan
            by = by / nb if nb else np.nan
            c = math.cos(angle[a])
            s = math.sin(angle[a])
            sc = scale[a]
            ddx = bx - ax
            ddy = by - ay
            out[i, 0] = (c * ddx + s * ddy) / sc
            out[i, 1] = (-s * ddx + c * ddy) / sc
            out[i, 2] = wrap(angle[b] - angle[a])
            m = 0
            for j in range(n_kp):
                if math.isfinite(px[b, j]) and math.isfinite(py[b, j]):
                    rx = px[b, j] - ax
                    ry = py[b, j] - ay
                    u = (c * rx + s * ry) / sc
                    v = (-s * rx + c * ry) / sc
                    if math.isfinite(u) and math.isfinite(v):
                        ex[m] = u
                        ey[m] = v
                        dd[m] = math.sqrt(u * u + v * v)
                        m += 1
            _sorted_stat_row(ex, m)
            _sorted_stat_row(ey, m)
            _sorted_stat_row(dd, m)
            out[i, 3] = dd[0] if m else np.nan
            out[i, 4] = _quantile_sorted(dd, m, 0.5)
            out[i, 5] = dd[m - 1] if m else np.nan
            col = 6
            for t in range(n_q):
                out[i, col + t] = _quantile_sorted(dd, m, qs[t])
            col = 6 + n_q
            out[i, col] = ex[0] if m else np.nan
            out[i, col + 1] = _quantile_sorted(ex, m, 0.5)
            out[i, col + 2] = ex[m - 1] if m else np.nan
            out[i, col + 3] = ey[0] if m else np.nan
            out[i, col + 4] = _quantile_sorted(ey, m, 0.5)
            out[i, col + 5] = ey[m - 1] if m else np.nan
            col = 12 + n_q
            for t in range(k_near):
                out[i, col + t] = dd[t] if t < m else np.nan


def orientation_rel_columns(
    quantiles: list[float] | tuple[float, ...], nearest_k: int
) -> list[str]:
    """Output column names of :func:`orientation_rel`, in order.

    Parameters
    ----------
    quantiles : sequence of float
        Quantiles in [0, 1]; ``0.25`` gives ``dist_q25``.
    nearest_k : int
        Number of ``near_{j}`` columns.

    Returns
    -------
    list of str
    """
    return [
        "dx",
        "dy",
        "dtheta",
        "dist_min",
        "dist_median",
        "dist_max",
        *[f"dist_q{round(q * 100):d}" for q in quantiles],
        "x_min",
        "x_median",
        "x_max",
        "y_min",
        "y_median",
        "y_max",
        *[f"near_{j}" for j in range(nearest_k)],
    ]


def orientation_rel(
    focal: np.ndarray,
    partner: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    angle: np.ndarray,
    scale: np.ndarray,
    quantiles: tuple[float, ...] = (0.25, 0.5, 0.75),
    nearest_k: int = 3,
) -> np.ndarray:
    """Express the partner's keypoints in the focal's body frame, in body-scale units.

    With ``c`` the focal's keypoint centroid (keypoints with both coordinates),
    ``R`` the rotation by minus its heading and ``s`` its scale, every partner
    keypoint ``p`` maps to ``R (p - c) / s``.

    Parameters
    ----------
    focal, partner : numpy.ndarray
        int64 row indices of shape (n_pairs,).
    px, py : numpy.ndarray
        Keypoints, float64 arrays of shape (n, n_keypoints); NaN missing.
    angle : numpy.ndarray
        Heading (radians) per track row, shape (n,).
    scale : numpy.ndarray
        Scale per track row, shape (n,).
    quantiles : tuple of float
        Quantiles of the keypoint distances.
    nearest_k : int
        Number of smallest keypoint distances.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_pairs, len(:func:`orientation_rel_columns`)):
        ``dx, dy`` the partner centroid in the focal frame, ``dtheta`` the
        wrapped heading difference (partner - focal), min / median / max and
        the quantiles of the keypoint distances to the focal centroid,
        min / median / max of the keypoints' x and y in the focal frame, the
        ``nearest_k`` smallest distances (NaN when fewer keypoints).
    """
    ra = np.ascontiguousarray(focal, dtype=np.int64)
    rb = np.ascontiguousarray(partner, dtype=np.int64)
    px = np.ascontiguousarray(px, dtype=np.float64)
    py = np.ascontiguousarray(py, dtype=np.float64)
    n = px.shape[0]
    if px.ndim != 2 or py.shape != px.shape:
        raise ValueError("px and py must be 2-D arrays of equal shape (rows, keypoints)")
    ang = np.ascontiguousarray(angle, dtype=np.float64)
    sc = np.ascontiguousarray(scale, dtype=np.float64)
    if ang.shape != (n,) or sc.shape != (n,):
        raise ValueError(f"angle and scale must have shape ({n},)")
    qs = np.asarray(quantiles, dtype=np.float64)
    if qs.ndim != 1 or np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"quantiles must lie in [0, 1], got {quantiles!r}")
    if nearest_k < 1:
        raise ValueError(f"nearest_k must be >= 1, got {nearest_k}")
    out = np.empty((ra.shape[0], 12 + qs.shape[0] + int(nearest_k)), order="F")
    _orientation_rel(ra, rb, px, py, ang, sc, qs, int(nearest_k), out)
    return out


# ----------------------------------------------------------------------------- nn delta


@jit(parallel=True)
def _lag_rows(
    frames: np.ndarray, offsets: np.ndarray, lag: np.ndarray, const: bool, out: np.ndarray
) -> None:
    # row of the same individual at frame + lag, -1 if absent. A constant lag walks a
    # second pointer along the segment (linear); per-row lags binary-search.
    n = frames.shape[0]
    n_chunks = (n + _ROW_CHUNK * 8 - 1) // (_ROW_CHUNK * 8)
    for c in prange(n_chunks):
        lo = c * _ROW_CHUNK * 8
        hi = min(n, lo + _ROW_CHUNK * 8)
        g = np.searchsorted(offsets, lo, side="right") - 1  # segment of row lo
        i = lo
        while i < hi:
            s = offsets[g]
            e = offsets[g + 1]
            stop = min(e, hi)
            if const:
                j = s + np.searchsorted(frames[s:e], frames[i] + lag[i])
                for r in range(i, stop):
                    target = frames[r] + lag[r]
                    while j < e and frames[j] < target:
                        j += 1
                    while j > s and frames[j - 1] >= target:
                        j -= 1
                    out[r] = j if j < e and frames[j] == target else -1
            else:
                seg = frames[s:e]
                for r in range(i, stop):
                    target = frames[r] + lag[r]
                    j = s + np.searchsorted(seg, target)
                    out[r] = j if j < e and frames[j] == target else -1
            i = stop
            g += 1


def lag_rows(frames: np.ndarray, offsets: np.ndarray, lag: np.ndarray | int) -> np.ndarray:
    """Row of the same individual ``lag`` frames later (earlier for a negative lag).

    Parameters
    ----------
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    lag : int or numpy.ndarray
        Frames ahead (one value, or int64 per row).

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n,): the row at ``frame + lag`` of the same
        segment, ``-1`` when that frame is absent.

    Examples
    --------
    >>> import numpy as np
    >>> lag_rows(np.array([0, 1, 2, 5]), np.array([0, 4]), 3)
    array([-1, -1,  3, -1])
    """
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    n = frames.shape[0]
    offsets = _check_offsets(offsets, n)
    lags = np.full(n, int(lag), dtype=np.int64) if np.ndim(lag) == 0 else np.asarray(lag)
    lags = np.ascontiguousarray(lags, dtype=np.int64)
    if lags.shape != (n,):
        raise ValueError(f"lag must be a scalar or have shape ({n},)")
    out = np.empty(n, dtype=np.int64)
    _lag_rows(frames, offsets, lags, np.ndim(lag) == 0, out)
    return out


@jit(parallel=True)
def _response(
    rows: np.ndarray,
    fut: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    speed: np.ndarray,
    lag: np.ndarray,
    wrap_angle: bool,
    per_frame: bool,
    fps_scale: float,
    out: np.ndarray,
) -> None:
    # out columns: dx, dy, dt, dangle, dspeed for the rows ``rows`` (future rows ``fut``)
    for t in prange(rows.shape[0]):
        i = rows[t]
        j = fut[t]
        out[t, 0] = x[j] - x[i]
        out[t, 1] = y[j] - y[i]
        out[t, 2] = lag[i]
        d = angle[j] - angle[i]
        if wrap_angle:
            d = wrap(d)
        if per_frame:
            d = d / lag[i]
        out[t, 3] = d * fps_scale
        out[t, 4] = speed[j] - speed[i]


def nn_response(
    rows: np.ndarray,
    future: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    speed: np.ndarray,
    lag: np.ndarray,
    *,
    wrap_angle: bool = True,
    per_frame: bool = True,
    fps_scale: float = 1.0,
) -> np.ndarray:
    """Change of position, heading and speed from each row to its future row.

    Parameters
    ----------
    rows, future : numpy.ndarray
        int64 row indices of shape (m,): the rows and their rows ``lag`` frames later.
    x, y, angle, speed : numpy.ndarray
        float64 track columns of shape (n,).
    lag : numpy.ndarray
        int64 frames of every track row, shape (n,).
    wrap_angle : bool, default True
        Wrap the heading change into (-pi, pi].
    per_frame : bool, default True
        Divide the heading change by the lag.
    fps_scale : float, default 1.0
        Multiply the heading change (the frame rate gives rad/s).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (m, 5): dx, dy (world frame), dt (the lag in
        frames), dangle, dspeed. NaN propagates from missing values.
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    fut = np.ascontiguousarray(future, dtype=np.int64)
    out = np.empty((rows.shape[0], 5))
    _response(
        rows,
        fut,
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(angle, dtype=np.float64),
        np.ascontiguousarray(speed, dtype=np.float64),
        np.ascontiguousarray(lag, dtype=np.int64),
        bool(wrap_angle),
        bool(per_frame),
        float(fps_scale),
        out,
    )
    return out


# ----------------------------------------------------------------------------- approach-avoidance


@jit
def _pair_blocks(sa: np.ndarray, sb: np.ndarray) -> np.ndarray:
    # offsets of the runs of equal (focal segment, partner segment)
    n = sa.shape[0]
    count = 1 if n else 0
    for i in range(1, n):
        if sa[i] != sa[i - 1] or sb[i] != sb[i - 1]:
            count += 1
    off = np.empty(count + 1, dtype=np.int64)
    off[0] = 0
    c = 1
    for i in range(1, n):
        if sa[i] != sa[i - 1] or sb[i] != sb[i - 1]:
            off[c] = i
            c += 1
    off[count] = n
    return off


def pair_blocks(focal: np.ndarray, partner: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Offsets of the ordered-pair blocks of a pair table (sorted by id1, id2, frame).

    Parameters
    ----------
    focal, partner : numpy.ndarray
        int64 row indices of shape (n_pairs,) from :func:`pair_rows`.
    offsets : numpy.ndarray
        Segment offsets of the track table.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_blocks + 1,): block ``k`` (one ordered pair,
        in frame order) is ``rows[off[k]:off[k + 1]]``.
    """
    seg = segment_of_rows(offsets)
    return _pair_blocks(seg[np.asarray(focal, np.int64)], seg[np.asarray(partner, np.int64)])


@jit
def _mirror(sa: np.ndarray, sb: np.ndarray, block_off: np.ndarray, n_seg: int) -> np.ndarray:
    # row of (partner, focal) at the same frame; blocks of mirrored pairs hold the same frames
    n_blocks = block_off.shape[0] - 1
    first = np.full(n_seg * n_seg, -1, dtype=np.int64)
    for k in range(n_blocks):
        r = block_off[k]
        first[sa[r] * n_seg + sb[r]] = k
    out = np.empty(sa.shape[0], dtype=np.int64)
    for k in range(n_blocks):
        r0 = block_off[k]
        m = first[sb[r0] * n_seg + sa[r0]]
        for r in range(r0, block_off[k + 1]):
            out[r] = block_off[m] + (r - r0) if m >= 0 else -1
    return out


def mirror_rows(focal: np.ndarray, partner: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Row of the mirrored pair (partner, focal) at the same frame, for every pair row.

    Parameters
    ----------
    focal, partner : numpy.ndarray
        int64 row indices of shape (n_pairs,) from :func:`pair_rows` (closed
        under swapping, as every selection is).
    offsets : numpy.ndarray
        Segment offsets of the track table.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_pairs,).
    """
    ra = np.ascontiguousarray(focal, dtype=np.int64)
    rb = np.ascontiguousarray(partner, dtype=np.int64)
    seg = segment_of_rows(offsets)
    sa, sb = seg[ra], seg[rb]
    blocks = _pair_blocks(sa, sb)
    return _mirror(sa, sb, blocks, offsets.shape[0] - 1)


@jit(parallel=True)
def _aa_metrics(
    ra: np.ndarray,
    rb: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    hc: np.ndarray,
    hs: np.ndarray,
    out: np.ndarray,
) -> None:
    # columns: distance, focal speed, partner speed, cosine of the focal's velocity
    # with the direction to the partner, of the partner's with the direction away
    # from the focal, of the focal's heading with its velocity
    for i in prange(ra.shape[0]):
        a = ra[i]
        b = rb[i]
        dx = x[b] - x[a]
        dy = y[b] - y[a]
        dist = math.sqrt(dx * dx + dy * dy)
        sa = math.sqrt(vx[a] * vx[a] + vy[a] * vy[a])
        sb = math.sqrt(vx[b] * vx[b] + vy[b] * vy[b])
        out[i, 0] = dist
        out[i, 1] = sa
        out[i, 2] = sb
        out[i, 3] = (vx[a] * dx + vy[a] * dy) / (sa * dist)
        out[i, 4] = (vx[b] * dx + vy[b] * dy) / (sb * dist)
        out[i, 5] = (hc[a] * vx[a] + hs[a] * vy[a]) / sa


@jit(parallel=True)
def _aa_qualify(
    m: np.ndarray,
    gate: float,
    use_gate: bool,
    max_dist: float,
    min_speed_a: float,
    min_speed_b: float,
    min_cos_a: float,
    min_cos_b: float,
    out: np.ndarray,
) -> None:
    for i in prange(m.shape[0]):
        ok = (
            m[i, 0] <= max_dist
            and m[i, 1] >= min_speed_a
            and m[i, 2] >= min_speed_b
            and m[i, 3] >= min_cos_a
            and m[i, 4] >= min_cos_b
        )
        out[i] = ok and (not use_gate or m[i, 5] >= gate)  # NaN compares False


@jit(parallel=True)
def _trailing_events(
    q: np.ndarray,
    frames: np.ndarray,
    block_off: np.ndarray,
    window: int,
    min_count: int,
    out: np.ndarray,
) -> None:
    # event = qualifying and >= min_count qualifying frames in [f - window + 1, f] of the block
    for k in prange(block_off.shape[0] - 1):
        s = block_off[k]
        e = block_off[k + 1]
        lo = s
        count = 0
        for r in range(s, e):
            count += q[r]
            while frames[lo] <= frames[r] - window:
                count -= q[lo]
                lo += 1
            out[r] = q[r] and count >= min_count


def approach_avoidance_events(
    focal: np.ndarray,
    partner: np.ndarray,
    pair_frames: np.ndarray,
    offsets: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    heading: np.ndarray | None,
    *,
    distance_threshold: float,
    approacher_speed: float,
    avoider_speed: float,
    cos_approacher: float,
    cos_avoider: float,
    orientation_gate_cos: float | None,
    window: int,
    min_count: int,
    smooth: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Approach-avoidance frames of every ordered pair (focal approaches, partner avoids).

    A pair row *qualifies* when the distance is at most ``distance_threshold``,
    the focal's speed at least ``approacher_speed`` and its velocity's cosine
    with the direction to the partner at least ``cos_approacher``, the
    partner's speed at least ``avoider_speed`` and its velocity's cosine with
    the direction away from the focal at least ``cos_avoider``, and (with a
    gate) the cosine between the focal's heading and its velocity at least
    ``orientation_gate_cos``. A qualifying row is an *event* when at least
    ``min(min_count, window)`` rows of its pair qualify within its trailing
    ``window`` frames.

    Parameters
    ----------
    focal, partner : numpy.ndarray
        int64 pair rows from :func:`pair_rows`.
    pair_frames : numpy.ndarray
        int64 frame of every pair row.
    offsets : numpy.ndarray
        Segment offsets of the track table.
    x, y, vx, vy : numpy.ndarray
        Position and velocity per track row.
    heading : numpy.ndarray or None
        Heading (radians) per track row, for the gate.
    distance_threshold, approacher_speed, avoider_speed, cos_approacher, cos_avoider
        Thresholds (see above).
    orientation_gate_cos : float or None
        The gate; None: no gate.
    window, min_count : int
        Trailing window (frames) and the qualifying rows it needs.
    smooth : int, default 1
        Centred window (frames) of the mean of the distance, speeds and
        cosines of every pair before the thresholds (1: none).

    Returns
    -------
    directed : numpy.ndarray
        bool array of shape (n_pairs,): the focal approaches and the partner avoids.
    either : numpy.ndarray
        bool array of shape (n_pairs,): an event in either direction (the same
        on both rows of the pair).
    """
    ra = np.ascontiguousarray(focal, dtype=np.int64)
    rb = np.ascontiguousarray(partner, dtype=np.int64)
    n = ra.shape[0]
    use_gate = orientation_gate_cos is not None and heading is not None
    h = np.ascontiguousarray(heading if heading is not None else np.zeros(x.shape[0]))
    metrics = np.empty((n, 6))
    _aa_metrics(
        ra,
        rb,
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(vx, dtype=np.float64),
        np.ascontiguousarray(vy, dtype=np.float64),
        *cos_sin(h),
        metrics,
    )
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    pair_frames = np.ascontiguousarray(pair_frames, dtype=np.int64)
    seg = segment_of_rows(offsets)
    sa, sb = seg[ra], seg[rb]
    blocks = _pair_blocks(sa, sb)
    if smooth > 1:
        # centred means of the distance, speeds and cosines (not the gate), NaN skipped
        for j in range(5):
            metrics[:, j] = rolling(
                np.ascontiguousarray(metrics[:, j]),
                blocks,
                int(smooth),
                center=True,
                positions=pair_frames,
            )["mean"]
    q = np.empty(n, dtype=np.bool_)
    _aa_qualify(
        metrics,
        float(orientation_gate_cos) if use_gate else 0.0,
        bool(use_gate),
        float(distance_threshold),
        float(approacher_speed),
        float(avoider_speed),
        float(cos_approacher),
        float(cos_avoider),
        q,
    )
    directed = np.empty(n, dtype=np.bool_)
    _trailing_events(q, pair_frames, blocks, int(window), int(min(min_count, window)), directed)
    mirror = _mirror(sa, sb, blocks, offsets.shape[0] - 1)
    either = directed | np.where(mirror >= 0, directed[np.maximum(mirror, 0)], False)
    return directed, either


@jit(parallel=True)
def _backward_velocity(
    v: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    step: float,
    scale: float,
    out: np.ndarray,
) -> None:
    for g in prange(offsets.shape[0] - 1):
        s = offsets[g]
        e = offsets[g + 1]
        p = -1
        for r in range(s, e):
            out[r] = np.nan
            if not keep[r]:
                continue
            if p >= 0 and frames[r] - frames[p] == step:
                out[r] = (v[r] - v[p]) * scale
            p = r


def step_velocity(
    values: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    *,
    step: float = 1.0,
    scale: float = 1.0,
) -> np.ndarray:
    """Backward difference to the previous kept row, NaN unless it is ``step`` frames back.

    Parameters
    ----------
    values : numpy.ndarray
        float64 array of shape (n,).
    frames, offsets, keep
        As in :func:`frame_gradient`.
    step : float, default 1.0
        The expected frame step (mosaic's ``consecutive_frame_delta``).
    scale : float, default 1.0
        Multiplier (the frame rate gives units per second).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n,).
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty(v.shape[0])
    _backward_velocity(
        v,
        np.ascontiguousarray(frames, dtype=np.int64),
        _check_offsets(offsets, v.shape[0]),
        np.ascontiguousarray(keep, dtype=np.bool_),
        float(step),
        float(scale),
        out,
    )
    return out


# ----------------------------------------------------------------------------- interaction filter


@jit(inline="always")
def _meets(
    i: int,
    j: int,
    sx: np.ndarray,
    sy: np.ndarray,
    h: np.ndarray,
    max_dist: float,
    facing: bool,
    max_inv: float,
) -> bool:
    # sx, sy: positions already shifted forward along their own heading; NaN -> False
    ok = math.hypot(sx[i] - sx[j], sy[i] - sy[j]) < max_dist
    if facing:
        # inverse orientation difference: 0 when the headings are exactly opposite
        inv = math.pi - abs(wrap(h[i] - h[j]))
        ok = ok and inv < max_inv
    return ok


@jit
def _shifted(
    x: np.ndarray, y: np.ndarray, h: np.ndarray, shift: float, sx: np.ndarray, sy: np.ndarray
) -> None:
    # each position shifted ``shift`` forward along its own heading (serial: it is
    # cheap next to the pairs, and a parallel launch costs more than it saves)
    for i in range(x.shape[0]):
        sx[i] = x[i] + math.cos(h[i]) * shift
        sy[i] = y[i] + math.sin(h[i]) * shift


@jit
def _interaction_spans(
    frames: np.ndarray,
    a0: int,
    a1: int,
    b0: int,
    b1: int,
    sx: np.ndarray,
    sy: np.ndarray,
    h: np.ndarray,
    max_dist: float,
    facing: bool,
    max_inv: float,
    size: int,
    min_run: int,
    pad: int,
) -> np.ndarray:
    # the interaction spans of one pair of segments: int64 array (n_spans, 2) of
    # inclusive [first, last] frames (see interaction_rows for the definition), and the
    # common rows: their frames and the rows of a and of b
    n = min(a1 - a0, b1 - b0)
    runs = np.empty((n, 2), dtype=np.int64)
    cf = np.empty(n, dtype=np.int64)
    ci = np.empty(n, dtype=np.int64)
    cj = np.empty(n, dtype=np.int64)
    nc = 0
    k = 0
    lo = 0
    hi = -1
    first = True
    i = a0
    j = b0
    while i < a1 and j < b1:
        fa = frames[i]
        fb = frames[j]
        if fa < fb:
            i += 1
        elif fb < fa:
            j += 1
        else:
            if first:
                lo = fa
                first = False
            hi = fa
            cf[nc] = fa
            ci[nc] = i
            cj[nc] = j
            nc += 1
            if _meets(i, j, sx, sy, h, max_dist, facing, max_inv):
                if k > 0 and runs[k - 1, 1] == fa - 1:
                    runs[k - 1, 1] = fa  # the True run goes on at the next frame
                else:
                    runs[k, 0] = fa
                    runs[k, 1] = fa
                    k += 1
            i += 1
            j += 1
    # closing: bridge False gaps shorter than ``size`` frames between two True runs
    m = 0
    for r in range(k):
        if m > 0 and size > 0 and runs[r, 0] - runs[m - 1, 1] - 1 < size:
            runs[m - 1, 1] = runs[r, 1]
        else:
            runs[m, 0] = runs[r, 0]
            runs[m, 1] = runs[r, 1]
            m += 1
    # opening (runs shorter than ``size`` go), then the minimum duration, then padding
    # clamped to the pair's common frames; padded spans that overlap are merged
    q = 0
    for r in range(m):
        length = runs[r, 1] - runs[r, 0] + 1
        if length < size or length < min_run:
            continue
        s = max(runs[r, 0] - pad, lo)
        e = min(runs[r, 1] + pad, hi)
        if q > 0 and s <= runs[q - 1, 1]:
            runs[q - 1, 1] = max(runs[q - 1, 1], e)
        else:
            runs[q, 0] = s
            runs[q, 1] = e
            q += 1
    return runs[:q], cf[:nc], ci[:nc], cj[:nc]


@jit(inline="always")
def _ordered_pair(a: int, b: int, n_seg: int) -> int:
    # index of the ordered pair (a, b), a != b, in (a, b) lexicographic order
    return a * (n_seg - 1) + (b if b < a else b - 1)


@jit
def _count_pair(
    p: int,
    frames: np.ndarray,
    offsets: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    h: np.ndarray,
    max_dist: float,
    facing: bool,
    max_inv: float,
    size: int,
    min_run: int,
    pad: int,
    counts: np.ndarray,
) -> None:
    # rows of the unordered pair p, written for both of its ordered pairs
    n_seg = offsets.shape[0] - 1
    a, b = _unordered_pair(p, n_seg)
    a0, a1, b0, b1 = offsets[a], offsets[a + 1], offsets[b], offsets[b + 1]
    spans, cf, _, _ = _interaction_spans(
        frames, a0, a1, b0, b1, sx, sy, h, max_dist, facing, max_inv, size, min_run, pad
    )
    c = 0
    for r in range(spans.shape[0]):
        c += np.searchsorted(cf, spans[r, 1], "right") - np.searchsorted(cf, spans[r, 0])
    counts[_ordered_pair(a, b, n_seg)] = c
    counts[_ordered_pair(b, a, n_seg)] = c


@jit(parallel=True)
def _interaction_count(
    frames: np.ndarray,
    offsets: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    h: np.ndarray,
    max_dist: float,
    facing: bool,
    max_inv: float,
    size: int,
    min_run: int,
    pad: int,
    counts: np.ndarray,
) -> None:
    n_seg = offsets.shape[0] - 1
    for p in prange(n_seg * (n_seg - 1) // 2):
        _count_pair(
            p, frames, offsets, sx, sy, h, max_dist, facing, max_inv, size, min_run, pad, counts
        )


@jit
def _unordered_pair(p: int, n_seg: int) -> tuple[int, int]:
    # the p-th pair (a, b), a < b, in lexicographic order
    a = np.int64(0)
    rest = np.int64(p)  # a prange index may be unsigned: keep the arithmetic signed
    while rest >= n_seg - 1 - a:
        rest -= n_seg - 1 - a
        a += 1
    return a, a + 1 + rest


@jit
def _fill_pair(
    p: int,
    frames: np.ndarray,
    offsets: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    h: np.ndarray,
    max_dist: float,
    facing: bool,
    max_inv: float,
    size: int,
    min_run: int,
    pad: int,
    out_off: np.ndarray,
    ra: np.ndarray,
    rb: np.ndarray,
    label: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> None:
    n_seg = offsets.shape[0] - 1
    a, b = _unordered_pair(p, n_seg)
    a0, a1, b0, b1 = offsets[a], offsets[a + 1], offsets[b], offsets[b + 1]
    spans, cf, ci, cj = _interaction_spans(
        frames, a0, a1, b0, b1, sx, sy, h, max_dist, facing, max_inv, size, min_run, pad
    )
    w_ab = out_off[_ordered_pair(a, b, n_seg)]
    w_ba = out_off[_ordered_pair(b, a, n_seg)]
    for r in range(spans.shape[0]):
        k0 = np.searchsorted(cf, spans[r, 0])
        k1 = np.searchsorted(cf, spans[r, 1], "right")
        # start / end: the span's first and last frame with a row of both
        f0 = cf[k0]
        f1 = cf[k1 - 1]
        for k in range(k0, k1):
            ra[w_ab] = ci[k]
            rb[w_ab] = cj[k]
            ra[w_ba] = cj[k]
            rb[w_ba] = ci[k]
            label[w_ab] = r
            label[w_ba] = r
            start[w_ab] = f0
            start[w_ba] = f0
            end[w_ab] = f1
            end[w_ba] = f1
            w_ab += 1
            w_ba += 1


@jit(parallel=True)
def _interaction_fill(
    frames: np.ndarray,
    offsets: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    h: np.ndarray,
    max_dist: float,
    facing: bool,
    max_inv: float,
    size: int,
    min_run: int,
    pad: int,
    out_off: np.ndarray,
    ra: np.ndarray,
    rb: np.ndarray,
    label: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> None:
    n_seg = offsets.shape[0] - 1
    for p in prange(n_seg * (n_seg - 1) // 2):
        _fill_pair(
            p,
            frames,
            offsets,
            sx,
            sy,
            h,
            max_dist,
            facing,
            max_inv,
            size,
            min_run,
            pad,
            out_off,
            ra,
            rb,
            label,
            start,
            end,
        )


def interaction_rows(
    frames: np.ndarray,
    offsets: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    heading: np.ndarray,
    *,
    shift_dist: float = 15.0,
    max_dist: float = 40.0,
    require_facing: bool = True,
    max_inv_orientation_diff_deg: float = 80.0,
    min_run_frames: int = 250,
    frame_padding: int = 10,
    structure_size: int = 25,
) -> dict[str, np.ndarray]:
    """Interaction segments of every pair (the rows of ``pair-interaction-filter``).

    For every two individuals ``a`` and ``b``, over the frames at which both have
    a row:

    1. *candidate frames*: the distance between ``a``'s and ``b``'s positions,
       each shifted ``shift_dist`` forward along its own heading, is less than
       ``max_dist``; with ``require_facing``, also the inverse orientation
       difference ``pi - |wrap(h_a - h_b)|`` (0 for opposite headings) is less
       than ``max_inv_orientation_diff_deg``. NaN never qualifies, nor does a
       frame at which either is absent.
    2. *closing*: a run of non-candidate frames shorter than ``structure_size``
       between two candidate frames becomes candidate; *opening*: a candidate run
       shorter than ``structure_size`` is dropped (1-D morphological closing
       then opening with a flat element of that length; 0 disables both).
    3. every remaining run of at least ``min_run_frames`` frames (its span
       ``last - first + 1``) is an interaction, widened by ``frame_padding``
       frames on each side within the pair's first and last common frame;
       widened spans that overlap are merged.
    4. a row per frame of a span at which both have a row, for (a, b) and
       (b, a); ``label`` numbers the pair's spans from 0 in frame order,
       ``start`` / ``end`` are the first and last frame of the span at which
       both have a row (inclusive).

    Parameters
    ----------
    frames : numpy.ndarray
        int64 frame numbers, shape (n,), sorted by (individual, frame).
    offsets : numpy.ndarray
        Segment offsets, shape (n_individuals + 1,), in increasing id order.
    x, y, heading : numpy.ndarray
        float64 positions and heading (radians), shape (n,).
    shift_dist, max_dist, require_facing, max_inv_orientation_diff_deg, min_run_frames, \
frame_padding, structure_size
        As above (``structure_size`` is mosaic's ``morphological_structure_size``).

    Returns
    -------
    dict of numpy.ndarray
        ``focal``, ``partner`` (int64 rows of the track table), ``label``,
        ``start``, ``end`` (int64), one value per output row, sorted by
        (focal individual, partner individual, frame).
    """
    fr = np.ascontiguousarray(frames, dtype=np.int64)
    off = _check_offsets(offsets, fr.shape[0])
    xs = np.ascontiguousarray(x, dtype=np.float64)
    ys = np.ascontiguousarray(y, dtype=np.float64)
    hs = np.ascontiguousarray(heading, dtype=np.float64)
    if not (xs.shape == ys.shape == hs.shape == fr.shape):
        raise ValueError("interaction_rows: frames, x, y and heading must have the same length")
    for name, v in (
        ("structure_size", structure_size),
        ("min_run_frames", min_run_frames),
        ("frame_padding", frame_padding),
    ):
        if int(v) < 0:
            raise ValueError(f"interaction_rows: {name} must be >= 0, got {v}")
    n_seg = off.shape[0] - 1
    # the shifted positions once per track row (each row is in every pair of its frame)
    sx = np.empty_like(xs)
    sy = np.empty_like(ys)
    _shifted(xs, ys, hs, float(shift_dist), sx, sy)
    args = (
        fr,
        off,
        sx,
        sy,
        hs,
        float(max_dist),
        bool(require_facing),
        math.radians(float(max_inv_orientation_diff_deg)),
        int(structure_size),
        int(min_run_frames),
        int(frame_padding),
    )
    counts = np.zeros(max(n_seg * (n_seg - 1), 0), dtype=np.int64)
    # one pair (two individuals): the per-pair kernels directly, without waking threads
    # (a parallel region around a single iteration only costs a thread launch)
    if n_seg == 2:
        _count_pair(0, *args, counts)
    elif n_seg > 2:
        _interaction_count(*args, counts)
    out_off = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=out_off[1:])
    total = int(out_off[-1])
    names = ("focal", "partner", "label", "start", "end")
    res = {name: np.empty(total, dtype=np.int64) for name in names}
    outs = (out_off, res["focal"], res["partner"], res["label"], res["start"], res["end"])
    if total and n_seg == 2:
        _fill_pair(0, *args, *outs)
    elif total:
        _interaction_fill(*args, *outs)
    return res


# ----------------------------------------------------------------------------- pair wavelet

_CWT_BLOCK = 1 << 16  # FFT length of the overlap-save blocks of long segments
_CWT_BUDGET = 1 << 22  # complex values per batched inverse FFT (64 MiB)


def cwt_filters(wavelet: str, scales: np.ndarray, precision: int = 12) -> tuple[list, np.ndarray]:
    """Discrete filters of PyWavelets' ``cwt`` (``method="conv"``) for ``scales``.

    ``pywt.cwt`` convolves the signal with the integrated wavelet sampled at
    each scale, ``h_s``, and returns ``-sqrt(s) * diff(conv(x, h_s))`` cropped
    to the signal's length. Folding the difference into the filter,
    ``g_s[k] = -sqrt(s) * (h_s[k] - h_s[k - 1])`` (``h_s`` zero outside), gives
    ``coef_s[t] = conv(x, g_s)[t + offset_s]``.

    Parameters
    ----------
    wavelet : str
        A PyWavelets continuous wavelet name (e.g. ``"cmor1.5-1.0"``).
    scales : numpy.ndarray
        Scales, shape (n_scales,); their dtype is kept for ``sqrt(s)`` (float32
        scales give pywt's float32 square roots).
    precision : int, default 12
        pywt's ``cwt`` ``precision`` (the wavelet is sampled at ``2**precision``
        points).

    Returns
    -------
    filters : list of numpy.ndarray
        complex128 arrays ``g_s``, of lengths ``len(h_s) + 1``.
    offsets : numpy.ndarray
        int64 array of shape (n_scales,): ``offset_s``.
    """
    import pywt

    w = pywt.ContinuousWavelet(wavelet)
    int_psi, xs = pywt.integrate_wavelet(w, precision=precision)
    int_psi = np.asarray(np.conj(int_psi) if w.complex_cwt else int_psi, dtype=np.complex128)
    xs = np.asarray(xs, dtype=np.float64)
    step = xs[1] - xs[0]
    filters = []
    offsets = np.empty(len(scales), dtype=np.int64)
    for i, scale in enumerate(np.asarray(scales)):
        j = (np.arange(scale * (xs[-1] - xs[0]) + 1) / (scale * step)).astype(int)
        j = j[j < int_psi.size]
        h = int_psi[j][::-1]
        if h.size < 2:
            raise ValueError(f"cwt_filters: scale {float(scale)} is too small for {wavelet!r}")
        g = np.zeros(h.size + 1, dtype=np.complex128)
        g[:-1] = h
        g[1:] -= h
        g *= -np.sqrt(scale)
        filters.append(g)
        offsets[i] = (h.size - 2) // 2 + 1
    return filters, offsets


@jit(parallel=True)
def _cwt_windows(
    data: np.ndarray,
    job_col: np.ndarray,
    job_seg0: np.ndarray,
    job_seglen: np.ndarray,
    job_t0: np.ndarray,
    job_len: np.ndarray,
    pad: int,
    w: np.ndarray,
) -> None:
    # window j: data[seg0 + t0 - pad : seg0 + t0 + len + pad] of its column, zero outside
    # the segment (the full linear convolution sees zeros there)
    for j in prange(w.shape[0]):
        col = job_col[j]
        s0 = job_seg0[j]
        n = job_seglen[j]
        lo = job_t0[j] - pad
        m = job_len[j] + 2 * pad
        for u in range(w.shape[1]):
            i = lo + u
            w[j, u] = data[s0 + i, col] if (u < m and i >= 0 and i < n) else 0.0


@jit(parallel=True)
def _cwt_log_power(
    y: np.ndarray,
    job_row: np.ndarray,
    job_col: np.ndarray,
    job_len: np.ndarray,
    offs: np.ndarray,
    c0: int,
    n_freq: int,
    floor: float,
    out: np.ndarray,
) -> None:
    # out[row, col * n_freq + scale] = max(log(float32(|coef|^2) + tiny32), floor) in float32
    n_jobs = y.shape[0]
    n_sc = y.shape[1]
    tiny = np.float32(np.finfo(np.float32).tiny)
    fl = np.float32(floor)
    for q in prange(n_jobs * n_sc):
        j = q // n_sc
        k = q - j * n_sc
        o = offs[c0 + k]
        r0 = job_row[j]
        c = job_col[j] * n_freq + c0 + k
        for t in range(job_len[j]):
            v = y[j, k, o + t]
            p = np.float32(v.real * v.real + v.imag * v.imag)
            lp = np.log(p + tiny)
            out[r0 + t, c] = lp if lp > fl else fl


def _cwt_jobs(seg_len: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # split every segment into output blocks of at most ``block`` samples
    n_blocks = np.maximum(-(-seg_len // block), 1)
    idx = np.repeat(np.arange(seg_len.shape[0]), n_blocks)
    first = np.cumsum(n_blocks) - n_blocks
    t0 = (np.arange(idx.shape[0]) - first[idx]) * block
    length = np.minimum(seg_len[idx] - t0, block)
    return idx, t0, length


def cwt_log_power(
    data: np.ndarray,
    seg_start: np.ndarray,
    seg_len: np.ndarray,
    seg_col: np.ndarray,
    filters: list,
    offsets: np.ndarray,
    *,
    log_floor: float = -3.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Clamped log power of the CWT of segments of the columns of ``data``.

    Each segment (``seg_len[i]`` rows of column ``seg_col[i]`` from row
    ``seg_start[i]``) is transformed on its own, as one signal (zero outside),
    with the filters of :func:`cwt_filters`: ``coef_s[t] = conv(x, g_s)[t +
    offset_s]``, computed by FFT overlap-save in blocks. The value written is
    ``max(log(float32(|coef_s[t]|^2) + tiny32), log_floor)`` in float32 (pywt's
    coefficients, mosaic's clamped natural-log power).

    Parameters
    ----------
    data : numpy.ndarray
        float64 array of shape (n_rows, n_cols).
    seg_start, seg_len, seg_col : numpy.ndarray
        int64 arrays of shape (n_segments,); segments hold finite values.
    filters, offsets
        From :func:`cwt_filters` (n_freq scales).
    log_floor : float, default -3.0
        Lower clamp of the log power.
    out : numpy.ndarray, optional
        float32 array of shape (n_rows, n_cols * n_freq), Fortran order, to
        write into (rows outside every segment are left as they are).

    Returns
    -------
    numpy.ndarray
        float32 array of shape (n_rows, n_cols * n_freq), Fortran order:
        column ``c * n_freq + s`` is column ``c`` at scale ``s``; rows outside
        every segment are NaN (when ``out`` is not given).
    """
    from scipy import fft as sfft

    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("cwt_log_power: data must be 2-D (rows, columns)")
    n_rows, n_cols = x.shape
    n_freq = len(filters)
    if out is None:
        out = np.full((n_rows, n_cols * n_freq), np.nan, dtype=np.float32, order="F")
    seg_start = np.ascontiguousarray(seg_start, dtype=np.int64)
    seg_len = np.ascontiguousarray(seg_len, dtype=np.int64)
    seg_col = np.ascontiguousarray(seg_col, dtype=np.int64)
    if seg_start.shape[0] == 0 or n_freq == 0:
        return out
    l_max = max(g.shape[0] for g in filters)
    pad = l_max // 2 + 2
    overhead = 2 * pad + l_max
    longest = int(seg_len.max())
    nfft = sfft.next_fast_len(longest + overhead) if longest + overhead <= _CWT_BLOCK else 0
    if nfft == 0:
        nfft = sfft.next_fast_len(max(_CWT_BLOCK, 4 * overhead))
    block = nfft - overhead
    spectra = np.empty((n_freq, nfft), dtype=np.complex128)
    for s, g in enumerate(filters):
        spectra[s] = sfft.fft(g, nfft)
    offs = np.ascontiguousarray(offsets, dtype=np.int64) + pad
    idx, t0, length = _cwt_jobs(seg_len, block)
    job_col = seg_col[idx]
    job_seg0 = seg_start[idx]
    job_seglen = seg_len[idx]
    job_row = job_seg0 + t0
    workers = get_num_threads()
    xf = np.asfortranarray(x)  # column gathers
    batch = max(1, min(idx.shape[0], _CWT_BUDGET // (nfft * n_freq) or 1))
    for b0 in range(0, idx.shape[0], batch):
        sl = slice(b0, b0 + batch)
        w = np.empty((min(batch, idx.shape[0] - b0), nfft))
        _cwt_windows(xf, job_col[sl], job_seg0[sl], job_seglen[sl], t0[sl], length[sl], pad, w)
        spec = sfft.fft(w, axis=-1, workers=workers)
        n_sc = max(1, _CWT_BUDGET // (nfft * w.shape[0]))
        for c0 in range(0, n_freq, n_sc):
            y = sfft.ifft(
                spec[:, None, :] * spectra[None, c0 : c0 + n_sc, :],
                axis=-1,
                workers=workers,
                overwrite_x=True,
            )
            _cwt_log_power(
                y, job_row[sl], job_col[sl], length[sl], offs, c0, n_freq, float(log_floor), out
            )
    return out


# ----------------------------------------------------------------------------- nn-delta bins


@jit(inline="always")
def _bin_of(edges: np.ndarray, v: float, last_inclusive: bool) -> int:
    # numpy's bin: searchsorted(edges, v, "right") - 1; -1 when outside (NaN: outside);
    # ``last_inclusive``: v == edges[-1] is in the last bin (histogram2d), else outside
    # (digitize)
    n = edges.shape[0]
    if not (v >= edges[0] and v <= edges[n - 1]):
        return -1
    if v == edges[n - 1]:
        return n - 2 if last_inclusive else -1
    lo = 0
    hi = n
    while lo < hi:  # first index with edges[i] > v
        mid = (lo + hi) >> 1
        if edges[mid] > v:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


@jit(parallel=True)
def _delta_bins(
    rows: np.ndarray,
    goff: np.ndarray,
    nx: np.ndarray,
    ny: np.ndarray,
    dangle: np.ndarray,
    dspeed: np.ndarray,
    edges: np.ndarray,
    x_edges: np.ndarray,
    y_edges: np.ndarray,
    max_for_avg: float,
    antisymm: bool,
    t1_sum: np.ndarray,
    t1_cnt: np.ndarray,
    s1_sum: np.ndarray,
    s1_cnt: np.ndarray,
    t2_sum: np.ndarray,
    t2_cnt: np.ndarray,
    s2_sum: np.ndarray,
    s2_cnt: np.ndarray,
) -> None:
    n_groups = goff.shape[0] - 1
    half = max_for_avg / 2
    for g in prange(n_groups):
        r0 = goff[g]
        r1 = goff[g + 1]
        # 1-D turn: neighbours ahead (0 <= x <= max_for_avg), dangle binned over y; the
        # mirrored copies (-y, -dangle) after the originals (numpy's summation order)
        for sign in (1.0, -1.0):
            if sign < 0 and not antisymm:
                break
            for r in range(r0, r1):
                i = rows[r]
                if nx[i] >= 0 and nx[i] <= max_for_avg and math.isfinite(dangle[i]):
                    b = _bin_of(edges, sign * ny[i], False)
                    if b >= 0:
                        t1_sum[g, b] += sign * dangle[i]
                        t1_cnt[g, b] += 1
        # 1-D speed: neighbours beside (|y| <= max_for_avg / 2), dspeed binned over x
        for r in range(r0, r1):
            i = rows[r]
            if abs(ny[i]) <= half and math.isfinite(dspeed[i]):
                b = _bin_of(edges, nx[i], False)
                if b >= 0:
                    s1_sum[g, b] += dspeed[i]
                    s1_cnt[g, b] += 1
        # 2-D sums and counts over (x, y): turn (antisymmetric copies when antisymm),
        # speed (always mirrored, dspeed unchanged)
        for sign in (1.0, -1.0):
            for r in range(r0, r1):
                i = rows[r]
                if not (math.isfinite(nx[i]) and math.isfinite(ny[i])):
                    continue
                bx = _bin_of(x_edges, nx[i], True)
                by = _bin_of(y_edges, sign * ny[i], True)
                if bx < 0 or by < 0:
                    continue
                if sign > 0 or antisymm:
                    t2_sum[g, bx, by] += sign * dangle[i]
                    t2_cnt[g, bx, by] += 1
                s2_sum[g, bx, by] += dspeed[i]
                s2_cnt[g, bx, by] += 1


def delta_bins(
    rows: np.ndarray,
    group_offsets: np.ndarray,
    neighbor_x: np.ndarray,
    neighbor_y: np.ndarray,
    dangle: np.ndarray,
    dspeed: np.ndarray,
    *,
    nbins: int = 45,
    binmax: float = 14.0,
    max_for_avg: float = 5.0,
    antisymm: bool = True,
) -> dict[str, np.ndarray]:
    """Binned responses to the nearest neighbour (the sums of ``nn-delta-bins``).

    For every group ``g`` (the rows ``rows[group_offsets[g]:group_offsets[g + 1]]``;
    groups may share rows) and with ``edges = linspace(-binmax, binmax, nbins)``:

    - 1-D turn: rows with ``0 <= neighbor_x <= max_for_avg``, ``dangle`` summed
      and counted in the bin of ``neighbor_y`` (``edges``, ``nbins - 1`` bins,
      each ``[lo, hi)``); with ``antisymm`` also ``-dangle`` at ``-neighbor_y``.
    - 1-D speed: rows with ``|neighbor_y| <= max_for_avg / 2``, ``dspeed`` in
      the bin of ``neighbor_x``.
    - 2-D turn / speed: rows with finite ``neighbor_x`` and ``neighbor_y``, in
      the bin of ``(neighbor_x, neighbor_y)`` over ``nbins - 1`` x bins and
      ``nbins`` y bins (``linspace(-binmax, binmax, nbins + 1)``; the last bin
      of each axis closed, as numpy's ``histogram2d``): turn sums ``dangle``
      (and ``-dangle`` at ``-neighbor_y`` with ``antisymm``), speed sums
      ``dspeed`` at ``neighbor_y`` and again at ``-neighbor_y``.

    1-D sums skip non-finite responses; 2-D sums include them (NaN in, NaN out).

    Parameters
    ----------
    rows : numpy.ndarray
        int64 row indices of the groups, concatenated.
    group_offsets : numpy.ndarray
        int64 array of shape (n_groups + 1,).
    neighbor_x, neighbor_y, dangle, dspeed : numpy.ndarray
        float64 arrays of shape (n,).
    nbins, binmax, max_for_avg, antisymm
        As above (mosaic's parameters).

    Returns
    -------
    dict of numpy.ndarray
        ``turn_sum_1d``, ``turn_count_1d``, ``speed_sum_1d``, ``speed_count_1d``
        of shape (n_groups, nbins - 1); ``turn_sum_2d``, ``turn_count_2d``,
        ``speed_sum_2d``, ``speed_count_2d`` of shape (n_groups, nbins - 1,
        nbins). Sums float64, counts int64.
    """
    if int(nbins) < 2:
        raise ValueError(f"delta_bins: nbins must be >= 2 (bin edges), got {nbins}")
    if not (binmax > 0):
        raise ValueError(f"delta_bins: binmax must be > 0, got {binmax}")
    nb = int(nbins)
    r = np.ascontiguousarray(rows, dtype=np.int64)
    goff = np.ascontiguousarray(group_offsets, dtype=np.int64)
    cols = [
        np.ascontiguousarray(v, dtype=np.float64) for v in (neighbor_x, neighbor_y, dangle, dspeed)
    ]
    n = cols[0].shape[0]
    if any(c.shape != (n,) for c in cols):
        raise ValueError("delta_bins: neighbor_x, neighbor_y, dangle, dspeed must have one length")
    if r.size and (r.min() < 0 or r.max() >= n):
        raise ValueError("delta_bins: rows out of range")
    if goff.shape[0] < 1 or goff[0] != 0 or goff[-1] != r.shape[0] or np.any(np.diff(goff) < 0):
        raise ValueError("delta_bins: group_offsets must rise from 0 to len(rows)")
    g = goff.shape[0] - 1
    edges = np.linspace(-binmax, binmax, nb)
    y_edges = np.linspace(-binmax, binmax, nb + 1)
    out = {
        "turn_sum_1d": np.zeros((g, nb - 1)),
        "turn_count_1d": np.zeros((g, nb - 1), dtype=np.int64),
        "speed_sum_1d": np.zeros((g, nb - 1)),
        "speed_count_1d": np.zeros((g, nb - 1), dtype=np.int64),
        "turn_sum_2d": np.zeros((g, nb - 1, nb)),
        "turn_count_2d": np.zeros((g, nb - 1, nb), dtype=np.int64),
        "speed_sum_2d": np.zeros((g, nb - 1, nb)),
        "speed_count_2d": np.zeros((g, nb - 1, nb), dtype=np.int64),
    }
    if g:
        _delta_bins(
            r, goff, *cols, edges, edges, y_edges, float(max_for_avg), bool(antisymm), *out.values()
        )
    return out


# Warm-ups, one per group of kernels a feature needs (``covers``), so a pipeline of
# pair-facing alone compiles the row search and the facing kernels, not the whole module.


def _warm_inputs() -> tuple[np.ndarray, ...]:
    frames = np.array([0, 1, 2, 0, 1, 2], dtype=np.int64)
    offsets = np.array([0, 3, 6], dtype=np.int64)
    ids = np.array([1, 1, 1, 2, 2, 2], dtype=np.int64)
    v = np.array([[0.0, 1.0], [np.nan, 2.0], [2.0, 3.0], [0.0, 1.0], [1.0, np.nan], [2.0, 3.0]])
    filled, keep = clean_columns(v, frames, offsets, circular=np.array([False, True]))
    x = np.ascontiguousarray(filled[:, 0])
    ra, rb = pair_rows(frames, offsets, ids, keep)
    return frames, offsets, ids, keep, x, ra, rb


@register_warmup(covers=("clean_columns", "pair_rows"))
def _warmup() -> None:
    frames, offsets, ids, keep, x, _, _ = _warm_inputs()
    for mode in PAIR_MODES:
        pair_rows(frames, offsets, ids, keep, mode=mode, x=x, y=x, k=1, radius=1.0)
    # grid path of the radius search (a frame with more than _DENSE_RADIUS points)
    m = _DENSE_RADIUS + 2
    pair_rows(
        np.zeros(m, dtype=np.int64),
        np.arange(m + 1),
        np.arange(m),
        mode="radius",
        x=np.arange(m, dtype=np.float64),
        y=np.zeros(m),
        radius=1.5,
    )


@register_warmup(
    covers=("frame_gradient", "smooth_columns", "individual_kinematics", "pair_position")
)
def _warmup_position() -> None:
    frames, offsets, _, keep, x, ra, rb = _warm_inputs()
    for circ in (False, True):
        frame_gradient(x, frames, offsets, keep, circular=circ)
        smooth_columns(x, frames, offsets, keep, 3, circular=circ)
    kin = individual_kinematics(x, x, x, frames, offsets, keep, 30.0)
    pair_position(ra, rb, x, x, x, kin)


@register_warmup(covers=("pair_facing", "attention_targets"))
def _warmup_facing() -> None:
    frames, _, ids, keep, x, ra, rb = _warm_inputs()
    pair_facing(ra, rb, x, x, x, x)
    attention_targets(ids[ra], ids[rb], frames[ra], x[ra], keep[ra])


@register_warmup(covers=("orientation_rel",))
def _warmup_orientation() -> None:
    *_, x, ra, rb = _warm_inputs()
    px = np.ascontiguousarray(np.column_stack([x, x + 1.0]))
    orientation_rel(ra, rb, px, px, x, np.ones(6), (0.5,), 1)


@register_warmup(covers=("lag_rows", "nn_response"))
def _warmup_response() -> None:
    frames, offsets, _, _, x, _, _ = _warm_inputs()
    fut = lag_rows(frames, offsets, 1)
    rows = np.flatnonzero(fut >= 0)
    nn_response(rows, fut[rows], x, x, x, x, np.ones(6, dtype=np.int64))


@register_warmup(covers=("pose_distances",))
def _warmup_pose() -> None:
    *_, x, ra, rb = _warm_inputs()
    px = np.ascontiguousarray(np.column_stack([x, x + 1.0]))
    pose_distances(ra, rb, px, px, pose_distance_layout(2))


@register_warmup(covers=("step_velocity", "approach_avoidance_events"))
def _warmup_approach() -> None:
    frames, offsets, _, keep, x, ra, rb = _warm_inputs()
    vx = step_velocity(x, frames, offsets, keep)
    for smooth in (1, 3):
        approach_avoidance_events(
            ra,
            rb,
            frames[ra],
            offsets,
            x,
            x,
            vx,
            vx,
            x,
            distance_threshold=1.0,
            approacher_speed=0.0,
            avoider_speed=0.0,
            cos_approacher=0.0,
            cos_avoider=0.0,
            orientation_gate_cos=0.5,
            window=2,
            min_count=1,
            smooth=smooth,
        )


@register_warmup(covers=("interaction_rows",))
def _warmup_interaction() -> None:
    for n_ind in (2, 3):  # the single-pair path and the parallel one
        f3 = np.tile(np.arange(3, dtype=np.int64), n_ind)
        z = np.zeros(3 * n_ind)
        interaction_rows(f3, np.arange(0, 3 * n_ind + 1, 3), z, z, z, min_run_frames=1)


@register_warmup(covers=("cwt_filters", "cwt_log_power"))
def _warmup_wavelet() -> None:
    filters, offs = cwt_filters("cmor1.5-1.0", np.array([1.0, 2.0], dtype=np.float32))
    cwt_log_power(
        np.zeros((6, 1)),
        np.array([0], dtype=np.int64),
        np.array([6], dtype=np.int64),
        np.array([0], dtype=np.int64),
        filters,
        offs,
    )


@register_warmup(covers=("delta_bins",))
def _warmup_delta_bins() -> None:
    x = np.array([0.0, 1.0, np.nan, 2.0, 0.5, 1.5])
    delta_bins(np.arange(6), np.array([0, 6]), x, x, x, x, nbins=3, binmax=1.0)


# ----------------------------------------------------------------------------- pose distances


def pose_distance_layout(
    n_keypoints: int, intra_a: bool = True, intra_b: bool = True, inter: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoint pairs of :func:`pose_distances`, in column order.

    Parameters
    ----------
    n_keypoints : int
        Keypoints per individual.
    intra_a, intra_b, inter : bool
        Include the focal's own pairs, the partner's own pairs, focal-partner pairs.

    Returns
    -------
    side_i, kp_i, kp_j : numpy.ndarray
        int64 arrays of shape (n_features,): ``side_i`` is 0 (both keypoints of
        the focal), 1 (both of the partner) or 2 (focal keypoint ``kp_i``,
        partner keypoint ``kp_j``).
    """
    side, ki, kj = [], [], []
    # mosaic's order: (0, 1), (0, 2), (1, 2), (0, 3), ... (the lower triangle by rows)
    tri = [(j, i) for i in range(n_keypoints) for j in range(i)]
    for flag, code in ((intra_a, 0), (intra_b, 1)):
        if flag:
            side += [code] * len(tri)
            ki += [i for i, _ in tri]
            kj += [j for _, j in tri]
    if inter:
        for i in range(n_keypoints):
            for j in range(n_keypoints):
                side.append(2)
                ki.append(i)
                kj.append(j)
    return (
        np.array(side, dtype=np.int64),
        np.array(ki, dtype=np.int64),
        np.array(kj, dtype=np.int64),
    )


@jit(parallel=True)
def _pose_distances(
    ra: np.ndarray,
    rb: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    side: np.ndarray,
    ki: np.ndarray,
    kj: np.ndarray,
    out: np.ndarray,
) -> None:
    n_f = side.shape[0]
    for r in prange(ra.shape[0]):
        a = ra[r]
        b = rb[r]
        for f in range(n_f):
            s = side[f]
            u = a if s != 1 else b
            w = b if s != 0 else a
            dx = px[w, kj[f]] - px[u, ki[f]]
            dy = py[w, kj[f]] - py[u, ki[f]]
            out[r, f] = math.sqrt(dx * dx + dy * dy)


def pose_distances(
    focal: np.ndarray,
    partner: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    layout: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Keypoint distances of every pair row (the features of ``pair-posedistance-pca``).

    Parameters
    ----------
    focal, partner : numpy.ndarray
        int64 row indices of shape (n_pairs,).
    px, py : numpy.ndarray
        Keypoints, float64 arrays of shape (n, n_keypoints).
    layout : tuple of numpy.ndarray
        From :func:`pose_distance_layout`.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_pairs, n_features), C order (rows for a PCA).
    """
    ra = np.ascontiguousarray(focal, dtype=np.int64)
    rb = np.ascontiguousarray(partner, dtype=np.int64)
    side, ki, kj = (np.ascontiguousarray(v, dtype=np.int64) for v in layout)
    out = np.empty((ra.shape[0], side.shape[0]))
    _pose_distances(
        ra,
        rb,
        np.ascontiguousarray(px, dtype=np.float64),
        np.ascontiguousarray(py, dtype=np.float64),
        side,
        ki,
        kj,
        out,
    )
    return out
