"""Slow, obvious references for the HMM kernels (``moveo.kernels.hmm``).

Textbook log-space recursions (Rabiner 1989) with ``scipy.special.logsumexp``
per state and step: alpha, beta, gamma and xi stored in full, one segment at a
time. A row of ``log_b`` with a NaN is unobserved (emission term 0).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import logsumexp


def _emissions(log_b):
    lb = np.array(log_b, dtype=np.float64, copy=True)
    lb[np.isnan(lb).any(axis=1)] = 0.0
    return lb


def forward_backward(log_pi, log_a, log_b, offsets):
    """Return (loglik per segment, gamma, xi summed, gamma of first rows summed)."""
    lb = _emissions(log_b)
    n, k = lb.shape
    gamma = np.zeros((n, k))
    xi = np.zeros((k, k))
    gfirst = np.zeros(k)
    lls = []
    for s, e in itertools.pairwise(offsets):
        if e == s:
            lls.append(0.0)
            continue
        m = e - s
        alpha = np.zeros((m, k))
        beta = np.zeros((m, k))
        alpha[0] = log_pi + lb[s]
        for t in range(1, m):
            for j in range(k):
                alpha[t, j] = logsumexp(alpha[t - 1] + log_a[:, j]) + lb[s + t, j]
        ll = logsumexp(alpha[-1])
        lls.append(ll)
        if not np.isfinite(ll):
            continue
        for t in range(m - 2, -1, -1):
            for i in range(k):
                beta[t, i] = logsumexp(log_a[i] + lb[s + t + 1] + beta[t + 1])
        gamma[s:e] = np.exp(alpha + beta - ll)
        for t in range(m - 1):
            for i in range(k):
                for j in range(k):
                    xi[i, j] += np.exp(
                        alpha[t, i] + log_a[i, j] + lb[s + t + 1, j] + beta[t + 1, j] - ll
                    )
        gfirst += gamma[s]
    return np.array(lls), gamma, xi, gfirst


def path_log_prob(log_pi, log_a, log_b, states, s, e):
    """Log joint probability of one segment's state path."""
    lb = _emissions(log_b)
    if e == s:
        return 0.0
    v = log_pi[states[s]] + lb[s, states[s]]
    for t in range(s + 1, e):
        v += log_a[states[t - 1], states[t]] + lb[t, states[t]]
    return v


def viterbi_score(log_pi, log_a, log_b, s, e):
    """Best path score of one segment by brute force over every path (short segments)."""
    k = len(log_pi)
    best = -np.inf
    for path in itertools.product(range(k), repeat=e - s):
        states = np.zeros(e, dtype=np.int64)
        states[s:e] = path
        best = max(best, path_log_prob(log_pi, log_a, log_b, states, s, e))
    return best


def ar_log_emissions(y, x, observed, weights, covs):
    """``log N(y_t; W_k^T x_t, S_k)`` row by row with scipy; NaN on unobserved rows."""
    from scipy.stats import multivariate_normal

    n, k = len(y), len(weights)
    out = np.full((n, k), np.nan)
    for t in range(n):
        if not observed[t]:
            continue
        for s in range(k):
            mean = x[t] @ weights[s]
            out[t, s] = multivariate_normal(mean=mean, cov=covs[s]).logpdf(y[t])
    return out
