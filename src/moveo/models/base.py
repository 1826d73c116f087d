"""What :func:`moveo.train_model` needs from a model, and helpers models share.

A trainable model is an object with

- ``name`` (folder under ``models/``) and ``version`` (first part of the run id),
- ``Config``: a pydantic model (subclass of :class:`ModelConfig`) of its
  hyperparameters and inputs; unknown keys are errors,
- ``identity(ds, config) -> dict``: what the run id must depend on besides the
  config (the resolved run ids of upstream feature runs, a fingerprint of the
  labels), so a changed input gives a new run id,
- ``fit(ds, config, run_root, progress) -> dict``: train, write the fitted
  model into ``run_root`` (``model.joblib``), and return JSON-able metrics.

:class:`FeatureRef` names a feature run whose per-entry outputs a model reads;
:func:`resolve_feature` turns ``run_id=None`` into the latest finished run and
:func:`read_feature_entry` reads and joins one entry's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import polars as pl
from pydantic import ConfigDict, Field

from moveo._fs import atomic_write_joblib as dump_artifact
from moveo.schema import StrictModel

__all__ = [
    "FeatureRef",
    "ModelConfig",
    "TrainableModel",
    "dump_artifact",
    "feature_entries",
    "load_model",
    "read_feature_entry",
    "resolve_feature",
    "split_entries",
]

MODEL_FILE = "model.joblib"
"""File name of the fitted model inside ``models/<name>/<run_id>/``."""


class ModelConfig(StrictModel):
    """Base of every model's ``Config`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureRef(StrictModel):
    """A feature run whose outputs a model reads.

    Attributes
    ----------
    feature : str
        Feature name (folder under ``features/``).
    run_id : str or None
        Specific run; ``None`` means the latest finished run of the feature.
    columns : list of str or None
        Columns to use; ``None`` uses every numeric column except the row keys
        (group, sequence, id, frame, time) and ``label``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: str
    run_id: str | None = None
    columns: list[str] | None = Field(default=None, min_length=1)


@runtime_checkable
class TrainableModel(Protocol):
    """The contract :func:`moveo.train_model` relies on (see module docs)."""

    name: str
    version: str
    Config: type[ModelConfig]

    def identity(self, ds: Any, config: Any) -> dict[str, Any]:
        """Return the resolved inputs the run id depends on."""
        ...

    def fit(self, ds: Any, config: Any, run_root: Path, progress: Any) -> dict[str, Any]:
        """Train, save the model under ``run_root`` and return metrics."""
        ...


def _registry(ds: Any) -> Any:
    from moveo.pipeline.registry import open_registry

    return open_registry(ds)


def resolve_feature(ds: Any, ref: FeatureRef) -> FeatureRef:
    """Return ``ref`` with ``run_id`` set (latest finished run when it was None).

    Parameters
    ----------
    ds : moveo.Dataset
    ref : FeatureRef

    Returns
    -------
    FeatureRef

    Raises
    ------
    ValueError
        If the feature never finished a run, or the named run does not exist or
        is not finished.
    """
    with _registry(ds) as reg:
        if ref.run_id is None:
            run_id = reg.latest_run_id(ref.feature)
            if run_id is None or not reg.run_is_finished(ref.feature, run_id):
                raise ValueError(
                    f"feature {ref.feature!r} has no finished run in {ds.root}; run it first "
                    "(moveo.run_feature or a Pipeline step) or name a run_id"
                )
            return ref.model_copy(update={"run_id": run_id})
        if not reg.has_run(ref.feature, ref.run_id):
            raise ValueError(f"feature {ref.feature!r} has no run {ref.run_id!r} in {ds.root}")
        if not reg.run_is_finished(ref.feature, ref.run_id):
            raise ValueError(
                f"run {ref.feature}/{ref.run_id} is not finished; complete it before training"
            )
        return ref


def feature_entries(ds: Any, refs: Sequence[FeatureRef]) -> list[tuple[str, str]]:
    """Return the entries every (resolved) feature run has complete outputs for.

    Parameters
    ----------
    ds : moveo.Dataset
    refs : sequence of FeatureRef
        Resolved references (``run_id`` set).

    Returns
    -------
    list of (str, str)
        Sorted entries.
    """
    common: set[tuple[str, str]] | None = None
    with _registry(ds) as reg:
        for ref in refs:
            keys = set(reg.complete_entries(ref.feature, str(ref.run_id)))
            common = keys if common is None else common & keys
    return sorted(common or ())


_KEY_EXTRA = ("time", "label")


def read_feature_entry(
    ds: Any, refs: Sequence[FeatureRef], group: str, sequence: str
) -> tuple[pl.DataFrame, list[str]]:
    """Read one entry's outputs of several feature runs, joined on the row keys.

    Parameters
    ----------
    ds : moveo.Dataset
    refs : sequence of FeatureRef
        Resolved references.
    group, sequence : str
        The entry.

    Returns
    -------
    frame : polars.DataFrame
        Columns id, frame (Int64), then the selected feature columns (Float64),
        in ``refs`` order, one row per (id, frame) of the first feature.
    columns : list of str
        The feature column names, in order.

    Raises
    ------
    ValueError
        A requested column is missing, or two features provide the same column
        name (select columns explicitly to resolve it).
    """
    c = ds.columns
    keys = [c.id_col, c.frame_col]
    skip = set(c.meta_set()) | set(_KEY_EXTRA)
    out: pl.DataFrame | None = None
    names: list[str] = []
    with _registry(ds) as reg:
        paths = [reg.entry_path(r.feature, str(r.run_id), group, sequence) for r in refs]
    for ref, path in zip(refs, paths, strict=True):
        if path is None:
            raise ValueError(
                f"run {ref.feature}/{ref.run_id} has no complete output for entry "
                f"({group!r}, {sequence!r})"
            )
        df = pl.read_parquet(path)
        if ref.columns is not None:
            missing = [col for col in ref.columns if col not in df.columns]
            if missing:
                raise ValueError(
                    f"feature {ref.feature!r} (run {ref.run_id}) has no column(s) {missing}; "
                    f"it has {[x for x in df.columns if x not in skip]}"
                )
            cols = list(ref.columns)
        else:
            cols = [x for x, t in df.schema.items() if x not in skip and t.is_numeric()]
        clash = [x for x in cols if x in names]
        if clash:
            raise ValueError(
                f"columns {clash} of feature {ref.feature!r} are also provided by an earlier "
                "feature; list the columns to use with FeatureRef(columns=[...])"
            )
        names += cols
        part = df.select(
            pl.col(c.id_col).cast(pl.Int64),
            pl.col(c.frame_col).cast(pl.Int64),
            *[pl.col(x).cast(pl.Float64) for x in cols],
        )
        out = part if out is None else out.join(part, on=keys, how="left")
    assert out is not None
    # feature outputs use NaN for missing values; a left join adds nulls: unify
    out = out.with_columns([pl.col(x).fill_null(float("nan")) for x in names])
    return out, names


def split_entries(
    entries: Sequence[tuple[str, str]], fraction: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split entries (whole sequences) into two sets, deterministically.

    Parameters
    ----------
    entries : sequence of (group, sequence)
    fraction : float
        Share of entries in the second set (rounded, at least 1 when
        ``fraction > 0`` and there are at least 2 entries).
    seed : int
        Random seed.

    Returns
    -------
    (list, list)
        ``(kept, held_out)``, each sorted.
    """
    import numpy as np

    items = sorted(entries)
    if fraction <= 0 or len(items) < 2:
        return items, []
    n_out = min(len(items) - 1, max(1, round(fraction * len(items))))
    order = np.random.default_rng(seed).permutation(len(items))
    held = sorted(items[i] for i in order[:n_out])
    kept = sorted(items[i] for i in order[n_out:])
    return kept, held


def load_model(path: str | Path) -> Any:
    """Load a fitted model saved by :func:`moveo.train_model`.

    Parameters
    ----------
    path : str or Path
        The run folder ``models/<name>/<run_id>`` or its ``model.joblib``.

    Returns
    -------
    object
        The fitted model object (e.g. :class:`moveo.models.BehaviorModel` or
        :class:`moveo.models.EMGModel`).

    Raises
    ------
    FileNotFoundError
        If there is no model file.
    """
    import joblib

    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"no fitted model at {path}; train one with moveo.train_model(ds, model, config)"
        )
    return joblib.load(path)
