"""Layer 2: Feature classes (polars DataFrame -> kernels -> polars DataFrame).

Every class here follows the Feature protocol (``name``, ``version``,
``parallelizable``, ``scope_dependent``; ``load_state`` / ``fit`` / ``apply`` /
``save_state``; a nested pydantic ``Params``). Names resolve lazily, so
importing :mod:`moveo.features` is cheap.

Use :func:`get_feature` to look a feature class up by its registered name
(``"speed-angvel"``, ``"nearest-neighbor"``, ...).
"""

from __future__ import annotations

import importlib
from typing import Any

# class name -> (module, feature name)
_CLASSES: dict[str, tuple[str, str]] = {
    "SpeedAngvel": ("moveo.features.speed_angvel", "speed-angvel"),
    "NearestNeighbor": ("moveo.features.nearest_neighbor", "nearest-neighbor"),
    "BodyScale": ("moveo.features.body_scale", "body-scale"),
    "Heading": ("moveo.features.heading", "heading"),
    "RollingStats": ("moveo.features.rolling_stats", "rolling-stats"),
    "EMGWindowFeatures": ("moveo.features.emg_features", "emg-features"),
    "ExtractTemplates": ("moveo.features.templates", "extract-templates"),
    "GlobalScaler": ("moveo.features.global_models", "global-scaler"),
    "GlobalKMeans": ("moveo.features.global_models", "global-kmeans"),
    "GlobalWard": ("moveo.features.global_models", "global-ward"),
    "BehaviorClassifierFeature": ("moveo.features.behavior", "behavior-classifier"),
    "PairPosition": ("moveo.features.pairs.position", "pair-position"),
    "PairEgocentric": ("moveo.features.pairs.position", "pair-egocentric"),
    "PairFacing": ("moveo.features.pairs.facing", "pair-facing"),
    "AttentionTarget": ("moveo.features.pairs.facing", "attention-target"),
}

__all__ = [*sorted(_CLASSES), "feature_names", "get_feature"]


def __getattr__(name: str) -> Any:
    spec = _CLASSES.get(name)
    if spec is None:
        raise AttributeError(f"module 'moveo.features' has no attribute {name!r}")
    value = getattr(importlib.import_module(spec[0]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CLASSES))


def feature_names() -> list[str]:
    """Return the registered feature names (e.g. ``"speed-angvel"``).

    Returns
    -------
    list of str
    """
    return sorted(feature for _, feature in _CLASSES.values())


def get_feature(name: str) -> type:
    """Return the feature class registered under ``name``.

    Parameters
    ----------
    name : str
        A feature name such as ``"speed-angvel"`` (or a class name such as
        ``"SpeedAngvel"``).

    Returns
    -------
    type
        The feature class.

    Raises
    ------
    KeyError
        If no feature has that name; the message lists the valid names.
    """
    for cls_name, (_, feature) in _CLASSES.items():
        if name in (feature, cls_name):
            return __getattr__(cls_name)
    raise KeyError(f"unknown feature {name!r}; known features: {', '.join(feature_names())}")
