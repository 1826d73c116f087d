"""The trajectory kernels (jumps, gap filling, Savitzky-Golay per run) equal their slow
references on random tables with NaN runs, missing frames, single-row and empty
segments, and hand-worked cases; the filter equals scipy's savgol_filter."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import savgol_filter

from moveo.kernels.trajectory import fill_gaps, flag_jumps, savgol_operator, savgol_runs
from reference import preprocessing as ref
from reference import tracking as tref


@given(table=tref.track_tables(), threshold=st.floats(0, 60), expand=st.integers(0, 4))
def test_flag_jumps_matches_reference(table, threshold, expand):
    got = flag_jumps(
        table["x"], table["y"], table["frames"], table["offsets"], threshold, expand=expand
    )
    want = ref.flag_jumps(
        table["x"], table["y"], table["frames"], table["offsets"], threshold, expand
    )
    np.testing.assert_array_equal(got, want)


@given(table=tref.track_tables(), max_gap=st.one_of(st.none(), st.integers(0, 6)))
def test_fill_gaps_matches_reference(table, max_gap):
    both = np.column_stack([table["x"], table["y"]])
    got = fill_gaps(both, table["frames"], table["offsets"], max_gap=max_gap)
    for j, col in enumerate(("x", "y")):
        want = ref.fill_gaps(table[col], table["frames"], table["offsets"], max_gap)
        np.testing.assert_allclose(got[:, j], want, rtol=1e-12, atol=1e-12)
    one = fill_gaps(table["x"], table["frames"], table["offsets"], max_gap=max_gap)
    np.testing.assert_array_equal(one, got[:, 0])


@given(
    table=tref.track_tables(max_rows=14, max_frame=16),
    window=st.integers(1, 7),
    data=st.data(),
)
def test_savgol_runs_matches_scipy_per_run(table, window, data):
    polyorder = data.draw(st.integers(0, window - 1))
    got = savgol_runs(table["x"], table["frames"], table["offsets"], window, polyorder)
    want = ref.savgol_runs(table["x"], table["frames"], table["offsets"], window, polyorder)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("window", "polyorder"), [(5, 2), (4, 2), (7, 3), (6, 1), (2, 1), (9, 4)])
def test_savgol_operator_is_scipys_filter(rng, window, polyorder):
    for n in (window, window + 1, 2 * window + 3, 200):
        x = rng.normal(size=n)
        got = savgol_runs(x, np.arange(n), np.array([0, n]), window, polyorder)
        np.testing.assert_allclose(
            got, savgol_filter(x, window, polyorder, mode="interp"), rtol=1e-12, atol=1e-12
        )
    stencil, before, left, right = savgol_operator(window, polyorder)
    assert stencil.shape == (window,) and left.shape == right.shape == (window // 2, window)
    assert before == (window - 1) // 2


def test_hand_worked():
    # a one-frame spike of 100 at frame 3: displacements 97 and 96 exceed 5
    x = np.array([0.0, 1.0, 2.0, 100.0, 4.0, 5.0, 6.0])
    frames = np.arange(7)
    one = np.array([0, 7])
    assert flag_jumps(x, np.zeros(7), frames, one, 5.0).tolist() == [0, 0, 0, 1, 1, 0, 0]
    assert flag_jumps(x, np.zeros(7), frames, one, 5.0, expand=1).tolist() == [0, 0, 1, 1, 1, 1, 0]
    # equal to the threshold is allowed; per frame: 10 px over 5 missing frames is 2/frame
    assert not flag_jumps(np.array([0.0, 2.0]), np.zeros(2), np.arange(2), [0, 2], 2.0).any()
    assert not flag_jumps(np.array([0.0, 10.0]), np.zeros(2), np.array([0, 5]), [0, 2], 2.0).any()
    # expansion counts frames: a jump at frame 10 reaches frame 8 and 12, not row 9 at frame 5
    f = np.array([0, 5, 10, 11, 12, 13])
    xs = np.array([0.0, 0.0, 50.0, 50.0, 50.0, 50.0])
    assert flag_jumps(xs, np.zeros(6), f, [0, 6], 1.0, expand=2).tolist() == [0, 0, 1, 1, 1, 0]
    # linear in frames across a missing frame; nearest value at both edges
    v = np.array([np.nan, 0.0, np.nan, 6.0, np.nan])
    got = fill_gaps(v, np.array([0, 1, 2, 4, 5]), [0, 5])
    np.testing.assert_allclose(got, [0.0, 0.0, 2.0, 6.0, 6.0])
    # max_gap: the inner gap spans frames 2..3 (2 frames) -> filled with max_gap=2 only
    assert np.isnan(fill_gaps(v, np.array([0, 1, 2, 4, 5]), [0, 5], max_gap=1)[2])
    assert fill_gaps(v, np.array([0, 1, 2, 4, 5]), [0, 5], max_gap=2)[2] == 2.0
    # two segments never borrow from each other; an all-NaN segment stays NaN
    w = np.array([1.0, np.nan, np.nan, np.nan, 7.0])
    out = fill_gaps(w, np.array([0, 1, 0, 0, 1]), [0, 2, 3, 5])
    np.testing.assert_allclose(out, [1.0, 1.0, np.nan, 7.0, 7.0])
    # the filter leaves a gap and the runs shorter than the window alone
    y = np.array([0.0, 1.0, 4.0, 9.0, 16.0, np.nan, 1.0, 2.0])
    out = savgol_runs(y, np.arange(8), [0, 8], 3, 1)
    np.testing.assert_allclose(out[:5], savgol_filter(y[:5], 3, 1, mode="interp"))
    assert np.isnan(out[5])
    np.testing.assert_array_equal(out[6:], [1.0, 2.0])


def test_empty_and_single_rows():
    empty = np.empty(0)
    none = np.zeros(0, dtype=np.int64)
    assert flag_jumps(empty, empty, none, [0], 1.0).shape == (0,)
    assert fill_gaps(empty, none, [0]).shape == (0,)
    assert savgol_runs(empty, none, [0], 3, 1).shape == (0,)
    one = np.array([np.nan])
    assert np.isnan(fill_gaps(one, np.array([4]), [0, 1])).all()
    assert savgol_runs(np.array([2.0]), np.array([4]), [0, 1], 3, 1).tolist() == [2.0]


def test_bad_arguments():
    x = np.zeros(3)
    frames = np.arange(3)
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        flag_jumps(x, x, frames, [0, 3], -1.0)
    with pytest.raises(ValueError, match="expand must be an integer >= 0"):
        flag_jumps(x, x, frames, [0, 3], 1.0, expand=-1)
    with pytest.raises(ValueError, match="max_gap must be None or an integer >= 0"):
        fill_gaps(x, frames, [0, 3], max_gap=-2)
    with pytest.raises(ValueError, match="frames must be strictly increasing"):
        fill_gaps(x, np.array([0, 2, 2]), [0, 3])
    with pytest.raises(ValueError, match="offsets must run from 0"):
        fill_gaps(x, frames, [0, 2])
    with pytest.raises(ValueError, match="savgol window must exceed the polynomial order"):
        savgol_runs(x, frames, [0, 3], 2, 2)
