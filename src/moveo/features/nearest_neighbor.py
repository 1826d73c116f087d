"""Feature ``nearest-neighbor``: the nearest other individual in every frame."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.neighbors import nearest_neighbors, neighbor_deltas

__all__ = ["NearestNeighbor"]


class NearestNeighbor(TrackingFeature):
    """Nearest other individual per frame, with distance and relative position.

    Per frame (and sequence), among individuals with finite X and Y, the
    nearest other individual (ties: the smaller id). Output columns:

    - ``nn_id`` (Int64, null when alone or NaN position), ``nn_dist``;
    - ``nn_delta_x``, ``nn_delta_y``: neighbour minus self;
    - ``nn_delta_x_ego`` (ahead of self), ``nn_delta_y_ego`` (to self's left):
      the deltas rotated by ``-ANGLE`` of self when the input has the
      orientation column (``ANGLE``), else the world-frame deltas unchanged;
    - ``nn_ego_unrotated`` (Boolean, as in mosaic): ``True`` when there is no
      orientation column, so the ``_ego`` columns are world-frame;
    - with ``ANGLE``: ``nn_delta_angle = wrap(ANGLE_nn - ANGLE_self)``;
    - with ``k > 1``: ``nn{j}_id``, ``nn{j}_dist`` for ``j = 1..k`` (``nn1_*``
      repeats ``nn_id`` / ``nn_dist``).

    Small frames are searched exhaustively, large ones (hundreds to thousands
    of individuals) with a uniform grid; see :mod:`moveo.kernels.neighbors`.

    Parameters
    ----------
    params : dict or NearestNeighbor.Params, optional
        ``k``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [1, 2], "frame": [0, 0], "X": [0.0, 3.0], "Y": [0.0, 4.0]})
    >>> NearestNeighbor().apply(df).select("id", "nn_id", "nn_dist").rows()
    [(1, 2, 5.0), (2, 1, 5.0)]
    """

    name: ClassVar[str] = "nearest-neighbor"
    version: ClassVar[str] = "0.2"  # 0.2: nn_ego_unrotated, _ego columns always

    class Params(Params):
        """Parameters of :class:`NearestNeighbor`.

        Attributes
        ----------
        k : int
            Number of neighbours; ``k > 1`` adds ``nn{j}_id`` / ``nn{j}_dist``.
        """

        k: int = Field(default=1, ge=1)

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the feature for one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry: id, frame, X, Y (+ ANGLE).

        Returns
        -------
        polars.DataFrame
            group, sequence (if present), id, frame, then the columns above;
            one row per input row, in input order.
        """
        c = self.columns
        k = self.params.k
        t = self.table(df)
        t.require([c.x_col, c.y_col], "the tracks (positions)")
        x, y = t.floats(c.x_col), t.floats(c.y_col)
        angle = t.floats(c.orientation_col) if t.has(c.orientation_col) else None
        key = t.frames
        if t.blocks is not None:  # several sequences: a frame is (sequence, frame)
            span = int(t.frames.max() - t.frames.min()) + 1
            key = t.blocks * span + (t.frames - t.frames.min())
        rows, dist = nearest_neighbors(x, y, t.ids, key, k)
        deltas = neighbor_deltas(x, y, rows[:, 0], angle)
        out: dict[str, np.ndarray | pl.Series] = {
            "nn_id": self._ids(t, rows[:, 0], "nn_id"),
            "nn_dist": dist[:, 0],
            "nn_delta_x": deltas["dx"],
            "nn_delta_y": deltas["dy"],
        }
        if angle is not None:
            out["nn_delta_x_ego"] = deltas["dx_ego"]
            out["nn_delta_y_ego"] = deltas["dy_ego"]
            out["nn_delta_angle"] = deltas["dangle"]
        else:  # mosaic's convention: world-frame deltas under the _ego names, flagged
            out["nn_delta_x_ego"] = deltas["dx"]
            out["nn_delta_y_ego"] = deltas["dy"]
        out["nn_ego_unrotated"] = pl.Series(
            "nn_ego_unrotated", np.full(t.n, angle is None), dtype=pl.Boolean
        )
        if k > 1:
            for j in range(k):
                out[f"nn{j + 1}_id"] = self._ids(t, rows[:, j], f"nn{j + 1}_id")
                out[f"nn{j + 1}_dist"] = dist[:, j]
        return t.output(out)

    @staticmethod
    def _ids(t, rows: np.ndarray, name: str) -> pl.Series:
        # neighbour ids in input order, null where there is no neighbour
        rows = t.to_input_order(rows)
        missing = rows < 0
        ids = np.where(missing, 0, t.ids[np.maximum(rows, 0)])
        s = pl.Series(name, ids, dtype=pl.Int64)
        if missing.any():
            s = s.scatter(np.flatnonzero(missing), None)
        return s
