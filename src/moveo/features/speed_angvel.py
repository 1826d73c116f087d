"""Feature ``speed-angvel``: speed, velocity and angular velocity per individual.

See :mod:`moveo.kernels.kinematics` for the definitions. Output columns:
``speed``, ``vx``, ``vy`` and (when the input has the orientation column)
``angvel``; with ``step_size`` also ``speed_step`` (and ``angvel_step``); with
``smooth_window`` also ``speed_smooth``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.kinematics import speed_angvel, step_speed_angvel
from moveo.kernels.windows import rolling

__all__ = ["SpeedAngvel"]


class SpeedAngvel(TrackingFeature):
    """Speed, velocity and angular velocity from the previous row of each individual.

    ``dt`` is the frame difference divided by the frame rate (``params.fps``,
    else the dataset's fps set by :meth:`set_dataset_defaults`), or, with
    neither, the difference of the time column. The first row of every
    individual, and any row whose own or previous value is NaN, is NaN.

    Parameters
    ----------
    params : dict or SpeedAngvel.Params, optional
        ``fps``, ``step_size``, ``smooth_window`` (see :class:`SpeedAngvel.Params`).
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [1, 1, 1], "frame": [0, 1, 2],
    ...                    "X": [0.0, 3.0, 6.0], "Y": [0.0, 4.0, 8.0]})
    >>> SpeedAngvel(params={"fps": 10.0}).apply(df)["speed"].to_list()
    [nan, 50.0, 50.0]
    """

    name: ClassVar[str] = "speed-angvel"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`SpeedAngvel`.

        Attributes
        ----------
        fps : float or None
            Frames per second (> 0). ``None``: the dataset's fps, else the time column.
        step_size : int or None
            Adds ``speed_step`` / ``angvel_step``: change over this many frames
            (NaN when the frame ``step_size`` earlier is missing).
        smooth_window : int or None
            Adds ``speed_smooth``: centred moving average of ``speed`` over this
            many frames, ignoring NaN (>= 2, at most an individual's row count).
        """

        fps: float | None = Field(default=None, gt=0, allow_inf_nan=False)
        step_size: int | None = Field(default=None, ge=1)
        smooth_window: int | None = Field(default=None, ge=2)

    def input_columns(self) -> list[str]:
        """Return the input columns :meth:`apply` reads (the pipeline reads only these).

        Returns
        -------
        list of str
            Key columns, positions, the orientation and (without an fps) the time.
        """
        c = self.columns
        cols = [c.group_col, c.seq_col, c.id_col, c.frame_col, c.x_col, c.y_col]
        cols.append(c.orientation_col)
        if self.params.fps is None and self.dataset_fps is None:
            cols.append(c.time_col)
        return cols

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the feature for one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry: id, frame, X, Y (+ ANGLE, time).

        Returns
        -------
        polars.DataFrame
            One row per input row, in input order: group, sequence (if
            present), id, frame, then the feature columns (float64).
        """
        p = self.params
        c = self.columns
        t = self.table(df)
        t.require([c.x_col, c.y_col], "the tracks (positions)")
        x, y = t.floats(c.x_col), t.floats(c.y_col)
        fps = p.fps if p.fps is not None else self.dataset_fps
        if fps is None:
            t.require(
                [c.time_col],
                "the tracks (timestamps); without them set params fps or the dataset's fps",
            )
            clock = t.floats(c.time_col)
        else:
            clock = t.frames
        angle = t.floats(c.orientation_col) if t.has(c.orientation_col) else None
        res = speed_angvel(x, y, clock, t.offsets, angle=angle, fps=fps)
        out = {"speed": res["speed"], "vx": res["vx"], "vy": res["vy"]}
        if angle is not None:
            out["angvel"] = res["angvel"]
        if p.step_size is not None:
            out.update(
                step_speed_angvel(
                    x,
                    y,
                    t.frames,
                    p.step_size,
                    t.offsets,
                    clock=clock if fps is None else None,
                    angle=angle,
                    fps=fps,
                )
            )
        if p.smooth_window is not None:
            lengths = np.diff(t.offsets)
            short = np.flatnonzero(lengths < p.smooth_window)
            if short.size:
                s = short[0]
                raise ValueError(
                    f"{self.name}: smooth_window={p.smooth_window} is longer than individual "
                    f"{c.id_col}={t.ids[t.offsets[s]]}, which has {lengths[s]} row(s); "
                    "use a smaller window or drop short tracks first"
                )
            out["speed_smooth"] = rolling(
                res["speed"], t.offsets, p.smooth_window, center=True, positions=t.frames
            )["mean"]
        return t.output(out)
