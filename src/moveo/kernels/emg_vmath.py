"""Vectorisable ``log`` / ``exp`` for the EMG kernels (the TD-PSD logarithms and powers).

numba here has no SVML, so ``math.log`` / ``math.exp`` are scalar libm calls. The
TD-PSD features need one logarithm per sample and channel (``ln(x² + ε)``) and
about ten per channel; the array versions here (plain arithmetic on the IEEE bit
patterns, reinterpreted by an LLVM bitcast) vectorise across channels. Both are
within 2 ulp of numpy over the whole double range (tested with hypothesis in
``tests/unit/kernels/test_emg_vmath.py``), including subnormals, 0, inf and NaN.
They are compiled without ``reassoc`` (the hi/lo splits of ln 2 must not be
re-associated) and with numpy's error model (a division never raises).

* :func:`vlog` -- ``out[i] = log(x[i])``;
* :func:`vexp` -- ``out[i] = exp(y[i])``;
* :func:`log_square_eps` -- TD-PSD's nonlinear stage ``ln(x² + ε)`` of a window.
"""

from __future__ import annotations

import math

import numpy as np
from numba.core import types
from numba.extending import intrinsic

from moveo._numba import jit, register_warmup
from moveo.kernels.emg import TDPSD_EPS

__all__ = ["log_abs", "log_square_eps", "vexp", "vlog"]


_LN2_HI = 6.93147180369123816490e-01  # ln 2 with its low 32 bits cleared: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bit pattern of sqrt(1/2)
_MANTISSA = (1 << 52) - 1
_TWO54 = 18014398509481984.0
_MIN_NORMAL = 2.2250738585072014e-308
# log(1 + f) = 2 atanh(s) = 2 s (1 + z P(z)), s = f / (2 + f), z = s², with
# P(z) = 1/3 + z/5 + z²/7 + ... and |s| <= 0.1716 (z <= 0.02944) on the reduced range.
# P is the degree-6 Chebyshev economisation of its series on [0, 0.02944] (40 terms
# converted to Chebyshev form in exact rational arithmetic, truncated after T_6,
# converted back): |z (P - P_6)| <= 2^-57.5 over the range, a relative error of log
# below 0.03 ulp, with 7 coefficients where the truncated series needs 11.
_LOG_C = (
    0.3333333333333335,
    0.19999999999949503,
    0.14285714313086528,
    0.11111105553063523,
    0.0909144550252654,
    0.07665832399598134,
    0.07308546619458481,
)
# exp(r) = Σ r^j / j!, |r| <= ln(2) / 2: fourteen terms reach 2^-60.
_EXP_C = tuple(1.0 / math.factorial(j) for j in range(14))

_VMATH = {"fastmath": {"contract"}, "error_model": "numpy"}


@intrinsic
def _as_int64(typingctx, x):
    # the IEEE bit pattern of a float64 as an int64 (an LLVM bitcast: free, vectorises)
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@intrinsic
def _as_float64(typingctx, x):
    # the float64 whose IEEE bit pattern is the int64 x
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@jit(inline="always", **_VMATH)
def _log_normal(v):
    # log of a positive normal finite v: v = 2^k m with m in [sqrt(1/2), sqrt(2))
    b = _as_int64(v) - _SQRT_HALF_BITS
    k = np.float64(b >> 52)
    f = _as_float64((b & _MANTISSA) + _SQRT_HALF_BITS) - 1.0
    return _log_reduced(k, f)


@jit(inline="always", **_VMATH)
def _log_core(v):
    # any v: subnormals are scaled by 2^54 first; 0, negatives, inf and NaN by selects
    tiny = v < _MIN_NORMAL
    b = _as_int64(v * (_TWO54 if tiny else 1.0)) - _SQRT_HALF_BITS
    k = np.float64((b >> 52) - (54 if tiny else 0))
    f = _as_float64((b & _MANTISSA) + _SQRT_HALF_BITS) - 1.0
    r = _log_reduced(k, f)
    r = r if v > 0.0 else np.nan
    r = -np.inf if v == 0.0 else r
    return v if v == np.inf else r


@jit(inline="always", **_VMATH)
def _log_reduced(k, f):
    # k ln 2 + log(1 + f), |f| <= sqrt(2) - 1
    s = f / (2.0 + f)
    z = s * s
    p = _LOG_C[6]
    p = p * z + _LOG_C[5]
    p = p * z + _LOG_C[4]
    p = p * z + _LOG_C[3]
    p = p * z + _LOG_C[2]
    p = p * z + _LOG_C[1]
    p = p * z + _LOG_C[0]
    two_s = 2.0 * s
    # log x = k ln2 + 2s + 2s·z·p, ln 2 split so k·ln2 carries no rounding error
    return k * _LN2_HI + (two_s + (two_s * (z * p) + k * _LN2_LO))


@jit(**_VMATH)
def vlog(x, out):
    """Natural logarithm of every element: ``out[i] = log(x[i])`` (as ``numpy.log``).

    ``log(0) = -inf``, ``log(x < 0) = nan``, ``log(inf) = inf``, NaN stays NaN;
    subnormal inputs are exact to 2 ulp like every other input.

    Parameters
    ----------
    x : ndarray of shape (n,), float64, contiguous
    out : ndarray of shape (n,), float64, contiguous
        May be ``x`` itself (correct, but then not vectorised).
    """
    for i in range(x.shape[0]):
        out[i] = _log_core(x[i])


@jit(**_VMATH)
def log_square_eps(xt, y):
    """TD-PSD's nonlinear version of a window: ``y[i, c] = ln(xt[i, c]² + ε)``, ε = 2^-52.

    The logarithm is :func:`vlog`'s (same result) without its subnormal and
    non-positive cases: ``x² + ε >= 2^-52`` is normal; inf gives inf, NaN NaN.

    Parameters
    ----------
    xt : ndarray of shape (n, n_channels), float32 or float64
    y : ndarray of shape (>= n, n_channels), float64
        Rows ``0 .. n - 1`` are written.
    """
    for i in range(xt.shape[0]):
        for c in range(xt.shape[1]):
            v = np.float64(xt[i, c])
            v = v * v + TDPSD_EPS
            r = _log_normal(v)
            r = v if v == np.inf else r
            y[i, c] = np.nan if v != v else r


@jit(**_VMATH)
def log_abs(xt, y):
    """LD's logarithms of a window: ``y[i, c] = ln |xt[i, c]|`` (:func:`vlog`'s result).

    ``ln 0 = -inf``, ``ln inf = inf``, NaN stays NaN.

    Parameters
    ----------
    xt : ndarray of shape (n, n_channels), float32 or float64
    y : ndarray of shape (>= n, n_channels), float64
        Rows ``0 .. n - 1`` are written.
    """
    for i in range(xt.shape[0]):
        for c in range(xt.shape[1]):
            y[i, c] = _log_core(abs(np.float64(xt[i, c])))


@jit(**_VMATH)
def vexp(y, out):
    """Exponential of every element: ``out[i] = exp(y[i])`` (as ``numpy.exp``).

    Overflows to ``inf`` above ~709.78, gives subnormals and then 0 below ~-708.4,
    ``exp(-inf) = 0``, NaN stays NaN.

    Parameters
    ----------
    y : ndarray of shape (n,), float64, contiguous
    out : ndarray of shape (n,), float64, contiguous
        May be ``y`` itself (correct, but then not vectorised).
    """
    for i in range(y.shape[0]):
        v = y[i]
        v = 710.0 if v > 710.0 else v  # exp(710) overflows, exp(-746) underflows to 0
        v = -746.0 if v < -746.0 else v
        # y = k ln2 + r, |r| <= ln2 / 2
        k = math.floor(v * _INV_LN2 + 0.5)
        r = (v - k * _LN2_HI) - k * _LN2_LO
        p = _EXP_C[13]
        p = p * r + _EXP_C[12]
        p = p * r + _EXP_C[11]
        p = p * r + _EXP_C[10]
        p = p * r + _EXP_C[9]
        p = p * r + _EXP_C[8]
        p = p * r + _EXP_C[7]
        p = p * r + _EXP_C[6]
        p = p * r + _EXP_C[5]
        p = p * r + _EXP_C[4]
        p = p * r + _EXP_C[3]
        p = p * r + _EXP_C[2]
        p = p * r + _EXP_C[1]
        p = p * r + _EXP_C[0]
        # 2^k as 2^(k//2) · 2^(k - k//2): both factors normal for every k in [-1076, 1024]
        ki = np.int64(k) if k == k else 0  # NaN: p is NaN already
        half = ki >> 1
        out[i] = (p * _as_float64((half + 1023) << 52)) * _as_float64((ki - half + 1023) << 52)


@register_warmup
def _warmup() -> None:
    x = np.array([0.5, 2.0, 0.0, np.inf])
    out = np.empty_like(x)
    vlog(x, out)
    vexp(x, out)
    for dtype in (np.float64, np.float32):
        xt = np.ones((3, 2), dtype=dtype)
        log_square_eps(xt, np.empty((3, 2)))
