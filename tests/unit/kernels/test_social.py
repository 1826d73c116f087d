"""moveo.kernels.social equals the plain-Python per-individual summary.

Proves: social metrics, speed dispersion, |accel| and |jerk| statistics and the
burst-and-coast summary agree with tests/reference/collective.py on hypothesis
series with NaN speeds, frame gaps, one-row individuals and subgroup splits.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.social import SUMMARY_COLUMNS, social_summaries
from reference import collective as ref

val = st.one_of(st.floats(-20, 20, allow_nan=False), st.just(math.nan))


@st.composite
def series(draw):
    n_ids = draw(st.integers(1, 3))
    rows = []
    for _ in range(n_ids):
        frames = sorted(draw(st.sets(st.integers(0, 12), min_size=1, max_size=8)))
        rows.append([(f, draw(val), draw(st.booleans()), draw(val), draw(val), draw(val),
                      draw(val), draw(st.integers(-1, 2))) for f in frames])  # fmt: skip
    return rows


@given(data=series(), burst=st.booleans(), split=st.booleans(), fps=st.sampled_from([1.0, 30.0]))
def test_summaries_match_reference(data, burst, split, fps):
    flat = [r for fish in data for r in fish]
    cols = list(zip(*flat, strict=True))
    frames = np.array(cols[0], dtype=np.int64)
    speed, social, nbr, angle, ex, ey = (np.array(c, dtype=float) for c in cols[1:7])
    social = social.astype(bool)
    sub = np.array(cols[7], dtype=np.int64)
    offsets = np.cumsum([0] + [len(f) for f in data]).astype(np.int64)
    got = social_summaries(speed, frames, offsets, fps=fps, social=social, neighbor_speed=nbr,
                           dev_group=nbr - 1.0, nn_angle=angle, ego_x=ex, ego_y=ey,
                           subgroup=sub if split else None, burst_coast=burst)  # fmt: skip
    expected = []
    for s in range(len(data)):
        a, b = offsets[s], offsets[s + 1]
        codes = sorted({c for c in sub[a:b] if c >= 0}) if split else [-1]
        for code in codes:
            sample = [code < 0 or sub[k] == code for k in range(a, b)]
            expected.append(
                ref.social_summary(
                    speed[a:b],
                    frames[a:b],
                    social[a:b],
                    fps,
                    sample,
                    nbr=nbr[a:b],
                    dev=nbr[a:b] - 1.0,
                    angle=angle[a:b],
                    ex=ex[a:b],
                    ey=ey[a:b],
                    burst=burst,
                )  # fmt: skip
            )
    assert len(got["segment"]) == len(expected)
    for o, e in enumerate(expected):
        for name in SUMMARY_COLUMNS:
            np.testing.assert_allclose(got[name][o], e[name], rtol=1e-9, atol=1e-12,
                                       err_msg=name)  # fmt: skip
        for name in ("n_frames", "n_social_frames", "n_accel", "n_jerk"):
            assert got[name][o] == e[name], name


def test_hand_worked_acceleration():
    # speed 0, 1, 3, 6 at 1 fps: accel 1, 2, 3; jerk 1, 1
    got = social_summaries(np.array([0.0, 1.0, 3.0, 6.0]), np.arange(4), np.array([0, 4]),
                           fps=1.0, social=np.zeros(4, bool), burst_coast=True)  # fmt: skip
    assert got["accel_mean"][0] == 2.0 and got["accel_med"][0] == 2.0
    assert got["jerk_mean"][0] == 1.0 and got["jerk_cv"][0] == 0.0
    assert got["kick_rate"][0] == 0.0 and got["burst_coast_ratio"][0] == 1.0
    assert math.isnan(got["nn_align"][0])


def test_bearing_of_a_tiny_offset_is_a_unit_vector():
    # an offset of 1e-200 squares to 0.0: the bearing still points along it (hypot, no underflow)
    got = social_summaries(np.array([1.0, 1.0]), np.arange(2), np.array([0, 2]), fps=1.0,
                           social=np.ones(2, bool), ego_x=np.array([0.0, 0.0]),
                           ego_y=np.array([1e-200, 1e-200]))  # fmt: skip
    assert got["nn_bearing_x"][0] == 0.0 and got["nn_bearing_y"][0] == 1.0
