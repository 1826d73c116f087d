"""Slow, obvious references for the clustering kernels (``moveo.kernels.clustering``)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def row_has_nan(row) -> bool:
    return any(math.isnan(float(v)) for v in row)


def nearest_centroid(x, centroids):
    """Plain loops: (labels, squared distances); -1 / NaN for rows with NaN.

    The distance is ``sum_j (x_j - c_j) * (x_j - c_j)`` in float64, summed left
    to right with every operation rounded: the kernel's contract, bit for bit.
    The first centroid with the smallest distance wins (so a row whose
    distances all overflow to infinity gets centroid 0).
    """
    labels = np.full(len(x), -1, dtype=np.int64)
    dist = np.full(len(x), np.nan)
    for i, row in enumerate(x):
        if row_has_nan(row):
            continue
        best, best_d = -1, math.inf
        for m, c in enumerate(centroids):
            d = 0.0
            for a, b in zip(row, c, strict=True):
                diff = float(a) - float(b)
                d = d + diff * diff
            if best == -1 or d < best_d:
                best, best_d = m, d
        labels[i] = best
        dist[i] = best_d
    return labels, dist


def farthest_first(x, n_select, first):
    """Greedy farthest point: distances to the selected set, argmax (first index on ties)."""
    selected = [first]
    min_d = [math.inf] * len(x)
    while len(selected) < n_select:
        last = x[selected[-1]]
        best, best_d = -1, -1.0
        for i, row in enumerate(x):
            if i in selected or row_has_nan(row):
                continue
            d = sum((float(a) - float(b)) ** 2 for a, b in zip(row, last, strict=True))
            min_d[i] = min(min_d[i], d)
            if min_d[i] > best_d:
                best, best_d = i, min_d[i]
        selected.append(best)
    return selected


def nan_column_stats(x):
    """Mean, population std and count per column over the non-NaN values."""
    x = np.asarray(x, dtype=np.float64)
    means, stds, counts = [], [], []
    for j in range(x.shape[1]):
        vals = [v for v in x[:, j] if not math.isnan(v)]
        counts.append(len(vals))
        if not vals:
            means.append(math.nan)
            stds.append(math.nan)
            continue
        m = sum(vals) / len(vals)
        means.append(m)
        stds.append(math.sqrt(sum((v - m) ** 2 for v in vals) / len(vals)))
    return np.array(means), np.array(stds), np.array(counts)


def draw_matrix(draw, n_min=0, n_max=40, d_min=1, d_max=5, nan=True, integer=False):
    """Draw a float64 (n, d) matrix for the clustering tests, some rows with NaN runs."""
    n = draw(st.integers(n_min, n_max))
    d = draw(st.integers(d_min, d_max))
    if integer:
        elems = st.integers(-20, 20).map(float)
    else:
        elems = st.floats(-1e3, 1e3, allow_nan=False, width=64)
    x = draw(hnp.arrays(np.float64, (n, d), elements=elems))
    if nan and n:
        mask = draw(hnp.arrays(np.bool_, (n, d), elements=st.booleans()))
        # NaN runs: only some rows, so most of the data stays usable
        keep = draw(hnp.arrays(np.bool_, (n,), elements=st.sampled_from([True, True, False])))
        mask[keep] = False
        x[mask] = np.nan
    return x
