"""approach-avoidance: a chase whose events were observed from mosaic-behavior 0.17.0
(the frames below), inclusive thresholds, the orientation gate and angle units, and
the union columns."""

import math

import numpy as np
import polars as pl
import pytest

from moveo.features import ApproachAvoidance, get_feature


def chase() -> pl.DataFrame:
    # A runs +x at 8 px/frame from 0; B starts 100 px ahead and runs +x at 6 px/frame in
    # frames 10..29. A approaches B until it passes it at frame 23; then B (behind,
    # still running) approaches A, which moves away.
    f = np.arange(40)
    vb = np.where((f >= 10) & (f < 30), 6.0, 0.0)
    return pl.DataFrame(
        {
            "id": np.repeat([1, 2], 40),
            "frame": np.tile(f, 2),
            "X": np.r_[8.0 * f, 100 + np.cumsum(vb)],
            "Y": np.zeros(80),
            "ANGLE": np.zeros(80),
        }
    )


def test_chase_equals_mosaic():
    assert get_feature("approach-avoidance") is ApproachAvoidance
    out = ApproachAvoidance().apply(chase())
    assert out.columns == [
        "frame",
        "id1",
        "id2",
        "perspective",
        "label_id",
        "aa_event",
        "aa_event_directed",
    ]
    assert out.schema["aa_event"] == pl.Int8
    a_b = out.filter(pl.col("id1") == 1)
    b_a = out.filter(pl.col("id1") == 2)
    # observed from mosaic-behavior 0.17.0 ApproachAvoidance().apply on this table
    expected_ab = list(range(14, 23))
    expected_ba = [28, 29]
    assert a_b.filter(pl.col("aa_event_directed") == 1)["frame"].to_list() == expected_ab
    assert b_a.filter(pl.col("aa_event_directed") == 1)["frame"].to_list() == expected_ba
    either = sorted(expected_ab + expected_ba)
    for side in (a_b, b_a):
        assert side.filter(pl.col("aa_event") == 1)["frame"].to_list() == either
        assert side["label_id"].to_list() == side["aa_event"].to_list()


def test_thresholds_gate_and_units():
    base = {"min_event_length": 1, "min_event_count": 1}
    df = chase()

    # B's speed is exactly 6: a threshold of 6 still passes (>=), 6.01 does not (A -> B)
    def n_ab(params, data=df):
        out = ApproachAvoidance(params).apply(data)
        return out.filter(pl.col("id1") == 1)["aa_event_directed"].sum()

    assert n_ab({**base, "avoider_velocity_threshold": 6.0}) > 0
    assert n_ab({**base, "avoider_velocity_threshold": 6.01}) == 0
    # per second: 6 px/frame is 180 px/s at 30 fps
    per_s = {
        **base,
        "velocity_units": "per_second",
        "approacher_velocity_threshold": 200.0,
        "avoider_velocity_threshold": 179.0,
    }
    assert n_ab(per_s) > 0
    assert n_ab({**per_s, "avoider_velocity_threshold": 181.0}) == 0
    # the approacher must face where it runs: 40 degrees off fails the 30 degree gate
    turned = df.with_columns(ANGLE=pl.lit(math.radians(40.0)))
    assert ApproachAvoidance(base).apply(turned)["aa_event_directed"].sum() == 0
    assert (
        ApproachAvoidance({**base, "orientation_gate_cos": None})
        .apply(turned.drop("ANGLE"))["aa_event_directed"]
        .sum()
        > 0
    )
    deg = df.with_columns(ANGLE=pl.lit(20.0))
    assert (
        ApproachAvoidance({**base, "angle_units": "degrees"}).apply(deg)["aa_event_directed"].sum()
        > 0
    )
    assert (
        ApproachAvoidance({**base, "angle_units": "auto"})
        .apply(deg.with_columns(ANGLE=pl.lit(400.0)))["aa_event_directed"]
        .sum()
        == 0
    )
    with pytest.raises(ValueError, match="ANGLE"):
        ApproachAvoidance().apply(df.drop("ANGLE"))


def test_window_and_gaps():
    # min_event_count above the window is clamped to it; a velocity needs the previous frame
    out = ApproachAvoidance({"min_event_length": 3, "min_event_count": 10}).apply(chase())
    assert out.filter(pl.col("id1") == 1, pl.col("aa_event_directed") == 1)["frame"].min() == 12
    gap = chase().filter(~((pl.col("id") == 1) & pl.col("frame").is_in([16])))
    g = ApproachAvoidance(
        {
            "min_event_length": 1,
            "min_event_count": 1,
            "interpolation": {"linear_interp_limit": 1, "edge_fill_limit": 0},
        }
    )
    res = g.apply(gap).filter(pl.col("id1") == 1)
    assert 16 not in res["frame"].to_list()
    assert res.filter(pl.col("frame") == 17)["aa_event_directed"].item() == 0  # no velocity
