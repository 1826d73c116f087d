"""Clustering kernels vs numpy / scikit-learn baselines (issue: models)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances_argmin

from moveo.kernels.clustering import farthest_first, nearest_centroid


def _numpy_pairwise_argmin(x, cent, chunk=65_536):
    # the obvious numpy formulation: broadcast differences, sum, argmin (chunked)
    out = np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), chunk):
        xb = x[s : s + chunk]
        out[s : s + chunk] = ((xb[:, None, :] - cent[None]) ** 2).sum(-1).argmin(1)
    return out


def _numpy_farthest_first(x, n_select, first):
    # vectorised greedy farthest point: ||x||^2 - 2 x.p + ||p||^2 per step (BLAS gemv)
    sq = np.einsum("ij,ij->i", x, x)
    min_d = np.full(len(x), np.inf)
    sel = [first]
    for _ in range(n_select - 1):
        p = x[sel[-1]]
        np.minimum(min_d, sq - 2.0 * (x @ p) + p @ p, out=min_d)
        min_d[sel[-1]] = -np.inf
        sel.append(int(np.argmax(min_d)))
    return np.array(sel)


@pytest.fixture(scope="module")
def assign_data(bench_size):
    n = bench_size(small=200_000, full=10_000_000)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 20))
    cent = rng.normal(size=(50, 20))
    nearest_centroid(x[:10], cent)  # compile outside the timed region
    return x, cent


@pytest.mark.parametrize("impl", ["moveo", "sklearn-pairwise-argmin", "numpy-broadcast"])
def test_nearest_centroid(benchmark, tag, impl, assign_data, bench_size):
    x, cent = assign_data
    n = len(x)
    group = f"nearest-centroid {n:,}x20x50"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo nearest_centroid")
        labels = benchmark(lambda: nearest_centroid(x, cent)[0])
    elif impl == "sklearn-pairwise-argmin":
        tag(benchmark, group, ours=False, target=">=3", label="sklearn pairwise_distances_argmin")
        labels = benchmark(pairwise_distances_argmin, x, cent)
    else:
        tag(benchmark, group, ours=False, target=">=3", label="numpy broadcast argmin")
        rounds = bench_size(small=2, full=1)
        labels = benchmark.pedantic(_numpy_pairwise_argmin, (x, cent), rounds=rounds)
    head = slice(0, 2000)
    expected = ((x[head, None, :] - cent[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(labels[head], expected)


def _numpy_farthest_first_naive(x, n_select, first):
    # the obvious numpy formulation: squared differences to the newest point, minimum
    min_d = np.full(len(x), np.inf)
    sel = [first]
    for _ in range(n_select - 1):
        np.minimum(min_d, ((x - x[sel[-1]]) ** 2).sum(axis=1), out=min_d)
        min_d[sel[-1]] = -np.inf
        sel.append(int(np.argmax(min_d)))
    return np.array(sel)


@pytest.fixture(scope="module")
def pool_data(bench_size):
    n, m = bench_size(small=(20_000, 200), full=(500_000, 5_000))
    rng = np.random.default_rng(8)
    x = rng.normal(size=(n, 10))
    farthest_first(x[:50], 3)  # compile outside the timed region
    return x, m


@pytest.mark.parametrize("impl", ["moveo", "numpy", "numpy-naive"])
def test_farthest_first(benchmark, tag, impl, pool_data, bench_size):
    x, m = pool_data
    group = f"farthest-first {m:,} of {len(x):,}x10"
    rounds = bench_size(small=2, full=1)
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo farthest_first")
        sel = benchmark.pedantic(lambda: farthest_first(x, m, first=0), rounds=rounds)
    elif impl == "numpy":
        tag(benchmark, group, ours=False, target=">=5", label="numpy greedy (gemv per step)")
        sel = benchmark.pedantic(_numpy_farthest_first, (x, m, 0), rounds=rounds)
    else:
        tag(benchmark, group, ours=False, target=">=5", label="numpy greedy (naive diff)")
        sel = benchmark.pedantic(_numpy_farthest_first_naive, (x, m, 0), rounds=rounds)
    assert len(np.unique(sel)) == m
    assert sel[0] == 0
