"""Whole-window EMG features: kernels that need every sample of a window at once.

Spectral (MNF, MDF, ...), wavelet, AR / CC, entropy, sorting (LS), Hjorth,
skewness / kurtosis and the other features outside
:data:`moveo.kernels.emg.FAST_IDS` run on float64 copies of the windows:
:func:`copy_windows` converts a block of windows (compiled per input type, tiny),
then :func:`slow_windows` / :func:`slow_windows_parallel` compute them. Those only
ever see float64 C-ordered arrays, so the big kernel is compiled exactly once
whatever the callers' layouts and dtypes. What to compute is one
:class:`WindowPlan` (built once by :class:`moveo.emg.FeaturePlan`).

:func:`window_mode` gives each window its most frequent class label.

Conventions (documented per feature): every sum is accumulated in float64. A
channel whose window holds a NaN gets NaN for every feature. Ratios ``0 / 0`` are
defined as 0 and ``a / 0`` (``a > 0``) as ``+inf`` -- never a floating-point warning.
Features of a window that is exactly constant are defined explicitly (variances,
correlations, skewness... are 0).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.emg import (
    FAST_IDS,
    FEATURE_IDS,
    ID_ACT,
    ID_AR,
    ID_CC,
    ID_COMP,
    ID_DFTR,
    ID_FUZZYEN,
    ID_KURT,
    ID_LS,
    ID_MAVSLP,
    ID_MDF,
    ID_MNF,
    ID_MNP,
    ID_MOB,
    ID_MSR,
    ID_PAP,
    ID_SAMPEN,
    ID_SKEW,
    ID_SM,
    ID_TM,
    ID_WENG,
    ID_WENT,
    ID_WV,
)
from moveo.kernels.emg_entropy import fuzzy_entropy, sample_entropy
from moveo.kernels.emg_sliding import ls_sorted
from moveo.kernels.emg_spectral import (
    fft_plan,
    mean_frequency,
    median_frequency,
    power_spectra,
    spectral_moment,
)
from moveo.kernels.emg_wavelet import dwt_layout, sym8_filters, wavedec_into

__all__ = [
    "WindowPlan",
    "copy_windows",
    "copy_windows_parallel",
    "slow_windows",
    "slow_windows_parallel",
    "window_mode",
]


# --------------------------------------------------------------------------- helpers


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
def _f_tm(x, order):
    """TM = |(1/N) Σ x_i^order| (absolute temporal moment of order ``order``)."""
    acc = 0.0
    if order == 3:
        # what ``x ** 3`` computes for an integer exponent (square, then times x),
        # written out so the loop does not branch per sample
        for i in range(x.shape[0]):
            v = x[i]
            acc += v * (v * v)
    else:
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
    ``b0 = (1/N) Σ x_(i)`` and ``b1 = (1/N) Σ i / (N - 1) · x_(i)``
    (:func:`moveo.kernels.emg_sliding.ls_sorted`, which the sliding path shares).
    """
    n = x.shape[0]
    for i in range(n):
        tmp[i] = x[i]
    s = tmp[:n]
    s.sort()  # in place: no allocation per channel
    return ls_sorted(s)


# --------------------------------------------------------------------------- difference


@jit
def _f_wl(x):
    """WL = Σ_{i=0}^{N-2} |x_{i+1} - x_i|."""
    acc = 0.0
    for i in range(x.shape[0] - 1):
        acc += abs(x[i + 1] - x[i])
    return acc


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


# --------------------------------------------------------------------------- whole-window features


class WindowPlan(NamedTuple):
    """What the whole-window kernels compute: the one plan argument of their entry points.

    Build it with :meth:`build` (it fixes every field's type and derives the flags,
    so all plans share one compiled signature); :class:`moveo.emg.FeaturePlan`
    builds one per feature plan. Feature ``f`` writes channel ``c``, column ``k`` to
    ``out[offs[f] + c * ncol[f] + k]``.
    """

    codes: np.ndarray
    """(F,) int64: feature ids (none in :data:`moveo.kernels.emg.FAST_IDS`)."""
    ipar: np.ndarray
    """(F, 2) int64: integer parameters (order, segments, dimension, level)."""
    fpar: np.ndarray
    """(F, 3) float64: float parameters (SM order; tolerance and power of the entropies)."""
    offs: np.ndarray
    """(F,) int64: first output column of each feature."""
    ncol: np.ndarray
    """(F,) int64: columns per channel of each feature."""
    bands: np.ndarray
    """(B, 2) int64: DFTR bins ``[lo, hi)`` per band."""
    df: float
    """Frequency resolution ``fs / size``."""
    wre: np.ndarray
    """FFT twiddles, real parts (:func:`moveo.kernels.emg_spectral.fft_plan`); empty if unused."""
    wim: np.ndarray
    """FFT twiddles, imaginary parts; empty if unused."""
    factors: np.ndarray
    """FFT radices (int64); empty if unused."""
    dec_lo: np.ndarray
    """DWT low-pass decomposition filter (:mod:`moveo.kernels.emg_wavelet`); empty if unused."""
    dec_hi: np.ndarray
    """DWT high-pass decomposition filter; empty if unused."""
    dwt_len: np.ndarray
    """(L + 1,) int64: DWT band lengths (``[0]`` if unused)."""
    dwt_off: np.ndarray
    """(L + 1,) int64: DWT band offsets (``[0]`` if unused)."""
    need_spec: bool
    """Whether a spectral feature is planned (``wre`` is not empty)."""
    need_dwt: bool
    """Whether a wavelet feature is planned."""
    max_order: int
    """Largest AR / CC order planned (at least 1)."""

    @classmethod
    def build(
        cls,
        codes: np.ndarray,
        ipar: np.ndarray,
        fpar: np.ndarray,
        offs: np.ndarray,
        ncol: np.ndarray,
        *,
        df: float,
        bands: np.ndarray | None = None,
        fft: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        dwt: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> WindowPlan:
        """Return a plan with every field of its fixed type.

        Parameters
        ----------
        codes, ipar, fpar, offs, ncol : array_like
            Per-feature ids, parameters and output layout (see the fields).
        df : float
            Frequency resolution ``fs / size``.
        bands : array_like of shape (B, 2), optional
            DFTR bins per band (none by default).
        fft : tuple, optional
            ``(wre, wim, factors)`` of :func:`moveo.kernels.emg_spectral.fft_plan`,
            if a spectral feature is planned.
        dwt : tuple, optional
            ``(dec_lo, dec_hi, dwt_len, dwt_off)`` (filters of
            :func:`moveo.kernels.emg_wavelet.sym8_filters`, layout of
            :func:`~moveo.kernels.emg_wavelet.dwt_layout`), if a wavelet feature is planned.

        Returns
        -------
        WindowPlan
        """

        def arr(a, dtype, ndim):
            out = np.array(a, dtype=dtype, order="C")
            return out.reshape((0,) * ndim) if out.size == 0 else out

        codes = arr(codes, np.int64, 1)
        ipar = arr(ipar, np.int64, 2).reshape(codes.shape[0], 2)
        orders = ipar[np.isin(codes, [ID_AR, ID_CC]), 0]
        empty = np.empty(0)
        wre, wim, factors = fft if fft is not None else (empty, empty, empty)
        dec_lo, dec_hi, dwt_len, dwt_off = dwt if dwt is not None else (empty, empty, [0], [0])
        return cls(
            codes,
            ipar,
            arr(fpar, np.float64, 2).reshape(codes.shape[0], 3),
            arr(offs, np.int64, 1),
            arr(ncol, np.int64, 1),
            arr(bands if bands is not None else [], np.int64, 2).reshape(-1, 2),
            float(df),
            arr(wre, np.float64, 1),
            arr(wim, np.float64, 1),
            arr(factors, np.int64, 1),
            arr(dec_lo, np.float64, 1),
            arr(dec_hi, np.float64, 1),
            arr(dwt_len, np.int64, 1),
            arr(dwt_off, np.int64, 1),
            bool(fft is not None and len(fft[0])),
            dwt is not None,
            int(max(1, orders.max(initial=1))),
        )


@jit
def copy_windows(wins, x):
    """Copy windows into a float64 C-ordered array, reading the input in memory order.

    Parameters
    ----------
    wins : ndarray of shape (n_windows, n_channels, size), float32 or float64, any strides
    x : ndarray of shape (>= n_windows, n_channels, size), float64, C-ordered
        Destination; rows ``0 .. n_windows - 1`` are written.
    """
    for w in range(wins.shape[0]):
        _copy_one(wins[w], x[w])


@jit(parallel=True)
def copy_windows_parallel(wins, x):
    """:func:`copy_windows` in parallel over windows (same arguments)."""
    for w in prange(wins.shape[0]):
        _copy_one(wins[w], x[w])


@jit
def _copy_one(win, xw):
    n_ch = win.shape[0]
    n = win.shape[1]
    if win.strides[1] <= win.strides[0]:
        for c in range(n_ch):
            for i in range(n):
                xw[c, i] = win[c, i]
    else:
        for i in range(n):
            for c in range(n_ch):
                xw[c, i] = win[c, i]


@jit
def _slow_window(x, plan, out):
    """Whole-window features of one float64 window ``x`` (n_channels, size)."""
    codes = plan.codes
    ipar = plan.ipar
    fpar = plan.fpar
    offs = plan.offs
    ncol = plan.ncol
    bands = plan.bands
    df = plan.df
    wre = plan.wre
    wim = plan.wim
    factors = plan.factors
    dec_lo = plan.dec_lo
    dec_hi = plan.dec_hi
    dwt_len = plan.dwt_len
    dwt_off = plan.dwt_off
    need_spec = plan.need_spec
    need_dwt = plan.need_dwt
    max_order = plan.max_order
    n_ch = x.shape[0]
    n = x.shape[1]
    n_feat = codes.shape[0]
    bad = np.empty(n_ch, dtype=np.bool_)
    for c in range(n_ch):
        nan = False
        for i in range(n):  # no early exit: an OR over the row vectorises
            nan |= x[c, i] != x[c, i]
        bad[c] = nan

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
def slow_windows(x, plan, out):
    """Whole-window features of float64 windows, on the calling thread.

    Parameters
    ----------
    x : ndarray of shape (n_windows, n_channels, size), float64, C-ordered
        Windows copied by :func:`copy_windows` (the only type this kernel is
        compiled for, whatever the caller's input layout and dtype).
    plan : WindowPlan
        The whole-window features to compute (see :class:`WindowPlan`).
    out : ndarray of shape (n_windows, n_columns), float64
        Output; only these features' columns are written.
    """
    for w in range(x.shape[0]):
        _slow_window(x[w], plan, out[w])


@jit(parallel=True)
def slow_windows_parallel(x, plan, out):
    """:func:`slow_windows` in parallel over windows (same arguments)."""
    for w in prange(x.shape[0]):
        _slow_window(x[w], plan, out[w])


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


@register_warmup
def _warmup() -> None:
    # Compiles each entry point for the signatures moveo uses, and nothing else:
    # the whole-window kernel only ever sees float64 C-ordered copies (one signature).
    n = 32
    n_ch = 2
    slow = np.array(sorted(set(FEATURE_IDS.values()) - FAST_IDS), dtype=np.int64)
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
    n_cols = int(offs[-1] + ncol[-1] * n_ch)
    lo, hi = sym8_filters()
    plan = WindowPlan.build(
        slow,
        ipar,
        fpar,
        offs,
        ncol,
        df=1.0,
        bands=np.array([[0, 4], [4, n // 2 + 1]], dtype=np.int64),
        fft=fft_plan(n),
        dwt=(lo, hi, *dwt_layout(n, lo.shape[0], 1)),
    )
    out = np.empty((3, n_cols))
    x = np.empty((3, n_ch, n))
    for dtype in (np.float64, np.float32):
        data = np.asfortranarray(np.sin(np.arange(4 * n * n_ch, dtype=dtype)).reshape(-1, n_ch))
        s0, s1 = data.strides
        wins = np.lib.stride_tricks.as_strided(
            data, shape=(3, n_ch, n), strides=(n * s0, s1, s0), writeable=False
        )
        copy_windows(wins, x)
        copy_windows_parallel(wins, x)
    for entry in (slow_windows, slow_windows_parallel):
        entry(x, plan, out)
    window_mode(np.zeros(8, dtype=np.int64), 2, 4, 2, 3, np.empty(3, dtype=np.int64))
