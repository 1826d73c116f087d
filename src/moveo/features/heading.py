"""Feature ``heading``: body heading from pose keypoints."""

from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.body import heading_pca, heading_two_point

__all__ = ["Heading"]


class Heading(TrackingFeature):
    """Heading (radians) from pose keypoints.

    - ``two_point`` (default): direction from keypoint ``rear_idx`` to keypoint
      ``front_idx``, ``atan2(dy, dx)`` in (-π, π]. Defaults as in mosaic:
      keypoint 0 is the front (head) and keypoint 1 the rear.
    - ``pca``: first principal axis of the finite keypoints in use, in
      (-π/2, π/2]. An axis has no front: its sign is arbitrary.

    NaN when keypoints are missing (or coincide / have no principal axis).
    Output column: ``params.output_col``, default the orientation column
    (``ANGLE``), so downstream features (e.g. nearest-neighbor's egocentric
    deltas) can use it.

    Parameters
    ----------
    params : dict or Heading.Params, optional
        ``method``, ``front_idx``, ``rear_idx``, ``output_col``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import polars as pl
    >>> from moveo.schema import PoseConfig
    >>> df = pl.DataFrame({"id": [0], "frame": [0], "poseX0": [1.0], "poseY0": [1.0],
    ...                    "poseX1": [0.0], "poseY1": [0.0]})
    >>> round(Heading(pose=PoseConfig(pose_n=2)).apply(df)["ANGLE"][0], 6)
    0.785398

    The axis of ``pca`` is folded into (-π/2, π/2] and uses the finite
    keypoints (at least two); mosaic leaves the sign of the axis to its
    solver and gives NaN when any keypoint is missing.
    """

    name: ClassVar[str] = "heading"
    version: ClassVar[str] = "0.2"  # 0.2: mosaic's defaults front_idx=0, rear_idx=1

    class Params(Params):
        """Parameters of :class:`Heading`.

        Attributes
        ----------
        method : {"two_point", "pca"}
            How the heading is computed.
        front_idx, rear_idx : int
            Keypoint indices for ``two_point`` (mosaic's defaults 0 and 1).
        output_col : str or None
            Output column name; ``None``: the orientation column (``ANGLE``).
        """

        method: Literal["two_point", "pca"] = "two_point"
        front_idx: int = Field(default=0, ge=0)
        rear_idx: int = Field(default=1, ge=0)
        output_col: str | None = None

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the feature for one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry with pose columns.

        Returns
        -------
        polars.DataFrame
            group, sequence (if present), id, frame and the heading column
            (float64), one row per input row in input order.
        """
        p = self.params
        t = self.table(df)
        idx = self.pose.indices()
        out_col = p.output_col or self.columns.orientation_col
        provider = (
            f"the tracks' pose keypoints (PoseConfig: pose_n={self.pose.pose_n}, prefixes "
            f"{self.pose.x_prefix!r}/{self.pose.y_prefix!r}); ingest pose data first"
        )
        if p.method == "two_point":
            front, rear = p.front_idx, p.rear_idx
            for label, k in (("front_idx", front), ("rear_idx", rear)):
                if not 0 <= k < self.pose.pose_n:
                    raise ValueError(
                        f"{self.name}: {label}={k} is not a keypoint (pose_n={self.pose.pose_n})"
                    )
            if front == rear:
                raise ValueError(f"{self.name}: front_idx and rear_idx are both {front}")
            cols = [*self.pose.x_cols([rear, front]), *self.pose.y_cols([rear, front])]
            t.require(cols, provider)
            rx, fx, ry, fy = (t.floats(col) for col in cols)
            angle = heading_two_point(rx, ry, fx, fy)
        else:
            if len(idx) < 2:
                raise ValueError(f"{self.name}: pca needs at least two keypoints, got {idx}")
            xcols, ycols = self.pose.x_cols(idx), self.pose.y_cols(idx)
            t.require([*xcols, *ycols], provider)
            angle = heading_pca(t.floats2d(xcols), t.floats2d(ycols))
        return t.output({out_col: angle})
