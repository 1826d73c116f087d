"""moveo.distributed on a threaded LocalCluster (processes=False): the fast path."""

from __future__ import annotations

import io
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from rich.console import Console

from integration.dask_features import FailOnce, KernelSpeed
from moveo.distributed import (
    DaskExecutor,
    dask_executor,
    kernel_stats,
    local_cluster,
    warmup_modules,
    worker_kernel_stats,
)
from moveo.io.synthetic import generate_dataset
from moveo.pipeline.registry import open_registry
from moveo.pipeline.reporting import ProgressReporter
from moveo.pipeline.run import FeatureRunError, read_feature, run_feature

pytestmark = pytest.mark.dask

KIN = "moveo.kernels.kinematics"


@pytest.fixture(scope="module")
def threaded():
    with local_cluster(2, processes=False, warmup=KIN) as ex:
        yield ex


@pytest.fixture
def ds(tmp_path):
    return generate_dataset(
        tmp_path / "ds", n_groups=2, n_sequences=3, n_individuals=3, n_frames=200, pose=False
    )


def _entries(ds, feature, run_id):
    with open_registry(ds) as reg:
        df = reg.list_entries(feature, run_id)
    root = str(ds.root)
    return df.with_columns(pl.col("path").str.replace(root, "", literal=True)).drop("updated_at")


def test_run_feature_on_threaded_cluster_equals_sequential(threaded, tmp_path):
    a = generate_dataset(tmp_path / "a", n_groups=2, n_sequences=3, n_individuals=3, n_frames=200)
    b = generate_dataset(tmp_path / "b", n_groups=2, n_sequences=3, n_individuals=3, n_frames=200)
    seq = run_feature(a, KernelSpeed(), progress=False)
    par = run_feature(b, KernelSpeed(), executor=threaded, progress=False)
    assert seq == par
    for g, s in a.entries():
        assert_frame_equal(read_feature(a, seq, g, s), read_feature(b, par, g, s), check_exact=True)
    ea, eb = _entries(a, "kernel-speed", seq.run_id), _entries(b, "kernel-speed", par.run_id)
    assert ea.height == 6
    assert_frame_equal(ea, eb)
    # the executor is reusable and the run is cached afterwards
    again = run_feature(b, KernelSpeed(), executor=threaded, progress=False)
    assert again == par


def test_progress_bars_count_dask_entries(threaded, ds, monkeypatch):
    monkeypatch.delenv("MOVEO_PROGRESS", raising=False)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    with ProgressReporter(True, console=console) as reporter:
        run_feature(ds, KernelSpeed(), executor=threaded, progress=reporter)
        run_feature(ds, KernelSpeed(), executor=threaded, progress=reporter)  # cached
    text = buf.getvalue()
    assert "kernel-speed" in text
    assert "6/6" in text
    assert "rows/s" in text
    assert "cached" in text


def test_failed_entry_is_reported_and_rerun_retries_it(threaded, ds, tmp_path):
    control = tmp_path / "control"
    control.mkdir()
    (control / "fail-g1-s2").touch()
    feature = FailOnce({"control_dir": str(control)})
    with pytest.raises(FeatureRunError, match=r"group='g1', sequence='s2'.*transient") as info:
        run_feature(ds, feature, executor=threaded, progress=False)
    assert [(f.group, f.sequence) for f in info.value.failures] == [("g1", "s2")]
    assert info.value.n_ok == 5
    run_id = info.value.run_id
    with open_registry(ds) as reg:
        assert reg.entry_count("fail-once", run_id) == 5
        failed = reg.list_entries("fail-once", run_id, status="failed")
        assert failed.select("group", "sequence").rows() == [("g1", "s2")]
    run_feature(ds, feature, executor=threaded, progress=False)
    with open_registry(ds) as reg:
        assert reg.entry_count("fail-once", run_id) == 6
        assert reg.run_is_finished("fail-once", run_id)


def test_retries_absorb_a_transient_error(ds, tmp_path):
    control = tmp_path / "control"
    control.mkdir()
    (control / "fail-g0-s1").touch()
    with local_cluster(1, processes=False, warmup=False, retries=1) as ex:
        res = run_feature(ds, FailOnce({"control_dir": str(control)}), executor=ex, progress=False)
    assert not (control / "fail-g0-s1").exists()  # the first attempt did fail
    with open_registry(ds) as reg:
        assert reg.entry_count("fail-once", res.run_id) == 6


def test_warmup_plugin_compiled_kernels_on_worker(threaded):
    stats = worker_kernel_stats(threaded)
    assert len(stats) == 2
    for per_worker in stats.values():
        assert per_worker["__process__"]["warmed_modules"] >= 1
        kernel = per_worker[f"{KIN}._speed_angvel"]
        assert kernel["signatures"] >= 2
        assert kernel["compiled"] + kernel["loaded"] == kernel["signatures"]


def test_kernel_stats_local_process():
    assert warmup_modules([KIN]) >= 1
    stats = kernel_stats()
    assert stats[f"{KIN}._speed_angvel"]["signatures"] >= 2
    assert all(k.startswith("moveo.kernels.") for k in stats if k != "__process__")


def test_warmup_modules_rejects_module_without_kernels():
    with pytest.raises(ValueError, match=r"'moveo.schema' registers no kernel warm-up"):
        warmup_modules("moveo.schema")


def test_existing_client_is_left_open(threaded):
    client = threaded.client
    with dask_executor(client, warmup=False) as ex:
        assert isinstance(ex, DaskExecutor)
        assert ex.client is client
        assert ex.submit(sum, [1, 2, 3]).result() == 6
        assert ex.n_workers == 2
    assert client.status == "running"
    with pytest.raises(RuntimeError, match="shut down"):
        ex.submit(sum, [1])


def test_scheduler_address_connects_and_closes_own_client(threaded):
    address = threaded.client.scheduler.address
    ex = dask_executor(address, warmup=False)
    try:
        assert ex.client is not threaded.client
        assert list(ex.map(abs, [-1, -2])) == [1, 2]
    finally:
        ex.shutdown()
    assert ex.client.status == "closed"
    assert threaded.client.status == "running"


def test_bad_arguments_are_explained(threaded):
    with pytest.raises(TypeError, match=r"distributed.Client, a scheduler address"):
        dask_executor(42)
    with pytest.raises(TypeError, match=r"cluster options \['n_workers'\] only apply"):
        dask_executor(threaded.client, n_workers=3)
    with pytest.raises(ValueError, match="n_workers must be >= 1"), local_cluster(0):
        pass
    with pytest.raises(ValueError, match="retries must be >= 0"):
        DaskExecutor(threaded.client, retries=-1)


def test_missing_dask_says_to_install_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "moveo\[dask\]"'):
        dask_executor()
