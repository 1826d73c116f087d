"""orientation-rel: mosaic's columns and numbers (literal values observed from
mosaic-behavior 0.17.0 with NaN keypoints and a NaN heading), hand-worked body-frame
geometry, and the body-scale run wired as an input through run_feature."""

import math

import numpy as np
import polars as pl
import pytest

import moveo
from moveo.contract import Result
from moveo.features import BodyScale, OrientationRel, get_feature


def line_animal(ident, frames, cx, cy, heading):
    """Seven keypoints on a line along ``heading`` (keypoint 0 shifted 0.5 in x)."""
    rows = []
    for i, f in enumerate(frames):
        row = {"id": ident, "frame": f, "X": cx[i], "Y": cy[i], "ANGLE": heading[i]}
        for k in range(7):
            row[f"poseX{k}"] = cx[i] + math.cos(heading[i]) * (3 - k) + (0.5 if k == 0 else 0.0)
            row[f"poseY{k}"] = cy[i] + math.sin(heading[i]) * (3 - k)
        rows.append(row)
    return rows


def mosaic_case() -> pl.DataFrame:
    f = [0, 1, 2, 3]
    rows = line_animal(1, f, [0.0] * 4, [0.0] * 4, [3.0, 0.5, 1.0, 1.0])
    rows += line_animal(2, f, [10.0] * 4, [5.0] * 4, [-3.0, 2.0, 2.0, 2.0])
    df = pl.DataFrame(rows)
    nan = float("nan")
    # id 2 misses poseX2 at frame 1, id 1 poseX4 at frame 2 and its heading at frame 3
    df = df.with_columns(
        poseX2=pl.when((pl.col("id") == 2) & (pl.col("frame") == 1)).then(nan).otherwise("poseX2"),
        poseX4=pl.when((pl.col("id") == 1) & (pl.col("frame") == 2)).then(nan).otherwise("poseX4"),
        ANGLE=pl.when((pl.col("id") == 1) & (pl.col("frame") == 3)).then(nan).otherwise("ANGLE"),
    )
    return df


COLUMNS = [
    "dx",
    "dy",
    "dtheta",
    "dist_min",
    "dist_median",
    "dist_max",
    "dist_q25",
    "dist_q50",
    "dist_q75",
    "x_min",
    "x_median",
    "x_max",
    "y_min",
    "y_median",
    "y_max",
    "near_0",
    "near_1",
    "near_2",
]

# Observed from mosaic-behavior 0.17.0: OrientationRelativeFeature().apply(mosaic_case())
# (no body-scale dependency, so each row uses the focal's median pairwise keypoint distance).
MOSAIC = {
    (0, 1, 2): [
        -4.597162462852559,
        -3.1805812818004493,
        0.28318530717958623,
        4.375393039823259,
        5.558249063604583,
        6.996166774590293,
        4.854265914704087,
        5.558249063604583,
        6.273973886827818,
        -6.002061017949521,
        -4.561805587973972,
        -3.369048282148534,
        -3.594664528810986,
        -3.175541281512597,
        -2.7916980362291755,
        4.375393039823259,
        4.621614587621366,
        5.086917241786809,
    ],
    (1, 2, 1): [
        -0.07544022423356692,
        3.9539443481207948,
        -1.5,
        2.759008438043591,
        3.9774353830127764,
        5.0367501973439,
        3.448082245426343,
        3.9774353830127764,
        4.507027783284922,
        -0.1399527744471725,
        -0.06493195375917672,
        -0.01491807330051312,
        2.758278311535041,
        3.9769053380012718,
        5.034805435304165,
        2.759008438043591,
        3.271672618131259,
        3.624491872721427,
    ],
    (2, 1, 2): [
        3.145759715248753,
        -1.9010602690047875,
        1.0,
        3.6542152923464397,
        3.694756276367334,
        3.943851249764603,
        3.669373362679278,
        3.694756276367334,
        3.7468286118950087,
        2.5925930687647054,
        3.132895374632845,
        3.7632480648123416,
        -2.7224962303648765,
        -1.881025245556981,
        -1.1797994248837336,
        3.6542152923464397,
        3.6593914195089976,
        3.679355305849558,
    ],
    (3, 1, 2): [math.nan] * 18,
    (3, 2, 1): [
        -0.19250938432849235,
        5.586854225496264,
        math.nan,
        4.163511912681168,
        5.622136459331714,
        6.952112979102098,
        4.995509171135182,
        5.622136459331714,
        6.27860484553901,
        -0.9881004561111612,
        -0.1776469973089515,
        0.5287697523564724,
        4.129798299678916,
        5.619329133597182,
        6.881535610809026,
        4.163511912681168,
        4.791601753357465,
        5.199416588912898,
    ],
}


def test_values_equal_mosaic():
    assert get_feature("orientation-rel") is OrientationRel
    out = OrientationRel({"scale": None}).apply(mosaic_case())
    assert out.columns == ["frame", "id1", "id2", "perspective", *COLUMNS]
    assert out.height == 8
    for (frame, a, b), expected in MOSAIC.items():
        row = out.filter((pl.col("frame") == frame) & (pl.col("id1") == a) & (pl.col("id2") == b))
        np.testing.assert_allclose(row.select(COLUMNS).row(0), expected, rtol=1e-12, atol=1e-12)
    # no scale column in the input: the per-row fallback, as mosaic without the dependency
    assert OrientationRel().apply(mosaic_case()).equals(out)


def test_body_frame_hand_worked():
    # focal centred at the origin heading +y, partner centred at (2, 4) heading +x, both
    # with keypoints 1 apart on their body axis; scale 2. In the focal's frame the partner
    # is 4 ahead and 2 to the right: (2, -1) in body units; its keypoints lie at x = 2,
    # y from -2.5 to 0.5 (the nearest at y = 0, distance 2, then two at y = +-0.5).
    rows = []
    for ident, (cx, cy, h) in {1: (0.0, 0.0, math.pi / 2), 2: (2.0, 4.0, 0.0)}.items():
        row = {"id": ident, "frame": 0, "ANGLE": h, "scale": 2.0}
        for k in range(7):
            row[f"poseX{k}"] = cx + math.cos(h) * (3 - k)
            row[f"poseY{k}"] = cy + math.sin(h) * (3 - k)
        rows.append(row)
    out = OrientationRel().apply(pl.DataFrame(rows)).filter(pl.col("id1") == 1).row(0, named=True)
    expected = {
        "dx": 2.0,
        "dy": -1.0,
        "dtheta": -math.pi / 2,
        "x_min": 2.0,
        "x_max": 2.0,
        "y_min": -2.5,
        "y_median": -1.0,
        "y_max": 0.5,
        "dist_min": 2.0,
        "dist_max": math.hypot(2.0, 2.5),
        "near_0": 2.0,
        "near_1": math.hypot(2.0, 0.5),
        "near_2": math.hypot(2.0, 0.5),
        "dist_q50": math.hypot(2.0, 1.0),
    }
    for key, value in expected.items():
        assert out[key] == pytest.approx(value, abs=1e-12), key


def test_scale_run_is_an_input(tmp_path):
    df = mosaic_case().with_columns(group=pl.lit("g"), sequence=pl.lit("s"))
    ds = moveo.Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(df)
    with pytest.raises(ValueError, match="body-scale"):
        moveo.run_feature(ds, OrientationRel())  # the default needs a body-scale run
    bs = moveo.run_feature(ds, BodyScale())
    feat = OrientationRel({"scale": {"run_id": bs.run_id}})
    assert feat.inputs.items == ("tracks", Result(feature="body-scale", run_id=bs.run_id))
    res = moveo.run_feature(ds, feat)
    got = moveo.read_feature(ds, res, "g", "s")
    scale = moveo.read_feature(ds, bs, "g", "s")["scale"].to_numpy()
    s = np.nanmean(scale)
    per_row = OrientationRel({"scale": None}).apply(df)
    # with one scale for the sequence, dx * s equals the per-row dx * focal scale
    focal_scale = per_row.join(
        BodyScale().apply(df).rename({"id": "id1"}), on=["group", "sequence", "id1", "frame"]
    )["scale"].to_numpy()
    np.testing.assert_allclose(got["dx"].to_numpy() * s, per_row["dx"].to_numpy() * focal_scale)
    # re-running is a cache hit; no scale -> no body-scale input
    assert moveo.run_feature(ds, feat).run_id == res.run_id
    assert OrientationRel({"scale": None}).inputs.items == ("tracks",)
