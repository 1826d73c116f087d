"""track-subsample: mosaic's methods, parameters and defaults; the rows mosaic-behavior
0.17 chose on the same data (uniform, kmeans, clips); drop_nan as mosaic documents it;
the output is track-shaped and feeds a tracking feature."""

import numpy as np
import polars as pl
import pytest

from moveo import run_feature
from moveo.features import SpeedAngvel, TrackSubsample
from moveo.io.synthetic import random_walk


def _mosaic_probe():
    # the table the rows below were recorded on (two individuals x 50 frames, three
    # keypoints, ANGLE missing at frame 3), drawn in this order with seed 0
    rng = np.random.default_rng(0)
    parts = []
    for ident in (1, 2):
        n = 50
        d = {
            "id": [ident] * n,
            "frame": np.arange(n),
            "X": rng.normal(size=n) * 10,
            "Y": rng.normal(size=n) * 10,
            "ANGLE": rng.uniform(-3, 3, n),
        }
        for k in range(3):
            d[f"poseX{k}"] = d["X"] + rng.normal(size=n)
            d[f"poseY{k}"] = d["Y"] + rng.normal(size=n)
        d["ANGLE"][3] = np.nan
        d["extra"] = np.arange(n) * 1.0
        parts.append(pl.DataFrame(d))
    return pl.concat(parts)


def _rows(out):
    return list(zip(out["id"].to_list(), out["frame"].to_list(), strict=True))


def test_defaults_are_mosaics():
    p = TrackSubsample.Params()
    assert (p.method, p.target_frames, p.clip_len, p.seed, p.drop_nan, p.pose) == (
        "kmeans",
        300,
        8,
        42,
        True,
        None,
    )


def test_rows_observed_from_mosaic():
    df = _mosaic_probe()
    pose = {"pose_n": 3}

    def run(**p):
        return _rows(TrackSubsample({"pose": pose, **p}).apply(df))

    # what mosaic-behavior 0.17 returned on this table
    assert run(method="uniform", target_frames=10, drop_nan=False) == [
        (i, f) for i in (1, 2) for f in range(0, 50, 10)
    ]
    assert run(method="uniform", target_frames=7, drop_nan=False) == [
        (1, 0),
        (1, 14),
        (1, 28),
        (1, 42),
        (2, 6),
        (2, 20),
        (2, 34),
    ]
    assert run(method="kmeans", target_frames=10) == [
        (1, 18),
        (1, 23),
        (1, 26),
        (1, 34),
        (1, 39),
        (2, 4),
        (2, 9),
        (2, 11),
        (2, 13),
        (2, 17),
    ]
    assert run(method="clips", target_frames=12, clip_len=4, drop_nan=False) == [
        (1, 34),
        (1, 35),
        (1, 36),
        (1, 37),
        (2, 2),
        (2, 3),
        (2, 4),
        (2, 5),
        (2, 9),
        (2, 10),
        (2, 11),
        (2, 12),
    ]
    # drop_nan (default) leaves frame 3 of id 2 (ANGLE NaN) out of its clip
    dropped = run(method="clips", target_frames=12, clip_len=4)
    assert (2, 3) not in dropped and len(dropped) == 11
    out = TrackSubsample({"pose": pose, "method": "kmeans", "target_frames": 10}).apply(df)
    assert out.columns == df.columns  # every column passes through
    # at most target_frames rows: the entry is passed through whole
    assert TrackSubsample({"target_frames": 200}).apply(df).equals(df)


def test_drop_nan_as_documented():
    df = _mosaic_probe()
    # ANGLE is NaN at frame 3 of both individuals: with drop_nan (default) the stride
    # runs over the 98 complete rows; mosaic ignores the option (drop_nan=False)
    kept = TrackSubsample({"method": "uniform", "target_frames": 49, "pose": {"pose_n": 3}})
    frames = kept.apply(df)["frame"].to_list()
    assert 3 not in frames and len(frames) == 49
    keep_all = TrackSubsample(
        {"method": "uniform", "target_frames": 33, "drop_nan": False, "pose": {"pose_n": 3}}
    ).apply(df)
    assert keep_all["frame"].to_list()[:3] == [0, 3, 6]  # mosaic's stride, NaN row kept
    assert keep_all["ANGLE"].is_nan().sum() == 1
    clips = TrackSubsample(
        {"method": "clips", "target_frames": 40, "clip_len": 10, "pose": {"pose_n": 3}}
    ).apply(df)
    assert clips["ANGLE"].is_nan().sum() == 0
    with pytest.raises(ValueError, match=r"missing column\(s\) \['ANGLE'\]"):
        TrackSubsample({"target_frames": 10, "pose": {"pose_n": 3}}).apply(df.drop("ANGLE"))
    # uniform needs no pose at all
    assert (
        TrackSubsample({"method": "uniform", "target_frames": 5})
        .apply(df.select("id", "frame", "X"))
        .height
        == 5
    )


def test_clips_stay_within_an_individual():
    df = _mosaic_probe()
    out = TrackSubsample(
        {
            "method": "clips",
            "target_frames": 48,
            "clip_len": 8,
            "drop_nan": False,
            "pose": {"pose_n": 3},
        }
    ).apply(df)
    # every run of consecutive frames of an individual is at least one whole clip: a
    # clip that ran off the end of one individual into the next would leave a short run
    for _, part in out.group_by("id"):
        frames = np.sort(part["frame"].to_numpy())
        runs = np.split(frames, np.flatnonzero(np.diff(frames) > 1) + 1)
        assert min(len(r) for r in runs) >= 8


def test_subsampled_tracks_feed_a_tracking_feature(tmp_dataset):
    ds = tmp_dataset
    ds.add_tracks(random_walk(3, 200, seed=5, group="g0", sequence="s0"))
    sub = run_feature(ds, TrackSubsample({"method": "uniform", "target_frames": 60}))
    out = pl.read_parquet(ds.features_root / "track-subsample" / sub.run_id / "g0" / "s0.parquet")
    assert out.height == 60
    assert out.columns == ds.read("g0", "s0").columns
    speed = run_feature(ds, SpeedAngvel(inputs=(sub,)))
    got = pl.read_parquet(ds.features_root / "speed-angvel" / speed.run_id / "g0" / "s0.parquet")
    assert got.height == 60
