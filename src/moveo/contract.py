"""The feature contract: parameters, inputs, results and artifact load specifications.

This module sits below every feature and the pipeline: it imports only
:mod:`moveo.schema`, :mod:`moveo._fs`, pydantic, numpy and polars, so
constructing a feature never imports the SQLite registry or the executors.
:mod:`moveo.pipeline.types` re-exports every name here unchanged.

Everything a :class:`Feature` declares or consumes is a pydantic model with
unknown fields forbidden, so a typo in a parameter name is an error naming the
field rather than a silently ignored setting.

* :class:`Params` -- base of every feature's nested ``Params`` model;
  :meth:`Params.from_overrides` builds one from a user dict (one-level deep merge).
* :class:`Inputs` -- the tuple of inputs a feature reads: ``"tracks"`` and/or
  :class:`Result` references to upstream features' outputs.
* :class:`Result`, :class:`ResultColumn`, :class:`NNResult`,
  :class:`BodyScaleResult`, :class:`TracksColumn` -- references to data.
* :class:`NpzLoadSpec`, :class:`ParquetLoadSpec`, :class:`JoblibLoadSpec`,
  :class:`ArtifactSpec` and :func:`load_from_spec` -- how to load a file a
  feature run produced (templates, fitted models, ...).
* :class:`LabelsSource`, :class:`GroundTruthLabelsSource`,
  :class:`FeatureLabelsSource` -- a feature's labels dependency: a ``Params``
  field of one of these types makes the pipeline hand the feature the labels
  (``dependency_lookups[<field>]``) and makes a change of those labels a new run.
* :class:`InputStream` -- what :meth:`Feature.fit` receives.
* :class:`Feature` -- the protocol every feature class follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import (
    Any,
    ClassVar,
    Generic,
    Literal,
    Protocol,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from moveo._fs import load_joblib
from moveo.schema import COLUMNS, Columns, PoseConfig, StrictModel

__all__ = [
    "ArtifactSpec",
    "BodyScaleResult",
    "Columns",
    "Feature",
    "FeatureLabelsSource",
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
    "NNResult",
    "NpzArtifact",
    "NpzLoadSpec",
    "Params",
    "ParquetArtifact",
    "ParquetLoadSpec",
    "PoseConfig",
    "Result",
    "ResultColumn",
    "ReadsDatasetMeta",
    "ReadsColumns",
    "DescribesColumns",
    "StrictModel",
    "TakesDatasetDefaults",
    "TrackInput",
    "TracksColumn",
    "load_from_spec",
    "resolve_order_col",
]


# --------------------------------------------------------------------------- params


class Params(StrictModel):
    """Base for all feature parameter models.

    Subclasses declare feature-specific fields with defaults. Unknown keys are
    rejected with a pydantic ``ValidationError`` naming the field.

    Examples
    --------
    >>> class SpeedParams(Params):
    ...     step: int = 1
    ...     smooth: bool = False
    >>> SpeedParams.from_overrides({"step": 3})
    SpeedParams(step=3, smooth=False)
    """

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | Params | None = None) -> Params:
        """Construct from a user dict; missing keys get the field defaults.

        For fields whose default is a pydantic model built by a
        ``default_factory``, a partial dict override is merged on top of that
        default before validation (a one-level deep merge), so
        ``{"templates": {"run_id": "0.1-abc"}}`` keeps the default template
        feature name and only changes its run id.

        Parameters
        ----------
        overrides : mapping, Params or None
            User parameters. An instance of this class is returned unchanged;
            ``None`` gives all defaults.

        Returns
        -------
        Params
            An instance of ``cls``.

        Raises
        ------
        TypeError
            If ``overrides`` is neither a mapping nor an instance of ``cls``.
        pydantic.ValidationError
            If a key is unknown or a value has the wrong type.
        """
        if overrides is None:
            return cls()
        if isinstance(overrides, cls):
            return overrides
        if isinstance(overrides, BaseModel):
            raise TypeError(
                f"{cls.__qualname__}.from_overrides got a {type(overrides).__qualname__}; "
                f"pass a dict or a {cls.__qualname__} instance"
            )
        if not isinstance(overrides, Mapping):
            raise TypeError(
                f"{cls.__qualname__}.from_overrides expects a dict of parameters, "
                f"not {type(overrides).__qualname__}"
            )
        data: dict[str, Any] = dict(overrides)
        for key, value in overrides.items():
            field = cls.model_fields.get(key)
            if field is None or field.default_factory is None or not isinstance(value, Mapping):
                continue
            if field.default_factory_takes_validated_data:
                continue
            default = field.default_factory()  # type: ignore[call-arg]
            if isinstance(default, BaseModel):
                data[key] = {**default.model_dump(exclude_unset=False), **dict(value)}
        return cls.model_validate(data)


# --------------------------------------------------------------------------- results

F = TypeVar("F", bound=str)


class Result(StrictModel, Generic[F]):
    """Reference to a prior feature's output, used as a pipeline input.

    Attributes
    ----------
    feature : str
        Name of the feature whose output to consume.
    run_id : str or None
        A specific run id, or ``None`` for the latest finished run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: F
    run_id: str | None = None

    def from_result(self, result: Result) -> Result:
        """Return a copy with ``feature`` and ``run_id`` taken from ``result``.

        Parameters
        ----------
        result : Result
            The result of a run (e.g. returned by :func:`moveo.run_feature`).

        Returns
        -------
        Result
            A copy of ``self`` (same class, other fields kept).
        """
        return self.model_copy(update={"feature": result.feature, "run_id": result.run_id})

    def resolved(self) -> bool:
        """Return whether the reference names a specific run.

        Returns
        -------
        bool
            ``True`` when :attr:`run_id` is set.
        """
        return self.run_id is not None


class ResultColumn(Result[str]):
    """Reference to one column of a feature's standard parquet output.

    Attributes
    ----------
    feature : str
        Source feature name.
    column : str
        Column name to extract from the parquet output.
    run_id : str or None
        Specific run id, or ``None`` for the latest.
    """

    column: str


class NNResult(Result[str]):
    """Result of a nearest-neighbour-family feature.

    Accepts any feature name (default ``"nearest-neighbor"``) so variants
    computed from other upstream data can be referenced. Use
    :meth:`from_result` to copy ``feature`` and ``run_id`` from a run.
    """

    feature: str = "nearest-neighbor"


class BodyScaleResult(Result[str]):
    """Result of a body-scale-family feature (default feature ``"body-scale"``)."""

    feature: str = "body-scale"


class TracksColumn(StrictModel):
    """Reference to a column in the tracks data.

    Attributes
    ----------
    column : str
        Column name to extract from tracks.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str


# --------------------------------------------------------------------------- load specs


class NpzLoadSpec(StrictModel):
    """Load spec for numpy ``.npz`` archives.

    Attributes
    ----------
    kind : {"npz"}
        Discriminator.
    key : str
        Array key to extract from the archive.
    transpose : bool
        Transpose the loaded array. Default ``False``.
    """

    kind: Literal["npz"] = "npz"
    key: str
    transpose: bool = False


class ParquetLoadSpec(StrictModel):
    """Load spec for parquet files.

    Attributes
    ----------
    kind : {"parquet"}
        Discriminator.
    transpose : bool
        Return a numpy array of shape (n_columns, n_rows) instead of a
        DataFrame. Default ``False``.
    columns : list of str or None
        Explicit column list. ``None`` selects columns with ``numeric_only``.
    drop_columns : list of str or None
        Columns to drop before selecting.
    numeric_only : bool
        Keep only numeric columns (when ``columns`` is ``None``). Default ``True``.
    frame_column : str or None
        Column holding frame indices; kept as the first column of the
        DataFrame, excluded from the transposed array.
    """

    kind: Literal["parquet"] = "parquet"
    transpose: bool = False
    columns: list[str] | None = None
    drop_columns: list[str] | None = None
    numeric_only: bool = True
    frame_column: str | None = None


class JoblibLoadSpec(StrictModel):
    """Load spec for joblib-serialised objects.

    Attributes
    ----------
    kind : {"joblib"}
        Discriminator.
    key : str or None
        Dict key to extract from the loaded object; ``None`` returns it whole.
    """

    kind: Literal["joblib"] = "joblib"
    key: str | None = None


LoadSpec: TypeAlias = NpzLoadSpec | ParquetLoadSpec | JoblibLoadSpec

_PATTERNS = {"npz": "*.npz", "parquet": "*.parquet", "joblib": "*.joblib"}


def load_from_spec(path: str | Path, spec: LoadSpec, *, trust: bool = False) -> Any:
    """Load an artifact file using a typed load specification.

    A joblib artifact is a pickle: it is loaded only when its checksum sidecar
    (written by :func:`moveo._fs.atomic_write_joblib`) matches, see
    ``docs/security.md``.

    Parameters
    ----------
    path : str or Path
        Resolved path to the artifact file.
    spec : NpzLoadSpec, ParquetLoadSpec or JoblibLoadSpec
        How to load it.
    trust : bool, default False
        Load a joblib artifact even if its checksum is missing or wrong.

    Returns
    -------
    object
        ``npz``: a numpy array (transposed if asked). ``parquet``: a
        ``polars.DataFrame`` (or, with ``transpose=True``, a float64 array of
        shape (n_columns, n_rows)). ``joblib``: the stored object (or its
        ``key`` item).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    KeyError
        If the npz/joblib key is missing (the message lists the keys present).
    ValueError
        If requested parquet columns are missing.
    moveo._fs.UnverifiedArtifactError
        A joblib artifact's checksum is missing or does not match (and not ``trust``).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"artifact {path} does not exist (load spec kind={spec.kind!r})")
    if isinstance(spec, NpzLoadSpec):
        with np.load(path, allow_pickle=False) as archive:
            if spec.key not in archive.files:
                raise KeyError(
                    f"npz artifact {path} has no array {spec.key!r}; keys: {sorted(archive.files)}"
                )
            array = archive[spec.key]
        return array.T if spec.transpose else array
    if isinstance(spec, ParquetLoadSpec):
        return _load_parquet(path, spec)
    if isinstance(spec, JoblibLoadSpec):
        obj = load_joblib(path, trust=trust, what="joblib artifact")
        if spec.key is None:
            return obj
        if not isinstance(obj, Mapping) or spec.key not in obj:
            keys = sorted(obj) if isinstance(obj, Mapping) else f"a {type(obj).__name__}"
            raise KeyError(f"joblib artifact {path} has no key {spec.key!r}; it holds {keys}")
        return obj[spec.key]
    raise TypeError(f"unknown load spec {type(spec).__name__}")


def _load_parquet(path: Path, spec: ParquetLoadSpec) -> Any:
    df = pl.read_parquet(path)
    if spec.drop_columns:
        df = df.drop([c for c in spec.drop_columns if c in df.columns])
    frame = spec.frame_column
    if frame is not None and frame not in df.columns:
        raise ValueError(f"parquet artifact {path} has no frame column {frame!r}")
    if spec.columns is not None:
        missing = [c for c in spec.columns if c not in df.columns]
        if missing:
            raise ValueError(
                f"parquet artifact {path} lacks columns {missing}; it has {df.columns}"
            )
        data_cols = [c for c in spec.columns if c != frame]
    else:
        data_cols = [
            c
            for c, dtype in df.schema.items()
            if c != frame and (not spec.numeric_only or dtype.is_numeric())
        ]
    if spec.transpose:
        return df.select(data_cols).to_numpy().astype(np.float64, copy=False).T
    return df.select(([frame] if frame else []) + data_cols)


L = TypeVar("L", NpzLoadSpec, ParquetLoadSpec, JoblibLoadSpec)
R = TypeVar("R")


class ArtifactSpec(Result[str], Generic[L, R]):
    """Reference to a feature artifact file plus how to load it.

    Attributes
    ----------
    feature : str
        Feature whose run produced the artifact.
    run_id : str or None
        Specific run, or ``None`` for the latest finished run.
    load : NpzLoadSpec, ParquetLoadSpec or JoblibLoadSpec
        How to load the matched files.
    pattern : str
        Glob pattern within the run folder; derived from ``load.kind`` when empty.
    """

    load: L
    pattern: str = ""

    @model_validator(mode="after")
    def _default_pattern(self) -> ArtifactSpec:
        if not self.pattern:
            object.__setattr__(self, "pattern", _PATTERNS[self.load.kind])
        return self

    @classmethod
    def from_result(cls, result: Result, **fields: Any) -> ArtifactSpec:  # type: ignore[override]
        """Create an artifact reference from a run's :class:`Result`.

        Typed artifact subclasses whose ``feature`` field has a default check
        that ``result.feature`` matches it; the base class accepts any feature.

        Parameters
        ----------
        result : Result
            The upstream run.
        **fields
            Other fields (``load``, ``pattern``) for the new spec.

        Returns
        -------
        ArtifactSpec
            An instance of ``cls``.

        Raises
        ------
        ValueError
            If ``cls`` expects another feature than ``result.feature``.
        """
        default = cls.model_fields["feature"].default
        if isinstance(default, str) and default and default != result.feature:
            raise ValueError(
                f"{cls.__name__} expects output of feature {default!r}, "
                f"got a result of {result.feature!r}"
            )
        return cls(feature=result.feature, run_id=result.run_id, **fields)

    def from_path(self, path: str | Path, *, trust: bool = False) -> R:
        """Load the artifact from a resolved file path.

        Parameters
        ----------
        path : str or Path
            A file matched by :attr:`pattern` in the run folder.
        trust : bool, default False
            Load a pickle even if its checksum is missing or wrong.

        Returns
        -------
        object
            Whatever :func:`load_from_spec` returns for :attr:`load`.
        """
        return load_from_spec(path, self.load, trust=trust)

    def find(self, run_root: str | Path) -> list[Path]:
        """List the files of a run folder that match :attr:`pattern`, sorted.

        Parameters
        ----------
        run_root : str or Path
            ``features/<feature>/<run_id>``.

        Returns
        -------
        list of Path
        """
        return sorted(Path(run_root).rglob(self.pattern))


class ParquetArtifact(ArtifactSpec[ParquetLoadSpec, Any]):
    """A parquet artifact (default: a feature's template table)."""

    feature: str = "extract-templates"
    load: ParquetLoadSpec = Field(default_factory=ParquetLoadSpec)


class JoblibArtifact(ArtifactSpec[JoblibLoadSpec, Any]):
    """A joblib artifact (a fitted model); subclasses set the default feature."""

    feature: str
    load: JoblibLoadSpec = Field(default_factory=JoblibLoadSpec)


class NpzArtifact(ArtifactSpec[NpzLoadSpec, np.ndarray]):
    """An ``.npz`` artifact."""

    load: NpzLoadSpec


M = TypeVar("M", bound=JoblibArtifact)


class GlobalModelParams(Params, Generic[M]):
    """Params of global features that fit on templates or load a fitted model.

    Exactly one of ``templates`` or ``model`` is used. ``templates`` has a
    default (so :meth:`Params.from_overrides` can merge a partial dict into it);
    providing ``model`` switches the feature to the pre-fitted model and nulls
    ``templates``.

    Attributes
    ----------
    templates : ParquetArtifact or None
        Templates artifact to fit from.
    model : JoblibArtifact or None
        Pre-fitted model artifact.
    """

    templates: ParquetArtifact | None = Field(default_factory=ParquetArtifact)
    model: M | None = None

    @model_validator(mode="after")
    def _exclusive_source(self) -> GlobalModelParams:
        given = self.model_fields_set
        model_given = "model" in given and self.model is not None
        templates_given = "templates" in given and self.templates is not None
        if model_given and templates_given:
            raise ValueError(
                "give either 'templates' (fit from templates) or 'model' (load a fitted "
                "model), not both"
            )
        if model_given:
            object.__setattr__(self, "templates", None)
        elif self.templates is None:
            raise ValueError("one of 'templates' or 'model' must be provided")
        return self


# --------------------------------------------------------------------------- labels

K = TypeVar("K", bound=str)


class LabelsSource(StrictModel, Generic[K]):
    """Base class of a feature's dependency on the dataset's labels.

    A feature declares that it reads labels by giving its ``Params`` a field of
    this type (or of :class:`GroundTruthLabelsSource`). Before the feature runs,
    the pipeline resolves the field to the labels files of the run's entries and
    passes them to :meth:`Feature.load_state` as
    ``dependency_lookups[<field name>]`` (a dict ``{(group, sequence): Path}``);
    the labels' content fingerprint over those entries is part of the run id, so
    changing the labels makes the feature's results stale (``Pipeline.status``
    says ``labels changed``). Labels are stored by :func:`moveo.labels.add_labels`
    at ``labels/<kind>/<group>/<sequence>.parquet``.

    Attributes
    ----------
    kind : str
        Which ``labels/<kind>/`` set this dependency resolves to.

    Examples
    --------
    >>> LabelsSource[str](kind="observer-2").kind
    'observer-2'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: K

    def lookup(
        self, ds: Any, entries: Iterable[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], Path]:
        """Return the labels file of each labelled entry.

        Parameters
        ----------
        ds : moveo.Dataset
            The dataset.
        entries : iterable of (group, sequence), optional
            Restrict to these entries (default: every labelled entry).

        Returns
        -------
        dict
            ``{(group, sequence): Path}`` for the entries that have labels of
            :attr:`kind`.
        """
        from moveo.labels import labels_lookup

        return labels_lookup(ds, self.kind, entries)

    def fingerprint(self, ds: Any, entries: Iterable[tuple[str, str]] | None = None) -> str:
        """Return the content fingerprint of these labels (part of a run id).

        Parameters
        ----------
        ds : moveo.Dataset
            The dataset.
        entries : iterable of (group, sequence), optional
            Restrict to these entries (default: every labelled entry).

        Returns
        -------
        str
            Changes whenever a label file of those entries changes, appears or
            disappears.
        """
        from moveo.labels import labels_fingerprint

        return labels_fingerprint(ds, self.kind, entries)

    def read(self, ds: Any, group: str, sequence: str) -> pl.DataFrame:
        """Read one entry's labels (:func:`moveo.labels.read_labels`).

        Parameters
        ----------
        ds : moveo.Dataset
            The dataset.
        group, sequence : str
            The entry.

        Returns
        -------
        polars.DataFrame
            Columns id, frame, label.
        """
        from moveo.labels import read_labels

        return read_labels(ds, self.kind, group, sequence)


class GroundTruthLabelsSource(LabelsSource[Literal["behavior"]]):
    """Ground-truth behaviour labels: the dataset's ``labels/behavior/`` set.

    Attributes
    ----------
    kind : {"behavior"}
        Fixed: ground truth always resolves to ``labels/behavior/``.
    source : {"labels"}
        Fixed tag naming this as a ``labels/`` dependency.
    load : NpzLoadSpec, ParquetLoadSpec or JoblibLoadSpec
        How to load a matched label file (:meth:`load_file`). Default: parquet
        with every column (moveo stores labels as parquet; mosaic's seed requires
        the field, moveo gives it that default).
    pattern : str or None
        File name of an entry's labels within ``labels/behavior/<group>/``, with
        ``{group}`` / ``{sequence}`` placeholders; ``None`` is moveo's layout,
        ``"{sequence}.parquet"``.
    """

    kind: Literal["behavior"] = "behavior"
    source: Literal["labels"] = "labels"
    load: LoadSpec = Field(default_factory=lambda: ParquetLoadSpec(numeric_only=False))
    pattern: str | None = None

    def lookup(
        self, ds: Any, entries: Iterable[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], Path]:
        """Return the labels file of each labelled entry (see :meth:`LabelsSource.lookup`).

        Parameters
        ----------
        ds : moveo.Dataset
            The dataset.
        entries : iterable of (group, sequence), optional
            Restrict to these entries.

        Returns
        -------
        dict
            ``{(group, sequence): Path}``.
        """
        from moveo.labels import labels_lookup

        return labels_lookup(ds, self.kind, entries, pattern=self.pattern)

    def load_file(self, path: str | Path) -> Any:
        """Load one matched label file with :attr:`load`.

        Parameters
        ----------
        path : str or Path
            A file from :meth:`lookup`.

        Returns
        -------
        object
            What :func:`load_from_spec` returns.
        """
        return load_from_spec(path, self.load)


class FeatureLabelsSource(ArtifactSpec[NpzLoadSpec, np.ndarray]):
    """Labels loaded from a feature run's output files (an artifact dependency).

    Being an :class:`ArtifactSpec`, it is an upstream edge: the producing run's id
    is part of the consuming run's id, and in a :class:`~moveo.pipeline.Pipeline`
    it binds to the step of that feature (``artifact_names``).

    Attributes
    ----------
    feature : str
        Feature whose output to consume.
    run_id : str or None
        Specific run, or ``None`` for the latest finished run.
    load : NpzLoadSpec
        How to load the matched files.
    pattern : str
        Glob pattern; derived from ``load.kind`` when empty.
    source : {"feature"}
        Fixed tag naming this as a feature-output dependency.
    """

    load: NpzLoadSpec
    source: Literal["feature"] = "feature"


# --------------------------------------------------------------------------- inputs

TrackInput: TypeAlias = Literal["tracks"]
InputRequire: TypeAlias = Literal["nonempty", "empty", "any"]
InputItem = TypeVar("InputItem")
InputItemLike: TypeAlias = TrackInput | Result


class Inputs(RootModel[tuple[InputItem, ...]], Generic[InputItem]):
    """Base class for a feature's input collection (mirrors :class:`Params`).

    Each feature narrows the allowed items by subclassing, e.g.
    ``class Inputs(Inputs[TrackInput]): pass`` for a feature that reads tracks.
    The class variable ``_require`` says how many items are allowed:
    ``"nonempty"`` (default, at least one), ``"empty"`` (a feature that loads
    its own data) or ``"any"``.

    Examples
    --------
    >>> Inputs(("tracks",))
    Inputs(root=('tracks',))
    >>> Inputs(("tracks", Result(feature="nearest-neighbor", run_id="0.1-abc"))).results()
    (Result(feature='nearest-neighbor', run_id='0.1-abc'),)
    """

    model_config = ConfigDict(frozen=True)

    _require: ClassVar[InputRequire] = "nonempty"

    @model_validator(mode="after")
    def _check_require(self) -> Inputs:
        require = type(self)._require
        n = len(self.root)
        if require == "nonempty" and n == 0:
            raise ValueError(
                f"{type(self).__qualname__} needs at least one input ('tracks' or a Result)"
            )
        if require == "empty" and n:
            raise ValueError(f"{type(self).__qualname__} takes no inputs, got {n}")
        for item in self.root:
            if isinstance(item, str) and item != "tracks":
                raise ValueError(
                    f"input {item!r} is not allowed: the only string input is 'tracks'"
                )
        return self

    def __iter__(self) -> Iterator[InputItem]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def __getitem__(self, index: int) -> InputItem:
        return self.root[index]

    @property
    def items(self) -> tuple[InputItem, ...]:
        """The input items, in order."""
        return self.root

    def results(self) -> tuple[Result, ...]:
        """Return the upstream :class:`Result` items, in order.

        Returns
        -------
        tuple of Result
        """
        return tuple(item for item in self.root if isinstance(item, Result))

    def uses_tracks(self) -> bool:
        """Return whether ``"tracks"`` is one of the inputs.

        Returns
        -------
        bool
        """
        return any(item == "tracks" for item in self.root)

    def is_tracks_only(self) -> bool:
        """Return whether the only input is ``"tracks"`` (or there are none).

        Returns
        -------
        bool
        """
        return not self.results()


@runtime_checkable
class InputsLike(Protocol):
    """Read-only interface satisfied by any :class:`Inputs`."""

    @property
    def root(self) -> tuple[Any, ...]:
        """The input items."""
        ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class InputStream:
    """Factory of fresh ``(entry_key, DataFrame)`` iterators, with the entry count.

    :meth:`Feature.fit` may iterate over its input several times (e.g. one
    pass for statistics, one for the fit); each call (or ``iter()``) starts a
    new pass. :attr:`n_entries` lets a feature size allocations or a
    train/test split without an extra pass.

    Parameters
    ----------
    factory : callable
        Returns a new iterator of ``((group, sequence), polars.DataFrame)``.
    n_entries : int
        Number of entries one pass yields.
    """

    def __init__(
        self,
        factory: Callable[[], Iterator[tuple[tuple[str, str], pl.DataFrame]]],
        n_entries: int,
    ) -> None:
        if n_entries < 0:
            raise ValueError(f"n_entries must be >= 0, got {n_entries}")
        self._factory = factory
        self.n_entries = int(n_entries)

    def __call__(self) -> Iterator[tuple[tuple[str, str], pl.DataFrame]]:
        """Start a new pass over the entries."""
        return self._factory()

    def __iter__(self) -> Iterator[tuple[tuple[str, str], pl.DataFrame]]:
        return self._factory()

    def __len__(self) -> int:
        return self.n_entries

    def __repr__(self) -> str:
        return f"InputStream(n_entries={self.n_entries})"

    @classmethod
    def from_frames(cls, frames: Iterable[tuple[tuple[str, str], pl.DataFrame]]) -> InputStream:
        """Build a stream over in-memory frames (handy in tests and notebooks).

        Parameters
        ----------
        frames : iterable of ((group, sequence), DataFrame)

        Returns
        -------
        InputStream
        """
        items = list(frames)
        return cls(lambda: iter(items), len(items))


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class Feature(Protocol):
    """The feature protocol: four class attributes, four methods.

    Attributes
    ----------
    name : str
        Unique feature name (folder under ``features/``).
    version : str
        Semantic version; part of the run id.
    parallelizable : bool
        Whether :meth:`apply` may run on several entries at once.
    scope_dependent : bool
        Whether the run id includes the scope (groups/sequences) it ran on.
    params : Params
        The validated parameters.
    """

    name: str
    version: str
    parallelizable: bool
    scope_dependent: bool
    params: Params

    def load_state(
        self,
        run_root: Path,
        artifact_paths: Mapping[str, Path],
        dependency_lookups: Mapping[str, Any],
    ) -> bool:
        """Load fitted state from ``run_root``; return ``True`` if ready to apply."""
        ...

    def fit(self, inputs: InputStream) -> None:
        """Fit state over all entries (called when :meth:`load_state` returned False)."""
        ...

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the feature for one entry: one output row per input row."""
        ...

    def save_state(self, run_root: Path) -> None:
        """Persist fitted state under ``run_root`` (after :meth:`fit`)."""
        ...


@runtime_checkable
class ReadsDatasetMeta(Protocol):
    """A feature that reads values from the dataset's metadata (e.g. a calibration).

    The pipeline passes ``{key: ds.meta[key]}`` for every key in
    :attr:`dataset_meta_keys` to :meth:`set_dataset_meta` before planning; those
    values are part of the run id, so changing them makes the feature's runs stale.
    """

    dataset_meta_keys: tuple[str, ...]

    def set_dataset_meta(self, meta: Mapping[str, Any]) -> None:
        """Take the dataset metadata values named by :attr:`dataset_meta_keys`."""
        ...


@runtime_checkable
class ReadsColumns(Protocol):
    """A feature whose ``apply`` reads only some of its input's columns.

    The pipeline then reads only those columns (plus the key columns group,
    sequence, id and frame) from each entry's input file, instead of every
    column (a tracks file with pose keypoints has many that, e.g., speed needs
    none of). Names the file does not have are simply not read, so ``apply``
    still reports a missing column with its own error. ``None`` reads every
    column. The choice never changes what ``apply`` computes, so it is not part
    of the run id.
    """

    def input_columns(self) -> Sequence[str] | None:
        """Return the input columns ``apply`` reads, or ``None`` for all of them."""
        ...


@runtime_checkable
class DescribesColumns(Protocol):
    """A feature that annotates its output columns (e.g. units) in the parquet schema."""

    def column_metadata(self, out: pl.DataFrame) -> Mapping[str, Mapping[str, str]] | None:
        """Return ``{column: {key: value}}`` to store with the output, or ``None``."""
        ...


@runtime_checkable
class TakesDatasetDefaults(Protocol):
    """A feature that reads the dataset's fps, column names and pose layout.

    The pipeline calls :meth:`set_dataset_defaults` before planning; the dataset
    settings then become part of the run id (they change what the feature computes).
    Every :class:`moveo.features.base.BaseFeature` follows this protocol.
    """

    def set_dataset_defaults(
        self,
        *,
        fps: float | None = None,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        """Take the dataset's frame rate, column names and pose layout."""
        ...


# --------------------------------------------------------------------------- helpers


def resolve_order_col(df: pl.DataFrame | pl.LazyFrame, columns: Columns | None = None) -> str:
    """Pick the best temporal ordering column present in ``df``.

    Uses ``columns.order_by`` (frames or time) first, then the other one.

    Parameters
    ----------
    df : polars.DataFrame or LazyFrame
        Data whose columns are inspected.
    columns : Columns, optional
        Column conventions (default :data:`moveo.schema.COLUMNS`).

    Returns
    -------
    str
        The column name to order by.

    Raises
    ------
    ValueError
        If neither the frame nor the time column exists.
    """
    cols = columns or COLUMNS
    names = df.collect_schema().names() if isinstance(df, pl.LazyFrame) else df.columns
    preferred = [cols.frame_col, cols.time_col]
    if cols.order_by == "time":
        preferred.reverse()
    for name in preferred:
        if name in names:
            return name
    raise ValueError(
        f"cannot order rows: neither {cols.frame_col!r} nor {cols.time_col!r} is a column "
        f"(columns: {names})"
    )
