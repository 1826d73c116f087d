"""run_feature: outputs and registry rows, caching and run ids, scope, upstream joins, state,
failures, filters, parallel modes.
"""

from __future__ import annotations

import math
import os

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from moveo import Dataset
from moveo.pipeline import Result
from moveo.pipeline.registry import open_registry
from moveo.pipeline.run import FeatureRunError, plan_run, read_feature, run_feature
from unit.pipeline.pipeline_features import (
    Centered,
    Flaky,
    NotPolars,
    RollingMean,
    ScopeCount,
    StepLength,
    Weighted,
    make_tracks,
)


@pytest.fixture
def ds(tmp_path):
    d = Dataset.create(tmp_path / "ds", fps=30.0)
    d.add_tracks(make_tracks())
    return d


def expected_steps(tracks, group, sequence):
    part = tracks.filter((pl.col("group") == group) & (pl.col("sequence") == sequence))
    out = []
    for _, sub in part.sort("id", "frame").group_by("id", maintain_order=True):
        x = sub["X"].to_numpy()
        y = sub["Y"].to_numpy()
        step = np.concatenate([[np.nan], np.hypot(np.diff(x), np.diff(y))])
        out.append(step)
    return np.concatenate(out)


def test_run_writes_outputs_and_registry(ds):
    res = run_feature(ds, StepLength())
    assert res.feature == "step-length"
    assert res.run_id.startswith("0.1-")
    root = ds.features_root / "step-length" / res.run_id
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert files == [f"g{g}/s{s}.parquet" for g in range(2) for s in range(3)]
    out = read_feature(ds, res, "g1", "s2")
    assert out.columns == ["group", "sequence", "id", "frame", "step"]
    np.testing.assert_allclose(out["step"].to_numpy(), expected_steps(make_tracks(), "g1", "s2"))
    with open_registry(ds) as reg:
        assert reg.entry_count("step-length", res.run_id) == 6
        assert reg.run_is_finished("step-length", res.run_id)
        entries = reg.list_entries("step-length", res.run_id)
        assert entries["n_rows"].to_list() == [100] * 6
        assert entries["input_fp"].null_count() == 0
    # the latest run is found by name too
    assert read_feature(ds, "step-length", "g0", "s0", columns=["step"]).columns == ["step"]


def test_rerun_is_cached_and_params_change_run_id(ds, tmp_path):
    log = tmp_path / "calls.txt"
    first = run_feature(ds, StepLength({"log_calls": str(log)}))
    assert len(log.read_text().splitlines()) == 6
    again = run_feature(ds, StepLength({"log_calls": str(log)}))
    assert again == first
    assert len(log.read_text().splitlines()) == 6  # nothing recomputed
    other = run_feature(ds, StepLength({"scale": 2.0, "log_calls": str(log)}))
    assert other.run_id != first.run_id
    a = read_feature(ds, first, "g0", "s1")["step"].to_numpy()
    b = read_feature(ds, other, "g0", "s1")["step"].to_numpy()
    np.testing.assert_allclose(b, 2 * a)
    run_feature(ds, StepLength({"log_calls": str(log)}), overwrite=True, groups=["g0"])
    assert len(log.read_text().splitlines()) == 6 + 6 + 3


def test_scope_and_new_entries(ds, tmp_path):
    log = tmp_path / "calls.txt"
    feat = StepLength({"log_calls": str(log)})
    res = run_feature(ds, feat, groups=["g1"], sequences=["s0", "s2"])
    assert sorted(log.read_text().split()) == ["g1/s0", "g1/s2"]
    full = run_feature(ds, feat)
    assert full == res  # not scope dependent: same run, the rest filled in
    assert len(log.read_text().split()) == 6


def test_scope_dependent_run_id(ds):
    a = run_feature(ds, ScopeCount(), groups=["g0"])
    b = run_feature(ds, ScopeCount())
    assert a.run_id != b.run_id


def test_upstream_result_chain_and_join(ds):
    step = run_feature(ds, StepLength())
    roll = run_feature(ds, RollingMean({"window": 4}, inputs=(step,)))
    out = read_feature(ds, roll, "g0", "s0")
    steps = read_feature(ds, step, "g0", "s0")
    s0 = steps.filter(pl.col("id") == 0)["step"].to_numpy()
    expected = np.array([np.nan] * 3 + [np.mean(s0[i - 3 : i + 1]) for i in range(3, 50)])
    expected[3] = np.nan  # the window holding the first (NaN) step is NaN
    got = out.filter(pl.col("id") == 0)["step_mean"].to_numpy()
    np.testing.assert_allclose(got, expected)
    with open_registry(ds) as reg:
        assert reg.get_dependencies("rolling-mean", roll.run_id) == [("step-length", step.run_id)]
        assert reg.lineage("rolling-mean", roll.run_id)["upstream"][0]["run_id"] == step.run_id
    # latest-run resolution: Result without run_id
    same = run_feature(ds, RollingMean({"window": 4}, inputs=(Result(feature="step-length"),)))
    assert same == roll
    # a changed upstream gives a new downstream run id
    step2 = run_feature(ds, StepLength({"scale": 3.0}))
    roll2 = run_feature(ds, RollingMean({"window": 4}, inputs=(step2,)))
    assert roll2.run_id != roll.run_id
    joined = run_feature(ds, Weighted(inputs=("tracks", step)))
    w = read_feature(ds, joined, "g1", "s1")
    x = ds.read("g1", "s1")["X"].to_numpy()
    np.testing.assert_allclose(
        w["weighted"].to_numpy(), x * read_feature(ds, step, "g1", "s1")["step"].to_numpy()
    )


def test_unknown_upstream_is_clear(ds):
    with pytest.raises(ValueError, match="'step-length' has no runs in this dataset yet"):
        run_feature(ds, RollingMean(inputs=(Result(feature="step-length"),)))
    with pytest.raises(ValueError, match="has no run '0.1-nope'"):
        run_feature(ds, RollingMean(inputs=(Result(feature="step-length", run_id="0.1-nope"),)))


def test_bad_params_named():
    with pytest.raises(ValidationError, match="windw"):
        RollingMean({"windw": 3})


def test_fitted_state_saved_and_reused(ds):
    feat = Centered()
    res = run_feature(ds, feat)
    assert feat.fit_calls == 1
    state = ds.features_root / "centered" / res.run_id / "state.json"
    assert state.exists()
    all_x = np.concatenate([ds.read(g, s)["X"].to_numpy() for g, s in ds.entries()])
    out = read_feature(ds, res, "g0", "s0")
    np.testing.assert_allclose(
        out["x_centered"].to_numpy(), ds.read("g0", "s0")["X"].to_numpy() - all_x.mean()
    )
    again = Centered()
    run_feature(ds, again, overwrite=True)
    assert again.fit_calls == 0  # state loaded, not refitted


def test_failing_entry_reported_and_retried(ds, tmp_path):
    marker = tmp_path / "fail"
    marker.touch()
    log = tmp_path / "calls.txt"
    feat = Flaky({"fail_sequences": ["s1"], "marker": str(marker), "log_calls": str(log)})
    with pytest.raises(
        FeatureRunError,
        match=r"2 of 6 entries failed: \(group='g0', sequence='s1'\): ValueError: cannot handle "
        r"sequence s1",
    ) as info:
        run_feature(ds, feat)
    err = info.value
    assert [(f.group, f.sequence) for f in err.failures] == [("g0", "s1"), ("g1", "s1")]
    with open_registry(ds) as reg:
        assert reg.entry_count("flaky", err.run_id) == 4
        failed = reg.list_entries("flaky", err.run_id, status="failed")
        assert failed["error"].to_list() == ["ValueError: cannot handle sequence s1"] * 2
        assert not reg.run_is_finished("flaky", err.run_id)
    good = read_feature(ds, Result(feature="flaky", run_id=err.run_id), "g0", "s0")
    assert good.height == 100
    marker.unlink()
    log.write_text("")
    res = run_feature(ds, feat)
    assert res.run_id == err.run_id
    assert sorted(log.read_text().split()) == ["g0/s1", "g1/s1"]


def test_apply_must_return_polars(ds):
    with pytest.raises(
        FeatureRunError, match="apply must return a polars DataFrame, got builtins.dict"
    ):
        run_feature(ds, NotPolars(), groups=["g0"], sequences=["s0"])


def test_filters(ds):
    res = run_feature(ds, StepLength(), filter_start_frame=10, filter_end_frame=20)
    out = read_feature(ds, res, "g0", "s0")
    assert out["frame"].unique().sort().to_list() == list(range(10, 20))
    by_time = run_feature(ds, StepLength(), filter_start_time=10 / 30, filter_end_time=20 / 30)
    assert by_time == res  # same frames, same run
    assert res.run_id != run_feature(ds, StepLength(), groups=["g0"]).run_id
    with pytest.raises(ValueError, match="not both"):
        run_feature(ds, StepLength(), filter_start_frame=1, filter_start_time=0.1)
    with pytest.raises(ValueError, match="overlap_frames cannot be combined"):
        run_feature(ds, StepLength(), filter_start_frame=1, overlap_frames=2)
    with pytest.raises(ValueError, match="empty frame range"):
        run_feature(ds, StepLength(), filter_start_frame=5, filter_end_frame=5)
    with pytest.raises(ValueError, match="no entries in scope"):
        run_feature(ds, StepLength(), groups=["nope"])


def test_overlap_frames_equals_unsplit(tmp_path):
    # one continuous recording, split into three consecutive segments
    whole = make_tracks(n_groups=1, n_sequences=1, n_frames=90, seed=3)
    split = whole.with_columns(
        pl.when(pl.col("frame") < 30)
        .then(pl.lit("s0"))
        .when(pl.col("frame") < 60)
        .then(pl.lit("s1"))
        .otherwise(pl.lit("s2"))
        .alias("sequence")
    )
    ds_whole = Dataset.create(tmp_path / "whole", fps=30.0)
    ds_whole.add_tracks(whole)
    ds_split = Dataset.create(tmp_path / "split", fps=30.0)
    ds_split.add_tracks(split)

    ref_step = run_feature(ds_whole, StepLength())
    ref = run_feature(ds_whole, RollingMean({"window": 5}, inputs=(ref_step,)))
    expected = read_feature(ds_whole, ref, "g0", "s0")

    step = run_feature(ds_split, StepLength(), overlap_frames=1)
    roll = run_feature(ds_split, RollingMean({"window": 5}, inputs=(step,)), overlap_frames=4)
    parts = [read_feature(ds_split, roll, "g0", s) for s in ("s0", "s1", "s2")]
    got = pl.concat(parts).sort("id", "frame")
    assert got.height == expected.height
    np.testing.assert_array_equal(got["frame"].to_numpy(), expected["frame"].to_numpy())
    np.testing.assert_allclose(got["step_mean"].to_numpy(), expected["step_mean"].to_numpy())
    # without overlap the segment edges differ (NaN warm-up in every segment)
    plain = run_feature(ds_split, RollingMean({"window": 5}, inputs=(step,)))
    s1 = read_feature(ds_split, plain, "g0", "s1").filter(pl.col("id") == 0)
    assert math.isnan(s1["step_mean"][0])


def test_overlap_needs_consecutive_frames(tmp_path):
    ds = Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(make_tracks(n_groups=1, n_sequences=2))  # both segments start at frame 0
    with pytest.raises(FeatureRunError, match="does not end before sequence 's1' starts"):
        run_feature(ds, StepLength(), overlap_frames=2)


def test_tracks_change_makes_entry_stale(ds, tmp_path):
    log = tmp_path / "calls.txt"
    feat = StepLength({"log_calls": str(log)})
    res = run_feature(ds, feat)
    tracks = make_tracks()
    changed = tracks.filter((pl.col("group") == "g0") & (pl.col("sequence") == "s2"))
    ds.add_tracks(changed.with_columns(pl.col("X") * 10), overwrite=True)
    log.write_text("")
    again = run_feature(ds, feat)
    assert again == res  # same params, same run id ...
    assert log.read_text().split() == ["g0/s2"]  # ... but the changed entry was recomputed
    out = read_feature(ds, res, "g0", "s2")
    np.testing.assert_allclose(
        out["step"].to_numpy()[1:3],
        expected_steps(changed.with_columns(pl.col("X") * 10), "g0", "s2")[1:3],
    )


def test_deleted_output_is_recomputed(ds, tmp_path):
    res = run_feature(ds, StepLength())
    path = ds.features_root / "step-length" / res.run_id / "g1" / "s1.parquet"
    path.unlink()
    run_feature(ds, StepLength())
    assert path.exists()


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_parallel_modes_match_sequential(ds, mode):
    seq = run_feature(ds, Centered())
    expected = {k: read_feature(ds, seq, *k) for k in ds.entries()}
    par = run_feature(ds, Centered(), overwrite=True, parallel_workers=2, parallel_mode=mode)
    assert par == seq
    for key, df in expected.items():
        assert read_feature(ds, par, *key).equals(df)
    assert not list((ds.internal_root / "workers").glob("*.pkl"))  # handle removed


def test_custom_executor(ds):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        res = run_feature(ds, StepLength(), executor=pool)
    with open_registry(ds) as reg:
        assert reg.entry_count("step-length", res.run_id) == 6


def test_plan_is_deterministic(ds):
    with open_registry(ds) as reg:
        a = plan_run(ds, StepLength(), reg)
        b = plan_run(ds, StepLength({"scale": 1.0}), reg)
    assert a.run_id == b.run_id
    assert a.fingerprints == b.fingerprints
    assert a.entries == ds.entries()


def test_temp_files_swept(ds):
    res = run_feature(ds, StepLength())
    leftover = ds.features_root / "step-length" / res.run_id / "g0" / ".s0.parquet.tmp-deadbeef"
    leftover.write_bytes(b"half a parquet")
    run_feature(ds, StepLength(), overwrite=True, groups=["g0"])
    assert not leftover.exists()
    assert not [p for p in ds.features_root.rglob("*") if ".tmp-" in p.name]
    os.sync()


def test_dataset_settings_are_part_of_identity_for_features_that_read_them(tmp_path):
    class FpsAware(StepLength):
        name = "fps-aware"

        def set_dataset_defaults(self, *, fps=None, columns=None, pose=None):
            self.fps = fps

        def apply(self, df):
            return super().apply(df).with_columns(pl.col("step") * self.fps)

    runs = {}
    for fps in (30.0, 25.0):
        d = Dataset.create(tmp_path / f"ds{fps}", fps=fps)
        d.add_tracks(make_tracks(n_groups=1, n_sequences=1))
        runs[fps] = run_feature(d, FpsAware())
        plain = run_feature(d, StepLength())
        runs[("plain", fps)] = plain
    assert runs[30.0].run_id != runs[25.0].run_id  # output depends on fps
    assert runs[("plain", 30.0)] == runs[("plain", 25.0)]  # StepLength does not read fps


class ReadsXOnly(StepLength):
    """StepLength that declares the columns it reads and records what it was given."""

    name = "step-length-x"
    seen_columns: list[list[str]] = []  # noqa: RUF012 - shared log across instances

    def input_columns(self):
        return ["X", "Y", "not-in-the-file"]

    def apply(self, df):
        type(self).seen_columns.append(df.columns)
        return super().apply(df)


def test_reads_columns_feature_gets_only_its_columns_and_the_same_values(ds):
    from moveo.contract import ReadsColumns

    feature = ReadsXOnly()
    assert isinstance(feature, ReadsColumns)
    ReadsXOnly.seen_columns.clear()
    projected = run_feature(ds, feature)
    # keys + the declared columns the file has, in file order; "time" is not read
    assert {tuple(c) for c in ReadsXOnly.seen_columns} == {
        ("group", "sequence", "id", "frame", "X", "Y")
    }
    full = run_feature(ds, StepLength())
    for g, s in ds.entries():
        a = read_feature(ds, projected, g, s)
        b = read_feature(ds, full, g, s)
        assert a.equals(b, null_equal=True)

def test_reads_columns_with_overlap_reads_neighbours_projected(tmp_path):
    d = Dataset.create(tmp_path / "seg", fps=30.0)
    d.add_tracks(make_tracks(n_groups=1, n_sequences=3, n_frames=20, start_frames=[0, 20, 40]))
    ReadsXOnly.seen_columns.clear()
    res = run_feature(d, ReadsXOnly(), overlap_frames=2)
    full = run_feature(d, StepLength(), overlap_frames=2)
    for g, s in d.entries():
        assert read_feature(d, res, g, s).equals(read_feature(d, full, g, s), null_equal=True)
    assert {tuple(c) for c in ReadsXOnly.seen_columns} == {
        ("group", "sequence", "id", "frame", "X", "Y")
    }


def test_output_folders_fsynced_once_before_their_rows_are_recorded(ds, monkeypatch):
    # crash safety with one folder fsync per batch: every output folder is
    # fsynced (after its files were renamed in) before the registry row that
    # points at a file in it is committed
    from moveo._fs import fsync_dir
    from moveo.pipeline import run as run_mod
    from moveo.pipeline.registry import FeatureRegistry

    events = []

    def spy_fsync(folder):
        events.append(("fsync", os.path.abspath(folder)))
        fsync_dir(folder)

    real_record = FeatureRegistry.record_entries

    def spy_record(self, rows):
        rows = list(rows)
        events.append(("record", sorted({os.path.dirname(r["path"]) for r in rows})))
        return real_record(self, rows)

    monkeypatch.setattr(run_mod, "fsync_dir", spy_fsync)
    monkeypatch.setattr(FeatureRegistry, "record_entries", spy_record)
    res = run_feature(ds, StepLength({"scale": 3.0}))
    synced = set()
    n_fsync = 0
    for kind, what in events:
        if kind == "fsync":
            synced.add(what)
            n_fsync += 1
        else:
            assert set(what) <= synced, what
    groups = {g for g, _ in ds.entries()}
    assert n_fsync == len(groups)  # one batch: one fsync per group folder, not per file
    with open_registry(ds) as reg:
        assert reg.entry_count(res.feature, res.run_id) == len(ds.entries())


def test_collect_timings_reports_each_stage(ds):
    from moveo.pipeline.run import collect_timings

    with collect_timings() as runs:
        run_feature(ds, StepLength({"scale": 5.0}))
        run_feature(ds, StepLength({"scale": 5.0}))  # cached: nothing computed
    first, cached = runs
    assert first.feature == "step-length" and first.n_entries == len(ds.entries())
    assert first.n_rows == make_tracks().height
    stages = ("plan", "state", "read", "apply", "write", "sync", "registry")
    assert all(getattr(first, s) >= 0 for s in stages)
    assert first.read > 0 and first.apply > 0 and first.write > 0 and first.registry > 0
    assert sum(getattr(first, s) for s in stages) <= first.total
    assert first.other >= 0
    assert cached.n_entries == 0 and cached.read == 0
    assert run_feature(ds, StepLength()) is not None  # outside the block: not collected
    assert len(runs) == 2
