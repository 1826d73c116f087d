"""The pair kernels equal their slow references (tests/reference/pairs.py) on random
tables with NaN runs, absent stretches, one or two individuals, 100+ individuals and
distance ties; plus hand-worked cleaning, derivative and geometry cases. The interaction
spans equal scipy's closing / opening on the frame axis, the CWT equals pywt.cwt and a
direct convolution with the Morlet (short and overlap-save paths), and the bins equal
numpy's digitize / histogram2d (values on bin edges, NaN and inf)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels import pairs as pairs_mod
from moveo.kernels.pairs import (
    approach_avoidance_events,
    attention_targets,
    clean_columns,
    cwt_filters,
    cwt_log_power,
    delta_bins,
    frame_gradient,
    individual_kinematics,
    interaction_rows,
    lag_rows,
    nn_response,
    orientation_rel,
    pair_facing,
    pair_position,
    pair_rows,
    pose_distance_layout,
    pose_distances,
    smooth_columns,
    step_velocity,
)
from reference import pairs as ref
from reference import tracking as tref


@st.composite
def gappy_tables(draw, max_ids=5, max_frame=40, n_cols=2):
    """Tracks with runs of NaN (up to 30 frames) and absent stretches."""
    id_set = sorted(draw(st.sets(st.integers(0, 50), max_size=max_ids)))
    ids, frames = [], []
    for ident in id_set:
        fr = sorted(draw(st.sets(st.integers(0, max_frame), min_size=1, max_size=max_frame)))
        ids += [ident] * len(fr)
        frames += fr
    n = len(ids)
    vals = np.array(
        draw(st.lists(st.floats(-100, 100), min_size=n * n_cols, max_size=n * n_cols)),
        dtype=np.float64,
    ).reshape(n, n_cols)
    runs = draw(
        st.lists(
            st.tuples(
                st.integers(0, max(n - 1, 0)), st.integers(1, 30), st.integers(0, n_cols - 1)
            ),
            max_size=6,
        )
    )
    for start, length, col in runs:
        vals[start : start + length, col] = np.nan
    return {
        "ids": np.array(ids, dtype=np.int64),
        "frames": np.array(frames, dtype=np.int64),
        "values": vals,
        "offsets": tref.segment_offsets(ids).astype(np.int64),
    }


@given(
    table=gappy_tables(),
    linear=st.integers(1, 12),
    edge=st.integers(0, 4),
    frac=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    circular=st.booleans(),
)
def test_clean_matches_reference(table, linear, edge, frac, circular):
    circ = np.array([circular, False])
    got, keep = clean_columns(
        table["values"],
        table["frames"],
        table["offsets"],
        linear_limit=linear,
        edge_limit=edge,
        max_missing_fraction=frac,
        circular=circ,
    )
    exp, exp_keep = ref.clean_columns(
        table["values"], table["frames"], table["offsets"], linear, edge, frac, list(circ)
    )
    np.testing.assert_array_equal(keep, exp_keep)
    np.testing.assert_allclose(got[keep], exp[keep], rtol=1e-12, atol=1e-12)


def test_clean_hand_worked():
    # one individual, frames 0..59: a 25-frame gap is interpolated 10 frames from each
    # side, then forward / back filled 3 frames; 5 frames stay missing
    x = np.arange(60, dtype=float)
    x[10:35] = np.nan
    x[0:6] = np.nan  # leading 6: filled with the first valid value
    x[52:] = np.nan  # trailing 8: filled with the last valid value
    got, keep = clean_columns(
        x[:, None], np.arange(60), np.array([0, 60]), max_missing_fraction=1.0
    )
    g = got[:, 0]
    np.testing.assert_array_equal(g[:6], 6.0)
    np.testing.assert_allclose(g[10:20], np.arange(10, 20))
    np.testing.assert_array_equal(g[20:23], 19.0)  # forward fill
    np.testing.assert_array_equal(g[23:25], 25.0)  # back fill
    np.testing.assert_allclose(g[25:35], np.arange(25, 35))
    np.testing.assert_array_equal(g[52:], 51.0)
    assert keep.all()
    # with a second, complete column and the default 10 %, rows missing 1 of 2 go
    x2 = np.arange(60.0)
    x2[10:40] = np.nan
    got, keep = clean_columns(np.column_stack([x2, np.zeros(60)]), np.arange(60), np.array([0, 60]))
    assert (~keep).sum() == 4  # frames 23..26: 30 - 2*10 - 2*3
    np.testing.assert_array_equal(np.flatnonzero(~keep), [23, 24, 25, 26])


def test_clean_median_over_kept_rows_and_angles():
    # the holes of kept rows take the median of the kept rows (not the dropped ones)
    n = 60
    f = np.arange(n)
    y = f * 1.0
    y[0:7] = 5000.0
    y[7:37] = np.nan
    a = np.zeros(n)
    a[0:20] = np.nan
    x = f * 1.0
    x[0:20] = np.nan
    got, keep = clean_columns(
        np.column_stack([x, y, a]),
        f,
        np.array([0, n]),
        max_missing_fraction=0.5,
        circular=np.array([False, False, True]),
    )
    np.testing.assert_array_equal(np.flatnonzero(~keep), np.arange(7))
    kept_y = got[keep, 1]
    assert np.isfinite(kept_y).all()
    filled = got[20:24, 1]  # still missing after the fills: median of kept rows
    np.testing.assert_allclose(filled, np.median(got[7:, 1][np.r_[0:13, 17:53]]))
    # angles interpolate along the shorter arc (3 -> -3 passes through pi)
    ang = np.array([3.0, np.nan, np.nan, -3.0])
    got, _ = clean_columns(ang[:, None], np.arange(4), np.array([0, 4]), circular=np.array([True]))
    step = (2 * np.pi - 6.0) / 3
    np.testing.assert_allclose(got[1:3, 0], [3.0 + step, 3.0 + 2 * step])


def test_absent_frames_count_as_missing():
    # rows at frames 0..4 and 16..20: the NaN at frame 16 is 11 frames after frame 4
    # (more than linear_limit) but at most 10 before frame 17 -> interpolated in time
    frames = np.r_[0:5, 16:21].astype(np.int64)
    x = frames.astype(float) * 2.0
    x[5] = np.nan
    got, keep = clean_columns(x[:, None], frames, np.array([0, 10]))
    assert keep.all()
    assert got[5, 0] == pytest.approx(32.0)


@given(table=gappy_tables(n_cols=1), circular=st.booleans(), scale=st.sampled_from([1.0, 30.0]))
def test_gradient_matches_reference(table, circular, scale):
    v = table["values"][:, 0] / (10.0 if circular else 1.0)
    keep = np.isfinite(v) | (np.arange(v.size) % 3 == 0)
    got = frame_gradient(v, table["frames"], table["offsets"], keep, circular=circular, scale=scale)
    exp = ref.frame_gradient(v, table["frames"], table["offsets"], keep, circular, scale)
    np.testing.assert_allclose(got[keep], exp[keep], rtol=1e-12, atol=1e-12)
    assert np.isnan(got[~keep]).all()


def test_gradient_hand_worked():
    # central inside, one-sided at the ends and next to an absent frame, NaN alone
    frames = np.array([0, 1, 2, 5, 6, 9], dtype=np.int64)
    v = np.array([0.0, 1.0, 4.0, 10.0, 12.0, 7.0])
    got = frame_gradient(v, frames, np.array([0, 6]), scale=2.0)
    np.testing.assert_allclose(got[:5], [2.0, 4.0, 6.0, 4.0, 4.0])
    assert np.isnan(got[5])
    # wrapped: 3.0 -> -3.0 is a step of 2*pi - 6 (through pi), not -6
    w = frame_gradient(np.array([3.0, -3.0]), np.arange(2), np.array([0, 2]), circular=True)
    np.testing.assert_allclose(w, 2 * np.pi - 6.0)


@given(table=gappy_tables(n_cols=1), window=st.sampled_from([1, 3, 5]), circular=st.booleans())
def test_smooth_matches_reference(table, window, circular):
    v = np.nan_to_num(table["values"][:, 0]) / (20.0 if circular else 1.0)
    keep = np.arange(v.size) % 4 != 1
    got = smooth_columns(v, table["frames"], table["offsets"], keep, window, circular=circular)
    exp = ref.smooth(v, table["frames"], table["offsets"], keep, window, circular)
    np.testing.assert_allclose(got[keep], exp[keep], rtol=1e-9, atol=1e-9)


def test_smooth_rejects_even_window():
    with pytest.raises(ValueError, match="odd"):
        smooth_columns(np.zeros(3), np.arange(3), np.array([0, 3]), np.ones(3, bool), 4)


@given(
    table=tref.track_tables(max_ids=6, max_rows=8, max_frame=5),
    mode=st.sampled_from(["all", "nearest", "radius"]),
    k=st.integers(1, 3),
    radius=st.sampled_from([0.5, 10.0, 40.0]),
)
def test_pair_rows_match_reference(table, mode, k, radius):
    keep = np.arange(table["ids"].size) % 5 != 2
    x = np.round(table["x"])  # integer positions make distance ties common
    y = np.round(table["y"])
    got = pair_rows(
        table["frames"],
        table["offsets"],
        table["ids"],
        keep,
        mode=mode,
        x=x,
        y=y,
        k=k,
        radius=radius,
    )
    exp = ref.pair_rows(
        table["frames"], table["offsets"], table["ids"], keep, mode, x, y, k, radius
    )
    np.testing.assert_array_equal(got[0], exp[0])
    np.testing.assert_array_equal(got[1], exp[1])


@given(n=st.integers(41, 130), seed=st.integers(0, 2**31), lattice=st.booleans())
def test_pair_rows_many_individuals(n, seed, lattice):
    # 100+ individuals: the grid paths (k nearest, radius) equal the definition
    rng = np.random.default_rng(seed)
    n_frames = 2
    ids = np.repeat(np.arange(n) * 3 + 1, n_frames)
    frames = np.tile(np.arange(n_frames), n)
    if lattice:
        x, y = rng.integers(0, 8, ids.size) * 1.0, rng.integers(0, 8, ids.size) * 1.0
    else:
        x, y = rng.uniform(0, 50, ids.size), rng.uniform(0, 50, ids.size)
    x[rng.random(ids.size) < 0.05] = np.nan
    offsets = np.arange(0, ids.size + 1, n_frames)
    for mode in ("nearest", "radius"):
        got = pair_rows(frames, offsets, ids, mode=mode, x=x, y=y, k=2, radius=3.0)
        exp = ref.pair_rows(frames, offsets, ids, None, mode, x, y, 2, 3.0)
        np.testing.assert_array_equal(got[0], exp[0])
        np.testing.assert_array_equal(got[1], exp[1])
    ra, rb = pair_rows(frames, offsets, ids)
    assert ra.size == n_frames * n * (n - 1)


def test_pair_rows_counts_and_edges():
    # one individual: no pairs; two: both perspectives at the shared frames only
    one = pair_rows(np.arange(3), np.array([0, 3]), np.zeros(3, dtype=np.int64))
    assert one[0].size == 0
    frames = np.array([0, 1, 2, 1, 2, 3], dtype=np.int64)
    ids = np.array([4, 4, 4, 9, 9, 9])
    ra, rb = pair_rows(frames, np.array([0, 3, 6]), ids)
    np.testing.assert_array_equal(ra, [1, 2, 3, 4])
    np.testing.assert_array_equal(rb, [3, 4, 1, 2])
    # nearest k=1 among 4 on a line: each pair where one is the other's nearest
    x = np.array([0.0, 1.0, 3.0, 10.0])
    ra, rb = pair_rows(
        np.zeros(4, dtype=np.int64),
        np.arange(5),
        np.arange(4),
        mode="nearest",
        x=x,
        y=np.zeros(4),
        k=1,
    )
    assert list(zip(ra, rb, strict=True)) == [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    with pytest.raises(ValueError, match="radius"):
        pair_rows(
            np.zeros(2, dtype=np.int64), np.arange(3), np.arange(2), mode="radius", x=x[:2], y=x[:2]
        )
    with pytest.raises(ValueError, match="mode"):
        pair_rows(np.zeros(2, dtype=np.int64), np.arange(3), np.arange(2), mode="knn")


@given(table=tref.track_tables(max_ids=4, max_rows=6, max_frame=6))
def test_pair_position_matches_reference(table):
    keep = np.ones(table["ids"].size, bool)
    ra, rb = pair_rows(table["frames"], table["offsets"], table["ids"], keep)
    kin = individual_kinematics(
        table["x"], table["y"], table["angle"], table["frames"], table["offsets"], keep, 30.0
    )
    got = pair_position(ra, rb, table["x"], table["y"], table["angle"], kin)
    exp = ref.pair_position(ra, rb, table["x"], table["y"], table["angle"], kin)
    np.testing.assert_allclose(got, exp, rtol=1e-9, atol=1e-9)


def test_two_animals_facing_each_other():
    # A at (0, 0) heading +x moving at 2 px/frame; B at (10, 0) heading -x (pi), still.
    # At 30 fps: A_speed 60, B is 10 ahead of A (dx_ego 10, dy_ego 0), A is 10 ahead of B,
    # relative heading pi (cos -1), B approaches nobody.
    frames = np.tile(np.arange(3), 2)
    x = np.array([0.0, 2.0, 4.0, 10.0, 10.0, 10.0])
    y = np.zeros(6)
    h = np.array([0.0, 0.0, 0.0, math.pi, math.pi, math.pi])
    offsets = np.array([0, 3, 6])
    keep = np.ones(6, bool)
    ra, rb = pair_rows(frames, offsets, np.array([1, 1, 1, 2, 2, 2]), keep)
    kin = individual_kinematics(x, y, h, frames, offsets, keep, 30.0)
    out = pair_position(ra, rb, x, y, h, kin)
    a_b = out[1]  # frame 1, A -> B: B is 8 ahead
    np.testing.assert_allclose(a_b[[0, 1, 2, 3]], [60.0, 60.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(a_b[[6, 7, 8, 9, 10]], [8.0, 8.0, 0.0, -1.0, 0.0], atol=1e-12)
    b_a = out[4]  # frame 1, B -> A: A is 8 ahead of B; B_* are A's own kinematics
    np.testing.assert_allclose(b_a[[6, 7, 8]], [8.0, 8.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(b_a[[11, 12, 13]], [60.0, 60.0, 0.0], atol=1e-12)


@given(
    table=tref.track_tables(max_ids=4, max_rows=6, max_frame=5, n_keypoints=2),
    towards=st.booleans(),
    thresh=st.sampled_from([10.0, 45.0, 180.0]),
)
def test_pair_facing_matches_reference(table, towards, thresh):
    ra, rb = pair_rows(table["frames"], table["offsets"], table["ids"])
    px, py = table["px"], table["py"]
    args = (px[:, 0], py[:, 0], px[:, 1], py[:, 1])
    got, fac = pair_facing(
        ra,
        rb,
        *args,
        towards_tail=towards,
        dist_scale=0.5,
        angle_thresh_deg=thresh,
        dist_thresh=20.0,
    )
    exp, exp_fac = ref.pair_facing(ra, rb, *args, towards, 0.5, thresh, 20.0)
    np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(fac, exp_fac)


@given(
    n=st.integers(0, 40),
    seed=st.integers(0, 2**31),
)
def test_attention_matches_reference(n, seed):
    rng = np.random.default_rng(seed)
    id1 = np.sort(rng.integers(0, 4, n))
    id2 = rng.integers(0, 4, n)
    frames = rng.integers(0, 5, n)
    angle = rng.integers(0, 4, n).astype(float) * 10.0  # ties are common
    angle[rng.random(n) < 0.1] = np.nan
    facing = rng.random(n) < 0.6
    got = attention_targets(id1, id2, frames, angle, facing)
    exp = ref.attention_targets(id1, id2, frames, angle, facing)
    for key in ("id", "frame", "target"):
        np.testing.assert_array_equal(got[key], exp[key])
    np.testing.assert_array_equal(got["angle"], exp["angle"])


@given(
    table=tref.track_tables(max_ids=3, max_rows=5, max_frame=3, n_keypoints=5),
    k=st.integers(1, 6),
    qs=st.lists(st.floats(0, 1), min_size=0, max_size=3),
)
def test_orientation_rel_matches_reference(table, k, qs):
    ra, rb = pair_rows(table["frames"], table["offsets"], table["ids"])
    scale = np.abs(table["x"]) + 0.5
    got = orientation_rel(ra, rb, table["px"], table["py"], table["angle"], scale, tuple(qs), k)
    exp = ref.orientation_rel(ra, rb, table["px"], table["py"], table["angle"], scale, qs, k)
    np.testing.assert_allclose(got, exp, rtol=1e-9, atol=1e-9)


@given(
    table=tref.track_tables(max_ids=3, max_rows=10, max_frame=12),
    lag=st.integers(-5, 5).filter(lambda v: v != 0),
)
def test_lag_rows_and_response_match_reference(table, lag):
    frames, offsets = table["frames"], table["offsets"]
    lags = np.full(frames.size, lag, dtype=np.int64)
    lags[::3] = abs(lag) + 1  # a per-row lag too
    got = lag_rows(frames, offsets, lags)
    np.testing.assert_array_equal(got, ref.lag_rows(frames, offsets, lags))
    # one lag for every row: the linear (two-pointer) path
    np.testing.assert_array_equal(
        lag_rows(frames, offsets, lag), ref.lag_rows(frames, offsets, lag)
    )
    rows = np.flatnonzero(got >= 0)
    res = nn_response(
        rows, got[rows], table["x"], table["y"], table["angle"], table["x"], lags, fps_scale=30.0
    )
    i, j = rows, got[rows]
    np.testing.assert_allclose(res[:, 0], table["x"][j] - table["x"][i])
    np.testing.assert_allclose(res[:, 2], lags[i])
    dang = [tref.wrap(a) for a in table["angle"][j] - table["angle"][i]]
    np.testing.assert_allclose(res[:, 3], np.array(dang) / lags[i] * 30.0, rtol=1e-12, atol=1e-12)


@given(
    seed=st.integers(0, 2**31),
    n_ids=st.integers(1, 4),
    gate=st.sampled_from([None, 0.5]),
    window=st.integers(1, 4),
    min_count=st.integers(1, 5),
    smooth=st.sampled_from([1, 2, 3]),
)
def test_approach_avoidance_matches_reference(seed, n_ids, gate, window, min_count, smooth):
    rng = np.random.default_rng(seed)
    n_frames = 12
    ids = np.repeat(np.arange(n_ids) + 1, n_frames)
    frames = np.tile(np.arange(n_frames), n_ids)
    present = rng.random(ids.size) > 0.15  # absent rows
    ids, frames = ids[present], frames[present]
    offsets = tref.segment_offsets(ids).astype(np.int64)
    x = rng.normal(0, 5, ids.size).cumsum()
    y = rng.normal(0, 5, ids.size).cumsum()
    x[rng.random(ids.size) < 0.05] = np.nan
    heading = rng.uniform(-np.pi, np.pi, ids.size)
    keep = np.ones(ids.size, bool)
    vx = step_velocity(x, frames, offsets, keep)
    vy = step_velocity(y, frames, offsets, keep)
    ra, rb = pair_rows(frames, offsets, ids, keep)
    thr = (30.0, 2.0, 1.0, 0.2, 0.0, gate)
    got = approach_avoidance_events(
        ra,
        rb,
        frames[ra],
        offsets,
        x,
        y,
        vx,
        vy,
        heading,
        distance_threshold=30.0,
        approacher_speed=2.0,
        avoider_speed=1.0,
        cos_approacher=0.2,
        cos_avoider=0.0,
        orientation_gate_cos=gate,
        window=window,
        min_count=min_count,
        smooth=smooth,
    )
    exp = ref.approach_avoidance(
        ra, rb, frames[ra], ids, x, y, vx, vy, heading, thr, window, min_count, smooth
    )
    np.testing.assert_array_equal(got[0], exp[0])
    np.testing.assert_array_equal(got[1], exp[1])


def test_step_velocity_needs_the_previous_frame():
    frames = np.array([0, 1, 2, 4, 5], dtype=np.int64)
    v = step_velocity(
        np.array([0.0, 1.0, 3.0, 6.0, 10.0]),
        frames,
        np.array([0, 5]),
        np.array([True, True, True, True, True]),
        scale=2.0,
    )
    np.testing.assert_array_equal(v[[1, 2, 4]], [2.0, 4.0, 8.0])
    assert np.isnan(v[[0, 3]]).all()


def test_lag_rows_across_parallel_chunks():
    # 3 individuals with gaps over ~100k rows: the chunked two-pointer path equals search
    rng = np.random.default_rng(4)
    frames = np.concatenate([np.sort(rng.choice(60_000, 35_000, replace=False)) for _ in range(3)])
    offsets = np.array([0, 35_000, 70_000, 105_000])
    for lag in (3, -2):
        fast = lag_rows(frames, offsets, lag)
        slow = lag_rows(frames, offsets, np.full(frames.size, lag))
        np.testing.assert_array_equal(fast, slow)
        ok = fast >= 0
        np.testing.assert_array_equal(frames[fast[ok]] - frames[ok], lag)


@given(
    table=tref.track_tables(max_ids=3, max_rows=4, max_frame=3, n_keypoints=4),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()).filter(any),
)
def test_pose_distances_match_reference(table, flags):
    ra, rb = pair_rows(table["frames"], table["offsets"], table["ids"])
    layout = pose_distance_layout(4, *flags)
    got = pose_distances(ra, rb, table["px"], table["py"], layout)
    exp = ref.pose_distances(ra, rb, table["px"], table["py"], *flags)
    np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12)
    assert got.shape[1] == 6 * flags[0] + 6 * flags[1] + 16 * flags[2]


# ----------------------------------------------------------------------------- interaction filter


def _interaction_tuples(res):
    return list(
        zip(
            res["focal"].tolist(),
            res["partner"].tolist(),
            res["label"].tolist(),
            res["start"].tolist(),
            res["end"].tolist(),
            strict=True,
        )
    )


@given(
    table=gappy_tables(max_ids=4, max_frame=60, n_cols=3),
    shift=st.sampled_from([0.0, 3.0]),
    max_dist=st.sampled_from([20.0, 80.0, 150.0]),
    facing=st.booleans(),
    max_inv=st.sampled_from([30.0, 120.0]),
    min_run=st.integers(0, 8),
    pad=st.integers(0, 6),
    size=st.integers(0, 6),
)
def test_interaction_rows_match_reference(
    table, shift, max_dist, facing, max_inv, min_run, pad, size
):
    v = table["values"]
    x, y, h = (np.ascontiguousarray(v[:, k]) for k in range(3))
    got = interaction_rows(
        table["frames"],
        table["offsets"],
        x,
        y,
        h,
        shift_dist=shift,
        max_dist=max_dist,
        require_facing=facing,
        max_inv_orientation_diff_deg=max_inv,
        min_run_frames=min_run,
        frame_padding=pad,
        structure_size=size,
    )
    want = ref.interaction_rows(
        table["frames"],
        table["offsets"],
        x,
        y,
        h,
        shift,
        max_dist,
        facing,
        max_inv,
        min_run,
        pad,
        size,
    )
    assert _interaction_tuples(got) == want


def _two(frames_a, xa, ha, frames_b, xb, hb):
    frames = np.r_[frames_a, frames_b].astype(np.int64)
    x = np.r_[xa, xb].astype(np.float64)
    h = np.r_[ha, hb].astype(np.float64)
    offsets = np.array([0, len(frames_a), len(frames)], dtype=np.int64)
    return frames, offsets, x, np.zeros_like(x), h


def test_interaction_hand_worked():
    # A at x=0 heading +x, B at x=30 heading -x (face to face): shifted by 15 each they
    # meet (distance 0 < 40) and the inverse orientation difference is 0 < 80 degrees.
    # B turns away (heading +x) at frames 40..44 (5 frames, bridged by the closing with
    # size 25) and walks off at frame 80.
    n = 100
    f = np.arange(n)
    hb = np.where((f >= 40) & (f < 45), 0.0, np.pi)
    xb = np.where(f < 80, 30.0, 500.0)
    args = _two(f, np.zeros(n), np.zeros(n), f, xb, hb)
    res = interaction_rows(*args, min_run_frames=50, frame_padding=10, structure_size=25)
    # one interaction: frames 0..79, padded to 0..89 (clamped at the first frame)
    assert res["focal"].shape[0] == 2 * 90
    ab = res["focal"] < n
    assert np.array_equal(args[0][res["focal"][ab]], np.arange(90))
    assert set(res["label"]) == {0} and set(res["start"]) == {0} and set(res["end"]) == {89}
    # (b, a) rows follow the (a, b) block; the same frames mirrored
    assert np.array_equal(res["partner"][~ab], res["focal"][ab])
    # a minimum run longer than the 80 frames: nothing
    assert interaction_rows(*args, min_run_frames=81)["focal"].shape == (0,)
    # no morphology: the turn splits the run into 0..39 and 45..79; with no padding
    res = interaction_rows(*args, min_run_frames=30, frame_padding=0, structure_size=0)
    trip = zip(res["label"], res["start"], res["end"], strict=True)
    spans = {(int(a), int(b), int(c)) for a, b, c in trip}
    assert spans == {(0, 0, 39), (1, 45, 79)}
    # distance alone (require_facing=False) ignores the turn; B then 15 px behind A's
    # shifted point keeps qualifying: one run 0..79
    res = interaction_rows(
        *args, require_facing=False, min_run_frames=30, frame_padding=0, structure_size=0
    )
    assert set(res["start"]) == {0} and set(res["end"]) == {79}


def test_interaction_padding_merges_and_nan_and_absence():
    n = 60
    f = np.arange(n)
    xb = np.full(n, 30.0)
    xb[20:24] = np.nan  # NaN frames never qualify
    args = _two(f, np.zeros(n), np.zeros(n), f, xb, np.full(n, np.pi))
    res = interaction_rows(*args, min_run_frames=5, frame_padding=3, structure_size=0)
    # runs 0..19 and 24..59, padded to 0..22 and 21..59: they overlap, so they merge
    assert set(res["label"]) == {0} and set(res["start"]) == {0} and set(res["end"]) == {59}
    # B absent for frames 30..39: no rows there; closing (size 12) bridges the absence
    keep = (f < 30) | (f >= 40)
    args = _two(
        f, np.zeros(n), np.zeros(n), f[keep], np.full(keep.sum(), 30.0), np.full(keep.sum(), np.pi)
    )
    res = interaction_rows(*args, min_run_frames=50, frame_padding=0, structure_size=12)
    assert res["focal"].shape[0] == 2 * keep.sum()
    assert set(res["start"]) == {0} and set(res["end"]) == {59}
    # without the closing the absence splits the runs (30 and 20 frames)
    res = interaction_rows(*args, min_run_frames=25, frame_padding=0, structure_size=0)
    assert set(res["end"]) == {29}


def test_interaction_one_individual_and_bad_arguments():
    f = np.arange(5, dtype=np.int64)
    res = interaction_rows(f, np.array([0, 5]), np.zeros(5), np.zeros(5), np.zeros(5))
    assert all(v.shape == (0,) for v in res.values())
    with pytest.raises(ValueError, match="frame_padding"):
        interaction_rows(
            f, np.array([0, 5]), np.zeros(5), np.zeros(5), np.zeros(5), frame_padding=-1
        )


# ----------------------------------------------------------------------------- wavelet


def _pywt_log_power(signal, scales, floor=-3.0):
    import pywt

    coef, _ = pywt.cwt(signal, scales, pywt.ContinuousWavelet("cmor1.5-1.0"))
    power = (np.abs(coef) ** 2).astype(np.float32)
    return np.maximum(np.log(power + np.finfo(np.float32).tiny), floor).T


SCALES = np.array([2.0, 3.7, 9.5], dtype=np.float32)


@given(
    lengths=st.lists(st.integers(1, 90), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
    floor=st.sampled_from([-3.0, -30.0]),
)
def test_cwt_matches_pywt_per_segment(lengths, seed, floor):
    rng = np.random.default_rng(seed)
    n = sum(lengths) + 3
    data = np.full((n, 2), np.nan)
    data[:, 0] = rng.normal(size=n)
    data[:, 1] = rng.normal(size=n) * 100
    starts = np.cumsum([0, *lengths[:-1]])
    seg_start = np.r_[starts, starts]
    seg_len = np.r_[lengths, lengths]
    seg_col = np.r_[np.zeros(len(lengths)), np.ones(len(lengths))].astype(np.int64)
    filters, offs = cwt_filters("cmor1.5-1.0", SCALES)
    out = cwt_log_power(data, seg_start, seg_len, seg_col, filters, offs, log_floor=floor)
    assert out.dtype == np.float32 and out.shape == (n, 6)
    for s0, length, col in zip(seg_start, seg_len, seg_col, strict=True):
        want = _pywt_log_power(data[s0 : s0 + length, col], SCALES, floor)
        got = out[s0 : s0 + length, 3 * col : 3 * col + 3]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.isnan(out[sum(lengths) :]).all()  # rows outside every segment


def test_cwt_equals_direct_morlet_convolution():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    coef = ref.cmor_cwt(x, SCALES, 1.5, 1.0)
    want = np.maximum(
        np.log((np.abs(coef) ** 2).astype(np.float32) + np.finfo(np.float32).tiny), -3.0
    )
    filters, offs = cwt_filters("cmor1.5-1.0", SCALES)
    got = cwt_log_power(x[:, None], np.array([0]), np.array([40]), np.array([0]), filters, offs)
    np.testing.assert_allclose(got, want.T, rtol=1e-5, atol=1e-5)
    # a sine at the frequency of scale 9.5 (centre frequency 1: 1 / 9.5 cycles per sample)
    # has most power there, away from the edges
    t = np.arange(400)
    sine = np.sin(2 * np.pi * t / 9.5)
    got = cwt_log_power(sine[:, None], np.array([0]), np.array([400]), np.array([0]), filters, offs)
    assert (got[100:300].argmax(axis=1) == 2).all()


def test_cwt_overlap_save_blocks_and_batches(monkeypatch):
    # small FFT blocks and budgets force many blocks per segment and scale chunks
    monkeypatch.setattr(pairs_mod, "_CWT_BLOCK", 256)
    monkeypatch.setattr(pairs_mod, "_CWT_BUDGET", 512)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 1))
    filters, offs = cwt_filters("cmor1.5-1.0", SCALES)
    got = cwt_log_power(
        x, np.array([0, 2000]), np.array([2000, 1000]), np.array([0, 0]), filters, offs
    )
    np.testing.assert_allclose(
        got[:2000], _pywt_log_power(x[:2000, 0], SCALES), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        got[2000:], _pywt_log_power(x[2000:, 0], SCALES), rtol=1e-5, atol=1e-5
    )


def test_cwt_rejects_a_too_small_scale():
    with pytest.raises(ValueError, match="too small"):
        cwt_filters("cmor1.5-1.0", np.array([0.01]))


# ----------------------------------------------------------------------------- nn-delta bins


grid = st.sampled_from([-14.0, -7.0, 0.0, 2.5, 5.0, 14.0, 15.0, np.nan, np.inf])


@given(
    n=st.integers(0, 40),
    seed=st.integers(0, 2**16),
    antisymm=st.booleans(),
    nbins=st.sampled_from([2, 5, 45]),
    on_edges=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 3), grid), max_size=12),
)
def test_delta_bins_match_reference(n, seed, antisymm, nbins, on_edges):
    rng = np.random.default_rng(seed)
    cols = [
        rng.uniform(-16, 16, n),
        rng.uniform(-16, 16, n),
        rng.normal(size=n),
        rng.normal(size=n),
    ]
    for row, col, value in on_edges:
        if row < n:
            cols[col][row] = value
    groups = [np.arange(n), np.arange(0, n, 2), np.array([], dtype=np.int64)]
    rows = np.concatenate(groups).astype(np.int64)
    goff = np.cumsum([0] + [len(g) for g in groups])
    got = delta_bins(
        rows, goff, *cols, nbins=nbins, binmax=14.0, max_for_avg=5.0, antisymm=antisymm
    )
    want = ref.delta_bins(groups, *cols, nbins, 14.0, 5.0, antisymm)
    for g, w in enumerate(want):
        for key, (s, c) in (("turn", w["turn_1d"]), ("speed", w["speed_1d"])):
            np.testing.assert_allclose(got[f"{key}_sum_1d"][g], s, atol=1e-12)
            np.testing.assert_array_equal(got[f"{key}_count_1d"][g], c)
        for key, (s, c) in (("turn", w["turn_2d"]), ("speed", w["speed_2d"])):
            np.testing.assert_allclose(got[f"{key}_sum_2d"][g], s, atol=1e-12)
            np.testing.assert_array_equal(got[f"{key}_count_2d"][g], c)


def test_delta_bins_hand_worked():
    # two neighbours: 2 ahead and 1 to the left (turn left, dangle 0.5), and 3 behind
    # beside (dspeed -1). nbins=5 edges over [-4, 4]: -4, -2, 0, 2, 4
    nx, ny = np.array([2.0, -3.0]), np.array([1.0, 0.0])
    da, ds = np.array([0.5, 0.2]), np.array([0.0, -1.0])
    b = delta_bins(np.array([0, 1]), np.array([0, 2]), nx, ny, da, ds, nbins=5, binmax=4.0)
    # turn: only the neighbour ahead; y=1 in bin 2 ([0, 2)), mirrored y=-1 in bin 1
    assert b["turn_sum_1d"][0].tolist() == [0.0, -0.5, 0.5, 0.0]
    assert b["turn_count_1d"][0].tolist() == [0, 1, 1, 0]
    # speed: both are within |y| <= 2.5; x=2 in bin 3, x=-3 in bin 0
    assert b["speed_sum_1d"][0].tolist() == [-1.0, 0.0, 0.0, 0.0]
    assert b["speed_count_1d"][0].tolist() == [1, 0, 0, 1]
    # 2-D speed: (2, +-1) and (-3, 0 twice) over y edges -4, -2.4, -0.8, 0.8, 2.4, 4
    assert b["speed_count_2d"][0].sum() == 4
    assert b["speed_sum_2d"][0][0, 2] == -2.0
    with pytest.raises(ValueError, match="nbins"):
        delta_bins(np.array([0]), np.array([0, 1]), nx, ny, da, ds, nbins=1)
