"""Farthest-first template selection vs numpy baselines.

Two pools: random normal 10-D rows (the worst case for pruning: no structure)
and standardised 10-D features on a smooth 3-D manifold (closer to real
template pools, whose behaviour features have low intrinsic dimension).
"""

from __future__ import annotations

import numpy as np
import pytest

from moveo.kernels.farthest import farthest_first


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


def _manifold_pool(n, seed=9):
    # a 3-D latent mapped smoothly into 10 columns (sines of random projections
    # plus a linear part), a little noise, standardised like ExtractTemplates does
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n, 3))
    proj = t @ rng.normal(size=(3, 10))
    phase = rng.uniform(0.0, 2.0 * np.pi, 10)
    z = np.sin(0.7 * proj + phase) + 0.3 * proj + 0.02 * rng.normal(size=(n, 10))
    return (z - z.mean(axis=0)) / z.std(axis=0)


@pytest.fixture(scope="module")
def manifold_data(bench_size):
    n, m = bench_size(small=(20_000, 200), full=(500_000, 5_000))
    x = _manifold_pool(n)
    farthest_first(x[:50], 3)  # compile outside the timed region
    return x, m


@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_farthest_first_manifold(benchmark, tag, impl, manifold_data, bench_size):
    x, m = manifold_data
    group = f"farthest-first {m:,} of {len(x):,}x10 (3-D manifold)"
    rounds = bench_size(small=2, full=1)
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo farthest_first")
        sel = benchmark.pedantic(lambda: farthest_first(x, m, first=0), rounds=rounds)
    else:
        tag(benchmark, group, ours=False, target=">=5", label="numpy greedy (gemv per step)")
        sel = benchmark.pedantic(_numpy_farthest_first, (x, m, 0), rounds=rounds)
    assert len(np.unique(sel)) == m
    assert sel[0] == 0
