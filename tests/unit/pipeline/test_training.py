"""train_model with the behaviour classifier: caching, records, progress, failures."""

from __future__ import annotations

import io
import json
import sqlite3

import numpy as np
import polars as pl
import pytest
from rich.console import Console

import moveo
from moveo.labels import add_labels
from moveo.models import BehaviorClassifier, BehaviorModel, load_model
from moveo.pipeline import train_model
from moveo.pipeline.progress import TerminalProgressCallback, read_progress
from moveo.pipeline.training import ModelRunStore
from unit.models._kinematics import behaviour_dataset

CONFIG = {
    "features": [{"feature": "test-kinematics"}],
    "estimator_params": {"max_iter": 40},
    "epochs": 2,
    "n_threads": 1,
}


class Recorder:
    def __init__(self):
        self.events = []

    def on_epoch_end(self, epoch, total_epochs, metrics):
        self.events.append(("epoch", epoch, total_epochs, dict(metrics)))

    def on_class_start(self, class_idx, total_classes, class_name):
        self.events.append(("class", class_idx, total_classes, class_name))

    def on_phase(self, phase, message):
        self.events.append(("phase", phase))


@pytest.fixture
def behaviour_ds(tmp_dataset):
    behaviour_dataset(tmp_dataset)
    return tmp_dataset


def test_train_writes_run_and_caches(behaviour_ds):
    ds = behaviour_ds
    rec = Recorder()
    run_id = train_model(ds, BehaviorClassifier(), CONFIG, progress_callback=rec)
    assert moveo.train_model is train_model
    assert run_id.startswith("0.1-")
    root = ds.models_root / "behavior-classifier" / run_id
    assert sorted(p.name for p in root.iterdir()) == [
        "config.json",
        "metrics.json",
        "model.joblib",
        "model.joblib.json",  # its checksum sidecar
    ]
    metrics = json.loads((root / "metrics.json").read_text())
    assert metrics["classes"] == ["approaching", "cruising", "resting", "turning"]
    test = metrics["test"]
    assert set(test["per_class"]) == set(metrics["classes"])
    assert np.array(test["confusion_matrix"]).shape == (4, 4)
    assert np.array(test["confusion_matrix"]).sum() == test["n_rows"] > 0
    for name, block in test["per_class"].items():
        assert block["f1"] > 0.8, (name, block)
    # no sequence is in two splits
    split = metrics["entries"]
    sets = [set(map(tuple, split[k])) for k in ("train", "validation", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert len(sets[0] | sets[1] | sets[2]) == 6
    # progress: phases, one class start per class (ovr), epochs per class
    kinds = [e[0] for e in rec.events]
    assert [e[3] for e in rec.events if e[0] == "class"] == metrics["classes"]
    assert kinds.count("epoch") == 4 * 2
    phases = [e[1] for e in rec.events if e[0] == "phase"]
    assert phases[0] == "start"
    assert phases[-1] == "done"
    assert {"load", "split", "fit", "thresholds", "evaluate", "save"} <= set(phases)
    # recorded in the registry database, with the same events
    db = ds.internal_root / "registry.db"
    with ModelRunStore(db) as store:
        row = store.get("behavior-classifier", run_id)
    assert row["status"] == "finished"
    assert row["finished_at"] is not None
    assert row["inputs"]["features"][0][0] == "test-kinematics"
    stored = read_progress(db, f"behavior-classifier/{run_id}")
    assert [r["event_type"] for r in stored] == [
        {"phase": "phase", "class": "class_start", "epoch": "epoch"}[k] for k in kinds
    ]
    # same config: cached, nothing retrained
    rec2 = Recorder()
    mtime = (root / "model.joblib").stat().st_mtime_ns
    assert train_model(ds, BehaviorClassifier(), CONFIG, progress_callback=rec2) == run_id
    assert rec2.events == [("phase", "cached")]
    assert (root / "model.joblib").stat().st_mtime_ns == mtime
    # overwrite retrains under the same id
    assert train_model(ds, BehaviorClassifier(), CONFIG, overwrite=True) == run_id
    assert (root / "model.joblib").stat().st_mtime_ns != mtime


def test_saved_model_is_self_describing(behaviour_ds):
    ds = behaviour_ds
    run_id = train_model(ds, BehaviorClassifier(), {**CONFIG, "strategy": "multiclass"})
    model = load_model(ds.models_root / "behavior-classifier" / run_id)
    assert isinstance(model, BehaviorModel)
    assert model.feature_columns == ["speed", "angspeed"]
    assert model.features[0].run_id is not None
    assert model.info["run_id"] == run_id
    x = pl.DataFrame({"speed": [0.3, 10.0, 3.0], "angspeed": [0.0, 0.0, 2.5]})
    assert model.predict(x).tolist() == ["resting", "cruising", "turning"]
    proba = model.predict_proba(x)
    assert proba.shape == (3, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"needs columns \['angspeed'\]"):
        model.predict(x.drop("angspeed"))


def test_config_from_json_file_and_identity(behaviour_ds, tmp_path):
    ds = behaviour_ds
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(CONFIG))
    a = train_model(ds, BehaviorClassifier(), path)
    assert train_model(ds, BehaviorClassifier(), dict(CONFIG)) == a
    # a different hyperparameter or changed labels give a new run id
    b = train_model(ds, BehaviorClassifier(), {**CONFIG, "random_state": 1})
    assert b != a
    labels = pl.concat(
        [
            moveo.labels.read_labels(ds, "behavior", g, s).with_columns(
                group=pl.lit(g), sequence=pl.lit(s)
            )
            for g, s in ds.entries()
        ]
    )
    flipped = labels.with_columns(
        pl.when(pl.col("frame") == 1).then(pl.lit("resting")).otherwise("label").alias("label")
    )
    add_labels(ds, "behavior", flipped, overwrite=True)
    assert BehaviorClassifier().identity(ds, BehaviorClassifier.Config(**CONFIG))["labels"]
    c = train_model(ds, BehaviorClassifier(), CONFIG)
    assert c != a


def test_bad_configs(behaviour_ds, tmp_path):
    ds = behaviour_ds
    with pytest.raises(ValueError, match="invalid config for model 'behavior-classifier'"):
        train_model(ds, BehaviorClassifier(), {**CONFIG, "learning_rat": 0.1})
    with pytest.raises(ValueError, match="features"):
        train_model(ds, BehaviorClassifier(), {})
    with pytest.raises(ValueError, match="feature 'nope' has no finished run"):
        train_model(ds, BehaviorClassifier(), {"features": [{"feature": "nope"}]})
    with pytest.raises(ValueError, match="no labels of kind 'other'"):
        train_model(ds, BehaviorClassifier(), {**CONFIG, "labels": "other"})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train_model(ds, BehaviorClassifier(), tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        train_model(ds, BehaviorClassifier(), tmp_path / "bad.json")
    with pytest.raises(TypeError, match="is not a trainable model"):
        train_model(ds, object(), CONFIG)
    with pytest.raises(ValueError, match=r"classes \['flying'\] never occur"):
        train_model(ds, BehaviorClassifier(), {**CONFIG, "classes": ["resting", "flying"]})
    # a failed run is recorded as failed, not finished
    with sqlite3.connect(ds.internal_root / "registry.db") as conn:
        statuses = {s for (s,) in conn.execute("SELECT status FROM model_runs")}
    assert statuses == {"failed"}


@pytest.mark.parametrize("estimator", ["random_forest", "logistic"])
def test_other_estimators(behaviour_ds, estimator):
    ds = behaviour_ds
    out = TerminalProgressCallback(console=Console(file=io.StringIO()))
    params = {"n_estimators": 20} if estimator == "random_forest" else {}
    run_id = train_model(
        ds,
        BehaviorClassifier(),
        {**CONFIG, "estimator": estimator, "estimator_params": params, "tune_thresholds": False},
        progress_callback=out,
    )
    metrics = json.loads(
        (ds.models_root / "behavior-classifier" / run_id / "metrics.json").read_text()
    )
    assert metrics["thresholds"] == [0.5] * 4
    assert metrics["test"]["macro_f1"] > 0.8
    assert sum(e[0] == "epoch" for e in out.events) == 4  # one epoch per class
