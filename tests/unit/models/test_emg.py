"""EMGClassifier: train on window features of sessions; the saved model predicts raw windows."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from moveo import Dataset, run_feature
from moveo.emg import extract_frame, windows
from moveo.models import EMGClassifier, EMGModel, load_model
from moveo.pipeline import train_model
from moveo.pipeline.types import Inputs, Params

FS = 1000.0
CHANNELS = ["ch0", "ch1", "ch2", "ch3"]
# class k activates channel k (and class 0 is rest: all channels quiet)
GAINS = np.array([[0.05, 0.05, 0.05, 0.05], [1.0, 0.1, 0.1, 0.6], [0.1, 1.0, 0.6, 0.1]])


def _class_of(frame):
    return (frame // 500) % 3


def _session(rng, n=6000):
    frames = np.arange(n)
    noise = rng.standard_normal((n, 4))
    data = (noise * GAINS[_class_of(frames)]).astype(np.float32)
    df = pl.DataFrame({"id": np.zeros(n, dtype=np.int64), "frame": frames, "time": frames / FS})
    return df.with_columns(pl.Series(ch, data[:, j]) for j, ch in enumerate(CHANNELS))


class Windows:
    """A small real window-feature run: HTD over 100-sample windows, label = class."""

    name = "test-emg-windows"
    version = "0.1"
    parallelizable = True
    scope_dependent = False

    class Params(Params):
        features: str = "HTD"
        window: int = 100
        increment: int = 50

    class Inputs(Inputs[str]):
        pass

    def __init__(self, params=None):
        self.params = self.Params.from_overrides(params)
        self.inputs = self.Inputs(("tracks",))

    def load_state(self, run_root, artifact_paths, dependency_lookups):
        return True

    def fit(self, inputs):
        return None

    def save_state(self, run_root):
        return None

    def apply(self, df):
        p = self.params
        data = df.select(CHANNELS).to_numpy()
        wins = windows(data, p.window, p.increment)
        feats = extract_frame(wins, p.features, fs=FS, channel_names=CHANNELS)
        last = np.arange(len(wins)) * p.increment + p.window - 1
        keys = pl.DataFrame(
            {
                "group": df["group"][:1].to_list() * len(wins),
                "sequence": df["sequence"][:1].to_list() * len(wins),
                "id": np.zeros(len(wins), dtype=np.int64),
                "frame": last,
                "label": _class_of(last),
            }
        )
        return pl.concat([keys, feats], how="horizontal")


@pytest.fixture
def emg_ds(tmp_path):
    ds = Dataset.create(tmp_path / "emg", fps=FS, kind="emg", meta={"channels": CHANNELS})
    rng = np.random.default_rng(3)
    for s in range(3):
        ds.add_tracks(_session(rng), group="subject0", sequence=f"session{s}")
    run_feature(ds, Windows())
    return ds


def test_train_lda_and_predict_raw_windows(emg_ds):
    ds = emg_ds
    cfg = {"features": {"feature": "test-emg-windows"}}
    run_id = train_model(ds, EMGClassifier(), cfg)
    root = ds.models_root / "emg-classifier" / run_id
    metrics = json.loads((root / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.95
    assert metrics["extraction"] == {"features": "HTD", "window": 100, "increment": 50}
    assert len(metrics["sessions"]["test"]) == 1
    model = load_model(root)
    assert isinstance(model, EMGModel)
    assert (model.fs, model.window, model.n_channels) == (FS, 100, 4)
    assert model.channel_names == CHANNELS
    assert model.feature_columns[:2] == ["MAV_ch0", "MAV_ch1"]
    plan = model.plan()
    rng = np.random.default_rng(9)
    for k in range(3):
        win = (rng.standard_normal((100, 4)) * GAINS[k]).T.astype(np.float32)
        assert model.predict_window(win, plan=plan) == k
    with pytest.raises(ValueError, match=r"expected a window of shape \(n_channels, samples\)"):
        model.predict_window(np.zeros((4, 50)), plan=plan)


@pytest.mark.parametrize("estimator", ["logistic", "random_forest"])
def test_time_split_and_other_estimators(emg_ds, estimator):
    cfg = {
        "features": {"feature": "test-emg-windows"},
        "estimator": estimator,
        "split": "time",
        "estimator_params": {"n_estimators": 30} if estimator == "random_forest" else {},
    }
    run_id = train_model(emg_ds, EMGClassifier(), cfg)
    metrics = json.loads(
        (emg_ds.models_root / "emg-classifier" / run_id / "metrics.json").read_text()
    )
    assert metrics["test"]["macro_f1"] > 0.9
    assert len(metrics["sessions"]["train"]) == 3


def test_missing_extraction_settings_are_explained(emg_ds):
    class Bare(Windows):
        name = "bare-windows"

        class Params(Params):
            size: int = 100

        def apply(self, df):
            self.params = Windows.Params()
            return super().apply(df)

    run_feature(emg_ds, Bare())
    with pytest.raises(ValueError, match=r"bare-windows/.* extracted features \(missing"):
        train_model(emg_ds, EMGClassifier(), {"features": {"feature": "bare-windows"}})
    run_id = train_model(
        emg_ds,
        EMGClassifier(),
        {
            "features": {"feature": "bare-windows"},
            "extraction": {"features": "HTD", "window": 100},
        },
    )
    assert load_model(emg_ds.models_root / "emg-classifier" / run_id).window == 100
