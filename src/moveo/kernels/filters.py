"""Stateful IIR filtering in second-order sections (direct form II transposed).

Per section ``(b0, b1, b2, 1, a1, a2)`` and sample ``x``::

    y  = b0 x + z0
    z0 = b1 x - a1 y + z1
    z1 = b2 x - a2 y

The state ``z`` has shape (n_sections, 2, n_channels) (the layout of
``scipy.signal.sosfilt``'s ``zi`` for ``axis=0``) and is kept in float64 whatever
the sample dtype, so filtering a signal chunk by chunk gives exactly the same
numbers as filtering it in one call.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = ["first_non_finite", "sosfilt_inplace"]


@jit
def first_non_finite(x):
    """Flat index (row-major) of the first NaN/inf in a 2-D array, or -1.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_channels)

    Returns
    -------
    int
    """
    n, n_ch = x.shape
    for i in range(n):
        for c in range(n_ch):
            v = x[i, c]
            if not np.isfinite(v):
                return i * n_ch + c
    return -1


@jit
def sosfilt_inplace(sos, state, x, out):
    """Filter ``x`` into ``out`` through every section, updating ``state``.

    Parameters
    ----------
    sos : ndarray of shape (n_sections, 6), float64
        Normalised sections (``a0 == 1``).
    state : ndarray of shape (n_sections, 2, n_channels), float64
        Filter state, updated in place.
    x : ndarray of shape (n_samples, n_channels), float32 or float64
        Input samples (any strides).
    out : ndarray of shape (n_samples, n_channels)
        Output (may be ``x`` itself).
    """
    n, n_ch = x.shape
    n_sec = sos.shape[0]
    v = np.empty(n_ch)
    for i in range(n):
        for c in range(n_ch):
            v[c] = x[i, c]
        for s in range(n_sec):
            b0 = sos[s, 0]
            b1 = sos[s, 1]
            b2 = sos[s, 2]
            a1 = sos[s, 4]
            a2 = sos[s, 5]
            z0 = state[s, 0]
            z1 = state[s, 1]
            for c in range(n_ch):
                xi = v[c]
                y = b0 * xi + z0[c]
                z0[c] = b1 * xi - a1 * y + z1[c]
                z1[c] = b2 * xi - a2 * y
                v[c] = y
        for c in range(n_ch):
            out[i, c] = v[c]


@register_warmup
def _warmup() -> None:
    sos = np.array([[1.0, 0.0, 0.0, 1.0, -0.5, 0.0]])
    for dtype in (np.float32, np.float64):
        x = np.ones((4, 2), dtype=dtype)
        state = np.zeros((1, 2, 2))
        sosfilt_inplace(sos, state, x, np.empty_like(x))
        sosfilt_inplace(sos, state, x[::-1], np.empty_like(x))
        first_non_finite(x)
        first_non_finite(x[::-1])
