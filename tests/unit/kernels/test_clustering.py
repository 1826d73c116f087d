"""Clustering kernels vs the slow references, hand-worked cases and bad input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from moveo.kernels.clustering import (
    _assign,
    _filter_bound,
    nan_column_stats,
    nearest_centroid,
    rows_complete,
    standardize,
)
from reference import models as ref


@st.composite
def assignment_case(draw):
    x = ref.draw_matrix(draw)
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
    x = ref.draw_matrix(data.draw, n_max=30)
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


# ------------------------------------------------- nearest centroid: filter + exact path
#
# The kernel filters with float32 GEMM-form distances and recomputes rows whose
# best two candidates are closer than twice a proven rounding bound (see
# moveo.kernels.clustering). These tests demand bit-for-bit agreement with the
# reference on data built to sit on or next to ties, check the bound itself in
# exact rational arithmetic, and check that both paths really run.


def _contract_dists(x, cent):
    """All (row, centroid) contract distances: left-to-right float64 sums, no FMA."""
    x = np.asarray(x, dtype=np.float64)
    s = np.zeros((len(x), len(cent)))
    with np.errstate(over="ignore"):  # huge rows: +inf, like the kernel
        for j in range(x.shape[1]):
            t = x[:, None, j] - cent[None, :, j]
            s = s + t * t
    return s


def _n_exact_ties(x, cent):
    """Rows (without NaN) whose two smallest contract distances are equal."""
    if len(cent) < 2 or len(x) == 0:
        return 0
    ok = ~np.isnan(np.asarray(x, dtype=np.float64)).any(axis=1)
    two = np.sort(_contract_dists(x[ok], cent), axis=1)[:, :2]
    return int((two[:, 0] == two[:, 1]).sum())


def _assert_matches_reference_bitwise(x, cent):
    labels, dist, n_exact = _assign(np.ascontiguousarray(x), np.ascontiguousarray(cent))
    r_labels, r_dist = ref.nearest_centroid(x, cent)
    np.testing.assert_array_equal(labels, r_labels)
    np.testing.assert_array_equal(dist, r_dist)  # NaN where NaN, else identical bits
    # an exact tie can never pass the filter, and NaN rows always take the exact path
    n_nan = int(np.isnan(np.asarray(x, dtype=np.float64)).any(axis=1).sum())
    assert n_exact >= _n_exact_ties(x, cent) + n_nan
    return n_exact


@given(assignment_case())
def test_nearest_centroid_bitwise_equal_to_reference(case):
    x, cent = case
    _assert_matches_reference_bitwise(x, cent)


@st.composite
def near_tie_case(draw):
    """Rows on, or a few ulps / tiny steps off, the bisector of two centroids.

    Also duplicated centroids, rows that copy a centroid, integer grids (many
    exact ties), NaN rows, and large offsets added to everything (where the
    GEMM form cancels badly without the shift).
    """
    d = draw(st.integers(1, 9))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    offset = draw(st.sampled_from([0.0, 1e6, -1e9, 3e12]))
    integer = draw(st.booleans())
    coord = st.integers(-3, 3).map(float) if integer else st.floats(-3, 3, allow_nan=False)
    k_free = draw(st.integers(0, 4))
    free = draw(hnp.arrays(np.float64, (k_free, d), elements=coord)) * scale
    p = draw(hnp.arrays(np.float64, (d,), elements=coord)) * scale
    j0 = draw(st.integers(0, d - 1))
    a = draw(st.sampled_from([1.0, 0.5, 2.0, 3.0])) * scale
    v = np.zeros(d)
    v[j0] = a
    pair = np.stack([p + v, p - v])
    cent = np.concatenate([free, pair])
    if draw(st.booleans()):  # duplicate centroids: a tie for every row they win
        dup = draw(st.integers(0, len(cent) - 1))
        cent = np.concatenate([cent, cent[dup : dup + 1]])
    perm = draw(st.permutations(range(len(cent))))
    cent = cent[list(perm)] + offset

    n = draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(["bisector", "nudged", "copy", "free", "nan"]))
        if kind in ("bisector", "nudged"):
            t = draw(hnp.arrays(np.float64, (d,), elements=coord)) * scale
            row = p + t
            row[j0] = p[j0]
            row = row + offset
            if kind == "nudged":
                steps = draw(st.integers(-3, 3))
                tiny = draw(st.sampled_from([0.0, 1e-300, 1e-12, 1e-7]))
                row[j0] = np.nextafter(row[j0], np.inf * steps) if steps else row[j0]
                row[j0] += tiny * scale * draw(st.sampled_from([-1.0, 1.0]))
        elif kind == "copy":
            row = cent[draw(st.integers(0, len(cent) - 1))].copy()
        else:
            row = draw(hnp.arrays(np.float64, (d,), elements=coord)) * scale + offset
            if kind == "nan":
                row[draw(st.integers(0, d - 1))] = np.nan
        rows.append(row)
    x = np.array(rows)
    if draw(st.booleans()):
        x = x.astype(np.float32)
    return x, cent


@given(near_tie_case())
def test_nearest_centroid_near_ties_bitwise_equal_to_reference(case):
    x, cent = case
    _assert_matches_reference_bitwise(x, cent)


def test_nearest_centroid_exact_ties_take_exact_path():
    # every centroid twice: every row ties, so every row must be recomputed
    rng = np.random.default_rng(3)
    base = rng.normal(size=(5, 4))
    cent = np.concatenate([base, base])
    x = rng.normal(size=(700, 4))
    n_exact = _assert_matches_reference_bitwise(x, cent)
    assert n_exact == len(x)
    labels, _ = nearest_centroid(x, cent)
    assert labels.max() < 5  # the lower index of each duplicated pair


def test_nearest_centroid_fast_path_used_and_exact_across_blocks():
    # 9000 rows: several 256-row blocks, two 4096-row chunks and a ragged end;
    # 9 centroids (odd: the last pass pairs a centroid with a never-winning copy)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(9000, 7))
    x[rng.random(9000) < 0.01, 3] = np.nan
    cent = rng.normal(size=(9, 7))
    for dtype in (np.float64, np.float32):
        xd = x.astype(dtype)
        labels, dist, n_exact = _assign(xd, cent)
        d_all = _contract_dists(xd, cent)
        ok = ~np.isnan(x).any(axis=1)
        np.testing.assert_array_equal(labels[ok], d_all[ok].argmin(axis=1))
        np.testing.assert_array_equal(dist[ok], d_all[ok].min(axis=1))
        assert (labels[~ok] == -1).all()
        # the exact path runs for the NaN rows and a handful of near ties only
        assert (~ok).sum() <= n_exact < (~ok).sum() + 50


@pytest.mark.parametrize("d", range(1, 10))
@pytest.mark.parametrize("k", [1, 2, 5])
def test_nearest_centroid_every_column_and_centroid_count(d, k):
    # each column count takes a different route through the kernel's sweeps
    # (d % 4 columns with the initialisation, then four at a time, the last
    # sweep merged); k = 1 and odd k pair the last centroid with a dummy
    rng = np.random.default_rng(100 * d + k)
    x = rng.normal(size=(600, d))
    cent = rng.normal(size=(k, d))
    labels, dist, _ = _assign(x, cent)
    d_all = _contract_dists(x, cent)
    np.testing.assert_array_equal(labels, d_all.argmin(axis=1))
    np.testing.assert_array_equal(dist, d_all.min(axis=1))


def test_nearest_centroid_large_offset_keeps_fast_path():
    # 1e6 added to everything: ||c||^2 - 2 x.c would cancel away every digit in
    # float32; shifting by the centroid mean keeps the filter useful and exact
    rng = np.random.default_rng(5)
    x = 1e6 + rng.normal(size=(3000, 5))
    cent = 1e6 + rng.normal(size=(6, 5))
    n_exact = _assert_matches_reference_bitwise(x, cent)
    assert n_exact < 30


def test_nearest_centroid_huge_values_use_exact_path():
    rng = np.random.default_rng(6)
    cent = rng.normal(size=(4, 3))
    x = rng.normal(size=(50, 3))
    x[:5] *= 1e25  # too large for the float32 filter: these rows are recomputed
    n_exact = _assert_matches_reference_bitwise(x, cent)
    assert n_exact >= 5
    # centroids too large for the filter: every row goes the exact way
    big = cent * 1e60
    n_exact = _assert_matches_reference_bitwise(x * 1e60, big)
    assert n_exact == len(x)


def test_nearest_centroid_infinite_row_goes_to_lowest_index():
    # all distances are +inf: a tie, so the lowest index (documented), never -1
    x = np.array([[np.inf, 0.0], [1e300, 0.0], [0.0, 0.0]])
    labels, dist = nearest_centroid(x, np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert labels.tolist() == [0, 0, 0]
    assert dist.tolist() == [np.inf, np.inf, 0.0]
    _assert_matches_reference_bitwise(x, np.array([[0.0, 0.0], [1.0, 1.0]]))


def _f32_gemm_form(xs, w, cn, order):
    """The filter's float32 values A[i, m] in one of several summation orders."""
    if order == "matmul":
        return (xs @ w.T + cn[None, :]).astype(np.float32)
    terms = [np.broadcast_to(cn[None, :], (len(xs), len(cn)))]
    terms += [xs[:, j : j + 1] * w[None, :, j] for j in range(xs.shape[1])]
    if order == "reversed":
        terms = terms[::-1]
    acc = np.zeros((len(xs), len(cn)), dtype=np.float32)
    for t in terms:
        acc = (acc + t).astype(np.float32)
    return acc


@st.composite
def bound_case(draw):
    d = draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    n = draw(st.integers(1, 6))
    # 1e-40 puts float32 values in the subnormal range (the underflow term)
    scale = draw(st.sampled_from([1e-40, 1e-20, 1e-3, 1.0, 1e6, 1e12]))
    offset = draw(st.sampled_from([0.0, 1.0, -7e5, 1e9]))
    elems = st.floats(-1, 1, allow_nan=False)
    x = draw(hnp.arrays(np.float64, (n, d), elements=elems)) * scale + offset
    cent = draw(hnp.arrays(np.float64, (k, d), elements=elems)) * scale + offset
    order = draw(st.sampled_from(["matmul", "forward", "reversed"]))
    return x, cent, order


@given(bound_case())
def test_filter_error_bound_holds_in_exact_arithmetic(case):
    # |A + ||x - s||^2 - R| <= E, with ||x - s||^2 exact (fractions), R the
    # contract distance and E = _filter_bound(Xf, Cmax, d), as the kernel uses it
    x, cent, order = case
    n, d = x.shape
    shift = cent.mean(axis=0)
    shifted = cent - shift
    c_norm = np.einsum("ij,ij->i", shifted, shifted)
    c_max = float(c_norm.max())
    w = (-2.0 * shifted).astype(np.float32)
    cn = c_norm.astype(np.float32)
    xs = (x - shift).astype(np.float32)
    xf = np.zeros(n, dtype=np.float32)
    for j in range(d):
        xf = (xf + xs[:, j] * xs[:, j]).astype(np.float32)
    a = _f32_gemm_form(xs, w, cn, order)
    r = _contract_dists(x, cent)
    for i in range(n):
        x_sq = sum((Fraction(float(x[i, j])) - Fraction(float(shift[j]))) ** 2 for j in range(d))
        e = Fraction(_filter_bound(float(xf[i]), c_max, d))
        for m in range(len(cent)):
            err = abs(Fraction(float(a[i, m])) + x_sq - Fraction(float(r[i, m])))
            assert err <= e, (i, m, float(err), float(e))
