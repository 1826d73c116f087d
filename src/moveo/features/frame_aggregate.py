"""Feature ``frame-aggregate``: one value per frame from a per-row column.

A frame-level summary: one output row per frame, keyed by ``group``,
``sequence``, ``frame`` (not by individual), reducing a column of any table
(the tracks, a per-individual feature, a pair feature) across the rows of each
frame. The reduction is :func:`moveo.kernels.frames.group_reduce`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import InputItemLike, Inputs, Params
from moveo.features._frame import FrameFeature, filter_rows, rows_by_frame
from moveo.kernels.frames import group_reduce

__all__ = ["FrameAggregate"]


class FrameAggregate(FrameFeature):
    """Reduce a column across the rows of every frame (mean, median, ...).

    Output: one row per frame with the input's ``group``, ``sequence``,
    ``frame``, ``time`` (the frame's first non-missing timestamp, when the
    input has a time column) and ``<output_column>`` (default
    ``<column>_<agg>``), sorted by group, sequence and frame. NaN and null
    values are skipped (``sum`` of none is 0, ``count`` counts the values
    present, ``std`` is the sample standard deviation). With ``threshold`` the
    reduced value is ``column > threshold`` as 0/1, a missing value counting
    as 0 -- so ``agg="mean"`` gives the fraction of the frame's rows above it.
    ``transform="abs"`` reduces ``|column|``. ``count`` is Int64, every other
    reduction Float64.

    For pair features each pair appears in both perspectives: mean, median,
    min, max and std are unaffected, for sum and count filter with
    ``filter_expr="perspective == 0"``.

    Parameters
    ----------
    params : dict or FrameAggregate.Params
        ``column`` is required.
    inputs : Inputs or tuple, optional
        Default: the tracks; usually an upstream result.
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 1, 0, 1], "frame": [0, 0, 1, 1],
    ...                    "speed": [1.0, 3.0, 2.0, float("nan")]})
    >>> FrameAggregate({"column": "speed"}).apply(df).rows()
    [(0, 2.0), (1, 2.0)]
    """

    name: ClassVar[str] = "frame-aggregate"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`FrameAggregate` (mosaic's names and defaults).

        Attributes
        ----------
        column : str
            Column to reduce (required).
        agg : {"mean", "median", "min", "max", "std", "sum", "count"}
            Reduction across the rows of a frame.
        output_column : str or None
            Name of the result column (default ``<column>_<agg>``).
        filter_expr : str or None
            pandas-``query``-style row filter applied first.
        threshold : float or None
            Reduce ``column > threshold`` (0/1) instead of the column.
        transform : {"none", "abs"}
            Reduce ``|column|`` with ``abs``.
        """

        column: str = Field(min_length=1)
        agg: Literal["mean", "median", "min", "max", "std", "sum", "count"] = "mean"
        output_column: str | None = None
        filter_expr: str | None = None
        threshold: float | None = None
        transform: Literal["none", "abs"] = "none"

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results (joined on the row keys)."""

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Reduce one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Any table with the frame column and ``column``.

        Returns
        -------
        polars.DataFrame
            One row per frame: group, sequence (if present), frame, time (if
            present), the reduced column.
        """
        p = self.params
        c = self.columns
        if not isinstance(df, pl.DataFrame):
            raise TypeError(f"{self.name}: apply expects a polars DataFrame, got {type(df)}")
        if p.column not in df.columns:
            raise ValueError(
                f"{self.name}: the input has no column {p.column!r} (columns: {df.columns}); "
                "list the upstream feature that provides it in inputs"
            )
        dtype = df.schema[p.column]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            raise TypeError(f"{self.name}: column {p.column!r} must be numeric, got {dtype}")
        df = filter_rows(df, p.filter_expr, [], who=self.name)
        groups = rows_by_frame(df, c, self.name)
        values = df[p.column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if p.transform == "abs":
            values = np.abs(values)
        if p.threshold is not None:
            with np.errstate(invalid="ignore"):
                values = (values > p.threshold).astype(np.float64)
        out, _ = group_reduce(values, groups.perm, groups.offsets, p.agg)
        name = p.output_column or f"{p.column}_{p.agg}"
        keys = [col for col in (c.group_col, c.seq_col, c.frame_col) if col in df.columns]
        res = df.select(keys)[groups.first]
        cols = []
        if c.time_col in df.columns and c.time_col != name:
            time = df[c.time_col].cast(pl.Float64).fill_null(np.nan).to_numpy()
            cols.append(pl.Series(c.time_col, _first_present(time, groups)))
        value = pl.Series(name, out)
        cols.append(value.cast(pl.Int64) if p.agg == "count" else value)
        return res.with_columns(cols)


def _first_present(values: np.ndarray, groups) -> np.ndarray:
    vals = values[groups.perm]
    out = np.full(groups.n, np.nan)
    ok = np.flatnonzero(np.isfinite(vals))
    if ok.size:
        gid = np.repeat(np.arange(groups.n), np.diff(groups.offsets))
        first = np.full(groups.n, -1, dtype=np.int64)
        first[gid[ok[::-1]]] = ok[::-1]
        has = first >= 0
        out[has] = vals[first[has]]
    return out
