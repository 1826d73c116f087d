"""Rolling and window kernels vs the reference (hypothesis): segments, frame gaps, NaN, edges,
zero-copy views.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.windows import (
    ROLLING_STATS,
    rolling,
    segment_nanmedian,
    segment_offsets,
    strided_windows,
    window_bounds,
)
from reference import tracking as ref


@given(
    table=ref.track_tables(),
    size=st.integers(1, 6),
    center=st.booleans(),
    use_frames=st.booleans(),
    data=st.data(),
)
def test_rolling_matches_reference(table, size, center, use_frames, data):
    min_periods = data.draw(st.integers(1, size))
    positions = table["frames"] if use_frames else None
    out = rolling(
        table["x"],
        table["offsets"],
        size,
        stats=ROLLING_STATS,
        center=center,
        min_periods=min_periods,
        positions=positions,
    )
    assert list(out) == list(ROLLING_STATS)
    for stat in ROLLING_STATS:
        expected = ref.rolling(
            table["x"],
            table["offsets"],
            size,
            stat,
            center=center,
            min_periods=min_periods,
            positions=positions,
        )
        np.testing.assert_allclose(out[stat], expected, rtol=1e-9, atol=1e-7, err_msg=stat)


@given(table=ref.track_tables(max_ids=3, max_rows=8))
def test_segment_offsets_and_median_match_reference(table):
    np.testing.assert_array_equal(segment_offsets(table["ids"]), ref.segment_offsets(table["ids"]))
    np.testing.assert_allclose(
        segment_nanmedian(table["x"], table["offsets"]),
        ref.segment_nanmedian(table["x"], table["offsets"]),
    )


def test_hand_worked_trailing_and_centred():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(rolling(v, None, 2)["mean"], [1.0, 1.5, 2.5, 3.5])
    centred = rolling(v, None, 3, center=True, min_periods=3, stats=("mean", "sum"))
    np.testing.assert_allclose(centred["mean"], [np.nan, 2.0, 3.0, np.nan])
    np.testing.assert_allclose(centred["sum"], [np.nan, 6.0, 9.0, np.nan])
    # std of 1,2,3 (ddof=1) is 1; ddof=0 gives sqrt(2/3)
    np.testing.assert_allclose(rolling(v, None, 3, center=True, stats=("std",))["std"][1], 1.0)
    np.testing.assert_allclose(
        rolling(v, None, 3, center=True, stats=("std",), ddof=0)["std"][1], np.sqrt(2 / 3)
    )
    # even centred window reaches one frame further into the past: [i-2, i+1]
    assert window_bounds(4, center=True) == (2, 1)
    np.testing.assert_allclose(
        rolling(v, None, 4, center=True, stats=("sum",))["sum"], [3, 6, 10, 9]
    )


def test_windows_never_cross_segments_and_follow_frame_gaps():
    v = np.array([1.0, 2.0, 10.0, 20.0])
    out = rolling(v, np.array([0, 2, 4]), 2, stats=("mean", "max"))
    np.testing.assert_allclose(out["mean"], [1.0, 1.5, 10.0, 15.0])
    np.testing.assert_allclose(out["max"], [1.0, 2.0, 10.0, 20.0])
    # frames 0, 1, 5, 6: the trailing 3-frame window of frame 5 holds frames 3..5 only
    gap = rolling(np.array([1.0, 2.0, 3.0, 4.0]), None, 3, positions=np.array([0, 1, 5, 6]))
    np.testing.assert_allclose(gap["mean"], [1.0, 1.5, 3.0, 3.5])


def test_nan_is_skipped_and_all_nan_window_is_nan():
    v = np.array([np.nan, np.nan, 3.0, np.inf, 5.0])
    out = rolling(v, None, 2, stats=("mean", "min", "count"))
    np.testing.assert_allclose(out["mean"], [np.nan, np.nan, 3.0, 3.0, 5.0])
    np.testing.assert_allclose(out["min"], [np.nan, np.nan, 3.0, 3.0, 5.0])
    np.testing.assert_array_equal(out["count"], [0, 0, 1, 1, 1])


def test_empty_and_single_row():
    empty = rolling(np.empty(0), None, 3, stats=ROLLING_STATS)
    assert all(a.shape == (0,) for a in empty.values())
    one = rolling(np.array([7.0]), None, 3, stats=ROLLING_STATS, center=True)
    assert one["mean"][0] == 7.0 and one["max"][0] == 7.0 and np.isnan(one["std"][0])
    np.testing.assert_array_equal(segment_offsets(np.empty(0, dtype=np.int64)), [0])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"size": 0}, ValueError, "window size must be an integer >= 1"),
        (
            {"size": 2, "min_periods": 3},
            ValueError,
            "min_periods must be between 1 and the window size",
        ),
        ({"size": 2, "stats": ("median",)}, ValueError, "unknown rolling statistic"),
        ({"size": 2, "offsets": np.array([0, 2])}, ValueError, "offsets must be a 1-D array"),
        ({"size": 2, "positions": np.array([0, 2, 1])}, ValueError, "strictly increasing"),
        (
            {"size": 2, "values": np.array(["a", "b", "c"])},
            TypeError,
            "values must be real numbers",
        ),
    ],
)
def test_rolling_rejects_bad_arguments(kwargs, exc, match):
    args = {"values": np.array([1.0, 2.0, 3.0]), "offsets": None, **kwargs}
    values, offsets, size = args.pop("values"), args.pop("offsets"), args.pop("size")
    with pytest.raises(exc, match=match):
        rolling(values, offsets, size, **args)


def test_positions_may_restart_in_a_new_segment():
    out = rolling(np.array([1.0, 2.0, 3.0]), np.array([0, 2, 3]), 2, positions=np.array([5, 6, 0]))
    np.testing.assert_allclose(out["mean"], [1.0, 1.5, 3.0])


def test_strided_windows_are_zero_copy_read_only_views():
    x = np.arange(20.0).reshape(10, 2)
    w = strided_windows(x, 4, 3)
    assert w.shape == (3, 4, 2)
    assert np.shares_memory(w, x)
    assert not w.flags.writeable
    for i in range(3):
        np.testing.assert_array_equal(w[i], x[3 * i : 3 * i + 4])
    with pytest.raises(ValueError, match="read-only"):
        w[0, 0, 0] = 1.0
    assert strided_windows(np.arange(3.0), 5).shape == (0, 5)
    with pytest.raises(ValueError, match="step must be an integer >= 1"):
        strided_windows(x, 2, 0)


@given(n=st.integers(0, 30), size=st.integers(1, 8), step=st.integers(1, 5))
def test_strided_windows_match_slicing(n, size, step):
    x = np.arange(float(n))
    w = strided_windows(x, size, step)
    expected = [x[s : s + size] for s in range(0, n - size + 1, step)]
    assert w.shape == (len(expected), size)
    for got, exp in zip(w, expected, strict=True):
        np.testing.assert_array_equal(got, exp)
