"""body-scale and heading: a rigid 7-keypoint body, NaN keypoints give NaN, bad input, dataset
pose defaults.
"""

import math

import numpy as np
import polars as pl
import pytest

from moveo.features import BodyScale, Heading
from moveo.features.body_scale import median_scale
from moveo.schema import PoseConfig


def rigid_bodies(thetas, spacing=2.0, n_kp=7):
    """One individual, one frame per heading: keypoint 0 is the head, 6 the tail."""
    rows = []
    for f, theta in enumerate(thetas):
        row = {"id": 3, "frame": f}
        for k in range(n_kp):
            # head at the front: keypoints run backwards from the head
            row[f"poseX{k}"] = 10.0 - k * spacing * math.cos(theta)
            row[f"poseY{k}"] = -5.0 - k * spacing * math.sin(theta)
        rows.append(row)
    return pl.DataFrame(rows)


def test_rigid_seven_keypoint_body():
    df = rigid_bodies([0.0, 1.0, -2.5])
    out = BodyScale().apply(df)
    assert out.columns == ["id", "frame", "scale"]
    # pairwise distances 2..12 (counts 6,5,4,3,2,1): median 4; body length 12
    np.testing.assert_allclose(out["scale"].to_numpy(), 4.0)
    chain = BodyScale(params={"mode": "chain-length"}).apply(df)
    np.testing.assert_allclose(chain["scale"].to_numpy(), 12.0)
    # only the head and the tail: their distance
    ends = BodyScale(pose=PoseConfig(pose_n=7, pose_indices=[0, 6])).apply(df)
    np.testing.assert_allclose(ends["scale"].to_numpy(), 12.0)
    heading = Heading().apply(df)
    np.testing.assert_allclose(heading["ANGLE"].to_numpy(), [0.0, 1.0, -2.5], atol=1e-12)
    pca = Heading(params={"method": "pca", "output_col": "axis"}).apply(df)
    assert pca.columns == ["id", "frame", "axis"]
    np.testing.assert_allclose(pca["axis"].to_numpy(), [0.0, 1.0, -2.5 + math.pi], atol=1e-12)
    custom = Heading(params={"front_idx": 6, "rear_idx": 0}).apply(df)
    np.testing.assert_allclose(custom["ANGLE"].to_numpy(), [math.pi, 1.0 - math.pi, -2.5 + math.pi])


def test_mosaic_defaults_front_0_rear_1():
    # keypoint 1 one unit left of keypoint 0, the others scattered: the heading
    # points from keypoint 1 to keypoint 0 (mosaic's front_idx=0, rear_idx=1)
    row = {"id": 0, "frame": 0, "poseX0": 1.0, "poseY0": 0.0, "poseX1": 0.0, "poseY1": 0.0}
    for k in range(2, 7):
        row[f"poseX{k}"] = 5.0 * k
        row[f"poseY{k}"] = -3.0 * k
    df = pl.DataFrame([row])
    assert Heading.Params().front_idx == 0
    assert Heading.Params().rear_idx == 1
    assert Heading().apply(df)["ANGLE"].to_list() == [0.0]
    # the same random keypoints through mosaic-behavior 0.17's heading (two_point
    # defaults; run in a throwaway venv) gave these angles, NaN where poseX0 is NaN
    rng = np.random.default_rng(0)
    frame = {"id": [1] * 4, "frame": [0, 1, 2, 3]}
    for k in range(7):
        frame[f"poseX{k}"] = rng.normal(size=4)
        frame[f"poseY{k}"] = rng.normal(size=4)
    frame["poseX0"][2] = np.nan
    got = Heading().apply(pl.DataFrame(frame))["ANGLE"].to_numpy()
    np.testing.assert_allclose(got, [1.136728, 0.473291, np.nan, 1.532958], atol=5e-7)


def test_missing_keypoints_give_nan_not_garbage():
    df = rigid_bodies([0.0, 0.0]).with_columns(
        pl.when(pl.col("frame") == 1).then(None).otherwise(pl.col(f"poseX{k}")).alias(f"poseX{k}")
        for k in range(1, 7)
    )
    np.testing.assert_allclose(BodyScale().apply(df)["scale"].to_numpy(), [4.0, np.nan])
    assert Heading().apply(df)["ANGLE"].is_nan().to_list() == [False, True]


def test_median_scale_summary():
    df = pl.DataFrame(
        {
            "group": ["g"] * 6,
            "sequence": ["a", "a", "a", "a", "b", "b"],
            "id": [1, 1, 1, 2, 1, 1],
            "frame": [0, 1, 2, 0, 0, 1],
            "scale": [2.0, np.nan, 4.0, np.nan, 10.0, 30.0],
        }
    )
    out = median_scale(df)
    assert out.columns == ["group", "sequence", "id", "scale_median"]
    assert out.select("sequence", "id").rows() == [("a", 1), ("a", 2), ("b", 1)]
    np.testing.assert_allclose(out["scale_median"].to_numpy(), [3.0, np.nan, 20.0])
    with pytest.raises(ValueError, match=r"median_scale: missing column\(s\) \['scale'\]"):
        median_scale(df.drop("scale"))
    with pytest.raises(TypeError, match="must be float"):
        median_scale(df.with_columns(pl.lit("x").alias("scale")))


def test_bad_input():
    df = rigid_bodies([0.0])
    with pytest.raises(
        ValueError, match=r"body-scale: missing column\(s\) \['poseX6', 'poseY6'\].*pose keypoints"
    ):
        BodyScale().apply(df.drop("poseX6", "poseY6"))
    with pytest.raises(
        ValueError, match=r"heading: missing column\(s\) \['poseX1'.*ingest pose data"
    ):
        Heading().apply(df.drop("poseX1"))
    Heading().apply(df.drop("poseX6"))  # mosaic's defaults read keypoints 0 and 1 only
    with pytest.raises(TypeError, match="heading: column 'poseY0' must be numeric"):
        Heading().apply(df.with_columns(pl.lit("a").alias("poseY0")))
    with pytest.raises(ValueError, match="front_idx and rear_idx are both 2"):
        Heading(params={"front_idx": 2, "rear_idx": 2}).apply(df)
    with pytest.raises(ValueError, match=r"heading: rear_idx=9 is not a keypoint \(pose_n=7\)"):
        Heading(params={"rear_idx": 9}).apply(df)
    with pytest.raises(ValueError, match="needs at least two pose keypoints"):
        BodyScale(pose=PoseConfig(pose_n=7, pose_indices=[3])).apply(df)
    with pytest.raises(ValueError, match="mode"):
        BodyScale(params={"mode": "mean"})
    with pytest.raises(ValueError, match="method"):
        Heading(params={"method": "three_point"})


def test_dataset_pose_is_used_unless_given():
    df = rigid_bodies([0.0], n_kp=3)  # keypoints 2 apart: pairs 2, 2, 4
    f = BodyScale()
    f.set_dataset_defaults(fps=30.0, pose=PoseConfig(pose_n=3, pose_indices=[0, 2]))
    np.testing.assert_allclose(f.apply(df)["scale"].to_numpy(), 4.0)
    g = BodyScale(pose=PoseConfig(pose_n=3))
    g.set_dataset_defaults(pose=PoseConfig(pose_n=3, pose_indices=[0, 2]))
    np.testing.assert_allclose(g.apply(df)["scale"].to_numpy(), 2.0)
