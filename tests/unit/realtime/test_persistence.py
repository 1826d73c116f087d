"""save_pickle / load_pickle with a verified JSON sidecar."""

from __future__ import annotations

import json

import pytest

from moveo.realtime import App, Pipeline, SyntheticSource, load_pickle, save_pickle
from moveo.realtime.persistence import ModelMismatchError, read_sidecar, sidecar_path


def _pipeline(n_channels=4, fs=1000.0):
    app = App(warmup=False)
    app.add_stream("emg", SyntheticSource(n_channels=n_channels, fs=fs), window_ms=150)
    return Pipeline(app)


def test_round_trip_with_sidecar(tmp_path):
    p = _pipeline()
    path = save_pickle({"w": [1, 2]}, tmp_path / "sub" / "model.joblib", pipeline=p,
                       class_names=["rest", "fist"])
    assert path == str(tmp_path / "sub" / "model.joblib")
    side = read_sidecar(path)
    assert side["n_channels"] == 4
    assert side["fs"] == 1000.0
    assert side["window_ms"] == 150.0
    assert side["features"] == ["HTD"]
    assert side["class_names"] == ["rest", "fist"]
    assert len(side["sha256"]) == 64
    assert load_pickle(path) == {"w": [1, 2]}
    assert load_pickle(path, pipeline=p) == {"w": [1, 2]}


def test_changed_file_refused_unless_forced(tmp_path):
    path = save_pickle([1, 2, 3], tmp_path / "m.joblib")
    save_pickle([4, 5, 6], tmp_path / "other.joblib")
    (tmp_path / "m.joblib").write_bytes((tmp_path / "other.joblib").read_bytes())
    with pytest.raises(ModelMismatchError, match="the file changed since it was saved"):
        load_pickle(path)
    assert load_pickle(path, force=True) == [4, 5, 6]


def test_mismatch_with_running_streams(tmp_path):
    path = save_pickle("model", tmp_path / "m.joblib", pipeline=_pipeline(n_channels=4))
    with pytest.raises(ModelMismatchError, match="n_channels: model expects 4, running 8"):
        load_pickle(path, pipeline=_pipeline(n_channels=8))
    with pytest.raises(ModelMismatchError, match="fs: model expects 1000.0, running 2000.0"):
        load_pickle(path, pipeline=_pipeline(fs=2000.0))
    assert load_pickle(path, pipeline=_pipeline(n_channels=8), force=True) == "model"


def test_missing_sidecar(tmp_path):
    path = save_pickle("m", tmp_path / "m.joblib")
    sidecar_path(path).unlink()
    with pytest.raises(ModelMismatchError, match="cannot be verified"):
        load_pickle(path)
    assert load_pickle(path, force=True) == "m"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pickle(tmp_path / "nope.joblib")


def test_seed_style_hooks(tmp_path):
    p = _pipeline()
    p.save_model = save_pickle
    p.load_model = load_pickle
    p.model = {"a": 1}
    p.save_model(p.model, tmp_path / "m.joblib")
    p.model = None
    p.model = p.load_model(tmp_path / "m.joblib")
    assert p.model == {"a": 1}
    assert json.loads(sidecar_path(tmp_path / "m.joblib").read_text())["file"] == "m.joblib"
