"""A feature's labels dependency (``LabelsSource``) on a real dataset.

Proves: the pipeline hands the feature the labels files of its entries
(``dependency_lookups[<param>]``); a change of the labels changes the run id, so
``Pipeline.status`` reports the step stale with the reason ``labels changed``, and a
re-run serves the new labels; a feature whose entries have no labels at all is a
clear error; features without a labels parameter keep their run ids.
"""

from __future__ import annotations

import polars as pl
import pytest

from moveo import Dataset, read_feature
from moveo.contract import GroundTruthLabelsSource, LabelsSource
from moveo.labels import add_labels, labels_lookup
from moveo.pipeline import FeatureStep, Pipeline, open_registry, run_feature
from moveo.pipeline.run import plan_run
from unit.pipeline.pipeline_features import LabelJoin, StepLength, make_tracks


@pytest.fixture
def ds(tmp_path):
    d = Dataset.create(tmp_path / "ds", fps=30.0)
    d.add_tracks(make_tracks(n_groups=1, n_sequences=2, n_ids=2, n_frames=20))
    return d


def _labels(sequence, label):
    return pl.DataFrame(
        {"group": "g0", "sequence": sequence, "id": [0, 0, 1], "frame": [1, 2, 5],
         "label": [label, label, "rest"]}
    )


def test_change_of_labels_makes_the_step_stale_with_a_reason(ds):
    add_labels(ds, "behavior", pl.concat([_labels("s0", "groom"), _labels("s1", "walk")]))
    pipe = Pipeline([FeatureStep("tagged", LabelJoin), FeatureStep("step", StepLength)])
    first = pipe.run(ds, progress=False)
    out = read_feature(ds, first["tagged"], "g0", "s0")
    assert out.filter(pl.col("frame") == 1)["label"].to_list() == ["groom", None]
    assert out.filter(pl.col("label").is_not_null()).height == 3
    assert set(pipe.status(ds)["state"]) == {"cached"}

    add_labels(ds, "behavior", _labels("s0", "rear"), overwrite=True)
    status = {r["step"]: r for r in pipe.status(ds).iter_rows(named=True)}
    assert status["tagged"]["state"] == "stale"
    assert status["tagged"]["reason"] == "labels changed: labels (kind 'behavior')"
    assert status["tagged"]["run_id"] != first["tagged"].run_id
    assert status["step"]["state"] == "cached"  # no labels dependency: untouched

    second = pipe.run(ds, progress=False)
    assert second["step"].run_id == first["step"].run_id
    new = read_feature(ds, second["tagged"], "g0", "s0")
    assert new.filter(pl.col("frame") == 1)["label"].to_list() == ["rear", None]
    assert set(pipe.status(ds)["state"]) == {"cached"}


def test_lookup_and_fingerprint_cover_the_entries_in_scope(ds):
    add_labels(ds, "behavior", _labels("s1", "walk"))
    with open_registry(ds) as reg:
        plan = plan_run(ds, LabelJoin(), reg)
    assert plan.dependency_lookups["labels"] == {
        ("g0", "s1"): ds.labels_root / "behavior" / "g0" / "s1.parquet"
    }
    assert plan.labels["labels"]["kind"] == "behavior"
    source = GroundTruthLabelsSource()
    assert plan.labels["labels"]["fingerprint"] == source.fingerprint(ds, plan.entries)
    assert source.lookup(ds) == labels_lookup(ds, "behavior")
    assert source.read(ds, "g0", "s1")["label"].to_list() == ["walk", "walk", "rest"]
    # another kind resolves to its own folder
    assert LabelsSource[str](kind="observer-2").lookup(ds) == {}


def test_no_labels_at_all_is_a_clear_error(ds):
    with pytest.raises(ValueError, match=r"parameter 'labels' needs labels of kind 'behavior'"):
        run_feature(ds, LabelJoin(), progress=False)


def test_pattern_cannot_leave_the_entry_folder(ds):
    add_labels(ds, "behavior", _labels("s1", "walk"))
    with pytest.raises(ValueError, match="unsafe labels file name"):
        GroundTruthLabelsSource(pattern="../{sequence}.parquet").lookup(ds)
    assert GroundTruthLabelsSource(pattern="{sequence}.parquet").lookup(ds) == labels_lookup(
        ds, "behavior"
    )
