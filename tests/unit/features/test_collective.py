"""collective-motion-metrics and local-order-metrics: values, keys and contracts.

Proves: the features reproduce values observed from mosaic-behavior 0.17.0 on a
fixed table (recorded literally below); hand-worked states (an aligned school
has polarisation 1, a ring mill rotation 1, a lone fish no relational metric);
frame-level outputs are keyed by (group, sequence, frame) and survive
run_feature, including overlap trimming; subgroups, filters, body-scale radii
and bad input behave as documented.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.features import get_feature
from moveo.features.collective import CollectiveMotionMetrics, LocalOrderMetrics
from moveo.pipeline.run import read_feature, run_feature

NAN = math.nan

# 4 individuals x 3 frames (one lost position), the table the mosaic values below
# were observed on (mosaic-behavior 0.17.0, CollectiveMotionMetrics().apply and
# LocalOrderMetrics({"radius": 3.5}).apply on the pandas version of this table)
_X = {0: [0.0, 1.0, 2.0], 1: [4.0, 4.5, 5.5], 2: [0.0, NAN, 1.0], 3: [3.0, 3.5, 4.0]}
_Y = {0: [0.0, 0.5, 1.0], 1: [0.0, 1.0, 1.5], 2: [3.0, 3.0, 3.5], 3: [4.0, 3.0, 2.0]}
_A = {0: [0.1, 0.2, 0.3], 1: [1.0, 1.2, 0.9], 2: [-2.0, 2.5, 3.0], 3: [0.0, -0.5, -1.0]}


def small_table() -> pl.DataFrame:
    rows = [
        {
            "group": "g",
            "sequence": "s",
            "id": i,
            "frame": f,
            "time": f / 10,
            "X": _X[i][f],
            "Y": _Y[i][f],
            "ANGLE": _A[i][f],
        }  # fmt: skip
        for i in range(4)
        for f in range(3)
    ]
    return pl.DataFrame(rows)


def _close(got, exp, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(exp, float), rtol=rtol)


def test_collective_matches_mosaic_observed_values():
    out = CollectiveMotionMetrics().apply(small_table())
    assert out.columns[:4] == ["group", "sequence", "frame", "time"]
    assert out["n_ids"].to_list() == [4, 3, 4]
    assert out["n_centroid_common"].to_list() == [0, 3, 3]
    _close(out["polarization"], [0.5298503328381261, 0.7711895571643566, 0.29727575775494874])
    _close(out["mean_heading"], [0.015102468279120963, 0.2853629557211145, 0.32393979875551826])
    _close(out["rotation"], [0.43414018362659446, 0.09174858587975594, 0.23063738770816322])
    _close(out["group_angvel"], [NAN, 0.8888888888888888, -3.6727716727716726])
    assert out["state"].to_list() == ["Transitional", "Polarized", "Swarm"]
    _close(out["centroid_speed"], [NAN, 6.871842709362768, 8.333333333333334])
    _close(out["centroid_heading"], [NAN, 0.24497866312686414, 0.0])
    _close(out["sd_major"], [1.8027756377319946, 1.5811388300841895, 1.8213150194453747])
    _close(out["sd_minor"], [1.7677669529663689, 0.9128709291752769, 0.7776159720213409])
    _close(out["principal_axis_angle"], [-0.7853981633974483, 0.46364760900080615,
                                         -0.32117451778513545])  # fmt: skip
    _close(out["area"], [12.499999999999998, 3.75, 4.625])
    _close(out["density"], [0.32000000000000006, 0.8, 0.8648648648648649])
    assert out["heading_source"].to_list() == ["orientation"] * 3
    # mosaic with heading_source="velocity", fps=10, min_individuals=2
    vel = CollectiveMotionMetrics(
        {"heading_source": "velocity", "fps": 10.0, "min_individuals": 2}
    ).apply(small_table())
    _close(vel["polarization"], [NAN, 0.6146362971528592, 0.7453559924999299])
    _close(vel["rotation_signed"], [NAN, 0.09428090415820638, -0.004190524650152312])
    assert vel["n_ids_heading"].to_list() == [0, 3, 3]


def test_local_order_matches_mosaic_observed_values():
    out = LocalOrderMetrics({"radius": 3.5}).apply(small_table())
    assert out["n_local_neighbors"].dtype == pl.Int32
    assert out["shell_index"].dtype == pl.Int16
    assert out["n_local_neighbors"].to_list() == [1, 0, 2, 0, 1, 1, 2, -1, 2, 1, 1, 3]
    _close(out["local_polarization"], [0.49757104789172696, NAN, 0.2159130821747566, NAN,
                                       0.6599831458849822, 0.5816830894638835,
                                       0.5914222451253561, NAN, 0.2159130821747566,
                                       0.5403023058681398, 0.6599831458849822,
                                       0.29727575775494874])  # fmt: skip
    _close(out["local_rotation"], [0.8073937468818748, NAN, 0.009322334417842656, NAN,
                                   0.007320955507203242, 0.026555781385614208,
                                   0.24687673921407063, NAN, 0.009322334417842656,
                                   0.053824455482626765, 0.007320955507203242,
                                   0.23063738770816322])  # fmt: skip
    _close(out["group_outer_radius"], [2.5243906346998335, 1.5811388300841898,
                                       1.9661301511087435] * 4)  # fmt: skip
    assert out["shell_index"].to_list() == [5, 5, 4, 5, 5, 5, 5, -1, 5, 5, 5, 2]
    assert out["shell_n"].to_list() == [4, 3, 1, 4, 3, 2, 4, -1, 2, 4, 3, 1]
    _close(out["shell_radial_rotation"], [0.4341401836265944, 0.09174858587975591,
                                          0.4138164609717794, 0.4341401836265944,
                                          0.09174858587975591, 0.675102037334385,
                                          0.4341401836265944, NAN, 0.675102037334385,
                                          0.4341401836265944, 0.09174858587975591,
                                          -0.8414709848078965])  # fmt: skip


def _ring(n=12, frames=3, radius=10.0, direction=1.0, shift=(0.0, 0.0)):
    rows = []
    for f in range(frames):
        for i in range(n):
            t = 2 * np.pi * i / n + 0.1 * f * direction
            rows.append({"id": i, "frame": f, "X": shift[0] + radius * np.cos(t),
                         "Y": shift[1] + radius * np.sin(t),
                         "ANGLE": t + direction * np.pi / 2})  # fmt: skip
    return pl.DataFrame(rows).sort("id", "frame")


def test_aligned_school_is_polarized():
    rng = np.random.default_rng(0)
    n, frames = 30, 4
    df = pl.DataFrame({
        "id": np.repeat(np.arange(n), frames),
        "frame": np.tile(np.arange(frames), n),
        "X": (rng.uniform(0, 10, n)[:, None] + np.arange(frames) * 2.0).ravel(),
        "Y": np.repeat(rng.uniform(0, 10, n), frames),
        "ANGLE": np.full(n * frames, 0.0),
    })  # fmt: skip
    out = CollectiveMotionMetrics({"fps": 1.0}).apply(df)
    _close(out["polarization"], [1.0] * frames)
    _close(out["mean_heading"], [0.0] * frames)
    assert out["state"].to_list() == ["Polarized"] * frames
    _close(out["centroid_speed"][1:], [2.0] * (frames - 1))  # everyone moves 2 per frame
    _close(out["centroid_heading"][1:], [0.0] * (frames - 1))
    # the direction of travel gives the same headings
    vel = CollectiveMotionMetrics({"heading_source": "velocity"}).apply(df.drop("ANGLE"))
    _close(vel["polarization"][1:], [1.0] * (frames - 1))
    assert vel["heading_source"][0] == "velocity"


def test_ring_mill_has_rotation_one():
    out = CollectiveMotionMetrics({"fps": 1.0}).apply(_ring(direction=1.0))
    _close(out["rotation"], [1.0] * 3)
    _close(out["rotation_signed"], [1.0] * 3)  # counter-clockwise
    np.testing.assert_allclose(out["polarization"], 0.0, atol=1e-12)
    assert out["state"].to_list() == ["Milling"] * 3
    # every fish turns 0.1 rad per frame about the centre
    _close(out["group_angvel"][1:], [0.1, 0.1], rtol=1e-2)
    cw = CollectiveMotionMetrics().apply(_ring(direction=-1.0))
    _close(cw["rotation_signed"], [-1.0] * 3)
    # a regular 12-gon of circumradius 10: area = 3 r^2
    _close(out["area"], [300.0] * 3)


def test_lone_and_two_individuals_have_no_relational_metrics():
    df = _ring(n=2)
    out = CollectiveMotionMetrics().apply(df)
    assert out["n_ids"].to_list() == [2, 2, 2]
    assert out["state"].to_list() == ["Undefined"] * 3
    assert np.isnan(out["polarization"].to_numpy()).all() and np.isnan(out["area"].to_numpy()).all()
    _close(out["centroid_x"], [0.0] * 3, rtol=0)  # the centroid is always given
    one = CollectiveMotionMetrics({"min_individuals": 1}).apply(df.filter(pl.col("id") == 0))
    _close(one["polarization"], [1.0] * 3)
    assert np.isnan(one["rotation"].to_numpy()).all()  # alone at its own centroid
    assert one["n_at_centroid"].to_list() == [1, 1, 1]


def test_all_in_one_place():
    df = pl.DataFrame({"id": [0, 1, 2, 3], "frame": [0] * 4, "X": [2.0] * 4, "Y": [5.0] * 4,
                       "ANGLE": [0.0, 0.1, 0.2, 0.3]})  # fmt: skip
    out = CollectiveMotionMetrics().apply(df)
    assert out["n_at_centroid"].to_list() == [4]
    assert math.isnan(out["rotation"][0]) and math.isnan(out["area"][0])
    assert math.isnan(out["elongation"][0])
    assert out["state"][0] == "Undefined"


def test_subgroups_and_filters():
    rng = np.random.default_rng(1)
    df = _ring(n=12, frames=4).with_columns(
        pl.Series("event", rng.integers(-1, 2, 48)), pl.Series("bad", rng.random(48) < 0.2)
    )
    out = CollectiveMotionMetrics(
        {
            "subgroup_col": "event",
            "filter_expr": "event >= 0",
            "exclude_cols": ["bad", "x"],
            "min_individuals": 1,
        }  # fmt: skip
    ).apply(df)
    assert out.columns[:3] == ["frame", "event", "n_ids"]
    assert set(out["event"].to_list()) <= {0, 1}
    kept = df.filter((pl.col("event") >= 0) & ~pl.col("bad"))
    counts = kept.group_by("frame", "event").len().sort("frame", "event")
    assert out.select("frame", "event", pl.col("n_ids").cast(pl.UInt32)).rows() == counts.rows()
    with pytest.raises(ValueError, match="collides"):
        CollectiveMotionMetrics({"subgroup_col": "polarization"})
    with pytest.raises(ValueError, match="requires 'alpha'"):
        CollectiveMotionMetrics({"area_method": "alpha_shape"})
    with pytest.raises(ValueError, match="missing column"):
        CollectiveMotionMetrics({"speed_col": "speed"}).apply(df)
    with pytest.raises(ValueError, match="heading_source='orientation'"):
        CollectiveMotionMetrics({"heading_source": "orientation"}).apply(df.drop("ANGLE"))


def test_empty_input_gives_empty_frame():
    df = _ring().head(0)
    out = CollectiveMotionMetrics().apply(df)
    assert out.height == 0 and "polarization" in out.columns
    lom = LocalOrderMetrics({"radius": 1.0}).apply(df)
    assert lom.height == 0 and "local_polarization" in lom.columns


def test_local_order_subgroups_skip_negative_events():
    df = _ring(n=6, frames=2).with_columns(pl.Series("event", [0, 0, 1, 1, -1, -1] * 2))
    out = LocalOrderMetrics({"radius": 30.0, "subgroup_col": "event"}).apply(df)
    skipped = out.filter(pl.col("event") < 0)
    assert skipped["n_local_neighbors"].to_list() == [-1] * skipped.height
    assert np.isnan(skipped["local_radius"].to_numpy()).all()
    # each (frame, event) group of 2 individuals: one neighbour each
    assert out.filter(pl.col("event") >= 0)["n_local_neighbors"].to_list() == [1] * 8


def test_local_order_filter_keeps_headings():
    # dropping a row must not change the next row's velocity heading
    df = pl.DataFrame({"id": [0] * 4, "frame": [0, 1, 2, 3], "X": [0.0, 1.0, 1.0, 2.0],
                       "Y": [0.0, 0.0, 1.0, 1.0]})  # fmt: skip
    out = LocalOrderMetrics({"radius": 1.0, "filter_expr": "frame != 2"}).apply(df)
    assert out["frame"].to_list() == [0, 1, 3]
    _close(out["heading_x"], [NAN, 1.0, 1.0])
    _close(out["heading_y"], [NAN, 0.0, 0.0])


def test_registered_names():
    assert get_feature("collective-motion-metrics") is CollectiveMotionMetrics
    assert get_feature("local-order-metrics") is LocalOrderMetrics
    with pytest.raises(ValueError, match="radius"):
        LocalOrderMetrics()


def _dataset(tmp_path, n_seq=2, split=False):
    whole = _ring(n=8, frames=20).with_columns(
        pl.lit("g").alias("group"), pl.lit("s0").alias("sequence"), (pl.col("frame") / 30.0)
        .alias("time")
    )  # fmt: skip
    if split:
        whole = whole.with_columns(
            pl.when(pl.col("frame") < 10).then(pl.lit("s0")).otherwise(pl.lit("s1"))
            .alias("sequence")
        )  # fmt: skip
    ds = Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(whole)
    return ds


def test_frame_level_output_through_run_feature(tmp_path):
    ds = _dataset(tmp_path, split=True)
    res = run_feature(ds, CollectiveMotionMetrics())
    a = read_feature(ds, res, "g", "s0")
    b = read_feature(ds, res, "g", "s1")
    assert a.columns[:3] == ["group", "sequence", "frame"]
    assert a["frame"].to_list() == list(range(10)) and b["frame"].to_list() == list(range(10, 20))
    # overlap borrows frames of the neighbouring sequence and trims them again
    res_o = run_feature(ds, CollectiveMotionMetrics(), overlap_frames=3)
    assert read_feature(ds, res_o, "g", "s1")["frame"].to_list() == list(range(10, 20))
    _close(a["rotation"], [1.0] * 10)


def test_local_order_body_scale_radius(tmp_path):
    from moveo.features import BodyScale

    rng = np.random.default_rng(2)
    n, frames = 5, 6
    base = pl.DataFrame({
        "group": "g", "sequence": "s", "id": np.repeat(np.arange(n), frames),
        "frame": np.tile(np.arange(frames), n),
        "X": rng.uniform(0, 20, n * frames), "Y": rng.uniform(0, 20, n * frames),
    })  # fmt: skip
    # two keypoints 2 apart: body scale (median pairwise distance) is 2
    base = base.with_columns(
        pl.col("X").alias("poseX0"), pl.col("Y").alias("poseY0"),
        (pl.col("X") + 2.0).alias("poseX1"), pl.col("Y").alias("poseY1"),
    )  # fmt: skip
    from moveo.schema import PoseConfig

    ds = Dataset.create(tmp_path / "ds", fps=30.0, pose=PoseConfig(pose_n=2))
    ds.add_tracks(base)
    bs = run_feature(ds, BodyScale())
    lom = LocalOrderMetrics({"radius": 3.0, "radius_units": "body_scale",
                             "body_scale": {"feature": "body-scale"}})  # fmt: skip
    res = run_feature(ds, lom)
    out = read_feature(ds, res, "g", "s")
    _close(out["local_radius"], [6.0] * out.height)
    pos = LocalOrderMetrics({"radius": 6.0}).apply(ds.read("g", "s"))
    assert out["n_local_neighbors"].to_list() == pos["n_local_neighbors"].to_list()
    # the body-scale run is an upstream dependency of the run
    from moveo.pipeline.registry import open_registry

    with open_registry(ds) as reg:
        assert reg.latest_run_id("body-scale") == bs.run_id
    assert res.run_id != run_feature(ds, LocalOrderMetrics({"radius": 3.0})).run_id
