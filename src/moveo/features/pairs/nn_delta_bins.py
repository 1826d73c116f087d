"""Feature ``nn-delta-bins``: responses to the nearest neighbour binned by its position.

Reads an ``nn-delta-response`` run (the neighbour's position in the focal's
heading frame ``neighbor_x`` ahead / ``neighbor_y`` left, and the focal's
responses ``dangle`` and ``dspeed``) and writes mosaic's long summary table
per entry. With ``edges = linspace(-binmax, binmax, nbins)`` (``nbins`` is the
number of *edges*), for every category group (below):

- ``dim="1d"``, ``metric="turn"``: the mean ``dangle`` of the neighbours ahead
  (``0 <= neighbor_x <= max_for_avg``) per bin of ``neighbor_y``
  (``nbins - 1`` bins ``[lo, hi)``); ``antisymm`` adds every row mirrored
  (``-neighbor_y``, ``-dangle``), which folds the turn response left-right;
- ``dim="1d"``, ``metric="speed"``: the mean ``dspeed`` of the neighbours beside
  (``|neighbor_y| <= max_for_avg / 2``) per bin of ``neighbor_x``;
- ``dim="2d"``: per bin ``(bin_x, bin_y)`` of ``(neighbor_x, neighbor_y)``
  (``nbins - 1`` x bins over ``edges``, ``nbins`` y bins over
  ``linspace(-binmax, binmax, nbins + 1)``, last bins closed) the ``sum_value``
  and ``count`` of ``dangle`` (``turn``; mirrored with ``antisymm``) and of
  ``dspeed`` (``speed``; always mirrored at ``-neighbor_y``, value unchanged).

Rows with a missing response are dropped first, and rows where an
``exclude_cols`` column is true. Groups: with the ``focal_category_col``
column, one group per (focal category, group size) with every neighbour
(``neighbor_category="all"``) and one per neighbour category (the
``neighbor_category_col`` column, when present); without it, one group per
(neighbour category, group size), restricted to the rows whose
``nonfocal_flag_col`` equals ``nonfocal_flag_value`` when that column exists.
``group_size`` is the group-size column's value (rows where it is missing are
left out), or ``"all"`` without that column. ``category_specs`` first derive
boolean category columns from quantiles of other columns.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Inputs, Params, Result
from moveo.features.base import BaseFeature
from moveo.kernels.pairs import delta_bins

__all__ = ["NNDeltaBins"]

_RESPONSE = ("neighbor_x", "neighbor_y", "dangle", "dspeed")


class CategorySpec(Params):
    """A derived boolean category column (one of ``category_specs``).

    Attributes
    ----------
    source_col : str
        Column compared with its quantile.
    new_col : str
        Name of the boolean column written.
    quantile : float
        Quantile of ``source_col`` (linear interpolation, missing values skipped).
    op : str
        ``"<="``: at most the quantile; anything else: above it (mosaic).
    """

    source_col: str
    new_col: str
    quantile: float = Field(default=0.75, ge=0.0, le=1.0)
    op: str = ">"


def _center_value(v: Any) -> int | None:
    # mosaic writes the focal category as a nullable integer
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return int(v) if float(v).is_integer() else None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() else None


def _neighbor_value(v: Any) -> str:
    # mosaic writes the neighbour category as a string, "all" for every neighbour
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "all"
    if isinstance(v, bool | np.bool_ | int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating) and v in (0.0, 1.0):
        return str(int(v))
    return str(v)


class NNDeltaBins(BaseFeature):
    """Binned nearest-neighbour responses (mosaic ``nn-delta-bins``).

    Parameters
    ----------
    params : dict or NNDeltaBins.Params, optional
        See :class:`NNDeltaBins.Params` (mosaic's names and defaults).
    inputs : tuple of Result, optional
        Default: the latest ``nn-delta-response`` run.
    columns : Columns, optional
        Column names (the runner passes the dataset's).
    """

    name: ClassVar[str] = "nn-delta-bins"
    version: ClassVar[str] = "0.1"
    default_inputs: ClassVar[tuple[Any, ...]] = (Result(feature="nn-delta-response"),)

    class Params(Params):
        """Parameters of :class:`NNDeltaBins`.

        Attributes
        ----------
        nbins : int
            Bin edges from ``-binmax`` to ``binmax`` (``nbins - 1`` bins).
        binmax : float
            Largest absolute neighbour offset binned.
        max_for_avg : float
            Neighbours ahead up to this far enter the turn response; beside
            within half of it, the speed response.
        antisymm : bool
            Fold the turn response left-right (mirrored copies).
        focal_category_col, neighbor_category_col : str
            Category columns of the focal and of the neighbour.
        group_size_col, exp_col, trial_col : str
            Columns passed to the output (first value of the entry).
        category_specs : list of CategorySpec
            Derived category columns.
        exclude_cols : list of str
            Rows where one of these columns is true (or non-zero) are dropped.
        nonfocal_flag_col : str
            Without a focal category column: keep rows where this column...
        nonfocal_flag_value : bool
            ... equals this value.
        """

        nbins: int = Field(default=45, gt=1)
        binmax: float = Field(default=14.0, gt=0.0, allow_inf_nan=False)
        max_for_avg: float = Field(default=5.0, gt=0.0, allow_inf_nan=False)
        antisymm: bool = True
        focal_category_col: str = "Focal_fish"
        neighbor_category_col: str = "neighbor_focal"
        group_size_col: str = "group_size"
        exp_col: str = "Exp"
        trial_col: str = "Trial"
        category_specs: list[CategorySpec] = Field(default_factory=list)
        exclude_cols: list[str] = Field(default_factory=list)
        nonfocal_flag_col: str = "Focal_fish"
        nonfocal_flag_value: bool = False

    class Inputs(Inputs[Result]):
        """An ``nn-delta-response`` run."""

    # ------------------------------------------------------------------ input

    def _prepare(self, df: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        missing = [col for col in _RESPONSE if col not in df.columns]
        if missing:
            raise ValueError(
                f"{self.name}: missing column(s) {missing}; they come from an nn-delta-response "
                f"run (inputs=(Result(feature='nn-delta-response'),)). Columns present: "
                f"{df.columns}"
            )
        for col in p.exclude_cols:
            if col in df.columns:
                s = df[col]
                bad = s.cast(pl.Boolean, strict=False) if s.dtype != pl.Boolean else s
                if s.dtype.is_float():
                    bad = s.fill_nan(0.0) != 0
                df = df.filter(~bad.fill_null(False))
        for base in (p.focal_category_col, p.neighbor_category_col, p.group_size_col):
            # mosaic coalesces suffix-split columns (base_x, base_y, ...) into base
            if base and base not in df.columns:
                parts = [col for col in df.columns if col.startswith(base + "_")]
                if parts:
                    df = df.with_columns(pl.coalesce(parts).alias(base))
        resp = [pl.col(col).cast(pl.Float64) for col in _RESPONSE]
        df = df.with_columns(resp).filter(
            pl.all_horizontal(
                [pl.col(col).is_not_null() & pl.col(col).is_not_nan() for col in _RESPONSE]
            )
        )
        for spec in p.category_specs:
            if spec.source_col not in df.columns:
                raise ValueError(
                    f"{self.name}: category_specs needs column {spec.source_col!r} "
                    f"(for {spec.new_col!r}); columns present: {df.columns}"
                )
            src = pl.col(spec.source_col).cast(pl.Float64)
            q = df.select(src.fill_nan(None).quantile(spec.quantile, interpolation="linear")).item()
            above = spec.op.strip() != "<="
            cond = pl.lit(False) if q is None else (src > q) if above else (src <= q)
            df = df.with_columns(cond.fill_null(False).alias(spec.new_col))
        return df

    # ------------------------------------------------------------------ groups

    @staticmethod
    def _groups(df: pl.DataFrame, by: list[str]) -> list[tuple[tuple, np.ndarray]]:
        # (key values, row indices) per distinct key, keys sorted, missing last (pandas)
        if not df.height:
            return []
        g = (
            df.with_row_index("_row")
            .group_by(by, maintain_order=True)
            .agg(pl.col("_row"))
            .sort(by, nulls_last=True)
        )
        return [(tuple(row[:-1]), np.asarray(row[-1], dtype=np.int64)) for row in g.iter_rows()]

    def _plan(self, df: pl.DataFrame) -> list[tuple[Any, Any, Any, np.ndarray]]:
        # (center category, neighbor category, group size, rows) per output group
        p = self.params
        gs = p.group_size_col if p.group_size_col in df.columns else None
        plan = []
        fc, nc = p.focal_category_col, p.neighbor_category_col
        if fc and fc in df.columns:
            for key, rows in self._groups(df, [fc] + ([gs] if gs else [])):
                size = key[1] if gs else "all"
                if size is None or (isinstance(size, float) and math.isnan(size)):
                    continue
                plan.append((key[0], None, size, rows))
                if nc in df.columns:
                    sub = df[rows]
                    for nkey, nrows in self._groups(sub, [nc]):
                        plan.append((key[0], nkey[0], size, rows[nrows]))
        elif nc in df.columns:
            base = np.arange(df.height, dtype=np.int64)
            if p.nonfocal_flag_col in df.columns:
                keep = (df[p.nonfocal_flag_col] == p.nonfocal_flag_value).fill_null(False)
                base = base[keep.to_numpy()]
            sub = df[base]
            for key, rows in self._groups(sub, [nc] + ([gs] if gs else [])):
                size = key[1] if gs else "all"
                if size is None or (isinstance(size, float) and math.isnan(size)):
                    continue
                plan.append((None, key[0], size, base[rows]))
        return plan

    # ------------------------------------------------------------------ output

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the binned table of one entry.

        Parameters
        ----------
        df : polars.DataFrame
            An ``nn-delta-response`` output.

        Returns
        -------
        polars.DataFrame
            group, sequence (when present), dim, metric, center_category,
            neighbor_category, bin_idx, bin_x, bin_y, value, sum_value, count,
            then the ``exp_col``, ``trial_col`` and ``group_size_col`` columns.
        """
        c = self.columns
        block_cols = [col for col in (c.group_col, c.seq_col) if col in df.columns]
        if block_cols and df.height and df.select(block_cols).n_unique() > 1:
            parts = [
                self._one(part, block_cols)
                for part in df.partition_by(block_cols, maintain_order=True)
            ]
            return pl.concat(parts, how="vertical_relaxed")
        return self._one(df, block_cols)

    def _one(self, df: pl.DataFrame, block_cols: list[str]) -> pl.DataFrame:
        p = self.params
        meta = {col: (df[col][0] if df.height else None, df.schema[col]) for col in block_cols}
        df = self._prepare(df)
        plan = self._plan(df)
        nb = p.nbins - 1
        n1, n2 = nb, nb * p.nbins
        per = 2 * n1 + 2 * n2  # rows per group: 1-D turn, 1-D speed, 2-D turn, 2-D speed
        rows = np.concatenate([r for *_, r in plan]) if plan else np.empty(0, np.int64)
        goff = np.zeros(len(plan) + 1, dtype=np.int64)
        np.cumsum([r.shape[0] for *_, r in plan], out=goff[1:])
        arrays = [df[col].to_numpy() if df.height else np.empty(0) for col in _RESPONSE]
        b = delta_bins(
            rows,
            goff,
            *arrays,
            nbins=p.nbins,
            binmax=p.binmax,
            max_for_avg=p.max_for_avg,
            antisymm=p.antisymm,
        )
        g = len(plan)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_mean = b["turn_sum_1d"] / b["turn_count_1d"]
            s_mean = b["speed_sum_1d"] / b["speed_count_1d"]
        value = np.full((g, per), np.nan)
        value[:, :n1] = t_mean
        value[:, n1 : 2 * n1] = s_mean
        sums = np.full((g, per), np.nan)
        sums[:, 2 * n1 : 2 * n1 + n2] = b["turn_sum_2d"].reshape(g, n2)
        sums[:, 2 * n1 + n2 :] = b["speed_sum_2d"].reshape(g, n2)
        counts = np.zeros((g, per), dtype=np.int64)
        counts[:, 2 * n1 : 2 * n1 + n2] = b["turn_count_2d"].reshape(g, n2)
        counts[:, 2 * n1 + n2 :] = b["speed_count_2d"].reshape(g, n2)
        is1 = np.r_[np.ones(2 * n1, bool), np.zeros(2 * n2, bool)]
        bin_idx = np.r_[np.arange(n1), np.arange(n1), np.zeros(2 * n2, np.int64)]
        bx = np.r_[np.zeros(2 * n1, np.int64), np.tile(np.repeat(np.arange(nb), p.nbins), 2)]
        by = np.r_[np.zeros(2 * n1, np.int64), np.tile(np.tile(np.arange(p.nbins), nb), 2)]
        metric = np.r_[["turn"] * n1, ["speed"] * n1, ["turn"] * n2, ["speed"] * n2]
        one = np.tile(is1, g)
        total = g * per
        out: dict[str, pl.Series] = {}
        for col, (v, dt) in meta.items():
            out[col] = pl.repeat(v, total, dtype=dt, eager=True)
        out["dim"] = pl.Series(np.where(one, "1d", "2d"), dtype=pl.String)
        out["metric"] = pl.Series(np.tile(metric, g), dtype=pl.String)
        out["center_category"] = pl.Series(
            np.repeat([_center_value(cc) for cc, *_ in plan], per).tolist() if g else [],
            dtype=pl.Int64,
        )
        out["neighbor_category"] = pl.Series(
            np.repeat([_neighbor_value(nc) for _, nc, *_ in plan], per).tolist() if g else [],
            dtype=pl.String,
        )
        out["bin_idx"] = pl.Series(np.tile(bin_idx, g), dtype=pl.Int64)
        out["bin_x"] = pl.Series(np.tile(bx, g), dtype=pl.Int64)
        out["bin_y"] = pl.Series(np.tile(by, g), dtype=pl.Int64)
        out["value"] = pl.Series(value.ravel(), dtype=pl.Float64)
        out["sum_value"] = pl.Series(sums.ravel(), dtype=pl.Float64)
        out["count"] = pl.Series(counts.ravel(), dtype=pl.Int64)
        res = pl.DataFrame(out)
        # columns that do not apply to a row's dim are null
        res = res.with_columns(
            pl.when(pl.col("dim") == "1d").then(pl.col("bin_idx")).alias("bin_idx"),
            pl.when(pl.col("dim") == "2d").then(pl.col("bin_x")).alias("bin_x"),
            pl.when(pl.col("dim") == "2d").then(pl.col("bin_y")).alias("bin_y"),
            pl.when(pl.col("dim") == "1d").then(pl.col("value")).alias("value"),
            pl.when(pl.col("dim") == "2d").then(pl.col("sum_value")).alias("sum_value"),
            pl.when(pl.col("dim") == "2d").then(pl.col("count")).alias("count"),
        )
        for col in (p.exp_col, p.trial_col):
            if col in df.columns and df.height:
                res = res.with_columns(
                    pl.repeat(df[col][0], total, dtype=df.schema[col], eager=True).alias(col)
                )
            else:
                res = res.with_columns(pl.lit("", dtype=pl.String).alias(col))
        if p.group_size_col in df.columns:
            sizes = [s for *_, s, _ in plan]
            dt = df.schema[p.group_size_col]
            if dt.is_numeric() and all(float(s).is_integer() for s in sizes):
                gs = pl.Series(
                    np.repeat([int(s) for s in sizes], per).tolist() if g else [], dtype=pl.Int64
                )
            else:
                gs = pl.Series(
                    np.repeat([str(s) for s in sizes], per).tolist() if g else [], dtype=pl.String
                )
        else:
            gs = pl.repeat("all", total, dtype=pl.String, eager=True)
        return res.with_columns(gs.alias(p.group_size_col))
