"""The temporal-context kernels (Gaussian smoothing, lags, pooled statistics) equal their
slow references on random tables with NaN runs, missing frames and single-row
segments; the smoothing is scipy's gaussian_filter1d (mode "nearest") on a dense
segment; hand-worked cases and mosaic's pooling-window rule."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter1d

from moveo.kernels.temporal import (
    gaussian_pool,
    gaussian_smooth,
    gaussian_weights,
    lag_stack,
    pool_window,
)
from reference import preprocessing as ref
from reference import tracking as tref


@given(table=tref.track_tables(), sigma=st.sampled_from([0.0, 0.3, 0.8, 1.5]))
def test_gaussian_smooth_matches_reference(table, sigma):
    both = np.column_stack([table["x"], table["y"]])
    got = gaussian_smooth(both, table["frames"], table["offsets"], sigma)
    for j, col in enumerate(("x", "y")):
        want = ref.gaussian_smooth(table[col], table["frames"], table["offsets"], sigma)
        np.testing.assert_allclose(got[:, j], want, rtol=1e-12, atol=1e-12)


@given(table=tref.track_tables(), lags=st.lists(st.integers(-5, 5), min_size=1, max_size=4))
def test_lag_stack_matches_reference(table, lags):
    both = np.column_stack([table["x"], table["y"]])
    got = lag_stack(both, table["frames"], table["offsets"], lags, dtype=np.float64)
    assert got.shape == (len(table["x"]), 2 * len(lags))
    for q, d in enumerate(lags):
        for j, col in enumerate(("x", "y")):
            want = ref.lag(table[col], table["frames"], table["offsets"], d)
            np.testing.assert_array_equal(got[:, q * 2 + j], want)
    f32 = lag_stack(both, table["frames"], table["offsets"], lags)
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, got.astype(np.float32))


@given(table=tref.track_tables(), sigma=st.sampled_from([0.5, 1.0, 2.5]), radius=st.integers(0, 4))
def test_gaussian_pool_matches_reference(table, sigma, radius):
    mean, var, std = gaussian_pool(table["x"], table["frames"], table["offsets"], sigma, radius)
    want = ref.pooled(table["x"], table["frames"], table["offsets"], sigma, radius)
    for got, exp in zip((mean, var, std), want, strict=True):
        np.testing.assert_allclose(got[:, 0], exp, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0, 30.0])
def test_dense_segment_is_scipys_gaussian_filter(rng, sigma):
    x = rng.normal(size=(400, 3))
    got = gaussian_smooth(x, np.arange(400), [0, 400], sigma)
    np.testing.assert_allclose(got, gaussian_filter1d(x, sigma, axis=0, mode="nearest"), atol=1e-12)


def test_hand_worked():
    # an impulse of 3 smoothed with sigma 1: 3 x the normalised weights of |k| <= 4
    w = gaussian_weights(1.0, 4)
    out = gaussian_smooth(
        np.array([0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0]), np.arange(9), [0, 9], 1.0
    )
    np.testing.assert_allclose(out[:, 0], 3.0 * w, rtol=1e-12)
    assert math.isclose(w[4], 1.0 / sum(math.exp(-(k**2) / 2) for k in range(-4, 5)))
    # lags clamp to the segment ends and never cross into the next segment
    v = np.array([1.0, 2.0, 3.0, 10.0, 20.0])
    lagged = lag_stack(v, np.array([0, 1, 2, 0, 1]), [0, 3, 5], [-1, 1], dtype=np.float64)
    np.testing.assert_array_equal(lagged[:, 0], [1.0, 1.0, 2.0, 10.0, 10.0])
    np.testing.assert_array_equal(lagged[:, 1], [2.0, 3.0, 3.0, 20.0, 20.0])
    # lags are in frames: frame 2 is missing, so 1 frame after frame 1 is NaN
    gap = lag_stack(np.array([1.0, 2.0, 4.0]), np.array([0, 1, 3]), [0, 3], [1], dtype=np.float64)
    np.testing.assert_array_equal(gap[:, 0], [2.0, np.nan, 4.0])
    # the pooled mean of a constant is that constant, its variance 0
    mean, var, std = gaussian_pool(np.full(6, 2.5), np.arange(6), [0, 6], 2.0, 3)
    np.testing.assert_allclose(mean[:, 0], 2.5)
    np.testing.assert_allclose(var[:, 0], 0.0, atol=1e-15)
    # mosaic-behavior 0.17 on 5, 6, 7, ... (sigma_pool 2, window 15 frames -> radius 8)
    mean, _, std = gaussian_pool(np.arange(30) + 5.0, np.arange(30), [0, 30], 2.0, 8)
    np.testing.assert_allclose(mean[:3, 0], [5.780982, 6.380719, 7.156492], atol=5e-7)
    np.testing.assert_allclose(std[:3, 0], [1.178717, 1.501540, 1.745785], atol=5e-6)
    # a NaN spreads over the reach of the window, as in scipy / mosaic
    nan = gaussian_smooth(
        np.array([0.0, 1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0]), np.arange(8), [0, 8], 0.5
    )
    assert np.isnan(nan[:, 0]).tolist() == [True, True, True, True, True, False, False, False]


def test_pool_window_rule_observed_on_mosaic():
    # (fps, win_sec, sigma_pool) -> (sigma, radius) as mosaic-behavior 0.17 produced them
    assert pool_window(30.0, 0.5, 30.0) == (30.0, 30)
    assert pool_window(30.0, 0.5, 1.0) == (1.0, 8)
    assert pool_window(30.0, 1.0, 3.0) == (3.0, 15)
    assert pool_window(30.0, 0.5, 10.5) == (10.5, 11)
    assert pool_window(30.0, 0.5, 12.3) == (12.3, 12)
    assert pool_window(30.0, 0.5, 0.0) == (2.5, 8)
    assert pool_window(20.0, 0.4, -1.0) == (pytest.approx(8.0 / 6.0), 4)
    assert pool_window(30.0, 0.45, 0.0) == (2.25, 7)
    assert pool_window(30.0, 0.01, 0.0) == (1.0, 1)


def test_empty_single_and_bad_input():
    none = np.zeros(0, dtype=np.int64)
    assert gaussian_smooth(np.empty(0), none, [0], 1.0).shape == (0, 1)
    assert lag_stack(np.empty(0), none, [0], [0, 1]).shape == (0, 2)
    one = gaussian_smooth(np.array([4.0]), np.array([7]), [0, 1], 2.0)
    assert one[0, 0] == pytest.approx(4.0)
    assert lag_stack(np.array([4.0]), np.array([7]), [0, 1], [-3, 3])[0].tolist() == [4.0, 4.0]
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        gaussian_weights(0.0, 3)
    with pytest.raises(ValueError, match="frames must be strictly increasing"):
        gaussian_smooth(np.zeros(2), np.array([1, 1]), [0, 2], 1.0)
    with pytest.raises(ValueError, match="fps and win_sec must be positive"):
        pool_window(0.0, 0.5, 1.0)
