"""Spectral EMG kernels: a mixed-radix FFT and power-spectrum features.

numba cannot call :mod:`numpy.fft`, so this module carries a small self-sorting
(Stockham) mixed-radix FFT for any window length. A window of ``n`` samples is
factored once (:func:`fft_plan`: radix-4 stages for pairs of 2, then 2, 3, 5 and
any other prime), with every stage's twiddles precomputed; radices 2, 3, 4 and 5
have hard-coded butterflies (``n = 200 = 4·2·5·5`` takes four passes). A large
prime factor falls back to a plain ``p``-point DFT stage (still exact, just
``O(n·p)``). Real windows are transformed two channels per complex FFT
(:func:`power_spectra`).

The power spectrum of a window ``x`` of length ``N`` is the one-sided
``P_j = |X_j|²`` for ``j = 0 .. N // 2`` where ``X = DFT(x)`` (no scaling, no
taper), at frequencies ``f_j = j · fs / N``.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = [
    "fft",
    "fft_plan",
    "mean_frequency",
    "median_frequency",
    "power_spectra",
    "power_spectrum",
    "spectral_moment",
]


def _radices(n: int) -> list[int]:
    # prime factors with pairs of 2 merged into radix-4 stages (fewer passes over the data)
    primes = []
    p = 2
    while p * p <= n:
        while n % p == 0:
            primes.append(p)
            n //= p
        p += 1
    if n > 1:
        primes.append(n)
    twos = primes.count(2)
    return [4] * (twos // 2) + [2] * (twos % 2) + [q for q in primes if q != 2]


_PLANS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def fft_plan(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the twiddle tables and radices for an ``n``-point FFT.

    Parameters
    ----------
    n : int
        Transform length (window size), at least 1.

    Returns
    -------
    tw_re, tw_im : ndarray of shape (n + n_stage_twiddles,)
        The first ``n`` entries are ``W_n^k = exp(-2πik/n)`` (real and imaginary
        parts); then, stage by stage, the twiddles ``W_n^{s·j·t}`` for
        ``j < m`` and ``t = 1 .. p-1`` that the stage multiplies its outputs by
        (precomputed so no stage computes an index modulo ``n``).
    factors : ndarray of shape (n_stages,), int64
        The radix of each stage (4, 2, 3, 5, ... ; empty for ``n == 1``).
    """
    plan = _PLANS.get(n)
    if plan is None:
        radices = _radices(n)
        ks = [np.arange(n, dtype=np.int64)]
        s = 1
        length = n
        for p in radices:
            m = length // p
            j = np.arange(m, dtype=np.int64)[:, None]
            t = np.arange(1, p, dtype=np.int64)[None, :]
            ks.append(((s * j * t) % n).ravel())
            s *= p
            length = m
        k = np.concatenate(ks).astype(np.float64)
        angle = 2.0 * np.pi * k / max(n, 1)
        plan = (np.cos(angle), -np.sin(angle), np.asarray(radices, dtype=np.int64))
        _PLANS[n] = plan
    return plan


# constants of the radix-3 and radix-5 butterflies
_S3 = 0.8660254037844386467637231707529362  # sin(2π/3)
_C51 = 0.3090169943749474241022934171828191  # cos(2π/5)
_C52 = -0.8090169943749474241022934171828191  # cos(4π/5)
_S51 = 0.9510565162951535721164393333793821  # sin(2π/5)
_S52 = 0.5877852522924731291687059546390728  # sin(4π/5)


@jit
def _stage2(xr, xi, yr, yi, wre, wim, tw, s, m):
    # radix-2 stage (see _fft): y[q + s(2j + t)] = W^{jt} Σ_r x[q + s(j + rm)] W_2^{rt}
    sm = s * m
    for j in range(m):
        w_r = wre[tw + j]
        w_i = wim[tw + j]
        for q in range(s):
            src = q + s * j
            dst = q + 2 * s * j
            a0r = xr[src]
            a0i = xi[src]
            a1r = xr[src + sm]
            a1i = xi[src + sm]
            yr[dst] = a0r + a1r
            yi[dst] = a0i + a1i
            br = a0r - a1r
            bi = a0i - a1i
            yr[dst + s] = br * w_r - bi * w_i
            yi[dst + s] = br * w_i + bi * w_r


@jit
def _stage4(xr, xi, yr, yi, wre, wim, tw, s, m):
    # radix-4 stage (see _fft)
    sm = s * m
    for j in range(m):
        t = tw + 3 * j
        w1r = wre[t]
        w1i = wim[t]
        w2r = wre[t + 1]
        w2i = wim[t + 1]
        w3r = wre[t + 2]
        w3i = wim[t + 2]
        for q in range(s):
            src = q + s * j
            dst = q + 4 * s * j
            a0r = xr[src]
            a0i = xi[src]
            a1r = xr[src + sm]
            a1i = xi[src + sm]
            a2r = xr[src + 2 * sm]
            a2i = xi[src + 2 * sm]
            a3r = xr[src + 3 * sm]
            a3i = xi[src + 3 * sm]
            t0r = a0r + a2r
            t0i = a0i + a2i
            t1r = a0r - a2r
            t1i = a0i - a2i
            t2r = a1r + a3r
            t2i = a1i + a3i
            t3r = a1r - a3r
            t3i = a1i - a3i
            yr[dst] = t0r + t2r
            yi[dst] = t0i + t2i
            # b1 = t1 - i·t3, b2 = t0 - t2, b3 = t1 + i·t3
            br = t1r + t3i
            bi = t1i - t3r
            yr[dst + s] = br * w1r - bi * w1i
            yi[dst + s] = br * w1i + bi * w1r
            br = t0r - t2r
            bi = t0i - t2i
            yr[dst + 2 * s] = br * w2r - bi * w2i
            yi[dst + 2 * s] = br * w2i + bi * w2r
            br = t1r - t3i
            bi = t1i + t3r
            yr[dst + 3 * s] = br * w3r - bi * w3i
            yi[dst + 3 * s] = br * w3i + bi * w3r


@jit
def _stage3(xr, xi, yr, yi, wre, wim, tw, s, m):
    # radix-3 stage (see _fft)
    sm = s * m
    for j in range(m):
        t = tw + 2 * j
        w1r = wre[t]
        w1i = wim[t]
        w2r = wre[t + 1]
        w2i = wim[t + 1]
        for q in range(s):
            src = q + s * j
            dst = q + 3 * s * j
            a0r = xr[src]
            a0i = xi[src]
            a1r = xr[src + sm]
            a1i = xi[src + sm]
            a2r = xr[src + 2 * sm]
            a2i = xi[src + 2 * sm]
            sr = a1r + a2r
            si = a1i + a2i
            # -i·(√3/2)·(a1 - a2)
            dr = _S3 * (a1i - a2i)
            di = -_S3 * (a1r - a2r)
            yr[dst] = a0r + sr
            yi[dst] = a0i + si
            mr = a0r - 0.5 * sr
            mi = a0i - 0.5 * si
            br = mr + dr
            bi = mi + di
            yr[dst + s] = br * w1r - bi * w1i
            yi[dst + s] = br * w1i + bi * w1r
            br = mr - dr
            bi = mi - di
            yr[dst + 2 * s] = br * w2r - bi * w2i
            yi[dst + 2 * s] = br * w2i + bi * w2r


@jit
def _stage5(xr, xi, yr, yi, wre, wim, tw, s, m):
    # radix-5 stage (see _fft)
    sm = s * m
    for j in range(m):
        t = tw + 4 * j
        w1r = wre[t]
        w1i = wim[t]
        w2r = wre[t + 1]
        w2i = wim[t + 1]
        w3r = wre[t + 2]
        w3i = wim[t + 2]
        w4r = wre[t + 3]
        w4i = wim[t + 3]
        for q in range(s):
            src = q + s * j
            dst = q + 5 * s * j
            a0r = xr[src]
            a0i = xi[src]
            a1r = xr[src + sm]
            a1i = xi[src + sm]
            a2r = xr[src + 2 * sm]
            a2i = xi[src + 2 * sm]
            a3r = xr[src + 3 * sm]
            a3i = xi[src + 3 * sm]
            a4r = xr[src + 4 * sm]
            a4i = xi[src + 4 * sm]
            s14r = a1r + a4r
            s14i = a1i + a4i
            d14r = a1r - a4r
            d14i = a1i - a4i
            s23r = a2r + a3r
            s23i = a2i + a3i
            d23r = a2r - a3r
            d23i = a2i - a3i
            yr[dst] = a0r + s14r + s23r
            yi[dst] = a0i + s14i + s23i
            # b1,4 = m1 ∓ i·n1, b2,3 = m2 ∓ i·n2
            m1r = a0r + _C51 * s14r + _C52 * s23r
            m1i = a0i + _C51 * s14i + _C52 * s23i
            m2r = a0r + _C52 * s14r + _C51 * s23r
            m2i = a0i + _C52 * s14i + _C51 * s23i
            n1r = _S51 * d14r + _S52 * d23r
            n1i = _S51 * d14i + _S52 * d23i
            n2r = _S52 * d14r - _S51 * d23r
            n2i = _S52 * d14i - _S51 * d23i
            br = m1r + n1i
            bi = m1i - n1r
            yr[dst + s] = br * w1r - bi * w1i
            yi[dst + s] = br * w1i + bi * w1r
            br = m2r + n2i
            bi = m2i - n2r
            yr[dst + 2 * s] = br * w2r - bi * w2i
            yi[dst + 2 * s] = br * w2i + bi * w2r
            br = m2r - n2i
            bi = m2i + n2r
            yr[dst + 3 * s] = br * w3r - bi * w3i
            yi[dst + 3 * s] = br * w3i + bi * w3r
            br = m1r - n1i
            bi = m1i + n1r
            yr[dst + 4 * s] = br * w4r - bi * w4i
            yi[dst + 4 * s] = br * w4i + bi * w4r


@jit
def _stage_dft(xr, xi, yr, yi, wre, wim, tw, s, m, p):
    # any other prime radix p: the plain p-point sum per butterfly (see _fft)
    n = xr.shape[0]
    step = n // p
    for j in range(m):
        base_tw = tw + j * (p - 1)
        for q in range(s):
            src = q + s * j
            dst = q + s * p * j
            for t in range(p):
                acc_re = 0.0
                acc_im = 0.0
                k = 0
                for r in range(p):
                    ar = xr[src + s * r * m]
                    ai = xi[src + s * r * m]
                    acc_re += ar * wre[k] - ai * wim[k]
                    acc_im += ar * wim[k] + ai * wre[k]
                    k += step * t
                    if k >= n:
                        k -= n
                if t == 0:
                    yr[dst] = acc_re
                    yi[dst] = acc_im
                else:
                    w_r = wre[base_tw + t - 1]
                    w_i = wim[base_tw + t - 1]
                    yr[dst + t * s] = acc_re * w_r - acc_im * w_i
                    yi[dst + t * s] = acc_re * w_i + acc_im * w_r


@jit
def _fft(re, im, wre, wim, factors, tmp_re, tmp_im):
    """Forward DFT of ``re + i·im`` (length n), Stockham autosort, mixed radix.

    Stage with radix ``p``, current sub-length ``L = n / s`` and ``m = L / p``:
    ``y[q + s(p·j + t)] = W_L^{j·t} · Σ_r x[q + s(j + r·m)] · W_p^{r·t}``
    (``W_L = W_n^s``, ``W_p = W_n^{n/p}``). Radices 2, 3, 4 and 5 use
    hard-coded butterflies (one function per radix, so each stage's loops are
    compiled for its butterfly alone); any other prime uses the plain
    ``p``-point sum. After the last stage the result is in natural order.

    Returns 0 if the result is in ``(re, im)``, 1 if it is in ``(tmp_re, tmp_im)``.
    """
    n = re.shape[0]
    s = 1
    length = n
    flip = 0
    tw = n  # stage twiddles start after the W_n^k table
    for f in range(factors.shape[0]):
        p = factors[f]
        m = length // p
        if flip == 0:
            xr, xi, yr, yi = re, im, tmp_re, tmp_im
        else:
            xr, xi, yr, yi = tmp_re, tmp_im, re, im
        if p == 4:
            _stage4(xr, xi, yr, yi, wre, wim, tw, s, m)
        elif p == 2:
            _stage2(xr, xi, yr, yi, wre, wim, tw, s, m)
        elif p == 5:
            _stage5(xr, xi, yr, yi, wre, wim, tw, s, m)
        elif p == 3:
            _stage3(xr, xi, yr, yi, wre, wim, tw, s, m)
        else:
            _stage_dft(xr, xi, yr, yi, wre, wim, tw, s, m, p)
        tw += m * (p - 1)
        flip ^= 1
        s *= p
        length = m
    return flip


@jit
def fft(re, im, wre, wim, factors):
    """Forward DFT ``X_k = Σ_j (re_j + i·im_j) exp(-2πijk/n)`` in place.

    Parameters
    ----------
    re, im : ndarray of shape (n,), float64
        Real and imaginary parts; overwritten with the transform.
    wre, wim, factors : ndarray
        From :func:`fft_plan` (n).
    """
    n = re.shape[0]
    tmp_re = np.empty(n)
    tmp_im = np.empty(n)
    if _fft(re, im, wre, wim, factors, tmp_re, tmp_im) == 1:
        re[:] = tmp_re
        im[:] = tmp_im


@jit
def power_spectrum(x, wre, wim, factors, power, re, im, tmp_re, tmp_im):
    """One-sided power spectrum ``P_j = |X_j|²``, ``j = 0 .. n // 2``.

    Parameters
    ----------
    x : ndarray of shape (n,), float64
        One window of one channel.
    wre, wim, factors : ndarray
        From :func:`fft_plan`.
    power : ndarray of shape (n // 2 + 1,), float64
        Output.
    re, im, tmp_re, tmp_im : ndarray of shape (n,), float64
        Scratch.
    """
    n = x.shape[0]
    for i in range(n):
        re[i] = x[i]
        im[i] = 0.0
    flip = _fft(re, im, wre, wim, factors, tmp_re, tmp_im)
    half = n // 2 + 1
    if flip == 0:
        for j in range(half):
            power[j] = re[j] * re[j] + im[j] * im[j]
    else:
        for j in range(half):
            power[j] = tmp_re[j] * tmp_re[j] + tmp_im[j] * tmp_im[j]


@jit
def _all_zero(x):
    for i in range(x.shape[0]):  # noqa: SIM110 - a plain loop compiles to the tightest numba code
        if x[i] != 0.0:
            return False
    return True


@jit
def power_spectra(x, skip, wre, wim, factors, power):
    """One-sided power spectra of every channel, two real channels per complex FFT.

    With ``z = x_a + i·x_b`` and ``Z = DFT(z)``: ``X_a[k] = (Z_k + conj Z_{n-k}) / 2``
    and ``X_b[k] = (Z_k - conj Z_{n-k}) / 2i``, so
    ``P_a[k] = |Z_k + conj Z_{n-k}|² / 4`` and ``P_b[k] = |Z_k - conj Z_{n-k}|² / 4``.
    An all-zero channel gets exactly zero power and is not paired (pairing would
    leak its partner's rounding into it); skipped channels are left untouched.

    Parameters
    ----------
    x : ndarray of shape (n_channels, n), float64
    skip : ndarray of shape (n_channels,), bool
        Channels not to transform (e.g. windows with NaN).
    wre, wim, factors : ndarray
        From :func:`fft_plan` (n).
    power : ndarray of shape (n_channels, n // 2 + 1), float64
        Output.
    """
    n_ch = x.shape[0]
    n = x.shape[1]
    half = n // 2 + 1
    re = np.empty(n)
    im = np.empty(n)
    tmp_re = np.empty(n)
    tmp_im = np.empty(n)
    pending = -1
    for c in range(n_ch + 1):
        if c < n_ch:
            if skip[c]:
                continue
            if _all_zero(x[c]):
                power[c, :] = 0.0
                continue
            if pending < 0:
                pending = c
                continue
        elif pending < 0:
            break
        a = pending
        if c == n_ch:  # an odd channel out: transform it alone
            power_spectrum(x[a], wre, wim, factors, power[a], re, im, tmp_re, tmp_im)
            break
        xa = x[a]
        xb = x[c]
        for i in range(n):
            re[i] = xa[i]
            im[i] = xb[i]
        if _fft(re, im, wre, wim, factors, tmp_re, tmp_im) == 1:
            zr = tmp_re
            zi = tmp_im
        else:
            zr = re
            zi = im
        pa = power[a]
        pb = power[c]
        for k in range(half):
            kk = n - k if k > 0 else 0
            # Z_k ± conj Z_{n-k}
            sr = zr[k] + zr[kk]
            si = zi[k] - zi[kk]
            dr = zr[k] - zr[kk]
            di = zi[k] + zi[kk]
            pa[k] = 0.25 * (sr * sr + si * si)
            pb[k] = 0.25 * (dr * dr + di * di)
        pending = -1


@jit
def mean_frequency(power, df):
    """MNF: ``Σ f_j P_j / Σ P_j`` (0 for a window with zero power)."""
    num = 0.0
    den = 0.0
    for j in range(power.shape[0]):
        num += j * df * power[j]
        den += power[j]
    if den > 0.0:
        return num / den
    return 0.0


@jit
def median_frequency(power, df):
    """MDF: the first ``f_j`` at which the cumulative power reaches half the total.

    Returns 0 for a window with zero power.
    """
    total = 0.0
    for j in range(power.shape[0]):
        total += power[j]
    if not total > 0.0:
        return 0.0
    half = 0.5 * total
    cum = 0.0
    for j in range(power.shape[0]):
        cum += power[j]
        if cum >= half:
            return j * df
    return (power.shape[0] - 1) * df


@jit
def spectral_moment(power, df, order):
    """SM: ``Σ_j f_j^order P_j``."""
    acc = 0.0
    k = int(order)
    if k == order and 0 <= k <= 8:
        # small integer orders (SM2 is the usual one): products, not a pow call per bin
        for j in range(power.shape[0]):
            f = j * df
            fk = 1.0
            for _ in range(k):
                fk *= f
            acc += fk * power[j]
        return acc
    for j in range(power.shape[0]):
        acc += (j * df) ** order * power[j]
    return acc


@register_warmup
def _warmup() -> None:
    n = 12
    wre, wim, fac = fft_plan(n)
    x = np.linspace(-1.0, 1.0, 3 * n).reshape(3, n)
    p = np.empty((3, n // 2 + 1))
    power_spectra(x, np.zeros(3, dtype=np.bool_), wre, wim, fac, p)
    fft(x[0].copy(), x[1].copy(), wre, wim, fac)
    mean_frequency(p[0], 1.0)
    median_frequency(p[0], 1.0)
    spectral_moment(p[0], 1.0, 2.0)
