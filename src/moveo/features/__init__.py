"""Layer 2: Feature classes (polars DataFrame -> kernels -> polars DataFrame).

Every class here subclasses :class:`moveo.features.base.BaseFeature` (the
Feature protocol: ``name``, ``version``, ``parallelizable``, ``scope_dependent``;
``load_state`` / ``fit`` / ``apply`` / ``save_state``; a nested pydantic
``Params``). Class names resolve lazily, so importing :mod:`moveo.features` is
cheap.

Use :func:`get_feature` to look a feature class up by its registered name
(``"speed-angvel"``, ``"nearest-neighbor"``, ...): the names come from the
classes themselves (defining a subclass with a ``name`` registers it).
"""

from __future__ import annotations

import importlib
from typing import Any

from moveo.features.base import BaseFeature, registered_features

# class name -> module that defines it (lazy attribute access); the feature names
# come from the classes, and a test checks that this table and the classes agree
_CLASSES: dict[str, str] = {
    "SpeedAngvel": "moveo.features.speed_angvel",
    "NearestNeighbor": "moveo.features.nearest_neighbor",
    "BodyScale": "moveo.features.body_scale",
    "Heading": "moveo.features.heading",
    "RollingStats": "moveo.features.rolling_stats",
    "TrajectorySmooth": "moveo.features.trajectory_smooth",
    "TemporalStack": "moveo.features.temporal_stack",
    "ScaleToCm": "moveo.features.scale_to_cm",
    "TrackSubsample": "moveo.features.track_subsample",
    "IdTagColumns": "moveo.features.id_tag_columns",
    "EMGWindowFeatures": "moveo.features.emg_features",
    "ExtractTemplates": "moveo.features.templates",
    "GlobalScaler": "moveo.features.global_models",
    "GlobalKMeans": "moveo.features.global_models",
    "GlobalWard": "moveo.features.global_models",
    "ExtractLabeledTemplates": "moveo.features.labeled_templates",
    "GlobalTsne": "moveo.features.tsne",
    "Arhmm": "moveo.features.arhmm",
    "BehaviorClassifierFeature": "moveo.features.behavior",
    "PairPosition": "moveo.features.pairs.position",
    "PairEgocentric": "moveo.features.pairs.position",
    "PairFacing": "moveo.features.pairs.facing",
    "AttentionTarget": "moveo.features.pairs.facing",
    "OrientationRel": "moveo.features.pairs.orientation",
    "NNDeltaResponse": "moveo.features.pairs.nn_delta",
    "ApproachAvoidance": "moveo.features.pairs.approach",
    "CollectiveMotionMetrics": "moveo.features.collective",
    "LocalOrderMetrics": "moveo.features.collective",
    "FFGroups": "moveo.features.ffgroups",
    "FFGroupsMetrics": "moveo.features.ffgroups",
    "FrameAggregate": "moveo.features.frame_aggregate",
    "SocialMotionSummary": "moveo.features.social",
    "PairPoseDistancePCA": "moveo.features.pairs.posedistance",
    "PairInteractionFilter": "moveo.features.pairs.interaction",
    "PairWavelet": "moveo.features.pairs.wavelet",
    "NNDeltaBins": "moveo.features.pairs.nn_delta_bins",
}

__all__ = [*sorted(_CLASSES), "BaseFeature", "feature_names", "get_feature"]


def __getattr__(name: str) -> Any:
    module = _CLASSES.get(name)
    if module is None:
        raise AttributeError(f"module 'moveo.features' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CLASSES))


def _builtin_features() -> dict[str, type[BaseFeature]]:
    for module in sorted(set(_CLASSES.values())):
        importlib.import_module(module)
    return {
        name: cls
        for name, cls in registered_features().items()
        if cls.__module__.startswith("moveo.")
    }


def feature_names() -> list[str]:
    """Return the names of moveo's features (e.g. ``"speed-angvel"``).

    Returns
    -------
    list of str
        Sorted registered names of the feature classes moveo ships.
    """
    return sorted(_builtin_features())


def get_feature(name: str) -> type[BaseFeature]:
    """Return the feature class registered under ``name``.

    Parameters
    ----------
    name : str
        A feature name such as ``"speed-angvel"`` (or a class name such as
        ``"SpeedAngvel"``). Features defined outside moveo are found by name once
        their module has been imported.

    Returns
    -------
    type
        The feature class.

    Raises
    ------
    KeyError
        If no feature has that name; the message lists the valid names.
    """
    if name in _CLASSES:
        return __getattr__(name)
    builtin = _builtin_features()
    cls = builtin.get(name) or registered_features().get(name)
    if cls is None:
        raise KeyError(f"unknown feature {name!r}; known features: {', '.join(sorted(builtin))}")
    return cls
