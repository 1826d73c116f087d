"""The first run on a fresh install: seconds of numba compilation, per kernel module.

Each measurement runs in a fresh Python process with numba's cache out of the way,
so it is what a new install pays:

* per kernel module, the module's registered warm-ups with ``MOVEO_NUMBA_CACHE=0``
  (nothing read from or written to disk). Small size: a few light modules only;
  full size: every module of :mod:`moveo.kernels`;
* the lazy warm-ups: :func:`moveo.emg.warmup` for HTD (what an HTD rig needs) and
  for the whole catalogue, and what :meth:`moveo.realtime.App.start` compiles for
  the demo's app (ring buffer + HTD plan), each beside the full ``emg`` module's
  warm-up it replaces (full size);
* a first ``moveo realtime demo`` on a cold cache, end to end (full size);
* ``moveo.warmup()`` of the four tracking kernel modules with ``jobs=1`` and
  ``jobs=2`` on a cold cache in a temporary ``NUMBA_CACHE_DIR`` (workers fill the
  shared on-disk cache, the parent loads it) -- full size.

Each row reports wall seconds and CPU seconds (the process's and its worker
processes'; compilation is single-threaded, so on a loaded machine one process's
CPU seconds are closer to what a quiet machine's wall clock shows). Figures, not
asserted: the machine is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

GROUP = "first run: compile seconds, cold cache"

_PROBE = r"""
import json, sys, time, importlib
t0, c0 = time.perf_counter(), time.process_time()
kind, arg = sys.argv[1], sys.argv[2]
if kind == "module":
    from moveo import _numba
    n = _numba.warmup_modules(arg)
elif kind == "emg":
    import moveo.emg as emg
    sel = json.loads(arg)
    n = emg.warmup(list(emg.FEATURES) if sel == "ALL" else sel)
elif kind == "app":
    from moveo.realtime import App, Pipeline, SyntheticSource
    from moveo.realtime.training import EMGExtract
    app = App()
    app.add_stream("emg", SyntheticSource(n_channels=8, fs=2000.0), window_ms=200)
    Pipeline(app)
    app.add_warmup(EMGExtract(json.loads(arg), fs=2000.0))
    app.start()
    app.stop()
    n = len(app.warmup_hooks)
elif kind == "all":
    import moveo
    jobs, targets = json.loads(arg)
    n = moveo.warmup(targets, jobs=jobs)
import resource
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = time.process_time() - c0 + kids.ru_utime + kids.ru_stime  # worker processes included
print(json.dumps({"n": n, "wall": time.perf_counter() - t0, "cpu": cpu}))
"""

SMALL_MODULES = ("geometry", "display", "filters")
TRACKING = tuple(f"moveo.kernels.{m}" for m in ("kinematics", "body", "neighbors", "windows"))
ALL_MODULES = (
    "body", "clustering", "collective", "display", "emg", "emg_entropy", "emg_spectral",
    "emg_wavelet", "farthest", "filters", "frames", "geometry", "groups", "kinematics",
    "neighbors", "pairs", "ring", "social", "subsample", "temporal", "trajectory", "windows",
)  # fmt: skip


def _run(kind: str, arg: str, *, cache_dir: str | None = None) -> dict:
    """Run one probe in a fresh interpreter; cache off unless ``cache_dir`` is given."""
    env = dict(os.environ)
    env.pop("MOVEO_DISABLE_JIT", None)
    env.pop("NUMBA_DISABLE_JIT", None)
    with tempfile.TemporaryDirectory(prefix="moveo-compile-") as tmp:
        if cache_dir is None:
            env["MOVEO_NUMBA_CACHE"] = "0"
            env["NUMBA_CACHE_DIR"] = tmp
        else:
            env["MOVEO_NUMBA_CACHE"] = "1"
            env["NUMBA_CACHE_DIR"] = cache_dir
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, kind, arg],
            env=env, capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _record(figure, label: str, result: dict) -> None:
    figure(GROUP, f"{label} (wall)", result["wall"], unit="s")
    figure(GROUP, f"{label} (cpu)", result["cpu"], unit="s")


def _modules(bench_size) -> tuple[str, ...]:
    return bench_size(small=SMALL_MODULES, full=ALL_MODULES)


@pytest.mark.timeout(3600)
def test_compile_per_module(figure, bench_size):
    total = 0.0
    for name in _modules(bench_size):
        result = _run("module", f"moveo.kernels.{name}")
        assert result["n"] >= 1  # the module registers at least one warm-up
        _record(figure, f"moveo.kernels.{name}", result)
        total += result["wall"]
    figure(GROUP, f"sum of {len(_modules(bench_size))} modules (wall)", total, unit="s")


@pytest.mark.timeout(3600)
@pytest.mark.parametrize(
    ("kind", "selection", "small"),
    [
        pytest.param("emg", "HTD", False, id="emg-HTD"),
        pytest.param("app", "HTD", False, id="app-HTD"),
        pytest.param("emg", "ALL", False, id="emg-catalogue"),
    ],
)
def test_compile_lazy_warmups(figure, bench_size, kind, selection, small):
    if not small and bench_size(small=True, full=False):
        pytest.skip("full size only (minutes of compilation)")
    result = _run(kind, json.dumps(selection))
    assert result["n"] >= 1
    label = {
        "emg": f"moveo.emg.warmup({selection!r})",
        "app": f"App.start() of an app with an EMGExtract({selection!r})",
    }[kind]
    _record(figure, label, result)


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("jobs", [1, 2])
def test_compile_in_worker_processes(figure, bench_size, jobs):
    # the four tracking kernel modules (moveo.distributed.TRACKING_KERNELS); full size only
    if bench_size(small=True, full=False):
        pytest.skip("full size only (minutes of compilation)")
    with tempfile.TemporaryDirectory(prefix="moveo-cache-") as cache:
        result = _run("all", json.dumps([jobs, list(TRACKING)]), cache_dir=cache)
    assert result["n"] == len(TRACKING)
    _record(figure, f"moveo.warmup(4 tracking modules, jobs={jobs}), cold cache", result)


@pytest.mark.timeout(3600)
def test_first_realtime_demo(figure, bench_size, tmp_path):
    # `moveo realtime demo` on a cold cache (a temporary NUMBA_CACHE_DIR), end to end:
    # outlet, compile, 6 s recording, training, 3 s of prediction
    if bench_size(small=True, full=False):
        pytest.skip("full size only (a cold compile and a 10 s session)")
    import re
    import time

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "MOVEO_NUMBA_CACHE": "1"}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "moveo.cli", "realtime", "demo", "--dataset", str(tmp_path / "emg")],
        env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr[-2000:]
    ready = re.search(r"kernels ready in ([0-9.]+) s", done.stdout)
    assert ready is not None, done.stdout
    figure(GROUP, "first `moveo realtime demo`, whole run (wall)", wall, unit="s", target="<=40")
    figure(GROUP, "first `moveo realtime demo`, App.start() compiling (wall)",
           float(ready.group(1)), unit="s")  # fmt: skip
