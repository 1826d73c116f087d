"""moveo.kernels.frames.group_reduce equals the plain-Python reduction.

Proves: every reduction skips NaN, handles empty and single-value groups
(sum 0, std NaN), on hypothesis-generated groups.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.frames import AGGREGATIONS, group_reduce
from reference import collective as ref

values = st.lists(st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.just(math.nan)), max_size=8)


@given(groups=st.lists(values, max_size=6), agg=st.sampled_from(AGGREGATIONS),
       seed=st.integers(0, 1000))  # fmt: skip
def test_group_reduce_matches_reference(groups, agg, seed):
    flat = np.array([v for g in groups for v in g], dtype=np.float64)
    goff = np.cumsum([0] + [len(g) for g in groups]).astype(np.int64)
    # rows of a group stored in shuffled positions: perm maps back
    rng = np.random.default_rng(seed)
    place = rng.permutation(flat.size)
    stored = np.empty_like(flat)
    stored[place] = flat
    out, count = group_reduce(stored, place, goff, agg)
    exp = [ref.reduce_values(g, agg) for g in groups]
    np.testing.assert_allclose(out, exp, rtol=1e-9, atol=1e-9)
    assert count.tolist() == [sum(not math.isnan(v) for v in g) for g in groups]


def test_unknown_aggregation():
    with pytest.raises(ValueError, match="agg must be one of"):
        group_reduce(np.zeros(1), np.zeros(1), np.array([0, 1]), "mode")
