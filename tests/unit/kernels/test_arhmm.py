"""ARHMM EM (``moveo.kernels.arhmm``): parameter recovery, monotone objective, design, decode.

Proves: on data generated from a known 3-state AR(1) HMM in 2-D, EM recovers
the transition matrix (within 0.01), the AR weights (within 0.05) and the
noise covariances (within 0.02) up to a permutation of the states, and
Viterbi recovers the true states on more than 95 % of the frames; the
penalised log-likelihood never decreases over EM iterations (also with
unobserved rows and without the sticky prior), and with every prior off the
log-likelihood itself never decreases; the lagged design marks rows
without predecessors in their segment as unobserved; too little data is a
clear error; the numba emission kernel equals scipy's Gaussian log-density
(NaN and lag-less rows unobserved, empty and single-row inputs).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moveo.kernels.arhmm import _scatter, decode, design, fit_arhmm, log_emissions
from reference import hmm as ref

TRUE_A = np.array([[0.97, 0.02, 0.01], [0.015, 0.97, 0.015], [0.02, 0.01, 0.97]])
# (state, [lag-1 x, lag-1 y, intercept], output dimension)
TRUE_W = np.array(
    [
        [[0.9, 0.1], [-0.1, 0.9], [0.5, 0.0]],
        [[0.5, -0.4], [0.4, 0.5], [-1.0, 1.0]],
        [[-0.3, 0.0], [0.0, 0.7], [0.0, -1.5]],
    ]
)
TRUE_S = np.array(
    [[[0.10, 0.02], [0.02, 0.05]], [[0.05, 0.0], [0.0, 0.05]], [[0.2, -0.05], [-0.05, 0.1]]]
)


def generate(rng, n_seg=8, length=2500, a=TRUE_A, w=TRUE_W, s=TRUE_S):
    """Sample segments from the ARHMM (a, w, s); returns (y, z, offsets)."""
    k = len(a)
    ys, zs = [], []
    chol = np.linalg.cholesky(s)
    for _ in range(n_seg):
        y = np.zeros((length, w.shape[2]))
        z = np.zeros(length, dtype=np.int64)
        z[0] = rng.integers(k)
        y[0] = rng.normal(size=w.shape[2])
        for t in range(1, length):
            z[t] = rng.choice(k, p=a[z[t - 1]])
            y[t] = np.r_[y[t - 1], 1.0] @ w[z[t]] + chol[z[t]] @ rng.normal(size=w.shape[2])
        ys.append(y)
        zs.append(z)
    return np.vstack(ys), np.concatenate(zs), np.arange(n_seg + 1) * length


@pytest.fixture(scope="module")
def sample():
    return generate(np.random.default_rng(0))


def _match(fit):
    # the permutation of fitted states that best matches the true AR weights
    return min(
        itertools.permutations(range(3)),
        key=lambda p: np.abs(fit.weights[list(p)] - TRUE_W).max(),
    )


def test_recovers_known_parameters(sample):
    y, z, offsets = sample
    fit = fit_arhmm(y, offsets, n_states=3, sticky_weight=10.0, tol=1e-7, random_state=1)
    p = list(_match(fit))
    a = np.exp(fit.log_a)[np.ix_(p, p)]
    np.testing.assert_allclose(a, TRUE_A, atol=0.01)
    np.testing.assert_allclose(fit.weights[p], TRUE_W, atol=0.05)
    np.testing.assert_allclose(fit.covs[p], TRUE_S, atol=0.02)
    states, observed = decode(fit, y, offsets, 1)
    inverse = np.argsort(p)  # fitted state -> true state
    agree = (inverse[states] == z)[observed].mean()
    assert agree > 0.95
    # the first row of each segment has no lag: unobserved
    assert not observed[offsets[:-1]].any() and observed.sum() == len(y) - 8


def test_objective_never_decreases(sample):
    y, _, offsets = sample
    y = y[:6000].copy()
    y[100:110] = np.nan  # unobserved rows inside a segment
    offsets = np.array([0, 2500, 5000, 6000])
    fit = fit_arhmm(y, offsets, n_states=4, n_iter=30, tol=0.0, random_state=3)
    obj = np.asarray(fit.objective)
    assert len(obj) == 30
    assert (np.diff(obj) >= -1e-9 * np.abs(obj[1:])).all()
    # without the sticky prior the objective is the log-likelihood plus the
    # (small) regression / covariance penalty; it still never decreases
    plain = fit_arhmm(y, offsets, n_states=4, sticky_weight=0.0, n_iter=30, tol=0.0)
    obj = np.asarray(plain.objective)
    assert (np.diff(obj) >= -1e-9 * np.abs(obj[1:])).all()
    assert plain.loglik[-1] > plain.loglik[0]


def test_log_likelihood_never_decreases_without_priors(sample, monkeypatch):
    # every prior off: EM is plain maximum likelihood and the objective *is* the
    # log-likelihood, which must not decrease
    import moveo.kernels.arhmm as arhmm

    for name in ("AR_RIDGE", "COV_PRIOR", "PRIOR_DOF"):
        monkeypatch.setattr(arhmm, name, 0.0)
    y, _, offsets = sample
    fit = fit_arhmm(y[:5000], offsets[:3], n_states=3, sticky_weight=0.0, n_iter=25, tol=0.0)
    ll = np.asarray(fit.loglik)
    np.testing.assert_allclose(fit.objective, ll)
    assert (np.diff(ll) >= -1e-9 * np.abs(ll[1:])).all()


@settings(deadline=None, max_examples=25)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
)
def test_objective_monotone_on_short_sequences(lengths, k, seed):
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    y = rng.normal(size=(offsets[-1], 2)).cumsum(axis=0) * 0.1
    y[rng.random(len(y)) < 0.1] = np.nan
    _, observed = design(y, offsets, 1)
    if observed.sum() < k:
        with pytest.raises(ValueError, match="fewer than n_states"):
            fit_arhmm(y, offsets, n_states=k)
        return
    fit = fit_arhmm(y, offsets, n_states=k, n_iter=15, tol=0.0, random_state=seed)
    obj = np.asarray(fit.objective)
    assert np.isfinite(obj).all()
    assert (np.diff(obj) >= -1e-8 * np.abs(obj[1:]) - 1e-8).all()
    np.testing.assert_allclose(np.exp(fit.log_a).sum(1), 1.0, rtol=1e-12)
    assert fit.usage.sum() == pytest.approx(1.0)


def test_design_and_emissions_hand_worked():
    y = np.array([[1.0, 2.0], [3.0, 4.0], [np.nan, 0.0], [5.0, 6.0], [7.0, 8.0]])
    x, observed = design(y, np.array([0, 4, 5]), 2)
    # row 1: one lag only; row 3: its lag-1 row is NaN; row 4: new segment
    assert observed.tolist() == [False, False, False, False, False]
    x, observed = design(y, np.array([0, 2, 5]), 1)
    # row 2 starts a segment, row 3's lag is NaN, row 4's lag is row 3
    assert observed.tolist() == [False, True, False, False, True]
    np.testing.assert_array_equal(x[1], [1.0, 2.0, 1.0])
    np.testing.assert_array_equal(x[4], [5.0, 6.0, 1.0])
    # a state with y_t = y_{t-1} + 2 and identity covariance: residual 0 on row 1
    w = np.array([[[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]])
    lb = log_emissions(y, x, observed, w, np.eye(2)[None])
    assert lb[1, 0] == pytest.approx(-np.log(2 * np.pi))
    assert np.isnan(lb[[0, 2, 3]]).all()
    # row 4: residual (7, 8) - (5, 6) - (2, 2) = 0 as well
    assert lb[4, 0] == pytest.approx(-np.log(2 * np.pi))


@settings(deadline=None, max_examples=60)
@given(
    st.integers(0, 12),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
)
def test_log_emissions_match_scipy(n, d, p, k, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, d))
    y[rng.random(n) < 0.2] = np.nan
    offsets = np.array([0, n // 2, n])
    x, observed = design(y, offsets, p)
    weights = rng.normal(size=(k, d * p + 1, d))
    root = rng.normal(size=(k, d, d))
    covs = root @ np.transpose(root, (0, 2, 1)) + 0.1 * np.eye(d)
    got = log_emissions(y, x, observed, weights, covs)
    want = ref.ar_log_emissions(y, x, observed, weights, covs)
    assert got.shape == (n, k)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert np.isnan(got[~observed]).all()
    # the chunked weighted scatter equals the plain sum of weighted outer products
    w = rng.random((int(observed.sum()), k))
    z = np.hstack([x[observed], y[observed]])
    direct = np.einsum("tk,ti,tj->kij", w, z, z)
    np.testing.assert_allclose(_scatter(y[observed], x[observed], w), direct, atol=1e-12)
    import moveo.kernels.arhmm as arhmm

    saved, arhmm._SCATTER_ROWS = arhmm._SCATTER_ROWS, 3  # several chunks
    try:
        chunked = _scatter(y[observed], x[observed], w)
    finally:
        arhmm._SCATTER_ROWS = saved
    np.testing.assert_allclose(chunked, direct, atol=1e-12)
