"""read_sleap on .slp and .analysis.h5 files written by sleap-io (SLEAP's own library).

The Labels are built in code from known arrays, saved with ``sleap_io.save_slp``
/ ``save_analysis_h5`` (and one analysis file written dataset by dataset the
way SLEAP itself lays it out), read back, and compared value by value: track ->
id and name, node -> poseX/poseY/poseP, instance and tracking scores, missing
nodes, frames without an instance, user-vs-predicted precedence, the untracked
policies, several videos, and clear errors for corrupt, truncated and other
tools' files.
"""

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.io import read_sleap

sio = pytest.importorskip("sleap_io")
h5py = pytest.importorskip("h5py")

NODES = ("nose", "head", "tail")  # a tuple: sio.Skeleton turns a list into Nodes in place


def make_labels(n_frames=6, *, n_tracks=2, seed=0, video="session1.mp4", fps=None,
                skip=((1, 3),), lost_node=((0, 2, 1),)):
    """Predictions: track t at frame f has points P[f, t] (skip: (track, frame) absent;
    lost_node: (track, frame, node) not placed)."""
    rng = np.random.default_rng(seed)
    skel = sio.Skeleton(list(NODES))
    meta = {} if fps is None else {"fps": fps}
    vid = sio.Video(filename=video, backend_metadata=meta, open_backend=False)
    tracks = [sio.Track(name=f"mouse{t}") for t in range(n_tracks)]
    pts = rng.uniform(0, 500, size=(n_frames, n_tracks, len(NODES), 2))
    scores = rng.uniform(0.2, 1, size=(n_frames, n_tracks, len(NODES)))
    inst_score = rng.uniform(0.5, 1, size=(n_frames, n_tracks))
    track_score = rng.uniform(0.5, 1, size=(n_frames, n_tracks))
    for t, f, k in lost_node:
        if f < n_frames:
            pts[f, t, k] = np.nan
    lfs = []
    for f in range(n_frames):
        insts = [
            sio.PredictedInstance.from_numpy(
                pts[f, t], skeleton=skel, point_scores=scores[f, t], score=inst_score[f, t],
                track=tracks[t], tracking_score=track_score[f, t],
            )
            for t in range(n_tracks) if (t, f) not in skip
        ]
        lfs.append(sio.LabeledFrame(video=vid, frame_idx=f, instances=insts))
    labels = sio.Labels(labeled_frames=lfs, videos=[vid], skeletons=[skel], tracks=tracks)
    truth = {"pts": pts, "scores": scores, "inst": inst_score, "track": track_score,
             "skip": set(skip)}
    return labels, truth


def check_against_truth(table, truth, n_tracks=2, *, tracking=True):
    n_frames = truth["pts"].shape[0]
    for t in range(n_tracks):
        sub = table.filter(pl.col("id") == t)
        frames = [f for f in range(n_frames) if (t, f) not in truth["skip"]]
        assert sub["frame"].to_list() == frames
        assert set(sub["individual"]) == {f"mouse{t}"}
        for k in range(len(NODES)):
            pts = truth["pts"][frames, t, k]
            np.testing.assert_array_equal(sub[f"poseX{k}"].to_numpy(), pts[:, 0])
            np.testing.assert_array_equal(sub[f"poseY{k}"].to_numpy(), pts[:, 1])
            np.testing.assert_allclose(sub[f"poseP{k}"].to_numpy(), truth["scores"][frames, t, k])
        np.testing.assert_allclose(sub["instance_score"].to_numpy(), truth["inst"][frames, t],
                                   rtol=1e-6)  # .slp stores instance scores as float32
        if tracking:
            np.testing.assert_allclose(sub["tracking_score"].to_numpy(), truth["track"][frames, t],
                                       rtol=1e-6)
        expected_x = np.nanmean(truth["pts"][frames, t, :, 0], axis=1)
        np.testing.assert_allclose(sub["X"].to_numpy(), expected_x)


def test_predictions_slp_roundtrip(tmp_path):
    labels, truth = make_labels(fps=30.0)
    path = tmp_path / "arena" / "session1.predictions.slp"
    path.parent.mkdir()
    sio.save_slp(labels, str(path))
    table, info = read_sleap(path, return_info=True)
    assert table.columns[:7] == ["group", "sequence", "id", "individual", "frame", "X", "Y"]
    assert set(table["group"]) == {"arena"} and set(table["sequence"]) == {"session1"}
    check_against_truth(table, truth)
    assert not table["user_labeled"].any()
    # the lost node is NaN, and the centroid ignores it
    row = table.filter((pl.col("id") == 0) & (pl.col("frame") == 2))
    assert np.isnan(row["poseX1"][0])
    assert info.source_software == "SLEAP" and info.fps == 30.0
    assert info.pose.keypoint_names == list(NODES) and info.pose.pose_n == 3
    assert info.individuals == {0: "mouse0", 1: "mouse1"}
    assert info.extra["videos"] == {"session1": "session1.mp4"}


def test_analysis_h5_from_sleap_io_matches_slp(tmp_path):
    labels, truth = make_labels()
    slp, h5 = tmp_path / "p.slp", tmp_path / "p.analysis.h5"
    sio.save_slp(labels, str(slp))
    sio.save_analysis_h5(labels, str(h5))
    a = read_sleap(slp, group="g", sequence="s")
    b = read_sleap(h5, group="g", sequence="s")
    check_against_truth(b, truth)
    scores = ["instance_score", "tracking_score"]  # float32 in .slp, float64 in analysis h5
    assert b.drop(scores).equals(a.drop(scores))
    for col in scores:
        np.testing.assert_allclose(b[col].to_numpy(), a[col].to_numpy(), rtol=1e-6)


def test_analysis_h5_in_sleaps_own_layout(tmp_path):
    # SLEAP's "Export Analysis HDF5": matlab axis order, no sleap-io attributes
    n_tracks, n_nodes, n_frames = 2, 3, 5
    rng = np.random.default_rng(1)
    tracks = rng.uniform(0, 100, size=(n_tracks, 2, n_nodes, n_frames))
    tracks[1, :, :, 3] = np.nan  # track 1 absent in frame 3
    tracks[0, :, 1, 2] = np.nan  # node 1 of track 0 lost in frame 2
    occupancy = np.ones((n_frames, n_tracks), dtype=np.uint8)
    occupancy[3, 1] = 0
    point_scores = rng.uniform(size=(n_tracks, n_nodes, n_frames))
    instance_scores = rng.uniform(size=(n_tracks, n_frames))
    path = tmp_path / "labels.v001.analysis.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("tracks", data=tracks)
        f.create_dataset("track_occupancy", data=occupancy)
        f.create_dataset("point_scores", data=point_scores)
        f.create_dataset("instance_scores", data=instance_scores)
        f.create_dataset("tracking_scores", data=np.zeros((n_tracks, n_frames)))
        f.create_dataset("node_names", data=np.array([n.encode() for n in NODES]))
        f.create_dataset("track_names", data=np.array([b"mouse0", b"mouse1"]))
        f.create_dataset("edge_names", data=np.array([[b"nose", b"head"], [b"head", b"tail"]]))
        f.create_dataset("edge_inds", data=np.array([[0, 1], [1, 2]]))
        f.create_dataset("video_path", data="/videos/day3/cage2.mp4")
        f.create_dataset("video_ind", data=0)
        f.create_dataset("labels_path", data="labels.v001.slp")
        f.create_dataset("provenance", data="{}")
    table, info = read_sleap(path, return_info=True)
    assert set(table["sequence"]) == {"cage2"}
    truth = {
        "pts": np.transpose(tracks, (3, 0, 2, 1)),
        "scores": np.transpose(point_scores, (2, 0, 1)),
        "inst": instance_scores.T,
        "track": np.zeros((n_frames, n_tracks)),
        "skip": {(1, 3)},
    }
    check_against_truth(table, truth)
    assert info.extra["edges"] == [["nose", "head"], ["head", "tail"]]


def test_user_instances_replace_predictions(tmp_path):
    labels, truth = make_labels(n_frames=4, skip=())
    lf = labels.labeled_frames[1]
    skel = labels.skeletons[0]
    user_pts = np.array([[1.0, 2.0], [np.nan, np.nan], [5.0, 6.0]])
    lf.instances.append(sio.Instance.from_numpy(user_pts, skeleton=skel, track=labels.tracks[0]))
    path = tmp_path / "p.slp"
    sio.save_slp(labels, str(path))
    table = read_sleap(path, group="g", sequence="s")
    row = table.filter((pl.col("id") == 0) & (pl.col("frame") == 1))
    assert row.height == 1 and row["user_labeled"][0]
    assert row["poseX0"][0] == 1.0 and np.isnan(row["poseX1"][0]) and row["poseY2"][0] == 6.0
    assert row["poseP0"][0] == 1.0 and np.isnan(row["poseP1"][0])
    assert np.isnan(row["instance_score"][0]) and row["X"][0] == 3.0
    preds = read_sleap(path, group="g", sequence="s", user_instances=False)
    row = preds.filter((pl.col("id") == 0) & (pl.col("frame") == 1))
    assert not row["user_labeled"][0]
    assert row["poseX0"][0] == truth["pts"][1, 0, 0, 0]


def test_single_animal_untracked_is_id0(tmp_path):
    skel = sio.Skeleton(list(NODES))
    vid = sio.Video(filename="solo.mp4", open_backend=False)
    lfs = [
        sio.LabeledFrame(video=vid, frame_idx=f, instances=[
            sio.PredictedInstance.from_numpy(np.full((3, 2), float(f)), skeleton=skel,
                                             point_scores=np.ones(3), score=0.9)])
        for f in (0, 1, 3)
    ]
    path = tmp_path / "solo.slp"
    sio.save_slp(sio.Labels(lfs, videos=[vid], skeletons=[skel]), str(path))
    table = read_sleap(path, group="g")
    assert table["id"].to_list() == [0, 0, 0] and table["frame"].to_list() == [0, 1, 3]
    assert set(table["individual"]) == {"animal0"} and set(table["sequence"]) == {"solo"}
    assert table["X"].to_list() == [0.0, 1.0, 3.0]


def test_multi_animal_untracked_policy(tmp_path):
    labels, _ = make_labels(n_frames=3, skip=())
    skel = labels.skeletons[0]
    labels.labeled_frames[2].instances.append(
        sio.PredictedInstance.from_numpy(np.zeros((3, 2)), skeleton=skel,
                                         point_scores=np.ones(3), score=0.5)
    )
    path = tmp_path / "p.slp"
    sio.save_slp(labels, str(path))
    with pytest.raises(ValueError, match=r"p\.slp: 1 instance\(s\) have no track \(first in "
                                         r"frame 2\).*untracked='drop'"):
        read_sleap(path)
    table, info = read_sleap(path, untracked="drop", return_info=True)
    assert table.height == 6 and info.extra["untracked_dropped"] == 1
    with pytest.raises(ValueError, match="untracked must be"):
        read_sleap(path, untracked="index")


def test_several_videos_become_sequences(tmp_path):
    a, _ = make_labels(n_frames=3, video="day1.mp4", skip=())
    b, _ = make_labels(n_frames=2, video="day2.mp4", skip=(), seed=1)
    b_video = b.videos[0]
    for lf in b.labeled_frames:
        for inst in lf.instances:
            inst.track = a.tracks[b.tracks.index(inst.track)]
            inst.skeleton = a.skeletons[0]
    merged = sio.Labels(labeled_frames=a.labeled_frames + b.labeled_frames,
                        videos=[a.videos[0], b_video], skeletons=a.skeletons, tracks=a.tracks)
    path = tmp_path / "both.slp"
    sio.save_slp(merged, str(path))
    table = read_sleap(path, group="g")
    counts = dict(table.group_by("sequence").len().iter_rows())
    assert counts == {"day1": 6, "day2": 4}
    only = read_sleap(path, group="g", video="day2.mp4", sequence="second")
    assert set(only["sequence"]) == {"second"} and only.height == 4
    assert read_sleap(path, group="g", video=1).height == 4
    with pytest.raises(ValueError, match="has 2 videos; pass video="):
        read_sleap(path, sequence="x")
    with pytest.raises(ValueError, match="no video 'day9.mp4'"):
        read_sleap(path, video="day9.mp4")


def test_ingest_roundtrip(tmp_path):
    labels, _ = make_labels()
    path = tmp_path / "p.slp"
    sio.save_slp(labels, str(path))
    table, info = read_sleap(path, group="g", sequence="s", return_info=True)
    ds = Dataset.create(tmp_path / "ds", fps=30.0, pose=info.pose)
    ds.add_tracks(table)
    assert ds.read("g", "s").select(table.columns).equals(table)
    assert ds.pose.keypoint_names == list(NODES)


def test_corrupt_truncated_and_other_tools_files(tmp_path):
    labels, _ = make_labels(n_frames=200)
    path = tmp_path / "p.slp"
    sio.save_slp(labels, str(path))
    raw = path.read_bytes()
    cut = tmp_path / "cut.slp"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut\.slp: truncated or corrupt"):
        read_sleap(cut)
    text = tmp_path / "notes.slp"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.slp: not an HDF5 file, so not a SLEAP"):
        read_sleap(text)
    other = tmp_path / "other.slp"
    with h5py.File(other, "w") as f:
        f.create_dataset("data", data=np.zeros(3))
    with pytest.raises(ValueError, match=r"other\.slp: no 'metadata' group"):
        read_sleap(other)
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    cols = pd.MultiIndex.from_product([["scorer"], ["nose"], ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    dlc = tmp_path / "videoDLC.h5"
    pd.DataFrame(np.zeros((2, 3)), columns=cols).to_hdf(dlc, key="df_with_missing",
                                                        format="table")
    with pytest.raises(ValueError, match=r"videoDLC\.h5: no 'tracks' dataset.*read_dlc"):
        read_sleap(dlc)
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n")
    with pytest.raises(ValueError, match=r"x\.csv: unknown suffix"):
        read_sleap(csv)
    with pytest.raises(FileNotFoundError, match="nope.slp"):
        read_sleap(tmp_path / "nope.slp")


def test_duplicate_track_in_a_frame_is_an_error(tmp_path):
    labels, _ = make_labels(n_frames=2, skip=())
    lf = labels.labeled_frames[0]
    lf.instances.append(sio.PredictedInstance.from_numpy(
        np.zeros((3, 2)), skeleton=labels.skeletons[0], point_scores=np.ones(3), score=0.1,
        track=labels.tracks[1]))
    path = tmp_path / "dup.slp"
    sio.save_slp(labels, str(path))
    with pytest.raises(ValueError, match=r"frame 0 has two predicted instances on track 'mouse1'"):
        read_sleap(path)
