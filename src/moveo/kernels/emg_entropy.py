"""Entropy kernels for EMG windows: sample entropy and fuzzy entropy.

Both use ``N - m`` templates for dimension ``m`` and ``m + 1`` (so the two
counts are comparable) and a tolerance ``r = tolerance · std(x)`` (population
standard deviation of the window), the usual ``r = 0.2 · SD`` convention.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = ["fuzzy_entropy", "sample_entropy"]


@jit
def _std(x):
    n = x.shape[0]
    lo = x[0]
    hi = x[0]
    mean = 0.0
    for i in range(n):
        v = x[i]
        mean += v
        lo = min(lo, v)
        hi = max(hi, v)
    if lo == hi:
        return 0.0
    mean /= n
    acc = 0.0
    for i in range(n):
        d = x[i] - mean
        acc += d * d
    return math.sqrt(acc / n)


@jit
def sample_entropy(x, dim, tolerance):
    """SAMPEN: ``-ln(A / B)``.

    ``B`` counts template pairs ``i < j`` (``0 <= i, j < N - m``) whose length-``m``
    templates are within Chebyshev distance ``r``; ``A`` counts the pairs whose
    length-``m + 1`` templates are. ``A = 0`` gives ``+inf`` (no regularity
    found). A constant window has ``r = 0`` and every pair matches: 0.

    Runs in ``O(N²)`` whatever ``m``: for each lag ``k = j - i`` a run length of
    consecutive matching samples tells whether a template pair matches.

    Parameters
    ----------
    x : ndarray of shape (n,), float64
    dim : int
        Embedding dimension ``m`` (``n >= m + 2``).
    tolerance : float
        ``r`` as a fraction of the window's standard deviation.

    Returns
    -------
    float
    """
    n = x.shape[0]
    r = tolerance * _std(x)
    n_t = n - dim  # number of templates for both dimensions
    count_b = 0
    count_a = 0
    for k in range(1, n_t):
        run = 0
        # samples i and i + k; template pairs (s, s + k) need s + k <= n_t - 1
        for i in range(n - k):
            if abs(x[i] - x[i + k]) <= r:
                run += 1
            else:
                run = 0
            s = i - dim + 1
            if s >= 0 and s + k <= n_t - 1 and run >= dim:
                count_b += 1
            s1 = i - dim
            if s1 >= 0 and s1 + k <= n_t - 1 and run >= dim + 1:
                count_a += 1
    if count_a == 0:
        return np.inf
    return -math.log(count_a / count_b)


@jit
def _fuzzy_phi(x, dim, n_t, r, power, tpl):
    # baseline-removed templates of length dim, rows 0 .. n_t - 1
    for i in range(n_t):
        mean = 0.0
        for k in range(dim):
            mean += x[i + k]
        mean /= dim
        for k in range(dim):
            tpl[i, k] = x[i + k] - mean
    acc = 0.0
    for i in range(n_t):
        for j in range(i + 1, n_t):
            d = 0.0
            for k in range(dim):
                d = max(d, abs(tpl[i, k] - tpl[j, k]))
            if r > 0.0:
                acc += math.exp(-((d / r) ** power))
            elif d == 0.0:
                acc += 1.0
    return 2.0 * acc / (n_t * (n_t - 1.0))


@jit
def fuzzy_entropy(x, dim, tolerance, power):
    """FUZZYEN: ``ln φ_m - ln φ_{m+1}``.

    Templates ``u_i = x[i : i + d] - mean(x[i : i + d])`` (``0 <= i < N - m``),
    ``d_ij`` their Chebyshev distance, membership ``D_ij = exp(-(d_ij / r)^power)``
    (with ``r = 0``: 1 if ``d_ij = 0`` else 0) and ``φ_d`` the mean of ``D_ij``
    over pairs ``i != j``. ``φ_{m+1} = 0`` gives ``+inf``.

    Parameters
    ----------
    x : ndarray of shape (n,), float64
    dim : int
        Embedding dimension ``m`` (``n >= m + 2``).
    tolerance : float
        ``r`` as a fraction of the window's standard deviation.
    power : float
        Fuzzy exponent (2 in the usual definition).

    Returns
    -------
    float
    """
    n = x.shape[0]
    r = tolerance * _std(x)
    n_t = n - dim
    tpl = np.empty((n_t, dim + 1))
    phi_m = _fuzzy_phi(x, dim, n_t, r, power, tpl)
    phi_m1 = _fuzzy_phi(x, dim + 1, n_t, r, power, tpl)
    if not phi_m1 > 0.0:
        return np.inf
    if not phi_m > 0.0:
        return -np.inf
    return math.log(phi_m) - math.log(phi_m1)


@register_warmup
def _warmup() -> None:
    x = np.sin(np.arange(20.0))
    sample_entropy(x, 2, 0.2)
    fuzzy_entropy(x, 2, 0.2, 2.0)
