"""Small geometry and segment kernels shared by the other kernel modules.

* :func:`rotate` -- rotate a vector by ``-angle`` (the heading direction becomes +x);
* :func:`wrap` -- wrap an angle into (-pi, pi];
* :func:`run_offsets` -- offsets of the runs of equal values in a sorted key array.

``rotate`` and ``wrap`` are inlined into the kernels that call them. Kernel modules
import these instead of each other's private helpers.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup

__all__ = ["rotate", "run_offsets", "wrap", "wrap_array"]

_TWO_PI = 2.0 * math.pi
_INV_TWO_PI = 1.0 / _TWO_PI


@jit(inline="always")
def rotate(dx: float, dy: float, angle: float) -> tuple[float, float]:
    """Rotate ``(dx, dy)`` by ``-angle``: the direction ``angle`` becomes +x."""
    c = math.cos(angle)
    s = math.sin(angle)
    return c * dx + s * dy, -s * dx + c * dy


@jit(inline="always")
def wrap(d: float) -> float:
    """Wrap an angle into (-pi, pi]; NaN and +-inf give NaN."""
    # subtract the nearest whole number of turns, then map -pi to +pi; selects only
    # (no branches), so loops calling it vectorise. |d| < pi is returned unchanged.
    w = d - _TWO_PI * math.floor(d * _INV_TWO_PI + 0.5)
    w = math.pi if w <= -math.pi else w
    return w if math.isfinite(d) else np.nan


@jit(parallel=True)
def wrap_array(a: np.ndarray, out: np.ndarray) -> None:
    """Write ``wrap(a[i])`` to ``out[i]`` for every element."""
    for i in prange(a.shape[0]):
        out[i] = wrap(a[i])


@jit
def run_offsets(keys: np.ndarray) -> np.ndarray:
    """Return the offsets of the runs of equal values of ``keys``.

    Parameters
    ----------
    keys : numpy.ndarray
        1-D array; equal values must be adjacent (e.g. sorted ids).

    Returns
    -------
    numpy.ndarray
        int64 array ``[0, start_1, ..., n]`` of shape (n_runs + 1,); ``[0]`` for
        an empty input.
    """
    n = keys.shape[0]
    count = 1 if n > 0 else 0
    for i in range(1, n):
        if keys[i] != keys[i - 1]:
            count += 1
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    s = 1
    for i in range(1, n):
        if keys[i] != keys[i - 1]:
            offsets[s] = i
            s += 1
    offsets[count] = n
    return offsets


@register_warmup
def _warmup() -> None:
    run_offsets(np.array([1, 1, 2], dtype=np.int64))
    out = np.empty(2)
    wrap_array(np.array([4.0, -4.0]), out)
