"""Feature ``temporal-stack``: temporal context windows of chosen columns (mosaic's).

For every chosen numeric column ``c`` of the input (default: every numeric
payload column, in name order):

- with ``use_temporal_stack`` (default): ``c`` is Gaussian-smoothed
  (``sigma_stack`` frames; 0 disables it) and copied at every offset
  ``-half, -half + skip, ..., half`` frames as ``c__t-60`` ... ``c__t+00`` ...
  ``c__t+60`` (mosaic's names: sign and at least two digits); without it,
  ``c`` is passed through;
- with ``add_pool`` (default): Gaussian-pooled statistics of the raw ``c``
  over a window of ``win_sec`` seconds (``sigma_pool``), ``c__pool_mean``,
  ``c__pool_var``, ``c__pool_std`` for ``pool_stats`` ``"mean"``,
  ``"variance"``, ``"std"`` (in that order).

Columns are float32, as mosaic writes them. Segment-aware: every individual
of every sequence is its own signal on its frame grid, padded with its first
and last values (mosaic pads the whole table, so its windows run from one
individual into the next). See :mod:`moveo.kernels.temporal` for the kernels.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.temporal import gaussian_pool, gaussian_smooth, lag_stack, pool_window

__all__ = ["TemporalStack"]

POOL_STATS: dict[str, str] = {"mean": "mean", "variance": "var", "std": "std"}
"""Accepted ``pool_stats`` (any case) and the suffix each one writes."""

# identity and bookkeeping columns (mosaic's list plus moveo's own markers)
_NOT_PAYLOAD = frozenset(
    {
        "perspective",
        "label",
        "id1",
        "id2",
        "entity_level",
        "split",
        "nn_id",
        "fps",
        "attention_target_id",
        "is_template",
        "template_index",
        "cluster",
    }
)


def lag_name(column: str, offset: int) -> str:
    """Return mosaic's name of ``column`` shifted by ``offset`` frames (``x__t-05``)."""
    return f"{column}__t{offset:+03d}"


class TemporalStack(TrackingFeature):
    """Stacked ±context copies and pooled statistics of chosen columns.

    Parameters
    ----------
    params : dict or TemporalStack.Params, optional
    inputs : Inputs, optional
        Default: the tracks; usually an upstream feature's :class:`Result`
        (e.g. ``speed-angvel``).
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0] * 4, "frame": [0, 1, 2, 3], "v": [1.0, 2.0, 3.0, 4.0]})
    >>> f = TemporalStack({"half": 1, "skip": 1, "sigma_stack": 0, "add_pool": False})
    >>> f.apply(df).columns
    ['id', 'frame', 'v__t-01', 'v__t+00', 'v__t+01']
    >>> f.apply(df)["v__t+01"].to_list()
    [2.0, 3.0, 4.0, 4.0]
    """

    name: ClassVar[str] = "temporal-stack"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`TemporalStack` (mosaic's names and defaults).

        Attributes
        ----------
        half : int
            Half-width of the window in frames: offsets -half..half. Default 60.
        skip : int
            Step between offsets in frames. Default 5.
        use_temporal_stack : bool
            Emit the smoothed copies at every offset (else pass the columns
            through). Default True.
        sigma_stack : float
            Gaussian sigma in frames before stacking; 0 disables. Default 30.
        add_pool : bool
            Emit pooled statistics. Default True.
        pool_stats : tuple of str
            Any of ``"mean"``, ``"std"``, ``"variance"`` (any case). Default
            ``("mean",)``. Other names are an error (mosaic ignores them).
        sigma_pool : float
            Gaussian sigma of the pooling window in frames; ``<= 0``: derived
            from the window (``max(fps * win_sec / 6, 1)``). Default 30.
        fps : float or None
            Frames per second converting ``win_sec`` to frames. ``None``: the
            dataset's, else 30 (mosaic always uses 30 unless given).
        win_sec : float
            Width of the pooling window in seconds. Default 0.5.
        columns : list of str or None
            Columns to stack (name order, repeats ignored); ``None``: every
            numeric payload column.
        """

        half: int = Field(default=60, ge=0)
        skip: int = Field(default=5, ge=1)
        use_temporal_stack: bool = True
        sigma_stack: float = Field(default=30.0, ge=0, allow_inf_nan=False)
        add_pool: bool = True
        pool_stats: tuple[str, ...] = ("mean",)
        sigma_pool: float = Field(default=30.0, allow_inf_nan=False)
        fps: float | None = Field(default=None, gt=0, allow_inf_nan=False)
        win_sec: float = Field(default=0.5, gt=0, allow_inf_nan=False)
        columns: list[str] | None = Field(default=None, min_length=1)

        @field_validator("pool_stats")
        @classmethod
        def _known_stats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
            bad = [s for s in value if s.lower() not in POOL_STATS]
            if bad:
                raise ValueError(
                    f"unknown pool statistic(s) {bad}; choose from {sorted(POOL_STATS)}"
                )
            return tuple(dict.fromkeys(s.lower() for s in value))

        @field_validator("columns")
        @classmethod
        def _sorted_unique(cls, value: list[str] | None) -> list[str] | None:
            return None if value is None else sorted(set(value))

    def _payload(self, df: pl.DataFrame) -> list[str]:
        skip = set(self.columns.meta_set()) | _NOT_PAYLOAD
        if self.params.columns is not None:
            bad = [c for c in self.params.columns if c in skip]
            if bad:
                raise ValueError(
                    f"{self.name}: {bad} are identity or bookkeeping columns, not payload"
                )
            missing = [c for c in self.params.columns if c not in df.columns]
            if missing:
                raise ValueError(
                    f"{self.name}: input has no column(s) {missing} (columns: {df.columns}); "
                    "check 'columns' or the upstream feature that should provide them"
                )
            return list(self.params.columns)
        cols = sorted(
            c for c, t in df.schema.items() if c not in skip and t.is_numeric() and t != pl.Boolean
        )
        if not cols:
            raise ValueError(
                f"{self.name}: input has no numeric payload columns (columns: {df.columns}); "
                "give 'columns' or an upstream feature"
            )
        return cols

    def offsets(self) -> list[int]:
        """Return the frame offsets of the stacked copies, ``-half..half`` by ``skip``."""
        p = self.params
        return list(range(-p.half, p.half + 1, p.skip))

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Stack one entry.

        Parameters
        ----------
        df : polars.DataFrame
            One entry with id, frame and the chosen columns.

        Returns
        -------
        polars.DataFrame
            Key columns, ``time`` when present, then the stacked (or passed
            through) columns and the pooled statistics (float32); one row per
            input row, in input order.
        """
        p = self.params
        t = self.table(df)
        cols = self._payload(df)
        values = t.floats2d(cols)
        out: dict[str, np.ndarray] = {}
        if p.use_temporal_stack:
            smooth = gaussian_smooth(values, t.frames, t.offsets, p.sigma_stack)
            lags = self.offsets()
            block = lag_stack(smooth, t.frames, t.offsets, lags)
            for q, d in enumerate(lags):
                for j, c in enumerate(cols):
                    out[lag_name(c, d)] = block[:, q * len(cols) + j]
        else:
            for j, c in enumerate(cols):
                out[c] = values[:, j].astype(np.float32)
        if p.add_pool and p.pool_stats:
            fps = p.fps if p.fps is not None else (self.dataset_fps or 30.0)
            sigma, radius = pool_window(fps, p.win_sec, p.sigma_pool)
            mean, var, std = gaussian_pool(
                values, t.frames, t.offsets, sigma, radius, dtype=np.float32
            )
            for stat, arr in (("mean", mean), ("variance", var), ("std", std)):
                if stat in p.pool_stats:
                    for j, c in enumerate(cols):
                        out[f"{c}__pool_{POOL_STATS[stat]}"] = arr[:, j]
        res = t.output(out)
        time_col = self.columns.time_col
        if time_col in df.columns and time_col not in res.columns:
            keys = [k for k in self.columns.key_cols() if k in res.columns]
            res = res.insert_column(len(keys), df[time_col])
        return res
