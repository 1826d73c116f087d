"""The one base class of every moveo feature, and the feature registry.

:class:`BaseFeature` owns what every feature shares, so a new feature writes only
its ``name``, ``Params``, ``Inputs`` (when not the tracks) and ``apply``:

* the constructor ``Feature(params=None, inputs=None, *, columns=None, pose=None)``
  (``params`` a dict of overrides or a ``Params`` instance, ``inputs`` an
  ``Inputs`` instance or a plain tuple of ``"tracks"`` / :class:`~moveo.contract.Result`);
* :meth:`BaseFeature.set_dataset_defaults` (the dataset's fps, column names and
  pose layout; values given to the constructor win);
* stateless ``load_state`` / ``fit`` / ``save_state`` (fit-then-apply features
  override them);
* ``__repr__`` and registration by ``name``: defining a subclass with a ``name``
  registers it, so :func:`moveo.features.get_feature` and
  :func:`moveo.features.feature_names` come from the classes themselves.

This module imports only the contract (:mod:`moveo.contract`), the schema,
pydantic, numpy and polars: constructing a feature never imports the pipeline,
its SQLite registry or its executors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from moveo.contract import Inputs, InputStream, Params, TrackInput
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig

__all__ = ["BaseFeature", "positive_fps", "registered_features"]

_REGISTRY: dict[str, type[BaseFeature]] = {}


def registered_features() -> dict[str, type[BaseFeature]]:
    """Return the feature classes defined so far, by feature name.

    Only classes whose modules have been imported are here; use
    :func:`moveo.features.get_feature` to look a feature up by name (it imports the
    feature modules first).

    Returns
    -------
    dict of str to type
    """
    return dict(_REGISTRY)


def positive_fps(value: float | None, *, source: str) -> float | None:
    """Validate a frame rate: ``None`` or a positive finite number.

    Parameters
    ----------
    value : float or None
        The frame rate.
    source : str
        Where it comes from, for the error message.

    Returns
    -------
    float or None
    """
    if value is None:
        return None
    fps = float(value)
    if not (np.isfinite(fps) and fps > 0.0):
        raise ValueError(
            f"{source}: fps must be a positive number of frames per second, got {value!r}"
        )
    return fps


def _builtin(cls: type) -> bool:
    return cls.__module__.startswith("moveo.")


def _same_class(a: type, b: type) -> bool:
    # the same definition imported twice (module reload, pytest's importlib mode)
    return a.__module__ == b.__module__ and a.__qualname__ == b.__qualname__


class BaseFeature:
    """Base class of every feature: constructor, dataset defaults, state no-ops, registry.

    Parameters
    ----------
    params : dict or Params, optional
        Parameter overrides, merged over the defaults by
        :meth:`moveo.contract.Params.from_overrides`.
    inputs : Inputs or tuple, optional
        Where the data comes from; default :attr:`default_inputs` (the tracks).
    columns : Columns, optional
        Column names (default :data:`moveo.schema.COLUMNS`, or the dataset's once
        :meth:`set_dataset_defaults` ran).
    pose : PoseConfig, optional
        Pose keypoint columns (default :data:`moveo.schema.POSE`, or the dataset's).

    Attributes
    ----------
    name : str
        Registered feature name (the folder under ``features/``).
    version : str
        Part of the run id: bump it when the output changes.
    parallelizable : bool
        Whether :meth:`apply` may run on several entries at once.
    scope_dependent : bool
        Whether the run id includes the entries it ran on (features that fit on
        the whole scope).
    default_inputs : tuple
        Inputs used when none are given.
    dataset_meta_keys : tuple of str
        Keys of the dataset manifest's ``meta`` the feature reads (e.g.
        ``"cm_per_pixel"``). The pipeline hands their values to
        :meth:`set_dataset_meta` and makes them part of the run id, so changing
        them makes the run stale. Default: none.
    output_columns : tuple of str or None
        The columns :meth:`apply` adds to the row keys, when they do not depend
        on the parameters (``moveo features`` lists them); ``None``: not declared.
    dataset_fps : float or None
        The dataset's frame rate, set by :meth:`set_dataset_defaults`.
    dataset_meta : dict
        The values of ``dataset_meta_keys``, set by :meth:`set_dataset_meta`.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.1"
    parallelizable: ClassVar[bool] = True
    scope_dependent: ClassVar[bool] = False
    default_inputs: ClassVar[tuple[Any, ...]] = ("tracks",)
    dataset_meta_keys: ClassVar[tuple[str, ...]] = ()
    output_columns: ClassVar[tuple[str, ...] | None] = None

    class Params(Params):
        """No parameters."""

    class Inputs(Inputs[TrackInput]):
        """Tracks of one entry."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:
            return  # an intermediate base class
        if not isinstance(name, str) or not name or name.startswith(".") or "/" in name:
            raise TypeError(f"{cls.__qualname__}: feature name {name!r} is not a folder name")
        other = _REGISTRY.get(name)
        if other is not None and _builtin(other) and not _same_class(other, cls):
            # moveo's own names are taken; a user's class may be redefined (notebooks)
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__}: feature name {name!r} is already "
                f"registered by {other.__module__}.{other.__qualname__}; pick another name"
            )
        _REGISTRY[name] = cls

    def __init__(
        self,
        params: Mapping[str, Any] | Params | None = None,
        inputs: Inputs | tuple[Any, ...] | list[Any] | None = None,
        *,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        self.params = self.Params.from_overrides(params)
        if inputs is None:
            inputs = self.default_inputs
        self.inputs = inputs if isinstance(inputs, Inputs) else self.Inputs(tuple(inputs))
        self._explicit_columns = columns is not None
        self._explicit_pose = pose is not None
        self.columns: Columns = columns if columns is not None else COLUMNS
        self.pose: PoseConfig = pose if pose is not None else POSE
        self.dataset_fps: float | None = None
        self.dataset_meta: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(params={self.params.model_dump()!r})"

    def set_dataset_defaults(
        self,
        *,
        fps: float | None = None,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        """Take the dataset's frame rate, column names and pose layout.

        The pipeline calls this before :meth:`fit` and :meth:`apply`. Values given
        to the constructor win over the dataset's; a feature's own ``fps``
        parameter (where it has one) wins over the dataset's ``fps``.

        Parameters
        ----------
        fps : float, optional
            The dataset's frames per second (for EMG: the sampling rate in Hz).
        columns : Columns, optional
            The dataset's column names.
        pose : PoseConfig, optional
            The dataset's pose keypoint layout.
        """
        self.dataset_fps = positive_fps(fps, source=f"{self.name}: dataset")
        if columns is not None and not self._explicit_columns:
            self.columns = columns
        if pose is not None and not self._explicit_pose:
            self.pose = pose

    def set_dataset_meta(self, meta: Mapping[str, Any]) -> None:
        """Take the values of :attr:`dataset_meta_keys` from the dataset's manifest.

        The pipeline calls this (after :meth:`set_dataset_defaults`) for features
        that declare keys; missing keys are absent from ``meta``.

        Parameters
        ----------
        meta : mapping
            ``{key: value}`` for the declared keys present in ``Dataset.meta``.
        """
        self.dataset_meta = {k: meta[k] for k in self.dataset_meta_keys if k in meta}

    def column_metadata(self, out: Any) -> dict[str, dict[str, str]] | None:
        """Return parquet field metadata for the output columns (e.g. units).

        The pipeline writes it into the entry's parquet schema (readable with
        ``pyarrow.parquet.read_schema(path).field(name).metadata``). Default: none.

        Parameters
        ----------
        out : polars.DataFrame
            What :meth:`apply` returned for the entry.

        Returns
        -------
        dict or None
            ``{column: {key: value}}``.
        """
        return None

    def load_state(
        self,
        run_root: Path,
        artifact_paths: Mapping[str, Path] | None = None,
        dependency_lookups: Mapping[str, Any] | None = None,
    ) -> bool:
        """Return ``True``: a stateless feature is always ready to apply.

        Fit-then-apply features override this to load their fitted state (and
        return ``False`` when :meth:`fit` must run).

        Parameters
        ----------
        run_root : Path
            ``features/<name>/<run_id>`` of this run.
        artifact_paths : mapping of str to Path, optional
            Resolved artifact files, by parameter name.
        dependency_lookups : mapping, optional
            Lookups of upstream runs.

        Returns
        -------
        bool
        """
        return True

    def fit(self, inputs: InputStream) -> None:
        """Do nothing: a stateless feature has nothing to fit."""

    def save_state(self, run_root: Path) -> None:
        """Do nothing: a stateless feature has no state to save."""
