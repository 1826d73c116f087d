"""The TRex, DeepLabCut csv and generic table readers give the canonical tracks table, and bad
files are named.
"""

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.io import dlc_pose_config, read_dlc_csv, read_table, read_trex, trex_metadata


def _write_trex(folder, ident, n=6, *, pose=True, start=10, drop=()):
    folder.mkdir(parents=True, exist_ok=True)
    frame = np.arange(start, start + n, dtype=np.float64)
    arrays = {
        "X#wcentroid": np.linspace(0, 5, n) + ident,
        "Y#wcentroid": np.linspace(1, 2, n),
        "ANGLE": np.linspace(-1, 1, n),
        "frame": frame,
        "time": frame / 25.0,
        "missing": np.zeros(n, dtype=bool),
        "cm_per_pixel": np.array([0.1]),
        "frame_rate": np.array([25.0]),
    }
    arrays["X#wcentroid"][1] = np.inf  # TRex writes inf for lost positions
    arrays["missing"][3] = True
    if pose:
        for k in range(3):
            arrays[f"poseX{k}"] = arrays["X#wcentroid"] + k
            arrays[f"poseY{k}"] = arrays["Y#wcentroid"] - k
    for key in drop:
        arrays.pop(key)
    np.savez(folder / f"trial_fish{ident}.npz", **arrays)
    return arrays


def test_trex_folder_reads_canonical_table(tmp_path):
    src = {i: _write_trex(tmp_path / "arena1", i) for i in (0, 2)}
    df = read_trex(tmp_path / "arena1")
    assert df.columns[:4] == ["group", "sequence", "id", "frame"]
    assert set(df["group"]) == {"arena1"} and set(df["sequence"]) == {"trial"}
    assert df["id"].unique().sort().to_list() == [0, 2]
    one = df.filter(pl.col("id") == 2)
    expected_x = src[2]["X#wcentroid"].copy()
    expected_x[1] = np.nan  # inf -> NaN
    expected_x[3] = np.nan  # missing -> NaN
    np.testing.assert_array_equal(one["X"].to_numpy(), expected_x)
    assert np.isnan(one["poseX1"][3]) and one["poseX1"][0] == src[2]["poseX1"][0]
    assert one["frame"].to_list() == list(range(10, 16))
    np.testing.assert_allclose(one["time"].to_numpy(), src[2]["time"])  # time kept when missing
    meta = trex_metadata(tmp_path / "arena1")
    assert meta == {"frame_rate": 25.0, "cm_per_pixel": pytest.approx(0.1)}


def test_trex_ingest_roundtrip(tmp_path):
    _write_trex(tmp_path / "arena1", 0)
    _write_trex(tmp_path / "arena1", 1)
    df = read_trex(tmp_path / "arena1", group="G", sequence="S")
    ds = Dataset.create(tmp_path / "ds", fps=25.0)
    ds.add_tracks(df)
    back = ds.read("G", "S")
    assert back.select(df.columns).equals(df)


def test_trex_plain_x_preferred_and_single_file(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    np.savez(folder / "fish7.npz", X=np.array([1.0, 2.0]), Y=np.array([0.0, 0.0]),
             frame=np.array([0, 1]))
    df = read_trex(folder / "fish7.npz")
    assert df["id"].to_list() == [7, 7] and df["X"].to_list() == [1.0, 2.0]
    assert df["sequence"][0] == "f"  # no prefix: the folder names the sequence


def test_trex_without_frame_is_an_error(tmp_path):
    _write_trex(tmp_path / "a", 0, drop=("frame",))
    with pytest.raises(ValueError, match=r"trial_fish0.npz: no frame information"):
        read_trex(tmp_path / "a")


def test_trex_empty_file_and_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .npz files"):
        read_trex(tmp_path / "empty")
    np.savez(tmp_path / "empty" / "fish0.npz")
    with pytest.raises(ValueError, match=r"fish0.npz: the file is empty"):
        read_trex(tmp_path / "empty")
    np.savez(tmp_path / "empty" / "fish0.npz", frame=np.array([]), X=np.array([]), Y=np.array([]))
    with pytest.raises(ValueError, match="empty"):
        read_trex(tmp_path / "empty")


def test_trex_length_mismatch(tmp_path):
    (tmp_path / "a").mkdir()
    np.savez(tmp_path / "a" / "fish0.npz", frame=np.arange(3), X=np.zeros(2), Y=np.zeros(3))
    with pytest.raises(ValueError, match="'X' has 2 rows but 'frame' has 3"):
        read_trex(tmp_path / "a")


MULTI = """scorer,DLC,DLC,DLC,DLC,DLC,DLC,DLC,DLC,DLC,DLC,DLC,DLC
individuals,mouse1,mouse1,mouse1,mouse1,mouse1,mouse1,mouse2,mouse2,mouse2,mouse2,mouse2,mouse2
bodyparts,nose,nose,nose,tail,tail,tail,nose,nose,nose,tail,tail,tail
coords,x,y,likelihood,x,y,likelihood,x,y,likelihood,x,y,likelihood
0,1.0,2.0,0.9,3.0,4.0,0.95,10.0,10.0,0.9,12.0,14.0,0.2
1,1.5,2.5,0.9,3.5,4.5,0.95,,,,12.5,14.5,0.9
"""

SINGLE = """scorer,DLC,DLC,DLC,DLC,DLC,DLC
bodyparts,nose,nose,nose,tail,tail,tail
coords,x,y,likelihood,x,y,likelihood
0,1.0,2.0,0.9,3.0,4.0,0.95
1,2.0,2.0,0.9,4.0,4.0,0.95
"""


def test_dlc_multi_animal(tmp_path):
    path = tmp_path / "videoDLC_resnet50.csv"
    path.write_text(MULTI)
    df = read_dlc_csv(path)
    assert df["sequence"][0] == "video" and df["group"][0] == tmp_path.name
    assert df["id"].to_list() == [0, 0, 1, 1]
    assert df["individual"].to_list() == ["mouse1", "mouse1", "mouse2", "mouse2"]
    m1 = df.filter(pl.col("id") == 0)
    assert m1["poseX0"].to_list() == [1.0, 1.5] and m1["poseY1"].to_list() == [4.0, 4.5]
    assert m1["X"].to_list() == [2.0, 2.5] and m1["Y"].to_list() == [3.0, 3.5]
    m2 = df.filter(pl.col("id") == 1)
    assert np.isnan(m2["poseX0"][1]) and m2["X"][1] == 12.5  # centroid of finite keypoints
    cfg = dlc_pose_config(path)
    assert cfg.pose_n == 2 and cfg.keypoint_names == ["nose", "tail"]
    thresholded = read_dlc_csv(path, likelihood_threshold=0.5)
    assert np.isnan(thresholded.filter(pl.col("id") == 1)["poseX1"][0])


def test_dlc_single_animal_ingest_roundtrip(tmp_path):
    path = tmp_path / "clip.csv"
    path.write_text(SINGLE)
    df = read_dlc_csv(path, group="g", sequence="s")
    ds = Dataset.create(tmp_path / "ds", fps=30.0, pose=dlc_pose_config(path))
    ds.add_tracks(df)
    back = ds.read("g", "s")
    assert back.select(df.columns).equals(df)
    assert ds.pose.keypoint_names == ["nose", "tail"]


def test_dlc_bad_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_dlc_csv(empty)
    notdlc = tmp_path / "x.csv"
    notdlc.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a DeepLabCut CSV"):
        read_dlc_csv(notdlc)
    header_only = tmp_path / "h.csv"
    header_only.write_text("\n".join(SINGLE.splitlines()[:3]) + "\n")
    with pytest.raises(ValueError, match="no data rows"):
        read_dlc_csv(header_only)
    text = tmp_path / "t.csv"
    text.write_text(SINGLE.replace("1.0,2.0,0.9", "abc,2.0,0.9"))
    with pytest.raises(ValueError, match="non-numeric"):
        read_dlc_csv(text)


def test_read_table_mapping(tmp_path):
    path = tmp_path / "t.csv"
    pl.DataFrame({"track": [0, 0], "f": [0, 1], "px": [1.0, 2.0], "py": [3.0, 4.0]}).write_csv(path)
    df = read_table(path, {"track": "id", "f": "frame", "px": "X", "py": "Y"}, group="g",
                    sequence="s")
    assert df.columns == ["id", "frame", "X", "Y", "group", "sequence"]
    ds = Dataset.create(tmp_path / "ds")
    ds.add_tracks(df)
    assert ds.read("g", "s")["X"].to_list() == [1.0, 2.0]
    pq = tmp_path / "t.parquet"
    df.write_parquet(pq)
    assert read_table(pq).equals(df)
    with pytest.raises(ValueError, match=r"mapping names column\(s\) \['nope'\]"):
        read_table(path, {"nope": "id"})
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_table(tmp_path / "t.parquet", format="xlsx")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_table(tmp_path / "e.csv")
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.csv")
