"""Reductions of a value column over groups of rows (frames), NaN-aware.

The kernel behind ``frame-aggregate``: rows are grouped by a frame-major
permutation (:func:`moveo.kernels.neighbors.frame_order`) and each group is
reduced, skipping NaN, with one of ``mean``, ``median``, ``min``, ``max``,
``std`` (sample, ``ddof = 1``), ``sum`` (0 for a group without a finite value)
or ``count`` (finite values). Groups are independent: the reduction runs in
parallel over groups.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, prange, register_warmup

__all__ = ["AGGREGATIONS", "group_reduce"]

AGGREGATIONS: tuple[str, ...] = ("mean", "median", "min", "max", "std", "sum", "count")
"""Reductions :func:`group_reduce` knows, in the order of their kernel codes."""

_GROUPS_PER_TASK = 256


@jit(parallel=True)
def _reduce(values: np.ndarray, perm: np.ndarray, goff: np.ndarray, code: int, out: np.ndarray,
            count: np.ndarray) -> None:  # fmt: skip
    n_groups = goff.shape[0] - 1
    max_m = 1
    if code == 1:
        for g in range(n_groups):
            max_m = max(max_m, goff[g + 1] - goff[g])
    n_tasks = (n_groups + _GROUPS_PER_TASK - 1) // _GROUPS_PER_TASK
    for t in prange(n_tasks):
        buf = np.empty(max_m)
        for g in range(t * _GROUPS_PER_TASK, min((t + 1) * _GROUPS_PER_TASK, n_groups)):
            n = 0
            s = 0.0
            lo = np.inf
            hi = -np.inf
            for p in range(goff[g], goff[g + 1]):
                v = values[perm[p]]
                if np.isnan(v):
                    continue
                if code == 1:
                    buf[n] = v
                n += 1
                s += v
                lo = min(lo, v)
                hi = max(hi, v)
            count[g] = n
            if code == 6:
                out[g] = n
            elif code == 5:
                out[g] = s
            elif n == 0:
                out[g] = np.nan
            elif code == 0:
                out[g] = s / n
            elif code == 2:
                out[g] = lo
            elif code == 3:
                out[g] = hi
            elif code == 4:
                if n < 2:
                    out[g] = np.nan
                else:
                    mean = s / n
                    ss = 0.0
                    for p in range(goff[g], goff[g + 1]):
                        v = values[perm[p]]
                        if not np.isnan(v):
                            ss += (v - mean) * (v - mean)
                    out[g] = np.sqrt(ss / (n - 1))
            else:
                srt = np.sort(buf[:n])
                out[g] = srt[n // 2] if n % 2 == 1 else 0.5 * (srt[n // 2 - 1] + srt[n // 2])


def group_reduce(
    values: np.ndarray, perm: np.ndarray, group_offsets: np.ndarray, agg: str
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``values`` over every group of rows, skipping NaN.

    Parameters
    ----------
    values : numpy.ndarray
        float64 of shape (n,); NaN is missing.
    perm, group_offsets : numpy.ndarray
        Group ``g`` is rows ``perm[group_offsets[g]:group_offsets[g + 1]]``.
    agg : str
        One of :data:`AGGREGATIONS`.

    Returns
    -------
    out : numpy.ndarray
        float64 of shape (n_groups,): the reduction (NaN for a group without a
        finite value, except ``sum`` (0) and ``count`` (0)).
    count : numpy.ndarray
        int64 of shape (n_groups,): finite values per group.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([1.0, 3.0, np.nan, 5.0])
    >>> group_reduce(v, np.arange(4), np.array([0, 3, 4]), "mean")[0]
    array([2., 5.])
    """
    if agg not in AGGREGATIONS:
        raise ValueError(f"agg must be one of {AGGREGATIONS}, got {agg!r}")
    values = np.ascontiguousarray(values, dtype=np.float64)
    perm = np.ascontiguousarray(perm, dtype=np.int64)
    goff = np.ascontiguousarray(group_offsets, dtype=np.int64)
    n_groups = goff.shape[0] - 1
    out = np.empty(n_groups)
    count = np.empty(n_groups, dtype=np.int64)
    _reduce(values, perm, goff, AGGREGATIONS.index(agg), out, count)
    return out, count


@register_warmup
def _warmup() -> None:
    v = np.array([1.0, np.nan, 2.0, 4.0])
    for agg in AGGREGATIONS:
        group_reduce(v, np.arange(4), np.array([0, 2, 4]), agg)
