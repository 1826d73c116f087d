"""The synthetic behaviour generator: kinematics match the labels it reports."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from moveo.io.behaviors import BEHAVIORS, KINEMATICS, behavior_entry, generate_behaviors


def _with_kinematics(tracks, labels, fps=30.0):
    df = tracks.join(labels, on=["group", "sequence", "id", "frame"])
    by = ["group", "sequence", "id"]
    dx = pl.col("X").diff().over(by)
    dy = pl.col("Y").diff().over(by)
    dang = pl.col("ANGLE").diff().over(by)
    wrapped = (dang + np.pi) % (2 * np.pi) - np.pi
    prev = pl.col("label").shift(1).over(by)
    return df.with_columns(
        speed=(dx**2 + dy**2).sqrt() * fps, angvel=wrapped * fps, same=pl.col("label") == prev
    ).filter(pl.col("same"))


def test_kinematics_match_labels():
    tracks, labels = generate_behaviors(n_sequences=3, n_frames=1200, seed=11)
    df = _with_kinematics(tracks, labels)
    stats = {
        row["label"]: row
        for row in df.group_by("label")
        .agg(
            pl.col("speed").median().alias("speed"),
            pl.col("angvel").abs().median().alias("turn"),
            pl.len().alias("n"),
        )
        .iter_rows(named=True)
    }
    assert set(stats) == set(BEHAVIORS)
    for name in BEHAVIORS:
        assert stats[name]["speed"] == pytest.approx(KINEMATICS[name]["speed"], rel=0.1, abs=0.1)
    assert stats["turning"]["turn"] == pytest.approx(2.5, rel=0.15)
    assert stats["cruising"]["turn"] < 0.3


def test_approaching_reduces_distance_to_the_other():
    tracks, labels = behavior_entry(2, 3000, seed=4)
    x = tracks["X"].to_numpy().reshape(2, -1)
    y = tracks["Y"].to_numpy().reshape(2, -1)
    dist = np.hypot(x[0] - x[1], y[0] - y[1])
    lab = labels["label"].to_numpy().reshape(2, -1)
    approaching = (lab[0, 1:] == "approaching") & (lab[0, :-1] == "approaching")
    approaching &= lab[1, 1:] == "resting"  # the target stays put: the gap must shrink
    assert approaching.sum() > 10
    assert (np.diff(dist)[approaching] < 0).mean() > 0.95


def test_deterministic_and_shaped():
    a = generate_behaviors(n_groups=2, n_sequences=2, n_frames=30, seed=9)
    b = generate_behaviors(n_groups=2, n_sequences=2, n_frames=30, seed=9)
    assert a[0].equals(b[0])
    assert a[1].equals(b[1])
    tracks, labels = a
    assert tracks.height == labels.height == 2 * 2 * 2 * 30
    assert sorted(set(tracks.select("group", "sequence").unique().rows())) == [
        ("g0", "s0"),
        ("g0", "s1"),
        ("g1", "s0"),
        ("g1", "s1"),
    ]
    assert not generate_behaviors(n_sequences=1, n_frames=30, seed=8)[0].equals(tracks.head(60))


def test_subset_of_behaviors_and_bad_arguments():
    _, labels = behavior_entry(1, 200, behaviors=["resting", "turning"], seed=2)
    assert set(labels["label"]) <= {"resting", "turning"}
    with pytest.raises(ValueError, match="unknown behaviours \\['flying'\\]"):
        behavior_entry(behaviors=["flying"])
    with pytest.raises(ValueError, match="'approaching' needs at least 2 individuals"):
        behavior_entry(1, 10)
    with pytest.raises(ValueError, match="bout_seconds must satisfy"):
        behavior_entry(bout_seconds=(2.0, 1.0))
    with pytest.raises(ValueError, match="need n_individuals >= 1"):
        behavior_entry(0, 10)
