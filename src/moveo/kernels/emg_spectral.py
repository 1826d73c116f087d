"""Spectral EMG kernels: a mixed-radix FFT and power-spectrum features.

numba cannot call :mod:`numpy.fft`, so this module carries a small self-sorting
(Stockham) mixed-radix FFT for any window length. A window of ``n`` samples is
factored into primes once (:func:`fft_plan`); every stage is a radix-``p`` DFT
butterfly followed by a twiddle multiplication, so the cost is
``n * sum(factors)`` complex multiply-adds (``n = 200 = 2·2·2·5·5`` costs
``16 n``). A prime ``n`` falls back to one ``n``-point DFT stage (still exact,
just ``O(n²)``).

The power spectrum of a window ``x`` of length ``N`` is the one-sided
``P_j = |X_j|²`` for ``j = 0 .. N // 2`` where ``X = DFT(x)`` (no scaling, no
taper), at frequencies ``f_j = j · fs / N``.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = [
    "fft_plan",
    "mean_frequency",
    "median_frequency",
    "power_spectrum",
    "spectral_moment",
]


def _prime_factors(n: int) -> list[int]:
    factors = []
    p = 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


_PLANS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def fft_plan(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the twiddle tables and prime factors for an ``n``-point FFT.

    Parameters
    ----------
    n : int
        Transform length (window size), at least 1.

    Returns
    -------
    tw_re, tw_im : ndarray of shape (n,)
        ``cos(2πk/n)`` and ``-sin(2πk/n)``, i.e. ``W_n^k = exp(-2πik/n)``.
    factors : ndarray of shape (n_factors,), int64
        The prime factors of ``n`` (empty for ``n == 1``).
    """
    plan = _PLANS.get(n)
    if plan is None:
        k = np.arange(n, dtype=np.float64)
        tw_re = np.cos(2.0 * np.pi * k / n)
        tw_im = -np.sin(2.0 * np.pi * k / n)
        plan = (tw_re, tw_im, np.asarray(_prime_factors(n), dtype=np.int64))
        _PLANS[n] = plan
    return plan


@jit
def _fft(re, im, wre, wim, factors, tmp_re, tmp_im):
    """Forward DFT of ``re + i·im`` (length n), Stockham autosort, mixed radix.

    Stage with radix ``p``, current sub-length ``L = n / s`` and ``m = L / p``:
    ``y[q + s(p·j + t)] = W_L^{j·t} · Σ_r x[q + s(j + r·m)] · W_p^{r·t}``
    (``W_L = W_n^s``, ``W_p = W_n^{n/p}``). After the last stage the result is
    in natural order.

    Returns 0 if the result is in ``(re, im)``, 1 if it is in ``(tmp_re, tmp_im)``.
    """
    n = re.shape[0]
    s = 1
    length = n
    flip = 0
    for f in range(factors.shape[0]):
        p = factors[f]
        m = length // p
        step_p = n // p
        if flip == 0:
            src_re, src_im, dst_re, dst_im = re, im, tmp_re, tmp_im
        else:
            src_re, src_im, dst_re, dst_im = tmp_re, tmp_im, re, im
        for j in range(m):
            for t in range(p):
                k2 = (s * j * t) % n
                tr = wre[k2]
                ti = wim[k2]
                for q in range(s):
                    acc_re = 0.0
                    acc_im = 0.0
                    if p == 2:
                        a0 = q + s * j
                        a1 = q + s * (j + m)
                        if t == 0:
                            acc_re = src_re[a0] + src_re[a1]
                            acc_im = src_im[a0] + src_im[a1]
                        else:
                            acc_re = src_re[a0] - src_re[a1]
                            acc_im = src_im[a0] - src_im[a1]
                    else:
                        k = 0
                        for r in range(p):
                            idx = q + s * (j + r * m)
                            ar = src_re[idx]
                            ai = src_im[idx]
                            acc_re += ar * wre[k] - ai * wim[k]
                            acc_im += ar * wim[k] + ai * wre[k]
                            k += step_p * t
                            if k >= n:
                                k -= n * (k // n)
                    out = q + s * (p * j + t)
                    dst_re[out] = acc_re * tr - acc_im * ti
                    dst_im[out] = acc_re * ti + acc_im * tr
        flip ^= 1
        s *= p
        length = m
    return flip


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
    for j in range(power.shape[0]):
        acc += (j * df) ** order * power[j]
    return acc


@register_warmup
def _warmup() -> None:
    for n in (8, 12):
        wre, wim, fac = fft_plan(n)
        x = np.linspace(-1.0, 1.0, n)
        p = np.empty(n // 2 + 1)
        s = [np.empty(n) for _ in range(4)]
        power_spectrum(x, wre, wim, fac, p, *s)
        mean_frequency(p, 1.0)
        median_frequency(p, 1.0)
        spectral_moment(p, 1.0, 2.0)
