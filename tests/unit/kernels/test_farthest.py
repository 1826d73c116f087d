"""Farthest-first selection vs the slow references, hand-worked cases and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.farthest import _farthest_first, _farthest_first_counted, farthest_first
from reference import models as ref


@st.composite
def selection_case(draw):
    x = ref.draw_matrix(draw, n_min=1, integer=True)
    ok = np.flatnonzero(~np.isnan(x).any(axis=1))
    if len(ok) == 0:
        x[0] = 0.0
        ok = np.array([0])
    n_select = draw(st.integers(1, len(ok)))
    first = int(draw(st.sampled_from(list(ok))))
    return x, n_select, first


@given(selection_case())
def test_farthest_first_matches_reference(case):
    x, n_select, first = case
    got = farthest_first(x, n_select, first=first)
    assert got.dtype == np.int64
    assert got.tolist() == ref.farthest_first(x, n_select, first)
    assert len(set(got.tolist())) == n_select
    assert not np.isnan(x[got]).any()


@st.composite
def clustered_selection_case(draw):
    # duplicates and exact ties (a few lattice values), tight clusters with
    # distant outliers, NaN rows; large enough that rows move between groups
    # many times and the group buffers are compacted
    n = draw(st.integers(2, 1500))
    d = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["lattice", "clusters", "line"]))
    if kind == "lattice":
        x = rng.integers(0, draw(st.integers(1, 6)), size=(n, d)).astype(np.float64)
    elif kind == "clusters":
        centres = rng.integers(-1000, 1000, size=(draw(st.integers(1, 8)), d))
        x = (centres[rng.integers(0, len(centres), n)] + rng.integers(-2, 3, (n, d))) * 1.0
    else:
        x = np.zeros((n, d))
        x[:, 0] = rng.integers(0, 50, n)
    x[rng.random(n) < draw(st.sampled_from([0.0, 0.1, 0.5]))] = np.nan
    ok = np.flatnonzero(~np.isnan(x).any(axis=1))
    if len(ok) == 0:
        x[0] = 0.0
        ok = np.array([0])
    n_select = draw(st.integers(1, min(len(ok), 400)))
    first = int(ok[draw(st.integers(0, len(ok) - 1))])
    return x, n_select, first


def _greedy_all_rows(x, n_select, first):
    # every row's distance to every new centre (exact here: integer data)
    min_d = np.where(np.isnan(x).any(axis=1), -np.inf, np.inf)
    sel = [first]
    for _ in range(n_select - 1):
        min_d[sel[-1]] = -np.inf
        np.minimum(min_d, ((x - x[sel[-1]]) ** 2).sum(axis=1), out=min_d, where=min_d >= 0)
        sel.append(int(np.argmax(min_d)))
    return sel


@given(clustered_selection_case(), st.sampled_from([1, 2, 7, 10**6]))
def test_farthest_first_pruning_matches_every_row_greedy(case, n_stream):
    x, n_select, first = case
    got = farthest_first(x, n_select, first=first)
    assert got.tolist() == _greedy_all_rows(x, n_select, first)
    # the switch from streaming steps to groups can happen at any step
    min_d = np.where(np.isnan(x).any(axis=1), -1.0, np.inf)
    switched = _farthest_first(x, n_select, first, min_d, n_stream)
    assert switched.tolist() == got.tolist()
    got32 = farthest_first(x.astype(np.float32), n_select, first=first)
    assert got32.tolist() == got.tolist()
    if len(x) <= 60:
        assert got.tolist() == ref.farthest_first(x, n_select, first)


def test_farthest_first_hand_worked():
    x = np.array([[0.0], [1.0], [10.0], [4.0], [np.nan]])
    # start at 0; 10 is farthest (100); then 4 (min(16, 36) = 16 beats 1 for row 1); then 1
    assert farthest_first(x, 4, first=0).tolist() == [0, 2, 3, 1]
    # default start is the first complete row
    assert farthest_first(x[[4, 0, 1]], 2).tolist() == [1, 2]


def test_farthest_first_large_parallel_matches_reference_on_spread_points(rng):
    # well-separated integer grid points: no ties beyond what the index rule settles
    x = rng.integers(-1000, 1000, size=(9000, 3)).astype(np.float64)
    got = farthest_first(x, 6, first=5)
    sel = [5]
    min_d = np.full(len(x), np.inf)
    for _ in range(5):
        min_d = np.minimum(min_d, ((x - x[sel[-1]]) ** 2).sum(1))
        min_d[sel] = -1
        sel.append(int(np.argmax(min_d)))
    assert got.tolist() == sel


def test_farthest_first_bad_input():
    x = np.array([[0.0], [np.nan], [1.0]])
    with pytest.raises(ValueError, match="n_select=3 is larger than the 2 rows without NaN"):
        farthest_first(x, 3)
    with pytest.raises(ValueError, match="first=1 is a row with NaN"):
        farthest_first(x, 1, first=1)
    with pytest.raises(ValueError, match="first=7 is outside"):
        farthest_first(x, 1, first=7)
    with pytest.raises(ValueError, match="n_select must be >= 0"):
        farthest_first(x, -1)
    assert farthest_first(x, 0).shape == (0,)


# --- the int8 screen, its float64 fallback, lazy deletion of moved rows ---


@st.composite
def near_tie_case(draw):
    # lattice points moved by multiples of 1e-9: the differences are far
    # below float32 resolution and the int8 grid, so only the float64
    # decision can order these rows; plus exact duplicates and NaN rows
    n = draw(st.integers(1, 2500))
    d = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, draw(st.integers(1, 8)), size=(n, d)).astype(np.float64)
    x += rng.integers(-1000, 1001, size=(n, d)) * 1e-9
    dup = rng.random(n) < draw(st.sampled_from([0.0, 0.3]))
    x[dup] = x[rng.integers(0, n, int(dup.sum()))]
    x[rng.random(n) < draw(st.sampled_from([0.0, 0.05]))] = np.nan
    ok = np.flatnonzero(~np.isnan(x).any(axis=1))
    if len(ok) == 0:
        x[0] = 0.0
        ok = np.array([0])
    n_select = draw(st.integers(1, min(len(ok), 300)))
    first = int(ok[draw(st.integers(0, len(ok) - 1))])
    return x, n_select, first


@given(near_tie_case(), st.sampled_from([1, 3, 64]))
def test_farthest_first_near_ties_are_decided_in_float64(case, n_stream):
    # _greedy_all_rows sums the squared differences in column order, as the
    # kernel's float64 distance does (d <= 6), so even rounding-level ties agree
    x, n_select, first = case
    min_d = np.where(np.isnan(x).any(axis=1), -1.0, np.inf)
    got = _farthest_first(x, n_select, first, min_d, n_stream)
    assert got.tolist() == _greedy_all_rows(x, n_select, first)


@given(clustered_selection_case(), st.sampled_from([-110, -40, 0, 30, 60]))
def test_farthest_first_same_rows_after_exact_scaling_and_shift(case, k):
    # integer data scaled by 2**k and shifted by 2**20 keeps every squared
    # distance exact (scaled by 4**k), so the selection cannot change. At
    # k=-110 and k=60 the squared radii are outside [1e-30, 1e30], where the
    # int8 screen is off and every prefix row is decided in float64
    x, n_select, first = case
    base = farthest_first(x, n_select, first=first).tolist()
    assert farthest_first(np.ldexp(x, k), n_select, first=first).tolist() == base
    assert farthest_first(x + 2.0**20, n_select, first=first).tolist() == base


def _counted(x, n_select, first, n_stream):
    counts = np.zeros(3, dtype=np.int64)
    min_d = np.where(np.isnan(x).any(axis=1), -1.0, np.inf)
    got = _farthest_first_counted(x, n_select, first, min_d, n_stream, counts)
    return got.tolist(), counts


def test_farthest_first_screen_rules_out_most_rows_and_falls_back_on_near_ties(rng):
    # random normal data: the screen settles almost every prefix row, and
    # every row that moves was decided in float64
    x = rng.normal(size=(20_000, 6))
    got, (screened, decided, moved) = _counted(x, 400, 0, 8)
    assert got == _greedy_all_rows(x, 400, 0)
    assert decided >= moved > 0
    assert screened > 20 * decided
    # lattice + 1e-9 jitter: many rows sit at the same distance up to 1e-9,
    # the screen cannot tell them apart, so float64 decides more rows than move
    x = rng.integers(0, 5, size=(6000, 3)) + rng.integers(-1000, 1001, size=(6000, 3)) * 1e-9
    got, (screened, decided, moved) = _counted(x, 100, 0, 8)
    assert got == _greedy_all_rows(x, 100, 0)
    assert decided > moved > 0


def test_farthest_first_duplicates_and_tiny_inputs():
    # duplicates: ties at distance 1 and then at 0 go to the lowest row index
    x = np.array([[0.0], [0.0], [1.0], [1.0]])
    assert farthest_first(x, 4, first=0).tolist() == [0, 2, 1, 3]
    assert ref.farthest_first(x, 4, 0) == [0, 2, 1, 3]
    # one usable row among NaN rows; a single row
    x = np.array([[np.nan, 1.0], [2.0, 3.0], [np.nan, np.nan]])
    assert farthest_first(x, 1).tolist() == [1]
    assert farthest_first(np.array([[5.0, 5.0]]), 1).tolist() == [0]
    # every row selected, through the group phase (n_stream=1)
    x = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [np.nan, 0.0], [6.0, 8.0], [3.0, 4.0]])
    min_d = np.where(np.isnan(x).any(axis=1), -1.0, np.inf)
    # from row 0: row 4 (100), row 1 (25, lowest of 1 and 5), then the zero-distance
    # duplicates 2 and 5 in row order
    assert _farthest_first(x, 5, 0, min_d, 1).tolist() == [0, 4, 1, 2, 5]
    assert ref.farthest_first(x, 5, 0) == [0, 4, 1, 2, 5]
