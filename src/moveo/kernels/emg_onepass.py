"""One-pass EMG features: running sums over the samples of each window.

The features of :data:`moveo.kernels.emg.FAST_IDS` (MAV, RMS, WL, ZC, SSC, the
TD-PSD set, the phasor pairs, ...) come from one pass of running sums over a
sample-major window ``(size, n_channels)``, channels innermost so the loop
vectorises across channels. What to compute is one :class:`OnePassPlan` (built
once by :class:`moveo.emg.FeaturePlan`), passed whole to every entry point:

* :func:`fast_rows` / :func:`fast_rows_parallel` -- windows over sample-major data
  read in place (``moveo.emg.windows`` views of C-ordered data);
* :func:`fast_windows` / :func:`fast_windows_parallel` -- windows of any layout,
  each transposed into a float64 scratch first;
* :func:`fast_window` -- one channel-contiguous window (the realtime path,
  ``buffer[-size:].T``); :func:`fast_window_entry` hands out its compiled entry
  point for callers that fix the argument types themselves.

Every path computes a window with the same ``_fast_one`` code, so realtime and
offline features are the same numbers. Loops over windows are serial or
``prange`` (each iteration writing only its own output row).

One-pass loops run across channels in SIMD lanes and :data:`STEP` samples at a
time, keeping each channel's running sums in registers; the TD-PSD logarithms
and powers use :mod:`moveo.kernels.emg_vmath` (array versions of ``log`` /
``exp`` that vectorise).

Conventions: every sum is accumulated in float64, so float32 and float64 input
give float64 output. A channel whose window holds a NaN gets NaN for every
feature. Ratios ``0 / 0`` are 0, ``log(0)`` is ``-inf`` -- never a floating-point
warning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from numba import typeof
from numba.core import types

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.emg import (
    FAST_IDS,
    ID_COR,
    ID_DASDV,
    ID_IAV,
    ID_IRF,
    ID_ISD,
    ID_LD,
    ID_M0,
    ID_M2,
    ID_M4,
    ID_MAV,
    ID_MAVFD,
    ID_MDIFF,
    ID_MEAN,
    ID_MFL,
    ID_MLK,
    ID_MPK,
    ID_MZP,
    ID_RMS,
    ID_RMSPHASOR,
    ID_SPARSI,
    ID_SSC,
    ID_VAR,
    ID_WAMP,
    ID_WL,
    ID_WLF,
    ID_WLPHASOR,
    ID_ZC,
    MLK_EPS,
    TDPSD_LAMBDA,
)
from moveo.kernels.emg_vmath import log_abs, log_square_eps, vexp, vlog

__all__ = [
    "KIND_AMP",
    "KIND_FULL",
    "KIND_HTD",
    "KIND_TDPSD",
    "STEP",
    "OnePassPlan",
    "fast_rows",
    "fast_rows_parallel",
    "fast_window",
    "fast_window_entry",
    "fast_windows",
    "fast_windows_parallel",
    "sample_major_view",
    "sums_kind",
]

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
# LD's Σ ln|x| (see _log_sums)
S_LN_ABS = T_TMP + N_TMP
N_STATE = S_LN_ABS + 1

# Loop kinds: each computes a superset of the sums its features read (see sums_kind).
KIND_FULL, KIND_AMP, KIND_HTD, KIND_TDPSD = 0, 1, 2, 3

STEP = 2
"""Samples per step of the one-pass loops: each channel's running sums stay in
registers for ``STEP`` samples (one load/store of the state per step, not per
sample). 2 is as fast as 4 for the lean loops and keeps the twelve sums of the
full loop in vector registers; every loop kind uses the same step, so the sums
are added in the same pattern whichever kind runs."""

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
    ID_LD: (S_MIN_ABS,),
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
    KIND_HTD: frozenset({S_ABS, S_ABS_D, S_ZC, S_SSC, S_MIN_ABS}),
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


class OnePassPlan(NamedTuple):
    """What the one-pass kernels compute: the one plan argument of every entry point.

    Build it with :meth:`build` (it fixes every field's type, so all plans share one
    compiled signature); :class:`moveo.emg.FeaturePlan` builds one per feature plan.
    """

    codes: np.ndarray
    """(F,) int64: feature ids, all in :data:`moveo.kernels.emg.FAST_IDS`."""
    offs: np.ndarray
    """(F,) int64: feature ``f`` writes channel ``c`` to column ``offs[f] + c`` (the
    phasor pairs their ``n_channels * (n_channels - 1)`` columns from ``offs[f]`` on)."""
    kind: int
    """Loop kind (``KIND_*``, from :func:`sums_kind`)."""
    thr_zc: float
    """ZC threshold."""
    thr_ssc: float
    """SSC threshold."""
    thr_wamp: float
    """WAMP threshold."""

    @classmethod
    def build(
        cls,
        codes: np.ndarray,
        offs: np.ndarray,
        kind: int | None = None,
        *,
        thr_zc: float = 0.0,
        thr_ssc: float = 0.0,
        thr_wamp: float = 0.0,
    ) -> OnePassPlan:
        """Return a plan with every field of its fixed type.

        Parameters
        ----------
        codes, offs : array_like of int
            Fast feature ids and their first output column.
        kind : int, optional
            Loop kind; default :func:`sums_kind` of ``codes`` (the leanest).
        thr_zc, thr_ssc, thr_wamp : float, default 0.0
            ZC / SSC / WAMP thresholds.

        Returns
        -------
        OnePassPlan
        """
        codes = np.array(codes, dtype=np.int64, order="C")
        offs = np.array(offs, dtype=np.int64, order="C")
        if codes.ndim != 1 or offs.shape != codes.shape:
            raise ValueError(
                f"codes and offs must be 1-D of one length, got {codes.shape} and {offs.shape}"
            )
        if kind is None:
            kind = sums_kind(codes)
        return cls(codes, offs, int(kind), float(thr_zc), float(thr_ssc), float(thr_wamp))


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
    """ZC of channel ``c`` of a sample-major window, exact zeros skipped.

    Sign changes between consecutive *non-zero* samples ``a, b`` with ``|a - b| >
    threshold``: ``1, 0, -1`` is one crossing and ``1, 0, 1`` none.
    """
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
def _log_sums(lt, row):
    """``row[c] = Σ_i lt[i, c]``, added in order ``i = 0, 1, ...`` (LD's Σ ln|x|)."""
    for c in range(lt.shape[1]):
        row[c] = lt[0, c]
    for i in range(1, lt.shape[0]):
        for c in range(lt.shape[1]):
            row[c] += lt[i, c]


@jit
def _fast_one(xt, yt, lt, plan, st, st2, out):
    """One-pass features of one sample-major window ``xt`` (size, n_channels) into ``out``.

    ``yt`` is ``ln(xt² + ε)`` (:func:`log_square_eps`, read only if a TD-PSD
    feature is planned), ``lt`` is ``ln |xt|`` (:func:`log_abs`, read only if LD is
    planned). ``st``, ``st2`` are float64 (N_STATE, n_channels) work space.
    """
    _sums_rows(xt, plan.kind, plan.thr_zc, plan.thr_ssc, plan.thr_wamp, st)
    need_y, need_l = _log_stages(plan.codes)
    if need_y:
        _sums_rows(yt, KIND_TDPSD, 0.0, 0.0, 0.0, st2)
    if need_l:
        _log_sums(lt, st[S_LN_ABS])
    _finish_one(xt, plan, st, st2, False, out)


@jit
def _finish_one(xt, plan, st, st2, moments_done, out):
    """Write the features of one window from its one-pass sums (rows ``0 .. N_SUMS - 1``).

    ``st`` holds the sums of the window ``xt`` (read again only to recount ZC in a
    channel with an exact zero), ``st2`` those of ``ln(xt² + ε)`` (filled only if a
    TD-PSD feature is planned); with ``moments_done`` both hold their
    :func:`_tdpsd_rows` rows already.
    """
    codes = plan.codes
    offs = plan.offs
    kind = plan.kind
    n = xt.shape[0]
    n_ch = xt.shape[1]
    need_zc = False
    need_moments = False
    for f in range(codes.shape[0]):
        need_zc = need_zc or codes[f] == ID_ZC
        need_moments = need_moments or ID_M0 <= codes[f] <= ID_WLF
    if need_zc:
        for c in range(n_ch):
            if st[S_MIN_ABS, c] == 0.0:  # an exact zero: count with zeros skipped
                st[S_ZC, c] = _zc_exact(xt, c, plan.thr_zc)
    if need_moments and not moments_done:
        _tdpsd_rows(st, n)
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
        if code == ID_LD:
            # exp((1/N) Σ ln|x|), 0 if a sample is 0 (also beside an infinite one)
            for c in range(n_ch):
                zero = st[S_MIN_ABS, c] == 0.0
                col[c] = 0.0 if zero else math.exp(st[S_LN_ABS, c] / n)
        elif code == ID_MLK:
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
def _log_stages(codes):
    # (the TD-PSD stage ln(x² + ε) is needed, LD's ln|x| is needed)
    need_y = False
    need_l = False
    for f in range(codes.shape[0]):
        need_y = need_y or ID_M0 <= codes[f] <= ID_WLF
        need_l = need_l or codes[f] == ID_LD
    return need_y, need_l


@jit
def _work(n_ch, n_rows, stages):
    need_y, need_l = stages
    st = np.empty((N_STATE, n_ch))
    st2 = np.empty((N_STATE, n_ch))
    ybuf = np.empty((n_rows if need_y else 0, n_ch))
    lbuf = np.empty((n_rows if need_l else 0, n_ch))
    return st, st2, ybuf, lbuf


LANES_WIDTH = 32
"""Below this many channels, :func:`fast_rows` lays several windows side by side.

The one-pass loops vectorise across channels, but LLVM only enters the vector
loop when the channel count covers its runtime alias checks (16 to 32 channels,
depending on the loop kind); below that every sample is summed one channel at a
time, 4-7x slower. So for fewer channels, ``ceil(LANES_WIDTH / n_channels)``
windows are copied side by side into a ``(size, lanes * n_channels)`` scratch and
summed as one wide window. Each column is still summed sample by sample in order,
so the values are the ones the direct path gives (bit for bit)."""


@jit
def _lanes(n_ch):
    # windows summed side by side (1: the direct path)
    return 1 if n_ch >= LANES_WIDTH else (LANES_WIDTH + n_ch - 1) // n_ch


@jit
def _lane_work(n_ch, size, stages):
    need_y, need_l = stages
    lanes = _lanes(n_ch)
    width = lanes * n_ch if lanes > 1 else 0
    xs = np.zeros((size if lanes > 1 else 0, width))
    ys = np.zeros((size if lanes > 1 and need_y else 0, width))
    ls = np.zeros((size if lanes > 1 and need_l else 0, width))
    stw = np.zeros((N_STATE, width))
    stw2 = np.zeros((N_STATE, width))
    return xs, ys, ls, stw, stw2


@jit
def _flat_rows(a, lo, n_vals):
    # the n_vals values of C-ordered rows lo, lo + 1, ... of a, as one (1, n_vals) row
    return a[lo:].reshape(-1)[:n_vals].reshape(1, n_vals)


@jit
def _lay_side_by_side(src, start, size, k, dst):
    # rows start .. start + size - 1 of src into columns k n_ch .. (k + 1) n_ch - 1 of dst
    n_ch = src.shape[1]
    for i in range(size):
        for c in range(n_ch):
            dst[i, k * n_ch + c] = src[start + i, c]


@jit
def _rows_block(flat, increment, size, w0, w1, plan, work, lane_work, out):
    # windows w0 .. w1 - 1 of fast_rows, with their logarithms (the TD-PSD stage
    # ln(x² + ε), LD's ln|x|) computed once per sample of the block, not per window
    st, st2, ybuf, lbuf = work
    xs, ys, ls, stw, stw2 = lane_work
    need_y, need_l = _log_stages(plan.codes)
    n_ch = flat.shape[1]
    lo = w0 * increment
    # one flat loop over the block's values (vectorises whatever the channel count)
    n_vals = ((w1 - 1) * increment + size - lo) * n_ch
    if need_y:
        log_square_eps(_flat_rows(flat, lo, n_vals), _flat_rows(ybuf, 0, n_vals))
    if need_l:
        log_abs(_flat_rows(flat, lo, n_vals), _flat_rows(lbuf, 0, n_vals))
    lanes = xs.shape[1] // n_ch
    if lanes <= 1:
        for w in range(w0, w1):
            start = w * increment
            xt = flat[start : start + size]
            yt = ybuf[start - lo : start - lo + size]
            lt = lbuf[start - lo : start - lo + size]
            _fast_one(xt, yt, lt, plan, st, st2, out[w])
        return
    for g in range(w0, w1, lanes):
        k_n = min(lanes, w1 - g)
        for k in range(k_n):
            start = (g + k) * increment
            _lay_side_by_side(flat, start, size, k, xs)
            if need_y:
                _lay_side_by_side(ybuf, start - lo, size, k, ys)
            if need_l:
                _lay_side_by_side(lbuf, start - lo, size, k, ls)
        _sums_rows(xs, plan.kind, plan.thr_zc, plan.thr_ssc, plan.thr_wamp, stw)
        if need_y:
            # the TD-PSD moments of both stages, for all the windows at once
            _sums_rows(ys, KIND_TDPSD, 0.0, 0.0, 0.0, stw2)
            _tdpsd_rows(stw, size)
            _tdpsd_rows(stw2, size)
        if need_l:
            _log_sums(ls, stw[S_LN_ABS])
        for k in range(k_n):
            for r in range(N_STATE):
                for c in range(n_ch):
                    st[r, c] = stw[r, k * n_ch + c]
                    st2[r, c] = stw2[r, k * n_ch + c]
            start = (g + k) * increment
            _finish_one(flat[start : start + size], plan, st, st2, True, out[g + k])


@jit
def fast_rows(flat, increment, n_windows, plan, out):
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
    plan : OnePassPlan
        What to compute and where to write it (see :class:`OnePassPlan`).
    out : ndarray of shape (n_windows, n_columns), float64
        Output; only the fast features' columns are written. The window size is
        ``flat.shape[0] - (n_windows - 1) * increment``.
    """
    n_ch = flat.shape[1]
    size = flat.shape[0] - (n_windows - 1) * increment
    stages = _log_stages(plan.codes)
    per = _block(n_ch, size, increment)
    work = _work(n_ch, (per - 1) * increment + size, stages)
    lane_work = _lane_work(n_ch, size, stages)
    for b in range((n_windows + per - 1) // per):
        w1 = min(n_windows, (b + 1) * per)
        _rows_block(flat, increment, size, b * per, w1, plan, work, lane_work, out)


@jit
def _block(n_ch, size, increment):
    # Windows per block of fast_rows: the TD-PSD stage ln(x² + ε) is computed once per
    # block over the samples its windows span (about 64k values, so it stays in cache),
    # not once per window (8x fewer logarithms at window 200 / hop 25)
    span = max(2 * size, 65536 // max(1, n_ch))
    return max(1, (span - size) // max(1, increment) + 1)


@jit(parallel=True)
def fast_rows_parallel(flat, increment, n_windows, plan, out):
    """:func:`fast_rows` in parallel over blocks of windows (same arguments, same values)."""
    n_ch = flat.shape[1]
    size = flat.shape[0] - (n_windows - 1) * increment
    stages = _log_stages(plan.codes)
    per = _block(n_ch, size, increment)
    for b in prange((n_windows + per - 1) // per):
        work = _work(n_ch, (per - 1) * increment + size, stages)
        lane_work = _lane_work(n_ch, size, stages)
        w1 = min(n_windows, (b + 1) * per)
        _rows_block(flat, increment, size, b * per, w1, plan, work, lane_work, out)


@jit
def fast_window(win, plan, out):
    """One-pass features of one channel-contiguous window (the realtime path).

    ``win`` is ``buffer[-size:].T`` of a C-ordered ``(n_samples, n_channels)``
    buffer: a Fortran-ordered ``(n_channels, size)`` array whose transpose is
    the sample-major window :func:`fast_rows` reads.

    Parameters
    ----------
    win : ndarray of shape (n_channels, size), float32 or float64, Fortran-ordered
    plan : OnePassPlan
    out : ndarray of shape (n_columns,), float64
        Output; only the fast features' columns are written.
    """
    n_ch = win.shape[0]
    n = win.shape[1]
    need_y, need_l = _log_stages(plan.codes)
    # one allocation for every work array
    n_y = n if need_y else 0
    n_l = n if need_l else 0
    n_st = N_STATE * n_ch
    work = np.empty(2 * n_st + (n_y + n_l) * n_ch)
    st = work[:n_st].reshape(N_STATE, n_ch)
    st2 = work[n_st : 2 * n_st].reshape(N_STATE, n_ch)
    y = work[2 * n_st : 2 * n_st + n_y * n_ch].reshape(n_y, n_ch)
    lt = work[2 * n_st + n_y * n_ch :].reshape(n_l, n_ch)
    xt = win.T
    if need_y:
        log_square_eps(xt, y)
    if need_l:
        log_abs(xt, lt)
    _fast_one(xt, y, lt, plan, st, st2, out)


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
def _transposed_one(win, plan, tscr, work, out):
    st, st2, ybuf, lbuf = work
    need_y, need_l = _log_stages(plan.codes)
    _transpose_into(win, tscr)
    if need_y:
        log_square_eps(tscr, ybuf)
    if need_l:
        log_abs(tscr, lbuf)
    _fast_one(tscr, ybuf, lbuf, plan, st, st2, out)


@jit
def fast_windows(wins, plan, out):
    """One-pass features of windows of any layout, on the calling thread.

    Each window is transposed into a float64 sample-major scratch first (use
    :func:`fast_rows` when the windows are sample-major already).

    Parameters
    ----------
    wins : ndarray of shape (n_windows, n_channels, size), float32 or float64, any strides
    plan : OnePassPlan
    out : ndarray of shape (n_windows, n_columns), float64
        Output; only the fast features' columns are written.
    """
    n_ch = wins.shape[1]
    work = _work(n_ch, wins.shape[2], _log_stages(plan.codes))
    tscr = np.empty((wins.shape[2], n_ch))
    for w in range(wins.shape[0]):
        _transposed_one(wins[w], plan, tscr, work, out[w])


@jit(parallel=True)
def fast_windows_parallel(wins, plan, out):
    """:func:`fast_windows` in parallel over windows (same arguments)."""
    n_ch = wins.shape[1]
    stages = _log_stages(plan.codes)
    for w in prange(wins.shape[0]):
        work = _work(n_ch, wins.shape[2], stages)
        tscr = np.empty((wins.shape[2], n_ch))
        _transposed_one(wins[w], plan, tscr, work, out[w])


# ------------------------------------------------------------------- the realtime entry point

_WINDOW_ENTRIES: dict[np.dtype, object] = {}


def fast_window_entry(dtype: np.dtype, plan: OnePassPlan):
    """Return :func:`fast_window`'s compiled entry point, skipping numba's argument typing.

    Numba's dispatcher spends ~2 µs per call typing a :class:`OnePassPlan` (a tuple
    is typed field by field, in Python); the entry point reads its arguments *as*
    the types below, so the caller must guarantee them (``FeaturePlan.window``
    checks them in a few attribute reads) -- anything else is undefined behaviour.

    Parameters
    ----------
    dtype : numpy.dtype
        ``float32`` or ``float64`` (native byte order).
    plan : OnePassPlan
        Any plan made by :meth:`OnePassPlan.build` (they all have the same type).

    Returns
    -------
    callable
        ``entry(win, plan, out)``: ``win`` a writeable, aligned, Fortran-ordered
        ``(n_channels, size)`` array of ``dtype``; ``plan`` a :class:`OnePassPlan`
        from :meth:`OnePassPlan.build`; ``out`` a writeable, aligned, contiguous
        1-D float64 array.
    """
    entry = _WINDOW_ENTRIES.get(dtype)
    if entry is None:
        win = types.Array(typeof(np.empty(0, dtype=dtype)).dtype, 2, "F")
        entry = fast_window.compile((win, typeof(plan), types.Array(types.float64, 1, "C")))
        _WINDOW_ENTRIES[dtype] = entry
    return entry


# --------------------------------------------------------------------------- warm-up


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


@register_warmup
def _warmup() -> None:
    # Compiles each entry point for the signatures moveo uses, and nothing else.
    n = 32
    n_ch = 2
    fast = np.array(sorted(FAST_IDS), dtype=np.int64)
    plan = OnePassPlan.build(fast, np.arange(fast.shape[0], dtype=np.int64) * n_ch, KIND_FULL)
    out = np.empty((3, fast.shape[0] * n_ch))
    for dtype in (np.float64, np.float32):
        flat = sample_major_view(np.sin(np.arange(4 * n * n_ch, dtype=dtype)).reshape(-1, n_ch))
        fast_rows(flat, n, 3, plan, out)
        fast_rows_parallel(flat, n, 3, plan, out)
        ring = np.sin(np.arange(n * n_ch, dtype=dtype)).reshape(n, n_ch)  # writeable buffer
        fast_window(ring.T, plan, out[0])
        fast_window_entry(np.dtype(dtype), plan)(ring.T, plan, out[0])
    for wins in _warmup_windows(n_ch, n):
        fast_windows(wins, plan, out)
        fast_windows_parallel(wins, plan, out)
