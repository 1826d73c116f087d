"""Autoregressive hidden Markov model: design matrices, emissions and EM (Baum-Welch).

Model (one segment ``y_0 .. y_{T-1}`` in ``R^D``, hidden states ``z_t`` in
``0..K-1``): ``z_0 ~ pi``, ``z_t | z_{t-1} ~ A[z_{t-1}]`` and, given the state,
an AR(p) Gaussian emission

    y_t = W_k^T x_t + e_t,   x_t = [y_{t-1}, ..., y_{t-p}, 1],   e_t ~ N(0, S_k).

A row's emission is *defined* when the row and its ``p`` predecessors in the
segment are finite; the other rows (the first ``p`` of a segment, rows next to
NaN) are unobserved: the chain passes through them on the transitions alone
(their emission term is 0, see :mod:`moveo.kernels.hmm`).

EM maximises the penalised log-likelihood (a MAP estimate)

    log p(Y | theta) + kappa sum_k log A[k, k]
        - sum_k [ (c / 2) log|S_k| + tr(S_k^{-1} (lam W_k^T W_k + psi I)) / 2 ]

with ``kappa`` = ``sticky_weight`` (a Dirichlet prior adding ``kappa`` pseudo
self-transitions to every state, the "sticky" HMM of Fox et al. 2011, Ann.
Appl. Stat. 5(2A)), and a matrix-normal / inverse-Wishart-like penalty
(``lam`` = :data:`AR_RIDGE`, ``psi`` = :data:`COV_PRIOR`, ``c = d_x + 1``) that
keeps every state's regression and covariance well posed when it has few
frames. The M-step maximises that objective exactly:

    W_k = (X^T G_k X + lam I)^{-1} X^T G_k Y
    S_k = (Y^T G_k Y - W_k^T X^T G_k Y + psi I) / (N_k + c)
    A[i, j] = (xi[i, j] + kappa [i = j]) / (sum_j xi[i, j] + kappa)
    pi = posterior of the segments' first rows, normalised

(``G_k`` = the posterior weights of state ``k``), so the objective never
decreases between iterations (EM's monotonicity; Dempster, Laird and Rubin
1977). The E-step is :func:`moveo.kernels.hmm.forward_backward`. EM starts
from hard assignments by k-means on ``[y_t, x_t]`` (seeded), and stops after
``n_iter`` iterations or when the objective per observed row improves by less
than ``tol``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from moveo._numba import jit, prange, register_warmup
from moveo.kernels._checks import check_offsets
from moveo.kernels.hmm import forward_backward, viterbi

__all__ = [
    "AR_RIDGE",
    "COV_PRIOR",
    "ArhmmFit",
    "design",
    "fit_arhmm",
    "log_emissions",
]

AR_RIDGE = 1e-4
"""``lam``: ridge on the regression weights (standardised data: negligible next to N_k)."""
COV_PRIOR = 1e-4
"""``psi``: added to each state's residual scatter before dividing by N_k + c."""
PRIOR_DOF: float | None = None
"""``c`` (``None``: ``d_x + 1``); with ``AR_RIDGE = COV_PRIOR = PRIOR_DOF = 0``, plain ML."""


def _dof(dx: int) -> float:
    return dx + 1.0 if PRIOR_DOF is None else float(PRIOR_DOF)


@dataclass
class ArhmmFit:
    """A fitted ARHMM (arrays only; :mod:`moveo.features.arhmm` wraps it).

    Attributes
    ----------
    log_pi : numpy.ndarray
        (K,) log initial probabilities.
    log_a : numpy.ndarray
        (K, K) log transition matrix.
    weights : numpy.ndarray
        (K, D * p + 1, D) regression weights ``W_k`` (lag 1 first, intercept last).
    covs : numpy.ndarray
        (K, D, D) noise covariances ``S_k``.
    usage : numpy.ndarray
        (K,) share of the observed rows' posterior mass in each state.
    objective : list of float
        Penalised log-likelihood before each M-step (one per iteration).
    loglik : list of float
        Log-likelihood ``log p(Y | theta)`` at the same points.
    converged : bool
        Stopped by ``tol`` before ``n_iter``.
    """

    log_pi: np.ndarray
    log_a: np.ndarray
    weights: np.ndarray
    covs: np.ndarray
    usage: np.ndarray = field(default_factory=lambda: np.zeros(0))
    objective: list[float] = field(default_factory=list)
    loglik: list[float] = field(default_factory=list)
    converged: bool = False

    @property
    def n_states(self) -> int:
        """Number of states."""
        return int(self.log_pi.shape[0])

    def subset(self, keep: np.ndarray) -> ArhmmFit:
        """Keep the states ``keep`` (in that order), renormalising pi and the transitions."""
        with np.errstate(divide="ignore"):
            a = np.exp(self.log_a[np.ix_(keep, keep)])
            a /= a.sum(axis=1, keepdims=True)
            pi = np.exp(self.log_pi[keep])
            pi = pi / pi.sum() if pi.sum() > 0 else np.full(len(keep), 1.0 / len(keep))
            return ArhmmFit(
                np.log(pi),
                np.log(a),
                self.weights[keep],
                self.covs[keep],
                self.usage[keep] if len(self.usage) else self.usage,
                list(self.objective),
                list(self.loglik),
                self.converged,
            )


def design(y: np.ndarray, offsets: np.ndarray, n_lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Lagged design matrix and which rows have a defined emission.

    Parameters
    ----------
    y : numpy.ndarray
        (n_rows, D) observations, NaN where missing.
    offsets : numpy.ndarray
        Segment starts ``[0, ..., n_rows]``.
    n_lags : int
        AR order ``p`` (>= 1).

    Returns
    -------
    x : numpy.ndarray
        (n_rows, D * p + 1): ``[y_{t-1}, ..., y_{t-p}, 1]``, NaN where a lag
        falls before the segment start.
    observed : numpy.ndarray
        (n_rows,) bool: the row and its ``p`` lags are finite.
    """
    n, d = y.shape
    offsets = check_offsets(offsets, n)
    pos = np.arange(n) - np.repeat(offsets[:-1], np.diff(offsets))
    x = np.full((n, d * n_lags + 1), np.nan)
    x[:, -1] = 1.0
    for lag in range(1, n_lags + 1):
        ok = pos >= lag
        cols = slice((lag - 1) * d, lag * d)
        x[np.flatnonzero(ok), cols] = y[np.flatnonzero(ok) - lag]
    observed = np.isfinite(y).all(axis=1) & np.isfinite(x).all(axis=1)
    return x, observed


@jit(parallel=True)
def _log_emissions(y, x, rows, weights, chol_inv, const, out):
    # out[rows[r], k] = const[k] - |L_k^{-1} (y_t - W_k^T x_t)|^2 / 2
    k = weights.shape[0]
    dx = weights.shape[1]
    d = weights.shape[2]
    for r in prange(rows.shape[0]):
        t = rows[r]
        resid = np.empty(d)
        for s in range(k):
            for j in range(d):
                acc = y[t, j]
                for i in range(dx):
                    acc -= x[t, i] * weights[s, i, j]
                resid[j] = acc
            q = 0.0
            for j in range(d):
                z = 0.0
                for i in range(j + 1):
                    z += chol_inv[s, j, i] * resid[i]
                q += z * z
            out[t, s] = const[s] - 0.5 * q


def log_emissions(
    y: np.ndarray, x: np.ndarray, observed: np.ndarray, weights: np.ndarray, covs: np.ndarray
) -> np.ndarray:
    """``log N(y_t; W_k^T x_t, S_k)`` for every row and state; NaN on unobserved rows.

    Computed by a numba kernel (rows in parallel) with each covariance's inverse
    Cholesky factor: ``-(D log 2 pi + log|S_k| + |L_k^{-1} r|^2) / 2``.

    Returns
    -------
    numpy.ndarray
        (n_rows, K).
    """
    n, d = y.shape
    k = weights.shape[0]
    out = np.full((n, k), np.nan)
    rows = np.flatnonzero(observed).astype(np.int64)
    if len(rows) == 0:
        return out
    chol_inv = np.empty((k, d, d))
    const = np.empty(k)
    for s in range(k):
        chol = np.linalg.cholesky(covs[s])
        chol_inv[s] = np.linalg.inv(chol)
        const[s] = -0.5 * (d * math.log(2.0 * math.pi) + 2.0 * np.log(np.diag(chol)).sum())
    _log_emissions(
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(x, dtype=np.float64),
        rows,
        np.ascontiguousarray(weights, dtype=np.float64),
        np.ascontiguousarray(np.tril(chol_inv)),
        const,
        out,
    )
    return out


# k-means for EM's start runs on at most this many rows (seeded sample); every
# row is then assigned to the nearest centre
_KMEANS_ROWS = 20_000


def _kmeans_labels(f: np.ndarray, k: int, rng: np.random.Generator, n_iter: int = 25) -> np.ndarray:
    # k-means++ seeding, then Lloyd iterations (numpy; a handful of iterations is
    # all EM's starting point needs)
    n = len(f)
    sample = f if n <= _KMEANS_ROWS else f[np.sort(rng.choice(n, _KMEANS_ROWS, replace=False))]
    cent = np.empty((k, f.shape[1]))
    cent[0] = sample[rng.integers(len(sample))]
    d2 = ((sample - cent[0]) ** 2).sum(1)
    for c in range(1, k):
        total = d2.sum()
        i = rng.choice(len(sample), p=d2 / total) if total > 0 else rng.integers(len(sample))
        cent[c] = sample[i]
        d2 = np.minimum(d2, ((sample - cent[c]) ** 2).sum(1))
    labels = np.full(len(sample), -1, dtype=np.int64)
    for _ in range(n_iter):
        new = _nearest(sample, cent)
        if np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = sample[labels == c]
            if len(members):
                cent[c] = members.mean(0)
    return _nearest(f, cent)


def _nearest(f: np.ndarray, cent: np.ndarray) -> np.ndarray:
    dist = (f * f).sum(1)[:, None] - 2.0 * f @ cent.T + (cent * cent).sum(1)[None, :]
    return np.argmin(dist, axis=1)


# rows per chunk of the weighted scatter products (bounds the (rows, (dx + D)^2) buffer)
_SCATTER_ROWS = 16_384


def _scatter(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    # per state: sum_t w[t, k] z_t z_t^T with z_t = [x_t, y_t], as one GEMM per chunk
    z = np.hstack([x, y])
    m = z.shape[1]
    out = np.zeros((w.shape[1], m * m))
    for start in range(0, len(z), _SCATTER_ROWS):
        zc = z[start : start + _SCATTER_ROWS]
        outer = (zc[:, :, None] * zc[:, None, :]).reshape(len(zc), m * m)
        out += w[start : start + _SCATTER_ROWS].T @ outer
    return out.reshape(w.shape[1], m, m)


def _m_step_emissions(
    y: np.ndarray, x: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    # exact maximiser of the weighted Gaussian AR terms + penalty; returns the
    # penalty of the new parameters too
    d = y.shape[1]
    dx = x.shape[1]
    k = w.shape[1]
    c = _dof(dx)
    weights = np.empty((k, dx, d))
    covs = np.empty((k, d, d))
    penalty = 0.0
    scatter = _scatter(y, x, w)
    n_k = w.sum(axis=0)
    for s in range(k):
        sxx = scatter[s, :dx, :dx] + AR_RIDGE * np.eye(dx)
        sxy = scatter[s, :dx, dx:]
        syy = scatter[s, dx:, dx:]
        wk = np.linalg.solve(sxx, sxy)
        m = syy - sxy.T @ wk + COV_PRIOR * np.eye(d)
        m = 0.5 * (m + m.T)
        cov = m / (n_k[s] + c)
        weights[s], covs[s] = wk, cov
        penalty += _penalty(wk, cov, c)
    return weights, covs, penalty


def _penalty(wk: np.ndarray, cov: np.ndarray, c: float) -> float:
    d = cov.shape[0]
    _, logdet = np.linalg.slogdet(cov)
    inner = AR_RIDGE * wk.T @ wk + COV_PRIOR * np.eye(d)
    return float(-0.5 * c * logdet - 0.5 * np.trace(np.linalg.solve(cov, inner)))


def _transitions(xi: np.ndarray, kappa: float, old: np.ndarray) -> np.ndarray:
    counts = xi + kappa * np.eye(len(xi))
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(total > 0, counts / np.where(total > 0, total, 1.0), np.exp(old))
        return np.log(a)


def _sticky_prior(log_a: np.ndarray, kappa: float) -> float:
    return float(kappa * np.diag(log_a).sum()) if kappa else 0.0


def fit_arhmm(
    y: np.ndarray,
    offsets: np.ndarray,
    *,
    n_states: int,
    n_lags: int = 1,
    sticky_weight: float = 100.0,
    n_iter: int = 200,
    tol: float = 1e-4,
    random_state: int | np.random.Generator = 42,
) -> ArhmmFit:
    """Fit one ARHMM by EM from a k-means start (see the module docstring).

    Parameters
    ----------
    y : numpy.ndarray
        (n_rows, D) float64 observations, NaN where missing.
    offsets : numpy.ndarray
        Segment starts ``[0, ..., n_rows]``.
    n_states, n_lags, sticky_weight, n_iter, tol, random_state
        Model size, AR order, sticky pseudo-counts, EM budget, stopping
        threshold (objective gain per observed row) and seed.

    Returns
    -------
    ArhmmFit

    Raises
    ------
    ValueError
        Fewer rows with a defined emission than ``n_states``.

    Notes
    -----
    BLAS runs single-threaded during the fit: its products here are thin
    (rows x states x (D p + 1 + D)^2) and, on a machine whose cores are busy,
    OpenBLAS's spinning threads made one M-step's products 30 times slower
    (3.2 s against 0.09 s for 100,000 rows x 50 states, measured under load);
    the numba kernels do the parallel work.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_arhmm(y, offsets, n_states, n_lags, sticky_weight, n_iter, tol, random_state)


def _fit_arhmm(
    y: np.ndarray,
    offsets: np.ndarray,
    n_states: int,
    n_lags: int,
    sticky_weight: float,
    n_iter: int,
    tol: float,
    random_state: int | np.random.Generator,
) -> ArhmmFit:
    y = np.ascontiguousarray(y, dtype=np.float64)
    offsets = check_offsets(offsets, len(y))
    rng = np.random.default_rng(random_state)
    x, observed = design(y, offsets, n_lags)
    n_obs = int(observed.sum())
    if n_obs < n_states:
        raise ValueError(
            f"arhmm: only {n_obs} frames have {n_lags} finite preceding frame(s) in their "
            f"track, fewer than n_states={n_states}; lower n_states or n_lags, or add data"
        )
    yo, xo = y[observed], x[observed]
    labels = _kmeans_labels(np.hstack([yo, xo[:, :-1]]), n_states, rng)
    w = np.zeros((n_obs, n_states))
    w[np.arange(n_obs), labels] = 1.0
    weights, covs, _ = _m_step_emissions(yo, xo, w)
    hard = np.full(len(y), -1)
    hard[observed] = labels
    xi = np.ones((n_states, n_states))
    step = (hard[:-1] >= 0) & (hard[1:] >= 0)
    np.add.at(xi, (hard[:-1][step], hard[1:][step]), 1.0)
    log_a = _transitions(xi, sticky_weight, np.zeros((n_states, n_states)))
    log_pi = np.full(n_states, -math.log(n_states))
    fit = ArhmmFit(log_pi, log_a, weights, covs)
    penalty = sum(_penalty(weights[s], covs[s], _dof(xo.shape[1])) for s in range(n_states))
    prev = -np.inf
    gamma = np.zeros((len(y), n_states))
    for _ in range(n_iter):
        lb = log_emissions(y, x, observed, fit.weights, fit.covs)
        ll, gamma, xi, gfirst = forward_backward(fit.log_pi, fit.log_a, lb, offsets)
        total_ll = float(ll.sum())
        obj = total_ll + penalty + _sticky_prior(fit.log_a, sticky_weight)
        fit.loglik.append(total_ll)
        fit.objective.append(obj)
        if np.isfinite(prev) and (obj - prev) / n_obs < tol:
            fit.converged = True
            break
        prev = obj
        fit.weights, fit.covs, penalty = _m_step_emissions(yo, xo, gamma[observed])
        fit.log_a = _transitions(xi, sticky_weight, fit.log_a)
        if gfirst.sum() > 0:
            with np.errstate(divide="ignore"):
                fit.log_pi = np.log(gfirst / gfirst.sum())
    fit.usage = gamma[observed].sum(axis=0) / n_obs
    return fit


def decode(
    fit: ArhmmFit, y: np.ndarray, offsets: np.ndarray, n_lags: int
) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi states of every row, and which rows have a defined emission.

    Returns
    -------
    states : numpy.ndarray
        (n_rows,) int64 state of the best path (also on unobserved rows).
    observed : numpy.ndarray
        (n_rows,) bool.
    """
    y = np.ascontiguousarray(y, dtype=np.float64)
    x, observed = design(y, offsets, n_lags)
    lb = log_emissions(y, x, observed, fit.weights, fit.covs)
    states, _ = viterbi(fit.log_pi, fit.log_a, lb, offsets)
    return states, observed


@register_warmup
def _warmup() -> None:
    y = np.array([[0.0, 1.0], [1.0, 0.5], [np.nan, 0.0], [2.0, 1.0]])
    x, observed = design(y, np.array([0, 4]), 1)
    log_emissions(y, x, observed, np.zeros((2, 3, 2)), np.stack([np.eye(2)] * 2))
