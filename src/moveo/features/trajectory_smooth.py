"""Feature ``trajectory-smooth``: clean tracks (jumps, gaps, noise) before other features.

Per individual, in frame order (mosaic-behavior 0.17's ``trajectory-smooth``,
same parameters and defaults):

1. *Bad frames.* With ``speed_threshold``, a row whose displacement from the
   previous row (per frame; per second when ``fps`` is given) exceeds it is a
   jump, and every row within ``expand_frames`` frames of a jump is bad. With
   ``min_confidence`` (moveo's addition), a pose keypoint whose confidence
   (``poseP{k}``) is below it is missing, and its row is bad as well.
2. *Gaps.* With ``interpolate_centroid`` (default), the centroid (``X``,
   ``Y``) of bad rows is dropped and every gap of the centroid is filled by
   linear interpolation in frame numbers, from the nearest value at a
   sequence's edges; ``interpolate_pose`` does the same for the pose keypoints.
   ``max_gap`` (moveo's addition) leaves gaps longer than that many frames NaN.
3. *Smoothing.* With ``savgol_window``, a Savitzky-Golay filter
   (``savgol_polyorder``) smooths the centroid and the pose keypoints, on every
   run of consecutive frames with finite values at least a window long.

The output is the input table with the cleaned positions in place (every
other column passed through, input order) plus ``bad_frame`` (Boolean), so it
can replace the tracks as the input of any tracking feature::

    smooth = run_feature(ds, TrajectorySmooth({"speed_threshold": 20.0}))
    speed = run_feature(ds, SpeedAngvel(inputs=(smooth,)))

Differences from mosaic (documented on the "Coming from mosaic" page): frames,
not rows, measure displacements, gaps and the expansion when frames are
missing (identical when no frame is missing); the filter never runs over a NaN
(mosaic's fills NaN with 0 first, which pulls the neighbours of a gap towards
0) nor across a missing frame.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.trajectory import fill_gaps, flag_jumps, savgol_runs

__all__ = ["TrajectorySmooth"]


class TrajectorySmooth(TrackingFeature):
    """Bad-frame detection, gap interpolation and Savitzky-Golay smoothing of tracks.

    See the module docstring for the steps. Output: the input's columns in
    input order, positions (``X``, ``Y`` and the pose keypoints in use)
    replaced by the cleaned ones, then ``bad_frame``.

    Parameters
    ----------
    params : dict or TrajectorySmooth.Params, optional
    inputs : Inputs, optional
        Default: the tracks (or another track-shaped table, e.g. a
        ``scale-to-cm`` run in ``mode="convert"``).
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import numpy as np
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0] * 6, "frame": list(range(6)),
    ...                    "X": [0.0, 1.0, 50.0, 3.0, np.nan, 5.0], "Y": [0.0] * 6})
    >>> out = TrajectorySmooth({"speed_threshold": 10.0, "expand_frames": 0}).apply(df)
    >>> out["X"].to_list(), out["bad_frame"].to_list()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [False, False, True, True, False, False])
    """

    name: ClassVar[str] = "trajectory-smooth"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`TrajectorySmooth` (mosaic's names and defaults).

        Attributes
        ----------
        speed_threshold : float or None
            Largest allowed displacement from the previous row, per frame (or
            per second with ``fps``), in the units of X and Y. ``None``: no
            jump detection.
        fps : float or None
            Frames per second to turn a per-second ``speed_threshold`` into a
            per-frame one. ``None``: the threshold is per frame (the dataset's
            fps is not used, as in mosaic).
        interpolate_centroid : bool
            Drop the centroid of bad frames and fill every centroid gap. Default True.
        interpolate_pose : bool
            The same for the pose keypoints. Default False.
        expand_frames : int
            Frames on each side of a jump that are bad too. Default 2.
        savgol_window : int or None
            Savitzky-Golay window in frames (> ``savgol_polyorder``); ``None``:
            no smoothing.
        savgol_polyorder : int
            Polynomial order of the filter. Default 2.
        max_gap : int or None
            moveo only: fill only gaps of at most this many frames. ``None``
            (mosaic's behaviour): every gap.
        min_confidence : float or None
            moveo only: pose keypoints whose confidence column is below this
            are missing (and their row bad). ``None``: confidences unused.
        """

        speed_threshold: float | None = Field(default=None, ge=0, allow_inf_nan=False)
        fps: float | None = Field(default=None, gt=0, allow_inf_nan=False)
        interpolate_centroid: bool = True
        interpolate_pose: bool = False
        expand_frames: int = Field(default=2, ge=0)
        savgol_window: int | None = Field(default=None, ge=1)
        savgol_polyorder: int = Field(default=2, ge=0)
        max_gap: int | None = Field(default=None, ge=0)
        min_confidence: float | None = Field(default=None, allow_inf_nan=False)

        @model_validator(mode="after")
        def _window(self) -> TrajectorySmooth.Params:
            if self.savgol_window is not None and self.savgol_window <= self.savgol_polyorder:
                raise ValueError(
                    f"savgol_window ({self.savgol_window}) must exceed savgol_polyorder "
                    f"({self.savgol_polyorder})"
                )
            return self

    def _pose_columns(self, t) -> tuple[list[str], list[str]]:
        idx = self.pose.indices()
        xcols, ycols = self.pose.x_cols(idx), self.pose.y_cols(idx)
        present = [c for c in xcols + ycols if t.has(c)]
        if present and len(present) != len(xcols) + len(ycols):
            t.require(
                xcols + ycols,
                f"the tracks' pose keypoints (PoseConfig pose_n={self.pose.pose_n}); "
                "give the dataset the pose layout it has",
            )
        return (xcols, ycols) if present else ([], [])

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Clean one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry: id, frame, X, Y (+ pose keypoints, confidences).

        Returns
        -------
        polars.DataFrame
            The input's columns (cleaned positions in place) and ``bad_frame``;
            one row per input row, in input order.
        """
        p = self.params
        c = self.columns
        t = self.table(df)
        t.require([c.x_col, c.y_col], "the tracks (positions)")
        frames, offsets = t.frames, t.offsets
        centroid = t.floats2d([c.x_col, c.y_col])
        jump = np.zeros(t.n, dtype=bool)
        if p.speed_threshold is not None:
            per_frame = p.speed_threshold / p.fps if p.fps is not None else p.speed_threshold
            jump = flag_jumps(
                centroid[:, 0], centroid[:, 1], frames, offsets, per_frame, expand=p.expand_frames
            )
        bad = jump.copy()
        xcols, ycols = self._pose_columns(t)
        pose = t.floats2d(xcols + ycols) if xcols else None
        if p.min_confidence is not None:
            if pose is None:
                raise ValueError(
                    f"{self.name}: min_confidence needs pose keypoints; the input has none "
                    f"(PoseConfig pose_n={self.pose.pose_n})"
                )
            pcols = self.pose.confidence_cols(self.pose.indices())
            t.require(pcols, "the tracks' keypoint confidences (poseP{k}, e.g. DeepLabCut)")
            low = t.floats2d(pcols) < p.min_confidence  # NaN confidence is not low
            k = len(xcols)
            pose[:, :k][low] = np.nan
            pose[:, k:][low] = np.nan
            bad |= low.any(axis=1)
        out: dict[str, np.ndarray] = {}
        if p.interpolate_centroid:
            centroid[jump] = np.nan
            centroid = fill_gaps(centroid, frames, offsets, max_gap=p.max_gap)
        if pose is not None and p.interpolate_pose:
            pose[jump] = np.nan
            pose = fill_gaps(pose, frames, offsets, max_gap=p.max_gap)
        if p.savgol_window is not None:
            centroid = savgol_runs(centroid, frames, offsets, p.savgol_window, p.savgol_polyorder)
            if pose is not None:
                pose = savgol_runs(pose, frames, offsets, p.savgol_window, p.savgol_polyorder)
        out[c.x_col] = centroid[:, 0]
        out[c.y_col] = centroid[:, 1]
        if pose is not None:
            for j, col in enumerate(xcols + ycols):
                out[col] = pose[:, j]
        replaced = [
            pl.Series(name, t.to_input_order(np.ascontiguousarray(v)), dtype=pl.Float64)
            for name, v in out.items()
        ]
        flag = pl.Series("bad_frame", t.to_input_order(bad), dtype=pl.Boolean)
        return df.with_columns(replaced).with_columns(flag)
