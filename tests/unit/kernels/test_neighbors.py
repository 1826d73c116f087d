"""Nearest-neighbour kernels vs the reference (hypothesis): grid vs dense, ties, NaN, 1,000
individuals, panel path.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.neighbors import (
    _overflow_shift,
    _panel_search,
    frame_order,
    nearest_neighbors,
    neighbor_deltas,
)
from reference import tracking as ref


@given(
    table=ref.track_tables(max_ids=6, max_rows=6, max_frame=4),
    k=st.integers(1, 3),
    dense_max=st.sampled_from([0, 2, 1000]),
)
def test_nearest_matches_reference(table, k, dense_max):
    rows, dist = nearest_neighbors(
        table["x"], table["y"], table["ids"], table["frames"], k, dense_max=dense_max
    )
    exp_rows, exp_dist = ref.nearest_neighbors(
        table["x"], table["y"], table["ids"], table["frames"], k
    )
    np.testing.assert_array_equal(rows, exp_rows)
    np.testing.assert_allclose(dist, exp_dist, rtol=1e-12)


@given(
    n=st.integers(2, 120),
    seed=st.integers(0, 2**32 - 1),
    grid=st.sampled_from(["uniform", "clustered", "line", "lattice"]),
    k=st.integers(1, 3),
)
def test_grid_equals_dense_on_large_frames(n, seed, grid, k):
    # many points in one frame: grid path (dense_max=0) must equal the dense path,
    # including exact ties on an integer lattice (ties -> smaller id)
    rng = np.random.default_rng(seed)
    if grid == "uniform":
        x, y = rng.uniform(0, 100, n), rng.uniform(0, 100, n)
    elif grid == "clustered":
        x = np.concatenate([rng.normal(0, 0.01, n - 1), [1e4]])
        y = np.concatenate([rng.normal(0, 0.01, n - 1), [-1e4]])
    elif grid == "line":
        x, y = rng.uniform(0, 100, n), np.full(n, 3.0)
    else:
        x, y = rng.integers(0, 5, n).astype(float), rng.integers(0, 5, n).astype(float)
    x[rng.random(n) < 0.1] = np.nan
    ids = rng.permutation(10 * n)[:n]
    frames = np.zeros(n, dtype=np.int64)
    grid_rows, grid_dist = nearest_neighbors(x, y, ids, frames, k, dense_max=0)
    dense_rows, dense_dist = nearest_neighbors(x, y, ids, frames, k, dense_max=10**9)
    np.testing.assert_array_equal(grid_rows, dense_rows)
    np.testing.assert_array_equal(grid_dist, dense_dist)
    if n <= 40:
        exp_rows, _ = ref.nearest_neighbors(x, y, ids, frames, k)
        np.testing.assert_array_equal(grid_rows, exp_rows)


def test_two_individuals_at_known_distance():
    # id 1 at (0, 0) heading +y (pi/2); id 2 at (3, 4) heading pi
    x, y = np.array([0.0, 3.0]), np.array([0.0, 4.0])
    angle = np.array([np.pi / 2, np.pi])
    rows, dist = nearest_neighbors(x, y, np.array([1, 2]), np.array([7, 7]))
    np.testing.assert_array_equal(rows[:, 0], [1, 0])
    np.testing.assert_allclose(dist[:, 0], [5.0, 5.0])
    d = neighbor_deltas(x, y, rows[:, 0], angle)
    np.testing.assert_allclose(d["dx"], [3.0, -3.0])
    np.testing.assert_allclose(d["dy"], [4.0, -4.0])
    # self 1 faces +y: the neighbour is 4 ahead and 3 to the right (left = -3)
    np.testing.assert_allclose(d["dx_ego"], [4.0, 3.0], atol=1e-12)
    # self 2 faces -x: the neighbour (-3, -4) is 3 ahead and 4 to the right
    np.testing.assert_allclose(d["dy_ego"], [-3.0, 4.0], atol=1e-12)
    np.testing.assert_allclose(d["dangle"], [np.pi / 2, -np.pi / 2])
    assert set(neighbor_deltas(x, y, rows[:, 0])) == {"dx", "dy"}


def test_ties_alone_and_nan():
    # ids 5 and 3 both at distance 1 from id 9: the smaller id (3) wins
    x = np.array([1.0, 0.0, -1.0, 0.0, 50.0])
    y = np.array([0.0, 0.0, 0.0, np.nan, 0.0])
    ids = np.array([5, 9, 3, 4, 6])
    frames = np.array([0, 0, 0, 0, 1])
    rows, dist = nearest_neighbors(x, y, ids, frames, 2)
    assert rows[1, 0] == 2 and rows[1, 1] == 0
    # NaN position: no neighbour and never found; alone in frame 1: none either
    assert (rows[3] == -1).all() and np.isnan(dist[3]).all()
    assert (rows[4] == -1).all()
    assert 3 not in rows[:4]
    # id 5 sees id 9 at 1, then id 3 at 2
    np.testing.assert_allclose(dist[0], [1.0, 2.0])
    d = neighbor_deltas(x, y, rows[:, 0], np.zeros(5))
    assert np.isnan(d["dx"][3]) and np.isnan(d["dangle"][4])


def test_frame_order_is_stable_and_handles_sparse_frames():
    frames = np.array([5, 6, 7, 5, 7, 6])
    perm, goff = frame_order(frames)
    np.testing.assert_array_equal(perm, [0, 3, 1, 5, 2, 4])
    np.testing.assert_array_equal(goff, [0, 2, 4, 6])
    sparse = np.array([0, 10**12, 5, 10**12])
    perm, goff = frame_order(sparse)
    np.testing.assert_array_equal(perm, [0, 2, 1, 3])
    np.testing.assert_array_equal(goff, [0, 1, 2, 4])
    perm, goff = frame_order(np.empty(0, dtype=np.int64))
    assert perm.shape == (0,) and list(goff) == [0]


def test_empty_and_errors():
    rows, dist = nearest_neighbors(np.empty(0), np.empty(0), np.empty(0, int), np.empty(0, int), 2)
    assert rows.shape == (0, 2) and dist.shape == (0, 2)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        nearest_neighbors(np.zeros(2), np.zeros(2), np.arange(2), np.zeros(2, int), 0)
    with pytest.raises(TypeError, match="ids must be integers"):
        nearest_neighbors(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2, int))
    with pytest.raises(TypeError, match="frames must be a 1-D integer array"):
        nearest_neighbors(np.zeros(2), np.zeros(2), np.arange(2), np.zeros(2))
    with pytest.raises(ValueError, match="equal length"):
        nearest_neighbors(np.zeros(2), np.zeros(3), np.arange(2), np.zeros(2, int))
    with pytest.raises(ValueError, match="nn_rows must hold row indices"):
        neighbor_deltas(np.zeros(2), np.zeros(2), np.array([0, 5]))


def test_thousand_individuals_in_a_frame():
    rng = np.random.default_rng(3)
    n = 1000
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    rows, dist = nearest_neighbors(x, y, np.arange(n), np.zeros(n, int), dense_max=0)
    d2 = (x[:, None] - x[None]) ** 2 + (y[:, None] - y[None]) ** 2
    np.fill_diagonal(d2, np.inf)
    np.testing.assert_array_equal(rows[:, 0], d2.argmin(axis=1))
    np.testing.assert_allclose(dist[:, 0], np.sqrt(d2.min(axis=1)))
    assert math.isfinite(dist.sum())


# ------------------------------------------------------------------------- panel path


@st.composite
def panel_tables(draw):
    # a few id blocks (any id order) sharing most frames, with gaps, NaN/inf
    # positions, exact ties on a small integer lattice and huge (overflowing) values
    n_ids = draw(st.integers(1, 6))
    ids_in_order = draw(st.permutations(list(range(0, 3 * n_ids, 3))))
    value = st.sampled_from([0.0, 1.0, 2.0, -1.0, 3.5, np.nan, np.inf, 1e200, -1e200])
    ids, frames, x, y = [], [], [], []
    for ident in ids_in_order:
        fr = sorted(draw(st.sets(st.integers(0, 300), min_size=1, max_size=40)))
        if draw(st.booleans()):  # a full run of frames (the contiguous load path)
            start = draw(st.integers(0, 200))
            fr = list(range(start, start + draw(st.integers(1, 140))))
        ids += [ident] * len(fr)
        frames += fr
        x += draw(st.lists(value, min_size=len(fr), max_size=len(fr)))
        y += draw(st.lists(value, min_size=len(fr), max_size=len(fr)))
    return (
        np.array(x, dtype=np.float64),
        np.array(y, dtype=np.float64),
        np.array(ids, dtype=np.int64),
        np.array(frames, dtype=np.int64),
    )


@given(table=panel_tables())
def test_panel_path_matches_reference_and_frame_path(table):
    x, y, ids, frames = table
    # nearest_neighbors rescales huge coordinates by a power of two (exact) so that
    # squared distances do not overflow; the reference and the private panel search
    # square as they are, so they get the same rescaled input
    shift = _overflow_shift(x, y)
    xs, ys = x * 2.0**-shift, y * 2.0**-shift
    exp_rows, exp_dist = ref.nearest_neighbors(xs, ys, ids, frames, 1)
    exp_dist = exp_dist * 2.0**shift
    found = _panel_search(xs, ys, ids, frames, max_lanes=64, min_fill=1e-9)
    assert found is not None
    rows, dist = found[0], found[1] * 2.0**shift
    assert rows.shape == (x.shape[0], 1) and dist.shape == (x.shape[0], 1)
    np.testing.assert_array_equal(rows, exp_rows)
    np.testing.assert_allclose(dist, exp_dist, rtol=1e-12)
    # the frame-major path (k = 2, first column) gives the same answer
    rows2, dist2 = nearest_neighbors(x, y, ids, frames, 2)
    np.testing.assert_array_equal(rows[:, 0], rows2[:, 0])
    np.testing.assert_array_equal(dist[:, 0], dist2[:, 0])


def test_panel_ties_go_to_smallest_id_whatever_the_block_order():
    # ids 7 and 2 both at distance 1 from id 5, in every one of 300 frames
    n = 300
    ids = np.repeat([7, 5, 2], n)
    frames = np.tile(np.arange(n), 3)
    x = np.repeat([1.0, 0.0, -1.0], n)
    y = np.zeros(3 * n)
    rows, dist = nearest_neighbors(x, y, ids, frames)
    np.testing.assert_array_equal(rows[n : 2 * n, 0], np.arange(2 * n, 3 * n))
    np.testing.assert_array_equal(dist[:, 0], np.ones(3 * n))
    # id 7 (x=1): nearest is id 5 at 1; id 2 (x=-1): nearest is id 5 at 1
    np.testing.assert_array_equal(rows[:n, 0], np.arange(n, 2 * n))
    np.testing.assert_array_equal(rows[2 * n :, 0], np.arange(n, 2 * n))


def test_panel_path_is_chosen_only_for_panels():
    x = np.zeros(6)
    # sorted by (id, frame), shared frames: a panel
    assert _panel_search(x, x, np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 2]))
    # frames not increasing within an id block: frame-major path instead
    assert _panel_search(x, x, np.array([0, 0, 0, 1, 1, 1]), np.array([0, 2, 1, 0, 1, 2])) is None
    # more id blocks than max_lanes, or mostly empty (lane, frame) cells
    ids, frames = np.arange(6), np.zeros(6, dtype=np.int64)
    assert _panel_search(x, x, ids, frames, max_lanes=5) is None
    assert _panel_search(x, x, np.array([0, 1]), np.array([0, 10**6])) is None
    assert _panel_search(np.empty(0), np.empty(0), np.empty(0, int), np.empty(0, int)) is None
