"""Shared adapter code of the tracking features (private).

A tracking feature is a thin adapter: :class:`TrackTable` validates the key
columns, finds the individuals' segments, takes zero-copy numpy views of float
columns and builds the output frame in input order; :class:`TrackingFeature`
adds :meth:`TrackingFeature.table` to the common
:class:`~moveo.features.base.BaseFeature`.

Segments are runs of rows with the same ``(group, sequence, id)``: a feature
never reaches across individuals or sequences. Rows must be in frame order
within each segment, which is how entries are stored (sorted by (id, frame)).
Input that is not in that order is sorted internally and the results are put
back in input order; duplicate ``(id, frame)`` rows are an error.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from moveo.contract import Inputs, Result, TrackInput
from moveo.features.base import BaseFeature, positive_fps
from moveo.kernels.windows import first_order_violation, segment_offsets
from moveo.schema import Columns

__all__ = ["TrackTable", "TrackingFeature", "positive_fps"]


class TrackTable:
    """One entry's tracks, prepared for kernels.

    Parameters
    ----------
    df : polars.DataFrame
        The entry (columns per ``columns``).
    feature : str
        Feature name, used in error messages.
    columns : Columns
        Column names.

    Attributes
    ----------
    n : int
        Number of rows.
    ids : numpy.ndarray
        int64 individual ids of shape (n,), in kernel (segment) order.
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), in kernel order.
    offsets : numpy.ndarray
        int64 segment offsets of shape (n_segments + 1,).
    order : numpy.ndarray or None
        ``None`` when the input is already in segment order; else the
        permutation with kernel row ``i`` = input row ``order[i]``.
    blocks : numpy.ndarray or None
        int64 code of the (group, sequence) of every row (kernel order), or
        ``None`` when the entry holds one sequence.
    """

    def __init__(self, df: pl.DataFrame, feature: str, columns: Columns) -> None:
        if not isinstance(df, pl.DataFrame):
            raise TypeError(f"{feature}: apply expects a polars DataFrame, got {type(df).__name__}")
        self.df = df
        self.feature = feature
        self.columns = columns
        self.n = df.height
        c = columns
        self.require([c.id_col, c.frame_col], "the tracks of every entry")
        ids = self._int_column(c.id_col)
        frames = self._int_column(c.frame_col)
        block_cols = [
            col for col in (c.group_col, c.seq_col) if col in df.columns and self._varies(col)
        ]
        self.blocks: np.ndarray | None = None
        self.order: np.ndarray | None = None
        if not block_cols:
            bad = first_order_violation(ids, frames)
            if bad >= 0:
                self.order = np.lexsort((frames, ids)).astype(np.int64)  # by id, then frame
                ids, frames = ids[self.order], frames[self.order]
                self._check_unique(ids, frames, first_order_violation(ids, frames))
            self.offsets = segment_offsets(ids)
        else:
            keys = [*block_cols, c.id_col]
            key_df = df.select(keys)
            run = self._runs(key_df, keys)
            n_keys = key_df.n_unique() if self.n else 0
            if first_order_violation(run, frames) >= 0 or (self.n and run[-1] + 1 != n_keys):
                self.order = (
                    df.select(pl.arg_sort_by([*keys, c.frame_col], maintain_order=True))
                    .to_series()
                    .to_numpy()
                    .astype(np.int64)
                )
                key_df = key_df[self.order]
                run = self._runs(key_df, keys)
                ids, frames = ids[self.order], frames[self.order]
                self._check_unique(ids, frames, first_order_violation(run, frames))
            # one code per (group, sequence), wherever its rows are
            self.blocks = (
                key_df.select(pl.struct(block_cols).rank("dense")).to_series().to_numpy()
            ).astype(np.int64)
            self.offsets = segment_offsets(run)
        self.ids = np.ascontiguousarray(ids)
        self.frames = np.ascontiguousarray(frames)

    # ------------------------------------------------------------------ checks

    @staticmethod
    def _runs(key_df: pl.DataFrame, keys: list[str]) -> np.ndarray:
        # one code per run of equal keys, in row order
        return key_df.select(pl.struct(keys).rle_id()).to_series().to_numpy().astype(np.int64)

    def _varies(self, col: str) -> bool:
        s = self.df[col]
        return self.n > 1 and bool((s != s[0]).any() or s.null_count() > 0)

    def _int_column(self, col: str) -> np.ndarray:
        s = self.df[col]
        if not s.dtype.is_integer():
            raise TypeError(
                f"{self.feature}: column {col!r} must be integers, got {s.dtype}; "
                "ingest the tracks with moveo.Dataset.add_tracks, which stores it as Int64"
            )
        if s.null_count():
            raise ValueError(
                f"{self.feature}: column {col!r} has {s.null_count()} missing value(s)"
            )
        return np.ascontiguousarray(s.rechunk().to_numpy(), dtype=np.int64)

    def _check_unique(self, ids: np.ndarray, frames: np.ndarray, bad: int) -> None:
        if bad >= 0:
            c = self.columns
            raise ValueError(
                f"{self.feature}: duplicate rows for {c.id_col}={ids[bad]}, "
                f"{c.frame_col}={frames[bad]}; an entry must have unique ({c.id_col}, "
                f"{c.frame_col}) per sequence (drop or merge the duplicates)"
            )

    def require(self, cols: list[str], provider: str) -> None:
        """Raise a ValueError naming the feature, the missing column and its provider.

        Parameters
        ----------
        cols : list of str
            Columns the feature needs.
        provider : str
            What provides them, e.g. ``"the tracks (X/Y positions)"``.
        """
        missing = [col for col in cols if col not in self.df.columns]
        if missing:
            raise ValueError(
                f"{self.feature}: missing column(s) {missing}; they come from {provider}. "
                f"Columns present: {self.df.columns}"
            )

    # ------------------------------------------------------------------ data

    def has(self, col: str) -> bool:
        """Return whether the input has column ``col``."""
        return col in self.df.columns

    def floats(self, col: str) -> np.ndarray:
        """Float64 values of ``col`` in kernel order, nulls and infinities as NaN.

        A Float64 column without nulls in one chunk is returned as a zero-copy
        read-only view (when no reordering was needed).

        Parameters
        ----------
        col : str
            Column name.

        Returns
        -------
        numpy.ndarray
            float64 array of shape (n,).
        """
        s = self.df[col]
        if not s.dtype.is_numeric() or s.dtype == pl.Boolean:
            raise TypeError(f"{self.feature}: column {col!r} must be numeric, got {s.dtype}")
        if s.dtype != pl.Float64:
            s = s.cast(pl.Float64)
        if s.null_count():
            s = s.fill_null(np.nan)
        if s.n_chunks() > 1:
            s = s.rechunk()
        values = s.to_numpy()
        if self.order is not None:
            values = values[self.order]
        if np.isinf(values).any():  # non-finite means missing, as at ingest
            values = np.where(np.isinf(values), np.nan, values)
        return values

    def floats2d(self, cols: list[str]) -> np.ndarray:
        """Stack float columns into an array of shape (n, len(cols)) (Fortran order)."""
        out = np.empty((self.n, len(cols)), order="F")
        for j, col in enumerate(cols):
            out[:, j] = self.floats(col)
        return out

    def to_input_order(self, values: np.ndarray) -> np.ndarray:
        """Put a kernel-order array (rows first) back in input row order."""
        if self.order is None:
            return values
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def output(self, values: Mapping[str, np.ndarray | pl.Series]) -> pl.DataFrame:
        """Build the output: key columns of the input, then ``values`` in input order.

        Parameters
        ----------
        values : mapping of str to numpy.ndarray or polars.Series
            Feature columns in kernel order (Series are taken as already in
            input order).

        Returns
        -------
        polars.DataFrame
            Columns group, sequence (if present in the input), id, frame, then
            the feature columns; one row per input row, in input order.
        """
        keys = [col for col in self.columns.key_cols() if col in self.df.columns]
        series = [self.df.get_column(col) for col in keys]
        for name, v in values.items():
            if isinstance(v, pl.Series):
                series.append(v.alias(name))
            else:
                series.append(pl.Series(name, self.to_input_order(v)))
        # one DataFrame from the columns (zero-copy), not select + with_columns:
        # each of those is a query-engine round trip, noticeable on small entries
        names = [s.name for s in series]
        if len(set(names)) != len(names):  # a value named like a key replaces it
            return self.df.select(keys).with_columns(series[len(keys) :])
        return pl.DataFrame(series)


class TrackingFeature(BaseFeature):
    """Base of the per-row tracking features: one output row per input row.

    Adds :meth:`table` (validated key columns, segments and zero-copy column views)
    to :class:`~moveo.features.base.BaseFeature`; see there for the constructor.
    The input is the tracks by default, or any track-shaped upstream output
    (e.g. ``trajectory-smooth``'s cleaned tracks): ``inputs=(result,)``.
    """

    class Inputs(Inputs[TrackInput | Result]):
        """The tracks, or a track-shaped upstream output (a :class:`Result`)."""

    def table(self, df: pl.DataFrame) -> TrackTable:
        """Validate ``df`` and prepare it for the kernels.

        Parameters
        ----------
        df : polars.DataFrame
            One entry.

        Returns
        -------
        TrackTable
        """
        return TrackTable(df, self.name, self.columns)
