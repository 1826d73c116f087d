"""Tracking kernels and features vs their baselines.

- speed-angvel kernel vs ``np.copyto`` of the same input + output bytes (roofline);
- nearest neighbour vs a dense numpy broadcast over (frames, N, N) and vs
  ``scipy.spatial.cKDTree`` built per frame;
- body scale vs numpy (rows, K, K) distances + ``nanmedian``;
- end to end through a Dataset (read parquet -> feature -> write parquet):
  rows/s and peak memory, entries in parallel threads (1 kernel thread each)
  vs one entry at a time (kernels on every core).

Kernel benchmarks run on preallocated arrays; JIT compilation is excluded by
running the kernels' warm-ups first. Kernels run with numba's default thread
count (all cores) unless stated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from scipy.spatial import cKDTree

from moveo.kernels import body, kinematics, neighbors, windows
from moveo.kernels.body import body_scale
from moveo.kernels.kinematics import speed_angvel
from moveo.kernels.neighbors import nearest_neighbors
from moveo.kernels.windows import segment_offsets


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    # compile this area's kernels outside the timed regions (moveo.warmup() would
    # also compile every other area's kernels)
    for module in (body, kinematics, neighbors, windows):
        module._warmup()


# ----------------------------------------------------------------------------- speed-angvel


@pytest.fixture(scope="module")
def walk(bench_size):
    n = bench_size(small=100_000, full=10_000_000)
    n_ids = 4
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(n_ids), n // n_ids)
    n = ids.shape[0]
    frames = np.tile(np.arange(n // n_ids), n_ids).astype(np.int64)
    x = np.cumsum(rng.normal(size=n))
    y = np.cumsum(rng.normal(size=n))
    angle = rng.uniform(-np.pi, np.pi, n)
    x[rng.random(n) < 0.01] = np.nan
    return {
        "ids": ids,
        "frames": frames,
        "x": x,
        "y": y,
        "angle": angle,
        "offsets": segment_offsets(ids),
    }


@pytest.mark.parametrize("impl", ["moveo", "np.copyto"])
def test_speed_angvel_roofline(benchmark, tag, walk, impl):
    n = walk["x"].shape[0]
    out = {k: np.empty(n) for k in ("vx", "vy", "speed", "angvel")}
    group = f"speed-angvel kernel, {n:,} rows"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo speed_angvel (4 in, 4 out)")
        benchmark(
            speed_angvel,
            walk["x"],
            walk["y"],
            walk["frames"],
            walk["offsets"],
            angle=walk["angle"],
            fps=30.0,
            out=out,
        )
        assert np.isfinite(out["speed"]).mean() > 0.9
    else:
        # the memory roofline: copy as many bytes as the kernel reads + writes
        src = np.ones(4 * n)
        dst = np.empty(4 * n)
        tag(
            benchmark,
            group,
            ours=False,
            target="ours/base<=3",
            label="np.copyto of 4n float64 (same bytes in + out)",
        )
        benchmark(np.copyto, dst, src)


# ----------------------------------------------------------------------------- nearest neighbour


def _school(n_ids, n_frames, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, (n_ids, n_frames))
    y = rng.uniform(0, 100, (n_ids, n_frames))
    x[rng.random(x.shape) < 0.01] = np.nan
    long = {
        "ids": np.repeat(np.arange(n_ids), n_frames),
        "frames": np.tile(np.arange(n_frames), n_ids).astype(np.int64),
        "x": x.ravel(),
        "y": y.ravel(),
    }
    return long, x.T.copy(), y.T.copy()  # long table (id-major) and (frames, N) pivots


def _dense_numpy(xf, yf, chunk=200_000):
    # baseline: (frames, N, N) distances with numpy broadcasting, argmin per row
    out = np.empty(xf.shape, dtype=np.int64)
    for s in range(0, xf.shape[0], chunk):
        xs, ys = xf[s : s + chunk], yf[s : s + chunk]
        d2 = (xs[:, :, None] - xs[:, None, :]) ** 2 + (ys[:, :, None] - ys[:, None, :]) ** 2
        idx = np.arange(xs.shape[1])
        d2[:, idx, idx] = np.inf
        d2[np.isnan(d2)] = np.inf
        out[s : s + chunk] = d2.argmin(axis=2)
    return out


def _ckdtree_per_frame(xf, yf):
    # baseline: one cKDTree per frame over that frame's valid individuals
    nn = np.full(xf.shape, -1, dtype=np.int64)
    for f in range(xf.shape[0]):
        ok = np.flatnonzero(np.isfinite(xf[f]) & np.isfinite(yf[f]))
        if ok.size < 2:
            continue
        pts = np.column_stack([xf[f, ok], yf[f, ok]])
        _, j = cKDTree(pts).query(pts, k=2)
        nn[f, ok] = ok[j[:, 1]]
    return nn


@pytest.fixture(scope="module")
def few_long(bench_size):
    n_frames = bench_size(small=25_000, full=2_500_000)
    return _school(4, n_frames)


@pytest.mark.parametrize("impl", ["moveo", "numpy-dense"])
def test_nn_four_individuals(benchmark, tag, few_long, impl):
    long, xf, yf = few_long
    group = f"nearest-neighbor 4 ind x {xf.shape[0]:,} frames"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo nearest_neighbors (long table)")
        rows, _ = benchmark(nearest_neighbors, long["x"], long["y"], long["ids"], long["frames"])
        # same answer as the baseline (row index -> individual)
        got = np.where(rows[:, 0] >= 0, long["ids"][rows[:, 0]], -1).reshape(4, -1).T
        base = _dense_numpy(xf[:1000], yf[:1000])
        valid = np.isfinite(xf[:1000]) & np.isfinite(yf[:1000])
        assert (
            got[:1000][valid & (valid.sum(1, keepdims=True) > 1)]
            == base[valid & (valid.sum(1, keepdims=True) > 1)]
        ).all()
    else:
        tag(
            benchmark,
            group,
            ours=False,
            target=">=3",
            label="numpy broadcast over (frames, N, N) on pivoted arrays",
        )
        benchmark(_dense_numpy, xf, yf)


def test_nn_four_individuals_vs_ckdtree(few_long, figure, bench_size):
    """cKDTree per frame is measured on a slice of frames and scaled per frame."""
    long, xf, yf = few_long
    n_frames = xf.shape[0]
    n_slice = bench_size(small=2_000, full=20_000)
    group = f"nearest-neighbor 4 ind x {n_frames:,} frames"
    t_ours = min(
        _timed(nearest_neighbors, long["x"], long["y"], long["ids"], long["frames"])
        for _ in range(3)
    )
    t_slice = min(_timed(_ckdtree_per_frame, xf[:n_slice], yf[:n_slice]) for _ in range(2))
    t_base = t_slice * n_frames / n_slice
    figure(group, "moveo nearest_neighbors (s)", t_ours, "s")
    figure(
        group,
        f"cKDTree per frame, measured on {n_slice:,} frames, scaled to {n_frames:,} (s)",
        t_base,
        "s",
    )
    figure(group, "speed-up vs per-frame cKDTree (scaled)", t_base / t_ours, "x", ">=100")


@pytest.fixture(scope="module")
def school(bench_size):
    n_frames = bench_size(small=20, full=200)
    return _school(1000, n_frames, seed=2)


@pytest.mark.parametrize("impl", ["moveo", "cKDTree"])
def test_nn_thousand_individuals(benchmark, tag, school, impl):
    long, xf, yf = school
    group = f"nearest-neighbor 1000 ind x {xf.shape[0]} frames"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo nearest_neighbors (grid)")
        rows, _ = benchmark(nearest_neighbors, long["x"], long["y"], long["ids"], long["frames"])
        got = np.where(rows[:, 0] >= 0, long["ids"][rows[:, 0]], -1).reshape(1000, -1).T
        np.testing.assert_array_equal(got, _ckdtree_per_frame(xf, yf))
    else:
        tag(benchmark, group, ours=False, target=">=2", label="scipy cKDTree built per frame")
        benchmark(_ckdtree_per_frame, xf, yf)


# ----------------------------------------------------------------------------- body scale


@pytest.fixture(scope="module")
def poses(bench_size):
    n = bench_size(small=50_000, full=10_000_000)
    rng = np.random.default_rng(3)
    t = np.linspace(0, 4, 7)
    theta = rng.uniform(-np.pi, np.pi, (n, 1))
    px = np.asfortranarray(
        rng.uniform(0, 100, (n, 1)) + t * np.cos(theta) + rng.normal(0, 0.05, (n, 7))
    )
    py = np.asfortranarray(
        rng.uniform(0, 100, (n, 1)) + t * np.sin(theta) + rng.normal(0, 0.05, (n, 7))
    )
    px[rng.random(px.shape) < 0.05] = np.nan
    return px, py


def _numpy_scale(px, py, chunk=250_000):
    # baseline: (rows, K, K) pairwise distances, upper triangle, nanmedian per row
    k = px.shape[1]
    iu = np.triu_indices(k, 1)
    out = np.empty(px.shape[0])
    for s in range(0, px.shape[0], chunk):
        x, y = px[s : s + chunk], py[s : s + chunk]
        d = np.hypot(x[:, :, None] - x[:, None, :], y[:, :, None] - y[:, None, :])
        pairs = d[:, iu[0], iu[1]]
        with np.errstate(all="ignore"):
            all_nan = np.isnan(pairs).all(axis=1)
            pairs[all_nan] = 0.0  # nanmedian warns on all-NaN rows
            out[s : s + chunk] = np.nanmedian(pairs, axis=1)
            out[s : s + chunk][all_nan] = np.nan
    return out


@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_body_scale(benchmark, tag, poses, impl):
    px, py = poses
    group = f"body-scale 7 keypoints x {px.shape[0]:,} rows"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo body_scale (median-pairwise)")
        got = benchmark(body_scale, px, py)
        np.testing.assert_allclose(got[:2000], _numpy_scale(px[:2000], py[:2000]))
    else:
        tag(
            benchmark,
            group,
            ours=False,
            target=">=10",
            label="numpy (rows, K, K) distances + nanmedian",
        )
        benchmark(_numpy_scale, px, py)


# ----------------------------------------------------------------------------- end to end

_E2E_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading, time
    import polars as pl
    import psutil
    from moveo.dataset import Dataset
    from moveo.features import SpeedAngvel
    from moveo.pipeline.run import run_feature

    root, workers = sys.argv[1], int(sys.argv[2])
    ds = Dataset.open(root)
    entries = ds.entries()
    rows = sum(ds.entry_info(g, s)["n_rows"] for g, s in entries)
    largest = max(ds.read(g, s).estimated_size() for g, s in entries) / 2**20
    # compile outside the measurement
    SpeedAngvel(params={"fps": 30.0}).apply(ds.read(*entries[0]).head(10))
    proc = psutil.Process()
    base = peak = proc.memory_info().rss
    running = True

    def sample():
        global peak
        while running:
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    run_feature(ds, SpeedAngvel(), overwrite=True,
                parallel_workers=workers if workers > 1 else None)
    dt = time.perf_counter() - t0
    running = False
    sampler.join()
    print(json.dumps({"seconds": dt, "rows": rows, "entries": len(entries),
                      "peak_mb": (peak - base) / 2**20, "largest_entry_mb": largest}))
    """
)


@pytest.fixture(scope="module")
def e2e_dataset(tmp_path_factory, bench_size):
    from moveo.io.synthetic import generate_dataset

    n_entries = bench_size(small=4, full=10)
    n_frames = bench_size(small=2_500, full=250_000)
    root = tmp_path_factory.mktemp("e2e") / "ds"
    generate_dataset(
        root,
        n_groups=n_entries // 2,
        n_sequences=2,
        n_individuals=4,
        n_frames=n_frames,
        pose=False,
        gap_fraction=0.01,
    )
    return root


def _run_e2e(root, workers):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _E2E_SCRIPT, str(root), str(workers)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_end_to_end_through_dataset(e2e_dataset, figure):
    """read parquet -> speed-angvel -> write parquet, each run in a fresh process.

    Peak memory is the growth of the process RSS over its size before the run
    (sampled every 2 ms), next to the in-memory size of the largest entry.
    """
    seq = _run_e2e(e2e_dataset, 1)
    par = _run_e2e(e2e_dataset, 2)
    group = f"end-to-end speed-angvel, {seq['entries']} entries, {seq['rows']:,} rows"
    figure(
        group,
        "1 entry at a time x 2 kernel threads: rows/s",
        seq["rows"] / seq["seconds"],
        "rows/s",
    )
    figure(
        group,
        "2 entries in threads x 1 kernel thread: rows/s",
        par["rows"] / par["seconds"],
        "rows/s",
    )
    figure(group, "largest entry in memory", seq["largest_entry_mb"], "MB")
    figure(
        group,
        "peak RSS growth, 1 entry at a time",
        seq["peak_mb"],
        "MB",
        "bounded by the largest entry, not the dataset",
    )
    figure(group, "peak RSS growth, 2 entries in threads", par["peak_mb"], "MB")


def _timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0
