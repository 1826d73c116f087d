"""moveo: fast, correct feature pipelines and realtime prediction for movement signals.

The top-level namespace is small and lazy: importing :mod:`moveo` does not import
polars, the pipeline or the realtime stack until you touch them.

Examples
--------
>>> import moveo
>>> moveo.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib
from typing import Any

from moveo._numba import warmup

__version__ = "0.1.0"

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY = {
    "Dataset": "moveo.dataset",
    "run_feature": "moveo.pipeline",
    "train_model": "moveo.pipeline",
    "Pipeline": "moveo.pipeline",
    "read_feature": "moveo.pipeline",
    "import_mosaic": "moveo.pipeline",
    "warmup_features": "moveo.features._warm",
}

__all__ = [
    "Dataset",
    "Pipeline",
    "__version__",
    "import_mosaic",
    "read_feature",
    "run_feature",
    "train_model",
    "warmup",
    "warmup_features",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'moveo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
