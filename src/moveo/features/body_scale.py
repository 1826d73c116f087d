"""Feature ``body-scale``: body size per (frame, individual) from pose keypoints.

Also :func:`median_scale`, a per-(sequence, individual) summary used to
normalise other features by body size.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.body import body_scale
from moveo.schema import COLUMNS, Columns

__all__ = ["BodyScale", "median_scale"]


class BodyScale(TrackingFeature):
    """Body scale of every row: a robust size of the keypoint constellation.

    Keypoints are those of the pose configuration in use
    (``PoseConfig.pose_indices``, default all).

    - ``median-pairwise`` (default): median of the distances between every
      pair of finite keypoints; NaN with fewer than two finite keypoints.
    - ``chain-length``: sum of distances between consecutive keypoints (in
      ``pose_indices`` order), i.e. the body length; NaN if a keypoint is missing.

    Output column: ``scale``.

    Parameters
    ----------
    params : dict or BodyScale.Params, optional
        ``mode``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import polars as pl
    >>> from moveo.schema import PoseConfig
    >>> df = pl.DataFrame({"id": [0], "frame": [0], "poseX0": [0.0], "poseY0": [0.0],
    ...                    "poseX1": [3.0], "poseY1": [4.0]})
    >>> BodyScale(pose=PoseConfig(pose_n=2)).apply(df)["scale"].to_list()
    [5.0]
    """

    name: ClassVar[str] = "body-scale"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`BodyScale`.

        Attributes
        ----------
        mode : {"median-pairwise", "chain-length"}
            How the scale is computed.
        """

        mode: Literal["median-pairwise", "chain-length"] = "median-pairwise"

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the feature for one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry with pose columns (``poseX{k}``, ``poseY{k}``).

        Returns
        -------
        polars.DataFrame
            group, sequence (if present), id, frame, ``scale`` (float64), one
            row per input row in input order.
        """
        t = self.table(df)
        idx = self.pose.indices()
        xcols, ycols = self.pose.x_cols(idx), self.pose.y_cols(idx)
        if len(idx) < 2:
            raise ValueError(
                f"{self.name}: needs at least two pose keypoints, the pose config selects {idx}"
            )
        t.require(
            [col for pair in zip(xcols, ycols, strict=True) for col in pair],
            f"the tracks' pose keypoints (PoseConfig: pose_n={self.pose.pose_n}, "
            f"prefixes {self.pose.x_prefix!r}/{self.pose.y_prefix!r}); ingest pose data "
            "or select the keypoints you have with pose_indices",
        )
        scale = body_scale(t.floats2d(xcols), t.floats2d(ycols), self.params.mode)
        return t.output({"scale": scale})


def median_scale(
    df: pl.DataFrame, *, columns: Columns | None = None, scale_col: str = "scale"
) -> pl.DataFrame:
    """Summarise body scale per (sequence, individual): the median finite scale.

    Parameters
    ----------
    df : polars.DataFrame
        Output of :class:`BodyScale` (one or many entries): group and sequence
        columns when present, the id column and ``scale_col``.
    columns : Columns, optional
        Column names (default :data:`moveo.schema.COLUMNS`).
    scale_col : str, default "scale"
        The scale column.

    Returns
    -------
    polars.DataFrame
        One row per (group, sequence, id) present, in order of first
        appearance: the key columns and ``scale_median`` (float64; NaN when an
        individual has no finite scale).

    Examples
    --------
    >>> import polars as pl
    >>> scales = pl.DataFrame({"id": [1, 1, 1, 2], "frame": [0, 1, 2, 0],
    ...                        "scale": [2.0, float("nan"), 4.0, 5.0]})
    >>> median_scale(scales).rows()
    [(1, 3.0), (2, 5.0)]
    """
    c = columns if columns is not None else COLUMNS
    keys = [col for col in (c.group_col, c.seq_col, c.id_col) if col in df.columns]
    missing = [col for col in (c.id_col, scale_col) if col not in df.columns]
    if missing:
        raise ValueError(
            f"median_scale: missing column(s) {missing}; pass the output of the body-scale "
            "feature (it has the id and scale columns)"
        )
    if not df[scale_col].dtype.is_float():
        raise TypeError(
            f"median_scale: column {scale_col!r} must be float, got {df[scale_col].dtype}"
        )
    value = pl.col(scale_col)
    return df.group_by(keys, maintain_order=True).agg(
        value.filter(value.is_finite()).median().fill_null(float("nan")).alias("scale_median")
    )
