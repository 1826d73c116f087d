"""Frame-level labels: ingest from tables and files, validation against tracks."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from moveo.io.behaviors import generate_behaviors
from moveo.labels import (
    add_labels,
    label_kinds,
    labeled_entries,
    labels_fingerprint,
    read_labels,
    remove_labels,
)


@pytest.fixture
def ds_with_tracks(tmp_dataset):
    tracks, labels = generate_behaviors(n_sequences=2, n_frames=40, seed=5)
    tmp_dataset.add_tracks(tracks)
    return tmp_dataset, labels


def test_add_and_read_roundtrip(ds_with_tracks):
    ds, labels = ds_with_tracks
    assert add_labels(ds, "behavior", labels) == [("g0", "s0"), ("g0", "s1")]
    got = read_labels(ds, "behavior", "g0", "s1")
    assert got.columns == ["id", "frame", "label"]
    assert got.schema["label"] == pl.String
    expected = labels.filter(pl.col("sequence") == "s1").select("id", "frame", "label")
    assert got.equals(expected)
    assert label_kinds(ds) == ["behavior"]
    assert labeled_entries(ds, "behavior") == [("g0", "s0"), ("g0", "s1")]
    assert (ds.labels_root / "behavior" / "g0" / "s0.parquet").exists()


def test_csv_parquet_npz_sources_give_the_same_labels(ds_with_tracks, tmp_path):
    ds, labels = ds_with_tracks
    part = labels.filter(pl.col("sequence") == "s0").sample(fraction=0.5, seed=1)
    csv = tmp_path / "l.csv"
    part.write_csv(csv)
    pq = tmp_path / "l.parquet"
    part.write_parquet(pq)
    npz = tmp_path / "l.npz"
    arrays = {c: part[c].to_numpy() for c in part.columns}
    arrays = {c: a.astype(str) if a.dtype == object else a for c, a in arrays.items()}
    np.savez(npz, **arrays)
    add_labels(ds, "a", csv)
    add_labels(ds, "b", pq)
    add_labels(ds, "c", npz)
    ref = read_labels(ds, "a", "g0", "s0")
    assert ref.height == part.height
    assert ref.equals(read_labels(ds, "b", "g0", "s0"))
    assert ref.equals(read_labels(ds, "c", "g0", "s0"))
    assert ref.sort("id", "frame").equals(ref)


def test_npz_with_object_arrays_gets_a_clear_error(ds_with_tracks, tmp_path):
    ds, _ = ds_with_tracks
    npz = tmp_path / "obj.npz"
    np.savez(npz, id=np.array([0]), frame=np.array([0]), label=np.array(["a"], dtype=object))
    with pytest.raises(ValueError, match="save string columns as unicode arrays"):
        add_labels(ds, "x", npz, group="g0", sequence="s0")


def test_integer_labels_group_sequence_arguments_and_null_rows(ds_with_tracks):
    ds, _ = ds_with_tracks
    table = {"id": [0, 0, 1, 1], "frame": [3, 1, 2, 5], "cls": [2, 1, None, 0]}
    add_labels(ds, "idx", table, group="g0", sequence="s0", label_col="cls")
    got = read_labels(ds, "idx", "g0", "s0")
    assert got.rows() == [(0, 1, 1), (0, 3, 2), (1, 5, 0)]
    assert got.schema["label"] == pl.Int64


def test_labels_for_missing_frames_are_refused(ds_with_tracks):
    ds, labels = ds_with_tracks
    bad = labels.with_columns(pl.col("frame") + 5)  # frames 40..44 do not exist
    with pytest.raises(ValueError, match=r"labelled rows with no matching track row: frames"):
        add_labels(ds, "behavior", bad)
    assert labeled_entries(ds, "behavior") == []  # nothing written


def test_unknown_entry_and_individual_are_refused(ds_with_tracks):
    ds, labels = ds_with_tracks
    with pytest.raises(ValueError, match=r"entry \(group='g9', sequence='s0'\), which has no"):
        add_labels(ds, "behavior", labels.with_columns(pl.lit("g9").alias("group")))
    with pytest.raises(ValueError, match=r"individuals \[7\] are not in the tracks"):
        add_labels(ds, "behavior", labels.with_columns(pl.col("id").replace(1, 7)))


def test_bad_tables(ds_with_tracks):
    ds, labels = ds_with_tracks
    with pytest.raises(ValueError, match="no label column 'label'"):
        add_labels(ds, "x", labels.drop("label"))
    with pytest.raises(ValueError, match="no 'sequence' column; add it or pass sequence="):
        add_labels(ds, "x", labels.drop("sequence"))
    with pytest.raises(ValueError, match="duplicate"):
        add_labels(ds, "x", pl.concat([labels.head(3), labels.head(1)]))
    with pytest.raises(ValueError, match="has 2 individuals; add the id"):
        add_labels(ds, "x", labels.drop("id"))
    with pytest.raises(TypeError, match="label column 'label' has dtype Float64"):
        add_labels(ds, "x", labels.with_columns(pl.lit(1.5).alias("label")))
    with pytest.raises(ValueError, match="reserved for EMG label events"):
        add_labels(ds, "events", labels)
    with pytest.raises(ValueError, match="invalid label kind"):
        add_labels(ds, "../x", labels)
    with pytest.raises(ValueError, match="the labels table is empty"):
        add_labels(ds, "x", labels.head(0))
    with pytest.raises(ValueError, match="unsupported extension '.txt'"):
        add_labels(ds, "x", _touch(ds, "l.txt"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        add_labels(ds, "x", ds.root / "nope.csv")


def _touch(ds, name):
    path = ds.root / name
    path.write_text("x")
    return path


def test_overwrite_and_fingerprint_and_remove(ds_with_tracks):
    ds, labels = ds_with_tracks
    add_labels(ds, "behavior", labels)
    fp1 = labels_fingerprint(ds, "behavior")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        add_labels(ds, "behavior", labels)
    add_labels(ds, "behavior", labels, overwrite=True)
    assert labels_fingerprint(ds, "behavior") == fp1  # same content, same fingerprint
    changed = labels.with_columns(
        pl.when(pl.col("frame") == 0).then(pl.lit("resting")).otherwise("label").alias("label")
    )
    changed = changed.with_columns(
        pl.when(pl.col("frame") == 1).then(pl.lit("turning")).otherwise("label").alias("label")
    )
    add_labels(ds, "behavior", changed, overwrite=True)
    assert labels_fingerprint(ds, "behavior") != fp1
    with pytest.raises(KeyError, match="no labels of kind 'other'"):
        read_labels(ds, "other", "g0", "s0")
    assert remove_labels(ds, "behavior") == 2
    assert labeled_entries(ds, "behavior") == []
