"""Features ``pair-facing`` and ``attention-target``.

``pair-facing`` (per pair and frame): the focal's body axis angle (from its
head keypoint to its abdomen keypoint, mosaic's ``head_to_abdomen``, or the
reverse), the bearing from the focal's head to the partner's head, their
absolute difference wrapped into [0, 180] degrees, the head-to-head distance
(times ``cm_per_pixel`` when set) and ``is_facing = angle_diff_deg <
angle_thresh_deg and distance < dist_thresh``. The keypoints are used as they
are (no gap filling, as mosaic); a missing keypoint gives NaN and
``is_facing`` False.

``attention-target`` (per individual and frame, from a ``pair-facing`` run):
among the partners the focal is facing, the one with the smallest angle
difference (ties: the smaller id), and the group labels of both from
``id_group_map``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Inputs, Params, Result
from moveo.features._tracking import TrackTable
from moveo.features.base import BaseFeature
from moveo.features.pairs._base import PairFeature, PairSelection
from moveo.kernels.pairs import PAIR_FACING_COLUMNS, attention_targets, pair_facing

__all__ = ["AttentionTarget", "PairFacing"]


class PairFacing(PairFeature):
    """Directional facing of every ordered pair (mosaic ``pair-facing``).

    Parameters
    ----------
    params : dict or PairFacing.Params, optional
        ``angle_thresh_deg``, ``dist_thresh``, ``cm_per_pixel``,
        ``pose_head_index``, ``pose_abdomen_index``, ``body_axis_from``,
        ``x_prefix``, ``y_prefix``, ``pairs``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [1, 2], "frame": [0, 0],
    ...                    "poseX3": [0.0, 2.0], "poseY3": [0.0, 0.0],
    ...                    "poseX5": [-1.0, 3.0], "poseY5": [0.0, 0.0]})
    >>> PairFacing({"body_axis_from": "abdomen_to_head"}).apply(df).select(
    ...     "id1", "angle_diff_deg", "distance", "is_facing").rows()
    [(1, 0.0, 2.0, True), (2, 180.0, 2.0, False)]
    """

    name: ClassVar[str] = "pair-facing"
    version: ClassVar[str] = "0.2"

    class Params(Params):
        """Parameters of :class:`PairFacing`.

        Attributes
        ----------
        angle_thresh_deg : float
            ``is_facing`` needs ``angle_diff_deg`` below this (degrees).
        dist_thresh : float
            ``is_facing`` needs ``distance`` below this (cm with
            ``cm_per_pixel``, else position units).
        cm_per_pixel : float or None
            Scale of the head-to-head distance.
        pose_head_index, pose_abdomen_index : int
            Keypoints of the head and the abdomen tip (TRex bee layout: 3, 5).
        body_axis_from : {"head_to_abdomen", "abdomen_to_head"}
            Direction of the body axis (mosaic's default reproduces
            BeesInADish: facing when the abdomen points at the partner).
        x_prefix, y_prefix : str
            Keypoint column prefixes.
        pairs : PairSelection
            Which pairs get rows (default all; distances between heads).
        """

        angle_thresh_deg: float = 45.0
        dist_thresh: float = 3.0
        cm_per_pixel: float | None = None
        pose_head_index: int = 3
        pose_abdomen_index: int = 5
        body_axis_from: Literal["head_to_abdomen", "abdomen_to_head"] = "head_to_abdomen"
        x_prefix: str = "poseX"
        y_prefix: str = "poseY"
        pairs: PairSelection = Field(default_factory=PairSelection)

    def compute(self, t: TrackTable) -> pl.DataFrame:
        """Pair table of one sequence."""
        p = self.params
        cols = [
            f"{p.x_prefix}{p.pose_head_index}",
            f"{p.y_prefix}{p.pose_head_index}",
            f"{p.x_prefix}{p.pose_abdomen_index}",
            f"{p.y_prefix}{p.pose_abdomen_index}",
        ]
        t.require(cols, "the tracks (head and abdomen pose keypoints)")
        hx, hy, ax, ay = (t.floats(col) for col in cols)
        ra, rb = self.select_pairs(t, None, hx, hy)
        values, facing = pair_facing(
            ra,
            rb,
            hx,
            hy,
            ax,
            ay,
            towards_tail=p.body_axis_from == "head_to_abdomen",
            dist_scale=1.0 if p.cm_per_pixel is None else p.cm_per_pixel,
            angle_thresh_deg=p.angle_thresh_deg,
            dist_thresh=p.dist_thresh,
        )
        out: dict[str, Any] = {name: values[:, j] for j, name in enumerate(PAIR_FACING_COLUMNS)}
        out["is_facing"] = pl.Series("is_facing", facing, dtype=pl.Boolean)
        return self.pair_output(t, ra, rb, out)


class AttentionTarget(BaseFeature):
    """The partner each individual faces most directly (mosaic ``attention-target``).

    Reads a ``pair-facing`` run (``frame``, ``id1``, ``id2``, ``angle_diff_deg``,
    ``is_facing``) and writes one row per focal and frame present in it:
    ``attention_target_id`` (Int64, null when it faces nobody),
    ``attention_target_angle_diff_deg`` (NaN then), ``focal_group`` and
    ``target_group`` (String labels from ``id_group_map``, null when absent) and
    ``attention_type``: ``"none"`` (no target), ``"unknown"`` (a target but a
    label missing), else ``"in_group"`` / ``"out_group"``.

    Parameters
    ----------
    params : dict or AttentionTarget.Params, optional
        ``id_group_map``.
    inputs : tuple of Result, optional
        Default: the latest ``pair-facing`` run.
    columns : Columns, optional
        Column names (the runner passes the dataset's).
    """

    name: ClassVar[str] = "attention-target"
    version: ClassVar[str] = "0.2"
    default_inputs: ClassVar[tuple[Any, ...]] = (Result(feature="pair-facing"),)

    class Params(Params):
        """Parameters of :class:`AttentionTarget`.

        Attributes
        ----------
        id_group_map : dict of str to str, or None
            Group label of each individual id (keys are ids as strings).
        """

        id_group_map: dict[str, str] | None = None

    class Inputs(Inputs[Result]):
        """A ``pair-facing`` run."""

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the attention target of every focal and frame of one entry.

        Parameters
        ----------
        df : polars.DataFrame
            A ``pair-facing`` output.

        Returns
        -------
        polars.DataFrame
            group, sequence (when present), id, frame, then the columns above;
            sorted by (id, frame).
        """
        c = self.columns
        need = [c.frame_col, "id1", "id2", "angle_diff_deg", "is_facing"]
        missing = [col for col in need if col not in df.columns]
        if missing:
            raise ValueError(
                f"{self.name}: missing column(s) {missing}; they come from a pair-facing run "
                f"(inputs=(Result(feature='pair-facing'),)). Columns present: {df.columns}"
            )
        block_cols = [col for col in (c.group_col, c.seq_col) if col in df.columns]
        if block_cols and df.height and df.select(block_cols).n_unique() > 1:
            parts = [
                self._one(part, block_cols)
                for part in df.partition_by(block_cols, maintain_order=True)
            ]
            return pl.concat(parts).sort([*block_cols, c.id_col, c.frame_col], maintain_order=True)
        return self._one(df, block_cols)

    def _one(self, df: pl.DataFrame, block_cols: list[str]) -> pl.DataFrame:
        c = self.columns
        id1 = df["id1"].to_numpy()
        if df.height > 1 and not (np.diff(id1) >= 0).all():
            df = df.sort(["id1", "id2", c.frame_col])
        facing = df["is_facing"].fill_null(False).cast(pl.Boolean).to_numpy()
        res = attention_targets(
            df["id1"].to_numpy(),
            df["id2"].to_numpy(),
            df[c.frame_col].to_numpy(),
            df["angle_diff_deg"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            facing,
        )
        n = res["id"].shape[0]
        target = pl.Series("attention_target_id", res["target"], dtype=pl.Int64)
        none = np.flatnonzero(res["target"] < 0)
        if none.size:
            target = target.scatter(none, None)
        out = pl.DataFrame(
            [
                pl.Series(c.id_col, res["id"], dtype=pl.Int64),
                pl.Series(c.frame_col, res["frame"], dtype=pl.Int64),
                pl.Series("attention_target_angle_diff_deg", res["angle"], dtype=pl.Float64),
                target,
            ]
        )
        groups = self.params.id_group_map or {}
        lookup = pl.DataFrame(
            {"_key": list(groups), "_label": list(groups.values())},
            schema={"_key": pl.String, "_label": pl.String},
        )
        focal = out.select(pl.col(c.id_col).cast(pl.String).alias("_key")).join(
            lookup, on="_key", how="left", maintain_order="left"
        )["_label"]
        tgt = out.select(pl.col("attention_target_id").cast(pl.String).alias("_key")).join(
            lookup, on="_key", how="left", maintain_order="left"
        )["_label"]
        out = out.with_columns(focal.alias("focal_group"), tgt.alias("target_group"))
        kind = (
            pl.when(pl.col("attention_target_id").is_null())
            .then(pl.lit("none"))
            .when(pl.col("focal_group").is_null() | pl.col("target_group").is_null())
            .then(pl.lit("unknown"))
            .when(pl.col("focal_group") == pl.col("target_group"))
            .then(pl.lit("in_group"))
            .otherwise(pl.lit("out_group"))
        )
        out = out.with_columns(kind.alias("attention_type"))
        keys = []
        for col in block_cols:
            first = df[col][0] if df.height else None
            keys.append(pl.repeat(first, n, dtype=df.schema[col], eager=True).alias(col))
        cols = [
            c.id_col,
            c.frame_col,
            "attention_target_id",
            "attention_target_angle_diff_deg",
            "focal_group",
            "target_group",
            "attention_type",
        ]
        return out.select(cols).with_columns(keys).select([*block_cols, *cols])
