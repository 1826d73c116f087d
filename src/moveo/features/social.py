"""Feature ``social-motion-summary``: per-individual social and locomotor summary.

A per-individual summary: one output row per individual and sequence (per
individual and subgroup value with ``subgroup_col``), keyed by ``group``,
``sequence``, ``id`` -- not by frame. It consumes per-frame features joined on
the row keys: ``speed-angvel`` (``speed``), optionally ``nearest-neighbor``
(``nn_id``, ``nn_delta_angle``, ``nn_delta_x_ego``, ``nn_delta_y_ego``) and
``ffgroups`` (``group_membership``, ``group_size``). The arithmetic is
:func:`moveo.kernels.social.social_summaries`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from moveo.contract import InputItemLike, Inputs, Params
from moveo.features._frame import FrameFeature
from moveo.kernels.social import SUMMARY_COLUMNS, social_summaries

__all__ = ["SocialMotionSummary"]

_METRICS = SUMMARY_COLUMNS[:16]
_BURST = SUMMARY_COLUMNS[16:]
_COUNTS = ("n_frames", "n_social_frames", "n_accel", "n_jerk")


class SocialMotionSummary(FrameFeature):
    """Per-individual summary of social-interaction and locomotor-style metrics.

    One row per individual (and subgroup value), keyed by ``group``,
    ``sequence``, ``id`` (then the subgroup column). Social metrics use the
    *social* frames: those with a nearest neighbour (``nn_id`` present) and,
    when ``group_size`` is present, ``group_size >= social_min_group_size``.

    - ``nn_align``: mean ``cos(nn_delta_angle)``; ``frac_nn_ahead``: fraction
      of social frames with the neighbour ahead (``nn_delta_x_ego > 0``);
      ``nn_bearing_x`` / ``nn_bearing_y``: mean unit bearing of the neighbour
      in the own heading frame;
    - ``speed_match_nn``: mean ``|speed - neighbour's speed|``;
      ``speed_match_group``: mean ``|speed - mean speed of the own group|``
      (groups = ``group_membership`` of the frame);
    - ``speed_cv`` / ``speed_rcv``: std / mean and IQR / median of speed;
    - ``accel_{mean,med,cv,rcv}``, ``jerk_{mean,med,cv,rcv}``: the same
      statistics of ``|d speed / dt|`` and ``|d accel / dt|`` (``dt`` = frame
      step / ``fps``);
    - with ``compute_burst_coast``: ``kick_rate`` (acceleration peaks per
      second) and ``burst_coast_ratio`` (fraction of intervals accelerating);
    - with ``subgroup_col``: ``n_frames``, ``n_social_frames``, ``n_accel``,
      ``n_jerk`` (the sample sizes of the row).

    Derivatives are taken over the individual's whole series; under a
    subgroup split an interval counts only when all its samples belong to the
    subgroup. Metrics whose inputs are absent are NaN.

    Parameters
    ----------
    params : dict or SocialMotionSummary.Params, optional
    inputs : Inputs or tuple, optional
        Default: the tracks; give the upstream results, e.g.
        ``("tracks", speed, nn, ff)``.
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 0, 0, 0], "frame": [0, 1, 2, 3],
    ...                    "speed": [1.0, 2.0, 4.0, 4.0]})
    >>> out = SocialMotionSummary({"fps": 1.0}).apply(df)
    >>> out.select("id", "accel_mean", "jerk_med").rows()
    [(0, 1.0, 1.5)]
    """

    name: ClassVar[str] = "social-motion-summary"
    version: ClassVar[str] = "0.2"

    class Params(Params):
        """Parameters of :class:`SocialMotionSummary` (mosaic's names and defaults).

        Attributes
        ----------
        fps : float or None
            Frame rate of the derivatives; ``None``: the dataset's (else 30).
        speed_col : str
            Per-frame speed column.
        social_min_group_size : int
            Fewest ``group_size`` of a social frame (when ``group_size`` is present).
        subgroup_col : str or None
            One row per individual and value of this column (e.g. ``group_size``).
        compute_burst_coast : bool
            Add ``kick_rate`` and ``burst_coast_ratio``.
        """

        fps: float | None = Field(default=30.0, gt=0, allow_inf_nan=False)
        speed_col: str = "speed"
        social_min_group_size: int = 2
        subgroup_col: str | None = None
        compute_burst_coast: bool = False

        @model_validator(mode="after")
        def _check(self) -> SocialMotionSummary.Params:
            reserved = {"id", "frame", "time", "group", "sequence", *SUMMARY_COLUMNS, *_COUNTS}
            if self.subgroup_col is not None and self.subgroup_col in reserved:
                raise ValueError(
                    f"subgroup_col={self.subgroup_col!r} collides with a key or an emitted "
                    "column; use e.g. 'group_size' from ffgroups"
                )
            return self

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results (joined on the row keys)."""

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Summarise one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Per-frame rows of one entry (id, frame, speed, + nn_*, group_*).

        Returns
        -------
        polars.DataFrame
            One row per individual (and subgroup value), sorted by id (and value).
        """
        p = self.params
        c = self.columns
        t = self.table(df)
        t.require([p.speed_col], "speed-angvel (list its result in inputs)")
        if p.subgroup_col is not None:
            t.require([p.subgroup_col], "an upstream feature listed in inputs (e.g. ffgroups)")
        fps = p.fps if p.fps is not None else (self.dataset_fps or 30.0)
        speed = t.floats(p.speed_col)
        blocks = [col for col in (c.group_col, c.seq_col) if t.has(col)]
        extra: dict[str, Any] = {}
        has_nn = t.has("nn_id")
        social = np.zeros(t.n, dtype=np.bool_)
        if has_nn:
            nn = df.select(
                *blocks, c.frame_col, pl.col("nn_id").cast(pl.Int64, strict=False)
            ).with_row_index("__row")
            lut = df.select(*blocks, c.frame_col, pl.col(c.id_col).cast(pl.Int64).alias("nn_id"),
                            pl.col(p.speed_col).cast(pl.Float64).alias("__nbr"))  # fmt: skip
            nbr = nn.join(lut, on=[*blocks, c.frame_col, "nn_id"], how="left").sort("__row")
            extra["neighbor_speed"] = self._kernel_order(t, nbr["__nbr"])
            social = self._kernel_order(t, df["nn_id"].is_not_null().cast(pl.Float64)) > 0
        if t.has("group_size"):
            gs = self._kernel_order(t, df["group_size"].cast(pl.Float64))
            with np.errstate(invalid="ignore"):
                social &= gs >= p.social_min_group_size
        if t.has("group_membership"):
            sp = pl.col(p.speed_col).cast(pl.Float64).fill_nan(None)
            dev = df.select(
                (sp - sp.mean().over([*blocks, c.frame_col, "group_membership"])).alias("d")
            )["d"]
            extra["dev_group"] = self._kernel_order(t, dev)
        if t.has("nn_delta_angle"):
            extra["nn_angle"] = t.floats("nn_delta_angle")
        if t.has("nn_delta_x_ego") and t.has("nn_delta_y_ego"):
            extra["ego_x"] = t.floats("nn_delta_x_ego")
            extra["ego_y"] = t.floats("nn_delta_y_ego")
        values = None
        if p.subgroup_col is not None:
            col = df[p.subgroup_col]
            if col.dtype.is_float():
                col = col.fill_nan(None)
            values = col.drop_nulls().unique().sort()
            codes = col.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
            extra["subgroup"] = codes if t.order is None else codes[t.order]
        res = social_summaries(
            speed, t.frames, t.offsets, fps=fps, social=social,
            burst_coast=p.compute_burst_coast, **extra,
        )  # fmt: skip
        first = t.offsets[:-1][res["segment"]]
        rows = first if t.order is None else t.order[first]
        keys = [col for col in (c.group_col, c.seq_col, c.id_col) if t.has(col)]
        out = df.select(keys)[rows]
        cols: list[pl.Series] = []
        if values is not None:
            cols.append(values.gather(res["code"]).alias(p.subgroup_col))
        cols += [pl.Series(name, res[name]) for name in _METRICS]
        if p.compute_burst_coast:
            cols += [pl.Series(name, res[name]) for name in _BURST]
        if p.subgroup_col is not None:
            cols += [pl.Series(name, res[name], dtype=pl.Int64) for name in _COUNTS]
        return out.with_columns(cols)

    @staticmethod
    def _kernel_order(t: Any, s: pl.Series) -> np.ndarray:
        v = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
        return np.ascontiguousarray(v if t.order is None else v[t.order])
