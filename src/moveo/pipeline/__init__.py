"""Cached feature pipelines: types, SQLite registry, ``run_feature``, ``Pipeline``.

See the Pipeline guide (``docs/pipeline.md``). ``train_model`` (in
:mod:`moveo.pipeline.training`) and ``import_mosaic`` (in
:mod:`moveo.pipeline.mosaic`, which imports the feature classes) are re-exported
lazily, like ``load_pipeline_file`` (:mod:`moveo.pipeline.declarative`), so
importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from moveo.contract import (
    ArtifactSpec,
    BodyScaleResult,
    Columns,
    Feature,
    FeatureLabelsSource,
    GlobalModelParams,
    GroundTruthLabelsSource,
    InputItemLike,
    InputRequire,
    Inputs,
    InputsLike,
    InputStream,
    JoblibArtifact,
    JoblibLoadSpec,
    LabelsSource,
    LoadSpec,
    NNResult,
    NpzArtifact,
    NpzLoadSpec,
    Params,
    ParquetArtifact,
    ParquetLoadSpec,
    PoseConfig,
    Result,
    ResultColumn,
    StrictModel,
    TrackInput,
    TracksColumn,
    load_from_spec,
    resolve_order_col,
)
from moveo.pipeline.pipeline import CallbackStep, FeatureStep, Pipeline
from moveo.pipeline.registry import FeatureRegistry, open_registry
from moveo.pipeline.run import FeatureRunError, read_feature, run_feature

_LAZY = {
    "train_model": "moveo.pipeline.training",
    "import_mosaic": "moveo.pipeline.mosaic",
    "MosaicImportReport": "moveo.pipeline.mosaic",
    "load_pipeline_file": "moveo.pipeline.declarative",
}

__all__ = [
    "ArtifactSpec",
    "BodyScaleResult",
    "CallbackStep",
    "Columns",
    "Feature",
    "FeatureLabelsSource",
    "FeatureRegistry",
    "FeatureRunError",
    "FeatureStep",
    "GlobalModelParams",
    "GroundTruthLabelsSource",
    "InputItemLike",
    "InputRequire",
    "InputStream",
    "Inputs",
    "InputsLike",
    "JoblibArtifact",
    "JoblibLoadSpec",
    "LabelsSource",
    "LoadSpec",
    "MosaicImportReport",
    "NNResult",
    "NpzArtifact",
    "NpzLoadSpec",
    "Params",
    "ParquetArtifact",
    "ParquetLoadSpec",
    "Pipeline",
    "PoseConfig",
    "Result",
    "ResultColumn",
    "StrictModel",
    "TrackInput",
    "TracksColumn",
    "import_mosaic",
    "load_from_spec",
    "load_pipeline_file",
    "open_registry",
    "read_feature",
    "resolve_order_col",
    "run_feature",
    "train_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'moveo.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
