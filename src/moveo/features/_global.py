"""Shared adapter code for global (whole-dataset) features: columns, matrices, state files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from moveo.schema import COLUMNS, Columns

STATE_DIR = ".state"
"""Folder inside a run for fitted state; entry names never start with '.', so no clash."""

_NON_FEATURE = ("time", "label", "is_template", "template_index", "cluster", "cluster_sq_dist")


def key_columns(columns: Columns) -> list[str]:
    """Return ``[group, sequence, id, frame]`` column names."""
    return columns.key_cols()


def feature_columns(
    df: pl.DataFrame, columns: Columns, explicit: Sequence[str] | None, who: str
) -> list[str]:
    """Pick the numeric feature columns of ``df`` (or check the explicit list).

    Parameters
    ----------
    df : polars.DataFrame
    columns : Columns
        Dataset column names (keys are excluded).
    explicit : sequence of str, optional
        Columns asked for by the user.
    who : str
        Feature name for error messages.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        A requested column is missing or not numeric, or there is none.
    """
    skip = set(columns.meta_set()) | set(_NON_FEATURE)
    if explicit is not None:
        missing = [c for c in explicit if c not in df.columns]
        if missing:
            raise ValueError(
                f"{who}: input has no column(s) {missing} (columns: {df.columns}); "
                "check 'columns' or the upstream feature that should provide them"
            )
        bad = [c for c in explicit if not df.schema[c].is_numeric()]
        if bad:
            raise ValueError(f"{who}: column(s) {bad} are not numeric")
        return list(explicit)
    cols = [c for c, t in df.schema.items() if c not in skip and t.is_numeric()]
    if not cols:
        raise ValueError(
            f"{who}: input has no numeric feature columns (columns: {df.columns}); "
            "give 'columns' or an upstream feature"
        )
    return cols


def matrix(df: pl.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """Return the columns as a C-contiguous float64 matrix (nulls become NaN).

    Returns
    -------
    numpy.ndarray
        Shape (n_rows, len(cols)).
    """
    if df.height == 0:
        return np.empty((0, len(cols)), dtype=np.float64)
    sel = df.select([pl.col(c).cast(pl.Float64).fill_null(float("nan")) for c in cols])
    return np.ascontiguousarray(sel.to_numpy(), dtype=np.float64)


def key_frame(df: pl.DataFrame, columns: Columns) -> pl.DataFrame:
    """Return the key columns present in ``df`` (group/sequence only if present)."""
    keys = [c for c in key_columns(columns) if c in df.columns]
    return df.select(keys)


def state_path(run_root: str | Path, name: str) -> Path:
    """Return ``<run_root>/.state/<name>``."""
    return Path(run_root) / STATE_DIR / name


def default_columns() -> Columns:
    """Return the default column conventions."""
    return COLUMNS


def as_params(cls: Any, params: Any) -> Any:
    """Build ``cls`` (a Params subclass) from a dict, an instance or None."""
    return cls.from_overrides(params)
