"""Features ``pair-position`` and ``pair-egocentric``: egocentric kinematics of every pair.

Both write mosaic's fifteen egocentric pair columns
(:data:`moveo.kernels.pairs.PAIR_POSITION_COLUMNS`) for every ordered pair and
frame: the focal's (A) speed, velocity along / across its heading and angular
speed, its heading as cos / sin, the distance, the partner's (B) position in
A's heading frame (``AB_dx_egoA`` ahead, ``AB_dy_egoA`` to the left), the
relative heading ``hB - hA`` as cos / sin, and B's kinematics. Velocities are
per second (frame differences times the frame rate).

``pair-position`` takes the centre from X / Y and the heading from ANGLE;
``pair-egocentric`` takes the centre as the mean of the pose keypoints and the
heading from the tail base to the neck keypoint.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Params
from moveo.features._tracking import TrackTable
from moveo.features.pairs._base import (
    InterpolationConfig,
    PairFeature,
    PairSelection,
    SamplingConfig,
)
from moveo.kernels.pairs import (
    PAIR_POSITION_COLUMNS,
    individual_kinematics,
    pair_position,
    smooth_columns,
)
from moveo.schema import PoseConfig

__all__ = ["PairEgocentric", "PairPosition"]


class _PairKinematics(PairFeature):
    """Shared driver: centre + heading per track row -> the fifteen pair columns."""

    def centre_heading(
        self, t: TrackTable
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return cleaned x, y, heading and the kept-row mask (subclasses)."""
        raise NotImplementedError

    def compute(self, t: TrackTable) -> pl.DataFrame:
        """Pair table of one sequence."""
        x, y, h, keep = self.centre_heading(t)
        w = self.params.sampling.smooth_win
        if w > 1:
            x = smooth_columns(x, t.frames, t.offsets, keep, w)
            y = smooth_columns(y, t.frames, t.offsets, keep, w)
            h = smooth_columns(h, t.frames, t.offsets, keep, w, circular=True)
        ra, rb = self.select_pairs(t, keep, x, y)
        fps = self.frame_rate(t)
        kin = individual_kinematics(x, y, h, t.frames, t.offsets, keep, fps)
        out = pair_position(ra, rb, x, y, h, kin)
        return self.pair_output(
            t, ra, rb, {name: out[:, j] for j, name in enumerate(PAIR_POSITION_COLUMNS)}
        )


def _check_window(w: int) -> int:
    if w > 1 and w % 2 == 0:
        raise ValueError(
            f"sampling.smooth_win must be odd (a centred window), got {w}; use {w + 1} or {w - 1}"
        )
    return w


class PairPosition(_PairKinematics):
    """Egocentric pair kinematics from X, Y and ANGLE (mosaic ``pair-position``).

    X, Y and ANGLE are cleaned per individual (``interpolation``), smoothed
    (``sampling.smooth_win``), and the fifteen columns of
    :mod:`moveo.features.pairs.position` are written for every pair selected by
    ``pairs`` (default all ordered pairs) at every frame where both individuals
    have a kept row.

    Parameters
    ----------
    params : dict or PairPosition.Params, optional
        ``interpolation``, ``sampling``, ``pairs``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [1, 1, 2, 2], "frame": [0, 1, 0, 1],
    ...                    "X": [0.0, 1.0, 3.0, 3.0], "Y": [0.0, 0.0, 4.0, 4.0],
    ...                    "ANGLE": [0.0, 0.0, 3.0, 3.0]})
    >>> out = PairPosition().apply(df)
    >>> out.select("frame", "id1", "id2", "perspective", "AB_dist", "A_speed").rows()[:2]
    [(0, 1, 2, 0, 5.0, 30.0), (1, 1, 2, 0, 4.47213595499958, 30.0)]
    """

    name: ClassVar[str] = "pair-position"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`PairPosition`.

        Attributes
        ----------
        interpolation : InterpolationConfig
            Gap filling of X, Y, ANGLE (limits in frames).
        sampling : SamplingConfig
            ``fps_default`` and ``smooth_win``.
        pairs : PairSelection
            Which pairs get rows (default all).
        """

        interpolation: InterpolationConfig = Field(default_factory=InterpolationConfig)
        sampling: SamplingConfig = Field(default_factory=SamplingConfig)
        pairs: PairSelection = Field(default_factory=PairSelection)

        def model_post_init(self, __context: object) -> None:  # noqa: D102
            _check_window(self.sampling.smooth_win)

    def centre_heading(
        self, t: TrackTable
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the cleaned X, Y, ANGLE and the kept rows."""
        c = self.columns
        cols = [c.x_col, c.y_col, c.orientation_col]
        t.require(cols, "the tracks (positions and heading; run 'heading' to derive ANGLE)")
        filled, keep = self.clean(t, cols, [False, False, True])
        return (
            np.ascontiguousarray(filled[:, 0]),
            np.ascontiguousarray(filled[:, 1]),
            np.ascontiguousarray(filled[:, 2]),
            keep,
        )


class PairEgocentric(_PairKinematics):
    """Egocentric pair kinematics from pose keypoints (mosaic ``pair-egocentric``).

    The centre is the mean of the (selected) keypoints, the heading points from
    keypoint ``tail_base_idx`` to keypoint ``neck_idx``. The keypoint columns
    are cleaned per individual (``interpolation``; the missing fraction counts
    keypoint coordinates), then as :class:`PairPosition`.

    Parameters
    ----------
    params : dict or PairEgocentric.Params, optional
        ``interpolation``, ``sampling``, ``pose``, ``neck_idx``,
        ``tail_base_idx``, ``center_mode``, ``pairs``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).
    """

    name: ClassVar[str] = "pair-egocentric"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`PairEgocentric`.

        Attributes
        ----------
        interpolation : InterpolationConfig
            Gap filling of the keypoints.
        sampling : SamplingConfig
            ``fps_default`` and ``smooth_win``.
        pose : PoseConfig
            Keypoint columns (default: the dataset's layout).
        neck_idx, tail_base_idx : int
            Keypoints of the heading (tail base -> neck).
        center_mode : {"mean"}
            The centre is the mean of the keypoints (mosaic accepts only this).
        pairs : PairSelection
            Which pairs get rows (default all).
        """

        interpolation: InterpolationConfig = Field(default_factory=InterpolationConfig)
        sampling: SamplingConfig = Field(default_factory=SamplingConfig)
        pose: PoseConfig = Field(default_factory=PoseConfig)
        neck_idx: int = 3
        tail_base_idx: int = 6
        center_mode: Literal["mean"] = "mean"
        pairs: PairSelection = Field(default_factory=PairSelection)

        def model_post_init(self, __context: object) -> None:  # noqa: D102
            _check_window(self.sampling.smooth_win)

    def centre_heading(
        self, t: TrackTable
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the cleaned keypoint centre, heading and the kept rows."""
        p = self.params
        pose = self.pose_config()
        idx = pose.indices()
        for name in ("neck_idx", "tail_base_idx"):
            if getattr(p, name) not in idx:
                raise ValueError(
                    f"{self.name}: {name}={getattr(p, name)} is not one of the pose keypoints "
                    f"{idx} (pose.pose_n / pose.pose_indices)"
                )
        xc = pose.x_cols(idx)
        yc = pose.y_cols(idx)
        t.require(xc + yc, "the tracks (pose keypoints)")
        filled, keep = self.clean(t, xc + yc)
        k = len(idx)
        px = filled[:, :k]
        py = filled[:, k:]
        x = px.mean(axis=1)
        y = py.mean(axis=1)
        neck = idx.index(p.neck_idx)
        tail = idx.index(p.tail_base_idx)
        h = np.arctan2(py[:, neck] - py[:, tail], px[:, neck] - px[:, tail])
        return x, y, h, keep
