"""Cached feature pipelines: types, SQLite registry, ``run_feature``, ``Pipeline``.

See the Pipeline guide (``docs/pipeline.md``). ``train_model`` lives in
:mod:`moveo.pipeline.training` and is re-exported lazily, so this package
imports even when that module is absent.
"""

from __future__ import annotations

import importlib
from typing import Any

from moveo.contract import (
    ArtifactSpec,
    BodyScaleResult,
    Columns,
    Feature,
    GlobalModelParams,
    InputItemLike,
    InputRequire,
    Inputs,
    InputsLike,
    InputStream,
    JoblibArtifact,
    JoblibLoadSpec,
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

_LAZY = {"train_model": "moveo.pipeline.training"}

__all__ = [
    "ArtifactSpec",
    "BodyScaleResult",
    "CallbackStep",
    "Columns",
    "Feature",
    "FeatureRegistry",
    "FeatureRunError",
    "FeatureStep",
    "GlobalModelParams",
    "InputItemLike",
    "InputRequire",
    "InputStream",
    "Inputs",
    "InputsLike",
    "JoblibArtifact",
    "JoblibLoadSpec",
    "LoadSpec",
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
    "load_from_spec",
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
