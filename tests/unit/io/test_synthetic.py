"""Synthetic generators: known speeds and lengths, determinism, gaps, generated datasets."""

import numpy as np
import polars as pl
import pytest

from moveo.io import synthetic as sy


def test_circles_known_speed_and_angvel():
    fps, omega = 50.0, 0.8
    df = sy.circles(3, 200, fps=fps, radius=[5.0, 10.0, 20.0], omega=omega)
    for i, r in enumerate([5.0, 10.0, 20.0]):
        one = df.filter(pl.col("id") == i)
        x, y, a = one["X"].to_numpy(), one["Y"].to_numpy(), one["ANGLE"].to_numpy()
        np.testing.assert_allclose(np.hypot(x, y), r)
        # chord speed of a uniform circular motion sampled at fps
        chord = np.hypot(np.diff(x), np.diff(y)) * fps
        np.testing.assert_allclose(chord, 2 * r * np.sin(omega / fps / 2) * fps)
        np.testing.assert_allclose(np.diff(np.unwrap(a)) * fps, omega)
        assert np.all((a > -np.pi) & (a <= np.pi))


def test_constant_velocity():
    df = sy.constant_velocity(2, 10, fps=10.0, velocity=(3.0, 4.0))
    one = df.filter(pl.col("id") == 1)
    speed = np.hypot(np.diff(one["X"].to_numpy()), np.diff(one["Y"].to_numpy())) * 10.0
    np.testing.assert_allclose(speed, 5.0)


def test_random_walk_deterministic_and_inside_arena():
    a = sy.random_walk(3, 500, seed=4, arena=50.0)
    b = sy.random_walk(3, 500, seed=4, arena=50.0)
    assert a.equals(b)
    assert not a.equals(sy.random_walk(3, 500, seed=5, arena=50.0))
    assert a["X"].min() >= 0 and a["X"].max() <= 50 and a["Y"].min() >= 0 and a["Y"].max() <= 50


def test_rigid_pose_known_length():
    df = sy.add_rigid_pose(sy.random_walk(2, 50, seed=1), body_length=6.0, n_keypoints=7)
    xs = df.select(f"poseX{k}" for k in range(7)).to_numpy()
    ys = df.select(f"poseY{k}" for k in range(7)).to_numpy()
    chain = np.hypot(np.diff(xs, axis=1), np.diff(ys, axis=1)).sum(axis=1)
    np.testing.assert_allclose(chain, 6.0)
    d = sy.rigid_body_distances(6.0, 7)
    assert d.size == 21 and np.median(d) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 2"):
        sy.add_rigid_pose(df, n_keypoints=1)


def test_gaps():
    df = sy.add_gaps(sy.constant_velocity(2, 10), [(1, 2, 5)])
    blank = df.filter(pl.col("X").is_nan())
    assert blank["id"].to_list() == [1, 1, 1] and blank["frame"].to_list() == [2, 3, 4]
    assert not df["time"].is_nan().any()


def test_generate_dataset(tmp_path):
    ds = sy.generate_dataset(tmp_path / "d", n_groups=2, n_sequences=2, n_individuals=3,
                             n_frames=100, gap_fraction=0.05, seed=3)
    assert ds.entries() == [("g0", "s0"), ("g0", "s1"), ("g1", "s0"), ("g1", "s1")]
    df = ds.read("g1", "s0")
    assert df.height == 300 and df["X"].is_nan().any()
    assert ds.pose.pose_n == 7
    again = sy.generate_dataset(tmp_path / "d2", n_groups=2, n_sequences=2, n_individuals=3,
                                n_frames=100, gap_fraction=0.05, seed=3)
    assert again.read("g1", "s0").equals(df)
    with pytest.raises(ValueError, match="motion must be"):
        sy.generate_dataset(tmp_path / "d3", motion="teleport")
