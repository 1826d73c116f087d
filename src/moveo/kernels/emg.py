"""EMG feature kernels over windows of shape (n_windows, n_channels, size).

Features come in two families, each with its own small entry points so a call
compiles (and runs) only what its features need:

* *one-pass* features (:data:`FAST_IDS`: MAV, RMS, WL, ZC, SSC, TD-PSD, ...) are
  running sums over the samples: :func:`fast_windows` /
  :func:`fast_windows_parallel` read the input windows in place (any dtype and
  strides), channels innermost so the loop vectorises across channels;
* *whole-window* features (spectral, wavelet, AR/CC, entropy, sorting, ...) run
  on float64 copies: :func:`copy_windows` converts a block of windows (compiled
  per input type, tiny), then :func:`slow_windows` / :func:`slow_windows_parallel`
  compute them. Those only ever see float64 C-ordered arrays, so the big kernel is
  compiled exactly once whatever the callers' layouts and dtypes.

The realtime path (:meth:`moveo.emg.FeaturePlan.window`) calls
:func:`fast_window` on one channel-contiguous window (``buffer[-size:].T``) when
the plan is one-pass only, and otherwise the same kernels as above on one
window with a leading axis (``win[None]``). Every path computes a window with
the same ``_fast_one`` code, so realtime and offline features are the same
numbers. Loops over windows are serial or ``prange`` (each iteration writing
only its own output row).

One-pass loops run across channels in SIMD lanes and :data:`STEP` samples at a
time, keeping each channel's running sums in registers; the TD-PSD logarithms
and powers use :func:`vlog` / :func:`vexp`, array versions of ``log`` / ``exp``
that vectorise (numba here has no vector math library, so ``math.log`` is a
scalar call).

The *plan* arrays describe what to compute (built and validated once by
:mod:`moveo.emg`):

``codes`` (F,) int64
    Feature ids (the ``ID_*`` constants below).
``ipar`` (F, 2) int64 / ``fpar`` (F, 3) float64
    Per-feature integer / float parameters (see each ``_f_*`` function).
``offs`` (F,) int64 / ``ncol`` (F,) int64
    Feature ``f`` writes channel ``c``, column ``k`` to
    ``out[offs[f] + c * ncol[f] + k]``.
``bands`` (B, 2) int64
    DFTR bins ``[lo, hi)`` per band.
``df`` float
    Frequency resolution ``fs / size``.
``wre, wim, factors``
    FFT plan (:func:`moveo.kernels.emg_spectral.fft_plan`); empty if no spectral feature.
``dec_lo, dec_hi, dwt_len, dwt_off``
    DWT filters and layout (:mod:`moveo.kernels.emg_wavelet`); level 0 if no wavelet feature.

Conventions (documented per feature): every sum is accumulated in float64, so
float32 and float64 input give float64 output. A channel whose window holds a
NaN gets NaN for every feature. Ratios ``0 / 0`` are defined as 0, ``log(0)``
as ``-inf``, ``a / 0`` (``a > 0``) as ``+inf`` — never a floating-point warning.
Features of a window that is exactly constant are defined explicitly
(variances, correlations, skewness... are 0).

Layouts: one-pass features are fastest on channel-contiguous windows
(``windows(data)`` of C-ordered ``(n_samples, n_channels)`` data, or
``buffer[-size:].T``); other windows are transposed into a float64 scratch
first. Whole-window features copy each window once, reading the input in its
memory order, so any layout works.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numba.core import types
from numba.extending import intrinsic

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.emg_entropy import fuzzy_entropy, sample_entropy
from moveo.kernels.emg_spectral import (
    fft_plan,
    mean_frequency,
    median_frequency,
    power_spectra,
    spectral_moment,
)
from moveo.kernels.emg_wavelet import dwt_layout, sym8_filters, wavedec_into

__all__ = [
    "FAST_IDS",
    "FEATURE_IDS",
    "STEP",
    "copy_windows",
    "fast_rows",
    "fast_rows_parallel",
    "fast_window",
    "fast_windows",
    "fast_windows_parallel",
    "sample_major_view",
    "slow_windows",
    "slow_windows_parallel",
    "sums_kind",
    "vexp",
    "vlog",
    "window_mode",
]

# feature ids (numba reads module globals as compile-time constants)
ID_MAV, ID_IAV, ID_RMS, ID_VAR, ID_MEAN, ID_MPK, ID_LD, ID_TM = 0, 1, 2, 3, 4, 5, 6, 7
ID_ISD, ID_MLK, ID_MSR, ID_LS = 8, 9, 10, 11
ID_WL, ID_MFL, ID_MAVFD, ID_DASDV, ID_MDIFF, ID_MZP, ID_COR = 12, 13, 14, 15, 16, 17, 18
ID_WAMP, ID_SSC, ID_ZC, ID_MAVSLP = 19, 20, 21, 22
ID_ACT, ID_MOB, ID_COMP = 23, 24, 25
ID_M0, ID_M2, ID_M4, ID_SPARSI, ID_IRF, ID_WLF = 26, 27, 28, 29, 30, 31
ID_AR, ID_CC = 32, 33
ID_MNF, ID_MDF, ID_MNP, ID_SM, ID_PAP, ID_DFTR = 34, 35, 36, 37, 38, 39
ID_SKEW, ID_KURT = 40, 41
ID_SAMPEN, ID_FUZZYEN = 42, 43
ID_RMSPHASOR, ID_WLPHASOR = 44, 45
ID_WENG, ID_WV, ID_WWL, ID_WENT = 46, 47, 48, 49

FEATURE_IDS: dict[str, int] = {
    name[3:]: value for name, value in globals().items() if name.startswith("ID_")
}
"""Feature code -> kernel id."""

SPECTRAL_IDS = frozenset({ID_MNF, ID_MDF, ID_MNP, ID_SM, ID_PAP, ID_DFTR})
WAVELET_IDS = frozenset({ID_WENG, ID_WV, ID_WWL, ID_WENT})
CROSS_CHANNEL_IDS = frozenset({ID_RMSPHASOR, ID_WLPHASOR})

TDPSD_LAMBDA = 0.1
"""Power normalisation exponent of the TD-PSD moments (``m̃ = m^λ / λ``)."""
TDPSD_EPS = 2.0**-52
"""ε of the TD-PSD nonlinear stage ``ln(x² + ε)`` (``numpy.spacing(1.0)``, as LibEMG)."""
MLK_EPS = 2.0**-52
"""ε of MLK, ``ln(Σ|x| + ε) / N`` (as LibEMG)."""


# --------------------------------------------------------------------------- helpers


@jit
def _log(v):
    # log with log(0) = -inf and no floating-point trap
    if v > 0.0:
        return math.log(v)
    if v == 0.0:
        return -np.inf
    return np.nan


@jit
def _ratio(num, den):
    # num / den with 0 / 0 = 0 and a / 0 = ±inf
    if den != 0.0:
        return num / den
    if num == 0.0:
        return 0.0
    return np.inf if num > 0.0 else -np.inf


@jit
def _is_constant(x, n):
    v = x[0]
    for i in range(1, n):  # noqa: SIM110 - a plain loop compiles to the tightest numba code
        if x[i] != v:
            return False
    return True


@jit
def _central_moment2(x, n):
    # population variance, exactly 0 for an exactly constant array
    if n < 1 or _is_constant(x, n):
        return 0.0
    m = 0.0
    for i in range(n):
        m += x[i]
    m /= n
    acc = 0.0
    for i in range(n):
        d = x[i] - m
        acc += d * d
    return acc / n


# --------------------------------------------------------------------------- amplitude


@jit
def _f_mav(x):
    """MAV = (1/N) Σ |x_i|."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += abs(x[i])
    return acc / x.shape[0]


@jit
def _f_iav(x):
    """IAV = Σ |x_i|."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += abs(x[i])
    return acc


@jit
def _f_rms(x):
    """RMS = sqrt((1/N) Σ x_i²)."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * x[i]
    return math.sqrt(acc / x.shape[0])


@jit
def _f_var(x):
    """VAR = (1/(N-1)) Σ x_i² (variance of a zero-mean EMG; N >= 2)."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * x[i]
    return acc / (x.shape[0] - 1)


@jit
def _f_mean(x):
    """MEAN = (1/N) Σ x_i."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i]
    return acc / x.shape[0]


@jit
def _f_ld(x):
    """LD = exp((1/N) Σ ln |x_i|) (log detector; 0 if any sample is 0)."""
    acc = 0.0
    for i in range(x.shape[0]):
        a = abs(x[i])
        if a == 0.0:
            return 0.0
        acc += math.log(a)
    return math.exp(acc / x.shape[0])


@jit
def _f_tm(x, order):
    """TM = |(1/N) Σ x_i^order| (absolute temporal moment of order ``order``)."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] ** order
    return abs(acc / x.shape[0])


@jit
def _f_msr(x):
    """MSR = (1/N) Σ sqrt(|x_i|)."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += math.sqrt(abs(x[i]))
    return acc / x.shape[0]


@jit
def _f_ls(x, tmp):
    """LS = 2 b1 - b0, the second sample L-moment (N >= 2).

    With the window sorted ascending ``x_(0) <= ... <= x_(N-1)``:
    ``b0 = (1/N) Σ x_(i)`` and ``b1 = (1/N) Σ i / (N - 1) · x_(i)``.
    """
    n = x.shape[0]
    for i in range(n):
        tmp[i] = x[i]
    s = tmp[:n]
    s.sort()  # in place: no allocation per channel
    b0 = 0.0
    b1 = 0.0
    for i in range(n):
        b0 += s[i]
        b1 += i * s[i]
    b0 /= n
    b1 /= n * (n - 1.0)
    return 2.0 * b1 - b0


# --------------------------------------------------------------------------- difference


@jit
def _f_wl(x):
    """WL = Σ_{i=0}^{N-2} |x_{i+1} - x_i|."""
    acc = 0.0
    for i in range(x.shape[0] - 1):
        acc += abs(x[i + 1] - x[i])
    return acc


@jit
def _sum_sq_diff(x):
    acc = 0.0
    for i in range(x.shape[0] - 1):
        d = x[i + 1] - x[i]
        acc += d * d
    return acc


@jit
def _f_mfl(x):
    """MFL = log10(sqrt(Σ (x_{i+1} - x_i)²)) (-inf for a constant window)."""
    s = _sum_sq_diff(x)
    if s == 0.0:
        return -np.inf
    return math.log10(math.sqrt(s))


@jit
def _f_mavfd(x):
    """MAVFD = (1/(N-1)) Σ |x_{i+1} - x_i| (N >= 2)."""
    return _f_wl(x) / (x.shape[0] - 1)


@jit
def _f_dasdv(x):
    """DASDV = sqrt((1/(N-1)) Σ (x_{i+1} - x_i)²) (N >= 2)."""
    return math.sqrt(_sum_sq_diff(x) / (x.shape[0] - 1))


@jit
def _f_wamp(x, threshold):
    """WAMP = #{i : |x_{i+1} - x_i| > threshold} (Willison amplitude)."""
    c = 0
    for i in range(x.shape[0] - 1):
        if abs(x[i + 1] - x[i]) > threshold:
            c += 1
    return float(c)


@jit
def _f_ssc(x, threshold):
    """SSC = #{1 <= i <= N-2 : (x_i - x_{i-1}) (x_i - x_{i+1}) > threshold}."""
    c = 0
    for i in range(1, x.shape[0] - 1):
        if (x[i] - x[i - 1]) * (x[i] - x[i + 1]) > threshold:
            c += 1
    return float(c)


@jit
def _f_zc(x, threshold):
    """ZC: sign changes between consecutive *non-zero* samples a, b with |a - b| > threshold.

    Exact zeros are skipped, so ``1, 0, -1`` is one crossing and ``1, 0, 1`` none.
    """
    c = 0
    prev = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        if v == 0.0:
            continue
        if prev != 0.0 and (v > 0.0) != (prev > 0.0) and abs(v - prev) > threshold:
            c += 1
        prev = v
    return float(c)


@jit
def _f_mavslp(x, segments, out, base):
    """MAVSLP_k = MAV(segment k+1) - MAV(segment k), k = 0 .. segments-2.

    Segment ``k`` holds samples ``[k N // S, (k+1) N // S)``.
    """
    n = x.shape[0]
    prev = 0.0
    for k in range(segments):
        lo = k * n // segments
        hi = (k + 1) * n // segments
        acc = 0.0
        for i in range(lo, hi):
            acc += abs(x[i])
        cur = acc / (hi - lo)
        if k > 0:
            out[base + k - 1] = cur - prev
        prev = cur


# --------------------------------------------------------------------------- Hjorth


@jit
def _diffs(x, dx, ddx):
    n = x.shape[0]
    for i in range(n - 1):
        dx[i] = x[i + 1] - x[i]
    for i in range(n - 2):
        ddx[i] = dx[i + 1] - dx[i]


@jit
def _f_act(x):
    """ACT = (1/N) Σ (x_i - x̄)² (Hjorth activity)."""
    return _central_moment2(x, x.shape[0])


@jit
def _f_mob(x, dx):
    """MOB = sqrt(var(Δx) / var(x)) (Hjorth mobility; 0 if constant; N >= 2)."""
    n = x.shape[0]
    for i in range(n - 1):
        dx[i] = x[i + 1] - x[i]
    return math.sqrt(_ratio(_central_moment2(dx, n - 1), _central_moment2(x, n)))


@jit
def _f_comp(x, dx, ddx):
    """COMP = MOB(Δx) / MOB(x) (Hjorth complexity; 0/0 = 0; N >= 3)."""
    n = x.shape[0]
    _diffs(x, dx, ddx)
    v0 = _central_moment2(x, n)
    v1 = _central_moment2(dx, n - 1)
    v2 = _central_moment2(ddx, n - 2)
    mob_x = math.sqrt(_ratio(v1, v0))
    mob_dx = math.sqrt(_ratio(v2, v1))
    return _ratio(mob_dx, mob_x)


# --------------------------------------------------------------------------- AR / CC


@jit
def _ar_coefficients(x, order, r, a, tmp):
    """Levinson-Durbin AR(order) fit: a[0..order-1] with x_n ≈ Σ_k a_k x_{n-k}.

    Autocorrelation method (biased ``r_k = Σ_i x_i x_{i+k}``). An all-zero
    window gives zeros; if the prediction error reaches 0 the remaining
    coefficients stay 0.
    """
    n = x.shape[0]
    for k in range(order + 1):
        acc = 0.0
        for i in range(n - k):
            acc += x[i] * x[i + k]
        r[k] = acc
    for k in range(order):
        a[k] = 0.0
    err = r[0]
    if not err > 0.0:
        return
    for i in range(1, order + 1):
        acc = r[i]
        for j in range(1, i):
            acc -= a[j - 1] * r[i - j]
        k = acc / err
        for j in range(1, i):
            tmp[j - 1] = a[j - 1] - k * a[i - j - 1]
        for j in range(1, i):
            a[j - 1] = tmp[j - 1]
        a[i - 1] = k
        err *= 1.0 - k * k
        if not err > 0.0:
            return


@jit
def _cepstrum(a, order, c):
    """Cepstral coefficients of 1 / A(z), A(z) = 1 - Σ a_k z^-k.

    ``c_1 = a_1``, ``c_n = a_n + Σ_{k=1}^{n-1} (k / n) c_k a_{n-k}``.
    """
    for m in range(1, order + 1):
        acc = a[m - 1]
        for k in range(1, m):
            acc += (k / m) * c[k - 1] * a[m - k - 1]
        c[m - 1] = acc


# --------------------------------------------------------------------------- statistics


@jit
def _f_skew_kurt(x, code):
    """SKEW = m3 / m2^1.5, KURT = m4 / m2² (Pearson; population central moments; 0 if constant)."""
    n = x.shape[0]
    if _is_constant(x, n):
        return 0.0
    m = 0.0
    for i in range(n):
        m += x[i]
    m /= n
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    for i in range(n):
        d = x[i] - m
        d2 = d * d
        m2 += d2
        m3 += d2 * d
        m4 += d2 * d2
    m2 /= n
    m3 /= n
    m4 /= n
    if code == ID_SKEW:
        return m3 / m2**1.5
    return m4 / (m2 * m2)


# --------------------------------------------------------------------------- wavelet


@jit
def _f_wavelet(coefs, dwt_len, dwt_off, level, code, out, base):
    """Wavelet band features over ``pywt.wavedec`` order: k = 0 is cA_L, k = j is cD_{L-j+1}.

    ``WENG_k = Σ c²``, ``WV_k = (1/n) Σ (c - c̄)²``, ``WWL_k = Σ |c_{i+1} - c_i|``,
    ``WENT = -Σ_k p_k ln p_k`` with ``p_k = WENG_k / Σ WENG`` (0 if no energy).
    """
    total = 0.0
    went = 0.0
    for k in range(level + 1):
        if k == 0:
            start = dwt_off[level]
            length = dwt_len[level]
        else:
            lev = level - k + 1
            start = dwt_off[lev] + dwt_len[lev]
            length = dwt_len[lev]
        band = coefs[start : start + length]
        if code in (ID_WENG, ID_WENT):
            e = 0.0
            for i in range(length):
                e += band[i] * band[i]
            if code == ID_WENG:
                out[base + k] = e
            else:
                total += e
        elif code == ID_WV:
            out[base + k] = _central_moment2(band, length)
        else:
            out[base + k] = _f_wl(band)
    if code == ID_WENT and total > 0.0:
        for k in range(level + 1):
            if k == 0:
                start = dwt_off[level]
                length = dwt_len[level]
            else:
                lev = level - k + 1
                start = dwt_off[lev] + dwt_len[lev]
                length = dwt_len[lev]
            e = 0.0
            for i in range(length):
                e += coefs[start + i] * coefs[start + i]
            p = e / total
            if p > 0.0:
                went -= p * math.log(p)
    if code == ID_WENT:
        out[base] = went


# --------------------------------------------------------------------------- vectorisable log / exp
# numba has no SVML here, so math.log / math.exp are scalar libm calls. The TD-PSD
# features need one per sample and channel (ln(x² + ε)) and about ten per channel;
# these array versions (plain arithmetic on the IEEE bit patterns, reinterpreted by
# an LLVM bitcast) vectorise across channels. Both are within 2 ulp of numpy over
# the whole double range (tested with hypothesis in tests/unit/emg/test_vmath.py),
# including subnormals, 0, inf and NaN.
# They are compiled without ``reassoc`` (the hi/lo splits of ln 2 must not be
# re-associated) and with numpy's error model (a division never raises).

_LN2_HI = 6.93147180369123816490e-01  # ln 2 with its low 32 bits cleared: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bit pattern of sqrt(1/2)
_MANTISSA = (1 << 52) - 1
_TWO54 = 18014398509481984.0
_MIN_NORMAL = 2.2250738585072014e-308
# log(1 + f) = 2 atanh(s) = 2 s (1 + z/3 + z²/5 + ...), s = f / (2 + f), z = s²;
# |s| <= 0.1716 on the reduced range, so eleven terms reach 2^-60.
_LOG_C = tuple(1.0 / (2 * j + 1) for j in range(1, 12))
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
    p = _LOG_C[10]
    p = p * z + _LOG_C[9]
    p = p * z + _LOG_C[8]
    p = p * z + _LOG_C[7]
    p = p * z + _LOG_C[6]
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


# --------------------------------------------------------------------------- one-pass features

# Rows of the per-window state ``st`` (float64, (N_STATE, n_channels)): the fused
# one-pass sums (see _sums_rows), then derived rows. S_SQ, S_SQ_D, S_SQ_DD are
# adjacent and so are T_HLOG.. and T_M0.., so the TD-PSD moments are one vlog + one
# vexp call over 3 n_channels values.
S_ABS, S_SUM, S_PEAK, S_ABS_D, S_ABS_DD, S_SQ, S_SQ_D, S_SQ_DD = range(8)
# S_PEAK is the signed maximum max x (MPK). ZC / SSC / WAMP counts, kept as float64
# (exact below 2^53 samples; a masked add per step instead of a mask-to-integer
# conversion), and min |x| (0 iff the window holds an exact zero: then ZC is
# recounted, see _zc_exact)
S_ZC, S_SSC, S_WAMP, S_MIN_ABS = 8, 9, 10, 11
N_SUMS = 12
# TD-PSD of one stage (computed once per window from the sums, see _tdpsd_rows):
# λ · ln of m0, m2, m4 (= ln m̃ + ln λ), then m̃0, m̃2, m̃4
T_HLOG = N_SUMS
T_M0, T_M2, T_M4 = N_SUMS + 3, N_SUMS + 4, N_SUMS + 5
# the arguments of the six logarithms (m̃0, |m̃0 - m̃2|, |m̃0 - m̃4|,
# m̃0 / sqrt(|m̃0 - m̃2| |m̃0 - m̃4|), m̃2 / sqrt(m̃0 m̃4), Σ|Δw| / Σ|Δ²w|), then their
# logarithms (one vlog call): the stage's log-moment values of M0 .. WLF, in id order
T_ARG = N_SUMS + 6
L_M0 = T_ARG + 6
# scratch rows of the per-feature loops
T_TMP = L_M0 + 6
N_TMP = 3
N_STATE = T_TMP + N_TMP

# Loop kinds: each computes a superset of the sums its features read (see sums_kind).
KIND_FULL, KIND_AMP, KIND_HTD, KIND_TDPSD = 0, 1, 2, 3

STEP = 2
"""Samples per step of the one-pass loops: each channel's running sums stay in
registers for ``STEP`` samples (one load/store of the state per step, not per
sample). 2 is as fast as 4 for the lean loops and keeps the twelve sums of the
full loop in vector registers; every loop kind uses the same step, so the sums
are added in the same pattern whichever kind runs."""
FAST_IDS = frozenset(
    {ID_MAV, ID_IAV, ID_RMS, ID_VAR, ID_MEAN, ID_MPK, ID_ISD, ID_MLK}
    | set(range(ID_WL, ID_COR + 1))
    | {ID_WAMP, ID_SSC, ID_ZC}
    | set(range(ID_M0, ID_WLF + 1))
    | CROSS_CHANNEL_IDS
)
"""Features computed from one pass of running sums (no per-window copy)."""

_SUMS_OF: dict[int, tuple[int, ...]] = {
    ID_MAV: (S_ABS,),
    ID_IAV: (S_ABS,),
    ID_RMS: (S_SQ,),
    ID_VAR: (S_SQ,),
    ID_ISD: (S_SQ,),
    ID_MLK: (S_ABS,),
    ID_RMSPHASOR: (S_SQ, S_SQ_D),
    ID_MEAN: (S_SUM,),
    ID_MPK: (S_PEAK,),
    ID_WL: (S_ABS_D,),
    ID_MAVFD: (S_ABS_D,),
    ID_WLPHASOR: (S_ABS_D, S_ABS_DD),
    ID_MFL: (S_SQ_D,),
    ID_DASDV: (S_SQ_D,),
    ID_MZP: (S_SQ_D,),
    ID_MDIFF: (S_SQ_D,),
    ID_COR: (S_SQ, S_SQ_D, S_SQ_DD),
    ID_WAMP: (S_WAMP,),
    ID_SSC: (S_SSC,),
    ID_ZC: (S_ZC,),
    ID_WLF: (S_ABS_D, S_ABS_DD),
    **{code: (S_SQ, S_SQ_D, S_SQ_DD) for code in (ID_M0, ID_M2, ID_M4, ID_SPARSI, ID_IRF)},
}

_KIND_SUMS = {
    KIND_AMP: frozenset({S_ABS, S_SQ, S_SUM, S_PEAK}),
    KIND_HTD: frozenset({S_ABS, S_ABS_D, S_ZC, S_SSC}),
    KIND_TDPSD: frozenset({S_SQ, S_ABS_D, S_SQ_D, S_ABS_DD, S_SQ_DD}),
}


def sums_kind(ids: Iterable[int]) -> int:
    """Return the leanest loop kind that computes every sum the fast features ``ids`` read.

    Parameters
    ----------
    ids : iterable of int
        Fast feature ids.

    Returns
    -------
    int
        One of ``KIND_AMP``, ``KIND_HTD``, ``KIND_TDPSD`` or ``KIND_FULL``.
    """
    need: set[int] = set()
    for code in ids:
        need.update(_SUMS_OF[int(code)])
    for kind in (KIND_AMP, KIND_HTD, KIND_TDPSD):
        if need <= _KIND_SUMS[kind]:
            return kind
    return KIND_FULL


@jit
def _nan_row(kind):
    # a sum every kind computes that is NaN exactly when the window holds a NaN
    # (Σx² and Σ|x| never turn NaN from finite or infinite samples)
    return S_SQ if kind == KIND_TDPSD else S_ABS


@jit(inline="always")
def _steps_amp(xt, i0, steps, st):
    for c in range(xt.shape[1]):
        s_abs = st[S_ABS, c]
        s_sq = st[S_SQ, c]
        s_sum = st[S_SUM, c]
        peak = st[S_PEAK, c]
        for j in range(steps):
            v = np.float64(xt[i0 + j, c])
            s_abs += abs(v)
            s_sq += v * v
            s_sum += v
            peak = max(peak, v)
        st[S_ABS, c] = s_abs
        st[S_SQ, c] = s_sq
        st[S_SUM, c] = s_sum
        st[S_PEAK, c] = peak


@jit(inline="always")
def _steps_htd(xt, i0, steps, thr_zc, thr_ssc, st, zc_threshold):
    # zc_threshold is a constant at each call site: with thr_zc = 0 the |Δx| > 0 test
    # is implied by a sign change (v > 0 >= p gives v - p >= v > 0), so it is dropped
    neg_thr_ssc = -thr_ssc
    for c in range(xt.shape[1]):
        s_abs = st[S_ABS, c]
        s_abs_d = st[S_ABS_D, c]
        n_zc = st[S_ZC, c]
        n_ssc = st[S_SSC, c]
        min_abs = st[S_MIN_ABS, c]
        p = np.float64(xt[i0 - 1, c])
        pd = p - np.float64(xt[i0 - 2, c])
        for j in range(steps):
            v = np.float64(xt[i0 + j, c])
            d = v - p
            s_abs += abs(v)
            s_abs_d += abs(d)
            min_abs = min(min_abs, abs(v))
            # SSC at sample i-1: (x[i-1] - x[i-2]) (x[i-1] - x[i]) = pd · (-d) > thr,
            # i.e. pd · d < -thr (IEEE negation is exact)
            n_ssc += 1.0 if pd * d < neg_thr_ssc else 0.0
            crossing = (v > 0.0) != (p > 0.0)
            if zc_threshold:
                crossing = crossing & (abs(d) > thr_zc)
            n_zc += 1.0 if crossing else 0.0
            pd = d
            p = v
        st[S_ABS, c] = s_abs
        st[S_ABS_D, c] = s_abs_d
        st[S_ZC, c] = n_zc
        st[S_SSC, c] = n_ssc
        st[S_MIN_ABS, c] = min_abs


@jit(inline="always")
def _steps_tdpsd(xt, i0, steps, st):
    for c in range(xt.shape[1]):
        s_sq = st[S_SQ, c]
        s_abs_d = st[S_ABS_D, c]
        s_sq_d = st[S_SQ_D, c]
        s_abs_dd = st[S_ABS_DD, c]
        s_sq_dd = st[S_SQ_DD, c]
        pp = np.float64(xt[i0 - 2, c])
        p = np.float64(xt[i0 - 1, c])
        for j in range(steps):
            v = np.float64(xt[i0 + j, c])
            d = v - p
            dd = d - (p - pp)
            s_sq += v * v
            s_abs_d += abs(d)
            s_sq_d += d * d
            s_abs_dd += abs(dd)
            s_sq_dd += dd * dd
            pp = p
            p = v
        st[S_SQ, c] = s_sq
        st[S_ABS_D, c] = s_abs_d
        st[S_SQ_D, c] = s_sq_d
        st[S_ABS_DD, c] = s_abs_dd
        st[S_SQ_DD, c] = s_sq_dd


@jit(inline="always")
def _steps_full(xt, i0, steps, thr_zc, thr_ssc, thr_wamp, st):
    neg_thr_ssc = -thr_ssc
    for c in range(xt.shape[1]):
        s_abs = st[S_ABS, c]
        s_sq = st[S_SQ, c]
        s_sum = st[S_SUM, c]
        peak = st[S_PEAK, c]
        s_abs_d = st[S_ABS_D, c]
        s_sq_d = st[S_SQ_D, c]
        s_abs_dd = st[S_ABS_DD, c]
        s_sq_dd = st[S_SQ_DD, c]
        n_wamp = st[S_WAMP, c]
        n_ssc = st[S_SSC, c]
        n_zc = st[S_ZC, c]
        min_abs = st[S_MIN_ABS, c]
        p = np.float64(xt[i0 - 1, c])
        pd = p - np.float64(xt[i0 - 2, c])
        for j in range(steps):
            v = np.float64(xt[i0 + j, c])
            d = v - p
            dd = d - pd
            s_abs += abs(v)
            s_sq += v * v
            s_sum += v
            peak = max(peak, v)
            min_abs = min(min_abs, abs(v))
            s_abs_d += abs(d)
            s_sq_d += d * d
            s_abs_dd += abs(dd)
            s_sq_dd += dd * dd
            n_wamp += 1.0 if abs(d) > thr_wamp else 0.0
            n_ssc += 1.0 if pd * d < neg_thr_ssc else 0.0
            n_zc += 1.0 if ((v > 0.0) != (p > 0.0)) & (abs(d) > thr_zc) else 0.0
            pd = d
            p = v
        st[S_ABS, c] = s_abs
        st[S_SQ, c] = s_sq
        st[S_SUM, c] = s_sum
        st[S_PEAK, c] = peak
        st[S_MIN_ABS, c] = min_abs
        st[S_ABS_D, c] = s_abs_d
        st[S_SQ_D, c] = s_sq_d
        st[S_ABS_DD, c] = s_abs_dd
        st[S_SQ_DD, c] = s_sq_dd
        st[S_WAMP, c] = n_wamp
        st[S_SSC, c] = n_ssc
        st[S_ZC, c] = n_zc


@jit
def _steps_tail(xt, i0, steps, thr_zc, thr_ssc, thr_wamp, st):
    # The last (n - 2) % STEP samples: every sum, whatever the kind (rows a kind does
    # not read are never read), compiled once per input type; the unrolled step
    # functions above are inlined only where they pay off (compile time).
    _steps_full(xt, i0, steps, thr_zc, thr_ssc, thr_wamp, st)


@jit
def _sums_rows(xt, kind, thr_zc, thr_ssc, thr_wamp, st):
    """One pass over a sample-major window ``xt`` (n, n_channels), channels contiguous.

    ``st[k, c]`` for k in S_*: Σ|x|, Σx, max x, Σ|Δx|, Σ|Δ²x|, Σx², Σ(Δx)²,
    Σ(Δ²x)², the ZC, SSC, WAMP counts and min|x| (each loop kind fills the rows
    its features read, see ``_KIND_SUMS``).
    Channels are the inner loop (vectorised across channels); samples go
    :data:`STEP` at a time with the running sums in registers. Every sum adds
    sample ``i``'s term in order ``i = 0, 1, ...``, whatever the loop kind and
    step, so which kind ran never changes a value.

    ZC here counts sign changes between *consecutive* samples; that equals the
    zero-skipping definition when a channel has no exact zero (the caller
    recounts channels with zeros, see :func:`_zc_exact`).
    """
    n = xt.shape[0]
    n_ch = xt.shape[1]
    for r in range(N_SUMS):
        for c in range(n_ch):
            st[r, c] = 0.0
    for c in range(n_ch):
        v = np.float64(xt[0, c])
        st[S_ABS, c] = abs(v)
        st[S_SQ, c] = v * v
        st[S_SUM, c] = v
        st[S_PEAK, c] = v
        st[S_MIN_ABS, c] = abs(v)
    if n > 1:
        for c in range(n_ch):
            v = np.float64(xt[1, c])
            p = np.float64(xt[0, c])
            d = v - p
            st[S_ABS, c] += abs(v)
            st[S_SQ, c] += v * v
            st[S_SUM, c] += v
            st[S_PEAK, c] = max(st[S_PEAK, c], v)
            st[S_MIN_ABS, c] = min(st[S_MIN_ABS, c], abs(v))
            st[S_ABS_D, c] = abs(d)
            st[S_SQ_D, c] = d * d
            st[S_WAMP, c] = 1.0 if abs(d) > thr_wamp else 0.0
            st[S_ZC, c] = 1.0 if ((v > 0.0) != (p > 0.0)) & (abs(d) > thr_zc) else 0.0
    # samples 2 .. n-1: whole steps (constant trip count: unrolled, sums in
    # registers), then the remainder
    if n <= 2:
        return
    n_full = (n - 2) // STEP
    tail = 2 + n_full * STEP
    if kind == KIND_AMP:
        for b in range(n_full):
            _steps_amp(xt, 2 + b * STEP, STEP, st)
    elif kind == KIND_HTD and thr_zc > 0.0:
        for b in range(n_full):
            _steps_htd(xt, 2 + b * STEP, STEP, thr_zc, thr_ssc, st, True)
    elif kind == KIND_HTD:
        for b in range(n_full):
            _steps_htd(xt, 2 + b * STEP, STEP, thr_zc, thr_ssc, st, False)
    elif kind == KIND_TDPSD:
        for b in range(n_full):
            _steps_tdpsd(xt, 2 + b * STEP, STEP, st)
    else:
        for b in range(n_full):
            _steps_full(xt, 2 + b * STEP, STEP, thr_zc, thr_ssc, thr_wamp, st)
    if tail < n:
        _steps_tail(xt, tail, n - tail, thr_zc, thr_ssc, thr_wamp, st)


@jit
def _zc_exact(xt, c, threshold):
    """ZC of channel ``c`` of a sample-major window, exact zeros skipped (as :func:`_f_zc`)."""
    count = 0
    prev = 0.0
    for i in range(xt.shape[0]):
        v = np.float64(xt[i, c])
        if v == 0.0:
            continue
        if prev != 0.0 and (v > 0.0) != (prev > 0.0) and abs(v - prev) > threshold:
            count += 1
        prev = v
    return count


@jit(inline="always", error_model="numpy")
def _ratio_select(a, b):
    # a / b with 0 / 0 = 0 and a / 0 = ±inf (as _ratio), as selects: vectorises
    q = a / b
    q = (np.inf if a > 0.0 else -np.inf) if b == 0.0 else q
    return 0.0 if (b == 0.0 and a == 0.0) else q


@jit(error_model="numpy")
def _tdpsd_rows(st, n):
    """Compute the six log-moment values of one TD-PSD stage from its one-pass sums.

    With LibEMG's length scaling ``m0 = sqrt(Σw²) / (n-1)``, ``m2 = sqrt(Σ(Δw)² / (n-1))``,
    ``m4 = sqrt(Σ(Δ²w)² / (n-1))`` and ``m̃ = m^λ / λ``: ``λ ln m`` into the T_HLOG rows,
    ``m̃`` into T_M0, T_M2, T_M4, and into the L_* rows ``ln m̃0``, ``ln |m̃0 - m̃2|``,
    ``ln |m̃0 - m̃4|``, ``ln(m̃0 / sqrt(|m̃0 - m̃2| |m̃0 - m̃4|))``, ``ln(m̃2 / sqrt(m̃0 m̃4))``,
    ``ln(Σ|Δw| / Σ|Δ²w|)`` (ratios with 0 / 0 = 0, a / 0 = inf; ln 0 = -inf): two
    :func:`vlog` and one :func:`vexp` call over 3 or 6 n_channels adjacent values.
    """
    n_ch = st.shape[1]
    sums = st[S_SQ : S_SQ + 3].reshape(3 * n_ch)
    hlog = st[T_HLOG : T_HLOG + 3].reshape(3 * n_ch)
    moments = st[T_M0 : T_M0 + 3].reshape(3 * n_ch)
    vlog(sums, hlog)
    lam = TDPSD_LAMBDA
    ln_len = math.log(n - 1.0)
    # λ ln m0 = λ (½ ln Σw² - ln(n-1)), λ ln m2 = λ ½ (ln Σ(Δw)² - ln(n-1)), m4 alike
    for c in range(n_ch):
        hlog[c] = lam * (0.5 * hlog[c] - ln_len)
    for i in range(n_ch, 3 * n_ch):
        hlog[i] = 0.5 * lam * (hlog[i] - ln_len)
    vexp(hlog, moments)
    inv_lam = 1.0 / lam
    for i in range(3 * n_ch):
        moments[i] = moments[i] * inv_lam
    for c in range(n_ch):
        m0 = st[T_M0, c]
        d2 = abs(m0 - st[T_M2, c])
        d4 = abs(m0 - st[T_M4, c])
        st[T_ARG, c] = m0
        st[T_ARG + 1, c] = d2
        st[T_ARG + 2, c] = d4
        # ratios, not differences of logarithms: a constant stage gives SPARSI = ln 1 = 0
        # exactly (sqrt(m̃0²) = m̃0), and 0 / 0 = 0 needs no special case
        st[T_ARG + 3, c] = _ratio_select(m0, math.sqrt(d2 * d4))
        st[T_ARG + 4, c] = _ratio_select(st[T_M2, c], math.sqrt(m0 * st[T_M4, c]))
        st[T_ARG + 5, c] = _ratio_select(st[S_ABS_D, c], st[S_ABS_DD, c])
    vlog(st[T_ARG : T_ARG + 6].reshape(6 * n_ch), st[L_M0 : L_M0 + 6].reshape(6 * n_ch))


@jit(inline="always", error_model="numpy")
def _correlation(a, b):
    # TD-PSD's f = -2ab / (a² + b²); 0 / 0 = 0; an infinite a or b counts as its
    # sign (±1) and the other as 0 (the limit along the direction of (a, b)); NaN stays
    ia = abs(a) == np.inf
    ib = abs(b) == np.inf
    inf = ia or ib
    sa = (1.0 if a > 0.0 else -1.0) if ia else 0.0
    sb = (1.0 if b > 0.0 else -1.0) if ib else 0.0
    a = sa if inf else a
    b = sb if inf else b
    den = a * a + b * b
    f = -2.0 * a * b / den
    return 0.0 if den == 0.0 else f


@jit(error_model="numpy")
def _fast_column(code, st, st2, n, col):
    """Write fast feature ``code`` of every channel into ``col`` (n_channels,).

    One loop over channels per feature (vectorised: ``col[c]`` with ``c`` from a
    ``range`` has no negative-index wraparound). The TD-PSD features correlate
    the rows :func:`_tdpsd_rows` filled for the window (``st``) and for its
    nonlinear version ``ln(x² + ε)`` (``st2``).
    """
    n_ch = st.shape[1]
    if code == ID_MAV:
        for c in range(n_ch):
            col[c] = st[S_ABS, c] / n
    elif code == ID_IAV:
        for c in range(n_ch):
            col[c] = st[S_ABS, c]
    elif code == ID_RMS:
        for c in range(n_ch):
            col[c] = math.sqrt(st[S_SQ, c] / n)
    elif code == ID_VAR:
        for c in range(n_ch):
            col[c] = st[S_SQ, c] / (n - 1)
    elif code == ID_MEAN:
        for c in range(n_ch):
            col[c] = st[S_SUM, c] / n
    elif code == ID_MPK:
        for c in range(n_ch):
            col[c] = st[S_PEAK, c]
    elif code == ID_ISD:
        for c in range(n_ch):
            col[c] = st[S_SQ, c]
    elif code == ID_WL:
        for c in range(n_ch):
            col[c] = st[S_ABS_D, c]
    elif code == ID_MFL:
        for c in range(n_ch):
            sq = st[S_SQ_D, c]
            col[c] = -np.inf if sq == 0.0 else math.log10(math.sqrt(sq))
    elif code == ID_MAVFD:
        for c in range(n_ch):
            col[c] = st[S_ABS_D, c] / (n - 1)
    elif code == ID_DASDV:
        for c in range(n_ch):
            col[c] = math.sqrt(st[S_SQ_D, c] / (n - 1))
    elif code == ID_MDIFF:
        for c in range(n_ch):
            col[c] = st[S_SQ_D, c] / n
    elif code == ID_MZP:
        for c in range(n_ch):
            col[c] = math.sqrt(st[S_SQ_D, c] / n)
    elif code == ID_COR:
        # [(1/N) Σ(Δx)²] / ([(1/N) Σ(Δ²x)²] Σx²)
        for c in range(n_ch):
            col[c] = _ratio_select(st[S_SQ_D, c] / n, st[S_SQ_DD, c] / n * st[S_SQ, c])
    elif code == ID_WAMP:
        for c in range(n_ch):
            col[c] = st[S_WAMP, c]
    elif code == ID_SSC:
        for c in range(n_ch):
            col[c] = st[S_SSC, c]
    elif code == ID_ZC:
        for c in range(n_ch):
            col[c] = st[S_ZC, c]
    elif ID_M0 <= code <= ID_WLF:
        row = L_M0 + (code - ID_M0)
        for c in range(n_ch):
            col[c] = _correlation(st[row, c], st2[row, c])


@jit(error_model="numpy")
def _phasor_pairs(code, st, n, out, work):
    """LibEMG's phasor pairs of every channel pair i < j into ``out`` (n_ch (n_ch - 1),).

    ``θ_c = 2πc / C``, ``D_ij = |A_i e^{iθ_i} - A_j e^{iθ_j}|`` written as
    ``sqrt((A_i - A_j)² + 4 A_i A_j sin²((θ_j - θ_i) / 2))`` (no cancellation for
    close amplitudes), ``D'_ij`` the same of the derivative amplitudes ``A'``;
    ``out`` holds ``ln D_ij`` for the pairs in row-major order, then ``ln(D_ij / D'_ij)``.
    RMSPHASOR: ``A = RMS(x)``, ``A' = RMS(Δx)``; WLPHASOR: ``A = Σ|Δx|``, ``A' = Σ|Δ²x|``.
    A channel whose window holds a NaN has NaN amplitudes.
    """
    n_ch = st.shape[1]
    amp = st[T_TMP]
    damp = st[T_TMP + 1]
    nan_row = S_SQ if code == ID_RMSPHASOR else S_ABS_D
    for c in range(n_ch):
        if code == ID_RMSPHASOR:
            amp[c] = math.sqrt(st[S_SQ, c] / n)
            damp[c] = math.sqrt(st[S_SQ_D, c] / (n - 1))
        else:
            amp[c] = st[S_ABS_D, c]
            damp[c] = st[S_ABS_DD, c]
    for c in range(n_ch):
        if st[nan_row, c] != st[nan_row, c]:
            amp[c] = np.nan
            damp[c] = np.nan
    half = st[T_TMP + 2]  # sin²(π k / C) for k = 0 .. C - 1
    for k in range(n_ch):
        sk = math.sin(math.pi * k / n_ch)
        half[k] = sk * sk
    n_pairs = n_ch * (n_ch - 1) // 2
    p = 0
    for i in range(n_ch):
        a = amp[i]
        da = damp[i]
        for j in range(i + 1, n_ch):
            q = 4.0 * half[j - i]
            d = amp[j] - a
            chord = math.sqrt(d * d + q * a * amp[j])
            dd = damp[j] - da
            work[p] = chord
            work[n_pairs + p] = _ratio_select(chord, math.sqrt(dd * dd + q * da * damp[j]))
            p += 1
    vlog(work[: 2 * n_pairs], out)


@jit
def _fast_one(xt, yt, codes, offs, kind, thr_zc, thr_ssc, thr_wamp, st, st2, out):
    """One-pass features of one sample-major window ``xt`` (size, n_channels) into ``out``.

    ``yt`` is ``ln(xt² + ε)`` (:func:`log_square_eps`, read only if a TD-PSD
    feature is planned). ``st``, ``st2`` are float64 (N_STATE, n_channels) work space.
    """
    n = xt.shape[0]
    n_ch = xt.shape[1]
    _sums_rows(xt, kind, thr_zc, thr_ssc, thr_wamp, st)
    need_zc = False
    need_moments = False
    for f in range(codes.shape[0]):
        need_zc = need_zc or codes[f] == ID_ZC
        need_moments = need_moments or ID_M0 <= codes[f] <= ID_WLF
    if need_zc:
        for c in range(n_ch):
            if st[S_MIN_ABS, c] == 0.0:  # an exact zero: count with zeros skipped
                st[S_ZC, c] = _zc_exact(xt, c, thr_zc)
    if need_moments:
        _tdpsd_rows(st, n)
        _sums_rows(yt, KIND_TDPSD, 0.0, 0.0, 0.0, st2)
        _tdpsd_rows(st2, n)
    nan_row = _nan_row(kind)
    for f in range(codes.shape[0]):
        code = codes[f]
        if code in (ID_RMSPHASOR, ID_WLPHASOR):
            width = n_ch * (n_ch - 1)
            work = np.empty(width)
            _phasor_pairs(code, st, n, out[offs[f] : offs[f] + width], work)
            continue
        col = out[offs[f] : offs[f] + n_ch]
        if code == ID_MLK:
            # ln(Σ|x| + ε) / N
            arg = st[T_TMP]
            for c in range(n_ch):
                arg[c] = st[S_ABS, c] + MLK_EPS
            vlog(arg, col)
            inv_n = 1.0 / n
            for c in range(n_ch):
                col[c] = col[c] * inv_n
        else:
            _fast_column(code, st, st2, n, col)
        for c in range(n_ch):
            # a channel window holding a NaN gives NaN
            nan = st[nan_row, c] != st[nan_row, c]
            col[c] = np.nan if nan else col[c]


@jit
def _needs_log_stage(codes):
    for f in range(codes.shape[0]):  # noqa: SIM110 - a plain loop compiles to tight numba code
        if ID_M0 <= codes[f] <= ID_WLF:
            return True
    return False


@jit
def _rows_block(flat, increment, size, w0, w1, codes, offs, kind, thr, need_y, work, out):
    # windows w0 .. w1 - 1 of fast_rows, with their TD-PSD log stage computed once
    st, st2, ybuf = work
    lo = w0 * increment
    if need_y:
        hi = (w1 - 1) * increment + size
        log_square_eps(flat[lo:hi], ybuf)
    for w in range(w0, w1):
        start = w * increment
        xt = flat[start : start + size]
        yt = ybuf[start - lo : start - lo + size]
        _fast_one(xt, yt, codes, offs, kind, thr[0], thr[1], thr[2], st, st2, out[w])


@jit
def _work(n_ch, n_rows, need_y):
    st = np.empty((N_STATE, n_ch))
    st2 = np.empty((N_STATE, n_ch))
    ybuf = np.empty((n_rows if need_y else 0, n_ch))
    return st, st2, ybuf


@jit
def fast_rows(flat, increment, n_windows, codes, offs, kind, thr_zc, thr_ssc, thr_wamp, out):
    """One-pass features of windows over sample-major data, on the calling thread.

    Window ``w`` is ``flat[w * increment : w * increment + size]``: this is what
    :func:`moveo.emg.windows` views of C-ordered ``(n_samples, n_channels)`` data
    are, and what one realtime window ``buffer[-size:].T`` is, transposed back.
    Rows are contiguous, so the channel loop vectorises.

    Parameters
    ----------
    flat : ndarray of shape (n_samples, n_channels), float32 or float64, C-ordered
    increment : int
        Samples between window starts.
    n_windows : int
    codes : ndarray of shape (F,), int64
        Fast feature ids (all in :data:`FAST_IDS`).
    offs : ndarray of shape (F,), int64
        Feature ``f`` writes channel ``c`` to ``out[w, offs[f] + c]`` (the phasor
        pairs their ``n_channels * (n_channels - 1)`` columns from ``offs[f]`` on).
    kind : int
        Loop kind from :func:`sums_kind`.
    thr_zc, thr_ssc, thr_wamp : float
        ZC / SSC / WAMP thresholds.
    out : ndarray of shape (n_windows, n_columns), float64
        Output; only the fast features' columns are written. The window size is
        ``flat.shape[0] - (n_windows - 1) * increment``.
    """
    n_ch = flat.shape[1]
    size = flat.shape[0] - (n_windows - 1) * increment
    need_y = _needs_log_stage(codes)
    per = _block(n_ch, size, increment)
    work = _work(n_ch, (per - 1) * increment + size, need_y)
    thr = (thr_zc, thr_ssc, thr_wamp)
    for b in range((n_windows + per - 1) // per):
        w1 = min(n_windows, (b + 1) * per)
        _rows_block(flat, increment, size, b * per, w1, codes, offs, kind, thr, need_y, work, out)


@jit
def _block(n_ch, size, increment):
    # Windows per block of fast_rows: the TD-PSD stage ln(x² + ε) is computed once per
    # block over the samples its windows span (about 64k values, so it stays in cache),
    # not once per window (8x fewer logarithms at window 200 / hop 25)
    span = max(2 * size, 65536 // max(1, n_ch))
    return max(1, (span - size) // max(1, increment) + 1)


@jit(parallel=True)
def fast_rows_parallel(
    flat, increment, n_windows, codes, offs, kind, thr_zc, thr_ssc, thr_wamp, out
):
    """:func:`fast_rows` in parallel over blocks of windows (same arguments, same values)."""
    n_ch = flat.shape[1]
    size = flat.shape[0] - (n_windows - 1) * increment
    need_y = _needs_log_stage(codes)
    per = _block(n_ch, size, increment)
    thr = (thr_zc, thr_ssc, thr_wamp)
    for b in prange((n_windows + per - 1) // per):
        work = _work(n_ch, (per - 1) * increment + size, need_y)
        w1 = min(n_windows, (b + 1) * per)
        _rows_block(flat, increment, size, b * per, w1, codes, offs, kind, thr, need_y, work, out)


@jit
def fast_window(win, plan, kind, thr_zc, thr_ssc, thr_wamp, out):
    """One-pass features of one channel-contiguous window (the realtime path).

    ``win`` is ``buffer[-size:].T`` of a C-ordered ``(n_samples, n_channels)``
    buffer: a Fortran-ordered ``(n_channels, size)`` array whose transpose is
    the sample-major window :func:`fast_rows` reads. Few arguments on purpose:
    numba's dispatcher costs about 100 ns per array argument.

    Parameters
    ----------
    win : ndarray of shape (n_channels, size), float32 or float64, Fortran-ordered
    plan : ndarray of shape (2, F), int64
        Fast feature ids (row 0) and their column offsets (row 1), as ``codes``
        and ``offs`` of :func:`fast_rows`.
    kind : int
        Loop kind from :func:`sums_kind`.
    thr_zc, thr_ssc, thr_wamp : float
        ZC / SSC / WAMP thresholds.
    out : ndarray of shape (n_columns,), float64
        Output; only the fast features' columns are written.
    """
    n_ch = win.shape[0]
    n = win.shape[1]
    codes = plan[0]
    need_y = _needs_log_stage(codes)
    # one allocation for every work array
    n_y = n * n_ch if need_y else 0
    work = np.empty(2 * N_STATE * n_ch + n_y)
    st = work[: N_STATE * n_ch].reshape(N_STATE, n_ch)
    st2 = work[N_STATE * n_ch : 2 * N_STATE * n_ch].reshape(N_STATE, n_ch)
    y = work[2 * N_STATE * n_ch :].reshape(n if need_y else 0, n_ch)
    xt = win.T
    if need_y:
        log_square_eps(xt, y)
    _fast_one(xt, y, codes, plan[1], kind, thr_zc, thr_ssc, thr_wamp, st, st2, out)


@jit
def _transpose_into(win, tscr):
    # tscr[i, c] = win[c, i], reading the input in its memory order
    n_ch = win.shape[0]
    n = win.shape[1]
    if win.strides[1] <= win.strides[0]:
        for c in range(n_ch):
            for i in range(n):
                tscr[i, c] = win[c, i]
    else:
        for i in range(n):
            for c in range(n_ch):
                tscr[i, c] = win[c, i]


@jit
def _transposed_one(win, codes, offs, kind, thr, need_y, tscr, work, out):
    st, st2, ybuf = work
    _transpose_into(win, tscr)
    if need_y:
        log_square_eps(tscr, ybuf)
    _fast_one(tscr, ybuf, codes, offs, kind, thr[0], thr[1], thr[2], st, st2, out)


@jit
def fast_windows(wins, codes, offs, kind, thr_zc, thr_ssc, thr_wamp, out):
    """One-pass features of windows of any layout, on the calling thread.

    Each window is transposed into a float64 sample-major scratch first (use
    :func:`fast_rows` when the windows are sample-major already).

    Parameters
    ----------
    wins : ndarray of shape (n_windows, n_channels, size), float32 or float64, any strides
    codes, offs, kind, thr_zc, thr_ssc, thr_wamp
        As for :func:`fast_rows`.
    out : ndarray of shape (n_windows, n_columns), float64
        Output; only the fast features' columns are written.
    """
    n_ch = wins.shape[1]
    need_y = _needs_log_stage(codes)
    work = _work(n_ch, wins.shape[2], need_y)
    tscr = np.empty((wins.shape[2], n_ch))
    thr = (thr_zc, thr_ssc, thr_wamp)
    for w in range(wins.shape[0]):
        _transposed_one(wins[w], codes, offs, kind, thr, need_y, tscr, work, out[w])


@jit(parallel=True)
def fast_windows_parallel(wins, codes, offs, kind, thr_zc, thr_ssc, thr_wamp, out):
    """:func:`fast_windows` in parallel over windows (same arguments)."""
    n_ch = wins.shape[1]
    need_y = _needs_log_stage(codes)
    thr = (thr_zc, thr_ssc, thr_wamp)
    for w in prange(wins.shape[0]):
        work = _work(n_ch, wins.shape[2], need_y)
        tscr = np.empty((wins.shape[2], n_ch))
        _transposed_one(wins[w], codes, offs, kind, thr, need_y, tscr, work, out[w])


# --------------------------------------------------------------------------- whole-window features


@jit
def copy_windows(wins, x):
    """Copy windows into a float64 C-ordered array, reading the input in memory order.

    Parameters
    ----------
    wins : ndarray of shape (n_windows, n_channels, size), float32 or float64, any strides
    x : ndarray of shape (>= n_windows, n_channels, size), float64, C-ordered
        Destination; rows ``0 .. n_windows - 1`` are written.
    """
    n_ch = wins.shape[1]
    n = wins.shape[2]
    for w in range(wins.shape[0]):
        win = wins[w]
        if win.strides[1] <= win.strides[0]:
            for c in range(n_ch):
                for i in range(n):
                    x[w, c, i] = win[c, i]
        else:
            for i in range(n):
                for c in range(n_ch):
                    x[w, c, i] = win[c, i]


@jit
def _slow_window(
    x,
    codes,
    ipar,
    fpar,
    offs,
    ncol,
    bands,
    df,
    wre,
    wim,
    factors,
    dec_lo,
    dec_hi,
    dwt_len,
    dwt_off,
    need_spec,
    need_dwt,
    max_order,
    out,
):
    """Whole-window features of one float64 window ``x`` (n_channels, size)."""
    n_ch = x.shape[0]
    n = x.shape[1]
    n_feat = codes.shape[0]
    bad = np.zeros(n_ch, dtype=np.bool_)
    for c in range(n_ch):
        for i in range(n):
            if x[c, i] != x[c, i]:
                bad[c] = True
                break

    dx = np.empty(max(n, 1))
    ddx = np.empty(max(n, 1))
    tmp = np.empty(max(n, 1))
    r = np.empty(max_order + 1)
    a = np.empty(max_order)
    a_tmp = np.empty(max_order)
    cc = np.empty(max_order)
    half = n // 2 + 1
    power = np.empty((n_ch, half if need_spec else 0))
    if need_spec:
        power_spectra(x, bad, wre, wim, factors, power)
    coefs = np.empty(dwt_off[0] if need_dwt else 0)

    for c in range(n_ch):
        if bad[c]:
            for f in range(n_feat):
                for k in range(ncol[f]):
                    out[offs[f] + c * ncol[f] + k] = np.nan
            continue
        xc = x[c]
        pc = power[c]
        if need_dwt:
            wavedec_into(xc, dec_lo, dec_hi, dwt_len, dwt_off, coefs)
        for f in range(n_feat):
            code = codes[f]
            base = offs[f] + c * ncol[f]
            if code == ID_TM:
                out[base] = _f_tm(xc, ipar[f, 0])
            elif code == ID_LD:
                out[base] = _f_ld(xc)
            elif code == ID_MSR:
                out[base] = _f_msr(xc)
            elif code == ID_LS:
                out[base] = _f_ls(xc, tmp)
            elif code == ID_MAVSLP:
                _f_mavslp(xc, ipar[f, 0], out, base)
            elif code == ID_ACT:
                out[base] = _f_act(xc)
            elif code == ID_MOB:
                out[base] = _f_mob(xc, dx)
            elif code == ID_COMP:
                out[base] = _f_comp(xc, dx, ddx)
            elif code in (ID_AR, ID_CC):
                order = ipar[f, 0]
                _ar_coefficients(xc, order, r, a, a_tmp)
                if code == ID_AR:
                    for k in range(order):
                        out[base + k] = a[k]
                else:
                    _cepstrum(a, order, cc)
                    for k in range(order):
                        out[base + k] = cc[k]
            elif code == ID_MNF:
                out[base] = mean_frequency(pc, df)
            elif code == ID_MDF:
                out[base] = median_frequency(pc, df)
            elif code == ID_MNP:
                acc = 0.0
                for j in range(half):
                    acc += pc[j]
                out[base] = acc / half
            elif code == ID_SM:
                out[base] = spectral_moment(pc, df, fpar[f, 0])
            elif code == ID_PAP:
                acc = 0.0
                for j in range(half):
                    acc = max(acc, pc[j])
                out[base] = acc
            elif code == ID_DFTR:
                for b in range(bands.shape[0]):
                    acc = 0.0
                    for j in range(bands[b, 0], bands[b, 1]):
                        acc += pc[j]
                    out[base + b] = acc
            elif code in (ID_SKEW, ID_KURT):
                out[base] = _f_skew_kurt(xc, code)
            elif code == ID_SAMPEN:
                out[base] = sample_entropy(xc, ipar[f, 0], fpar[f, 0])
            elif code == ID_FUZZYEN:
                out[base] = fuzzy_entropy(xc, ipar[f, 0], fpar[f, 0], fpar[f, 1])
            elif code >= ID_WENG:
                _f_wavelet(coefs, dwt_len, dwt_off, ipar[f, 0], code, out, base)


@jit
def slow_windows(
    x,
    codes,
    ipar,
    fpar,
    offs,
    ncol,
    bands,
    df,
    wre,
    wim,
    factors,
    dec_lo,
    dec_hi,
    dwt_len,
    dwt_off,
    need_spec,
    need_dwt,
    max_order,
    out,
):
    """Whole-window features of float64 windows, on the calling thread.

    Parameters
    ----------
    x : ndarray of shape (n_windows, n_channels, size), float64, C-ordered
        Windows copied by :func:`copy_windows` (the only type this kernel is
        compiled for, whatever the caller's input layout and dtype).
    codes, ipar, fpar, offs, ncol, bands, df, wre, wim, factors, dec_lo, dec_hi, dwt_len, dwt_off
        The plan restricted to the whole-window features (see the module docstring).
    need_spec, need_dwt : bool
        Whether a spectral / wavelet feature is planned.
    max_order : int
        Largest AR / CC order planned (at least 1).
    out : ndarray of shape (n_windows, n_columns), float64
        Output; only these features' columns are written.
    """
    for w in range(x.shape[0]):
        _slow_window(
            x[w],
            codes,
            ipar,
            fpar,
            offs,
            ncol,
            bands,
            df,
            wre,
            wim,
            factors,
            dec_lo,
            dec_hi,
            dwt_len,
            dwt_off,
            need_spec,
            need_dwt,
            max_order,
            out[w],
        )


@jit(parallel=True)
def slow_windows_parallel(
    x,
    codes,
    ipar,
    fpar,
    offs,
    ncol,
    bands,
    df,
    wre,
    wim,
    factors,
    dec_lo,
    dec_hi,
    dwt_len,
    dwt_off,
    need_spec,
    need_dwt,
    max_order,
    out,
):
    """:func:`slow_windows` in parallel over windows (same arguments)."""
    for w in prange(x.shape[0]):
        _slow_window(
            x[w],
            codes,
            ipar,
            fpar,
            offs,
            ncol,
            bands,
            df,
            wre,
            wim,
            factors,
            dec_lo,
            dec_hi,
            dwt_len,
            dwt_off,
            need_spec,
            need_dwt,
            max_order,
            out[w],
        )


# --------------------------------------------------------------------------- labels


@jit
def window_mode(classes, n_classes, size, increment, n_windows, out):
    """Most frequent class per window (ties go to the smallest class index).

    Parameters
    ----------
    classes : ndarray of shape (n_samples,), int64
        Class index per sample, ``0 <= classes < n_classes``.
    n_classes : int
    size, increment : int
        Window geometry (as in :func:`moveo.emg.windows`).
    n_windows : int
    out : ndarray of shape (n_windows,), int64
        Output class index per window.
    """
    counts = np.zeros(n_classes, dtype=np.int64)
    lo = 0
    hi = 0
    for w in range(n_windows):
        start = w * increment
        stop = start + size
        # slide [lo, hi) to [start, stop) adding and removing samples
        if start >= hi:
            counts[:] = 0
            lo = start
            hi = start
        while lo < start:
            counts[classes[lo]] -= 1
            lo += 1
        while hi < stop:
            counts[classes[hi]] += 1
            hi += 1
        best = 0
        for k in range(1, n_classes):
            if counts[k] > counts[best]:
                best = k
        out[w] = best


# --------------------------------------------------------------------------- warm-up


def empty_plan_parts() -> tuple[np.ndarray, ...]:
    """Return empty FFT/DWT plan parts for plans without spectral or wavelet features.

    Returns
    -------
    tuple of ndarray
        ``(wre, wim, factors, dec_lo, dec_hi, dwt_len, dwt_off)``.
    """
    empty = np.empty(0)
    return (
        empty,
        empty,
        np.empty(0, dtype=np.int64),
        empty,
        empty,
        np.zeros(1, dtype=np.int64),
        np.zeros(1, dtype=np.int64),
    )


def _warmup_windows(n_ch: int, n: int) -> list[np.ndarray]:
    # moveo.emg.windows() views of Fortran-ordered data (channel rows contiguous), as
    # the generic one-pass path and the whole-window copy see them
    out = []
    for dtype in (np.float64, np.float32):
        data = np.asfortranarray(np.sin(np.arange(4 * n * n_ch, dtype=dtype)).reshape(-1, n_ch))
        s0, s1 = data.strides
        out.append(
            np.lib.stride_tricks.as_strided(
                data, shape=(3, n_ch, n), strides=(n * s0, s1, s0), writeable=False
            )
        )
    return out


def sample_major_view(data: np.ndarray) -> np.ndarray:
    """Return ``data`` as the read-only C-ordered array :func:`fast_rows` takes.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_channels), C-ordered

    Returns
    -------
    ndarray of shape (n_samples, n_channels)
        A read-only view (one compiled signature per dtype, whoever calls).
    """
    view = data.view()
    view.flags.writeable = False
    return view


@register_warmup
def _warmup() -> None:
    # Compiles each entry point for the signatures moveo uses, and nothing else:
    # the whole-window kernel only ever sees float64 C-ordered copies (one signature).
    n = 32
    n_ch = 2
    slow = np.array(sorted(set(FEATURE_IDS.values()) - FAST_IDS), dtype=np.int64)
    fast = np.array(sorted(FAST_IDS), dtype=np.int64)
    ncol = np.ones(slow.shape[0], dtype=np.int64)
    ipar = np.ones((slow.shape[0], 2), dtype=np.int64)
    fpar = np.zeros((slow.shape[0], 3))
    order = {int(code): f for f, code in enumerate(slow)}
    for code, value in ((ID_TM, 3), (ID_MAVSLP, 2), (ID_SAMPEN, 2), (ID_FUZZYEN, 2)):
        ipar[order[code], 0] = value
    fpar[order[ID_SAMPEN], 0] = fpar[order[ID_FUZZYEN], 0] = 0.2
    fpar[order[ID_FUZZYEN], 1] = 2.0
    fpar[order[ID_SM], 0] = 2.0
    ncol[order[ID_DFTR]] = 2
    offs = np.concatenate([[0], np.cumsum(ncol * n_ch)[:-1]]).astype(np.int64)
    n_slow_cols = int(offs[-1] + ncol[-1] * n_ch)
    bands = np.array([[0, 4], [4, n // 2 + 1]], dtype=np.int64)
    wre, wim, factors = fft_plan(n)
    lo, hi = sym8_filters()
    dwt_len, dwt_off = dwt_layout(n, lo.shape[0], 1)
    plan = (slow, ipar, fpar, offs, ncol, bands, 1.0, wre, wim, factors, lo, hi)
    fast_offs = np.arange(fast.shape[0], dtype=np.int64) * n_ch
    out = np.empty((3, max(n_slow_cols, fast.shape[0] * n_ch)))
    fast_args = (fast, fast_offs)
    for dtype in (np.float64, np.float32):
        flat = sample_major_view(np.sin(np.arange(4 * n * n_ch, dtype=dtype)).reshape(-1, n_ch))
        fast_rows(flat, n, 3, *fast_args, KIND_FULL, 0.0, 0.0, 0.0, out)
        fast_rows_parallel(flat, n, 3, *fast_args, KIND_FULL, 0.0, 0.0, 0.0, out)
        ring = np.sin(np.arange(n * n_ch, dtype=dtype)).reshape(n, n_ch)  # writeable buffer
        fast_window(ring.T, np.stack(fast_args), KIND_FULL, 0.0, 0.0, 0.0, out[0])
    for wins in _warmup_windows(n_ch, n):
        fast_windows(wins, *fast_args, KIND_FULL, 0.0, 0.0, 0.0, out)
        fast_windows_parallel(wins, *fast_args, KIND_FULL, 0.0, 0.0, 0.0, out)
        x = np.empty((wins.shape[0], n_ch, n))
        copy_windows(wins, x)
    for entry in (slow_windows, slow_windows_parallel):
        entry(x, *plan, dwt_len, dwt_off, True, True, 4, out)
    window_mode(np.zeros(8, dtype=np.int64), 2, 4, 2, 3, np.empty(3, dtype=np.int64))
