"""The feature contract: Params merging and errors, frozen results, Inputs, load specs,
artifact refs, the protocol check.
"""

from __future__ import annotations

import joblib
import numpy as np
import polars as pl
import pytest
from pydantic import Field, ValidationError

from moveo._fs import UnverifiedArtifactError, atomic_write_joblib
from moveo.pipeline.types import (
    ArtifactSpec,
    BodyScaleResult,
    Feature,
    GlobalModelParams,
    Inputs,
    InputStream,
    JoblibArtifact,
    JoblibLoadSpec,
    NNResult,
    NpzLoadSpec,
    Params,
    ParquetArtifact,
    ParquetLoadSpec,
    Result,
    ResultColumn,
    TrackInput,
    TracksColumn,
    load_from_spec,
    resolve_order_col,
)
from moveo.schema import Columns, StrictModel


class Window(StrictModel):
    size: int = 5
    center: bool = True


class DemoParams(Params):
    step: int = 1
    scale: float = 2.0
    window: Window = Window()
    nested: Window = Field(default_factory=Window)


def test_from_overrides_defaults_and_override():
    p = DemoParams.from_overrides({"step": 3})
    assert p.step == 3
    assert p.scale == 2.0
    assert DemoParams.from_overrides(None) == DemoParams()
    same = DemoParams(step=7)
    assert DemoParams.from_overrides(same) is same


def test_from_overrides_one_level_deep_merge_only_for_factories():
    p = DemoParams.from_overrides({"nested": {"size": 9}})
    assert p.nested == Window(size=9, center=True)
    # a plain default (not a default_factory) is replaced, not merged: still valid here
    q = DemoParams.from_overrides({"window": {"center": False}})
    assert q.window == Window(size=5, center=False)


def test_from_overrides_unknown_field_named():
    with pytest.raises(ValidationError, match="stepp"):
        DemoParams.from_overrides({"stepp": 3})
    with pytest.raises(ValidationError, match="size_typo"):
        DemoParams.from_overrides({"nested": {"size_typo": 3}})


def test_from_overrides_bad_type():
    with pytest.raises(TypeError, match="expects a dict"):
        DemoParams.from_overrides([("step", 1)])
    with pytest.raises(TypeError, match="pass a dict"):
        DemoParams.from_overrides(Window())


def test_results_are_frozen_and_hashable():
    r = Result(feature="speed-angvel", run_id="0.1-abc")
    assert {r: 1}[Result(feature="speed-angvel", run_id="0.1-abc")] == 1
    with pytest.raises(ValidationError):
        r.run_id = "x"
    with pytest.raises(ValidationError, match="colour"):
        Result(feature="a", colour="red")


def test_typed_results_defaults_and_from_result():
    assert NNResult().feature == "nearest-neighbor"
    assert BodyScaleResult().feature == "body-scale"
    src = Result(feature="body-scale__smoothed", run_id="0.2-ff")
    copy = BodyScaleResult().from_result(src)
    assert isinstance(copy, BodyScaleResult)
    assert (copy.feature, copy.run_id) == ("body-scale__smoothed", "0.2-ff")
    col = ResultColumn(feature="speed-angvel", column="speed").from_result(
        Result(feature="speed-angvel", run_id="0.1-aa")
    )
    assert (col.column, col.run_id) == ("speed", "0.1-aa")
    assert TracksColumn(column="X").column == "X"


def test_inputs_require_and_narrowing():
    both = Inputs(("tracks", Result(feature="nn", run_id="1")))
    assert len(both) == 2
    assert both.uses_tracks()
    assert both.results() == (Result(feature="nn", run_id="1"),)
    assert list(both)[0] == "tracks"

    class TrackOnly(Inputs[TrackInput]):
        pass

    assert TrackOnly(("tracks",)).is_tracks_only()
    with pytest.raises(ValidationError, match="'tracks'"):
        TrackOnly((Result(feature="a"),))

    class NoInputs(Inputs[Result]):
        _require = "empty"

    assert len(NoInputs(())) == 0
    with pytest.raises(ValidationError, match="takes no inputs"):
        NoInputs((Result(feature="a"),))

    class AnyInputs(Inputs[Result]):
        _require = "any"

    assert len(AnyInputs(())) == 0
    assert len(AnyInputs((Result(feature="a"),))) == 1
    with pytest.raises(ValidationError, match="at least one input"):
        Inputs(())
    with pytest.raises(ValidationError, match="only string input"):
        Inputs(("trackz",))


def test_input_stream_fresh_passes():
    frames = [(("g", str(i)), pl.DataFrame({"x": [i]})) for i in range(3)]
    stream = InputStream.from_frames(frames)
    assert stream.n_entries == 3
    assert len(stream) == 3
    first = [k for k, _ in stream]
    second = [k for k, _ in stream()]
    assert first == second == [("g", "0"), ("g", "1"), ("g", "2")]
    with pytest.raises(ValueError, match="n_entries"):
        InputStream(lambda: iter(()), -1)


def test_load_from_spec_npz(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, w=np.arange(6.0).reshape(2, 3))
    out = load_from_spec(path, NpzLoadSpec(key="w", transpose=True))
    assert out.shape == (3, 2)
    assert out[2, 1] == 5.0
    with pytest.raises(KeyError, match="no array 'v'"):
        load_from_spec(path, NpzLoadSpec(key="v"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_from_spec(tmp_path / "nope.npz", NpzLoadSpec(key="w"))


def test_load_from_spec_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    pl.DataFrame(
        {"frame": [0, 1], "label": ["a", "b"], "f1": [1.0, 2.0], "f2": [3.0, 4.0], "junk": [9, 9]}
    ).write_parquet(path)
    df = load_from_spec(path, ParquetLoadSpec(frame_column="frame", drop_columns=["junk"]))
    assert df.columns == ["frame", "f1", "f2"]
    arr = load_from_spec(path, ParquetLoadSpec(columns=["f2", "f1"], transpose=True))
    np.testing.assert_array_equal(arr, [[3.0, 4.0], [1.0, 2.0]])
    keep_all = load_from_spec(path, ParquetLoadSpec(numeric_only=False))
    assert "label" in keep_all.columns
    with pytest.raises(ValueError, match="lacks columns"):
        load_from_spec(path, ParquetLoadSpec(columns=["zzz"]))


def test_load_from_spec_joblib(tmp_path):
    path = tmp_path / "m.joblib"
    atomic_write_joblib({"model": [1, 2, 3], "meta": "x"}, path)
    assert load_from_spec(path, JoblibLoadSpec(key="model")) == [1, 2, 3]
    assert load_from_spec(path, JoblibLoadSpec())["meta"] == "x"
    with pytest.raises(KeyError, match="no key 'nope'"):
        load_from_spec(path, JoblibLoadSpec(key="nope"))
    # a pickle moveo did not write (no checksum sidecar) is not unpickled
    joblib.dump({"model": "foreign"}, tmp_path / "foreign.joblib")
    with pytest.raises(UnverifiedArtifactError, match="no checksum sidecar"):
        load_from_spec(tmp_path / "foreign.joblib", JoblibLoadSpec())
    assert load_from_spec(tmp_path / "foreign.joblib", JoblibLoadSpec(), trust=True) == {
        "model": "foreign"
    }


class KMeansArtifact(JoblibArtifact):
    feature: str = "global-kmeans"


class KMeansParams(GlobalModelParams[KMeansArtifact]):
    k: int = 4


def test_artifact_spec_pattern_and_from_result(tmp_path):
    spec = ArtifactSpec[NpzLoadSpec, object](feature="f", load=NpzLoadSpec(key="a"))
    assert spec.pattern == "*.npz"
    assert ParquetArtifact().pattern == "*.parquet"
    art = KMeansArtifact.from_result(Result(feature="global-kmeans", run_id="0.1-x"))
    assert art.run_id == "0.1-x"
    assert art.pattern == "*.joblib"
    with pytest.raises(ValueError, match="expects output of feature 'global-kmeans'"):
        KMeansArtifact.from_result(Result(feature="global-ward", run_id="1"))
    (tmp_path / "sub").mkdir()
    atomic_write_joblib({"c": 1}, tmp_path / "sub" / "model.joblib")
    found = art.find(tmp_path)
    assert [p.name for p in found] == ["model.joblib"]
    assert art.from_path(found[0]) == {"c": 1}


def test_global_model_params_exclusive():
    default = KMeansParams()
    assert default.templates is not None
    assert default.model is None
    merged = KMeansParams.from_overrides({"templates": {"run_id": "0.1-t"}})
    assert merged.templates.feature == "extract-templates"
    assert merged.templates.run_id == "0.1-t"
    with_model = KMeansParams.from_overrides({"model": {"run_id": "0.1-m"}})
    assert with_model.templates is None
    assert with_model.model.feature == "global-kmeans"
    with pytest.raises(ValidationError, match="not both"):
        KMeansParams.from_overrides({"model": {"run_id": "a"}, "templates": {"run_id": "b"}})
    with pytest.raises(ValidationError, match="must be provided"):
        KMeansParams(templates=None)


def test_resolve_order_col():
    df = pl.DataFrame({"frame": [1], "time": [0.1]})
    assert resolve_order_col(df) == "frame"
    assert resolve_order_col(df, Columns(order_by="time")) == "time"
    assert resolve_order_col(pl.DataFrame({"time": [0.0]})) == "time"
    assert resolve_order_col(df.lazy()) == "frame"
    with pytest.raises(ValueError, match="neither 'frame' nor 'time'"):
        resolve_order_col(pl.DataFrame({"x": [1]}))


def test_feature_protocol_runtime_check():
    class Good:
        name = "good"
        version = "0.1"
        parallelizable = True
        scope_dependent = False
        params = DemoParams()

        def load_state(self, run_root, artifact_paths, dependency_lookups):
            return True

        def fit(self, inputs):
            return None

        def apply(self, df):
            return df

        def save_state(self, run_root):
            return None

    class Bad:
        name = "bad"

    assert isinstance(Good(), Feature)
    assert not isinstance(Bad(), Feature)
