"""EMG feature kernels over windows of shape (n_windows, n_channels, size).

One jitted dispatcher computes any set of catalogue features for one window
(:func:`window_features`); :func:`windows_features` runs it in parallel over
windows (``prange``, each iteration writing only its own output row). The
realtime path calls :func:`window_features` directly on one
``(n_channels, size)`` window: one jitted call per tick whatever the features.

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

Conventions (documented per feature): every window is copied once into a
float64 scratch row per channel (reading the input in its contiguous order), so
float32 and float64 input give float64 output. A channel whose window holds a
NaN gets NaN for every feature. Ratios ``0 / 0`` are defined as 0, ``log(0)``
as ``-inf``, ``a / 0`` (``a > 0``) as ``+inf`` — never a floating-point warning.
Features of a window that is exactly constant are defined explicitly
(variances, correlations, skewness... are 0).

Fastest layout: channel rows contiguous, i.e. a window view whose last axis
(samples) has the smallest stride (``windows(np.asfortranarray(data), ...)``);
the C-ordered ``(n_samples, n_channels)`` layout works too and is copied
sample-major, still reading memory in order.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.emg_entropy import fuzzy_entropy, sample_entropy
from moveo.kernels.emg_spectral import (
    fft_plan,
    mean_frequency,
    median_frequency,
    power_spectrum,
    spectral_moment,
)
from moveo.kernels.emg_wavelet import dwt_layout, sym8_filters, wavedec_into

__all__ = [
    "FEATURE_IDS",
    "window_features",
    "window_mode",
    "windows_features",
    "windows_features_serial",
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
def _f_mpk(x):
    """MPK = max |x_i| (peak amplitude)."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc = max(acc, abs(x[i]))
    return acc


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
def _f_isd(x, dx):
    """ISD = std(Δx) / std(x) (population std; 0 for a constant window; N >= 2)."""
    n = x.shape[0]
    for i in range(n - 1):
        dx[i] = x[i + 1] - x[i]
    v = _central_moment2(x, n)
    if v == 0.0:
        return 0.0
    return math.sqrt(_central_moment2(dx, n - 1) / v)


@jit
def _f_mlk(x):
    """MLK = (1/N) Σ ln(1 + |x_i| / MAV) (scale-invariant; 0 for an all-zero window)."""
    n = x.shape[0]
    mav = _f_mav(x)
    if mav == 0.0:
        return 0.0
    acc = 0.0
    for i in range(n):
        acc += math.log1p(abs(x[i]) / mav)
    return acc / n


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
    s = np.sort(tmp[:n])
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
def _f_mdiff(x):
    """MDIFF = mean |Δx| / mean |x| = ((1/(N-1)) Σ |Δx_i|) / ((1/N) Σ |x_i|) (0/0 = 0)."""
    return _ratio(_f_mavfd(x), _f_mav(x))


@jit
def _f_mzp(x):
    """MZP = (1/(N-1)) Σ (x_{i+1} - x_i)², the mean power of the first difference."""
    return _sum_sq_diff(x) / (x.shape[0] - 1)


@jit
def _f_cor(x):
    """COR = Σ (x_i - x̄)(x_{i+1} - x̄) / Σ (x_i - x̄)², lag-1 autocorrelation (0 if constant)."""
    n = x.shape[0]
    if _is_constant(x, n):
        return 0.0
    m = 0.0
    for i in range(n):
        m += x[i]
    m /= n
    num = 0.0
    den = 0.0
    for i in range(n):
        d = x[i] - m
        den += d * d
        if i + 1 < n:
            num += d * (x[i + 1] - m)
    return num / den


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


# --------------------------------------------------------------------------- TD-PSD


@jit
def _tdpsd_moments(x, dx, ddx):
    # m̃_k = m_k^λ / λ for m0 = sqrt(Σx²), m2 = sqrt(Σ(Δx)²), m4 = sqrt(Σ(Δ²x)²)
    n = x.shape[0]
    _diffs(x, dx, ddx)
    s0 = 0.0
    s2 = 0.0
    s4 = 0.0
    for i in range(n):
        s0 += x[i] * x[i]
    for i in range(n - 1):
        s2 += dx[i] * dx[i]
    for i in range(n - 2):
        s4 += ddx[i] * ddx[i]
    lam = TDPSD_LAMBDA
    return (
        math.sqrt(s0) ** lam / lam,
        math.sqrt(s2) ** lam / lam,
        math.sqrt(s4) ** lam / lam,
    )


@jit
def _f_tdpsd(x, dx, ddx, code):
    """TD-PSD features from the power-normalised moments m̃0, m̃2, m̃4.

    ``M0 = ln m̃0``, ``M2 = ln |m̃0 - m̃2|``, ``M4 = ln |m̃0 - m̃4|``,
    ``SPARSI = ln(m̃0 / sqrt(|m̃0 - m̃2| |m̃0 - m̃4|))``, ``IRF = m̃2 / sqrt(m̃0 m̃4)``,
    ``WLF = ln(Σ |Δx| / Σ |Δ²x|)``; ``m_k`` is the root sum of squares of the
    k/2-th difference and ``m̃ = m^0.1 / 0.1``.
    """
    if code == ID_WLF:
        n = x.shape[0]
        _diffs(x, dx, ddx)
        a = 0.0
        b = 0.0
        for i in range(n - 1):
            a += abs(dx[i])
        for i in range(n - 2):
            b += abs(ddx[i])
        return _log(_ratio(a, b))
    m0, m2, m4 = _tdpsd_moments(x, dx, ddx)
    if code == ID_M0:
        return _log(m0)
    if code == ID_M2:
        return _log(abs(m0 - m2))
    if code == ID_M4:
        return _log(abs(m0 - m4))
    if code == ID_SPARSI:
        return _log(_ratio(m0, math.sqrt(abs(m0 - m2) * abs(m0 - m4))))
    # IRF
    return _ratio(m2, math.sqrt(m0 * m4))


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
    """SKEW = m3 / m2^1.5, KURT = m4 / m2² - 3 (population central moments; 0 if constant)."""
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
    return m4 / (m2 * m2) - 3.0


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


# --------------------------------------------------------------------------- dispatcher


@jit
def _phasor_chord(amp, n_ch, c):
    # |A_c e^{iθ_c} - A_{c+1} e^{iθ_{c+1}}|, θ_c = 2πc / C (channel C wraps to 0)
    a = amp[c]
    if n_ch < 2:
        return a * 0.0 if a == a else np.nan
    b = amp[(c + 1) % n_ch]
    v = a * a + b * b - 2.0 * a * b * math.cos(2.0 * math.pi / n_ch)
    return math.sqrt(max(v, 0.0))


# Features computed from the fused one-pass sums (see _fast_sums).
S_ABS, S_SQ, S_SUM, S_PEAK, S_ABS_D, S_SQ_D, S_ABS_DD, S_SQ_DD, S_ZC, S_SSC, S_WAMP = range(11)
N_SUMS = 11


@jit
def _is_fast(code):
    return (
        code <= ID_MPK
        or (ID_WL <= code <= ID_MZP)
        or (ID_WAMP <= code <= ID_ZC)
        or (ID_M0 <= code <= ID_WLF)
        or code in (ID_RMSPHASOR, ID_WLPHASOR)
    )


# state rows after the sums in the same array (one array lets LLVM vectorise across channels)
P_PREV, P_PREV_D, P_PREV_NZ = N_SUMS, N_SUMS + 1, N_SUMS + 2
# power-normalised TD-PSD moments m̃0, m̃2, m̃4, computed once per channel from the sums
T_M0, T_M2, T_M4 = N_SUMS + 3, N_SUMS + 4, N_SUMS + 5
N_STATE = N_SUMS + 6


@jit
def _sums_head(win, st, thr_zc, thr_wamp):
    # samples 0 and 1 of every channel (no second difference, no SSC yet)
    n_ch = win.shape[0]
    n = win.shape[1]
    st[:, :] = 0.0
    for c in range(n_ch):
        v = np.float64(win[c, 0])
        st[S_ABS, c] = abs(v)
        st[S_SQ, c] = v * v
        st[S_SUM, c] = v
        st[S_PEAK, c] = abs(v)
        st[P_PREV, c] = v
        st[P_PREV_NZ, c] = v
        if n > 1:
            w = np.float64(win[c, 1])
            d = w - v
            st[S_ABS, c] += abs(w)
            st[S_SQ, c] += w * w
            st[S_SUM, c] += w
            st[S_PEAK, c] = max(st[S_PEAK, c], abs(w))
            st[S_ABS_D, c] = abs(d)
            st[S_SQ_D, c] = d * d
            st[S_WAMP, c] = np.float64(abs(d) > thr_wamp)
            cross = (w != 0.0) & (v != 0.0) & ((w > 0.0) != (v > 0.0)) & (abs(w - v) > thr_zc)
            st[S_ZC, c] = np.float64(cross)
            st[P_PREV_NZ, c] = w if w != 0.0 else v
            st[P_PREV, c] = w
            st[P_PREV_D, c] = d


@jit
def _sums_full(win, st, thr_zc, thr_ssc, thr_wamp):
    # every sum; channels innermost (channel-contiguous windows vectorise across channels)
    n_ch = win.shape[0]
    for i in range(2, win.shape[1]):
        for c in range(n_ch):
            v = np.float64(win[c, i])
            a = abs(v)
            d = v - st[P_PREV, c]
            ad = abs(d)
            pd = st[P_PREV_D, c]
            dd = d - pd
            pz = st[P_PREV_NZ, c]
            st[S_ABS, c] += a
            st[S_SQ, c] += v * v
            st[S_SUM, c] += v
            st[S_PEAK, c] = max(st[S_PEAK, c], a)
            st[S_ABS_D, c] += ad
            st[S_SQ_D, c] += d * d
            st[S_ABS_DD, c] += abs(dd)
            st[S_SQ_DD, c] += dd * dd
            st[S_WAMP, c] += np.float64(ad > thr_wamp)
            # SSC at sample i-1: (x[i-1] - x[i-2]) (x[i-1] - x[i]) = pd · (-d)
            st[S_SSC, c] += np.float64(pd * (-d) > thr_ssc)
            # ZC between consecutive non-zero samples (exact zeros are skipped)
            cross = (v != 0.0) & (pz != 0.0) & ((v > 0.0) != (pz > 0.0)) & (abs(v - pz) > thr_zc)
            st[S_ZC, c] += np.float64(cross)
            st[P_PREV_NZ, c] = v if v != 0.0 else pz
            st[P_PREV_D, c] = d
            st[P_PREV, c] = v


@jit
def _sums_htd(win, st, thr_zc, thr_ssc, thr_wamp):
    # Σ|x|, Σ|Δx| and the three counts (HTD, WAMP, MAV/IAV/WL/MAVFD)
    n_ch = win.shape[0]
    for i in range(2, win.shape[1]):
        for c in range(n_ch):
            v = np.float64(win[c, i])
            d = v - st[P_PREV, c]
            ad = abs(d)
            pd = st[P_PREV_D, c]
            pz = st[P_PREV_NZ, c]
            st[S_ABS, c] += abs(v)
            st[S_ABS_D, c] += ad
            st[S_WAMP, c] += np.float64(ad > thr_wamp)
            st[S_SSC, c] += np.float64(pd * (-d) > thr_ssc)
            cross = (v != 0.0) & (pz != 0.0) & ((v > 0.0) != (pz > 0.0)) & (abs(v - pz) > thr_zc)
            st[S_ZC, c] += np.float64(cross)
            st[P_PREV_NZ, c] = v if v != 0.0 else pz
            st[P_PREV_D, c] = d
            st[P_PREV, c] = v


@jit
def _sums_tdpsd(win, st, thr_zc, thr_ssc, thr_wamp):
    # Σ|x|, Σx², Σ|Δx|, Σ(Δx)², Σ|Δ²x|, Σ(Δ²x)² (TD-PSD, RMS, VAR, DASDV, MFL, ...)
    n_ch = win.shape[0]
    for i in range(2, win.shape[1]):
        for c in range(n_ch):
            v = np.float64(win[c, i])
            d = v - st[P_PREV, c]
            dd = d - st[P_PREV_D, c]
            st[S_ABS, c] += abs(v)
            st[S_SQ, c] += v * v
            st[S_ABS_D, c] += abs(d)
            st[S_SQ_D, c] += d * d
            st[S_ABS_DD, c] += abs(dd)
            st[S_SQ_DD, c] += dd * dd
            st[P_PREV_D, c] = d
            st[P_PREV, c] = v


_HTD_SUMS = (S_ABS, S_ABS_D, S_ZC, S_SSC, S_WAMP)
_TDPSD_SUMS = (S_ABS, S_SQ, S_ABS_D, S_SQ_D, S_ABS_DD, S_SQ_DD)


@jit
def _sums_needed(code, need):
    # mark the sums fast feature ``code`` reads
    if code in (ID_MAV, ID_IAV):
        need[S_ABS] = True
    elif code in (ID_RMS, ID_VAR, ID_RMSPHASOR):
        need[S_SQ] = True
    elif code == ID_MEAN:
        need[S_SUM] = True
    elif code == ID_MPK:
        need[S_PEAK] = True
    elif code in (ID_WL, ID_MAVFD, ID_WLPHASOR):
        need[S_ABS_D] = True
    elif code in (ID_MFL, ID_DASDV, ID_MZP):
        need[S_SQ_D] = True
    elif code == ID_MDIFF:
        need[S_ABS] = True
        need[S_ABS_D] = True
    elif code == ID_WAMP:
        need[S_WAMP] = True
    elif code == ID_SSC:
        need[S_SSC] = True
    elif code == ID_ZC:
        need[S_ZC] = True
    elif code == ID_WLF:
        need[S_ABS_D] = True
        need[S_ABS_DD] = True
    else:  # M0, M2, M4, SPARSI, IRF
        need[S_SQ] = True
        need[S_SQ_D] = True
        need[S_SQ_DD] = True


@jit
def _fast_sums(win, need, thr_zc, thr_ssc, thr_wamp, st):
    """One pass over a window accumulating, per channel, the sums the fast features need.

    ``st[k, c]`` for k in S_*: Σ|x|, Σx², Σx, max|x|, Σ|Δx|, Σ(Δx)², Σ|Δ²x|,
    Σ(Δ²x)², ZC, SSC and WAMP counts. A lean loop is used when the needed sums
    are those of HTD or TD-PSD; every loop does the same operations per channel
    in the same order, so which loop ran never changes a value. Channels are the
    inner loop, so channel-contiguous windows (``buffer[-size:].T``) vectorise
    across channels.
    """
    _sums_head(win, st, thr_zc, thr_wamp)
    htd = True
    tdpsd = True
    for k in range(N_SUMS):
        if need[k]:
            htd = htd and k in _HTD_SUMS
            tdpsd = tdpsd and k in _TDPSD_SUMS
    if htd:
        _sums_htd(win, st, thr_zc, thr_ssc, thr_wamp)
    elif tdpsd:
        _sums_tdpsd(win, st, thr_zc, thr_ssc, thr_wamp)
    else:
        _sums_full(win, st, thr_zc, thr_ssc, thr_wamp)


@jit
def _fast_value(code, sums, c, n):
    """Return fast feature ``code`` of channel ``c`` from the fused sums (as the ``_f_*``)."""
    if code == ID_MAV:
        return sums[S_ABS, c] / n
    if code == ID_IAV:
        return sums[S_ABS, c]
    if code == ID_RMS:
        return math.sqrt(sums[S_SQ, c] / n)
    if code == ID_VAR:
        return sums[S_SQ, c] / (n - 1)
    if code == ID_MEAN:
        return sums[S_SUM, c] / n
    if code == ID_MPK:
        return sums[S_PEAK, c]
    if code == ID_WL:
        return sums[S_ABS_D, c]
    if code == ID_MFL:
        sq = sums[S_SQ_D, c]
        return -np.inf if sq == 0.0 else math.log10(math.sqrt(sq))
    if code == ID_MAVFD:
        return sums[S_ABS_D, c] / (n - 1)
    if code == ID_DASDV:
        return math.sqrt(sums[S_SQ_D, c] / (n - 1))
    if code == ID_MDIFF:
        return _ratio(sums[S_ABS_D, c] / (n - 1), sums[S_ABS, c] / n)
    if code == ID_MZP:
        return sums[S_SQ_D, c] / (n - 1)
    if code == ID_WAMP:
        return sums[S_WAMP, c]
    if code == ID_SSC:
        return sums[S_SSC, c]
    if code == ID_ZC:
        return sums[S_ZC, c]
    if code == ID_WLF:
        return _log(_ratio(sums[S_ABS_D, c], sums[S_ABS_DD, c]))
    m0 = sums[T_M0, c]
    m2 = sums[T_M2, c]
    m4 = sums[T_M4, c]
    if code == ID_M0:
        return _log(m0)
    if code == ID_M2:
        return _log(abs(m0 - m2))
    if code == ID_M4:
        return _log(abs(m0 - m4))
    if code == ID_SPARSI:
        return _log(_ratio(m0, math.sqrt(abs(m0 - m2) * abs(m0 - m4))))
    return _ratio(m2, math.sqrt(m0 * m4))  # IRF


@jit
def _slow_features(
    win,
    bad,
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
    """Per-channel features that need the whole window (copied once to float64)."""
    n_ch = win.shape[0]
    n = win.shape[1]
    n_feat = codes.shape[0]
    x = np.empty((n_ch, n))
    # copy in the input's contiguous order (samples-fastest or channels-fastest)
    if win.strides[1] <= win.strides[0]:
        for c in range(n_ch):
            for i in range(n):
                x[c, i] = win[c, i]
    else:
        for i in range(n):
            for c in range(n_ch):
                x[c, i] = win[c, i]
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
    power = np.empty(half if need_spec else 0)
    f_re = np.empty(n if need_spec else 0)
    f_im = np.empty(n if need_spec else 0)
    f_re2 = np.empty(n if need_spec else 0)
    f_im2 = np.empty(n if need_spec else 0)
    coefs = np.empty(dwt_off[0] if need_dwt else 0)

    for c in range(n_ch):
        if bad[c]:
            continue
        xc = x[c]
        if need_spec:
            power_spectrum(xc, wre, wim, factors, power, f_re, f_im, f_re2, f_im2)
        if need_dwt:
            wavedec_into(xc, dec_lo, dec_hi, dwt_len, dwt_off, coefs)
        for f in range(n_feat):
            code = codes[f]
            if _is_fast(code):
                continue
            base = offs[f] + c * ncol[f]
            if code == ID_TM:
                out[base] = _f_tm(xc, ipar[f, 0])
            elif code == ID_LD:
                out[base] = _f_ld(xc)
            elif code == ID_ISD:
                out[base] = _f_isd(xc, dx)
            elif code == ID_MLK:
                out[base] = _f_mlk(xc)
            elif code == ID_MSR:
                out[base] = _f_msr(xc)
            elif code == ID_LS:
                out[base] = _f_ls(xc, tmp)
            elif code == ID_COR:
                out[base] = _f_cor(xc)
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
                out[base] = mean_frequency(power, df)
            elif code == ID_MDF:
                out[base] = median_frequency(power, df)
            elif code == ID_MNP:
                acc = 0.0
                for j in range(half):
                    acc += power[j]
                out[base] = acc / half
            elif code == ID_SM:
                out[base] = spectral_moment(power, df, fpar[f, 0])
            elif code == ID_PAP:
                acc = 0.0
                for j in range(half):
                    acc = max(acc, power[j])
                out[base] = acc
            elif code == ID_DFTR:
                for b in range(bands.shape[0]):
                    acc = 0.0
                    for j in range(bands[b, 0], bands[b, 1]):
                        acc += power[j]
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
def window_features(
    win,
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
    out,
):
    """Compute the planned features of one window.

    Parameters
    ----------
    win : ndarray of shape (n_channels, size), float32 or float64, any strides
        One window (channels x samples).
    codes, ipar, fpar, offs, ncol, bands, df, wre, wim, factors, dec_lo, dec_hi, dwt_len, dwt_off
        The plan (see the module docstring).
    out : ndarray of shape (n_columns,), float64
        Output row, written in full.
    """
    n_ch = win.shape[0]
    n = win.shape[1]
    n_feat = codes.shape[0]

    need_spec = False
    need_dwt = False
    any_fast = False
    any_slow = False
    max_order = 1
    thr_zc = 0.0
    thr_ssc = 0.0
    thr_wamp = 0.0
    need = np.zeros(N_SUMS, dtype=np.bool_)
    need[S_ABS] = True  # Σ|x| is NaN exactly when the window holds a NaN
    for f in range(n_feat):
        code = codes[f]
        if _is_fast(code):
            any_fast = True
            _sums_needed(code, need)
            if code == ID_ZC:
                thr_zc = fpar[f, 0]
            elif code == ID_SSC:
                thr_ssc = fpar[f, 0]
            elif code == ID_WAMP:
                thr_wamp = fpar[f, 0]
        else:
            any_slow = True
            if code >= ID_MNF and code <= ID_DFTR:
                need_spec = True
            elif code >= ID_WENG:
                need_dwt = True
            elif code in (ID_AR, ID_CC):
                max_order = max(max_order, ipar[f, 0])

    sums = np.empty((N_STATE, n_ch))
    bad = np.zeros(n_ch, dtype=np.bool_)
    if any_fast:
        _fast_sums(win, need, thr_zc, thr_ssc, thr_wamp, sums)
        if need[S_SQ_DD]:
            lam = TDPSD_LAMBDA
            for c in range(n_ch):
                sums[T_M0, c] = math.sqrt(sums[S_SQ, c]) ** lam / lam
                sums[T_M2, c] = math.sqrt(sums[S_SQ_D, c]) ** lam / lam
                sums[T_M4, c] = math.sqrt(sums[S_SQ_DD, c]) ** lam / lam
        for c in range(n_ch):
            bad[c] = sums[S_ABS, c] != sums[S_ABS, c]

    for c in range(n_ch):
        if bad[c]:
            continue
        for f in range(n_feat):
            code = codes[f]
            if _is_fast(code) and code != ID_RMSPHASOR and code != ID_WLPHASOR:
                out[offs[f] + c * ncol[f]] = _fast_value(code, sums, c, n)
    if any_slow:
        _slow_features(
            win,
            bad,
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
        )
    for c in range(n_ch):
        if bad[c]:
            for f in range(n_feat):
                if codes[f] == ID_RMSPHASOR or codes[f] == ID_WLPHASOR:
                    continue
                base = offs[f] + c * ncol[f]
                for k in range(ncol[f]):
                    out[base + k] = np.nan

    amp = np.empty(n_ch)
    for f in range(n_feat):
        code = codes[f]
        if code in (ID_RMSPHASOR, ID_WLPHASOR):
            for c in range(n_ch):
                if bad[c]:
                    amp[c] = np.nan
                elif code == ID_RMSPHASOR:
                    amp[c] = _fast_value(ID_RMS, sums, c, n)
                else:
                    amp[c] = sums[S_ABS_D, c]
            for c in range(n_ch):
                out[offs[f] + c] = _phasor_chord(amp, n_ch, c)


@jit(parallel=True)
def windows_features(
    wins,
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
    out,
):
    """Run :func:`window_features` over every window in parallel.

    Parameters
    ----------
    wins : ndarray of shape (n_windows, n_channels, size), any strides
    codes, ipar, fpar, offs, ncol, bands, df, wre, wim, factors, dec_lo, dec_hi, dwt_len, dwt_off
        The plan (see the module docstring).
    out : ndarray of shape (n_windows, n_columns), float64
        Output, one row per window.
    """
    for w in prange(wins.shape[0]):
        window_features(
            wins[w],
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
            out[w],
        )


@jit
def windows_features_serial(
    wins,
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
    out,
):
    """Run :func:`window_features` over every window on the calling thread.

    Same arguments as :func:`windows_features`. Small batches use this: a
    parallel region costs a thread barrier, which dominates short jobs (and
    stalls on a busy machine while a worker thread waits for a core).
    """
    for w in range(wins.shape[0]):
        window_features(
            wins[w],
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


@register_warmup
def _warmup() -> None:
    n = 32
    ids = np.arange(len(FEATURE_IDS), dtype=np.int64)
    ipar = np.ones((ids.shape[0], 2), dtype=np.int64)
    fpar = np.zeros((ids.shape[0], 3))
    ipar[ID_TM, 0] = 3
    ipar[ID_MAVSLP, 0] = 2
    ipar[ID_SAMPEN, 0] = 2
    ipar[ID_FUZZYEN, 0] = 2
    fpar[ID_SAMPEN, 0] = fpar[ID_FUZZYEN, 0] = 0.2
    fpar[ID_FUZZYEN, 1] = 2.0
    fpar[ID_SM, 0] = 2.0
    ncol = np.ones(ids.shape[0], dtype=np.int64)
    ncol[[ID_WENG, ID_WV, ID_WWL]] = 2
    n_ch = 2
    offs = np.concatenate([[0], np.cumsum(ncol * n_ch)[:-1]]).astype(np.int64)
    bands = np.array([[0, 4], [4, n // 2 + 1]], dtype=np.int64)
    ncol[ID_DFTR] = 2
    offs = np.concatenate([[0], np.cumsum(ncol * n_ch)[:-1]]).astype(np.int64)
    wre, wim, factors = fft_plan(n)
    lo, hi = sym8_filters()
    dwt_len, dwt_off = dwt_layout(n, lo.shape[0], 1)
    data = np.sin(np.arange(n * n_ch * 3, dtype=np.float64)).reshape(3, n_ch, n)
    for arr in (data, data.astype(np.float32)):
        out = np.empty((3, int(offs[-1] + ncol[-1] * n_ch)))
        args = (
            ids,
            ipar,
            fpar,
            offs,
            ncol,
            bands,
            1.0,
            wre,
            wim,
            factors,
            lo,
            hi,
            dwt_len,
            dwt_off,
        )
        windows_features(arr, *args, out)
        windows_features_serial(arr, *args, out)
        window_features(arr[0], *args, out[0])
        # the strided view moveo.emg.windows() produces
        view = np.lib.stride_tricks.as_strided(
            arr.reshape(-1, n_ch),
            shape=(2, n_ch, n),
            strides=(arr.strides[2] * n_ch, arr.strides[2], arr.strides[2] * n_ch),
        )
        windows_features(view, *args, out[:2])
        windows_features_serial(view, *args, out[:2])
        window_features(view[0], *args, out[0])
    window_mode(np.zeros(8, dtype=np.int64), 2, 4, 2, 3, np.empty(3, dtype=np.int64))
