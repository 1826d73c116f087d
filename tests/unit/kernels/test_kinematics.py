"""Kinematics kernels vs the references (hypothesis) and hand-worked motion; NaN, segments, bad
arguments.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.kernels.kinematics import speed_angvel, step_speed_angvel, wrap_angle
from reference import tracking as ref


def assert_angles_close(got, expected, atol=1e-9):
    """Equal as angles: NaN where the other is NaN, else equal modulo 2*pi."""
    got, expected = np.asarray(got), np.asarray(expected)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    ok = ~np.isnan(got)
    diff = np.angle(np.exp(1j * (got[ok] - expected[ok])))
    np.testing.assert_allclose(diff, 0.0, atol=atol)


@given(table=ref.track_tables(), use_fps=st.booleans(), with_angle=st.booleans())
def test_speed_angvel_matches_reference(table, use_fps, with_angle):
    angle = table["angle"] if with_angle else None
    if use_fps:
        got = speed_angvel(
            table["x"], table["y"], table["frames"], table["offsets"], angle=angle, fps=25.0
        )
        exp = ref.speed_angvel(
            table["x"], table["y"], table["frames"], table["offsets"], angle, 25.0
        )
    else:
        got = speed_angvel(table["x"], table["y"], table["time"], table["offsets"], angle=angle)
        exp = ref.speed_angvel(table["x"], table["y"], table["time"], table["offsets"], angle)
    assert set(got) == set(exp)
    for key in ("vx", "vy", "speed"):
        np.testing.assert_allclose(got[key], exp[key], rtol=1e-9, atol=1e-9, err_msg=key)
    if with_angle:
        # wrap to +pi vs -pi can differ by rounding exactly at the boundary
        np.testing.assert_allclose(got["angvel"], exp["angvel"], rtol=1e-9, atol=1e-7)


@given(table=ref.track_tables(), step=st.integers(1, 4), use_fps=st.booleans())
def test_step_speed_angvel_matches_reference(table, step, use_fps):
    kwargs = {"fps": 25.0} if use_fps else {"clock": table["time"]}
    got = step_speed_angvel(
        table["x"],
        table["y"],
        table["frames"],
        step,
        table["offsets"],
        angle=table["angle"],
        **kwargs,
    )
    exp = ref.step_speed_angvel(
        table["x"],
        table["y"],
        table["frames"],
        step,
        table["offsets"],
        clock=table["time"],
        angle=table["angle"],
        fps=25.0 if use_fps else None,
    )
    np.testing.assert_allclose(got["speed_step"], exp["speed_step"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["angvel_step"], exp["angvel_step"], rtol=1e-9, atol=1e-7)


@given(a=st.one_of(st.floats(-40, 40), st.just(math.nan), st.just(math.inf)))
def test_wrap_angle_matches_reference(a):
    got = wrap_angle(np.array([a]))[0]
    exp = ref.wrap(a)
    if math.isnan(exp):
        assert math.isnan(got)
    else:
        assert -math.pi < got <= math.pi
        assert_angles_close([got], [exp], atol=1e-12)


def test_wrap_angle_boundaries():
    np.testing.assert_allclose(
        wrap_angle(np.array([np.pi, -np.pi, 3 * np.pi, 2 * np.pi, 0.5])),
        [np.pi, np.pi, np.pi, 0.0, 0.5],
        atol=1e-12,
    )


def test_constant_velocity_body_has_known_speed():
    # 3 px/frame in x, 4 px/frame in y at 10 fps -> 30, 40, speed 50 px/s
    f = np.arange(6)
    x, y = 3.0 * f, 4.0 * f
    out = speed_angvel(x, y, f, fps=10.0)
    np.testing.assert_allclose(out["vx"][1:], 30.0)
    np.testing.assert_allclose(out["vy"][1:], 40.0)
    np.testing.assert_allclose(out["speed"][1:], 50.0)
    assert np.isnan(out["speed"][0])
    # the same from timestamps, and with a missing frame (dt = 2 frames)
    out_t = speed_angvel(x, y, f / 10.0)
    np.testing.assert_allclose(out_t["speed"][1:], 50.0)
    gap = speed_angvel(x[[0, 1, 3]], y[[0, 1, 3]], f[[0, 1, 3]], fps=10.0)
    np.testing.assert_allclose(gap["speed"][1:], 50.0)
    step = step_speed_angvel(x, y, f, 2, fps=10.0)
    np.testing.assert_allclose(step["speed_step"], [np.nan, np.nan, 50, 50, 50, 50])


def test_circle_has_known_angular_velocity():
    # heading advances 0.5 rad per frame at 20 fps -> 10 rad/s, across the +-pi seam
    f = np.arange(40)
    heading = wrap_angle(0.5 * f)
    r = 2.0
    out = speed_angvel(r * np.cos(0.5 * f), r * np.sin(0.5 * f), f, angle=heading, fps=20.0)
    np.testing.assert_allclose(out["angvel"][1:], 10.0, rtol=1e-12)
    # chord length 2 r sin(0.25) per frame
    np.testing.assert_allclose(out["speed"][1:], 20.0 * 2 * r * math.sin(0.25), rtol=1e-12)
    # crossing the seam takes the short way round: +0.18 rad, then -0.28 rad
    back = speed_angvel(
        np.zeros(3), np.zeros(3), np.arange(3), angle=np.array([3.0, -3.1, 2.9]), fps=1.0
    )
    np.testing.assert_allclose(back["angvel"][1:], [2 * np.pi - 6.1, -(2 * np.pi - 6.0)])


def test_nan_and_segments():
    x = np.array([0.0, 1.0, np.nan, 3.0, 4.0, 10.0, 12.0])
    f = np.array([0, 1, 2, 3, 4, 0, 1])
    out = speed_angvel(x, np.zeros(7), f, np.array([0, 5, 7]), fps=1.0)
    np.testing.assert_allclose(out["vx"], [np.nan, 1, np.nan, np.nan, 1, np.nan, 2])
    # a repeated timestamp is not a division by zero
    rep = speed_angvel(np.array([0.0, 1.0]), np.zeros(2), np.array([1.0, 1.0]))
    assert np.isnan(rep["speed"][1])


def test_empty_and_single_row_and_long_table_chunks():
    empty = speed_angvel(np.empty(0), np.empty(0), np.empty(0, dtype=np.int64), fps=1.0)
    assert all(v.shape == (0,) for v in empty.values())
    one = speed_angvel(np.ones(1), np.ones(1), np.zeros(1, dtype=np.int64), fps=1.0)
    assert np.isnan(one["speed"]).all()
    # several parallel row chunks with segment starts on and around chunk edges
    n = 3 * (1 << 15) + 7
    offsets = np.array([0, 1, (1 << 15) - 1, 1 << 15, (1 << 15) + 1, 2 << 15, n])
    f = np.arange(n)
    out = speed_angvel(2.0 * f, np.zeros(n), f, offsets, fps=1.0)
    starts = offsets[:-1]
    assert np.isnan(out["vx"][starts]).all()
    rest = np.setdiff1d(np.arange(n), starts)
    np.testing.assert_array_equal(out["vx"][rest], 2.0)


def test_bad_arguments_are_named():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="fps must be a positive finite number"):
        speed_angvel(x, x, np.arange(3), fps=0.0)
    with pytest.raises(ValueError, match="fps must be a positive finite number"):
        step_speed_angvel(x, x, np.arange(3), 1, fps=-2.0)
    with pytest.raises(TypeError, match="x must be a real numeric array"):
        speed_angvel(np.array(["a", "b", "c"]), x, np.arange(3), fps=1.0)
    with pytest.raises(ValueError, match="y must be 1-D of length 3"):
        speed_angvel(x, np.zeros(4), np.arange(3), fps=1.0)
    with pytest.raises(ValueError, match="offsets must start at 0 and end at the number of rows"):
        speed_angvel(x, x, np.arange(3), np.array([0, 2]), fps=1.0)
    with pytest.raises(ValueError, match="step must be an integer >= 1"):
        step_speed_angvel(x, x, np.arange(3), 0, fps=1.0)
    with pytest.raises(ValueError, match="give fps"):
        step_speed_angvel(x, x, np.arange(3), 1)
    with pytest.raises(ValueError, match=r"out\['vx'\] must be a contiguous float64 array"):
        speed_angvel(x, x, np.arange(3), fps=1.0, out={"vx": np.zeros(2)})


def test_out_arrays_are_written_in_place():
    f = np.arange(4)
    out = {k: np.full(4, -1.0) for k in ("vx", "vy", "speed")}
    res = speed_angvel(f * 1.0, f * 0.0, f, fps=1.0, out=out)
    assert res["vx"] is out["vx"]
    np.testing.assert_allclose(out["vx"], [np.nan, 1, 1, 1])


def _chunk_edge_table(n, seed=0):
    rng = np.random.default_rng(seed)
    chunk = 1 << 15
    cuts = {0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 2 * chunk + 3, n}
    offsets = np.array(sorted(c for c in cuts if c <= n), dtype=np.int64)
    x = rng.normal(size=n).cumsum()
    y = rng.normal(size=n).cumsum()
    a = rng.uniform(-np.pi, np.pi, size=n)
    x[rng.integers(0, n, n // 50)] = np.nan  # NaN gaps
    frames = np.arange(n, dtype=np.int64)
    return x, y, a, frames, offsets


@pytest.mark.parametrize("with_angle", [True, False])
def test_serial_and_parallel_kernels_give_identical_values(with_angle):
    # small tables take the serial kernel, large ones the parallel one: the values
    # must be bit for bit the same whichever runs (chunk edges and segment starts)
    from moveo.kernels import kinematics as k

    n = 3 * (1 << 15) + 7
    x, y, a, frames, offsets = _chunk_edge_table(n)
    ang = a if with_angle else np.empty(0)
    outs = {}
    for kernel in (k._speed_angvel_serial, k._speed_angvel):
        buf = [np.empty(n) for _ in range(3)] + [np.empty(n if with_angle else 0)]
        kernel(x, y, ang, with_angle, frames, 1 / 30.0, offsets, *buf)
        outs[kernel] = buf
    for got, exp in zip(outs[k._speed_angvel], outs[k._speed_angvel_serial], strict=True):
        np.testing.assert_array_equal(got, exp)
    # the public function picks the serial kernel below the threshold: same values
    public = speed_angvel(x, y, frames, offsets, angle=a if with_angle else None, fps=30.0)
    np.testing.assert_array_equal(public["speed"], outs[k._speed_angvel_serial][2])


def test_tables_above_the_threshold_use_the_parallel_kernel():
    from moveo.kernels import kinematics as k

    n = k._SERIAL_BELOW + 5
    x, y, a, frames, offsets = _chunk_edge_table(n, seed=1)
    big = speed_angvel(x, y, frames, offsets, angle=a, fps=30.0)
    serial = [np.empty(n) for _ in range(4)]
    k._speed_angvel_serial(x, y, a, True, frames, 1 / 30.0, offsets, *serial)
    for key, exp in zip(("vx", "vy", "speed", "angvel"), serial, strict=True):
        np.testing.assert_array_equal(big[key], exp, err_msg=key)
    assert np.isnan(big["speed"][offsets[:-1]]).all()
