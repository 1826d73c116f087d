"""kernels/emg_sliding.py: LS over overlapping windows, keeping each window sorted.

The slid LS equals a slow obvious reference (sort every window, sum) on
hypothesis-drawn sample-major data with NaN gaps, infinities, ties and signed
zeros, at every hop (1, shorter than, equal to and longer than the window),
and equals the per-window whole-window kernel bit for bit, through
``FeaturePlan.transform`` on a view (sliding) and on a copy (per window).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moveo.kernels.emg_sliding as k
from moveo.emg import FeaturePlan, windows
from moveo.emg.extraction import _sample_major

FS = 1000.0


def reference_ls(data, size, increment):
    """LS of every window, one window at a time: sort it, sum (NaN in, NaN out)."""
    n_windows = (data.shape[0] - size) // increment + 1 if data.shape[0] >= size else 0
    out = np.empty((n_windows, data.shape[1]))
    for w in range(n_windows):
        for c in range(data.shape[1]):
            x = data[w * increment : w * increment + size, c].astype(np.float64)
            if np.isnan(x).any():
                out[w, c] = np.nan
                continue
            s = [float(v) for v in np.sort(x)]
            n = len(s)
            b0 = b1 = 0.0
            for i in range(n):
                b0 += s[i]
                b1 += i * s[i] if s[i] != 0 else 0.0  # 0 * inf is not a term here
            b0 /= n
            b1 /= n * (n - 1.0)
            out[w, c] = 2.0 * b1 - b0
    return out


def run_both(data, size, increment, offset=0):
    """ls_rows and ls_rows_parallel over sample-major data (columns offset.. written)."""
    n_windows = (data.shape[0] - size) // increment + 1
    flat = data[: (n_windows - 1) * increment + size]
    results = []
    for entry in (k.ls_rows, k.ls_rows_parallel):
        out = np.full((n_windows, offset + data.shape[1] + 1), -7.0)
        entry(flat, increment, n_windows, offset, out)
        # only the channel columns are written
        assert (out[:, :offset] == -7.0).all() and (out[:, -1] == -7.0).all()
        results.append(out[:, offset : offset + data.shape[1]])
    np.testing.assert_array_equal(results[0], results[1])
    return results[0]


@st.composite
def sliding_case(draw):
    n_ch = draw(st.integers(1, 4))
    size = draw(st.integers(2, 40))
    increment = draw(st.sampled_from([1, 2, 3, max(1, size // 8), size - 1 or 1, size, size + 3]))
    n_windows = draw(st.integers(1, 150))
    n = (n_windows - 1) * increment + size
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "ties", "zeros", "inf"]))
    if kind == "normal":
        data = rng.standard_normal((n, n_ch))
    elif kind == "ties":
        data = rng.integers(-2, 3, size=(n, n_ch)) * 0.25
    elif kind == "zeros":
        data = rng.choice([-0.0, 0.0, 1.5, -2.0], size=(n, n_ch))
    else:
        data = rng.choice([-np.inf, np.inf, 0.5, -1.0, 3.0], size=(n, n_ch))
    for _ in range(draw(st.integers(0, 3))):  # NaN gaps of a few samples
        at = draw(st.integers(0, n - 1))
        data[at : at + draw(st.integers(1, 2 * size)), draw(st.integers(0, n_ch - 1))] = np.nan
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return np.ascontiguousarray(data, dtype=dtype), size, increment


@given(case=sliding_case(), offset=st.integers(0, 3))
@settings(max_examples=150, deadline=None)
def test_sliding_ls_equals_sorting_every_window(case, offset):
    data, size, increment = case
    got = run_both(data, size, increment, offset)
    want = reference_ls(data, size, increment)
    # same terms in the same order: equal up to the sign of a zero sum; inf - inf is NaN
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-13, atol=1e-300)


@given(case=sliding_case())
@settings(max_examples=80, deadline=None)
def test_transform_on_a_view_equals_the_per_window_path_bit_for_bit(case):
    data, size, increment = case
    w = windows(data, size, increment)
    assert _sample_major(w) is not None  # the view takes the sliding path
    copy = np.ascontiguousarray(w)
    # the copy is sorted window by window (one channel: a copy is windows of hop size)
    assert _sample_major(copy) is None or _sample_major(copy)[1] >= size or w.shape[0] == 1
    plan = FeaturePlan(["LS", "MAV", "SKEW"], fs=FS, n_channels=w.shape[1], size=size)
    slid = plan.transform(w)
    per_window = plan.transform(copy)
    np.testing.assert_array_equal(slid, per_window)


def test_ls_rows_parallel_split_does_not_change_values():
    # many windows, few channels: several chunks per channel, each sorted from scratch
    rng = np.random.default_rng(3)
    data = rng.standard_normal((25 * 2000 + 200, 2))
    data[5000:5003, 1] = np.nan
    got = run_both(data, 200, 25)
    np.testing.assert_allclose(got, reference_ls(data, 200, 25), rtol=1e-13, equal_nan=True)
    assert k._n_chunks(2001, 2) > 1


def test_long_hop_uses_the_argsort_path_with_the_same_values():
    # a hop longer than RANK_SORT_MAX is sorted by argsort, not by counting ranks
    rng = np.random.default_rng(4)
    inc = k.RANK_SORT_MAX + 8
    data = rng.integers(-3, 4, size=(inc * 30 + 100, 3)).astype(np.float64)
    np.testing.assert_allclose(
        run_both(data, 100, inc), reference_ls(data, 100, inc), rtol=1e-13, atol=1e-300
    )


def test_window_after_a_nan_leaves_is_rebuilt():
    data = np.arange(60, dtype=np.float64).reshape(-1, 1) % 7
    data[10] = np.nan
    got = run_both(data, 8, 2)
    want = reference_ls(data, 8, 2)
    # windows 2..5 hold sample 10; the ones after it are exact again
    assert np.isnan(got[2:6, 0]).all() and not np.isnan(got[6:, 0]).any()
    np.testing.assert_allclose(got, want, rtol=1e-13, equal_nan=True)


def test_no_windows_writes_nothing_and_one_window_is_one_sort():
    out = np.full((0, 2), -7.0)
    for entry in (k.ls_rows, k.ls_rows_parallel):
        entry(np.zeros((5, 2)), 1, 0, 0, out)  # no window: returns, no error
    data = np.array([[3.0], [1.0], [2.0]])
    np.testing.assert_allclose(run_both(data, 3, 1)[:1], reference_ls(data, 3, 1)[:1])


def test_size_two_windows():
    data = np.array([[1.0], [-1.0], [4.0], [4.0], [0.0]])
    # LS of two samples a <= b is (b - a) / 2
    np.testing.assert_array_equal(run_both(data, 2, 1)[:, 0], [1.0, 2.5, 0.0, 2.0])


def test_ls_sorted_matches_the_reference_on_a_known_window():
    s = np.array([1.0, 2.0, 3.0, 10.0])
    # b0 = 4, b1 = (0 + 2 + 6 + 30) / 12 = 19/6, LS = 19/3 - 4
    assert k.ls_sorted(s) == pytest.approx(19 / 3 - 4, rel=1e-15)
