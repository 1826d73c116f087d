"""trajectory-smooth: mosaic's parameters, defaults and output (values recorded from
mosaic-behavior 0.17), the documented corrections (NaN never filtered, frames not rows),
moveo's confidence and max-gap options, and chaining: a feature run on the smoothed
tracks gets its own run id and goes stale when the smoothing or the tracks change."""

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from moveo import run_feature
from moveo.features import SpeedAngvel, TrajectorySmooth
from moveo.io.synthetic import add_rigid_pose, random_walk
from moveo.pipeline import FeatureStep, Pipeline
from moveo.schema import PoseConfig


def _spike_track():
    # mosaic's probe: X = frame with a spike of 100 at frame 8 and NaN at frame 14;
    # two keypoints at X +- 1 (NaN at 14 too), an extra column passed through
    n = 20
    x = np.arange(n, dtype=float)
    x[8] = 100.0
    x[14] = np.nan
    return pl.DataFrame(
        {
            "group": "g",
            "sequence": "s",
            "id": [1] * n,
            "frame": np.arange(n),
            "X": x,
            "Y": np.zeros(n),
            "ANGLE": np.zeros(n),
            "poseX0": x + 1,
            "poseY0": np.zeros(n),
            "poseX1": x - 1,
            "poseY1": np.zeros(n),
            "extra": np.arange(n) * 10.0,
        }
    )


POSE2 = PoseConfig(pose_n=2)


def test_defaults_are_mosaics():
    p = TrajectorySmooth.Params()
    assert p.model_dump() == {
        "speed_threshold": None,
        "fps": None,
        "interpolate_centroid": True,
        "interpolate_pose": False,
        "expand_frames": 2,
        "savgol_window": None,
        "savgol_polyorder": 2,
        "max_gap": None,
        "min_confidence": None,
    }


def test_values_observed_from_mosaic():
    df = _spike_track()
    # defaults: only the centroid's gap is filled, the pose keeps its NaN
    out = TrajectorySmooth(pose=POSE2).apply(df)
    assert out.columns == [*df.columns, "bad_frame"]
    assert out["X"][14] == 14.0 and np.isnan(out["poseX0"][14])
    assert not out["bad_frame"].any()
    assert out["extra"].equals(df["extra"])
    # speed_threshold=5 (per frame): frames 8 and 9 jump, expanded by 2 -> 6..11 bad;
    # the centroid is interpolated back onto the line, the pose keeps its spike
    out = TrajectorySmooth({"speed_threshold": 5.0}, pose=POSE2).apply(df)
    assert np.flatnonzero(out["bad_frame"].to_numpy()).tolist() == [6, 7, 8, 9, 10, 11]
    np.testing.assert_allclose(out["X"].to_numpy(), np.arange(20.0))
    assert out["poseX0"][8] == 101.0
    out = TrajectorySmooth({"speed_threshold": 5.0, "interpolate_pose": True}, pose=POSE2).apply(df)
    np.testing.assert_allclose(out["poseX0"].to_numpy(), np.arange(20.0) + 1)
    # savgol_window=5: mosaic-behavior 0.17 gave these X around the spike
    out = TrajectorySmooth({"savgol_window": 5}, pose=POSE2).apply(df)
    np.testing.assert_allclose(
        out["X"].to_numpy()[6:11],
        [-1.885714, 38.542857, 52.685714, 40.542857, 2.114286],
        atol=5e-7,
    )
    np.testing.assert_allclose(out["X"].to_numpy()[[1, 19]], [1.0, 19.0], atol=1e-12)


def test_filter_never_runs_over_nan_unlike_mosaic():
    # mosaic fills the pose NaN at frame 14 with 0 before filtering: its poseX0 at frame
    # 12 is 14.285714 (= (500 - 3 * 0) / 35) instead of 13. moveo filters the runs
    # either side of the gap on their own.
    df = _spike_track()
    out = TrajectorySmooth({"savgol_window": 5}, pose=POSE2).apply(df)
    assert np.isnan(out["poseX0"][14])
    np.testing.assert_allclose(out["poseX0"].to_numpy()[11:14], [12.0, 13.0, 14.0], atol=1e-9)
    np.testing.assert_allclose(out["poseX0"].to_numpy()[15:], np.arange(16.0, 21.0), atol=1e-9)


def test_missing_frames_are_measured_in_frames():
    # frames 0, 1, 2, 10, 11: X = frame; frame 2 lost. mosaic interpolates by row
    # (5.5 = between rows 1 and 3); moveo by frame (2.0), the same when no frame is missing
    frames = np.array([0, 1, 2, 10, 11])
    x = frames.astype(float)
    x[2] = np.nan
    df = pl.DataFrame({"id": [0] * 5, "frame": frames, "X": x, "Y": np.zeros(5)})
    assert TrajectorySmooth().apply(df)["X"].to_list() == [0.0, 1.0, 2.0, 10.0, 11.0]
    # 8 px over 8 frames is 1 px per frame: no jump at threshold 1
    df = df.with_columns(pl.col("X").fill_nan(2.0))
    assert not TrajectorySmooth({"speed_threshold": 1.0}).apply(df)["bad_frame"].any()
    fps = TrajectorySmooth({"speed_threshold": 20.0, "fps": 30.0})  # 0.67 px per frame
    assert fps.apply(df)["bad_frame"].to_list() == [True] * 5


def test_low_confidence_keypoints_and_max_gap():
    n = 8
    base = {
        "id": [0] * n,
        "frame": np.arange(n),
        "X": np.arange(n, dtype=float),
        "Y": np.zeros(n),
        "poseX0": np.arange(n, dtype=float),
        "poseY0": np.zeros(n),
        "poseP0": [0.9, 0.9, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9],
    }
    df = pl.DataFrame(base)
    pose = PoseConfig(pose_n=1)
    out = TrajectorySmooth({"min_confidence": 0.5}, pose=pose).apply(df)
    assert out["bad_frame"].to_list() == [False, False, True] + [False] * 5
    assert np.isnan(out["poseX0"][2])  # masked, not interpolated (interpolate_pose=False)
    out = TrajectorySmooth({"min_confidence": 0.5, "interpolate_pose": True}, pose=pose).apply(df)
    assert out["poseX0"][2] == 2.0
    gap = df.with_columns(pl.Series("X", [0.0, np.nan, np.nan, np.nan, 4.0, np.nan, 6.0, 7.0]))
    out = TrajectorySmooth({"max_gap": 2}, pose=pose).apply(gap)
    assert np.isnan(out["X"][1:4].to_numpy()).all() and out["X"][5] == 5.0
    with pytest.raises(ValueError, match=r"missing column\(s\) \['poseP0'\]"):
        TrajectorySmooth({"min_confidence": 0.5}, pose=pose).apply(df.drop("poseP0"))
    with pytest.raises(ValueError, match="min_confidence needs pose keypoints"):
        TrajectorySmooth({"min_confidence": 0.5}, pose=pose).apply(df.drop("poseX0", "poseY0"))


def test_input_order_and_several_individuals_kept_apart():
    a = random_walk(3, 40, seed=2, group="g", sequence="s")
    a = add_rigid_pose(a, n_keypoints=3, pose=PoseConfig(pose_n=3))
    pose = PoseConfig(pose_n=3)
    p = {"speed_threshold": 0.5, "interpolate_pose": True, "savgol_window": 7}
    sorted_out = TrajectorySmooth(p, pose=pose).apply(a)
    perm = np.random.default_rng(0).permutation(a.height)
    shuffled = TrajectorySmooth(p, pose=pose).apply(a[perm])
    assert shuffled.equals(sorted_out[perm])
    alone = TrajectorySmooth(p, pose=pose).apply(a.filter(pl.col("id") == 1))
    assert alone.equals(sorted_out.filter(pl.col("id") == 1))


def test_bad_params():
    with pytest.raises(ValidationError, match="savgol_window .* must exceed savgol_polyorder"):
        TrajectorySmooth({"savgol_window": 2})
    with pytest.raises(ValidationError):
        TrajectorySmooth({"speed_threshold": -1.0})
    with pytest.raises(ValueError, match=r"trajectory-smooth: missing column\(s\) \['Y'\]"):
        TrajectorySmooth().apply(pl.DataFrame({"id": [0], "frame": [0], "X": [0.0]}))
    partial = pl.DataFrame({"id": [0], "frame": [0], "X": [0.0], "Y": [0.0], "poseX0": [1.0]})
    with pytest.raises(ValueError, match="poseY0"):
        TrajectorySmooth(pose=PoseConfig(pose_n=1)).apply(partial)


def test_speed_from_smoothed_tracks_has_its_own_run_and_goes_stale(tmp_dataset):
    ds = tmp_dataset
    tracks = random_walk(2, 120, seed=4, group="g0", sequence="s0")
    tracks = tracks.with_columns(
        pl.when(pl.col("frame") == 50).then(pl.col("X") + 80.0).otherwise(pl.col("X")).alias("X")
    )
    ds.add_tracks(tracks)
    raw = run_feature(ds, SpeedAngvel())
    smooth = run_feature(ds, TrajectorySmooth({"speed_threshold": 5.0, "savgol_window": 7}))
    on_smooth = run_feature(ds, SpeedAngvel(inputs=(smooth,)))
    assert on_smooth.run_id != raw.run_id
    cleaned = pl.read_parquet(
        ds.features_root / smooth.feature / smooth.run_id / "g0" / "s0.parquet"
    )
    got = pl.read_parquet(
        ds.features_root / "speed-angvel" / on_smooth.run_id / "g0" / "s0.parquet"
    )
    want = SpeedAngvel({"fps": 30.0}).apply(cleaned)
    np.testing.assert_allclose(got["speed"].to_numpy(), want["speed"].to_numpy(), equal_nan=True)
    spikes = pl.read_parquet(ds.features_root / "speed-angvel" / raw.run_id / "g0" / "s0.parquet")
    assert spikes["speed"].max() > 1000 > got["speed"].max()

    # in a pipeline: changing the smoothing makes the downstream step stale
    def pipeline(window):
        return (
            Pipeline(name="clean")
            .add(
                FeatureStep(
                    "smooth",
                    TrajectorySmooth,
                    params={"speed_threshold": 5.0, "savgol_window": window},
                )
            )
            .add(FeatureStep("speed", SpeedAngvel, input_names=["smooth"]))
        )

    results = pipeline(7).run(ds)
    assert results["speed"].run_id == on_smooth.run_id
    by = {r["step"]: r for r in pipeline(9).status(ds).iter_rows(named=True)}
    assert by["smooth"]["state"] == "stale"
    assert by["speed"]["reason"] == "upstream changed: smooth"
    # changed tracks make both stale, entry by entry
    ds.add_tracks(tracks.with_columns(pl.col("Y") + 1.0), overwrite=True)
    by = {r["step"]: r for r in pipeline(7).status(ds).iter_rows(named=True)}
    assert by["smooth"]["reason"] == "tracks changed for 1 of 1 entries"
    assert by["speed"]["state"] == "stale"
