"""Offline EMG API: windows, the feature catalogue, filters and recordings.

* :func:`windows` / :func:`window_labels` -- zero-copy sliding windows over
  ``(n_samples, n_channels)`` data and one label per window.
* :func:`extract` / :func:`extract_frame` / :class:`FeaturePlan` -- any features
  of the catalogue (:data:`FEATURES`, :data:`GROUPS`) over windows, as a dict of
  arrays, a polars DataFrame, or (plan) one window at a time for realtime use.
* :class:`EMGFeatures` -- the same as a scikit-learn transformer;
  :class:`EMGRegressor` -- features → scaler → ridge (or any regressor) for
  proportional control.
* :mod:`moveo.emg.metrics` -- CA, AER, INS, rejection rate, confusion matrix,
  per-class scores; R², MSE, RMSE, NRMSE, MAE, MAPE.
* :mod:`moveo.emg.evaluation` -- cross-validation by session or cue block
  (never by window) and sequential forward feature selection.
* :mod:`moveo.emg.filters` -- Butterworth / notch design, a causal
  :class:`~moveo.emg.filters.StreamingFilter` and offline :func:`~moveo.emg.filters.filter`.
* :mod:`moveo.emg.recording` -- EMG recordings and label events in a Dataset.

Examples
--------
>>> import numpy as np
>>> import moveo.emg as emg
>>> data = np.random.default_rng(0).standard_normal((2000, 4)).astype(np.float32)
>>> feats = emg.extract(emg.windows(data, 200, 50), "HTD", fs=2000.0)
>>> sorted(feats), feats["MAV"].shape
(['MAV', 'SSC', 'WL', 'ZC'], (37, 4))
"""

from __future__ import annotations

import importlib
from typing import Any

from moveo.emg import filters
from moveo.emg._catalogue import FEATURES, GROUPS, SPECS, FeatureSpec
from moveo.emg.extraction import (
    FeaturePlan,
    extract,
    extract_frame,
    window_labels,
    windows,
)

__all__ = [
    "FEATURES",
    "GROUPS",
    "SPECS",
    "EMGFeatures",
    "EMGRegressor",
    "FeaturePlan",
    "FeatureSpec",
    "evaluation",
    "extract",
    "extract_frame",
    "filters",
    "metrics",
    "recording",
    "window_labels",
    "warmup",
    "windows",
]


def __getattr__(name: str) -> Any:
    # scikit-learn and the Dataset layer load only when used
    if name in ("EMGFeatures", "EMGRegressor"):
        value = getattr(importlib.import_module("moveo.emg.sklearn"), name)
        globals()[name] = value
        return value
    if name == "warmup":  # compile only what a feature selection uses
        value = importlib.import_module("moveo.emg._warm").warmup
        globals()[name] = value
        return value
    if name in ("recording", "metrics", "evaluation"):
        module = importlib.import_module(f"moveo.emg.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'moveo.emg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
