"""Body kernels vs the references (hypothesis): scale, headings, egocentric rotation,
degenerate input.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.body import (
    body_scale,
    heading_pca,
    heading_two_point,
    to_egocentric,
)
from reference import tracking as ref


@given(table=ref.track_tables(max_ids=3, max_rows=5, n_keypoints=5), fortran=st.booleans())
def test_body_scale_matches_reference(table, fortran):
    px, py = table["px"], table["py"]
    if fortran:
        px, py = np.asfortranarray(px), np.asfortranarray(py)
    for mode in ("median-pairwise", "chain-length"):
        np.testing.assert_allclose(
            body_scale(px, py, mode), ref.body_scale(px, py, mode), rtol=1e-12, err_msg=mode
        )


@given(table=ref.track_tables(max_ids=3, max_rows=5, n_keypoints=4))
def test_headings_match_reference(table):
    px, py = table["px"], table["py"]
    np.testing.assert_allclose(
        heading_two_point(px[:, 0], py[:, 0], px[:, 3], py[:, 3]),
        ref.heading_two_point(px[:, 0], py[:, 0], px[:, 3], py[:, 3]),
        rtol=1e-12,
    )
    got = heading_pca(px, py)
    exp, gap = ref.heading_pca(px, py)
    clear = gap > 1e-6  # a clear principal axis: both must agree on it
    assert ((got[clear] > -math.pi / 2) & (got[clear] <= math.pi / 2)).all()
    # equal as axes (theta and theta + pi are the same axis)
    axis_diff = np.angle(np.exp(2j * (got[clear] - exp[clear]))) / 2
    np.testing.assert_allclose(axis_diff, 0.0, atol=1e-6)
    assert np.isnan(got[np.isnan(exp)]).all()


def test_rigid_seven_keypoint_body_has_known_scale_and_length():
    # keypoints every 2 units on a line of length 12, rotated and shifted per row
    t = np.arange(7) * 2.0
    rows = []
    for theta, ox, oy in [(0.0, 0.0, 0.0), (0.7, 5.0, -3.0), (-2.5, 100.0, 40.0)]:
        rows.append((ox + t * math.cos(theta), oy + t * math.sin(theta)))
    px = np.array([r[0] for r in rows])
    py = np.array([r[1] for r in rows])
    # 21 pairwise distances 2, 4, ..., 12 with counts 6, 5, 4, 3, 2, 1: the
    # median (11th smallest) is 4
    np.testing.assert_allclose(body_scale(px, py), 4.0)
    np.testing.assert_allclose(body_scale(px, py, "chain-length"), 12.0)
    np.testing.assert_allclose(
        heading_two_point(px[:, 0], py[:, 0], px[:, 6], py[:, 6]), [0.0, 0.7, -2.5]
    )
    np.testing.assert_allclose(heading_pca(px, py), [0.0, 0.7, -2.5 + math.pi], atol=1e-12)
    # missing keypoints: median of the remaining pairs; chain length becomes NaN
    px[0, [1, 2, 3, 4, 5]] = np.nan
    np.testing.assert_allclose(body_scale(px[:1], py[:1]), 12.0)
    assert np.isnan(body_scale(px[:1], py[:1], "chain-length")[0])
    px[0, 0] = np.nan
    assert np.isnan(body_scale(px[:1], py[:1])[0])  # one finite keypoint
    assert np.isnan(heading_pca(px[:1], py[:1])[0])


def test_degenerate_headings_are_nan():
    z = np.zeros(1)
    assert np.isnan(heading_two_point(z, z, z, z)[0])
    # a square has no principal axis
    sq = heading_pca(np.array([[0.0, 1.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0, 1.0]]))
    assert np.isnan(sq[0])


def test_egocentric_rotation():
    f, left = to_egocentric(
        np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0]), np.array([0.0, np.pi / 2, np.pi])
    )
    np.testing.assert_allclose(f, [1.0, 1.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(left, [0.0, 0.0, -1.0], atol=1e-12)
    for dx, dy, a in [(0.3, -2.0, 1.1), (5.0, 1.0, -2.9)]:
        got = to_egocentric(np.array([dx]), np.array([dy]), np.array([a]))
        np.testing.assert_allclose([got[0][0], got[1][0]], ref.egocentric(dx, dy, a))


def test_empty_and_errors():
    assert body_scale(np.empty((0, 7)), np.empty((0, 7))).shape == (0,)
    assert body_scale(np.empty((3, 0)), np.empty((3, 0))).shape == (3,)
    assert np.isnan(body_scale(np.ones((2, 1)), np.ones((2, 1)), "chain-length")).all()
    with pytest.raises(ValueError, match="mode must be one of"):
        body_scale(np.zeros((1, 2)), np.zeros((1, 2)), "mean")
    with pytest.raises(ValueError, match=r"px must have shape \(n_rows, n_keypoints\)"):
        body_scale(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="px and py shapes differ"):
        body_scale(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="py must be a real numeric array"):
        heading_pca(np.zeros((1, 2)), np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="equal length"):
        to_egocentric(np.zeros(2), np.zeros(3), np.zeros(2))
