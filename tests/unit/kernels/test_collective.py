"""moveo.kernels.collective equals the slow reference (tests/reference/collective.py).

Proves: per-row headings/velocities, per-frame moments and the convex hull agree
with plain-Python definitions (and scipy's qhull) on hypothesis tables with NaN
gaps, missing frames, single individuals, coincident and collinear points; the
hull and the moments hold at 1,000 individuals in a frame; local order (grid
search of discs) equals the all-pairs reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.collective import (
    classify_state,
    frame_moments,
    hull_area,
    local_order,
    principal_axes,
    row_motion,
)
from moveo.kernels.neighbors import frame_order
from reference import collective as ref


@st.composite
def lattice_tables(draw, max_ids=6, max_frames=5):
    """Tables sorted by (id, frame) on a half-integer lattice (exact ties and lines)."""
    n_ids = draw(st.integers(0, max_ids))
    coord = st.one_of(st.integers(-12, 12).map(lambda v: v / 2), st.just(math.nan))
    ids, frames, x, y, a = [], [], [], [], []
    for ident in range(n_ids):
        fr = sorted(draw(st.sets(st.integers(0, max_frames), min_size=1, max_size=max_frames)))
        for f in fr:
            ids.append(ident * 3 + 1)
            frames.append(f)
            x.append(draw(coord))
            y.append(draw(coord))
            a.append(draw(st.one_of(st.floats(-7, 7), st.just(math.nan))))
    ids_a = np.array(ids, dtype=np.int64)
    offsets = np.flatnonzero(np.r_[True, ids_a[1:] != ids_a[:-1]]) if len(ids) else []
    return {
        "ids": ids_a,
        "frames": np.array(frames, dtype=np.int64),
        "x": np.array(x, dtype=np.float64),
        "y": np.array(y, dtype=np.float64),
        "angle": np.array(a, dtype=np.float64),
        "offsets": np.array([*offsets, len(ids)], dtype=np.int64),
    }


def _close(got, exp, **kw):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(exp, float), **kw)


@given(table=lattice_tables(), use_angle=st.booleans(), fps=st.sampled_from([None, 25.0]),
       gap=st.sampled_from([None, 1, 2]))  # fmt: skip
def test_row_motion_matches_reference(table, use_angle, fps, gap):
    t = table
    angle = t["angle"] if use_angle else None
    clock = t["frames"] / 10.0
    got = row_motion(t["x"], t["y"], t["frames"], t["offsets"], angle=angle, clock=clock,
                     fps=fps, max_frame_gap=gap)  # fmt: skip
    exp = ref.motion(t["ids"], t["frames"], t["x"], t["y"], angle, clock=clock, fps=fps,
                     max_gap=gap)  # fmt: skip
    np.testing.assert_array_equal(got["finite"], exp["finite"])
    for k in ("ux", "uy", "vx", "vy"):
        _close(got[k], exp[k], rtol=1e-12, atol=1e-12)


def test_row_motion_subgroup_change_has_no_velocity():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    frames = np.arange(4, dtype=np.int64)
    got = row_motion(x, x * 0, frames, np.array([0, 4]), subgroup=np.array([0, 0, 1, -1]))
    _close(got["vx"], [np.nan, 1.0, np.nan, np.nan])
    _close(got["ux"], [np.nan, 1.0, 1.0, 1.0])  # headings ignore the subgroup


@given(table=lattice_tables(), use_angle=st.booleans(), min_ind=st.integers(1, 4))
def test_frame_metrics_match_reference(table, use_angle, min_ind):

    t = table
    angle = t["angle"] if use_angle else None
    speed = np.abs(t["x"])
    mot = row_motion(t["x"], t["y"], t["frames"], t["offsets"], angle=angle, fps=10.0)
    perm, goff = frame_order(t["frames"])
    mom = frame_moments(t["x"], t["y"], mot, perm, goff, speed=speed)
    exp = ref.collective_motion_metrics(t["ids"], t["frames"], t["x"], t["y"], angle, fps=10.0,
                                        speed=speed, min_individuals=min_ind)  # fmt: skip
    frames = sorted(exp)
    assert len(frames) == goff.shape[0] - 1
    for g, f in enumerate(frames):
        e = exp[f]
        for k in ("n_ids", "n_ids_heading", "n_at_centroid", "n_centroid_common"):
            assert mom[k][g] == e[k], (k, f)
        for k in ("centroid_x", "centroid_y", "mean_speed"):
            _close(mom[k][g], e[k], rtol=1e-12, atol=1e-12)
        area = mom["area"][g] if mom["n_ids"][g] >= min_ind else math.nan
        _close(area, e["area"], rtol=1e-12, atol=1e-12)
        major, minor, elong, _ = principal_axes(mom["sxx"][g:g + 1], mom["syy"][g:g + 1],
                                                mom["sxy"][g:g + 1])  # fmt: skip
        if mom["n_ids"][g] >= min_ind:
            _close(major, [e["sd_major"]], rtol=1e-9, atol=1e-9)
            _close(minor, [e["sd_minor"]], rtol=1e-6, atol=1e-6)


@given(
    n=st.integers(0, 60),
    seed=st.integers(0, 2**32 - 1),
    layout=st.sampled_from(["uniform", "lattice", "line", "point", "circle", "corner"]),
)
def test_hull_area_matches_qhull(n, seed, layout):
    rng = np.random.default_rng(seed)
    if layout == "uniform":
        x, y = rng.uniform(-5, 5, n), rng.uniform(-5, 5, n)
    elif layout == "lattice":
        x, y = rng.integers(0, 4, n).astype(float), rng.integers(0, 4, n).astype(float)
    elif layout == "line":
        x = rng.integers(0, 9, n).astype(float)
        y = 2.0 * x + 1.0
    elif layout == "point":
        x, y = np.full(n, 3.0), np.full(n, -1.0)
    elif layout == "corner":
        # one point is several octagon extremes at once (leftmost, top-left, top):
        # the zero-length octagon edges between them must not bound the filter
        x, y = rng.normal(0, 1, n), rng.normal(0, 1, n)
        if n:
            x[0], y[0] = -10.0, 10.0
    else:
        t = rng.uniform(0, 2 * np.pi, n)
        x, y = 10 * np.cos(t), 10 * np.sin(t)
    x[rng.random(n) < 0.1] = np.nan
    ok = np.isfinite(x)
    _close(hull_area(x, y), ref.hull_area(np.column_stack([x[ok], y[ok]])), rtol=1e-10)


def test_hull_area_hand_worked():
    # unit square with interior and duplicate points, edge midpoints
    x = np.array([0, 1, 1, 0, 0.5, 0.2, 1, 0.5, 0])
    y = np.array([0, 0, 1, 1, 0.5, 0.7, 1, 0, 0.5])
    assert hull_area(x, y) == 1.0
    assert hull_area(np.array([0.0, 4.0, 0.0]), np.array([0.0, 0.0, 3.0])) == 6.0
    assert math.isnan(hull_area(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])))
    assert math.isnan(hull_area(np.array([1.0, 1.0]), np.array([2.0, np.nan])))


def test_thousand_individuals_one_frame():
    rng = np.random.default_rng(7)
    n = 1000
    x, y = rng.normal(0, 30, n), rng.normal(0, 10, n)
    x[::97] = np.nan
    angle = rng.uniform(-np.pi, np.pi, n)
    ids = np.arange(n)
    frames = np.zeros(n, dtype=np.int64)
    offsets = np.arange(n + 1, dtype=np.int64)
    mot = row_motion(x, y, frames, offsets, angle=angle)
    perm, goff = frame_order(frames)
    mom = frame_moments(x, y, mot, perm, goff)
    exp = ref.collective_motion_metrics(ids, frames, x, y, angle)[0]
    assert mom["n_ids"][0] == exp["n_ids"] == n - 11
    _close(mom["area"][0], exp["area"], rtol=1e-12)
    _close(np.hypot(mom["sum_ux"], mom["sum_uy"])[0] / mom["n_ids_heading"][0],
           exp["polarization"], rtol=1e-10)  # fmt: skip
    _close(mom["sum_cross"][0] / mom["n_ids_heading"][0], exp["rotation_signed"], rtol=1e-9)


def test_state_codes():
    rot = np.array([0.1, 0.9, 0.1, 0.5, np.nan, 0.1])
    pol = np.array([0.9, 0.1, 0.1, 0.5, 0.5, np.nan])
    np.testing.assert_array_equal(classify_state(rot, pol), [0, 1, 2, 3, 4, 4])


def test_principal_axes_hand_worked():
    # points (+-2, 0), (0, +-1): var x = 2, var y = 0.5, no covariance
    major, minor, elong, angle = principal_axes(np.array([2.0]), np.array([0.5]), np.array([0.0]))
    _close([major[0], minor[0], elong[0], angle[0]], [math.sqrt(2), math.sqrt(0.5), 2.0, 0.0])
    _, _, elong, _ = principal_axes(np.array([1.0, 0.0]), np.array([0.0, 0.0]), np.zeros(2))
    assert elong[0] == np.inf and math.isnan(elong[1])


# --------------------------------------------------------------------------- local order


@given(table=lattice_tables(max_ids=7), radius=st.sampled_from([0.5, 1.0, 2.5, 40.0]),
       n_shells=st.integers(1, 4), n_peripheral=st.integers(1, 6),
       min_neighbors=st.integers(0, 2))  # fmt: skip
def test_local_order_matches_reference(table, radius, n_shells, n_peripheral, min_neighbors):
    t = table
    mot = row_motion(t["x"], t["y"], t["frames"], t["offsets"], angle=t["angle"])
    perm, goff = frame_order(t["frames"])
    got = local_order(t["x"], t["y"], mot, perm, goff, np.full(goff.shape[0] - 1, radius),
                      n_shells=n_shells, n_peripheral=n_peripheral,
                      min_neighbors=min_neighbors)  # fmt: skip
    exp = ref.local_order(t["ids"], t["frames"], t["x"], t["y"], t["angle"], radius=radius,
                          n_shells=n_shells, n_peripheral=n_peripheral,
                          min_neighbors=min_neighbors)  # fmt: skip
    for r, e in enumerate(exp):
        for k, v in e.items():
            _close(got[k][r], v, rtol=1e-12, atol=1e-12, err_msg=f"{k} row {r}")


def test_local_order_grid_on_many_points():
    # 1,000 individuals, small radius (fine grid), a cluster and a far outlier
    rng = np.random.default_rng(3)
    n = 1000
    x = np.concatenate([rng.uniform(0, 100, n - 1), [1e6]])
    y = np.concatenate([rng.uniform(0, 100, n - 1), [-1e6]])
    angle = rng.uniform(-np.pi, np.pi, n)
    frames = np.zeros(n, dtype=np.int64)
    offsets = np.arange(n + 1, dtype=np.int64)
    mot = row_motion(x, y, frames, offsets, angle=angle)
    perm, goff = frame_order(frames)
    got = local_order(x, y, mot, perm, goff, np.array([3.0]))
    d2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    np.testing.assert_array_equal(got["n_local_neighbors"], (d2 <= 9.0).sum(1) - 1)
    assert got["n_local_neighbors"][-1] == 0


def test_local_order_rejects_bad_radius():
    x = np.zeros(2)
    mot = row_motion(x, x, np.zeros(2, np.int64), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="radius must be positive"):
        local_order(x, x, mot, np.arange(2), np.array([0, 2]), np.array([0.0]))
