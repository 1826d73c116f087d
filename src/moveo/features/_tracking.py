"""Shared adapter code of the tracking features (private).

A tracking feature is a thin adapter: :class:`TrackTable` validates the key
columns, finds the individuals' segments, takes zero-copy numpy views of float
columns and builds the output frame in input order; :class:`TrackingFeature`
holds the protocol boilerplate (stateless ``load_state`` / ``fit`` /
``save_state``, dataset defaults).

Segments are runs of rows with the same ``(group, sequence, id)``: a feature
never reaches across individuals or sequences. Rows must be in frame order
within each segment, which is how entries are stored (sorted by (id, frame)).
Input that is not in that order is sorted internally and the results are put
back in input order; duplicate ``(id, frame)`` rows are an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl

from moveo.kernels.windows import first_order_violation, segment_offsets
from moveo.pipeline.types import Inputs, Params, TrackInput
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig

__all__ = ["TrackTable", "TrackingFeature", "positive_fps"]


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
        """Float64 values of ``col`` in kernel order, nulls as NaN.

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
        series = []
        for name, v in values.items():
            if isinstance(v, pl.Series):
                series.append(v.alias(name))
            else:
                series.append(pl.Series(name, self.to_input_order(v)))
        return self.df.select(keys).with_columns(series)


class TrackingFeature:
    """Base of the stateless tracking features (protocol boilerplate).

    Parameters
    ----------
    params : dict or Params, optional
        Parameter overrides, merged over the defaults by
        :meth:`moveo.pipeline.types.Params.from_overrides`.
    inputs : Inputs, optional
        Where the data comes from (default: the tracks).
    columns : Columns, optional
        Column names (default :data:`moveo.schema.COLUMNS`, or the dataset's
        once :meth:`set_dataset_defaults` ran).
    pose : PoseConfig, optional
        Pose keypoint columns (default :data:`moveo.schema.POSE`, or the
        dataset's).
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.1"
    parallelizable: ClassVar[bool] = True
    scope_dependent: ClassVar[bool] = False

    class Params(Params):
        """No parameters."""

    class Inputs(Inputs[TrackInput]):
        """Tracks of one entry."""

    def __init__(
        self,
        params: Mapping[str, Any] | Params | None = None,
        inputs: Inputs | None = None,
        *,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        self.params = self.Params.from_overrides(params)
        self.inputs = inputs if inputs is not None else self.Inputs(("tracks",))
        self._explicit_columns = columns is not None
        self._explicit_pose = pose is not None
        self.columns: Columns = columns if columns is not None else COLUMNS
        self.pose: PoseConfig = pose if pose is not None else POSE
        self.dataset_fps: float | None = None

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

        The pipeline calls this before :meth:`apply`. Values given to the
        constructor win over the dataset's; ``params.fps`` (where a feature has
        it) wins over the dataset's ``fps``.

        Parameters
        ----------
        fps : float, optional
            The dataset's frames per second.
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

    def load_state(
        self,
        run_root: Path,
        artifact_paths: Mapping[str, Path],
        dependency_lookups: Mapping[str, Any],
    ) -> bool:
        """Return ``True``: tracking features have no fitted state."""
        return True

    def fit(self, inputs: Any) -> None:
        """Do nothing: tracking features have no fitted state."""

    def save_state(self, run_root: Path) -> None:
        """Do nothing: tracking features have no fitted state."""

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
