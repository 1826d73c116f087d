"""Shared adapter code of the pair features (private).

A pair feature reads one entry's tracks and writes the *pair table*: one row
per (frame, focal, partner), keyed by ``group, sequence, frame, id1, id2,
perspective`` (``id1`` the focal, ``id2`` the partner, ``perspective`` 0 when
``id1 < id2`` and 1 for the mirrored row), sorted by (id1, id2, frame) and
unique. :class:`PairFeature` adds to the tracking-feature boilerplate the
parameter blocks mosaic's pair features share (``interpolation``,
``sampling``, ``pose``, and moveo's ``pairs`` selection), track cleaning, the
frame rate and the output builder. See :mod:`moveo.kernels.pairs` for the
definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.features._tracking import TrackingFeature, TrackTable
from moveo.kernels.pairs import clean_columns, pair_rows
from moveo.schema import PoseConfig, StrictModel

__all__ = [
    "PAIR_KEYS",
    "InterpolationConfig",
    "PairFeature",
    "PairSelection",
    "SamplingConfig",
    "empty_pair_frame",
]

PAIR_KEYS: tuple[str, ...] = ("frame", "id1", "id2", "perspective")
"""Pair key columns after group and sequence (mosaic's names)."""


class InterpolationConfig(StrictModel):
    """Gap filling of the tracks before a pair feature (mosaic's ``interpolation``).

    Attributes
    ----------
    linear_interp_limit : int
        Frames from a valid value within which a gap is linearly interpolated.
    edge_fill_limit : int
        Frames within which what is still missing is forward, then back, filled.
    max_missing_fraction : float
        Rows with a larger fraction of still-missing columns are dropped; the
        holes of kept rows take the column's median.
    """

    linear_interp_limit: int = Field(default=10, ge=1)
    edge_fill_limit: int = Field(default=3, ge=0)
    max_missing_fraction: float = Field(default=0.1, ge=0.0, le=1.0)


class SamplingConfig(StrictModel):
    """Frame rate and smoothing (mosaic's ``sampling``).

    Attributes
    ----------
    fps_default : float
        Frames per second when neither the tracks (an ``fps`` column with one
        value) nor the dataset give it.
    smooth_win : int
        Centred moving average over this many frames (odd) applied to the
        cleaned positions and heading before the features; <= 1: none.
    """

    fps_default: float = Field(default=30.0, gt=0.0, allow_inf_nan=False)
    smooth_win: int = Field(default=0, ge=0)


class PairSelection(StrictModel):
    """Which pairs get a row (moveo's extension; mosaic always writes all pairs).

    Attributes
    ----------
    mode : {"all", "nearest", "radius"}
        ``"all"``: every ordered pair (``m * (m - 1)`` rows for a frame with
        ``m`` individuals). ``"nearest"``: pairs in which one individual is
        among the other's ``k`` nearest, in both orders (between
        ``m * min(k, m - 1)`` and twice that). ``"radius"``: pairs at most
        ``radius`` apart, both orders.
    k : int
        Partners per individual for ``"nearest"``.
    radius : float or None
        Largest distance for ``"radius"`` (position units).
    """

    mode: Literal["all", "nearest", "radius"] = "all"
    k: int = Field(default=1, ge=1)
    radius: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)

    def model_post_init(self, __context: Any) -> None:  # noqa: D102
        if self.mode == "radius" and self.radius is None:
            raise ValueError("pairs: mode 'radius' needs a radius")


def empty_pair_frame(names: Iterable[str], dtypes: Mapping[str, Any] | None = None) -> dict:
    """Return an empty column dict for a pair output (helper for zero rows)."""
    dtypes = dtypes or {}
    return {name: np.empty(0, dtype=dtypes.get(name, np.float64)) for name in names}


class PairFeature(TrackingFeature):
    """Base of the pair features: cleaning, pair rows, fps and the output frame."""

    emits: ClassVar[str] = "pair"

    # ------------------------------------------------------------------ helpers

    def pose_config(self) -> PoseConfig:
        """Return the pose layout: ``params.pose`` when given, else the dataset's."""
        p = self.params
        if "pose" in p.model_fields_set or not hasattr(self, "pose"):
            return p.pose  # type: ignore[attr-defined]
        return self.pose

    def frame_rate(self, t: TrackTable) -> float:
        """Frames per second: a single-valued ``fps`` column, the dataset's, the default."""
        if t.has("fps"):
            s = t.df["fps"].drop_nulls()
            if s.dtype.is_numeric():
                s = s.cast(pl.Float64).filter(s.cast(pl.Float64).is_finite())
                uniq = s.unique()
                if uniq.len() == 1 and float(uniq[0]) > 0:
                    return float(uniq[0])
        if self.dataset_fps is not None:
            return float(self.dataset_fps)
        return float(self.params.sampling.fps_default)  # type: ignore[attr-defined]

    def clean(
        self, t: TrackTable, cols: list[str], circular: list[bool] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Clean ``cols`` per individual with ``params.interpolation``.

        Returns
        -------
        filled : numpy.ndarray
            float64 array of shape (n, len(cols)).
        keep : numpy.ndarray
            bool array of shape (n,).
        """
        ip: InterpolationConfig = self.params.interpolation  # type: ignore[attr-defined]
        values = t.floats2d(cols) if cols else np.empty((t.n, 0), order="F")
        return clean_columns(
            values,
            t.frames,
            t.offsets,
            linear_limit=ip.linear_interp_limit,
            edge_limit=ip.edge_fill_limit,
            max_missing_fraction=ip.max_missing_fraction,
            circular=np.asarray(circular if circular is not None else [False] * len(cols)),
        )

    def select_pairs(
        self,
        t: TrackTable,
        keep: np.ndarray | None,
        x: np.ndarray | None = None,
        y: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pair rows of the entry per ``params.pairs`` (focal rows, partner rows)."""
        sel: PairSelection = getattr(self.params, "pairs", PairSelection())
        return pair_rows(
            t.frames, t.offsets, t.ids, keep, mode=sel.mode, x=x, y=y, k=sel.k, radius=sel.radius
        )

    # ------------------------------------------------------------------ driving

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the pair table of one entry (several sequences: one after another).

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry (see the feature's docs for the columns).

        Returns
        -------
        polars.DataFrame
            group, sequence (when present), frame, id1, id2, perspective, then
            the feature columns; sorted by (group, sequence, id1, id2, frame).
        """
        if not isinstance(df, pl.DataFrame):
            raise TypeError(
                f"{self.name}: apply expects a polars DataFrame, got {type(df).__name__}"
            )
        c = self.columns
        block_cols = [col for col in (c.group_col, c.seq_col) if col in df.columns]
        if block_cols and df.height and df.select(block_cols).n_unique() > 1:
            parts = [
                self._apply_block(part) for part in df.partition_by(block_cols, maintain_order=True)
            ]
            return pl.concat(parts, how="vertical_relaxed").sort(
                [*block_cols, "id1", "id2", c.frame_col], maintain_order=True
            )
        return self._apply_block(df)

    def _apply_block(self, df: pl.DataFrame) -> pl.DataFrame:
        t = self.table(df)
        return self.compute(t)

    def compute(self, t: TrackTable) -> pl.DataFrame:  # pragma: no cover - abstract
        """Compute the pair table of one sequence (subclasses)."""
        raise NotImplementedError

    def pair_output(
        self,
        t: TrackTable,
        ra: np.ndarray,
        rb: np.ndarray,
        values: Mapping[str, np.ndarray | pl.Series] | Callable[[], Mapping[str, Any]],
    ) -> pl.DataFrame:
        """Build the pair table: keys from the pair rows, then ``values``.

        Parameters
        ----------
        t : TrackTable
            The sequence.
        ra, rb : numpy.ndarray
            Focal and partner rows (kernel order) of every output row.
        values : mapping
            Feature columns, one value per output row.

        Returns
        -------
        polars.DataFrame
        """
        c = self.columns
        if callable(values):
            values = values()
        id1 = t.ids[ra]
        id2 = t.ids[rb]
        cols: list[pl.Series] = []
        for col in (c.group_col, c.seq_col):
            if col in t.df.columns:
                s = t.df[col]
                first = s[0] if t.n else None
                cols.append(pl.repeat(first, len(ra), dtype=s.dtype, eager=True).alias(col))
        cols.append(pl.Series(c.frame_col, t.frames[ra], dtype=pl.Int64))
        cols.append(pl.Series("id1", id1, dtype=pl.Int64))
        cols.append(pl.Series("id2", id2, dtype=pl.Int64))
        cols.append(pl.Series("perspective", (id1 > id2).astype(np.int64), dtype=pl.Int64))
        for name, v in values.items():
            cols.append(v.alias(name) if isinstance(v, pl.Series) else pl.Series(name, v))
        return pl.DataFrame(cols)
