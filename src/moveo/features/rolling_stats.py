"""Feature ``rolling-stats``: rolling statistics of chosen columns per individual."""

from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl
from pydantic import Field, field_validator

from moveo.contract import Inputs, Params, Result, TrackInput
from moveo.features._tracking import TrackingFeature
from moveo.kernels.windows import rolling

__all__ = ["RollingStats"]

Stat = Literal["mean", "std", "min", "max", "sum"]


class RollingStats(TrackingFeature):
    """Rolling mean / std / min / max / sum of numeric columns, per individual.

    Windows are ``window`` frames long, trailing (ending at the row) or
    centred, and never cross an individual or sequence boundary. A window
    covers frames, not rows: when frames are missing it holds fewer rows.
    NaN values are skipped; a window with fewer than ``min_periods`` finite
    values gives NaN. ``std`` is the sample standard deviation (ddof=1).
    See :mod:`moveo.kernels.windows`.

    Output columns: ``{column}_{stat}`` for every chosen column and statistic.

    Parameters
    ----------
    params : dict or RollingStats.Params, optional
        ``columns`` (required), ``window``, ``stats``, ``center``, ``min_periods``.
    inputs : Inputs, optional
        Default: the tracks; pass an upstream feature's :class:`Result` to
        smooth its output (e.g. the ``speed`` column of ``speed-angvel``).
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 0, 0], "frame": [0, 1, 2], "X": [1.0, 2.0, 6.0]})
    >>> f = RollingStats(params={"columns": ["X"], "window": 2, "stats": ["mean", "max"]})
    >>> f.apply(df).select("X_mean", "X_max").rows()
    [(1.0, 1.0), (1.5, 2.0), (4.0, 6.0)]
    """

    name: ClassVar[str] = "rolling-stats"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`RollingStats`.

        Attributes
        ----------
        columns : list of str
            Numeric columns to summarise (at least one).
        window : int
            Window length in frames (>= 1). Default 30.
        stats : list of {"mean", "std", "min", "max", "sum"}
            Statistics to compute. Default mean and std.
        center : bool
            Centred window instead of trailing. Default False.
        min_periods : int
            Minimum number of finite values in a window (1..window). Default 1.
        """

        columns: list[str] = Field(min_length=1)
        window: int = Field(default=30, ge=1)
        stats: list[Stat] = Field(default_factory=lambda: ["mean", "std"], min_length=1)
        center: bool = False
        min_periods: int = Field(default=1, ge=1)

        @field_validator("columns", "stats")
        @classmethod
        def _unique(cls, value: list[str]) -> list[str]:
            if len(set(value)) != len(value):
                raise ValueError(f"duplicate entries in {value}")
            return value

    class Inputs(Inputs[TrackInput | Result]):
        """The tracks or an upstream feature's output."""

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the feature for one entry.

        Parameters
        ----------
        df : polars.DataFrame
            One entry with id, frame and the chosen columns.

        Returns
        -------
        polars.DataFrame
            group, sequence (if present), id, frame, then ``{column}_{stat}``
            (float64) per chosen column and statistic; one row per input row.
        """
        p = self.params
        if p.min_periods > p.window:
            raise ValueError(
                f"{self.name}: min_periods={p.min_periods} is larger than window={p.window}"
            )
        t = self.table(df)
        keys = set(self.columns.key_cols())
        clash = [col for col in p.columns if col in keys]
        if clash:
            raise ValueError(f"{self.name}: cannot summarise key column(s) {clash}")
        t.require(
            p.columns,
            "the input: tracks columns or an upstream feature's output (for example run "
            "speed-angvel first and pass its Result as input to summarise 'speed')",
        )
        out = {}
        for col in p.columns:
            res = rolling(
                t.floats(col),
                t.offsets,
                p.window,
                stats=tuple(p.stats),
                center=p.center,
                min_periods=p.min_periods,
                positions=t.frames,
            )
            for stat in p.stats:
                out[f"{col}_{stat}"] = res[stat]
        return t.output(out)
