"""Dask benchmarks: the demo pipeline on a 2-worker LocalCluster vs sequentially,
and the per-entry overhead of the cluster path on no-op entries.

Ratios are reported (benchmarks/conftest.py), never asserted. On a 2-core machine
the sequential run already uses both cores inside numba's parallel kernels, so the
cluster's gain comes from overlapping I/O and Python work across entries.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import polars as pl
import pytest

from integration.dask_features import NoOp
from moveo import Dataset
from moveo.distributed import TRACKING_KERNELS, local_cluster, warmup_modules
from moveo.pipeline.run import run_feature

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def cluster():
    warmup_modules(TRACKING_KERNELS)  # fill numba's cache once; workers load it
    with local_cluster(2, warmup=TRACKING_KERNELS) as ex:
        yield ex


def _wipe(ds: Dataset) -> None:
    shutil.rmtree(ds.features_root, ignore_errors=True)
    ds.features_root.mkdir()
    for suffix in ("", "-wal", "-shm", "-journal"):
        (ds.internal_root / f"registry.db{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------- demo pipeline
@pytest.fixture(scope="module")
def demo_ds(tmp_path_factory, bench_size):
    from moveo.cli.demo import DEMO_SHAPE, make_demo_dataset

    frames = bench_size(small=1_000, full=DEMO_SHAPE["n_frames"])
    return make_demo_dataset(tmp_path_factory.mktemp("dask-demo") / "ds", n_frames=frames)


@pytest.mark.parametrize("impl", ["dask-2-workers", "sequential"])
def test_demo_pipeline(benchmark, tag, impl, demo_ds, cluster):
    from moveo.cli.demo import demo_pipeline

    n_rows = sum(demo_ds.entry_info(g, s)["n_rows"] for g, s in demo_ds.entries())
    tag(
        benchmark,
        f"dask: demo pipeline, {n_rows:,} rows, 2-worker LocalCluster vs sequential",
        ours=impl == "dask-2-workers",
    )
    executor = cluster if impl == "dask-2-workers" else None
    pipeline = demo_pipeline()
    # One untimed run: the features call some kernels with signatures the kernel
    # warm-ups do not cover (read-only arrays), compiled once per process here.
    _wipe(demo_ds)
    pipeline.run(demo_ds, progress=False, executor=executor)
    results = benchmark.pedantic(
        pipeline.run,
        args=(demo_ds,),
        kwargs={"progress": False, "executor": executor},
        setup=lambda: _wipe(demo_ds),
        rounds=2,
        iterations=1,
    )
    assert pipeline.status(demo_ds)["state"].to_list() == ["cached"] * len(results)


# --------------------------------------------------------------------------- per-task overhead
@pytest.fixture(scope="module")
def tiny_ds(tmp_path_factory, bench_size):
    """Many one-individual, ten-frame entries: the work per entry is all overhead."""
    n_entries = bench_size(small=40, full=400)
    n_groups = 4
    per_group = n_entries // n_groups
    rows = n_groups * per_group * 10
    table = pl.DataFrame(
        {
            "group": np.repeat([f"g{g}" for g in range(n_groups)], per_group * 10),
            "sequence": np.tile(np.repeat([f"s{s:04d}" for s in range(per_group)], 10), n_groups),
            "id": np.zeros(rows, dtype=np.int64),
            "frame": np.tile(np.arange(10, dtype=np.int64), n_groups * per_group),
            "X": np.linspace(0.0, 1.0, rows),
            "Y": np.linspace(1.0, 0.0, rows),
        }
    )
    ds = Dataset.create(tmp_path_factory.mktemp("dask-tiny") / "ds", fps=30.0)
    ds.add_tracks(table)
    return ds


@pytest.mark.parametrize("impl", ["dask-2-workers", "sequential"])
def test_noop_entries(benchmark, tag, figure, impl, tiny_ds, cluster):
    n = len(tiny_ds.entries())
    group = f"dask: {n} no-op entries (read, write parquet, record), cluster vs sequential"
    tag(benchmark, group, ours=impl == "dask-2-workers")
    executor = cluster if impl == "dask-2-workers" else None
    run_feature(tiny_ds, NoOp(), executor=executor, progress=False)  # registry, folders
    benchmark.pedantic(
        run_feature,
        args=(tiny_ds, NoOp()),
        kwargs={"overwrite": True, "executor": executor, "progress": False},
        rounds=3,
        iterations=1,
    )
    figure(group, f"{impl}: entries/s", n / benchmark.stats.stats.median, "entries/s")


def test_raw_task_rate(figure, cluster, bench_size):
    """Dask's own floor: tasks/s for a function that does nothing."""
    n = bench_size(small=200, full=2_000)
    cluster.submit(abs, 0).result()
    t0 = time.perf_counter()
    futures = [cluster.submit(abs, -i) for i in range(n)]
    assert [f.result() for f in futures] == list(range(n))
    seconds = time.perf_counter() - t0
    figure("dask: scheduler floor", f"{n} no-op tasks: tasks/s", n / seconds, "tasks/s")
