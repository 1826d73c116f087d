"""nn-delta-response: mosaic's columns and numbers on a hand-made table (the values
below were also observed from mosaic-behavior 0.17.0 on the same input), frame
lookup across gaps, optional columns, and the default inputs (tracks + speed-angvel +
nearest-neighbor runs) through run_feature."""

import math

import numpy as np
import polars as pl
import pytest

import moveo
from moveo.features import NearestNeighbor, NNDeltaResponse, SpeedAngvel, get_feature


def merged(frames_a=None):
    """Tracks of 3 individuals joined with a speed column and nearest-neighbour offsets."""
    f = np.arange(10)
    fa = f if frames_a is None else np.asarray(frames_a)
    rows = []
    for ident, fr, x, y, a in [
        (1, fa, fa * 1.0 + 0.1 * fa**2, np.zeros(fa.size), 0.1 * fa),
        (2, f, np.full(10, 5.0), 3.0 + 0.2 * f, np.full(10, 2.0)),
        (3, f, np.full(10, 50.0), np.full(10, 30.0), np.full(10, -2.0)),
    ]:
        for i, frame in enumerate(fr):
            rows.append({"id": ident, "frame": int(frame), "X": x[i], "Y": y[i], "ANGLE": a[i]})
    df = pl.DataFrame(rows).with_columns(group=pl.lit("g"), sequence=pl.lit("s"))
    nn = NearestNeighbor().apply(df).drop("group", "sequence")
    # mosaic's speed-angvel speed is the per-frame step length: make one like it
    speed = df.sort("id", "frame").with_columns(
        speed=(pl.col("X").diff() ** 2 + pl.col("Y").diff() ** 2).sqrt().over("id")
    )
    return speed.join(nn, on=["id", "frame"])


def test_values_equal_mosaic():
    # mosaic-behavior 0.17.0 NearestNeighborDelta().apply on this table gives, for id 1:
    # dx = 5.6, 6.4, 7.2, ... (X(t+4) - X(t)), dy 0, dt 4, dangle 3.0 (0.4 rad / 4 frames
    # * 30 fps), dspeed NaN at frame 0 then 0.8; neighbor_x/y = the ego offsets; and it
    # drops the last 4 frames of every individual (18 of 30 rows).
    assert get_feature("nn-delta-response") is NNDeltaResponse
    out = NNDeltaResponse().apply(merged())
    assert out.height == 18
    assert out.columns[:12] == [
        "group",
        "sequence",
        "id",
        "frame",
        "nn_id",
        "neighbor_x",
        "neighbor_y",
        "dx",
        "dy",
        "dt",
        "dangle",
        "dspeed",
    ]
    a = out.filter(pl.col("id") == 1)
    np.testing.assert_allclose(a["dx"], [5.6, 6.4, 7.2, 8.0, 8.8, 9.6])
    np.testing.assert_allclose(a["dy"], 0.0)
    np.testing.assert_allclose(a["dt"], 4.0)
    np.testing.assert_allclose(a["dangle"], 3.0)
    np.testing.assert_allclose(a["dspeed"][1:], 0.8)
    assert math.isnan(a["dspeed"][0])
    np.testing.assert_allclose(a["neighbor_x"][:3], [5.0, 4.199983, 3.223649], atol=1e-6)
    np.testing.assert_allclose(a["neighbor_y"][:3], [3.0, 2.794663, 2.815686], atol=1e-6)
    assert {"X", "Y", "ANGLE", "speed", "nn_dist", "nn_delta_x"} <= set(out.columns)


def test_frame_lookup_across_a_gap_and_options():
    # id 1 misses frames 6 and 7: frames 2, 3 have no frame 6 / 7 -> dropped; frames 4, 5
    # reach frames 8, 9 (mosaic shifts rows and drops them too, see coming-from-mosaic)
    frames = [f for f in range(14) if f not in (6, 7)]
    df = merged(frames)
    out = NNDeltaResponse().apply(df).filter(pl.col("id") == 1)
    assert out["frame"].to_list() == [0, 1, 4, 5, 8, 9]
    back = NNDeltaResponse(
        {"emit_backward": True, "wrap_angle": False, "divide_dangle_by_frames": False}
    ).apply(df)
    b = back.filter(pl.col("id") == 1)
    x = dict(
        zip(df.filter(pl.col("id") == 1)["frame"], df.filter(pl.col("id") == 1)["X"], strict=True)
    )
    assert math.isnan(b["dx_back"][0])
    assert b["dx_back"][2] == pytest.approx(x[4] - x[0])
    assert b["dx_back"][4] == pytest.approx(x[8] - x[4])
    np.testing.assert_allclose(b["dangle"][0], 0.4 * 30.0)
    # a focal flag and tag columns are looked up for the neighbour
    tagged = df.with_columns(Focal_fish=pl.col("id") == 2, tag=pl.col("id") * 10)
    t = NNDeltaResponse({"tag_cols": ["tag"]}).apply(tagged)
    nn_ids = t["nn_id"].to_list()
    assert t["neighbor_focal"].to_list() == [n == 2 for n in nn_ids]
    assert t["neighbor_tag"].to_list() == [n * 10 for n in nn_ids]
    # a per-row lag
    lagged = NNDeltaResponse({"diff_numframes_col": "L"}).apply(df.with_columns(L=pl.lit(2.0)))
    assert (lagged["dt_frames"] == 2.0).all() and (lagged["dt"] == 2.0).all()
    with pytest.raises(ValueError, match="speed"):
        NNDeltaResponse().apply(df.drop("speed"))


def test_world_offsets_are_rotated_when_ego_is_missing():
    df = merged()
    ego = NNDeltaResponse().apply(df)
    world = NNDeltaResponse().apply(df.drop("nn_delta_x_ego", "nn_delta_y_ego"))
    np.testing.assert_allclose(world["neighbor_x"], ego["neighbor_x"], atol=1e-12)
    np.testing.assert_allclose(world["neighbor_y"], ego["neighbor_y"], atol=1e-12)


def test_default_inputs_through_the_pipeline(tmp_path):
    tracks = merged().select("group", "sequence", "id", "frame", "X", "Y", "ANGLE")
    ds = moveo.Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(tracks)
    moveo.run_feature(ds, SpeedAngvel())
    moveo.run_feature(ds, NearestNeighbor())
    res = moveo.run_feature(ds, NNDeltaResponse())
    out = moveo.read_feature(ds, res, "g", "s")
    assert out.height == 18
    np.testing.assert_allclose(out.filter(pl.col("id") == 1)["dx"], [5.6, 6.4, 7.2, 8.0, 8.8, 9.6])
    assert moveo.run_feature(ds, NNDeltaResponse()).run_id == res.run_id
