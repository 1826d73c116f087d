"""Collective-motion order parameters per frame (Tunström et al. 2013).

The kernels behind the ``collective-motion-metrics`` and ``local-order-metrics``
features. Input is the long track table in kernel order (rows grouped by
individual, sorted by frame within each individual; ``offsets`` delimit the
individuals), plus a frame-major permutation (:func:`moveo.kernels.neighbors.frame_order`)
whose groups are the frames (or frame x subgroup cells) to summarise.

Definitions (``u_i`` the unit heading of individual *i*, ``c`` the centroid of
the individuals with a finite position, ``r_i = p_i - c``, ``r̂_i = r_i / |r_i|``):

* polarisation ``O_p = |Σ u_i| / N_u`` (``N_u`` individuals with a heading);
* rotation ``O_r = |Σ r̂_i × u_i| / N_u`` (individuals exactly at the centroid
  add nothing to the sum but stay in ``N_u``); ``rotation_signed`` keeps the sign
  (counter-clockwise positive in the stored coordinates);
* centroid velocity = mean of the individual velocities of the frame (each a
  backward difference over the previous row of that individual), i.e. the
  derivative of the centroid of the individuals present in both frames;
* group angular velocity = mean over individuals of ``r_i × (v_i - v_c) / |r_i|²``;
* covariance of positions about the centroid (population moments), its principal
  standard deviations, their ratio and the major axis angle;
* convex hull area (Andrew's monotone chain after an Akl-Toussaint filter that
  drops the points inside the octagon of extreme points, so a frame costs O(m)
  plus a sort of the few points that can be on the hull).

Headings are the orientation angle (``cos``, ``sin``) or the normalised backward
position difference of the individual (zero-length steps have no heading). A row
whose position is not finite has no heading and no velocity.

Frames are independent, so the frame kernels run in parallel over frames; the
row kernel runs in parallel over individuals.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.trig import sincos

__all__ = [
    "STATE_HIGH",
    "STATE_LOW",
    "STATES",
    "classify_state",
    "frame_moments",
    "hull_area",
    "local_order",
    "principal_axes",
    "row_motion",
]

STATE_LOW: float = 0.35
"""Upper bound of a "low" order parameter in the state classification."""

STATE_HIGH: float = 0.65
"""Lower bound of a "high" order parameter in the state classification."""

STATES: tuple[str, ...] = ("Polarized", "Milling", "Swarm", "Transitional", "Undefined")
"""State names, indexed by the codes of :func:`classify_state`."""

_GROUPS_PER_TASK = 64  # frame groups per parallel task (one scratch set per task)

# columns of the float output of _frame_moments
_F_CX, _F_CY, _F_SUX, _F_SUY, _F_SCROSS, _F_CVX, _F_CVY = 0, 1, 2, 3, 4, 5, 6
_F_SXX, _F_SYY, _F_SXY, _F_ANGVEL, _F_AREA, _F_SPEED = 7, 8, 9, 10, 11, 12
_N_FLOAT = 13
# columns of the integer output
_I_NIDS, _I_NHEAD, _I_NCROSS, _I_NCOMMON, _I_NCENTRE = 0, 1, 2, 3, 4
_N_INT = 5


# ----------------------------------------------------------------------------- rows


@jit(parallel=True)
def _row_motion(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    use_angle: bool,
    clock: np.ndarray,
    clock_div: float,
    frames: np.ndarray,
    offsets: np.ndarray,
    sub: np.ndarray,
    has_sub: bool,
    max_gap: int,
    finite: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
) -> None:
    n_seg = offsets.shape[0] - 1
    for s in prange(n_seg):
        a = offsets[s]
        b = offsets[s + 1]
        if use_angle:  # the segment's headings in one vectorised pass
            sincos(angle[a:b], uy[a:b], ux[a:b])
        for i in range(a, b):
            xi = x[i]
            yi = y[i]
            fin = np.isfinite(xi) and np.isfinite(yi)
            finite[i] = fin
            vx[i] = np.nan
            vy[i] = np.nan
            if not (fin and use_angle):
                ux[i] = np.nan
                uy[i] = np.nan
            if not fin:
                continue
            if i == a:
                continue
            xp = x[i - 1]
            yp = y[i - 1]
            if not (np.isfinite(xp) and np.isfinite(yp)):
                continue
            dx = xi - xp
            dy = yi - yp
            if not use_angle:
                norm = math.sqrt(dx * dx + dy * dy)
                if norm > 0.0:
                    ux[i] = dx / norm
                    uy[i] = dy / norm
            dstep = frames[i] - frames[i - 1]
            if dstep <= 0 or (max_gap > 0 and dstep > max_gap):
                continue
            if has_sub and (sub[i] < 0 or sub[i] != sub[i - 1]):
                continue
            dt = (clock[i] - clock[i - 1]) / clock_div
            if not (dt > 0.0 and np.isfinite(dt)):
                continue
            vx[i] = dx / dt
            vy[i] = dy / dt


def row_motion(
    x: np.ndarray,
    y: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    *,
    angle: np.ndarray | None = None,
    clock: np.ndarray | None = None,
    fps: float | None = None,
    subgroup: np.ndarray | None = None,
    max_frame_gap: int | None = None,
) -> dict[str, np.ndarray]:
    """Per-row position validity, unit heading and backward velocity.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 of shape (n,), in kernel order (rows of one
        individual contiguous and sorted by frame).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,).
    offsets : numpy.ndarray
        int64 individual offsets of shape (n_individuals + 1,).
    angle : numpy.ndarray, optional
        Orientation in radians, shape (n,): headings are ``(cos, sin)`` of it.
        Without it, headings are the normalised step from the previous row of
        the individual (NaN on its first row and for zero-length steps).
    clock : numpy.ndarray, optional
        Timestamps (seconds) used for ``dt`` when ``fps`` is not given.
    fps : float, optional
        Frame rate: ``dt = frame difference / fps``. With neither ``fps`` nor
        ``clock``, ``dt`` is the frame difference (velocities per frame).
    subgroup : numpy.ndarray, optional
        int64 subgroup code per row (negative: none); a velocity needs the
        previous row in the same subgroup.
    max_frame_gap : int, optional
        Steps over more frames than this have no velocity.

    Returns
    -------
    dict of str to numpy.ndarray
        ``finite`` (bool: X and Y finite), ``ux``, ``uy`` (unit heading) and
        ``vx``, ``vy`` (velocity), float64 of shape (n,), NaN where undefined.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    y = np.ascontiguousarray(y, dtype=np.float64)
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if y.shape != (n,) or frames.shape != (n,):
        raise ValueError("x, y and frames must be 1-D arrays of equal length")
    use_angle = angle is not None
    ang = np.ascontiguousarray(angle, dtype=np.float64) if use_angle else np.empty(0)
    if use_angle and ang.shape != (n,):
        raise ValueError(f"angle must have shape ({n},), got {ang.shape}")
    if fps is not None:
        clk = frames.astype(np.float64)
        div = float(fps)
    elif clock is not None:
        clk = np.ascontiguousarray(clock, dtype=np.float64)
        if clk.shape != (n,):
            raise ValueError(f"clock must have shape ({n},), got {clk.shape}")
        div = 1.0
    else:
        clk = frames.astype(np.float64)
        div = 1.0
    has_sub = subgroup is not None
    sub = np.ascontiguousarray(subgroup, dtype=np.int64) if has_sub else np.empty(0, np.int64)
    if has_sub and sub.shape != (n,):
        raise ValueError(f"subgroup must have shape ({n},), got {sub.shape}")
    gap = 0 if max_frame_gap is None else int(max_frame_gap)
    finite = np.empty(n, dtype=np.bool_)
    ux = np.empty(n)
    uy = np.empty(n)
    vx = np.empty(n)
    vy = np.empty(n)
    _row_motion(
        x, y, ang, use_angle, clk, div, frames, offsets, sub, has_sub, gap, finite, ux, uy, vx, vy
    )
    return {"finite": finite, "ux": ux, "uy": uy, "vx": vx, "vy": vy}


# ----------------------------------------------------------------------------- hull


@jit(inline="always")
def _cross3(ox: float, oy: float, ax: float, ay: float, bx: float, by: float) -> float:
    # z of (a - o) x (b - o): > 0 for a counter-clockwise turn o -> a -> b
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


@jit
def _hull_area_local(
    px: np.ndarray,
    py: np.ndarray,
    m: int,
    cx: np.ndarray,
    cy: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
) -> float:
    # Convex hull area of the first m points of px/py (all finite); NaN when the
    # hull has fewer than three vertices (fewer than three distinct points, or
    # all on one line). cx/cy/hx/hy are scratch of length >= m + 1.
    if m < 3:
        return np.nan
    # Akl-Toussaint: the octagon of extreme points (min/max of x, y, x+y, x-y)
    # lies inside the hull; points strictly inside it cannot be hull vertices.
    # The running extremes stay in registers (values and their indices).
    i_xmin = i_xmax = i_ymin = i_ymax = i_smin = i_smax = i_dmin = i_dmax = 0
    v_xmin = v_xmax = px[0]
    v_ymin = v_ymax = py[0]
    v_smin = v_smax = px[0] + py[0]
    v_dmin = v_dmax = px[0] - py[0]
    for i in range(1, m):
        xv = px[i]
        yv = py[i]
        sv = xv + yv
        dv = xv - yv
        if xv < v_xmin:
            v_xmin = xv
            i_xmin = i
        if xv > v_xmax:
            v_xmax = xv
            i_xmax = i
        if yv < v_ymin:
            v_ymin = yv
            i_ymin = i
        if yv > v_ymax:
            v_ymax = yv
            i_ymax = i
        if sv < v_smin:
            v_smin = sv
            i_smin = i
        if sv > v_smax:
            v_smax = sv
            i_smax = i
        if dv < v_dmin:
            v_dmin = dv
            i_dmin = i
        if dv > v_dmax:
            v_dmax = dv
            i_dmax = i
    # counter-clockwise order of the extremes: xmin, (x+y)min, ymin, (x-y)max,
    # xmax, (x+y)max, ymax, (x-y)min. Consecutive extremes are often the same
    # point (one individual is both the leftmost and the top-left one); such a
    # zero-length edge does not bound the octagon, so it is dropped: the test
    # below uses the distinct vertices only. A point strictly left of every
    # remaining edge (_cross3 > 0) is strictly inside and cannot be a hull vertex;
    # with fewer than three distinct vertices no point passes and all are kept.
    order = (i_xmin, i_smin, i_ymin, i_dmax, i_xmax, i_smax, i_ymax, i_dmin)
    ex = np.empty(9)
    ey = np.empty(9)
    n_v = 0
    for e in range(8):
        xv = px[order[e]]
        yv = py[order[e]]
        if n_v == 0 or xv != ex[n_v - 1] or yv != ey[n_v - 1]:
            ex[n_v] = xv
            ey[n_v] = yv
            n_v += 1
    while n_v > 1 and ex[n_v - 1] == ex[0] and ey[n_v - 1] == ey[0]:
        n_v -= 1
    ex[n_v] = ex[0]  # close the polygon
    ey[n_v] = ey[0]
    k = 0
    for i in range(m):
        xv = px[i]
        yv = py[i]
        inside = n_v >= 3
        for e in range(n_v if inside else 0):
            if _cross3(ex[e], ey[e], ex[e + 1], ey[e + 1], xv, yv) <= 0.0:
                inside = False
                break
        if not inside:
            cx[k] = xv
            cy[k] = yv
            k += 1
    # sort candidates lexicographically by (x, y): stable sort by y, then by x
    oy_idx = np.argsort(cy[:k], kind="mergesort")
    sx = cx[:k][oy_idx]
    sy = cy[:k][oy_idx]
    ox_idx = np.argsort(sx, kind="mergesort")
    for i in range(k):
        cx[i] = sx[ox_idx[i]]
        cy[i] = sy[ox_idx[i]]
    # Andrew's monotone chain; collinear points are dropped (cross <= 0 pops)
    h = 0
    for i in range(k):
        while h >= 2 and _cross3(hx[h - 2], hy[h - 2], hx[h - 1], hy[h - 1], cx[i], cy[i]) <= 0.0:
            h -= 1
        hx[h] = cx[i]
        hy[h] = cy[i]
        h += 1
    lower = h + 1
    for i in range(k - 2, -1, -1):
        while (
            h >= lower and _cross3(hx[h - 2], hy[h - 2], hx[h - 1], hy[h - 1], cx[i], cy[i]) <= 0.0
        ):
            h -= 1
        hx[h] = cx[i]
        hy[h] = cy[i]
        h += 1
    h -= 1  # the last point repeats the first
    if h < 3:
        return np.nan
    area2 = 0.0
    for i in range(h):
        j = i + 1 if i + 1 < h else 0
        area2 += hx[i] * hy[j] - hx[j] * hy[i]
    area = 0.5 * abs(area2)
    return area if area > 0.0 else np.nan


def hull_area(x: np.ndarray, y: np.ndarray) -> float:
    """Area of the convex hull of 2-D points (non-finite points are ignored).

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates, shape (m,).

    Returns
    -------
    float
        The enclosed area; NaN when fewer than three distinct finite points
        remain or all of them lie on one line.

    Examples
    --------
    >>> import numpy as np
    >>> hull_area(np.array([0.0, 2.0, 2.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0, 1.0, 0.5]))
    2.0
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError("x and y must have the same length")
    ok = np.isfinite(x) & np.isfinite(y)
    px = np.ascontiguousarray(x[ok])
    py = np.ascontiguousarray(y[ok])
    m = px.shape[0]
    scratch = [np.empty(m + 1) for _ in range(4)]
    return float(_hull_area_local(px, py, m, *scratch))


# ----------------------------------------------------------------------------- frames


@jit(parallel=True)
def _frame_moments(
    x: np.ndarray,
    y: np.ndarray,
    finite: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    speed: np.ndarray,
    has_speed: bool,
    perm: np.ndarray,
    goff: np.ndarray,
    want_hull: bool,
    fout: np.ndarray,
    iout: np.ndarray,
) -> None:
    n_groups = goff.shape[0] - 1
    max_m = 0
    for g in range(n_groups):
        max_m = max(max_m, goff[g + 1] - goff[g])
    n_tasks = (n_groups + _GROUPS_PER_TASK - 1) // _GROUPS_PER_TASK
    for t in prange(n_tasks):
        px = np.empty(max_m + 1)
        py = np.empty(max_m + 1)
        s1 = np.empty(max_m + 1)
        s2 = np.empty(max_m + 1)
        s3 = np.empty(max_m + 1)
        s4 = np.empty(max_m + 1)
        # the finite rows' headings and velocities, gathered once in pass 1 so
        # pass 2 reads contiguous memory (rows of a frame are n_frames apart)
        qux = np.empty(max_m + 1)
        quy = np.empty(max_m + 1)
        qvx = np.empty(max_m + 1)
        qvy = np.empty(max_m + 1)
        for g in range(t * _GROUPS_PER_TASK, min((t + 1) * _GROUPS_PER_TASK, n_groups)):
            a = goff[g]
            b = goff[g + 1]
            # pass 1: centroid, heading sums, centroid velocity, mean speed
            n_ids = 0
            sx = 0.0
            sy = 0.0
            n_head = 0
            sux = 0.0
            suy = 0.0
            n_v = 0
            svx = 0.0
            svy = 0.0
            n_sp = 0
            ssp = 0.0
            for p in range(a, b):
                r = perm[p]
                u = ux[r]
                w = uy[r]
                ru = vx[r]
                rw = vy[r]
                if finite[r]:
                    px[n_ids] = x[r]
                    py[n_ids] = y[r]
                    qux[n_ids] = u
                    quy[n_ids] = w
                    qvx[n_ids] = ru
                    qvy[n_ids] = rw
                    n_ids += 1
                    sx += x[r]
                    sy += y[r]
                if np.isfinite(u) and np.isfinite(w):
                    n_head += 1
                    sux += u
                    suy += w
                if np.isfinite(ru):
                    n_v += 1
                    svx += ru
                    svy += rw
                if has_speed and np.isfinite(speed[r]):
                    n_sp += 1
                    ssp += speed[r]
            cx = sx / n_ids if n_ids > 0 else np.nan
            cy = sy / n_ids if n_ids > 0 else np.nan
            cvx = svx / n_v if n_v > 0 else np.nan
            cvy = svy / n_v if n_v > 0 else np.nan
            # pass 2: rotation, covariance, angular velocity about the centroid
            n_cross = 0
            scross = 0.0
            n_centre = 0
            sxx = 0.0
            syy = 0.0
            sxy = 0.0
            n_w = 0
            sw = 0.0
            for q in range(n_ids):
                rx = px[q] - cx
                ry = py[q] - cy
                sxx += rx * rx
                syy += ry * ry
                sxy += rx * ry
                r2 = rx * rx + ry * ry
                rn = math.sqrt(r2)
                if not rn > 0.0:
                    n_centre += 1
                    continue
                u = qux[q]
                w = quy[q]
                if np.isfinite(u) and np.isfinite(w):
                    n_cross += 1
                    scross += (rx / rn) * w - (ry / rn) * u
                if np.isfinite(qvx[q]):
                    term = (rx * (qvy[q] - cvy) - ry * (qvx[q] - cvx)) / r2
                    if np.isfinite(term):
                        n_w += 1
                        sw += term
            fout[g, _F_CX] = cx
            fout[g, _F_CY] = cy
            fout[g, _F_SUX] = sux
            fout[g, _F_SUY] = suy
            fout[g, _F_SCROSS] = scross
            fout[g, _F_CVX] = cvx
            fout[g, _F_CVY] = cvy
            fout[g, _F_SXX] = sxx / n_ids if n_ids > 0 else np.nan
            fout[g, _F_SYY] = syy / n_ids if n_ids > 0 else np.nan
            fout[g, _F_SXY] = sxy / n_ids if n_ids > 0 else np.nan
            fout[g, _F_ANGVEL] = sw / n_w if n_w > 0 else np.nan
            fout[g, _F_SPEED] = ssp / n_sp if n_sp > 0 else np.nan
            fout[g, _F_AREA] = (
                _hull_area_local(px, py, n_ids, s1, s2, s3, s4) if want_hull else np.nan
            )
            iout[g, _I_NIDS] = n_ids
            iout[g, _I_NHEAD] = n_head
            iout[g, _I_NCROSS] = n_cross
            iout[g, _I_NCOMMON] = n_v
            iout[g, _I_NCENTRE] = n_centre


def frame_moments(
    x: np.ndarray,
    y: np.ndarray,
    motion: dict[str, np.ndarray],
    perm: np.ndarray,
    group_offsets: np.ndarray,
    *,
    speed: np.ndarray | None = None,
    hull: bool = True,
) -> dict[str, np.ndarray]:
    """Compute the sums and moments of every frame group (the metrics' raw material).

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 of shape (n,), kernel order.
    motion : dict
        The output of :func:`row_motion` for the same rows.
    perm, group_offsets : numpy.ndarray
        Frame groups: group ``g`` is rows ``perm[group_offsets[g]:group_offsets[g + 1]]``
        (see :func:`moveo.kernels.neighbors.frame_order`).
    speed : numpy.ndarray, optional
        Per-row speed; adds ``mean_speed`` (mean over finite values).
    hull : bool, default True
        Compute the convex hull area of the finite positions.

    Returns
    -------
    dict of str to numpy.ndarray
        Arrays of shape (n_groups,): ``centroid_x``, ``centroid_y``, ``sum_ux``,
        ``sum_uy``, ``sum_cross`` (Σ r̂ × u), ``cvx``, ``cvy`` (mean velocity),
        ``sxx``, ``syy``, ``sxy`` (population moments about the centroid),
        ``group_angvel``, ``area`` (NaN without ``hull``), ``mean_speed`` and the
        int64 counts ``n_ids``, ``n_ids_heading``, ``n_cross``,
        ``n_centroid_common``, ``n_at_centroid``.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    perm = np.ascontiguousarray(perm, dtype=np.int64)
    goff = np.ascontiguousarray(group_offsets, dtype=np.int64)
    n_groups = goff.shape[0] - 1
    has_speed = speed is not None
    sp = np.ascontiguousarray(speed, dtype=np.float64) if has_speed else np.empty(0)
    fout = np.empty((n_groups, _N_FLOAT))
    iout = np.empty((n_groups, _N_INT), dtype=np.int64)
    _frame_moments(
        x,
        y,
        motion["finite"],
        motion["ux"],
        motion["uy"],
        motion["vx"],
        motion["vy"],
        sp,
        has_speed,
        perm,
        goff,
        bool(hull),
        fout,
        iout,
    )
    names = (
        "centroid_x",
        "centroid_y",
        "sum_ux",
        "sum_uy",
        "sum_cross",
        "cvx",
        "cvy",
        "sxx",
        "syy",
        "sxy",
        "group_angvel",
        "area",
        "mean_speed",
    )
    out = {name: np.ascontiguousarray(fout[:, j]) for j, name in enumerate(names)}
    for j, name in enumerate(
        ("n_ids", "n_ids_heading", "n_cross", "n_centroid_common", "n_at_centroid")
    ):
        out[name] = np.ascontiguousarray(iout[:, j])
    return out


def principal_axes(
    sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Principal standard deviations and axis of 2x2 position covariances.

    Parameters
    ----------
    sxx, syy, sxy : numpy.ndarray
        Second moments about the centroid, shape (m,).

    Returns
    -------
    sd_major, sd_minor, elongation, angle : numpy.ndarray
        Square roots of the eigenvalues (the rounding-negative discriminant and
        minor eigenvalue are clamped to 0), ``sd_major / sd_minor`` (``inf`` for
        collinear points, NaN for coincident ones) and the major axis angle
        ``atan2(2 sxy, sxx - syy) / 2`` in (-π/2, π/2].
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        tr = sxx + syy
        det = sxx * syy - sxy * sxy
        disc = np.sqrt(np.maximum(tr * tr / 4.0 - det, 0.0))
        sd_major = np.sqrt(np.maximum(tr / 2.0 + disc, 0.0))
        sd_minor = np.sqrt(np.maximum(tr / 2.0 - disc, 0.0))
        nan_major = np.where(np.isnan(tr), np.nan, sd_major)
        nan_minor = np.where(np.isnan(tr), np.nan, sd_minor)
        elongation = np.where(
            nan_minor > 0,
            nan_major / np.where(nan_minor > 0, nan_minor, 1.0),
            np.where(nan_major > 0, np.inf, np.nan),
        )
        angle = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)
    return nan_major, nan_minor, elongation, angle


def classify_state(rotation: np.ndarray, polarization: np.ndarray) -> np.ndarray:
    """Classify frames into state codes (indices into :data:`STATES`) from ``|O_r|``, ``O_p``.

    Polarized: ``O_p > 0.65`` and ``|O_r| < 0.35``; Milling: ``O_p < 0.35`` and
    ``|O_r| > 0.65``; Swarm: both below 0.35; Transitional otherwise; Undefined
    where either is NaN.

    Parameters
    ----------
    rotation, polarization : numpy.ndarray
        ``|O_r|`` and ``O_p``, shape (m,).

    Returns
    -------
    numpy.ndarray
        int8 codes of shape (m,).
    """
    r = np.asarray(rotation, dtype=np.float64)
    p = np.asarray(polarization, dtype=np.float64)
    out = np.full(r.shape, 3, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        low_r = r < STATE_LOW
        low_p = p < STATE_LOW
        out[low_r & (p > STATE_HIGH)] = 0
        out[low_r & low_p] = 2
        out[(r > STATE_HIGH) & low_p] = 1
    out[~(np.isfinite(r) & np.isfinite(p))] = 4
    return out


# ----------------------------------------------------------------------------- local order


@jit(parallel=True)
def _local_order(
    x: np.ndarray,
    y: np.ndarray,
    finite: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    perm: np.ndarray,
    goff: np.ndarray,
    active: np.ndarray,
    radius: np.ndarray,
    n_shells: int,
    n_peripheral: int,
    min_neighbors: int,
    i_out: np.ndarray,
    f_out: np.ndarray,
) -> None:
    # i_out columns: n_local_neighbors, n_local_headings, shell_index, shell_n
    # f_out columns: local_polarization, local_heading_x, local_heading_y,
    #   dist_to_group_center, radial_rotation_self, local_rotation,
    #   group_outer_radius, local_radius, shell_radial_rotation
    n_groups = goff.shape[0] - 1
    max_m = 0
    for g in range(n_groups):
        max_m = max(max_m, goff[g + 1] - goff[g])
    n_tasks = (n_groups + _GROUPS_PER_TASK - 1) // _GROUPS_PER_TASK
    for t in prange(n_tasks):
        lx = np.empty(max_m)
        ly = np.empty(max_m)
        lrow = np.empty(max_m, dtype=np.int64)
        lux = np.empty(max_m)
        luy = np.empty(max_m)
        lrr = np.empty(max_m)
        lrad = np.empty(max_m)
        cell_of = np.empty(max_m, dtype=np.int64)
        by_cell = np.empty(max_m, dtype=np.int64)
        cell_start = np.empty(4 * max_m + 8, dtype=np.int64)
        shell_of = np.empty(max_m, dtype=np.int64)
        pop = np.zeros(n_shells, dtype=np.int64)
        acc = np.zeros(n_shells)
        cnt = np.zeros(n_shells, dtype=np.int64)
        for g in range(t * _GROUPS_PER_TASK, min((t + 1) * _GROUPS_PER_TASK, n_groups)):
            a = goff[g]
            b = goff[g + 1]
            # defaults for every row of the group
            for p in range(a, b):
                r = perm[p]
                i_out[r, 0] = -1
                i_out[r, 1] = -1
                i_out[r, 2] = -1
                i_out[r, 3] = -1
                for j in range(9):
                    f_out[r, j] = np.nan
            if not active[g]:
                continue
            rad_g = radius[g]
            for p in range(a, b):
                f_out[perm[p], 7] = rad_g
            m = 0
            sx = 0.0
            sy = 0.0
            for p in range(a, b):
                r = perm[p]
                if finite[r]:
                    lx[m] = x[r]
                    ly[m] = y[r]
                    lrow[m] = r
                    u = ux[r]
                    w = uy[r]
                    if np.isfinite(u) and np.isfinite(w):
                        lux[m] = u
                        luy[m] = w
                    else:
                        lux[m] = np.nan
                        luy[m] = np.nan
                    sx += x[r]
                    sy += y[r]
                    m += 1
            if m == 0:
                continue
            gcx = sx / m
            gcy = sy / m
            # radial structure about the group centre
            for i in range(m):
                rx = lx[i] - gcx
                ry = ly[i] - gcy
                rn = math.sqrt(rx * rx + ry * ry)
                lrad[i] = rn
                if rn > 0.0 and np.isfinite(lux[i]):
                    lrr[i] = (rx / rn) * luy[i] - (ry / rn) * lux[i]
                else:
                    lrr[i] = np.nan
                f_out[lrow[i], 3] = rn
                f_out[lrow[i], 4] = lrr[i]
            # ---- disc neighbours with a uniform grid of cell = radius
            xmin = lx[0]
            xmax = lx[0]
            ymin = ly[0]
            ymax = ly[0]
            for i in range(1, m):
                xmin = min(xmin, lx[i])
                xmax = max(xmax, lx[i])
                ymin = min(ymin, ly[i])
                ymax = max(ymax, ly[i])
            cell = rad_g
            # at most ~2m cells: widen the cell for sparse, spread-out frames
            # (sizes in floats first: a huge span over a tiny radius overflows int)
            w_span = xmax - xmin
            h_span = ymax - ymin
            if not (np.isfinite(w_span) and np.isfinite(h_span)):
                cell = np.inf
            else:
                while (w_span / cell + 1.0) * (h_span / cell + 1.0) > 2.0 * m + 4.0:
                    cell *= 2.0
            nx = int(w_span / cell) + 1 if np.isfinite(cell) else 1
            ny = int(h_span / cell) + 1 if np.isfinite(cell) else 1
            reach = int(math.ceil(rad_g / cell)) if np.isfinite(cell) else 0
            n_cells = nx * ny
            for c in range(n_cells + 1):
                cell_start[c] = 0
            for i in range(m):
                gx = min(int((lx[i] - xmin) / cell), nx - 1) if nx > 1 else 0
                gy = min(int((ly[i] - ymin) / cell), ny - 1) if ny > 1 else 0
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
            r2 = rad_g * rad_g
            for i in range(m):
                cxi = cell_of[i] % nx
                cyi = cell_of[i] // nx
                n_nb = 0
                n_u = 0
                sux = 0.0
                suy = 0.0
                n_rr = 0
                srr = 0.0
                for gy in range(max(cyi - reach, 0), min(cyi + reach, ny - 1) + 1):
                    for gx in range(max(cxi - reach, 0), min(cxi + reach, nx - 1) + 1):
                        c = gy * nx + gx
                        for q in range(cell_start[c], cell_start[c + 1]):
                            j = by_cell[q]
                            dx = lx[j] - lx[i]
                            dy = ly[j] - ly[i]
                            if dx * dx + dy * dy <= r2:
                                # the focal is its own disc member (distance 0)
                                if j != i:
                                    n_nb += 1
                                if np.isfinite(lux[j]):
                                    n_u += 1
                                    sux += lux[j]
                                    suy += luy[j]
                                if np.isfinite(lrr[j]):
                                    n_rr += 1
                                    srr += lrr[j]
                r = lrow[i]
                i_out[r, 0] = n_nb
                n_heads = n_u - (1 if np.isfinite(lux[i]) else 0)
                i_out[r, 1] = n_heads
                if n_heads >= min_neighbors:
                    if n_u > 0:
                        f_out[r, 1] = sux / n_u
                        f_out[r, 2] = suy / n_u
                        f_out[r, 0] = math.sqrt(sux * sux + suy * suy) / n_u
                    if n_rr > 0:
                        f_out[r, 5] = srr / n_rr
            # ---- R_out: median distance of the n_peripheral farthest individuals
            for i in range(m):
                lux[i] = lrad[i]  # reuse as sort scratch (headings are no longer needed)
            srt = np.sort(lux[:m])
            k = min(n_peripheral, m)
            if k % 2 == 1:
                outer = srt[m - k + k // 2]
            else:
                outer = 0.5 * (srt[m - k + k // 2 - 1] + srt[m - k + k // 2])
            for p in range(a, b):  # every row of the group, finite or not
                f_out[perm[p], 6] = outer
            if not (np.isfinite(outer) and outer > 0.0):
                continue
            # ---- concentric shells of width R_out / n_shells (the outermost
            # shell takes everyone beyond R_out)
            width = outer / n_shells
            for s in range(n_shells):
                pop[s] = 0
                acc[s] = 0.0
                cnt[s] = 0
            for i in range(m):
                s = int(min(max(math.floor(lrad[i] / width), 0.0), n_shells - 1.0))
                shell_of[i] = s
                pop[s] += 1
                if np.isfinite(lrr[i]):
                    acc[s] += lrr[i]
                    cnt[s] += 1
            for i in range(m):
                s = shell_of[i]
                r = lrow[i]
                i_out[r, 2] = s
                i_out[r, 3] = pop[s]
                f_out[r, 8] = acc[s] / cnt[s] if cnt[s] > 0 else np.nan


def local_order(
    x: np.ndarray,
    y: np.ndarray,
    motion: dict[str, np.ndarray],
    perm: np.ndarray,
    group_offsets: np.ndarray,
    radius: np.ndarray,
    *,
    active: np.ndarray | None = None,
    n_shells: int = 6,
    n_peripheral: int = 5,
    min_neighbors: int = 1,
) -> dict[str, np.ndarray]:
    """Local order parameters in a disc around every individual, and shells.

    Within each frame group (the individuals with a finite position): the
    disc of a focal individual holds the individuals at distance <= ``radius``
    (the focal included); its local polarisation is ``|Σ u| / N_u`` over the
    disc members with a heading, its local rotation the mean of their
    ``r̂ × u`` about the group centre. The group's outer radius ``R_out`` is the
    median distance to the centre of the ``n_peripheral`` farthest individuals;
    shells of width ``R_out / n_shells`` partition the individuals by distance
    to the centre (the outermost one takes everyone beyond ``R_out``).

    Discs are found with a uniform grid of cell ``radius`` (widened for sparse
    frames), so a frame costs O(m + pairs within the radius).

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 of shape (n,).
    motion : dict
        :func:`row_motion` output for the same rows.
    perm, group_offsets : numpy.ndarray
        Frame groups (see :func:`frame_moments`).
    radius : numpy.ndarray
        Disc radius per group, float64 of shape (n_groups,), > 0.
    active : numpy.ndarray, optional
        bool per group; inactive groups keep the defaults (-1 / NaN).
    n_shells, n_peripheral, min_neighbors : int
        Shell count, size of the peripheral set, and the heading-valid
        neighbours a focal needs for finite local order.

    Returns
    -------
    dict of str to numpy.ndarray
        Per row (shape (n,)): int64 ``n_local_neighbors``, ``n_local_headings``
        (other disc members; -1 when the focal's position is not finite),
        ``shell_index``, ``shell_n`` (-1 when undefined); float64
        ``local_polarization``, ``local_heading_x``, ``local_heading_y``,
        ``dist_to_group_center``, ``radial_rotation_self``, ``local_rotation``,
        ``group_outer_radius``, ``local_radius``, ``shell_radial_rotation``.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    y = np.ascontiguousarray(y, dtype=np.float64)
    perm = np.ascontiguousarray(perm, dtype=np.int64)
    goff = np.ascontiguousarray(group_offsets, dtype=np.int64)
    n_groups = goff.shape[0] - 1
    rad = np.ascontiguousarray(radius, dtype=np.float64)
    if rad.shape != (n_groups,):
        raise ValueError(f"radius must have shape ({n_groups},), got {rad.shape}")
    if n_groups and not (np.all(rad > 0) and np.all(np.isfinite(rad))):
        raise ValueError("radius must be positive and finite")
    act = np.ones(n_groups, np.bool_) if active is None else np.ascontiguousarray(active, np.bool_)
    for name, v in (("n_shells", n_shells), ("n_peripheral", n_peripheral)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    i_out = np.empty((n, 4), dtype=np.int64)
    f_out = np.empty((n, 9))
    _local_order(
        x,
        y,
        motion["finite"],
        motion["ux"],
        motion["uy"],
        perm,
        goff,
        act,
        rad,
        int(n_shells),
        int(n_peripheral),
        int(min_neighbors),
        i_out,
        f_out,
    )
    out = {}
    for j, name in enumerate(("n_local_neighbors", "n_local_headings", "shell_index", "shell_n")):
        out[name] = np.ascontiguousarray(i_out[:, j])
    for j, name in enumerate(
        (
            "local_polarization",
            "local_heading_x",
            "local_heading_y",
            "dist_to_group_center",
            "radial_rotation_self",
            "local_rotation",
            "group_outer_radius",
            "local_radius",
            "shell_radial_rotation",
        )
    ):
        out[name] = np.ascontiguousarray(f_out[:, j])
    return out


@register_warmup
def _warmup() -> None:
    x = np.array([0.0, 1.0, 2.0, np.nan, 0.5, 1.5])
    frames = np.array([0, 1, 2, 0, 1, 2], dtype=np.int64)
    offsets = np.array([0, 3, 6], dtype=np.int64)
    for angle in (None, x):
        mot = row_motion(x, x, frames, offsets, angle=angle, fps=30.0)
    row_motion(x, x, frames, offsets, clock=x, subgroup=frames, max_frame_gap=2)
    perm = np.array([0, 3, 1, 4, 2, 5], dtype=np.int64)
    goff = np.array([0, 2, 4, 6], dtype=np.int64)
    frame_moments(x, x, mot, perm, goff, speed=x, hull=True)
    frame_moments(x, x, mot, perm, goff, hull=False)
    hull_area(x, x[::-1])
