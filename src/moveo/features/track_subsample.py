"""Feature ``track-subsample``: a few representative rows of every entry (mosaic's).

Thins dense tracks to about ``target_frames`` rows per entry (sequence) and
passes those rows through with all their columns, so the output is
track-shaped and any tracking feature can take it as input. Three methods,
with mosaic-behavior 0.17's parameters and defaults:

- ``"kmeans"`` (default): k-means (scikit-learn, ``n_clusters=target_frames``,
  ``random_state=seed``, ``n_init="auto"``) on the body-canonical pose (keypoints
  relative to ``X``/``Y``, rotated by ``-ANGLE``), then for each centroid the
  row closest to it. The same rows as mosaic on the same data.
- ``"uniform"``: every ``n // target_frames``-th row in (id, frame) order,
  ``target_frames`` of them (mosaic's stride).
- ``"clips"``: ``target_frames // clip_len`` seeds by k-means as above, then
  ``clip_len`` consecutive frames of the seed's individual from each seed
  (moved back to end by the individual's last frame).

Rows with a NaN in ``X``, ``Y``, ``ANGLE`` or a keypoint in use never take part
in the clustering. With ``drop_nan`` (default) such rows are also left out of
the ``uniform`` stride and the clips, as mosaic documents the option (mosaic
itself ignores it: ``drop_nan=False`` reproduces mosaic). An entry with at
most ``target_frames`` rows is passed through whole.

Differences from mosaic: a clip never runs from one individual into the next
(mosaic's can), and clips are measured in frames.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.subsample import canonical_pose, clip_rows, nearest_rows
from moveo.schema import PoseConfig

__all__ = ["TrackSubsample"]


class TrackSubsample(TrackingFeature):
    """Subsample the rows of every entry (see the module docstring).

    Parameters
    ----------
    params : dict or TrackSubsample.Params, optional
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (``params.pose`` wins over both).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0] * 10, "frame": list(range(10)), "X": [0.0] * 10})
    >>> TrackSubsample({"method": "uniform", "target_frames": 3}).apply(df)["frame"].to_list()
    [0, 3, 6]
    """

    name: ClassVar[str] = "track-subsample"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`TrackSubsample` (mosaic's names and defaults).

        Attributes
        ----------
        method : {"kmeans", "uniform", "clips"}
            How rows are chosen. Default ``"kmeans"``.
        target_frames : int
            Rows per entry (for clips: number of clips x ``clip_len``). Default 300.
        clip_len : int
            Frames per clip (``method="clips"``). Default 8.
        pose : PoseConfig or None
            Keypoints for the canonical pose; ``None``: the dataset's.
        seed : int
            Seed of k-means. Default 42.
        drop_nan : bool
            Leave rows with non-finite required columns out of the uniform
            stride and the clips. Default True.
        """

        method: Literal["kmeans", "uniform", "clips"] = "kmeans"
        target_frames: int = Field(default=300, ge=1)
        clip_len: int = Field(default=8, ge=1)
        pose: PoseConfig | None = None
        seed: int = 42
        drop_nan: bool = True

    def _pose(self) -> PoseConfig:
        return self.params.pose if self.params.pose is not None else self.pose

    def _required(self, t) -> list[str]:
        c = self.columns
        pose = self._pose()
        idx = pose.indices()
        return [c.x_col, c.y_col, c.orientation_col, *pose.x_cols(idx), *pose.y_cols(idx)]

    def _finite(self, t, cols: list[str]) -> np.ndarray:
        ok = np.ones(t.n, dtype=bool)
        for col in cols:
            ok &= np.isfinite(t.floats(col))
        return ok

    def _seeds(self, t, k: int) -> np.ndarray:
        from sklearn.cluster import KMeans

        c = self.columns
        cols = self._required(t)
        t.require(
            cols,
            "the tracks (X, Y, ANGLE and the pose keypoints: the k-means methods cluster "
            "the body-canonical pose; use method='uniform' without them)",
        )
        pose = self._pose()
        idx = pose.indices()
        valid = np.flatnonzero(self._finite(t, cols))
        if valid.size <= k:
            return valid
        feats = canonical_pose(
            t.floats(c.x_col)[valid],
            t.floats(c.y_col)[valid],
            t.floats(c.orientation_col)[valid],
            t.floats2d(pose.x_cols(idx))[valid],
            t.floats2d(pose.y_cols(idx))[valid],
        )
        km = KMeans(n_clusters=k, random_state=self.params.seed, n_init="auto").fit(feats)
        return valid[nearest_rows(feats, km.cluster_centers_)]

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Subsample one entry.

        Parameters
        ----------
        df : polars.DataFrame
            One entry (sorted by id, frame as stored).

        Returns
        -------
        polars.DataFrame
            The chosen rows of ``df`` with all their columns, in input order.
        """
        p = self.params
        t = self.table(df)
        if t.n <= p.target_frames:
            return df
        if p.method == "uniform":
            present = [col for col in self._required(t) if t.has(col)]
            rows = np.flatnonzero(self._finite(t, present)) if p.drop_nan else np.arange(t.n)
            if rows.size > p.target_frames:
                rows = rows[:: rows.size // p.target_frames][: p.target_frames]
        elif p.method == "kmeans":
            rows = np.unique(self._seeds(t, p.target_frames))
        else:
            k = max(p.target_frames // p.clip_len, 1)
            seeds = self._seeds(t, k)
            keep = clip_rows(t.frames, t.offsets, seeds, p.clip_len)
            if p.drop_nan:
                present = [col for col in self._required(t) if t.has(col)]
                keep &= self._finite(t, present)
            rows = np.flatnonzero(keep)
        if t.order is not None:  # kernel rows -> input rows
            rows = np.sort(t.order[rows])
        return df[rows]
