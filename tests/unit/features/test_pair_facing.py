"""pair-facing and attention-target: hand-worked facing geometry whose expected
values were also observed from mosaic-behavior 0.17 on the same input (strict
thresholds, NaN keypoints, absent individuals), attention choice with ties and group
labels, and the two features chained through run_feature / read_feature."""

import math

import numpy as np
import polars as pl
import pytest

import moveo
from moveo.features import AttentionTarget, PairFacing, get_feature
from moveo.pipeline.types import Result


def animal(ident, frames, hx, hy, ax, ay):
    """Rows with head keypoint 3 and abdomen keypoint 5 (the others NaN)."""
    rows = []
    for f, a, b, c, d in zip(frames, hx, hy, ax, ay, strict=True):
        row = {"id": ident, "frame": f}
        for k in range(7):
            row[f"poseX{k}"] = math.nan
            row[f"poseY{k}"] = math.nan
        row.update(poseX3=float(a), poseY3=float(b), poseX5=float(c), poseY5=float(d))
        rows.append(row)
    return rows


def test_facing_geometry_equals_mosaic():
    # A's head at the origin, abdomen at (-1, 0) then (1, 0) then missing; B's head at
    # (2, 0), (-2, 0), (0, 2), (1, 1). The rows and numbers below are what
    # mosaic-behavior 0.17.0 PairFacing().apply gives on this input.
    f = [0, 1, 2, 3]
    rows = animal(1, f, [0, 0, 0, 0], [0, 0, 0, 0], [-1, -1, 1, math.nan], [0, 0, 0, 0])
    rows += animal(2, f, [2, -2, 0, 1], [0, 0, 2, 1], [3, -3, 0, 2], [0, 0, 3, 1])
    out = PairFacing().apply(pl.DataFrame(rows))
    assert out.columns == [
        "frame",
        "id1",
        "id2",
        "perspective",
        "body_angle_deg",
        "bearing_deg",
        "angle_diff_deg",
        "distance",
        "is_facing",
    ]
    expected = [  # frame, id1, id2, body, bearing, diff, distance, facing
        (0, 1, 2, 180.0, 0.0, 180.0, 2.0, False),
        (1, 1, 2, 180.0, 180.0, 0.0, 2.0, True),
        (2, 1, 2, 0.0, 90.0, 90.0, 2.0, False),
        (3, 1, 2, math.nan, 45.0, math.nan, math.sqrt(2), False),
        (0, 2, 1, 0.0, 180.0, 180.0, 2.0, False),
        (1, 2, 1, 180.0, 0.0, 180.0, 2.0, False),
        (2, 2, 1, 90.0, -90.0, 180.0, 2.0, False),
        (3, 2, 1, 0.0, -135.0, 135.0, math.sqrt(2), False),
    ]
    got = out.select(
        "frame",
        "id1",
        "id2",
        "body_angle_deg",
        "bearing_deg",
        "angle_diff_deg",
        "distance",
        "is_facing",
    ).rows()
    for g, e in zip(got, expected, strict=True):
        assert g[:3] == e[:3] and g[7] == e[7]
        np.testing.assert_allclose(g[3:7], e[3:7], atol=1e-12)
    # abdomen_to_head flips the axis; cm_per_pixel scales the distance
    flip = PairFacing({"body_axis_from": "abdomen_to_head", "cm_per_pixel": 0.5}).apply(
        pl.DataFrame(rows)
    )
    assert flip["is_facing"].to_list() == [True, False, False, False, True, True, True, False]
    np.testing.assert_allclose(flip["distance"][:3], [1.0, 1.0, 1.0])


def test_thresholds_are_strict_and_absent_rows():
    # angle difference exactly 45 and distance exactly 3 are not facing (as mosaic)
    rows = animal(1, [0, 1, 2], [0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0])
    rows += animal(2, [0, 1, 2], [1, 3, 2], [1, 0, 0], [3, 4, 3], [0, 0, 0])
    rows += animal(3, [1], [5], [5], [6], [5])  # present at frame 1 only
    out = PairFacing().apply(pl.DataFrame(rows))
    a = out.filter((pl.col("id1") == 1) & (pl.col("id2") == 2))
    assert a["angle_diff_deg"].to_list() == [45.0, 0.0, 0.0]
    assert a["distance"][1] == 3.0
    assert a["is_facing"].to_list() == [False, False, True]
    # pairs with id 3 exist only at frame 1
    assert out.filter((pl.col("id1") == 3) | (pl.col("id2") == 3))["frame"].unique().to_list() == [
        1
    ]
    assert out.height == 10


def facing_rows(rows):
    return pl.DataFrame(
        rows, schema=["frame", "id1", "id2", "angle_diff_deg", "is_facing"], orient="row"
    ).with_columns(
        group=pl.lit("g"),
        sequence=pl.lit("s"),
        perspective=(pl.col("id1") > pl.col("id2")).cast(pl.Int64),
    )


def test_attention_target_choice_ties_and_groups():
    # frame 0: focal 1 faces 2 and 3 at 10 deg (tie -> smaller id 2), 4 closer but not facing
    df = facing_rows(
        [
            (0, 1, 2, 10.0, True),
            (0, 1, 3, 10.0, True),
            (0, 1, 4, 5.0, False),
            (1, 1, 2, 30.0, True),
            (1, 1, 3, 20.0, True),
            (0, 2, 1, 50.0, False),
            (0, 3, 1, math.nan, False),
            (1, 2, 1, math.nan, False),
            (2, 5, 1, 1.0, False),
        ]
    )
    out = AttentionTarget().apply(df)
    assert out.columns == [
        "group",
        "sequence",
        "id",
        "frame",
        "attention_target_id",
        "attention_target_angle_diff_deg",
        "focal_group",
        "target_group",
        "attention_type",
    ]
    assert out.select("id", "frame", "attention_target_id").rows() == [
        (1, 0, 2),
        (1, 1, 3),
        (2, 0, None),
        (2, 1, None),
        (3, 0, None),
        (5, 2, None),
    ]
    ang = out["attention_target_angle_diff_deg"].to_numpy()
    np.testing.assert_array_equal(ang[:2], [10.0, 20.0])
    assert np.isnan(ang[2:]).all()
    assert out["attention_type"].to_list() == ["unknown", "unknown"] + ["none"] * 4
    assert out["focal_group"].null_count() == 6
    labelled = AttentionTarget({"id_group_map": {"1": "a", "2": "a", "3": "b"}}).apply(df)
    assert labelled["attention_type"].to_list() == ["in_group", "out_group"] + ["none"] * 4
    assert labelled["focal_group"].to_list() == ["a", "a", "a", "a", "b", None]
    assert labelled["target_group"].to_list() == ["a", "b", None, None, None, None]
    with pytest.raises(ValueError, match="attention-target: missing column"):
        AttentionTarget().apply(df.drop("is_facing"))


def test_chained_through_the_pipeline(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for ident in (1, 2, 3):
        for f in range(50):
            cx, cy = rng.uniform(0, 5, 2)
            rows.append(
                {
                    "id": ident,
                    "frame": f,
                    "X": cx,
                    "Y": cy,
                    **{f"poseX{k}": cx + (3 - k) * 0.3 for k in range(7)},
                    **{f"poseY{k}": cy for k in range(7)},
                }
            )
    ds = moveo.Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(pl.DataFrame(rows).with_columns(group=pl.lit("g"), sequence=pl.lit("s")))
    facing = moveo.run_feature(ds, PairFacing({"dist_thresh": 4.0}))
    table = moveo.read_feature(ds, facing, "g", "s")
    assert table.height == 50 * 6 and {"id1", "id2", "perspective"} <= set(table.columns)
    att = moveo.run_feature(ds, AttentionTarget(inputs=(facing,)))
    got = moveo.read_feature(ds, att, "g", "s")
    assert got.height == 150
    expected = AttentionTarget().apply(table)
    assert got.equals(expected)
    assert get_feature("attention-target") is AttentionTarget
    # the default input is the latest pair-facing run
    assert AttentionTarget().inputs.items == (Result(feature="pair-facing"),)
    again = moveo.run_feature(ds, AttentionTarget())
    assert again.run_id == att.run_id
