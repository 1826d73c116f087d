"""read_calms21 on files in the CalMS21 release layout (.json and np.save'd .npy).

The files are written the way the benchmark ships them ({annotator: {task/split/
sequence: {keypoints (frames, mice, 2, 7), scores, annotations, metadata.vocab}}})
and read back: tracks equal the row-by-row reference, annotations become labels
of the resident (id 0) by class name, the labels ingest with moveo.labels, and
unlabelled, malformed, truncated and other tools' files fail clearly.
"""

import json

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.io import read_calms21
from moveo.io.calms21 import CALMS21_KEYPOINTS
from moveo.labels import add_labels, read_labels
from reference.io import long_rows

VOCAB = {"attack": 0, "investigation": 1, "mount": 2, "other": 3}


def sequence(n_frames, seed, *, annotations=True):
    rng = np.random.default_rng(seed)
    kp = rng.uniform(0, 1000, size=(n_frames, 2, 2, 7))
    kp[min(3, n_frames - 1), 1, :, 2:] = np.nan  # intruder partly lost in frame 3
    seq = {
        "keypoints": kp.tolist(),
        "scores": rng.uniform(0, 1, size=(n_frames, 2, 7)).tolist(),
        "metadata": {"vocab": VOCAB},
    }
    if annotations:
        seq["annotations"] = rng.integers(0, 4, size=n_frames).tolist()
    return seq


def calms_dict():
    return {"annotator-id_0": {
        "task1/train/mouse001_task1_annotator1": sequence(12, 0),
        "task1/train/mouse002_task1_annotator1": sequence(7, 1),
    }}


def test_json_matches_reference_and_labels(tmp_path):
    data = calms_dict()
    path = tmp_path / "calms21_task1_train.json"
    path.write_text(json.dumps(data))
    tracks, labels, info = read_calms21(path, return_info=True)
    assert set(tracks["group"]) == {"annotator-id_0"}
    assert tracks["sequence"].unique().sort().to_list() == ["mouse001_task1_annotator1",
                                                            "mouse002_task1_annotator1"]
    seq = data["annotator-id_0"]["task1/train/mouse001_task1_annotator1"]
    kp, sc = np.asarray(seq["keypoints"]), np.asarray(seq["scores"])
    expected = long_rows(
        range(12), ["resident", "intruder"], list(CALMS21_KEYPOINTS),
        lambda i, f, k: (kp[f, i, 0, k], kp[f, i, 1, k], sc[f, i, k]),
        group="annotator-id_0", sequence="mouse001_task1_annotator1",
    )
    got = tracks.filter(pl.col("sequence") == "mouse001_task1_annotator1")
    assert got.equals(expected)
    inverse = {v: k for k, v in VOCAB.items()}
    one = labels.filter(pl.col("sequence") == "mouse001_task1_annotator1")
    assert one.columns == ["group", "sequence", "id", "frame", "label"]
    assert one["id"].unique().to_list() == [0] and one["frame"].to_list() == list(range(12))
    assert one["label"].to_list() == [inverse[a] for a in seq["annotations"]]
    assert labels.height == 19
    assert info.fps == 30.0 and info.pose.keypoint_names == list(CALMS21_KEYPOINTS)
    assert info.individuals == {0: "resident", 1: "intruder"}
    assert info.extra["vocab"]["annotator-id_0/mouse002_task1_annotator1"] == VOCAB


def test_npy_equals_json(tmp_path):
    data = calms_dict()
    js = tmp_path / "c.json"
    js.write_text(json.dumps(data))
    npy = tmp_path / "c.npy"
    arrays = {g: {k: {**v, "keypoints": np.asarray(v["keypoints"]),
                      "scores": np.asarray(v["scores"]),
                      "annotations": np.asarray(v["annotations"])}
                  for k, v in seqs.items()} for g, seqs in data.items()}
    np.save(npy, arrays, allow_pickle=True)
    t1, l1 = read_calms21(js)
    t2, l2 = read_calms21(npy)
    assert t1.equals(t2) and l1.equals(l2)


def test_ingest_tracks_and_labels_then_read_back(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(calms_dict()))
    tracks, labels, info = read_calms21(path, return_info=True)
    ds = Dataset.create(tmp_path / "ds", fps=info.fps, pose=info.pose)
    ds.add_tracks(tracks)
    add_labels(ds, "behavior", labels)
    back = read_labels(ds, "behavior", "annotator-id_0", "mouse002_task1_annotator1")
    assert back["label"].to_list() == labels.filter(
        pl.col("sequence") == "mouse002_task1_annotator1")["label"].to_list()


def test_unlabelled_and_flat_files(tmp_path):
    flat = {"mouse_unlabelled_1": sequence(5, 2, annotations=False)}
    path = tmp_path / "unlabeled_videos.json"
    path.write_text(json.dumps(flat))
    tracks, labels = read_calms21(path, group="unlabelled")
    assert set(tracks["group"]) == {"unlabelled"} and tracks.height == 10
    assert labels.height == 0 and labels.columns == ["group", "sequence", "id", "frame", "label"]


def test_without_vocab_labels_are_indices(tmp_path):
    seq = sequence(4, 3)
    del seq["metadata"]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"a": {"s": seq}}))
    _, labels = read_calms21(path)
    assert labels.schema["label"] == pl.Int64 and labels["label"].to_list() == seq["annotations"]


def test_bad_files(tmp_path):
    text = json.dumps(calms_dict())
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match=r"cut\.json: not valid JSON.*truncated"):
        read_calms21(cut)
    wrong = tmp_path / "w.json"
    wrong.write_text(json.dumps({"a": {"s": {"keypoints": np.zeros((3, 2, 7)).tolist()}}}))
    with pytest.raises(ValueError,
                       match=r"w\.json: sequence 's': 'keypoints' has shape \(3, 2, 7\)"):
        read_calms21(wrong)
    ann = tmp_path / "ann.json"
    seq = sequence(4, 0)
    seq["annotations"] = [0, 1]
    ann.write_text(json.dumps({"a": {"s": seq}}))
    with pytest.raises(ValueError, match=r"'annotations' has shape \(2,\); expected \(4,\)"):
        read_calms21(ann)
    vocab = tmp_path / "vocab.json"
    seq = sequence(4, 0)
    seq["annotations"] = [0, 1, 9, 1]
    vocab.write_text(json.dumps({"a": {"s": seq}}))
    with pytest.raises(ValueError, match=r"annotation classes \[9\] are not in the vocabulary"):
        read_calms21(vocab)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"trajectories": [[1, 2]]}))
    with pytest.raises(ValueError, match=r"other\.json: no sequences with 'keypoints'.*"
                                         r"read_idtracker"):
        read_calms21(other)
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps({"a": {"x/s": sequence(2, 0), "y/s": sequence(2, 1)}}))
    with pytest.raises(ValueError, match=r"both become entry \('a', 's'\)"):
        read_calms21(dup)
    p = tmp_path / "x.csv"
    p.write_text("a")
    with pytest.raises(ValueError, match=r"\.csv'; a CalMS21"):
        read_calms21(p)
