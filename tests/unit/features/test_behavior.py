"""The behavior-classifier feature applies a trained model per entry, cached like any feature."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from moveo import run_feature
from moveo.features import BehaviorClassifierFeature
from moveo.labels import read_labels
from moveo.models import BehaviorClassifier
from moveo.pipeline import train_model
from unit.models._kinematics import behaviour_dataset

CONFIG = {
    "features": [{"feature": "test-kinematics"}],
    "estimator_params": {"max_iter": 30},
    "epochs": 1,
    "n_threads": 1,
}


def test_apply_trained_model_to_every_entry(tmp_dataset):
    ds = tmp_dataset
    kin = behaviour_dataset(ds, n_sequences=4, n_frames=300)
    run_id = train_model(ds, BehaviorClassifier(), CONFIG)
    feat = BehaviorClassifierFeature.for_run(ds, run_id)
    assert [r.run_id for r in feat.inputs] == [kin.run_id]
    res = run_feature(ds, feat)
    g, s = ds.entries()[0]
    out = pl.read_parquet(
        ds.features_root / "behavior-classifier" / res.run_id / g / f"{s}.parquet"
    )
    assert out.columns == [
        "group",
        "sequence",
        "id",
        "frame",
        "predicted",
        "proba_approaching",
        "proba_cruising",
        "proba_resting",
        "proba_turning",
    ]
    truth = read_labels(ds, "behavior", g, s)
    assert out.height == truth.height
    # frame 0 has NaN speed (no previous frame): no prediction instead of a guess
    first = out.filter(pl.col("frame") == 0)
    assert first["predicted"].null_count() == first.height
    joined = out.join(truth, on=["id", "frame"]).drop_nulls("predicted")
    assert (joined["predicted"] == joined["label"]).mean() > 0.9
    # cached: same params, same run id, nothing recomputed
    assert run_feature(ds, BehaviorClassifierFeature.for_run(ds, run_id)).run_id == res.run_id
    # model_path gives the inputs from the model itself
    path = ds.models_root / "behavior-classifier" / run_id / "model.joblib"
    by_path = BehaviorClassifierFeature({"model_path": str(path), "probabilities": False})
    res2 = run_feature(ds, by_path)
    out2 = pl.read_parquet(
        ds.features_root / "behavior-classifier" / res2.run_id / g / f"{s}.parquet"
    )
    assert out2.columns == ["group", "sequence", "id", "frame", "predicted"]
    assert out2["predicted"].equals(out["predicted"])


def test_bad_params_and_inputs(tmp_dataset):
    with pytest.raises(ValidationError, match="exactly one of 'model_run'"):
        BehaviorClassifierFeature({})
    with pytest.raises(ValidationError, match="exactly one of 'model_run'"):
        BehaviorClassifierFeature({"model_run": "a", "model_path": "b"})
    with pytest.raises(ValueError, match="pass inputs"):
        BehaviorClassifierFeature({"model_run": "0.1-abc"})
    with pytest.raises(FileNotFoundError, match="no fitted model"):
        BehaviorClassifierFeature({"model_path": str(tmp_dataset.root / "none.joblib")})
    ds = tmp_dataset
    behaviour_dataset(ds, n_sequences=4, n_frames=300)
    run_id = train_model(ds, BehaviorClassifier(), CONFIG)
    feat = BehaviorClassifierFeature.for_run(ds, run_id)
    g, s = ds.entries()[0]
    df = ds.read(g, s).with_columns(speed=pl.lit(1.0))
    with pytest.raises(ValueError, match=r"input lacks column\(s\) \['angspeed'\]"):
        feat.apply(df)
