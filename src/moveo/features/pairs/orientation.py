"""Feature ``orientation-rel``: the partner's pose in the focal's body frame.

For every pair and frame, the partner's keypoints are expressed in the focal's
body frame (origin at the focal's keypoint centroid, x along its ANGLE) and
divided by a body scale, so the columns are in body lengths whatever the
animals' size or the camera's resolution: the partner centroid (``dx``, ``dy``),
the heading difference ``dtheta``, min / median / max and quantiles of the
keypoint distances, min / median / max of their x and y, and the ``nearest_k``
smallest distances. See :func:`moveo.kernels.pairs.orientation_rel`.

The scale is the mean over the sequence of a ``body-scale`` run (``scale``
parameter, default the latest run; it becomes an input of this feature and is
joined onto the tracks). With ``scale=None``, or when the input carries no scale
column, each row uses its focal's median pairwise keypoint distance instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from moveo.contract import BodyScaleResult, Inputs, Params, Result, TrackInput
from moveo.features._tracking import TrackTable
from moveo.features.pairs._base import PairFeature, PairSelection
from moveo.kernels.body import body_scale
from moveo.kernels.pairs import orientation_rel, orientation_rel_columns
from moveo.schema import Columns, PoseConfig

__all__ = ["OrientationRel"]


class OrientationRel(PairFeature):
    """Orientation-relative pose of every pair (mosaic ``orientation-rel``).

    Parameters
    ----------
    params : dict or OrientationRel.Params, optional
        ``scale``, ``nearest_k``, ``quantiles``, ``pairs``.
    inputs : Inputs, optional
        Default: the tracks and, unless ``scale`` is None, the ``scale`` run.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).
    """

    name: ClassVar[str] = "orientation-rel"
    version: ClassVar[str] = "0.2"

    class Params(Params):
        """Parameters of :class:`OrientationRel`.

        Attributes
        ----------
        scale : BodyScaleResult or None
            The body-scale run whose per-sequence mean scale divides distances
            (``run_id`` None: the latest); None: each focal's own per-frame scale.
        nearest_k : int
            Number of ``near_{j}`` columns (smallest keypoint distances).
        quantiles : list of float
            Quantiles of the keypoint distances (``0.25`` -> ``dist_q25``).
        pairs : PairSelection
            Which pairs get rows (default all; distances between centroids).
        """

        scale: BodyScaleResult | None = Field(default_factory=BodyScaleResult)
        nearest_k: int = Field(default=3, ge=1)
        quantiles: list[float] = Field(default_factory=lambda: [0.25, 0.5, 0.75])
        pairs: PairSelection = Field(default_factory=PairSelection)

        @field_validator("quantiles")
        @classmethod
        def _in_unit(cls, v: list[float]) -> list[float]:
            if any(not 0.0 <= q <= 1.0 for q in v):
                raise ValueError(f"quantiles must lie in [0, 1], got {v}")
            names = [round(q * 100) for q in v]
            if len(set(names)) != len(names):
                raise ValueError(f"quantiles {v} give duplicate column names dist_q{names}")
            return v

    class Inputs(Inputs[TrackInput | Result]):
        """The tracks, and the body-scale run."""

    def __init__(
        self,
        params: Mapping[str, Any] | Params | None = None,
        inputs: Any = None,
        *,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        super().__init__(params, inputs, columns=columns, pose=pose)
        scale = self.params.scale
        if inputs is None and scale is not None:
            self.inputs = self.Inputs(
                ("tracks", Result(feature=scale.feature, run_id=scale.run_id))
            )

    def _scale_column(self, t: TrackTable) -> str | None:
        scale = self.params.scale
        if scale is None:
            return None
        for col in (f"scale__{scale.feature}", "scale"):
            if t.has(col):
                return col
        return None

    def compute(self, t: TrackTable) -> pl.DataFrame:
        """Pair table of one sequence."""
        p = self.params
        c = self.columns
        idx = self.pose.indices()
        xc, yc = self.pose.x_cols(idx), self.pose.y_cols(idx)
        t.require([c.orientation_col, *xc, *yc], "the tracks (heading and pose keypoints)")
        px = np.ascontiguousarray(t.floats2d(xc))
        py = np.ascontiguousarray(t.floats2d(yc))
        angle = t.floats(c.orientation_col)
        col = self._scale_column(t)
        if col is not None:
            s = t.floats(col)
            mean = float(np.nanmean(s)) if np.isfinite(s).any() else np.nan
            scale = np.full(t.n, mean)
        else:
            scale = body_scale(px, py) if t.n else np.empty(0)
        ok = np.isfinite(px) & np.isfinite(py)
        with np.errstate(invalid="ignore", divide="ignore"):
            cx = np.where(ok, px, 0.0).sum(axis=1) / ok.sum(axis=1)
            cy = np.where(ok, py, 0.0).sum(axis=1) / ok.sum(axis=1)
        ra, rb = self.select_pairs(t, None, cx, cy)
        values = orientation_rel(ra, rb, px, py, angle, scale, tuple(p.quantiles), p.nearest_k)
        names = orientation_rel_columns(p.quantiles, p.nearest_k)
        return self.pair_output(t, ra, rb, {name: values[:, j] for j, name in enumerate(names)})
