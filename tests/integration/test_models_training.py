"""train_model against real SQLite and processes: killed runs, concurrent progress readers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from moveo.models import BehaviorClassifier
from moveo.pipeline import train_model
from moveo.pipeline.progress import SQLiteProgressCallback, read_progress
from moveo.pipeline.training import ModelRunStore
from unit.models._kinematics import behaviour_dataset

CONFIG = {
    "features": [{"feature": "test-kinematics"}],
    "estimator_params": {"max_iter": 30},
    "epochs": 3,
    "n_threads": 1,
}

CHILD = textwrap.dedent(
    """
    import json, pathlib, sys, time
    from moveo import Dataset
    from moveo.models import BehaviorClassifier
    from moveo.pipeline import train_model

    root, marker, config = sys.argv[1], pathlib.Path(sys.argv[2]), json.loads(sys.argv[3])

    class Stall:
        def on_phase(self, phase, message):
            pass
        def on_class_start(self, i, n, name):
            pass
        def on_epoch_end(self, epoch, total, metrics):
            marker.write_text("training")
            time.sleep(120)  # killed here, mid-way through training

    train_model(Dataset.open(root), BehaviorClassifier(), config, progress_callback=Stall())
    """
)


def test_killed_training_is_not_finished_and_retrains_cleanly(tmp_dataset, tmp_path):
    ds = tmp_dataset
    behaviour_dataset(ds, n_sequences=4, n_frames=300)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ds.root), str(marker), json.dumps(CONFIG)], env=env
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "training process exited before reaching an epoch"
            assert time.monotonic() < deadline, "training never reached its first epoch"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with ModelRunStore(ds.internal_root / "registry.db") as store:
        (row,) = store.list("behavior-classifier")
    assert row["status"] == "running"
    assert row["finished_at"] is None
    run_root = ds.models_root / "behavior-classifier" / row["run_id"]
    assert not (run_root / "metrics.json").exists()
    assert not (run_root / "model.joblib").exists()
    # a fresh call does not treat the half run as cached: it trains and finishes it
    run_id = train_model(ds, BehaviorClassifier(), CONFIG)
    assert run_id == row["run_id"]
    with ModelRunStore(ds.internal_root / "registry.db") as store:
        done = store.get("behavior-classifier", run_id)
    assert done["status"] == "finished"
    assert (run_root / "metrics.json").exists()
    assert json.loads((run_root / "metrics.json").read_text())["test"]["n_rows"] > 0


def test_reader_thread_follows_a_training_job(tmp_dataset):
    ds = tmp_dataset
    behaviour_dataset(ds, n_sequences=4, n_frames=300)
    db = ds.internal_root / "registry.db"
    errors: list[BaseException] = []
    snapshots: list[list[tuple[str, object]]] = []
    finished = threading.Event()

    def reader():
        try:
            while not finished.is_set():
                try:
                    rows = read_progress(db, "job-42")
                except FileNotFoundError:
                    continue
                snapshots.append([(r["event_type"], r["id"]) for r in rows])
                time.sleep(0.002)
            snapshots.append([(r["event_type"], r["id"]) for r in read_progress(db, "job-42")])
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    cb = SQLiteProgressCallback(db, "job-42", batch_size=1)
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        run_id = train_model(ds, BehaviorClassifier(), CONFIG, progress_callback=cb)
    finally:
        cb.close()
        finished.set()
        thread.join(timeout=60)
    assert not errors, errors  # in particular no "database is locked"
    final = snapshots[-1]
    ids = [i for _, i in final]
    assert ids == sorted(ids)
    assert [k for k, _ in final].count("class_start") == 4
    assert [k for k, _ in final].count("epoch") == 4 * 3
    for snap in snapshots:  # every snapshot is a prefix of the final, in order
        assert snap == final[: len(snap)]
    # the same events were stored under the run's own job id
    own = read_progress(db, f"behavior-classifier/{run_id}")
    assert [r["event_type"] for r in own] == [k for k, _ in final]


def test_progress_rows_have_metrics(tmp_dataset):
    ds = tmp_dataset
    behaviour_dataset(ds, n_sequences=4, n_frames=300)
    run_id = train_model(ds, BehaviorClassifier(), CONFIG)
    rows = read_progress(ds.internal_root / "registry.db", f"behavior-classifier/{run_id}")
    epochs = [r for r in rows if r["event_type"] == "epoch"]
    assert all("val_f1" in r["metrics"] for r in epochs)
    assert [(r["epoch"], r["total_epochs"]) for r in epochs[:3]] == [(0, 3), (1, 3), (2, 3)]
