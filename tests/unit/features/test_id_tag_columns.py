"""id-tag-columns and id tags: tags validated against the tracks on ingest, attached
to every frame (null for untagged individuals) as mosaic-behavior 0.17 does, fields and
renames, and relabelling making exactly the changed entries stale."""

import numpy as np
import polars as pl
import pytest

from moveo import run_feature
from moveo.features import IdTagColumns
from moveo.io.synthetic import random_walk
from moveo.labels import add_id_tags, read_id_tags
from moveo.pipeline import FeatureStep, Pipeline
from moveo.pipeline.registry import open_registry


@pytest.fixture
def ds(tmp_dataset):
    for s in ("s0", "s1"):
        tmp_dataset.add_tracks(random_walk(6, 20, seed=1, group="g0", sequence=s))
    return tmp_dataset


def _tags(seq="s0"):
    return pl.DataFrame(
        {
            "group": "g0",
            "sequence": seq,
            "id": [0, 1, 2],
            "Focal_fish": [True, False, False],
            "sex": ["F", "M", "F"],
            "size": [1.5, None, 2.0],
        }
    )


def test_tags_on_every_frame_as_mosaic(ds):
    add_id_tags(ds, pl.concat([_tags("s0"), _tags("s1")]))
    res = run_feature(ds, IdTagColumns())
    out = pl.read_parquet(ds.features_root / "id-tag-columns" / res.run_id / "g0" / "s0.parquet")
    # mosaic-behavior 0.17 with the same tags: ids 0-2 tagged, 3-5 null
    assert out.columns == ["group", "sequence", "id", "frame", "time", "Focal_fish", "sex", "size"]
    assert out.height == 120
    first = out.filter(pl.col("frame") == 0).sort("id")
    assert first["Focal_fish"].to_list() == [True, False, False, None, None, None]
    assert first["sex"].to_list() == ["F", "M", "F", None, None, None]
    assert first["size"].to_list() == [1.5, None, 2.0, None, None, None]
    assert out.schema["Focal_fish"] == pl.Boolean
    some = IdTagColumns({"fields": ["sex"], "field_renames": {"sex": "Sex"}}).bind(ds)
    got = some.apply(ds.read("g0", "s0"))
    assert got.columns == ["group", "sequence", "id", "frame", "time", "Sex"]
    assert got.filter(pl.col("id") == 1)["Sex"].unique().to_list() == ["M"]
    # input order is kept
    shuffled = ds.read("g0", "s0").sample(fraction=1.0, shuffle=True, seed=0)
    again = some.apply(shuffled)
    assert again.select("id", "frame").equals(shuffled.select("id", "frame"))


def test_label_kind_and_errors(ds):
    add_id_tags(ds, _tags().with_columns(pl.lit(1).alias("cohort")), kind="cohorts")
    f = IdTagColumns({"label_kind": "cohorts"})
    assert f.params.labels.kind == "cohorts"  # kept in sync, as in mosaic
    out = f.bind(ds).apply(ds.read("g0", "s0"))
    assert "cohort" in out.columns
    with pytest.raises(ValueError, match="no 'cohorts' labels for .*'s1'"):
        f.apply(ds.read("g0", "s1"))
    with pytest.raises(ValueError, match=r"no field\(s\) \['weight'\]"):
        IdTagColumns({"label_kind": "cohorts", "fields": ["weight"]}).bind(ds).apply(
            ds.read("g0", "s0")
        )
    with pytest.raises(ValueError, match="not bound to a dataset"):
        IdTagColumns().apply(ds.read("g0", "s0"))
    with pytest.raises(Exception, match="needs labels of kind 'id_tags'"):
        run_feature(ds, IdTagColumns())


def test_ingest_validation(ds):
    with pytest.raises(ValueError, match=r"no individuals \[9\]"):
        add_id_tags(ds, _tags().with_columns(pl.Series("id", [0, 1, 9])))
    with pytest.raises(ValueError, match=r"tags ids \[1\] more than once"):
        add_id_tags(ds, _tags().with_columns(pl.Series("id", [0, 1, 1])))
    with pytest.raises(ValueError, match="no tag fields"):
        add_id_tags(ds, _tags().select("group", "sequence", "id"))
    with pytest.raises(ValueError, match="has no tracks"):
        add_id_tags(ds, _tags().with_columns(sequence=pl.lit("nope")))
    with pytest.raises(ValueError, match="reserved"):
        add_id_tags(ds, _tags(), kind="events")
    add_id_tags(ds, _tags())
    with pytest.raises(FileExistsError, match="overwrite=True"):
        add_id_tags(ds, _tags())
    # a single entry without group/sequence columns
    add_id_tags(ds, _tags().drop("group", "sequence"), group="g0", sequence="s1")
    assert read_id_tags(ds, "id_tags", "g0", "s1")["id"].to_list() == [0, 1, 2]


def test_relabelling_makes_the_changed_entry_stale(ds):
    add_id_tags(ds, pl.concat([_tags("s0"), _tags("s1")]))
    step = Pipeline(name="tags").add(FeatureStep("tags", IdTagColumns))
    first = step.run(ds)["tags"]
    assert step.status(ds)["state"].to_list() == ["cached"]
    add_id_tags(ds, _tags("s1").with_columns(pl.lit("M").alias("sex")), overwrite=True)
    row = step.status(ds).row(0, named=True)
    # the labels' fingerprint is part of the run id: a relabelled dataset is a new run
    assert row["state"] == "stale" and "labels changed" in row["reason"]
    again = step.run(ds)["tags"]
    assert again.run_id != first.run_id
    out = pl.read_parquet(ds.features_root / "id-tag-columns" / again.run_id / "g0" / "s1.parquet")
    assert out.filter(pl.col("id") == 0)["sex"].unique().to_list() == ["M"]
    with open_registry(ds) as reg:
        assert reg.entry_count("id-tag-columns", again.run_id) == 2
    assert np.all(step.status(ds)["state"].to_numpy() == "cached")
