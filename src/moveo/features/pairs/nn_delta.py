"""Feature ``nn-delta-response``: how an individual moves in response to its nearest neighbour.

For every row whose individual also has a row ``diff_numframes`` frames later,
with the neighbour's position in the focal's heading frame at the current frame
(``neighbor_x`` ahead, ``neighbor_y`` to the left, from the nearest-neighbor
feature), the focal's response over the next ``diff_numframes`` frames:
``dx``, ``dy`` (change of X, Y in the arena frame), ``dt`` (the lag in frames),
``dangle`` (heading change, wrapped, per frame, times the frame rate: rad/s with
the defaults) and ``dspeed`` (change of the speed column). Every input column
is passed through. Rows without a row ``diff_numframes`` frames later are
dropped (the last frames of every individual, and the frames before a gap).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Inputs, Params, Result, TrackInput
from moveo.features._tracking import TrackingFeature, TrackTable
from moveo.features.pairs._base import SamplingConfig
from moveo.kernels.body import to_egocentric
from moveo.kernels.pairs import lag_rows, nn_response

__all__ = ["NNDeltaResponse"]


class NNDeltaResponse(TrackingFeature):
    """Focal response to the nearest neighbour (mosaic ``nn-delta-response``).

    Parameters
    ----------
    params : dict or NNDeltaResponse.Params, optional
        See :class:`NNDeltaResponse.Params` (mosaic's names and defaults).
    inputs : Inputs, optional
        Default: the tracks, the latest ``speed-angvel`` run and the latest
        ``nearest-neighbor`` run (joined on group, sequence, id, frame).
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).
    """

    name: ClassVar[str] = "nn-delta-response"
    version: ClassVar[str] = "0.3"
    default_inputs: ClassVar[tuple[Any, ...]] = (
        "tracks",
        Result(feature="speed-angvel"),
        Result(feature="nearest-neighbor"),
    )

    class Params(Params):
        """Parameters of :class:`NNDeltaResponse`.

        Attributes
        ----------
        sampling : SamplingConfig
            ``fps_default``: the frame rate when the dataset has none.
        speed_col : str
            Speed column (falls back to ``speed`` when absent).
        nn_id_col : str
            Nearest-neighbour id column (falls back to ``nn_fishID``).
        nn_dx_ego_col, nn_dy_ego_col : str
            The neighbour's offset in the focal's heading frame.
        nn_dx_world_col, nn_dy_world_col : str
            World offsets, rotated by the focal heading when an ego column is absent.
        focal_col : str
            Column flagging focal individuals; when present, ``neighbor_focal``
            is the neighbour's value of it.
        diff_numframes : int
            Lag of the response, in frames.
        diff_numframes_col : str or None
            Column with a per-row lag (used where it rounds to a whole number
            >= 1); adds ``dt_frames``.
        emit_backward : bool
            Also ``dx_back``, ``dy_back``: position now minus ``lag`` frames
            before (NaN when that frame is absent).
        wrap_angle : bool
            Wrap the heading change into (-pi, pi].
        divide_dangle_by_frames : bool
            Divide the heading change by the lag.
        scale_dangle_by_fps : bool
            Multiply the heading change by the frame rate.
        tag_cols : list of str
            Columns also looked up for the neighbour (``neighbor_<col>``).
        """

        sampling: SamplingConfig = Field(default_factory=SamplingConfig)
        speed_col: str = "SPEED"
        nn_id_col: str = "nn_id"
        nn_dx_ego_col: str = "nn_delta_x_ego"
        nn_dy_ego_col: str = "nn_delta_y_ego"
        nn_dx_world_col: str = "nn_delta_x"
        nn_dy_world_col: str = "nn_delta_y"
        focal_col: str = "Focal_fish"
        diff_numframes: int = Field(default=4, ge=1)
        diff_numframes_col: str | None = None
        emit_backward: bool = False
        wrap_angle: bool = True
        divide_dangle_by_frames: bool = True
        scale_dangle_by_fps: bool = True
        tag_cols: list[str] = Field(default_factory=list)

    class Inputs(Inputs[TrackInput | Result]):
        """Tracks, speed-angvel and nearest-neighbor outputs."""

    def _pick(self, t: TrackTable, wanted: str, fallback: str, what: str, provider: str) -> str:
        if t.has(wanted):
            return wanted
        if t.has(fallback):
            return fallback
        raise ValueError(
            f"{self.name}: missing {what} column {wanted!r} (or {fallback!r}); it comes from "
            f"{provider}. Columns present: {t.df.columns}"
        )

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the responses of one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks joined with speed-angvel and nearest-neighbor outputs.

        Returns
        -------
        polars.DataFrame
            group, sequence (when present), id, frame, nn_id, neighbor_x,
            neighbor_y, dx, dy, dt, dangle, dspeed (+ the optional columns),
            then every other input column; rows with a row ``lag`` frames
            later, sorted by (id, frame).
        """
        p = self.params
        c = self.columns
        t = self.table(df)
        t.require([c.x_col, c.y_col, c.orientation_col], "the tracks (positions and heading)")
        speed_col = self._pick(t, p.speed_col, "speed", "speed", "a speed-angvel run")
        nn_col = self._pick(t, p.nn_id_col, "nn_fishID", "neighbour id", "a nearest-neighbor run")
        x, y, angle = t.floats(c.x_col), t.floats(c.y_col), t.floats(c.orientation_col)
        speed = t.floats(speed_col)
        if t.has(p.nn_dx_ego_col) and t.has(p.nn_dy_ego_col):
            nx, ny = t.floats(p.nn_dx_ego_col), t.floats(p.nn_dy_ego_col)
        else:
            t.require([p.nn_dx_world_col, p.nn_dy_world_col], "a nearest-neighbor run")
            nx, ny = to_egocentric(t.floats(p.nn_dx_world_col), t.floats(p.nn_dy_world_col), angle)
        lag = np.full(t.n, p.diff_numframes, dtype=np.int64)
        per_row = p.diff_numframes_col is not None and t.has(p.diff_numframes_col)
        if per_row:
            v = np.round(t.floats(p.diff_numframes_col))
            ok = np.isfinite(v) & (v >= 1)
            lag[ok] = v[ok].astype(np.int64)
        fut = lag_rows(t.frames, t.offsets, lag if per_row else p.diff_numframes)
        rows = np.flatnonzero(fut >= 0)
        fps = self.dataset_fps if self.dataset_fps is not None else p.sampling.fps_default
        res = nn_response(
            rows,
            fut[rows],
            x,
            y,
            angle,
            speed,
            lag,
            wrap_angle=p.wrap_angle,
            per_frame=p.divide_dangle_by_frames,
            fps_scale=fps if p.scale_dangle_by_fps else 1.0,
        )
        # kernel (id, frame) order -> input rows
        src = rows if t.order is None else t.order[rows]
        base = t.df[src]
        keys = [col for col in c.key_cols() if col in base.columns]
        new: dict[str, Any] = {
            "neighbor_x": nx[rows],
            "neighbor_y": ny[rows],
            "dx": res[:, 0],
            "dy": res[:, 1],
            "dt": res[:, 2],
            "dangle": res[:, 3],
            "dspeed": res[:, 4],
        }
        lookups = ([p.focal_col] if t.has(p.focal_col) else []) + [
            col for col in p.tag_cols if t.has(col)
        ]
        if lookups:
            table = t.df.select(
                [*[k for k in (c.group_col, c.seq_col) if k in t.df.columns], c.id_col, c.frame_col]
                + lookups
            )
            on = [k for k in (c.group_col, c.seq_col) if k in t.df.columns]
            probe = base.select([*on, pl.col(nn_col).alias(c.id_col), c.frame_col])
            probe = probe.with_columns(pl.col(c.id_col).cast(table.schema[c.id_col], strict=False))
            found = probe.join(
                table, on=[*on, c.id_col, c.frame_col], how="left", maintain_order="left"
            )
            for col in lookups:
                name = "neighbor_focal" if col == p.focal_col else f"neighbor_{col}"
                if name not in new:
                    new[name] = found[col]
        if p.emit_backward:
            back = lag_rows(t.frames, t.offsets, -lag if per_row else -p.diff_numframes)[rows]
            has = back >= 0
            bk = np.where(has, back, 0)
            new["dx_back"] = np.where(has, x[rows] - x[bk], np.nan)
            new["dy_back"] = np.where(has, y[rows] - y[bk], np.nan)
        if per_row:
            new["dt_frames"] = lag[rows].astype(np.float64)
        front = [*keys, nn_col]
        out = base.select(front).with_columns(
            [v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v) for k, v in new.items()]
        )
        rest = [col for col in base.columns if col not in out.columns]
        return pl.concat([out, base.select(rest)], how="horizontal")
