"""The shared kernel input checks: conversions, and one message shape for every argument."""

from __future__ import annotations

import numpy as np
import pytest

from moveo.kernels._checks import (
    as_float64_1d,
    as_int64_1d,
    as_matrix,
    check_offsets,
    positive_int,
)


def test_as_float64_1d_converts_and_keeps_views():
    a = np.arange(3, dtype=np.float64)
    assert as_float64_1d("x", a) is a
    assert as_float64_1d("x", [1, 2, 3], 3).dtype == np.float64
    with pytest.raises(TypeError, match="x must be a real numeric array"):
        as_float64_1d("x", np.array(["a"]))
    with pytest.raises(ValueError, match=r"y must be 1-D of length 2, got shape \(3,\)"):
        as_float64_1d("y", a, 2)
    with pytest.raises(ValueError, match=r"z must be 1-D, got shape \(1, 3\)"):
        as_float64_1d("z", a[None, :])


def test_as_int64_1d():
    assert as_int64_1d("ids", np.array([1, 2], dtype=np.int32)).dtype == np.int64
    with pytest.raises(TypeError, match="frames must be a 1-D integer array"):
        as_int64_1d("frames", np.array([1.5]))
    with pytest.raises(ValueError, match="ids must have length 3"):
        as_int64_1d("ids", np.array([1, 2]), 3)


def test_as_matrix_keeps_float32():
    assert as_matrix("x", np.ones((2, 2), np.float32)).dtype == np.float32
    assert as_matrix("x", np.ones((2, 2), np.int8)).dtype == np.float64
    with pytest.raises(ValueError, match="x must be a 2-D array"):
        as_matrix("x", np.ones(3))
    with pytest.raises(TypeError, match="x must hold real numbers"):
        as_matrix("x", np.ones((2, 2), np.complex128))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_positive_int_rejects(bad):
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        positive_int("size", bad)


def test_positive_int_accepts_numpy_integers():
    assert positive_int("k", np.int64(3)) == 3


def test_check_offsets():
    assert check_offsets(None, 4).tolist() == [0, 4]
    assert check_offsets([0, 2, 4], 4).dtype == np.int64
    with pytest.raises(ValueError, match="offsets must start at 0 and end at the number of rows"):
        check_offsets([0, 2], 4)
    with pytest.raises(ValueError, match="non-decreasing"):
        check_offsets([0, 3, 2, 4], 4)
