"""EMG windows are zero-copy read-only views that match a copying loop; window labels by
mode/last/first.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.emg import window_labels, windows


def test_windows_shape_and_values():
    data = np.arange(20.0).reshape(10, 2)
    w = windows(data, 4, 3)
    assert w.shape == (3, 2, 4)  # (10 - 4) // 3 + 1
    assert w[2, 1].tolist() == [13.0, 15.0, 17.0, 19.0]
    assert w[0, 0].tolist() == [0.0, 2.0, 4.0, 6.0]


def test_windows_is_a_read_only_view():
    data = np.random.default_rng(0).standard_normal((1000, 8)).astype(np.float32)
    w = windows(data, 200, 25)
    assert np.shares_memory(w, data)
    assert not w.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        w[0, 0, 0] = 1.0


def test_windows_fortran_layout_has_contiguous_samples():
    data = np.asfortranarray(np.random.default_rng(0).standard_normal((100, 3)))
    w = windows(data, 10, 5)
    assert w.strides[2] == data.itemsize
    np.testing.assert_array_equal(w[3, 2], data[15:25, 2])


def test_windows_too_short_gives_zero_windows():
    w = windows(np.zeros((5, 2)), 6, 1)
    assert w.shape == (0, 2, 6)


def test_trailing_partial_window_dropped():
    assert windows(np.zeros((11, 1)), 5, 3).shape[0] == 3  # starts 0, 3, 6; 9 would overrun


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": np.zeros(10), "size": 2, "increment": 1}, "shape \\(n_samples, n_channels\\)"),
        ({"data": np.zeros((10, 2)), "size": 0, "increment": 1}, "size must be >= 1"),
        ({"data": np.zeros((10, 2)), "size": 2, "increment": 0}, "increment must be >= 1"),
    ],
)
def test_windows_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        windows(**kwargs)


def test_windows_non_integer_size():
    with pytest.raises(TypeError, match="size must be an integer"):
        windows(np.zeros((10, 2)), 2.5, 1)


@given(
    n=st.integers(0, 60),
    n_ch=st.integers(1, 4),
    size=st.integers(1, 20),
    inc=st.integers(1, 25),
    fortran=st.booleans(),
)
def test_windows_match_copying_loop(n, n_ch, size, inc, fortran):
    data = np.arange(n * n_ch, dtype=np.float64).reshape(n, n_ch)
    if fortran:
        data = np.asfortranarray(data)
    w = windows(data, size, inc)
    expected = []
    start = 0
    while start + size <= n:
        expected.append(data[start : start + size].T.copy())
        start += inc
    assert w.shape == (len(expected), n_ch, size)
    if expected:
        np.testing.assert_array_equal(w, np.stack(expected))


def test_window_labels_modes():
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    assert window_labels(labels, 3, 3).tolist() == [0, 1, 2]
    assert window_labels(labels, 3, 3, how="last").tolist() == [1, 2, 2]
    assert window_labels(labels, 3, 3, how="first").tolist() == [0, 1, 2]
    # tie (one 0, one 1 ... two each) goes to the smallest label
    assert window_labels(np.array([5, 5, 3, 3]), 4, 1).tolist() == [3]


def test_window_labels_strings_and_errors():
    labels = np.array(["rest", "rest", "fist", "fist", "fist"])
    assert window_labels(labels, 3, 2).tolist() == ["rest", "fist"]
    with pytest.raises(ValueError, match="how must be"):
        window_labels(labels, 3, 2, how="median")
    with pytest.raises(ValueError, match="1-D"):
        window_labels(labels[:, None], 3, 2)
    assert window_labels(labels, 10, 1).shape == (0,)


@given(
    labels=st.lists(st.integers(-2, 3), min_size=0, max_size=60),
    size=st.integers(1, 12),
    inc=st.integers(1, 12),
)
def test_window_labels_mode_matches_counting(labels, size, inc):
    arr = np.array(labels, dtype=np.int64)
    got = window_labels(arr, size, inc)
    expected = []
    start = 0
    while start + size <= len(arr):
        vals, counts = np.unique(arr[start : start + size], return_counts=True)
        expected.append(vals[np.argmax(counts)])  # argmax: first (smallest) among ties
        start += inc
    assert got.tolist() == expected
