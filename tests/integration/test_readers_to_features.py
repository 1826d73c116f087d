"""From each tool's file to a computed feature: read, ingest, run speed-angvel.

One motion with a known answer — every keypoint of animal ``a`` moves (3, 4) px
per frame, so at 30 fps its speed is 5 * 30 = 150 px/s, animal ``b`` stands
still (speed 0) — is written in each format with the tool's own library
(pandas/PyTables for DeepLabCut, sleap-io for SLEAP, numpy for idtracker.ai and
CalMS21, xarray for movement), read with moveo's reader, ingested into a real
Dataset (parquet + SQLite registry) and run through ``speed-angvel``. A NaN gap
gives NaN speed next to it, never a number.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from moveo import Dataset, read_feature, run_feature
from moveo.features import SpeedAngvel
from moveo.io import (
    from_movement,
    read_calms21,
    read_dlc,
    read_idtracker,
    read_sleap,
    to_movement,
)
from moveo.labels import add_labels

N_FRAMES, N_KP, FPS = 12, 3, 30.0
GAP = 6  # animal a is lost in this frame


def motion():
    """(n_frames, 2 animals, n_kp, 2): a moves (3, 4) px/frame, b stands still."""
    pts = np.zeros((N_FRAMES, 2, N_KP, 2))
    offsets = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 5.0]])
    for f in range(N_FRAMES):
        pts[f, 0] = offsets + [100 + 3 * f, 50 + 4 * f]
        pts[f, 1] = offsets + [400, 300]
    pts[GAP, 0] = np.nan
    return pts


def check_speed(tmp_path, table, *, pose=None, labels=None, id_a=0, id_b=1):
    ds = Dataset.create(tmp_path / "ds", fps=FPS, pose=pose)
    (entry,) = ds.add_tracks(table)
    if labels is not None:
        add_labels(ds, "behavior", labels)
    result = run_feature(ds, SpeedAngvel(), progress=False)
    out = read_feature(ds, result, *entry)
    a = out.filter(pl.col("id") == id_a).sort("frame")["speed"].to_numpy()
    b = out.filter(pl.col("id") == id_b).sort("frame")["speed"].to_numpy()
    expected = np.full(N_FRAMES, 150.0)
    expected[[0, GAP, GAP + 1]] = np.nan  # first row, and the rows touching the gap
    np.testing.assert_allclose(a, expected, rtol=1e-12)
    np.testing.assert_array_equal(b[1:], 0.0)
    return ds


def test_dlc_h5(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    pts = motion()
    cols, values = [], []
    for i, ind in enumerate(["a", "b"]):
        for k in range(N_KP):
            for c, coord in enumerate(("x", "y", "likelihood")):
                cols.append(("DLC_resnet50", ind, f"kp{k}", coord))
                values.append(pts[:, i, k, c] if c < 2 else np.full(N_FRAMES, 0.99))
    df = pd.DataFrame(np.column_stack(values), columns=pd.MultiIndex.from_tuples(
        cols, names=["scorer", "individuals", "bodyparts", "coords"]))
    path = tmp_path / "trialDLC_resnet50.h5"
    df.to_hdf(path, key="df_with_missing", format="table", mode="w")
    table, info = read_dlc(path, group="g", return_info=True)
    check_speed(tmp_path, table, pose=info.pose)


def test_sleap_slp(tmp_path):
    sio = pytest.importorskip("sleap_io")
    pts = motion()
    skel = sio.Skeleton([f"kp{k}" for k in range(N_KP)])
    vid = sio.Video(filename="trial.mp4", open_backend=False)
    tracks = [sio.Track(name="a"), sio.Track(name="b")]
    lfs = [
        sio.LabeledFrame(video=vid, frame_idx=f, instances=[
            sio.PredictedInstance.from_numpy(pts[f, i], skeleton=skel, point_scores=np.ones(N_KP),
                                             score=1.0, track=tracks[i])
            for i in range(2) if not (i == 0 and f == GAP)])
        for f in range(N_FRAMES)
    ]
    path = tmp_path / "trial.slp"
    sio.save_slp(sio.Labels(lfs, videos=[vid], skeletons=[skel], tracks=tracks), str(path))
    table, info = read_sleap(path, group="g", return_info=True)
    assert GAP not in table.filter(pl.col("id") == 0)["frame"].to_list()  # a missing row
    ds = Dataset.create(tmp_path / "ds", fps=FPS, pose=info.pose)
    ds.add_tracks(table)
    result = run_feature(ds, SpeedAngvel(), progress=False)
    out = read_feature(ds, result, "g", "trial").filter(pl.col("id") == 0)
    # no row at the gap: the next row's speed spans two frames at the same velocity
    speeds = out["speed"].to_numpy()
    assert np.isnan(speeds[0])
    np.testing.assert_allclose(speeds[1:], 150.0, rtol=1e-12)


def test_idtracker_npy(tmp_path):
    pts = motion()
    path = tmp_path / "session_trial" / "trajectories" / "trajectories.npy"
    path.parent.mkdir(parents=True)
    np.save(path, {"trajectories": pts[:, :, 0, :], "frames_per_second": FPS,
                   "body_length": 20.0, "version": "5.2.3"}, allow_pickle=True)
    table, info = read_idtracker(path, return_info=True)
    assert info.fps == FPS
    check_speed(tmp_path, table, id_a=1, id_b=2)


def test_calms21_json_with_labels(tmp_path):
    pts = motion()
    kp = np.transpose(pts, (0, 1, 3, 2))  # (frames, mice, 2, keypoints)
    seq = {"keypoints": np.where(np.isnan(kp), None, kp).tolist(),
           "scores": np.ones((N_FRAMES, 2, N_KP)).tolist(),
           "annotations": [3] * 6 + [1] * 6,
           "metadata": {"vocab": {"attack": 0, "investigation": 1, "mount": 2, "other": 3}}}
    path = tmp_path / "calms.json"
    path.write_text(json.dumps({"annotator-id_0": {"task1/train/trial": seq}}))
    tracks, labels, info = read_calms21(path, return_info=True)
    check_speed(tmp_path, tracks, pose=info.pose, labels=labels)


def test_movement_roundtrip(tmp_path):
    pytest.importorskip("xarray")
    pts = motion()
    table = pl.DataFrame({
        "id": np.repeat([0, 1], N_FRAMES),
        "frame": np.tile(np.arange(N_FRAMES), 2),
        **{f"poseX{k}": np.concatenate([pts[:, 0, k, 0], pts[:, 1, k, 0]]) for k in range(N_KP)},
        **{f"poseY{k}": np.concatenate([pts[:, 0, k, 1], pts[:, 1, k, 1]]) for k in range(N_KP)},
    })
    ds_xr = to_movement(table, fps=FPS)
    back = from_movement(ds_xr, group="g", sequence="s")
    ds = check_speed(tmp_path, back)
    # and the feature's output can go back to movement next to the positions
    speed = read_feature(ds, "speed-angvel", "g", "s")
    assert to_movement(ds.read("g", "s").join(speed.select("id", "frame", "speed"),
                                              on=["id", "frame"]), fps=FPS)["position"].shape == \
        (N_FRAMES, 2, N_KP, 2)
