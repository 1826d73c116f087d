"""Clustering kernels vs the slow references, hand-worked cases and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from moveo.kernels.clustering import (
    nan_column_stats,
    nearest_centroid,
    rows_complete,
    standardize,
)
from reference import models as ref


def _matrix(draw, n_min=0, n_max=40, d_min=1, d_max=5, nan=True, integer=False):
    n = draw(st.integers(n_min, n_max))
    d = draw(st.integers(d_min, d_max))
    if integer:
        elems = st.integers(-20, 20).map(float)
    else:
        elems = st.floats(-1e3, 1e3, allow_nan=False, width=64)
    x = draw(hnp.arrays(np.float64, (n, d), elements=elems))
    if nan and n:
        mask = draw(hnp.arrays(np.bool_, (n, d), elements=st.booleans()))
        # NaN runs: only some rows, so most of the data stays usable
        keep = draw(hnp.arrays(np.bool_, (n,), elements=st.sampled_from([True, True, False])))
        mask[keep] = False
        x[mask] = np.nan
    return x


@st.composite
def assignment_case(draw):
    x = _matrix(draw)
    k = draw(st.integers(1, 7))
    cent = draw(
        hnp.arrays(np.float64, (k, x.shape[1]), elements=st.floats(-1e3, 1e3, allow_nan=False))
    )
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return x.astype(dtype), cent


@given(assignment_case())
def test_nearest_centroid_matches_reference(case):
    x, cent = case
    labels, dist = nearest_centroid(x, cent)
    r_labels, r_dist = ref.nearest_centroid(x, cent)
    assert labels.shape == dist.shape == (len(x),)
    missing = r_labels == -1
    np.testing.assert_array_equal(labels == -1, missing)
    assert np.isnan(dist[missing]).all()
    np.testing.assert_allclose(dist[~missing], r_dist[~missing], rtol=1e-9, atol=1e-6)
    # a different label is only acceptable on an exact/near tie
    for i in np.flatnonzero(~missing & (labels != r_labels)):
        d_ours = ((x[i].astype(np.float64) - cent[labels[i]]) ** 2).sum()
        assert d_ours == pytest.approx(r_dist[i], rel=1e-9, abs=1e-6)


def test_nearest_centroid_hand_worked():
    x = np.array([[0.0, 0.0], [9.0, 9.0], [np.nan, 1.0], [5.5, 5.5], [1.0, np.nan]])
    cent = np.array([[1.0, 0.0], [10.0, 10.0]])
    labels, dist = nearest_centroid(x, cent)
    assert labels.tolist() == [0, 1, -1, 1, -1]
    np.testing.assert_allclose(dist[[0, 1, 3]], [1.0, 2.0, 4.5**2 * 2])
    assert np.isnan(dist[[2, 4]]).all()


def test_nearest_centroid_tie_goes_to_lowest_index():
    labels, dist = nearest_centroid(np.array([[0.0]]), np.array([[1.0], [-1.0]]))
    assert labels.tolist() == [0]
    assert dist.tolist() == [1.0]


def test_nearest_centroid_empty_and_single_row():
    labels, dist = nearest_centroid(np.empty((0, 3)), np.zeros((2, 3)))
    assert labels.shape == (0,)
    assert dist.shape == (0,)
    labels, _ = nearest_centroid(np.array([[2.0, 2.0, 2.0]]), np.array([[0.0] * 3, [3.0] * 3]))
    assert labels.tolist() == [1]


def test_nearest_centroid_large_parallel_matches_numpy(rng):
    x = rng.normal(size=(20_000, 6))
    x[rng.random(20_000) < 0.05, 2] = np.nan
    cent = rng.normal(size=(9, 6))
    labels, _ = nearest_centroid(x, cent)
    ok = ~np.isnan(x).any(axis=1)
    expected = ((x[ok, None, :] - cent[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(labels[ok], expected)
    assert (labels[~ok] == -1).all()


def test_nearest_centroid_bad_input():
    with pytest.raises(ValueError, match="x has 2 columns but centroids have 3"):
        nearest_centroid(np.zeros((4, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="centroids is empty"):
        nearest_centroid(np.zeros((4, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="centroids contain NaN"):
        nearest_centroid(np.zeros((4, 2)), np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="x must be a 2-D array"):
        nearest_centroid(np.zeros(4), np.zeros((1, 1)))
    with pytest.raises(TypeError, match="x must hold real numbers"):
        nearest_centroid(np.array([["a"]]), np.zeros((1, 1)))


@given(st.data())
def test_column_stats_and_standardize_match_reference(data):
    x = _matrix(data.draw, n_max=30)
    mean, std, count = nan_column_stats(x)
    r_mean, r_std, r_count = ref.nan_column_stats(x)
    np.testing.assert_array_equal(count, r_count)
    np.testing.assert_allclose(mean, r_mean, rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(std, r_std, rtol=1e-7, atol=1e-7, equal_nan=True)
    z = standardize(x, mean, std)
    scale = np.where(np.isfinite(r_std) & (r_std > 0), r_std, 1.0)
    expected = (x - np.nan_to_num(r_mean)) / scale
    np.testing.assert_allclose(z, expected, rtol=1e-7, atol=1e-7, equal_nan=True)
    np.testing.assert_array_equal(rows_complete(x), ~np.isnan(x).any(axis=1))


def test_column_stats_hand_worked():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [np.nan, 5.0]])
    mean, std, count = nan_column_stats(x)
    assert mean.tolist() == [2.0, 5.0]
    assert std.tolist() == [1.0, 0.0]
    assert count.tolist() == [2, 3]
    z = standardize(x, mean, std)
    assert z[:2].tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert np.isnan(z[2, 0])


def test_standardize_bad_shape():
    with pytest.raises(ValueError, match=r"mean and std must have shape \(2,\)"):
        standardize(np.zeros((3, 2)), np.zeros(3), np.ones(3))
