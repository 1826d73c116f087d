"""Feature ``approach-avoidance``: one individual approaches while the other moves away.

Per individual, X / Y (and the heading, for the orientation gate) are cleaned
(``interpolation``) and the velocity is the step from the previous frame
(``NaN`` unless the previous row is ``consecutive_frame_delta`` frames back; per
second with ``velocity_units="per_second"``). A pair row *qualifies* when the
two are at most ``distance_threshold`` apart, the focal moves at least
``approacher_velocity_threshold`` towards the partner (cosine with the direction
to it at least ``cos_approacher_threshold``), the partner moves at least
``avoider_velocity_threshold`` away (cosine with the direction away at least
``cos_avoider_threshold``) and, unless ``orientation_gate_cos`` is None, the
focal's heading is aligned with its velocity (cosine at least the gate). A
qualifying row is an event when at least ``min_event_count`` rows of its pair
qualify within the trailing ``min_event_length`` frames.

Columns (Int8): ``aa_event_directed`` (the focal approaches, the partner
avoids), ``aa_event`` and ``label_id`` (either direction; the same on both
rows of a pair). See :func:`moveo.kernels.pairs.approach_avoidance_events`.
"""

from __future__ import annotations

import math
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
from moveo.kernels.pairs import approach_avoidance_events, step_velocity

__all__ = ["ApproachAvoidance"]


class ApproachAvoidance(PairFeature):
    """Approach-avoidance events of every ordered pair (mosaic ``approach-avoidance``).

    Parameters
    ----------
    params : dict or ApproachAvoidance.Params, optional
        mosaic's parameters (see :class:`ApproachAvoidance.Params`) and ``pairs``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).
    """

    name: ClassVar[str] = "approach-avoidance"
    version: ClassVar[str] = "0.3"

    class Params(Params):
        """Parameters of :class:`ApproachAvoidance`.

        Attributes
        ----------
        interpolation : InterpolationConfig
            Gap filling of X, Y (and ANGLE with the gate).
        sampling : SamplingConfig
            ``fps_default`` (for ``per_second`` velocities and ``smooth_window_sec``).
        velocity_units : {"per_frame", "per_second"}
            Units of the speed compared with the velocity thresholds.
        angle_units : {"radians", "degrees", "auto"}
            Units of ANGLE (``auto``: degrees when some |ANGLE| exceeds 2 pi).
        consecutive_frame_delta : float
            The frame step a velocity needs (else it is unset).
        distance_threshold : float
            Largest distance of a qualifying row (position units).
        approacher_velocity_threshold, avoider_velocity_threshold : float
            Smallest speeds of the approacher / avoider.
        cos_approacher_threshold, cos_avoider_threshold : float
            Smallest cosines (towards the partner / away from the focal).
        min_event_length : int
            Trailing window, in frames.
        min_event_count : int
            Qualifying rows needed in the window (clamped to the window).
        orientation_gate_cos : float or None
            Smallest cosine between the approacher's heading and velocity; None: no gate.
        smooth_window_sec : float or None
            Centred moving average of the distance, speeds and cosines over
            this many seconds (rounded to frames) before the thresholds.
        pairs : PairSelection
            Which pairs get rows (default all).
        """

        interpolation: InterpolationConfig = Field(default_factory=InterpolationConfig)
        sampling: SamplingConfig = Field(default_factory=SamplingConfig)
        velocity_units: Literal["per_frame", "per_second"] = "per_frame"
        angle_units: Literal["radians", "degrees", "auto"] = "radians"
        consecutive_frame_delta: float = 1.0
        distance_threshold: float = Field(default=200.0, gt=0.0)
        approacher_velocity_threshold: float = Field(default=5.0, ge=0.0)
        avoider_velocity_threshold: float = Field(default=5.0, ge=0.0)
        cos_approacher_threshold: float = Field(default=0.8, ge=-1.0, le=1.0)
        cos_avoider_threshold: float = Field(default=0.5, ge=-1.0, le=1.0)
        min_event_length: int = Field(default=10, ge=1)
        min_event_count: int = Field(default=5, ge=1)
        orientation_gate_cos: float | None = Field(default=math.cos(math.pi / 6), ge=0.0, le=1.0)
        smooth_window_sec: float | None = Field(default=None, gt=0.0)
        pairs: PairSelection = Field(default_factory=PairSelection)

    def compute(self, t: TrackTable) -> pl.DataFrame:
        """Pair table of one sequence."""
        p = self.params
        c = self.columns
        gate = p.orientation_gate_cos is not None
        cols = [c.x_col, c.y_col] + ([c.orientation_col] if gate else [])
        t.require(
            cols,
            "the tracks (positions"
            + (", and ANGLE for the orientation gate" if gate else "")
            + ")",
        )
        heading = None
        if gate:
            raw = t.floats(c.orientation_col)
            units = p.angle_units
            if units == "auto":
                big = np.nanmax(np.abs(raw)) if np.isfinite(raw).any() else 0.0
                units = "degrees" if big > 2 * math.pi + 1e-9 else "radians"
            if units == "degrees":
                raw = np.radians(raw)
            values = np.column_stack([t.floats(c.x_col), t.floats(c.y_col), raw])
            filled, keep = self._clean_values(t, values, [False, False, True])
            heading = np.ascontiguousarray(filled[:, 2])
        else:
            values = np.column_stack([t.floats(c.x_col), t.floats(c.y_col)])
            filled, keep = self._clean_values(t, values, [False, False])
        x = np.ascontiguousarray(filled[:, 0])
        y = np.ascontiguousarray(filled[:, 1])
        fps = self.frame_rate(t)
        smooth = 1 if p.smooth_window_sec is None else max(1, round(p.smooth_window_sec * fps))
        scale = fps if p.velocity_units == "per_second" else 1.0
        step = p.consecutive_frame_delta
        vx = step_velocity(x, t.frames, t.offsets, keep, step=step, scale=scale)
        vy = step_velocity(y, t.frames, t.offsets, keep, step=step, scale=scale)
        ra, rb = self.select_pairs(t, keep, x, y)
        directed, either = approach_avoidance_events(
            ra,
            rb,
            t.frames[ra],
            t.offsets,
            x,
            y,
            vx,
            vy,
            heading,
            distance_threshold=p.distance_threshold,
            approacher_speed=p.approacher_velocity_threshold,
            avoider_speed=p.avoider_velocity_threshold,
            cos_approacher=p.cos_approacher_threshold,
            cos_avoider=p.cos_avoider_threshold,
            orientation_gate_cos=p.orientation_gate_cos,
            window=p.min_event_length,
            min_count=p.min_event_count,
            smooth=smooth,
        )
        ev = either.astype(np.int8)
        return self.pair_output(
            t,
            ra,
            rb,
            {
                "label_id": pl.Series("label_id", ev, dtype=pl.Int8),
                "aa_event": pl.Series("aa_event", ev, dtype=pl.Int8),
                "aa_event_directed": pl.Series(
                    "aa_event_directed", directed.astype(np.int8), dtype=pl.Int8
                ),
            },
        )

    def _clean_values(
        self, t: TrackTable, values: np.ndarray, circular: list[bool]
    ) -> tuple[np.ndarray, np.ndarray]:
        from moveo.kernels.pairs import clean_columns

        ip = self.params.interpolation
        return clean_columns(
            values,
            t.frames,
            t.offsets,
            linear_limit=ip.linear_interp_limit,
            edge_limit=ip.edge_fill_limit,
            max_missing_fraction=ip.max_missing_fraction,
            circular=np.asarray(circular),
        )
