"""Shared geometry kernels: run offsets vs a loop reference, wrap and rotate by hand."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from moveo._numba import jit
from moveo.kernels.geometry import rotate, run_offsets, wrap, wrap_array


def _offsets_reference(keys):
    out = [0]
    for i in range(1, len(keys)):
        if keys[i] != keys[i - 1]:
            out.append(i)
    if len(keys):
        out.append(len(keys))
    return out


@given(st.lists(st.integers(0, 4), max_size=40).map(sorted))
def test_run_offsets_matches_reference(keys):
    arr = np.array(keys, dtype=np.int64)
    assert run_offsets(arr).tolist() == _offsets_reference(keys)


def test_run_offsets_empty_and_single():
    assert run_offsets(np.empty(0, dtype=np.int64)).tolist() == [0]
    assert run_offsets(np.array([7], dtype=np.int64)).tolist() == [0, 1]


@jit
def _rotate_wrap(dx, dy, angle, d):
    rx, ry = rotate(dx, dy, angle)
    return rx, ry, wrap(d)


def test_rotate_and_wrap_hand_worked():
    # heading +y (pi/2): a point straight ahead (0, 1) is +x in the body frame
    rx, ry, w = _rotate_wrap(0.0, 1.0, math.pi / 2, 3 * math.pi / 2)
    assert abs(rx - 1.0) < 1e-12 and abs(ry) < 1e-12
    assert abs(w - (-math.pi / 2)) < 1e-12
    assert _rotate_wrap(1.0, 0.0, 0.0, -math.pi)[2] == math.pi  # -pi maps to +pi


@given(st.lists(st.floats(-1e6, 1e6) | st.just(math.nan) | st.just(math.inf), max_size=30))
def test_wrap_array_range_and_nan(values):
    a = np.array(values, dtype=np.float64)
    out = np.empty_like(a)
    wrap_array(a, out)
    finite = np.isfinite(a)
    assert np.all(np.isnan(out[~finite]))
    assert np.all((out[finite] > -math.pi) & (out[finite] <= math.pi))
    # same angle: the difference is a whole number of turns (up to rounding at 1e6)
    turns = (a[finite] - out[finite]) / (2 * math.pi)
    assert np.allclose(turns, np.round(turns), atol=1e-6)
