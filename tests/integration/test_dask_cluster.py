"""A real 2-process LocalCluster: equal outputs, numba once per worker, dying workers.

One cluster serves the whole module (start-up is slow on a small machine). Its
scheduler allows one worker death per task (``allowed_failures=1``): a task whose
worker dies once is re-run elsewhere, a second death marks it failed.
"""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from integration.dask_features import FittedCentre, KernelSpeed, KillSwitch
from moveo.cli import main
from moveo.cli.demo import demo_pipeline, make_demo_dataset
from moveo.dataset import Dataset
from moveo.distributed import TRACKING_KERNELS, local_cluster, warmup_modules, worker_kernel_stats
from moveo.io.synthetic import generate_dataset
from moveo.pipeline.registry import open_registry
from moveo.pipeline.run import FeatureRunError, read_feature, run_feature

pytestmark = pytest.mark.dask

KIN = "moveo.kernels.kinematics"


@pytest.fixture(scope="module")
def cluster():
    # The driver compiles first and fills numba's on-disk cache; workers then load it.
    warmup_modules(TRACKING_KERNELS)
    with local_cluster(2, warmup=TRACKING_KERNELS, scheduler_kwargs={"allowed_failures": 1}) as ex:
        yield ex


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A small dataset nobody runs features on; tests copy it."""
    root = tmp_path_factory.mktemp("dask") / "pristine"
    generate_dataset(
        root, n_groups=2, n_sequences=3, n_individuals=3, n_frames=300, gap_fraction=0.05
    )
    return root


@pytest.fixture
def copy_ds(pristine, tmp_path):
    def make(name: str) -> Dataset:
        shutil.copytree(pristine, tmp_path / name)
        return Dataset.open(tmp_path / name)

    return make


def _registry_rows(ds: Dataset, feature: str, run_id: str) -> pl.DataFrame:
    with open_registry(ds) as reg:
        df = reg.list_entries(feature, run_id)
    return df.with_columns(pl.col("path").str.replace(str(ds.root), "", literal=True)).drop(
        "updated_at"
    )


def _expected_speed(ds: Dataset, group: str, sequence: str) -> pl.DataFrame:
    return KernelSpeed().apply(ds.read(group, sequence))


def _temp_files(ds: Dataset) -> list[str]:
    return sorted(str(p) for p in ds.features_root.rglob("*.tmp-*"))


def _attempts(control, group: str, sequence: str) -> int:
    # an entry queued on a dying worker may never have started (no file)
    path = control / f"attempts-{group}-{sequence}"
    return len(path.read_text().split()) if path.exists() else 0


def _wait_for_two_workers(cluster) -> None:
    cluster.client.wait_for_workers(2, timeout=120)


def test_two_process_workers_equal_sequential_run(cluster, copy_ds):
    a, b = copy_ds("sequential"), copy_ds("dask")
    seq = run_feature(a, KernelSpeed(), progress=False)
    par = run_feature(b, KernelSpeed(), executor=cluster, progress=False)
    assert par == seq
    for g, s in a.entries():
        assert_frame_equal(read_feature(a, seq, g, s), read_feature(b, par, g, s), check_exact=True)
    rows_a = _registry_rows(a, "kernel-speed", seq.run_id)
    assert rows_a.height == 6
    assert set(rows_a["status"]) == {"complete"}
    assert_frame_equal(rows_a, _registry_rows(b, "kernel-speed", par.run_id))


def test_demo_pipeline_on_two_workers_equals_sequential(cluster, tmp_path):
    shape = {"n_groups": 2, "n_sequences": 2, "n_individuals": 3, "n_frames": 400}
    a = make_demo_dataset(tmp_path / "a", **shape)
    b = make_demo_dataset(tmp_path / "b", **shape)
    seq = demo_pipeline().run(a, progress=False)
    par = demo_pipeline().run(b, progress=False, executor=cluster)
    assert par == seq
    for step, res in seq.items():
        for g, s in a.entries():
            assert_frame_equal(
                read_feature(a, res, g, s), read_feature(b, par[step], g, s), check_exact=True
            )
        assert_frame_equal(
            _registry_rows(a, res.feature, res.run_id), _registry_rows(b, res.feature, res.run_id)
        )
    status = demo_pipeline().status(b)
    assert status["state"].to_list() == ["cached"] * 5
    assert status.drop("reason").equals(demo_pipeline().status(a).drop("reason"))


def test_demo_command_with_dask(tmp_path, capsys):
    root = tmp_path / "demo"
    assert main(["demo", str(root), "--frames", "150", "--quiet", "--dask"]) == 0
    out = capsys.readouterr().out
    assert "Dask LocalCluster: 2 worker processes" in out
    assert "6 entries, 3,600 rows" in out
    assert "computed 5 step(s)" in out
    assert out.count(" cached ") == 5  # the status table: every step cached after the run
    # the same results as without dask: a plain re-run finds everything cached
    assert main(["demo", str(root), "--frames", "150", "--quiet"]) == 0
    assert "all 5 steps reused from the cache" in capsys.readouterr().out


def test_fitted_state_travels_once_per_worker_process(cluster, copy_ds, tmp_path):
    _wait_for_two_workers(cluster)
    ds = copy_ds("fitted")
    control = tmp_path / "control"
    control.mkdir()
    feature = FittedCentre({"control_dir": str(control)})
    res = run_feature(ds, feature, executor=cluster, progress=False)
    assert feature.mean_x is not None  # fitted on the driver
    state = ds.features_root / "fitted-centre" / res.run_id / "state.json"
    assert state.exists()
    loads = (control / "unpickled").read_text().split()
    # 6 entries, but each worker process unpickled the fitted feature at most once
    assert 1 <= len(loads) <= 2
    assert len(set(loads)) == len(loads)
    for g, s in ds.entries():
        out = read_feature(ds, res, g, s)
        expected = (ds.read(g, s)["X"] - feature.mean_x).alias("x_centered")
        assert_series_equal(out["x_centered"], expected, check_exact=True)
    # the per-run feature file the workers read is removed after the run
    assert list((ds.internal_root / "workers").glob("*.pkl")) == []


def test_kernels_compile_once_per_worker_process(cluster, copy_ds):
    _wait_for_two_workers(cluster)
    before = worker_kernel_stats(cluster)
    assert len(before) == 2
    ds = copy_ds("numba")
    for _ in range(3):  # 18 entry tasks over 2 workers
        run_feature(ds, KernelSpeed(), executor=cluster, overwrite=True, progress=False)
    after = worker_kernel_stats(cluster)
    assert after.keys() == before.keys()  # no worker restarted
    kernel = f"{KIN}._speed_angvel"
    for worker, stats in after.items():
        assert stats["__process__"] == before[worker]["__process__"]
        # warmed up at start: the entries compiled or loaded nothing more
        assert stats[kernel] == before[worker][kernel]
        assert stats[kernel]["signatures"] >= 2
        assert stats[kernel]["compiled"] + stats[kernel]["loaded"] == stats[kernel]["signatures"]


def test_worker_killed_mid_step_is_retried(cluster, copy_ds, tmp_path):
    _wait_for_two_workers(cluster)
    ds = copy_ds("killed-once")
    control = tmp_path / "control"
    control.mkdir()
    (control / "kill-g0-s1").write_text("1")
    res = run_feature(ds, KillSwitch({"control_dir": str(control)}), executor=cluster)
    pids = (control / "attempts-g0-s1").read_text().split()
    assert len(pids) == 2 and pids[0] != pids[1]  # died once, re-run in another process
    assert len(_temp_files(ds)) == 1  # what the dead worker left is not an output
    with open_registry(ds) as reg:
        assert reg.entry_count("kill-switch", res.run_id) == 6
        assert reg.run_is_finished("kill-switch", res.run_id)
    for g, s in ds.entries():
        out = read_feature(ds, res, g, s)
        assert_frame_equal(out, _expected_speed(ds, g, s), check_exact=True)
    _wait_for_two_workers(cluster)
    # the restarted worker was warmed up by the plugin before computing again
    for stats in worker_kernel_stats(cluster).values():
        assert stats["__process__"]["warmed_modules"] >= 1
        assert stats[f"{KIN}._speed_angvel"]["signatures"] >= 2


def test_entry_whose_workers_keep_dying_is_reported_then_rerun(cluster, copy_ds, tmp_path):
    _wait_for_two_workers(cluster)
    ds = copy_ds("killed-always")
    control = tmp_path / "control"
    control.mkdir()
    switch = control / "kill-g1-s0"
    switch.write_text("99")
    feature = KillSwitch({"control_dir": str(control)})
    with pytest.raises(FeatureRunError, match=r"group='g1', sequence='s0'\): KilledWorker") as info:
        run_feature(ds, feature, executor=cluster, progress=False)
    run_id = info.value.run_id
    with open_registry(ds) as reg:
        rows = reg.list_entries("kill-switch", run_id)
    feature_run = ds.features_root / "kill-switch" / run_id
    status = {(g, s): st for g, s, st in rows.select("group", "sequence", "status").rows()}
    assert status[("g1", "s0")] == "failed"
    failed = {k for k, st in status.items() if st != "complete"}
    # nothing half-written is registered: every complete entry is a whole file,
    # and the failed entry has no output, only the dead workers' temporary files
    assert not (feature_run / "g1" / "s0.parquet").exists()
    leftovers = _temp_files(ds)
    assert len(leftovers) == 2 and all("/g1/.s0.parquet.tmp-" in p for p in leftovers)
    with pytest.raises(pl.exceptions.ComputeError):
        pl.read_parquet(leftovers[0])
    for (g, s), st in status.items():
        if st == "complete":
            assert_frame_equal(
                pl.read_parquet(feature_run / g / f"{s}.parquet"),
                _expected_speed(ds, g, s),
                check_exact=True,
            )
    attempts = {k: _attempts(control, *k) for k in status}
    assert attempts[("g1", "s0")] == 2  # died on two workers (allowed_failures=1)

    switch.unlink()
    _wait_for_two_workers(cluster)
    res = run_feature(ds, feature, executor=cluster, progress=False)
    assert res.run_id == run_id
    with open_registry(ds) as reg:
        assert reg.entry_count("kill-switch", run_id) == 6
        assert reg.run_is_finished("kill-switch", run_id)
    for k in status:
        after = _attempts(control, *k)
        # the re-run computed exactly the entries that had failed
        assert after == attempts[k] + (1 if k in failed else 0)
        assert_frame_equal(read_feature(ds, res, *k), _expected_speed(ds, *k), check_exact=True)
    assert _temp_files(ds) == []  # the re-run swept the dead workers' temporary files
