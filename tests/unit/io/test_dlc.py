"""read_dlc on files written the way DeepLabCut writes them (pandas + PyTables).

DeepLabCut keeps predictions in a pandas DataFrame whose columns are a
MultiIndex scorer/[individuals/]bodyparts/coords and saves it with
``df.to_hdf(path, key="df_with_missing", format="table")`` and ``df.to_csv``.
These tests write files exactly so, and prove that the ``.h5`` and ``.csv`` of
the same data read to the same table, equal to the row-by-row reference, for
single- and multi-animal files, unique body parts (missing nodes), NaN gaps,
the likelihood threshold, labelled-data (image path) indices, and that corrupt,
truncated and other tools' files fail with a clear error naming the file.
"""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moveo import Dataset
from moveo.io import SourceInfo, dlc_pose_config, read_dlc, read_dlc_csv
from reference.io import dlc_long

pd = pytest.importorskip("pandas")
pytest.importorskip("tables")

SCORER = "DLC_resnet50_openfieldOct30shuffle1_100000"


def dlc_frame(n, individuals, bodyparts, *, seed=0, unique=(), gaps=True):
    rng = np.random.default_rng(seed)
    cols = []
    if individuals is None:
        cols = [(SCORER, bp, co) for bp in bodyparts for co in ("x", "y", "likelihood")]
        names = ["scorer", "bodyparts", "coords"]
    else:
        cols = [(SCORER, ind, bp, co) for ind in individuals for bp in bodyparts
                for co in ("x", "y", "likelihood")]
        cols += [(SCORER, "single", bp, co) for bp in unique for co in ("x", "y", "likelihood")]
        names = ["scorer", "individuals", "bodyparts", "coords"]
    values = rng.uniform(0, 640, size=(n, len(cols)))
    for j, col in enumerate(cols):
        if col[-1] == "likelihood":
            values[:, j] = rng.uniform(0, 1, size=n)
    df = pd.DataFrame(values, columns=pd.MultiIndex.from_tuples(cols, names=names))
    if gaps:
        df.iloc[2, :6] = np.nan  # first body parts of the first individual lost in frame 2
        df.iloc[n - 1, :] = np.nan  # nothing found in the last frame
    return df


def write_dlc(df, folder, stem):
    folder.mkdir(parents=True, exist_ok=True)
    h5 = folder / f"{stem}{SCORER}.h5"
    df.to_hdf(h5, key="df_with_missing", format="table", mode="w")
    csv = folder / f"{stem}{SCORER}.csv"
    df.to_csv(csv)
    return h5, csv


def test_multi_animal_h5_and_csv_match_reference(tmp_path):
    df = dlc_frame(8, ["mouse1", "mouse2"], ["snout", "leftear", "tailbase"])
    h5, csv = write_dlc(df, tmp_path / "arena", "trial1")
    from_h5 = read_dlc(h5)
    from_csv = read_dlc(csv)
    assert from_h5.equals(from_csv)
    expected = dlc_long(df, group="arena", sequence="trial1")
    assert from_h5.columns == expected.columns
    assert from_h5.equals(expected)
    assert from_h5["individual"].unique(maintain_order=True).to_list() == ["mouse1", "mouse2"]
    # frame 2 of mouse1: snout and leftear lost -> centroid is the tail base alone
    row = from_h5.filter((pl.col("id") == 0) & (pl.col("frame") == 2))
    assert np.isnan(row["poseX0"][0]) and row["X"][0] == row["poseX2"][0]
    assert from_h5.filter(pl.col("frame") == 7)["X"].is_nan().all()


def test_single_animal_h5(tmp_path):
    df = dlc_frame(5, None, ["nose", "tail"], seed=3)
    h5, csv = write_dlc(df, tmp_path / "g", "clip")
    table, info = read_dlc(h5, return_info=True)
    assert table.equals(dlc_long(df, group="g", sequence="clip"))
    assert table.equals(read_dlc(csv))
    assert isinstance(info, SourceInfo)
    assert info.source_software == "DeepLabCut" and info.fps is None
    assert info.pose.keypoint_names == ["nose", "tail"]
    assert info.individuals == {0: "animal0"} and info.extra["scorer"] == SCORER
    assert info.extra["multi_animal"] is False
    assert dlc_pose_config(h5) == dlc_pose_config(csv) == info.pose


def test_unique_bodyparts_are_missing_nodes_of_the_others(tmp_path):
    # maDLC puts "unique" body parts under the individual "single"
    df = dlc_frame(4, ["a", "b"], ["head", "tail"], unique=["arena_corner"], gaps=False)
    h5, _ = write_dlc(df, tmp_path / "g", "s")
    table, info = read_dlc(h5, return_info=True)
    assert info.pose.keypoint_names == ["head", "tail", "arena_corner"]
    assert table["individual"].unique(maintain_order=True).to_list() == ["a", "b", "single"]
    a = table.filter(pl.col("individual") == "a")
    single = table.filter(pl.col("individual") == "single")
    assert a["poseX2"].is_nan().all() and a["poseP2"].is_nan().all()
    assert single["poseX0"].is_nan().all() and not single["poseX2"].is_nan().any()
    assert single["X"].to_list() == single["poseX2"].to_list()
    assert table.equals(dlc_long(df, group="g", sequence="s"))


def test_likelihood_threshold_matches_reference(tmp_path):
    df = dlc_frame(10, ["m1", "m2"], ["nose", "tail"], seed=5)
    h5, _ = write_dlc(df, tmp_path / "g", "s")
    table = read_dlc(h5, likelihood_threshold=0.5)
    assert table.equals(dlc_long(df, group="g", sequence="s", likelihood_threshold=0.5))
    low = table.filter(pl.col("poseP0") < 0.5)
    assert low.height > 0 and low["poseX0"].is_nan().all()


def test_labelled_data_index_of_image_paths(tmp_path):
    df = dlc_frame(3, None, ["nose"], gaps=False)
    df.index = pd.MultiIndex.from_tuples(
        [("labeled-data", "vid1", f"img{i:03d}.png") for i in (5, 9, 12)]
    )
    path = tmp_path / "g" / "CollectedData_me.h5"
    path.parent.mkdir()
    df.to_hdf(path, key="keypoints", mode="w")  # labelled data: fixed format, key "keypoints"
    table, info = read_dlc(path, return_info=True, sequence="vid1")
    assert table["frame"].to_list() == [0, 1, 2]
    assert info.extra["image_paths"][0] == "labeled-data/vid1/img005.png"


def test_ingest_roundtrip(tmp_path):
    df = dlc_frame(6, ["m1", "m2"], ["nose", "tail"])
    h5, _ = write_dlc(df, tmp_path / "g", "s")
    table, info = read_dlc(h5, return_info=True)
    ds = Dataset.create(tmp_path / "ds", fps=30.0, pose=info.pose)
    ds.add_tracks(table)
    back = ds.read("g", "s")
    assert back.select(table.columns).equals(table)


def test_alias_and_group_sequence_override(tmp_path):
    df = dlc_frame(3, ["m1"], ["nose"])
    h5, _ = write_dlc(df, tmp_path / "g", "s")
    assert read_dlc_csv is read_dlc
    t = read_dlc_csv(h5, group="G", sequence="S")
    assert set(t["group"]) == {"G"} and set(t["sequence"]) == {"S"}


def test_truncated_and_corrupt_h5(tmp_path):
    df = dlc_frame(200, ["m1", "m2"], ["nose", "tail"])
    h5, _ = write_dlc(df, tmp_path / "g", "s")
    raw = h5.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut\.h5: truncated or corrupt HDF5"):
        read_dlc(cut)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(ValueError, match=r"garbage\.h5: not an HDF5 file"):
        read_dlc(garbage)
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.h5: the file is empty"):
        read_dlc(empty)
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        read_dlc(tmp_path / "missing.h5")


def test_other_tools_files(tmp_path):
    h5py = pytest.importorskip("h5py")
    sleap = tmp_path / "x.analysis.h5"
    with h5py.File(sleap, "w") as f:
        f.create_dataset("tracks", data=np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match=r"x\.analysis\.h5: .*not a DeepLabCut .h5.*read_sleap"):
        read_dlc(sleap)
    other = tmp_path / "other.h5"
    pd.DataFrame({"a": [1.0, 2.0]}).to_hdf(other, key="data", format="table")
    with pytest.raises(ValueError, match=r"other\.h5: not a DeepLabCut .h5 \(column levels"):
        read_dlc(other)
    wrong_suffix = tmp_path / "x.json"
    wrong_suffix.write_text("{}")
    with pytest.raises(ValueError, match=r"x\.json: unknown suffix"):
        read_dlc(wrong_suffix)


def test_truncated_csv(tmp_path):
    df = dlc_frame(4, ["m1"], ["nose", "tail"], gaps=False)
    _, csv = write_dlc(df, tmp_path / "g", "s")
    text = csv.read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(text[:-1]) + "\n" + text[-1][: len(text[-1]) // 2] + "\n")
    with pytest.raises(ValueError, match=r"cut\.csv: data rows"):
        read_dlc(cut)


@settings(max_examples=25)
@given(
    n=st.integers(1, 12),
    n_ind=st.integers(1, 3),
    n_bp=st.integers(1, 4),
    nan_seed=st.integers(0, 2**16),
    nan_rate=st.sampled_from([0.0, 0.3, 1.0]),
    threshold=st.sampled_from([None, 0.5]),
)
def test_any_shape_and_nan_pattern_matches_reference(n, n_ind, n_bp, nan_seed, nan_rate,
                                                      threshold):
    import tempfile
    from pathlib import Path

    individuals = [f"m{i}" for i in range(n_ind)] if n_ind > 1 else None
    df = dlc_frame(n, individuals, [f"bp{k}" for k in range(n_bp)], seed=nan_seed, gaps=False)
    mask = np.random.default_rng(nan_seed).uniform(size=df.shape) < nan_rate
    df = df.mask(mask)
    with tempfile.TemporaryDirectory() as tmp:
        h5, csv = write_dlc(df, Path(tmp) / "g", "s")
        expected = dlc_long(df, group="g", sequence="s", likelihood_threshold=threshold)
        for path in (h5, csv):
            got = read_dlc(path, likelihood_threshold=threshold)
            assert got.equals(expected), path.suffix
