"""Pipeline reliability with real processes, files and SQLite.

Crash resume (SIGKILL mid-step), two concurrent runs, atomic outputs under a
concurrent reader, failing entries in worker processes, a read-only dataset.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from moveo import Dataset
from moveo.pipeline import FeatureStep, Pipeline, read_feature, run_feature
from moveo.pipeline.registry import RegistryReadOnlyError, open_registry
from moveo.pipeline.run import FeatureRunError
from unit.pipeline.pipeline_features import Flaky, RollingMean, StepLength, make_tracks

TESTS_DIR = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from moveo import Dataset
    from moveo.pipeline import FeatureStep, Pipeline
    from unit.pipeline.pipeline_features import RollingMean, StepLength

    ds = Dataset.open(sys.argv[1])
    params = {{"sleep_s": float(sys.argv[2]), "log_calls": sys.argv[3]}}
    p = (
        Pipeline(name="reliability")
        .add(FeatureStep("step", StepLength, params=params))
        .add(FeatureStep("roll", RollingMean, params={{"window": 4}}, input_names=["step"]))
    )
    results = p.run(ds, progress=False)
    print(json.dumps({{k: v.run_id for k, v in results.items()}}))
    """
)


def make_pipeline(sleep_s, log):
    params = {"sleep_s": sleep_s, "log_calls": str(log)}
    return (
        Pipeline(name="reliability")
        .add(FeatureStep("step", StepLength, params=params))
        .add(FeatureStep("roll", RollingMean, params={"window": 4}, input_names=["step"]))
    )


def new_dataset(path):
    ds = Dataset.create(path, fps=30.0)
    ds.add_tracks(make_tracks(n_groups=2, n_sequences=6, n_frames=40))
    return ds


def outputs(ds, results):
    return {
        (name, g, s): read_feature(ds, res, g, s)
        for name, res in results.items()
        for g, s in ds.entries()
    }


def assert_same_values(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].equals(b[key], null_equal=True), key


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "run_pipeline.py"
    path.write_text(SCRIPT.format(tests=str(TESTS_DIR)))
    return path


def start(script, ds, sleep_s, log):
    return subprocess.Popen(
        [sys.executable, str(script), str(ds.root), str(sleep_s), str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def complete_keys(ds, feature="step-length"):
    with open_registry(ds) as reg:
        done = reg.list_entries(feature, status="complete")
    return set(zip(done["group"], done["sequence"], strict=True))


def test_crash_resume_after_sigkill(tmp_path, script):
    ds = new_dataset(tmp_path / "ds")
    log = tmp_path / "calls.txt"
    proc = start(script, ds, 0.25, log)
    deadline = time.monotonic() + 120
    while len(complete_keys(ds)) < 3:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the pipeline never recorded 3 entries"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = complete_keys(ds)
    assert 3 <= len(done_at_kill) < 12
    # whatever is on disk under a final name is a complete parquet file
    for path in ds.features_root.rglob("*.parquet"):
        if ".tmp-" not in path.name:
            assert pl.read_parquet(path).height == 80
    calls_before = log.read_text().splitlines()

    results = make_pipeline(0.25, log).run(ds, progress=False)
    recomputed = log.read_text().splitlines()[len(calls_before) :]
    expected = {f"{g}/{s}" for g, s in ds.entries()} - {f"{g}/{s}" for g, s in done_at_kill}
    assert sorted(recomputed) == sorted(expected)  # only the missing entries
    assert not [p for p in ds.features_root.rglob("*") if ".tmp-" in p.name]
    with open_registry(ds) as reg:
        for res in results.values():
            assert reg.entry_count(res.feature, res.run_id) == 12
            assert reg.run_is_finished(res.feature, res.run_id)
            assert reg.list_entries(res.feature, res.run_id).height == 12

    # the same pipeline, uninterrupted, on an identical dataset
    ref_ds = new_dataset(tmp_path / "ref")
    reference = make_pipeline(0.25, log).run(ref_ds, progress=False)  # same params
    assert reference == results
    assert_same_values(outputs(ds, results), outputs(ref_ds, reference))


def test_two_processes_run_the_same_pipeline(tmp_path, script):
    ds = new_dataset(tmp_path / "ds")
    log = tmp_path / "calls.txt"
    procs = [start(script, ds, 0.1, log) for _ in range(2)]
    finished = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, finished, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    ids = [json.loads(out.strip().splitlines()[-1]) for out, _ in finished]
    assert ids[0] == ids[1]
    with open_registry(ds) as reg:
        for step, run_id in ids[0].items():
            feature = {"step": "step-length", "roll": "rolling-mean"}[step]
            entries = reg.list_entries(feature, run_id)
            assert entries.height == 12  # each entry recorded once
            assert set(entries["status"]) == {"complete"}
            assert reg.list_runs(feature).height == 1
    ref_ds = new_dataset(tmp_path / "ref")
    reference = make_pipeline(0.1, log).run(ref_ds, progress=False)  # same params
    assert {k: v.run_id for k, v in reference.items()} == ids[0]
    assert_same_values(outputs(ds, reference), outputs(ref_ds, reference))


def test_reader_never_sees_partial_file(tmp_path):
    ds = new_dataset(tmp_path / "ds")
    res = run_feature(ds, StepLength())
    expected = {k: read_feature(ds, res, *k) for k in ds.entries()}
    paths = {
        k: ds.features_root / res.feature / res.run_id / k[0] / f"{k[1]}.parquet" for k in expected
    }
    stop = threading.Event()
    problems = []
    reads = 0

    def reader():
        nonlocal reads
        while not stop.is_set():
            for key, path in paths.items():
                try:
                    df = pl.read_parquet(path)
                except FileNotFoundError:  # never happens with os.replace, but would be fine
                    continue
                except Exception as exc:
                    problems.append(repr(exc))
                    continue
                reads += 1
                if not df.equals(expected[key], null_equal=True):
                    problems.append(f"different content in {key}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(4):
            run_feature(ds, StepLength(), overwrite=True)
    finally:
        stop.set()
        thread.join()
    assert reads > 0
    assert problems == []


def test_failing_entry_in_worker_process(tmp_path):
    ds = new_dataset(tmp_path / "ds")
    marker = tmp_path / "marker"
    marker.touch()
    feat = Flaky({"fail_sequences": ["s3"], "marker": str(marker)})
    with pytest.raises(FeatureRunError, match="ValueError: cannot handle sequence s3") as info:
        run_feature(ds, feat, parallel_workers=2, parallel_mode="process")
    assert info.value.n_ok == 10
    with open_registry(ds) as reg:
        assert reg.entry_count("flaky", info.value.run_id) == 10
    marker.unlink()
    res = run_feature(ds, feat, parallel_workers=2, parallel_mode="process")
    with open_registry(ds) as reg:
        assert reg.entry_count("flaky", res.run_id) == 12


READONLY_SCRIPT = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {tests!r})
    from moveo import Dataset
    from moveo.pipeline import run_feature
    from unit.pipeline.pipeline_features import StepLength
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    ds = Dataset.open(sys.argv[1])
    try:
        run_feature(ds, StepLength(), progress=False)
    except PermissionError as exc:
        print(type(exc).__name__, exc)
        sys.exit(3)
    """
)


def test_read_only_dataset_gives_clear_error(tmp_path):
    # A dataset the current user cannot write. As root (CI containers) permissions do
    # not apply, so the check runs in a subprocess that drops to the 'nobody' user.
    base = Path(tempfile.mkdtemp(prefix="moveo-ro-"))
    try:
        os.chmod(base, 0o755)
        ds = new_dataset(base / "ds")
        script = base / "ro.py"
        script.write_text(READONLY_SCRIPT.format(tests=str(TESTS_DIR)))
        os.chmod(script, 0o644)
        for path in [base / "ds", *(base / "ds").rglob("*")]:
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
        if os.geteuid() != 0:
            with pytest.raises(RegistryReadOnlyError, match="needs a writable dataset folder"):
                run_feature(ds, StepLength())
        env = {**os.environ, "MOVEO_NUMBA_CACHE": "0", "HOME": str(base)}
        proc = subprocess.run(
            [sys.executable, str(script), str(ds.root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 3, proc.stderr
        assert "RegistryReadOnlyError cannot write the feature registry" in proc.stdout
        assert "needs a writable dataset folder" in proc.stdout
    finally:
        for path in [base, *base.rglob("*")]:
            if path.is_dir():
                os.chmod(path, 0o755)
        import shutil

        shutil.rmtree(base)
