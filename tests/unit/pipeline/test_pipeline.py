"""Pipeline: graph validation, cached/stale/partial status with reasons, force_from, clean,
saved specs, parallel runs.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.pipeline import CallbackStep, FeatureStep, Pipeline, Result, read_feature
from moveo.pipeline.pipeline import load_saved_pipeline
from moveo.pipeline.registry import open_registry
from unit.pipeline.pipeline_features import Centered, RollingMean, StepLength, Weighted, make_tracks


@pytest.fixture
def ds(tmp_path):
    d = Dataset.create(tmp_path / "ds", fps=30.0)
    d.add_tracks(make_tracks())
    return d


def export_counts(ds, results):
    """A real callback: writes per-entry row counts of the rolling step to a JSON file."""
    res = results["roll"]
    counts = {f"{g}/{s}": read_feature(ds, res, g, s).height for g, s in ds.entries()}
    path = ds.root / "exports" / "counts.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(counts))
    calls = ds.root / "exports" / "calls.txt"
    with calls.open("a") as fh:
        fh.write("x\n")


def make_pipeline(window=3, scale=1.0, log=None):
    params = {"scale": scale}
    if log:
        params["log_calls"] = str(log)
    return (
        Pipeline(name="test")
        .add(FeatureStep("step", StepLength, params=params))
        .add(FeatureStep("roll", RollingMean, params={"window": window}, input_names=["step"]))
        .add(FeatureStep("weighted", Weighted, input_names=["tracks", "step"]))
        .add(FeatureStep("centered", Centered))
        .add(CallbackStep("export", export_counts, depends_on=["roll"]))
    )


def test_graph_validation():
    p = Pipeline().add(FeatureStep("a", StepLength))
    with pytest.raises(ValueError, match="duplicate step name 'a'"):
        p.add(FeatureStep("a", StepLength))
    with pytest.raises(ValueError, match="depends on unknown step 'zz'"):
        p.add(FeatureStep("b", RollingMean, input_names=["zz"]))
    with pytest.raises(ValueError, match="depends on itself"):
        p.add(FeatureStep("c", RollingMean, input_names=["c"]))
    with pytest.raises(ValueError, match="form a cycle"):
        Pipeline(
            [
                FeatureStep("x", RollingMean, input_names=["y"]),
                FeatureStep("y", RollingMean, input_names=["x"]),
            ]
        )
    with pytest.raises(ValueError, match="unknown run_kwargs \\['colour'\\]"):
        FeatureStep("d", StepLength, run_kwargs={"colour": 1})
    with pytest.raises(TypeError, match="pass the class, not an instance"):
        FeatureStep("e", StepLength())
    p.add(CallbackStep("cb", export_counts, depends_on=["a"]))
    with pytest.raises(ValueError, match="is a CallbackStep"):
        p.add(FeatureStep("f", RollingMean, input_names=["cb"]))
    # any order in the constructor: sorted topologically
    q = Pipeline(
        [FeatureStep("roll", RollingMean, input_names=["step"]), FeatureStep("step", StepLength)]
    )
    assert list(q.steps) == ["step", "roll"]
    assert q.dag() == {"step": [], "roll": ["step"]}
    assert make_pipeline().downstream("step") == ["step", "roll", "weighted", "export"]


def test_run_status_cached(ds, tmp_path):
    log = tmp_path / "calls.txt"
    p = make_pipeline(log=log)
    before = p.status(ds)
    assert before["state"].to_list() == ["missing"] * 5
    assert before["total"].to_list() == [6, 6, 6, 6, 1]
    results = p.run(ds)
    assert set(results) == {"step", "roll", "weighted", "centered"}
    assert isinstance(results["roll"], Result)
    assert len(log.read_text().split()) == 6
    counts = json.loads((ds.root / "exports" / "counts.json").read_text())
    assert counts == {f"g{g}/s{s}": 100 for g in range(2) for s in range(3)}
    status = p.status(ds)
    assert status.columns == ["step", "feature", "run_id", "state", "done", "total", "reason"]
    assert status["state"].to_list() == ["cached"] * 5
    assert status["done"].to_list() == [6, 6, 6, 6, 1]
    assert status.filter(pl.col("step") == "roll")["run_id"][0] == results["roll"].run_id
    # second run: nothing recomputed, callback not called again
    again = p.run(ds)
    assert again == results
    assert len(log.read_text().split()) == 6
    assert (ds.root / "exports" / "calls.txt").read_text().count("x") == 1
    # load() without running
    fresh = make_pipeline(log=log)
    assert fresh.load(ds) == results
    assert fresh.results == results


def test_status_explains_staleness(ds):
    make_pipeline(window=3).run(ds)
    status = make_pipeline(window=5).status(ds)
    by = {r["step"]: r for r in status.iter_rows(named=True)}
    assert by["step"]["state"] == "cached"
    assert by["roll"]["state"] == "stale"
    assert by["roll"]["reason"] == "params changed: window 3 -> 5"
    assert by["export"]["state"] == "stale"
    status = make_pipeline(scale=2.0).status(ds)
    by = {r["step"]: r for r in status.iter_rows(named=True)}
    assert by["step"]["reason"] == "params changed: scale 1.0 -> 2.0"
    assert by["roll"]["state"] == "stale"
    assert by["roll"]["reason"] == "upstream changed: step"
    assert by["weighted"]["reason"] == "upstream changed: step"
    assert by["centered"]["state"] == "cached"
    with pytest.raises(LookupError, match="steps not cached: step \\(stale"):
        make_pipeline(scale=2.0).load(ds, strict=True)


def test_status_tracks_changed_and_partial(ds):
    p = make_pipeline()
    p.run(ds)
    tracks = make_tracks()
    part = tracks.filter((pl.col("group") == "g1") & (pl.col("sequence") == "s0"))
    ds.add_tracks(part.with_columns(pl.col("Y") + 1.0), overwrite=True)
    by = {r["step"]: r for r in p.status(ds).iter_rows(named=True)}
    assert by["step"]["state"] == "stale"
    assert by["step"]["reason"] == "tracks changed for 1 of 6 entries"
    assert by["step"]["done"] == 5
    # downstream entries computed from the stale step entry are stale with it
    assert by["roll"]["state"] == "stale"
    assert by["roll"]["reason"] == "upstream stale: step (1 of 6 entries)"
    assert by["roll"]["done"] == 5
    assert by["weighted"]["state"] == "stale"  # reads tracks and step: stale both ways
    assert by["centered"]["reason"] == "tracks changed for 1 of 6 entries"
    p.run(ds)
    assert p.status(ds)["state"].to_list() == ["cached"] * 5
    # a deleted output makes the step partial
    res = p.results["weighted"]
    (ds.features_root / "weighted" / res.run_id / "g0" / "s2.parquet").unlink()
    by = {r["step"]: r for r in p.status(ds).iter_rows(named=True)}
    assert by["weighted"]["state"] == "partial"
    assert by["weighted"]["reason"] == "1 of 6 entries missing"


def test_force_from_recomputes_downstream(ds, tmp_path):
    log = tmp_path / "calls.txt"
    p = make_pipeline(log=log)
    first = p.run(ds)
    stamps = {
        name: (ds.features_root / r.feature / r.run_id / "g0" / "s0.parquet").stat().st_mtime_ns
        for name, r in first.items()
    }
    again = p.run(ds, force_from="roll")
    assert again == first  # same run ids, recomputed in place
    after = {
        name: (ds.features_root / r.feature / r.run_id / "g0" / "s0.parquet").stat().st_mtime_ns
        for name, r in again.items()
    }
    assert after["step"] == stamps["step"]
    assert after["weighted"] == stamps["weighted"]
    assert after["centered"] == stamps["centered"]
    assert after["roll"] != stamps["roll"]
    assert (ds.root / "exports" / "calls.txt").read_text().count("x") == 2
    with pytest.raises(ValueError, match="unknown step 'nope'"):
        p.run(ds, force_from="nope")


def test_clean_orphans(ds):
    old = make_pipeline(window=3).run(ds)
    p = make_pipeline(window=5)
    new = p.run(ds)
    report = p.clean(ds)
    assert report.columns == [
        "step",
        "feature",
        "run_id",
        "status",
        "n_files",
        "size_mb",
        "modified",
    ]
    orphans = report.filter(pl.col("status") == "orphan")
    assert orphans["run_id"].to_list() == [old["roll"].run_id]
    assert orphans["n_files"].to_list() == [6]
    assert orphans["size_mb"][0] > 0
    assert report.filter(pl.col("status") == "keep").height == 4
    assert (ds.features_root / "rolling-mean" / old["roll"].run_id).exists()  # dry run
    done = p.clean(ds, dry_run=False)
    assert done.filter(pl.col("status") == "deleted")["run_id"].to_list() == [old["roll"].run_id]
    assert not (ds.features_root / "rolling-mean" / old["roll"].run_id).exists()
    with open_registry(ds) as reg:
        assert not reg.has_run("rolling-mean", old["roll"].run_id)
        assert reg.has_run("rolling-mean", new["roll"].run_id)
    assert p.clean(ds).filter(pl.col("status") != "keep").height == 0
    assert p.status(ds)["state"].to_list() == ["cached"] * 5


def test_saved_spec_roundtrip(ds):
    p = make_pipeline(window=4)
    p.run(ds)
    loaded = load_saved_pipeline(ds)
    assert loaded.dag() == p.dag()
    assert loaded.status(ds)["state"].to_list() == ["cached"] * 5


def test_saved_spec_local_class_is_clear(ds):
    class Local(StepLength):
        name = "local"

    Pipeline().add(FeatureStep("loc", Local)).run(ds)
    with pytest.raises(ImportError, match="defined inside a function"):
        load_saved_pipeline(ds)


def test_no_saved_pipeline(ds):
    with pytest.raises(FileNotFoundError, match="no pipeline has run"):
        load_saved_pipeline(ds)


def test_parallel_pipeline_matches(ds, tmp_path):
    seq = make_pipeline().run(ds)
    expected = read_feature(ds, seq["roll"], "g1", "s2")
    other = Dataset.create(tmp_path / "ds2", fps=30.0)
    other.add_tracks(make_tracks())
    par = make_pipeline().run(other, parallel_workers=2)
    assert par == seq
    assert read_feature(other, par["roll"], "g1", "s2").equals(expected)
    np.testing.assert_array_equal(
        read_feature(other, par["centered"], "g0", "s0")["x_centered"].to_numpy(),
        read_feature(ds, seq["centered"], "g0", "s0")["x_centered"].to_numpy(),
    )
