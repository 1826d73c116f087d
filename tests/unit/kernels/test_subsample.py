"""The subsampling kernels: canonical pose (hand-worked rotation), nearest row per
centroid (equals the brute-force argmin, ties to the lowest row) and clip rows (per
individual, in frames, moved back at the end) against slow references."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.subsample import canonical_pose, clip_rows, nearest_rows
from reference import tracking as tref


def test_canonical_pose_hand_worked():
    # a body at (10, 5) heading +y: a keypoint 2 ahead is at (10, 7), 1 to the left at (9, 5)
    out = canonical_pose(
        np.array([10.0]),
        np.array([5.0]),
        np.array([np.pi / 2]),
        np.array([[10.0, 9.0]]),
        np.array([[7.0, 5.0]]),
    )
    np.testing.assert_allclose(out, [[2.0, 0.0, 0.0, 1.0]], atol=1e-12)


@given(
    x=st.lists(st.floats(-5, 5), min_size=1, max_size=30),
    c=st.lists(st.floats(-5, 5), min_size=1, max_size=5),
)
def test_nearest_rows_is_the_first_argmin(x, c):
    xs = np.array(x).reshape(-1, 1).repeat(2, axis=1) * [1.0, 0.5]
    cs = np.array(c).reshape(-1, 1).repeat(2, axis=1)
    got = nearest_rows(xs, cs)
    for k in range(len(cs)):
        d = [((xs[i] - cs[k]) ** 2).sum() for i in range(len(xs))]
        assert got[k] == int(np.argmin(d))  # numpy's argmin: the first minimum


def _clip_ref(frames, offsets, seeds, clip_len):
    keep = np.zeros(len(frames), dtype=bool)
    for r in seeds:
        for start, stop in tref.segments(offsets):
            if start <= r < stop:
                first = min(frames[r], frames[stop - 1] - clip_len + 1)
                first = max(first, frames[start])
                for i in range(start, stop):
                    keep[i] |= first <= frames[i] < first + clip_len
    return keep


@given(table=tref.track_tables(), clip_len=st.integers(1, 6), data=st.data())
def test_clip_rows_match_reference(table, clip_len, data):
    n = len(table["frames"])
    seeds = np.array(
        data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=4) if n else st.just([])),
        dtype=np.int64,
    )
    got = clip_rows(table["frames"], table["offsets"], seeds, clip_len)
    np.testing.assert_array_equal(
        got, _clip_ref(table["frames"], table["offsets"], seeds, clip_len)
    )


def test_clip_rows_hand_worked():
    # two individuals of frames 0..5; a clip of 3 from the last frame of the first is
    # moved back to frames 3..5 and never reaches into the second
    frames = np.array([0, 1, 2, 3, 4, 5] * 2)
    keep = clip_rows(frames, np.array([0, 6, 12]), np.array([5]), 3)
    assert np.flatnonzero(keep).tolist() == [3, 4, 5]
    # frames are frames: with frame 2 missing, a clip of 3 from frame 1 holds frames 1 and 3
    keep = clip_rows(np.array([0, 1, 3, 4]), np.array([0, 4]), np.array([1]), 3)
    assert np.flatnonzero(keep).tolist() == [1, 2]
    with pytest.raises(ValueError, match="clip_len must be >= 1"):
        clip_rows(frames, np.array([0, 12]), np.array([0]), 0)
    assert nearest_rows(np.empty((0, 2)), np.zeros((1, 2))).tolist() == [-1]
