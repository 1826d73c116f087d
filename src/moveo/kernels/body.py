"""Body scale, heading from keypoints, and egocentric transforms.

Pose keypoints arrive as two float64 arrays ``px``, ``py`` of shape
(n_rows, n_keypoints) (C or Fortran order; a polars ``select(...).to_numpy()``
gives Fortran order). Missing keypoints are NaN.

- :func:`body_scale` — per row, the median of the pairwise distances between the
  finite keypoints (``"median-pairwise"``) or the summed distance along the
  keypoint chain (``"chain-length"``, the body length).
- :func:`heading_two_point` / :func:`heading_pca` — body heading in radians.
- :func:`to_egocentric` — rotate displacement vectors into an individual's
  heading frame (x along the heading, y to its left).
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.geometry import rotate

__all__ = [
    "SCALE_MODES",
    "body_scale",
    "heading_pca",
    "heading_two_point",
    "to_egocentric",
]

SCALE_MODES: tuple[str, ...] = ("median-pairwise", "chain-length")
"""Modes of :func:`body_scale`."""

_CHUNK = 4096  # rows per parallel task (one scratch buffer per task)


@jit(parallel=True)
def _egocentric(
    dx: np.ndarray, dy: np.ndarray, angle: np.ndarray, ox: np.ndarray, oy: np.ndarray
) -> None:
    for i in prange(dx.shape[0]):
        ox[i], oy[i] = rotate(dx[i], dy[i], angle[i])


@jit(inline="always")
def _median_of(buf: np.ndarray, m: int) -> float:
    # median of buf[:m] by rank counting: value v fills the sorted positions
    # [#less, #less + #equal). m*m branch-free comparisons (441 for 21 pairs)
    # beat a sort whose branches the CPU cannot predict on random data.
    k_lo = (m - 1) // 2
    k_hi = m // 2
    lo = np.nan
    hi = np.nan
    for a in range(m):
        v = buf[a]
        less = 0
        equal = 0
        for b in range(m):
            less += buf[b] < v
            equal += buf[b] == v
        if less <= k_lo < less + equal:
            lo = v
        if less <= k_hi < less + equal:
            hi = v
    return 0.5 * (lo + hi)


@jit(parallel=True)
def _median_pairwise(px: np.ndarray, py: np.ndarray, out: np.ndarray) -> None:
    n, k = px.shape
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        buf = np.empty(max(k * (k - 1) // 2, 1))
        for i in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
            m = 0
            for a in range(k):
                xa = px[i, a]
                ya = py[i, a]
                if not (np.isfinite(xa) and np.isfinite(ya)):
                    continue
                for b in range(a + 1, k):
                    xb = px[i, b]
                    yb = py[i, b]
                    if np.isfinite(xb) and np.isfinite(yb):
                        buf[m] = math.sqrt((xb - xa) * (xb - xa) + (yb - ya) * (yb - ya))
                        m += 1
            out[i] = _median_of(buf, m) if m > 0 else np.nan


@jit(parallel=True)
def _chain_length(px: np.ndarray, py: np.ndarray, out: np.ndarray) -> None:
    n, k = px.shape
    for i in prange(n):
        total = 0.0
        for a in range(k - 1):
            dx = px[i, a + 1] - px[i, a]
            dy = py[i, a + 1] - py[i, a]
            total += math.sqrt(dx * dx + dy * dy)  # NaN keypoint -> NaN length
        out[i] = total if k >= 2 else np.nan


@jit(parallel=True)
def _heading_two_point(
    rx: np.ndarray, ry: np.ndarray, fx: np.ndarray, fy: np.ndarray, out: np.ndarray
) -> None:
    for i in prange(rx.shape[0]):
        dx = fx[i] - rx[i]
        dy = fy[i] - ry[i]
        if dx == 0.0 and dy == 0.0:
            out[i] = np.nan  # coincident keypoints have no direction
        else:
            out[i] = math.atan2(dy, dx)  # NaN propagates


@jit(parallel=True)
def _heading_pca(px: np.ndarray, py: np.ndarray, rel_tol: float, out: np.ndarray) -> None:
    n, k = px.shape
    for i in prange(n):
        m = 0
        sx = 0.0
        sy = 0.0
        for a in range(k):
            if np.isfinite(px[i, a]) and np.isfinite(py[i, a]):
                m += 1
                sx += px[i, a]
                sy += py[i, a]
        if m < 2:
            out[i] = np.nan
            continue
        mx = sx / m
        my = sy / m
        cxx = 0.0
        cyy = 0.0
        cxy = 0.0
        for a in range(k):
            if np.isfinite(px[i, a]) and np.isfinite(py[i, a]):
                dx = px[i, a] - mx
                dy = py[i, a] - my
                cxx += dx * dx
                cyy += dy * dy
                cxy += dx * dy
        # eigen-gap of the 2x2 covariance: lambda1 - lambda2 = hypot(cxx - cyy, 2 cxy)
        gap = math.sqrt((cxx - cyy) * (cxx - cyy) + 4.0 * cxy * cxy)
        if not gap > rel_tol * (cxx + cyy):
            out[i] = np.nan  # no principal axis (isotropic or coincident points)
            continue
        theta = 0.5 * math.atan2(2.0 * cxy, cxx - cyy)
        if theta <= -0.5 * math.pi:  # atan2(-0.0, x<0) = -pi: keep (-pi/2, pi/2]
            theta += math.pi
        out[i] = theta


def _pose_arrays(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name, a in (("px", px), ("py", py)):
        a = np.asarray(a)
        if a.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
        if a.ndim != 2:
            raise ValueError(f"{name} must have shape (n_rows, n_keypoints), got {a.shape}")
        if not (a.flags.c_contiguous or a.flags.f_contiguous) or a.dtype != np.float64:
            a = np.ascontiguousarray(a, dtype=np.float64)
        arrays.append(a)
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(f"px and py shapes differ: {arrays[0].shape} vs {arrays[1].shape}")
    return arrays[0], arrays[1]


def body_scale(px: np.ndarray, py: np.ndarray, mode: str = "median-pairwise") -> np.ndarray:
    """Body scale of every row from its keypoints.

    Parameters
    ----------
    px, py : numpy.ndarray
        Keypoint coordinates, float64 arrays of shape (n_rows, n_keypoints).
    mode : {"median-pairwise", "chain-length"}
        ``"median-pairwise"``: median of the distances between every pair of
        finite keypoints (NaN when fewer than two keypoints are finite).
        ``"chain-length"``: sum of the distances between consecutive keypoints
        (keypoint order = column order), i.e. the body length; NaN when any
        keypoint is missing, because skipping one would shorten the body.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_rows,).

    Examples
    --------
    >>> import numpy as np
    >>> px = np.array([[0.0, 3.0, 3.0]])
    >>> py = np.array([[0.0, 0.0, 4.0]])
    >>> body_scale(px, py), body_scale(px, py, "chain-length")
    (array([4.]), array([7.]))
    """
    if mode not in SCALE_MODES:
        raise ValueError(f"mode must be one of {SCALE_MODES}, got {mode!r}")
    px, py = _pose_arrays(px, py)
    out = np.empty(px.shape[0])
    if mode == "median-pairwise":
        _median_pairwise(px, py, out)
    else:
        _chain_length(px, py, out)
    return out


def heading_two_point(
    rear_x: np.ndarray, rear_y: np.ndarray, front_x: np.ndarray, front_y: np.ndarray
) -> np.ndarray:
    """Heading from a rear keypoint to a front keypoint.

    Parameters
    ----------
    rear_x, rear_y, front_x, front_y : numpy.ndarray
        float64 arrays of shape (n,).

    Returns
    -------
    numpy.ndarray
        ``atan2(front_y - rear_y, front_x - rear_x)`` in (-π, π], float64 of
        shape (n,); NaN if a keypoint is missing or the two coincide.
    """
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (rear_x, rear_y, front_x, front_y)]
    n = arrays[0].shape[0]
    if any(a.shape != (n,) for a in arrays):
        raise ValueError("rear_x, rear_y, front_x and front_y must be 1-D arrays of equal length")
    out = np.empty(n)
    _heading_two_point(*arrays, out)
    return out


def heading_pca(px: np.ndarray, py: np.ndarray, *, rel_tol: float = 1e-9) -> np.ndarray:
    """Heading as the first principal axis of the finite keypoints of each row.

    Parameters
    ----------
    px, py : numpy.ndarray
        Keypoint coordinates, float64 arrays of shape (n_rows, n_keypoints).
    rel_tol : float, default 1e-9
        Rows whose two principal variances differ by less than ``rel_tol`` times
        their sum have no principal axis and give NaN.

    Returns
    -------
    numpy.ndarray
        Axis angle in (-π/2, π/2], float64 of shape (n_rows,). The sign of an
        axis is arbitrary (θ and θ + π are the same axis); NaN for fewer than two
        finite keypoints.
    """
    px, py = _pose_arrays(px, py)
    out = np.empty(px.shape[0])
    _heading_pca(px, py, float(rel_tol), out)
    return out


def to_egocentric(
    dx: np.ndarray, dy: np.ndarray, angle: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate displacements into the frame of a heading (rotation by ``-angle``).

    Parameters
    ----------
    dx, dy : numpy.ndarray
        Displacements in the arena frame, float64 of shape (n,).
    angle : numpy.ndarray
        Heading of the reference individual in radians, shape (n,).

    Returns
    -------
    tuple of numpy.ndarray
        ``(forward, left)``, each float64 of shape (n,): the component along
        the heading and the component 90° counter-clockwise from it.

    Examples
    --------
    >>> import numpy as np
    >>> f, l = to_egocentric(np.array([0.0]), np.array([2.0]), np.array([np.pi / 2]))
    >>> np.round(f, 12), np.round(l, 12)
    (array([2.]), array([0.]))
    """
    dx, dy, angle = (np.ascontiguousarray(a, dtype=np.float64) for a in (dx, dy, angle))
    if not dx.shape == dy.shape == angle.shape or dx.ndim != 1:
        raise ValueError("dx, dy and angle must be 1-D arrays of equal length")
    ox = np.empty_like(dx)
    oy = np.empty_like(dx)
    _egocentric(dx, dy, angle, ox, oy)
    return ox, oy


@register_warmup
def _warmup() -> None:
    px = np.array([[0.0, 1.0, np.nan], [0.0, 0.0, 1.0]])
    for a in (px, np.asfortranarray(px)):
        body_scale(a, a[::-1].copy(order="A"))
        body_scale(a, a, "chain-length")
        heading_pca(a, a)
    v = px[0].copy()
    heading_two_point(v, v, v, v)
    to_egocentric(v, v, v)
