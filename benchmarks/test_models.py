"""Nearest-centroid assignment vs numpy / scikit-learn baselines (issue: models)."""

from __future__ import annotations

import numpy as np
import pytest
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
