"""Global models: ARHMM forward-backward and the t-SNE fit, ours vs honest baselines.

- forward-backward: moveo's numba log-space kernel (one exponential per state
  and step, segments in parallel blocks) vs the same log-space recursions in
  vectorised numpy, the way hmmlearn's pure-Python path computes them
  (``logsumexp`` over the previous states for every step, alpha / beta / xi
  stored), on the same segments and emissions.
- t-SNE fit: openTSNE with mosaic's schedule (what ``global-tsne`` runs) vs
  scikit-learn's ``TSNE`` (Barnes-Hut) with the same perplexity, early
  exaggeration (its fixed 250 iterations) and total iterations.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from moveo.kernels.hmm import forward_backward


def _numpy_forward_backward(log_pi, log_a, log_b, offsets):
    lb = np.where(np.isnan(log_b).any(axis=1, keepdims=True), 0.0, log_b)
    n, k = lb.shape
    gamma = np.empty((n, k))
    xi = np.zeros((k, k))
    lls = []
    for s, e in zip(offsets[:-1], offsets[1:], strict=True):
        m = e - s
        alpha = np.empty((m, k))
        beta = np.zeros((m, k))
        alpha[0] = log_pi + lb[s]
        for t in range(1, m):
            alpha[t] = logsumexp(alpha[t - 1][:, None] + log_a, axis=0) + lb[s + t]
        ll = logsumexp(alpha[-1])
        for t in range(m - 2, -1, -1):
            beta[t] = logsumexp(log_a + (lb[s + t + 1] + beta[t + 1])[None, :], axis=1)
        gamma[s:e] = np.exp(alpha + beta - ll)
        pair = alpha[:-1, :, None] + log_a[None] + (lb[s + 1 : e] + beta[1:])[:, None, :]
        xi += np.exp(pair - ll).sum(axis=0)
        lls.append(ll)
    return np.array(lls), gamma, xi


def _numpy_scaled_forward_backward(log_pi, log_a, log_b, offsets):
    # the cheapest numpy form: probability space with per-step normalisation
    # (Rabiner's scaling), emissions shifted by their row maximum
    lb = np.where(np.isnan(log_b).any(axis=1, keepdims=True), 0.0, log_b)
    shift = lb.max(axis=1, keepdims=True)
    b = np.exp(lb - shift)
    a = np.exp(log_a)
    n, k = lb.shape
    gamma = np.empty((n, k))
    xi = np.zeros((k, k))
    lls = []
    for s, e in zip(offsets[:-1], offsets[1:], strict=True):
        m = e - s
        alpha = np.empty((m, k))
        c = np.empty(m)
        v = np.exp(log_pi) * b[s]
        c[0] = v.sum()
        alpha[0] = v / c[0]
        for t in range(1, m):
            v = (alpha[t - 1] @ a) * b[s + t]
            c[t] = v.sum()
            alpha[t] = v / c[t]
        beta = np.ones((m, k))
        for t in range(m - 2, -1, -1):
            beta[t] = a @ (b[s + t + 1] * beta[t + 1]) / c[t + 1]
        gamma[s:e] = alpha * beta
        w = b[s + 1 : e] * beta[1:] / c[1:, None]
        xi += a * (alpha[:-1].T @ w)
        lls.append(np.log(c).sum() + shift[s:e].sum())
    return np.array(lls), gamma, xi


@pytest.fixture(scope="module")
def hmm_data(bench_size):
    n_seg, length, k = bench_size(small=(4, 2_500, 10), full=(10, 20_000, 50))
    rng = np.random.default_rng(4)
    a = rng.random((k, k)) + 20 * np.eye(k)
    log_a = np.log(a / a.sum(1, keepdims=True))
    log_pi = np.full(k, -np.log(k))
    log_b = rng.normal(-5.0, 3.0, size=(n_seg * length, k))
    log_b[rng.random(len(log_b)) < 0.01] = np.nan
    offsets = np.arange(n_seg + 1) * length
    forward_backward(log_pi, log_a, log_b[:10], np.array([0, 10]))  # compile outside timing
    return log_pi, log_a, log_b, offsets


@pytest.mark.parametrize("impl", ["moveo", "numpy", "numpy-scaled"])
def test_forward_backward(benchmark, tag, impl, hmm_data):
    log_pi, log_a, log_b, offsets = hmm_data
    n, k = log_b.shape
    group = f"hmm forward-backward {n:,} rows x {k} states"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo numba log-space")
        ll, _, _, _ = benchmark.pedantic(
            forward_backward, (log_pi, log_a, log_b, offsets), rounds=3
        )
    elif impl == "numpy":
        tag(benchmark, group, ours=False, target=">=10", label="numpy log-space (hmmlearn-like)")
        ll, _, _ = benchmark.pedantic(
            _numpy_forward_backward, (log_pi, log_a, log_b, offsets), rounds=1
        )
    else:
        tag(benchmark, group, ours=False, target=">=3", label="numpy scaled (probability space)")
        ll, _, _ = benchmark.pedantic(
            _numpy_scaled_forward_backward, (log_pi, log_a, log_b, offsets), rounds=1
        )
        # the same log-likelihoods as the log-space kernel
        np.testing.assert_allclose(ll, forward_backward(log_pi, log_a, log_b, offsets)[0])
    assert np.isfinite(ll).all()


@pytest.fixture(scope="module")
def tsne_data(bench_size):
    n, total = bench_size(small=(400, 300), full=(5_000, 1_000))
    rng = np.random.default_rng(6)
    centres = rng.normal(scale=6.0, size=(5, 6))
    x = centres[rng.integers(5, size=n)] + rng.normal(size=(n, 6))
    return x, total


@pytest.mark.parametrize("impl", ["moveo", "sklearn"])
def test_tsne_fit(benchmark, tag, impl, tsne_data):
    pytest.importorskip("openTSNE")
    x, total = tsne_data
    group = f"t-SNE fit {len(x):,} templates x 6, {total} iterations"
    if impl == "moveo":
        from openTSNE import TSNE

        def run():
            return TSNE(
                perplexity=30,
                early_exaggeration_iter=250,
                early_exaggeration=12,
                n_iter=total - 250,
                initial_momentum=0.5,
                final_momentum=0.8,
                neighbors="annoy",
                n_jobs=1,
                random_state=42,
            ).fit(x)

        tag(benchmark, group, ours=True, label="openTSNE (global-tsne's fit)")
    else:
        from sklearn.manifold import TSNE

        def run():
            return TSNE(perplexity=30, max_iter=total, init="pca", random_state=42).fit_transform(x)

        tag(benchmark, group, ours=False, target=">=2", label="scikit-learn TSNE (Barnes-Hut)")
    emb = benchmark.pedantic(run, rounds=1)
    assert np.isfinite(np.asarray(emb)).all()
