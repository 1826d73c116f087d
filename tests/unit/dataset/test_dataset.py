"""The on-disk Dataset: layout, manifest, ingest validation and sorting, scoped reads,
fingerprints, atomic writes.
"""

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo import Dataset
from moveo.dataset import atomic_write_parquet, sweep_temp_files
from moveo.schema import Columns, PoseConfig


def _tracks(**overrides):
    data = {
        "group": ["g1"] * 4,
        "sequence": ["s1", "s1", "s1", "s2"],
        "id": [1, 0, 0, 0],
        "frame": [0, 1, 0, 0],
        "X": [0.0, 1.0, 2.0, 3.0],
        "Y": [0.0, 0.0, 5.0, 6.0],
    }
    data.update(overrides)
    return pl.DataFrame(data)


def _snapshot(ds):
    return {p.relative_to(ds.root): p.read_bytes() for p in ds.root.rglob("*") if p.is_file()}


def test_create_layout_and_manifest(tmp_path):
    ds = Dataset.create(tmp_path / "ds", fps=25.0)
    for sub in ("tracks", "features", "models", "labels", ".moveo"):
        assert (ds.root / sub).is_dir()
    manifest = json.loads((ds.root / "dataset.json").read_text())
    assert manifest["fps"] == 25.0
    assert manifest["columns"]["x_col"] == "X"
    assert manifest["kind"] == "tracks"
    reopened = Dataset.open(tmp_path / "ds")
    assert reopened.fps == 25.0
    assert reopened.entries() == []


def test_create_refuses_existing_and_nonempty(tmp_path):
    Dataset.create(tmp_path / "ds")
    with pytest.raises(FileExistsError, match="already exists"):
        Dataset.create(tmp_path / "ds")
    assert Dataset.create(tmp_path / "ds", exist_ok=True).root == tmp_path / "ds"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("x")
    with pytest.raises(FileExistsError, match="non-empty folder"):
        Dataset.create(tmp_path / "other")


def test_open_missing_and_newer_schema(tmp_path):
    with pytest.raises(FileNotFoundError, match="Dataset.create"):
        Dataset.open(tmp_path / "nope")
    ds = Dataset.create(tmp_path / "ds")
    manifest = json.loads((ds.root / "dataset.json").read_text())
    manifest["schema_version"] = 99
    (ds.root / "dataset.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="upgrade moveo"):
        Dataset.open(ds.root)


@pytest.mark.parametrize("fps", [0.0, -1.0, float("nan")])
def test_bad_fps(tmp_path, fps):
    with pytest.raises(ValueError, match="fps must be a positive"):
        Dataset.create(tmp_path / "ds", fps=fps)


def test_add_tracks_splits_and_sorts(tmp_dataset):
    written = tmp_dataset.add_tracks(_tracks())
    assert written == [("g1", "s1"), ("g1", "s2")]
    assert tmp_dataset.entries() == [("g1", "s1"), ("g1", "s2")]
    df = tmp_dataset.read("g1", "s1")
    assert df.columns[:4] == ["group", "sequence", "id", "frame"]
    assert df["id"].to_list() == [0, 0, 1]
    assert df["frame"].to_list() == [0, 1, 0]
    assert df["X"].to_list() == [2.0, 1.0, 0.0]
    assert df.schema["id"] == pl.Int64 and df.schema["X"] == pl.Float64


@pytest.mark.parametrize(
    "convert",
    [lambda df: df.to_pandas(), lambda df: df.to_arrow(), lambda df: df.to_dict(as_series=False)],
    ids=["pandas", "arrow", "dict"],
)
def test_add_tracks_accepts_pandas_arrow_dict(tmp_dataset, convert):
    tmp_dataset.add_tracks(convert(_tracks()))
    assert tmp_dataset.read("g1", "s1").height == 3


def test_add_tracks_with_group_sequence_arguments(tmp_dataset):
    df = _tracks().drop("group", "sequence").with_columns(pl.Series("frame", [0, 1, 2, 3]))
    tmp_dataset.add_tracks(df, group="arena", sequence="day1")
    assert tmp_dataset.entries() == [("arena", "day1")]
    with pytest.raises(ValueError, match="also given"):
        tmp_dataset.add_tracks(_tracks(), group="x")
    with pytest.raises(ValueError, match="no 'group' column"):
        tmp_dataset.add_tracks(df)


def test_read_projection_and_filters(tmp_dataset):
    df = pl.DataFrame(
        {"id": [0] * 10, "frame": list(range(10)), "time": [f / 10 for f in range(10)],
         "X": np.arange(10.0), "Y": np.zeros(10)}
    )
    tmp_dataset.add_tracks(df, group="g", sequence="s")
    part = tmp_dataset.read("g", "s", columns=["frame", "X"], start_frame=2, end_frame=5)
    assert part.columns == ["frame", "X"]
    assert part["frame"].to_list() == [2, 3, 4]
    timed = tmp_dataset.read("g", "s", columns=["frame"], start_time=0.25, end_time=0.55)
    assert timed["frame"].to_list() == [3, 4, 5]
    with pytest.raises(ValueError, match="no column"):
        tmp_dataset.read("g", "s", columns=["nope"])
    with pytest.raises(KeyError, match="no entry"):
        tmp_dataset.read("g", "missing")
    assert tmp_dataset.scan("g", "s").select("X").collect().height == 10


def test_time_filter_uses_fps_without_time_column(tmp_dataset):
    tmp_dataset.add_tracks(_tracks().with_columns(pl.Series("frame", [0, 30, 60, 90])))
    df = tmp_dataset.read("g1", "s1", start_time=0.5, end_time=1.5)  # frames 15..45 at 30 fps
    assert df["frame"].to_list() == [30]


def test_iter_entries_scope(tmp_dataset):
    tmp_dataset.add_tracks(_tracks())
    got = [(g, s, df.height) for g, s, df in tmp_dataset.iter_entries(sequences=["s2"])]
    assert got == [("g1", "s2", 1)]
    assert [k[:2] for k in tmp_dataset.iter_entries(groups="g1")] == [("g1", "s1"), ("g1", "s2")]
    assert list(tmp_dataset.iter_entries(groups=["none"])) == []


def test_duplicate_rows_name_entry_and_first_duplicate(tmp_dataset):
    bad = _tracks(id=[0, 0, 0, 0], frame=[3, 1, 3, 0])
    with pytest.raises(ValueError, match=r"sequence='s1'.*first duplicate id=0, frame=3"):
        tmp_dataset.add_tracks(bad)
    assert tmp_dataset.entries() == []


def test_unsorted_rows_error_without_sort(tmp_dataset):
    with pytest.raises(ValueError, match=r"not sorted by \(id, frame\).*sort=True"):
        tmp_dataset.add_tracks(_tracks(), sort=False)


def test_missing_column_and_wrong_dtypes(tmp_dataset):
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['Y'\]"):
        tmp_dataset.add_tracks(_tracks().drop("Y"))
    with pytest.raises(TypeError, match="column 'X' must be numeric"):
        tmp_dataset.add_tracks(_tracks(X=["a", "b", "c", "d"]))
    with pytest.raises(TypeError, match="column 'id' must be integer"):
        tmp_dataset.add_tracks(_tracks(id=["a", "b", "a", "a"]))
    with pytest.raises(TypeError, match="whole frame numbers"):
        tmp_dataset.add_tracks(_tracks(frame=[0.5, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="empty"):
        tmp_dataset.add_tracks(_tracks().head(0))


def test_integral_float_frames_and_null_floats(tmp_dataset):
    tmp_dataset.add_tracks(_tracks(frame=[0.0, 1.0, 0.0, 0.0], X=[None, 1.0, 2.0, 3.0]))
    df = tmp_dataset.read("g1", "s1")
    assert df.schema["frame"] == pl.Int64
    assert np.isnan(df.filter(pl.col("id") == 1)["X"][0])


@pytest.mark.parametrize("name", ["a/b", "..", "x\x00y", "tab\there", ".hidden", " "])
def test_unsafe_names_rejected(tmp_dataset, name):
    with pytest.raises(ValueError, match="unsafe"):
        tmp_dataset.add_tracks(_tracks(group=[name] * 4))
    assert tmp_dataset.entries() == []


def test_failed_ingest_leaves_dataset_untouched(tmp_dataset):
    tmp_dataset.add_tracks(_tracks())
    before = _snapshot(tmp_dataset)
    bad = pl.concat([
        _tracks(group=["g2"] * 4),  # valid new entries ...
        _tracks(group=["g3"] * 4, id=[0, 0, 0, 0], frame=[1, 1, 0, 0]),  # ... and a broken one
    ])
    with pytest.raises(ValueError, match="duplicate"):
        tmp_dataset.add_tracks(bad)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        tmp_dataset.add_tracks(_tracks(X=[9.0, 9.0, 9.0, 9.0]))
    assert _snapshot(tmp_dataset) == before
    tmp_dataset.add_tracks(_tracks(X=[9.0, 9.0, 9.0, 9.0]), overwrite=True)
    assert tmp_dataset.read("g1", "s1")["X"].to_list() == [9.0, 9.0, 9.0]


def test_fingerprint_tracks_content(tmp_dataset):
    tmp_dataset.add_tracks(_tracks())
    fp = tmp_dataset.fingerprint("g1", "s1")
    assert fp == tmp_dataset.fingerprint("g1", "s1")
    tmp_dataset.add_tracks(_tracks(X=[5.0, 5.0, 5.0, 5.0]), overwrite=True)
    assert tmp_dataset.fingerprint("g1", "s1") != fp
    # a file replaced behind moveo's back gets a new fingerprint too
    path = tmp_dataset.entry_path("g1", "s1")
    fp2 = tmp_dataset.fingerprint("g1", "s1")
    pl.read_parquet(path).with_columns(pl.col("X") + 1).write_parquet(path)
    assert tmp_dataset.fingerprint("g1", "s1") != fp2


def test_custom_columns(tmp_path):
    cols = Columns(id_col="animal", frame_col="f", x_col="x", y_col="y")
    ds = Dataset.create(tmp_path / "ds", columns=cols, pose=PoseConfig(pose_n=3))
    df = pl.DataFrame({"group": "g", "sequence": "s", "animal": [2, 1], "f": [0, 0],
                       "x": [1.0, 2.0], "y": [0.0, 0.0]})
    ds.add_tracks(df)
    again = Dataset.open(ds.root)
    assert again.columns.id_col == "animal" and again.pose.pose_n == 3
    assert again.read("g", "s")["animal"].to_list() == [1, 2]


def test_emg_kind_needs_no_positions(tmp_path):
    ds = Dataset.create(tmp_path / "emg", fps=2000.0, kind="emg")
    sig = pl.DataFrame({"id": [0] * 4, "frame": [0, 1, 2, 3], "time": [0.0, 0.0005, 0.001, 0.0015],
                        "ch0": pl.Series([0.1, 0.2, 0.3, 0.4], dtype=pl.Float32)})
    ds.add_tracks(sig, group="subject1", sequence="session1")
    out = ds.read("subject1", "session1")
    assert out.schema["ch0"] == pl.Float32
    assert ds.kind == "emg"


def test_verify_and_meta(tmp_dataset):
    tmp_dataset.add_tracks(_tracks())
    assert tmp_dataset.verify() == []
    path = tmp_dataset.entry_path("g1", "s1")
    pl.read_parquet(path).reverse().write_parquet(path)
    assert "not strictly sorted" in tmp_dataset.verify()[0]
    tmp_dataset.update_meta(lab="fish")
    assert Dataset.open(tmp_dataset.root).meta == {"lab": "fish"}


def test_atomic_write_and_sweep(tmp_path):
    target = tmp_path / "a" / "x.parquet"
    atomic_write_parquet(pl.DataFrame({"a": [1, 2]}), target)
    assert pl.read_parquet(target)["a"].to_list() == [1, 2]
    leftover = target.with_name(".x.parquet.tmp-deadbeef")
    leftover.write_bytes(b"partial")
    assert sweep_temp_files(tmp_path) == [leftover]
    assert target.exists() and not leftover.exists()
    # a failing write leaves no temp file and keeps the old content
    with pytest.raises(ValueError, match="compression"):
        atomic_write_parquet(pl.DataFrame({"a": [3]}), target, compression="no-such-codec")
    assert sweep_temp_files(tmp_path) == []
    assert pl.read_parquet(target)["a"].to_list() == [1, 2]


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(-5, 30)), min_size=1, max_size=40, unique=True
    )
)
def test_roundtrip_property(tmp_path_factory, rows):
    ds = Dataset.create(tmp_path_factory.mktemp("p") / "ds")
    ids, frames = zip(*rows, strict=True)
    df = pl.DataFrame({"id": list(ids), "frame": list(frames), "X": [float(f) for f in frames],
                       "Y": [float(i) for i in ids]})
    ds.add_tracks(df, group="g", sequence="s")
    back = ds.read("g", "s", columns=["id", "frame", "X", "Y"])
    expected = df.sort(["id", "frame"])
    assert back.to_dicts() == expected.to_dicts()


def test_pandas_roundtrip_preserves_values(tmp_dataset):
    pdf = pd.DataFrame({"group": "g", "sequence": "s", "id": [0, 0], "frame": [0, 1],
                        "X": [1.5, np.nan], "Y": [2.0, 3.0]})
    tmp_dataset.add_tracks(pdf)
    out = tmp_dataset.read("g", "s")
    np.testing.assert_array_equal(out["X"].to_numpy(), pdf["X"].to_numpy())
    assert isinstance(pa.table({"a": [1]}), pa.Table)


def test_relative_root_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ds = Dataset.create("rel-ds")
    assert ds.root.is_absolute()
    assert ds.root == tmp_path / "rel-ds"
    monkeypatch.chdir("/")
    assert Dataset.open(tmp_path / "rel-ds").entries() == []
    assert ds.entries() == []  # still usable after the working directory changed
