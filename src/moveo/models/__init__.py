"""Trainable models for :func:`moveo.train_model`.

- :class:`BehaviorClassifier`: frame-level behaviour classifier over pipeline
  feature outputs and labels (fitted model: :class:`BehaviorModel`).
- :class:`EMGClassifier`: gesture classifier over EMG window features of
  recorded sessions (fitted model: :class:`EMGModel`, loadable by the realtime
  predictor).
- :func:`load_model`: load a fitted model from ``models/<name>/<run_id>``.

Names resolve lazily, so importing :mod:`moveo.models` does not import
scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BehaviorClassifier": "moveo.models.behavior",
    "BehaviorClassifierConfig": "moveo.models.behavior",
    "BehaviorModel": "moveo.models.behavior",
    "EMGClassifier": "moveo.models.emg",
    "EMGClassifierConfig": "moveo.models.emg",
    "EMGModel": "moveo.models.emg",
    "FeatureRef": "moveo.models.base",
    "ModelConfig": "moveo.models.base",
    "TrainableModel": "moveo.models.base",
    "load_model": "moveo.models.base",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'moveo.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
