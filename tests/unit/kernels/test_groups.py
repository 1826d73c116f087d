"""moveo.kernels.groups equals the dense reference (tests/reference/collective.py).

Proves: the grid candidate search with the window merge gives exactly the
labels, sizes and event numbers of the all-pairs definition (union-find over
every pair visited row by row), on hypothesis tables with NaN gaps, missing
rows and frames, one individual and everyone in one place; two clusters farther
apart than the cutoff form two groups; a split and a merge start new events;
1,000 individuals give the components of the dense distance graph.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from moveo.kernels.groups import component_labels, ffgroups, periphery, stable_events
from reference import collective as ref


@st.composite
def grid_tables(draw, max_ids=6, max_frames=7):
    n_ids = draw(st.integers(1, max_ids))
    coord = st.one_of(st.integers(0, 8).map(float), st.just(math.nan))
    frame_set = sorted(draw(st.sets(st.integers(0, 12), min_size=1, max_size=max_frames)))
    ids, frames, x, y = [], [], [], []
    for ident in range(n_ids):
        for f in frame_set:
            if draw(st.integers(0, 5)) == 0:
                continue  # a missing row
            ids.append(10 - 3 * ident)  # ids not in row order
            frames.append(f)
            x.append(draw(coord))
            y.append(draw(coord))
    return (np.array(ids, dtype=np.int64), np.array(frames, dtype=np.int64),
            np.array(x), np.array(y))  # fmt: skip


@given(table=grid_tables(), window=st.sampled_from([1, 3, 5]), min_dur=st.integers(1, 3),
       cutoff=st.sampled_from([1.5, 2.5, 4.5]))  # fmt: skip
def test_ffgroups_matches_dense_reference(table, window, min_dur, cutoff):
    ids, frames, x, y = table
    if ids.size == 0:
        return
    got = ffgroups(x, y, ids, frames, distance_cutoff=cutoff, window_size=window,
                   min_event_duration=min_dur)  # fmt: skip
    exp = ref.ffgroups(ids, frames, x, y, cutoff=cutoff, window_size=window,
                       min_event_duration=min_dur)  # fmt: skip
    got_rows = list(zip(got["group_membership"].tolist(), got["group_size"].tolist(),
                        got["event"].tolist(), strict=True))  # fmt: skip
    assert got_rows == [tuple(int(v) for v in e) for e in exp]


def test_two_far_clusters_are_two_groups():
    # two clusters of 3, 100 apart; cutoff 5
    x = np.array([0.0, 1.0, 2.0, 100.0, 101.0, 102.0])
    y = np.zeros(6)
    ids = np.arange(6)
    frames = np.zeros(6, dtype=np.int64)
    got = ffgroups(x, y, ids, frames, distance_cutoff=5.0, window_size=1)
    assert got["group_membership"].tolist() == [0, 0, 0, 1, 1, 1]
    assert got["group_size"].tolist() == [3] * 6


def test_split_and_merge_events():
    # ids 0, 1, 2 together (frames 0-2), 2 leaves (3-5), all together again (6-8)
    frames = np.tile(np.arange(9), 3)
    ids = np.repeat(np.arange(3), 9)
    x = np.zeros(27)
    x[18 + 3 : 18 + 6] = 100.0
    got = ffgroups(x, np.zeros(27), ids, frames, distance_cutoff=5.0, window_size=1)
    ev = got["event"].reshape(3, 9)
    # events numbered by member tuple, then start: (0,1) [3-5] = 0, (0,1,2) [0-2] = 1,
    # (0,1,2) [6-8] = 2, (2,) [3-5] = 3
    assert ev[0].tolist() == [1, 1, 1, 0, 0, 0, 2, 2, 2]
    assert ev[2].tolist() == [1, 1, 1, 3, 3, 3, 2, 2, 2]
    assert got["group_size"].reshape(3, 9)[2].tolist() == [3, 3, 3, 1, 1, 1, 3, 3, 3]
    # id 2 back for frame 4 only: every one-frame set lasts 0 frames, so is no event
    x[18 + 4] = 0.0
    got = ffgroups(x, np.zeros(27), ids, frames, distance_cutoff=5.0, window_size=1)
    ev = got["event"].reshape(3, 9)
    assert ev[0].tolist() == [0, 0, 0, -1, -1, -1, 1, 1, 1]
    assert ev[2].tolist() == [0, 0, 0, -1, -1, -1, 1, 1, 1]


def test_window_links_across_a_missing_frame():
    # id 1 has no row at frame 1: the 3-frame window still links it to id 0
    ids = np.array([0, 0, 0, 1, 1])
    frames = np.array([0, 1, 2, 0, 2])
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    got = ffgroups(x, np.zeros(5), ids, frames, distance_cutoff=2.0, window_size=3)
    assert got["group_size"].tolist() == [2, 2, 2, 2, 2]
    alone = ffgroups(x, np.zeros(5), ids, frames, distance_cutoff=2.0, window_size=1)
    assert alone["group_size"].tolist() == [2, 1, 2, 2, 2]


def test_one_individual_and_everyone_in_one_place():
    got = ffgroups(np.zeros(4), np.zeros(4), np.zeros(4, np.int64), np.arange(4))
    assert got["group_size"].tolist() == [1] * 4 and got["event"].tolist() == [0] * 4
    n = 1000
    same = ffgroups(np.full(n, 3.0), np.full(n, 3.0), np.arange(n), np.zeros(n, np.int64))
    assert (same["group_size"] == n).all() and (same["group_membership"] == 0).all()


def test_thousand_individuals_match_dense_components():
    rng = np.random.default_rng(4)
    n, n_frames = 1000, 3
    x = rng.uniform(0, 300, (n_frames, n))
    y = rng.uniform(0, 300, (n_frames, n))
    x[rng.random(x.shape) < 0.02] = np.nan
    ids = np.tile(np.arange(n), n_frames)
    frames = np.repeat(np.arange(n_frames), n)
    labels, sizes = component_labels(x.ravel(), y.ravel(), ids, frames, n_frames, n, 8.0)
    for f in range(n_frames):
        d = np.hypot(x[f][:, None] - x[f][None, :], y[f][:, None] - y[f][None, :])
        adj = csr_matrix(np.nan_to_num(d, nan=np.inf) < 8.0)
        n_comp, comp = connected_components(adj, directed=False)
        assert labels[f].max() + 1 == n_comp
        # same partition: labels and scipy's components map one to one
        pairs = set(zip(labels[f].tolist(), comp.tolist(), strict=True))
        assert len(pairs) == n_comp
        np.testing.assert_array_equal(sizes[f], np.bincount(comp)[comp])


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        component_labels(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), 1, 1, 1.0, 2)
    with pytest.raises(ValueError, match="positive"):
        component_labels(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), 1, 1, 0.0)
    with pytest.raises(ValueError, match="increasing"):
        stable_events(np.zeros((2, 1)), np.ones((2, 1)), np.array([3, 3]))
    with pytest.raises(TypeError, match="integer"):
        ffgroups(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))


@given(
    n=st.integers(1, 30),
    seed=st.integers(0, 10_000),
    n_groups=st.integers(1, 4),
    lattice=st.booleans(),
)
def test_periphery_matches_reference(n, seed, n_groups, lattice):
    rng = np.random.default_rng(seed)
    if lattice:
        x, y = rng.integers(0, 4, n).astype(float), rng.integers(0, 4, n).astype(float)
    else:
        x, y = rng.uniform(-100, 100, n), rng.uniform(-100, 100, n)
    x[rng.random(n) < 0.1] = np.nan
    gid = rng.integers(0, n_groups, n)
    perm = np.argsort(gid, kind="stable").astype(np.int64)
    goff = np.searchsorted(gid[perm], np.arange(n_groups + 1)).astype(np.int64)
    size = rng.integers(1, 5, n)
    _, far = periphery(x, y, size, perm, goff)
    groups = [perm[goff[g] : goff[g + 1]].tolist() for g in range(n_groups)]
    assert far.tolist() == ref.periphery(x, y, size, groups)


def test_periphery_pair_members_are_both_farthest():
    # two points at the same distance from their midpoint (not to the last bit)
    x = np.array([0.1, 0.7, 10.3])
    y = np.array([0.2, 0.35, -4.0])
    _, far = periphery(x, y, np.array([2, 2, 1]), np.arange(3), np.array([0, 2, 3]))
    assert far.tolist() == [True, True, True]


@given(
    values=st.lists(st.one_of(st.integers(-5, 40), st.integers(-(2**62), 2**62)), max_size=40),
    sort=st.booleans(),
    dtype=st.sampled_from([np.int64, np.int32]),
)
def test_dense_codes_equal_np_unique(values, sort, dtype):
    """The counting / run-boundary shortcuts give np.unique's values, inverse and dtype."""
    from moveo.kernels.groups import _dense_codes

    info = np.iinfo(dtype)
    a = np.clip(np.array(values, dtype=np.int64), info.min, info.max).astype(dtype)
    if sort:
        a = np.sort(a)
    got_u, got_c = _dense_codes(a)
    want_u, want_c = np.unique(a, return_inverse=True)
    assert got_u.dtype == want_u.dtype
    np.testing.assert_array_equal(got_u, want_u)
    np.testing.assert_array_equal(got_c, want_c)
