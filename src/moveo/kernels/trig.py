"""Vectorisable sine and cosine of an array of angles (headings per row).

numba here has no SVML, so ``math.cos`` / ``math.sin`` are scalar libm calls, about
15-20 ns each; per-row headings (one ``cos`` and one ``sin`` per tracked row) are
then most of a collective-motion pass. :func:`sincos` is plain arithmetic that
vectorises (4 angles per AVX2 instruction):

* reduce ``θ = k·π/2 + r`` with ``|r| <= π/4`` (Cody and Waite: ``π/2`` split in
  three parts of 33 significant bits, so ``k·P1`` and ``k·P2`` are exact for
  ``|k| < 2^20``);
* ``sin r`` and ``cos r`` by their Taylor series to ``r^17`` and ``r^18`` (the
  first omitted terms are below 1e-19 on ``|r| <= π/4``, far below one ulp);
* the quadrant ``k mod 4`` picks ``±sin r`` / ``±cos r``.

Angles with ``|θ| > 1e6``, infinities and NaN are then recomputed with
``math.sin`` / ``math.cos`` in a second, scalar pass (NaN and ±inf give NaN, as
numpy does). Results are within 2 ulp of numpy's (tested with hypothesis in
``tests/unit/kernels/test_trig.py``). Compiled without ``reassoc`` (the split of
``π/2`` must not be re-associated).
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = ["cos_sin", "sincos"]

# pi/2 = _P1 + _P2 + _P3 (+ 1e-37): 33, 33 and 53 significant bits, from pi computed
# with Machin's formula in exact integer arithmetic (tests/unit/kernels/test_trig.py)
_P1 = 1.5707963267341256
_P2 = 6.077100506303966e-11
_P3 = 2.0222662487959506e-21
_TWO_OVER_PI = 0.6366197723675814
_LIMIT = 1.0e6  # |k| = |θ| / (π/2) < 2^20: k·_P1 and k·_P2 are exact
# Taylor coefficients: sin r = r + r z S(z), cos r = 1 - z/2 + z² C(z), z = r²
_S = tuple((-1.0) ** (j + 1) / math.factorial(2 * j + 3) for j in range(8))
_C = tuple((-1.0) ** j / math.factorial(2 * j + 4) for j in range(7))

_TRIG = {"fastmath": {"contract"}, "error_model": "numpy"}


@jit(inline="always", **_TRIG)
def _sincos_reduced(v):
    # (sin v, cos v) for finite |v| <= _LIMIT (any v: garbage, never NaN-checked here)
    k = math.floor(v * _TWO_OVER_PI + 0.5)
    r = ((v - k * _P1) - k * _P2) - k * _P3
    z = r * r
    ps = _S[7]
    ps = ps * z + _S[6]
    ps = ps * z + _S[5]
    ps = ps * z + _S[4]
    ps = ps * z + _S[3]
    ps = ps * z + _S[2]
    ps = ps * z + _S[1]
    ps = ps * z + _S[0]
    pc = _C[6]
    pc = pc * z + _C[5]
    pc = pc * z + _C[4]
    pc = pc * z + _C[3]
    pc = pc * z + _C[2]
    pc = pc * z + _C[1]
    pc = pc * z + _C[0]
    s = r + r * (z * ps)
    c = (1.0 - 0.5 * z) + (z * z) * pc
    # quadrant q = k mod 4 in floating point (exact: k is an integer below 2^21)
    q = k - 4.0 * math.floor(k * 0.25)
    sin_v = c if q == 1.0 else s
    sin_v = -s if q == 2.0 else sin_v
    sin_v = -c if q == 3.0 else sin_v
    cos_v = -s if q == 1.0 else c
    cos_v = -c if q == 2.0 else cos_v
    cos_v = s if q == 3.0 else cos_v
    sin_v = v if v == 0.0 else sin_v  # sin(-0) = -0
    return sin_v, cos_v


@jit(**_TRIG)
def sincos(angle, sin_out, cos_out):
    """``sin_out[i] = sin(angle[i])``, ``cos_out[i] = cos(angle[i])`` (as numpy).

    Parameters
    ----------
    angle : ndarray of shape (n,), float64
        Angles in radians; any values (NaN and ±inf give NaN).
    sin_out, cos_out : ndarray of shape (n,), float64
        Outputs (distinct from ``angle`` for the vectorised pass to apply).
    """
    n = angle.shape[0]
    for i in range(n):
        v = angle[i]
        # out-of-range lanes compute on 0 (no overflow in k) and are redone below
        w = v if abs(v) <= _LIMIT else 0.0
        s, c = _sincos_reduced(w)
        sin_out[i] = s
        cos_out[i] = c
    for i in range(n):
        v = angle[i]
        if not abs(v) <= _LIMIT:  # large, ±inf or NaN
            sin_out[i] = math.sin(v) if math.isfinite(v) else np.nan
            cos_out[i] = math.cos(v) if math.isfinite(v) else np.nan


def cos_sin(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(cos(angle), sin(angle))`` as new float64 arrays (:func:`sincos`).

    Parameters
    ----------
    angle : array_like
        Angles in radians, any shape.

    Returns
    -------
    tuple of numpy.ndarray
        Cosines and sines, each of ``angle``'s shape.
    """
    a = np.ascontiguousarray(angle, dtype=np.float64)
    flat = a.reshape(-1)
    c = np.empty_like(flat)
    s = np.empty_like(flat)
    sincos(flat, s, c)
    return c.reshape(a.shape), s.reshape(a.shape)


@register_warmup
def _warmup() -> None:
    a = np.linspace(-4.0, 4.0, 9)
    sincos(a, np.empty(9), np.empty(9))
