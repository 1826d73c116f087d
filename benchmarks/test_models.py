"""Nearest-centroid assignment vs numpy / scikit-learn baselines.

Two data sets, each its own comparison group:

- ``rng.normal`` rows and centroids (the headline figure in docs/performance.md);
- a smooth, stationary 20-D process (AR(1) per column, like consecutive
  tracking frames of standardised features) with 50 k-means centroids fitted on
  a subsample: rows cluster around the centroids and many sit near a boundary
  between two of them, which is where moveo's float32 filter hands rows to its
  exact float64 path.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin

from moveo.kernels.clustering import nearest_centroid


def _numpy_pairwise_argmin(x, cent, chunk=65_536):
    # the obvious numpy formulation: broadcast differences, sum, argmin (chunked)
    out = np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), chunk):
        xb = x[s : s + chunk]
        out[s : s + chunk] = ((xb[:, None, :] - cent[None]) ** 2).sum(-1).argmin(1)
    return out


@pytest.fixture(scope="module")
def assign_data(bench_size):
    n = bench_size(small=200_000, full=10_000_000)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 20))
    cent = rng.normal(size=(50, 20))
    nearest_centroid(x[:10], cent)  # compile outside the timed region
    return x, cent


@pytest.fixture(scope="module")
def walk_data(bench_size):
    n = bench_size(small=200_000, full=10_000_000)
    rng = np.random.default_rng(8)
    rho = 0.99  # frame-to-frame correlation; unit variance per column
    x = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], rng.normal(size=(n, 20)), axis=0)
    x = np.ascontiguousarray(x)
    km = KMeans(n_clusters=50, n_init=1, random_state=0).fit(x[:: max(1, n // 50_000)])
    cent = km.cluster_centers_
    nearest_centroid(x[:10], cent)
    return x, cent


def _check(labels, x, cent):
    head = slice(0, 2000)
    expected = ((x[head, None, :] - cent[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(labels[head], expected)


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
    _check(labels, x, cent)


@pytest.mark.parametrize("impl", ["moveo", "sklearn-pairwise-argmin"])
def test_nearest_centroid_smooth_kmeans(benchmark, tag, impl, walk_data):
    x, cent = walk_data
    group = f"nearest-centroid {len(x):,}x20x50 smooth AR(1) + k-means centroids"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo nearest_centroid")
        labels = benchmark(lambda: nearest_centroid(x, cent)[0])
    else:
        tag(benchmark, group, ours=False, target=">=3", label="sklearn pairwise_distances_argmin")
        labels = benchmark(pairwise_distances_argmin, x, cent)
    _check(labels, x, cent)
