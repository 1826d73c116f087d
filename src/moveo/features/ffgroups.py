"""Features ``ffgroups`` and ``ffgroups-metrics``: fission-fusion groups.

``ffgroups`` labels, per frame, the connected components of the "closer than
``distance_cutoff``" graph (distances averaged over ``window_size`` frames) and
the stable subgroups (events) they form over time; see
:mod:`moveo.kernels.groups`. ``ffgroups-metrics`` summarises, per individual
and group size, how an individual spends its time in groups.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from moveo.contract import Params
from moveo.features._tracking import TrackingFeature
from moveo.kernels.groups import ffgroups

__all__ = ["FFGroups"]


class FFGroups(TrackingFeature):
    """Fission-fusion group membership, group size and stable-subgroup events.

    One row per input row: ``group_membership`` (Int32, the frame's component
    label: the rank of the component's union-find root, as mosaic numbers them),
    ``group_size`` (Int32, individuals in that component) and ``event`` (Int64,
    the stable subgroup the row belongs to, -1 outside events).

    Per sequence, every individual of the sequence takes part in every frame
    (an individual without a row or with a NaN position at a frame is absent
    there; the window average can still link it through its neighbouring
    frames, and it counts in ``group_size``). Two individuals are linked when
    their distance, averaged over the ``window_size`` frames centred on the
    frame (the frames at which both are present), is below ``distance_cutoff``;
    a group is a connected component of the links. An event is a maximal run
    of frames in which one exact set of individuals forms a group, lasting at
    least ``min_event_duration`` frames (last minus first), within a run of
    consecutive frame numbers; events are numbered by (run of frames, member
    ids, first frame).

    Parameters
    ----------
    params : dict or FFGroups.Params, optional
        ``distance_cutoff``, ``window_size``, ``min_event_duration``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 0, 1, 1, 2, 2], "frame": [0, 1] * 3,
    ...                    "X": [0.0, 0.0, 10.0, 10.0, 200.0, 200.0], "Y": [0.0] * 6})
    >>> FFGroups().apply(df).select("id", "frame", "group_size", "event").rows()
    [(0, 0, 2, 0), (0, 1, 2, 0), (1, 0, 2, 0), (1, 1, 2, 0), (2, 0, 1, 1), (2, 1, 1, 1)]
    """

    name: ClassVar[str] = "ffgroups"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`FFGroups` (mosaic's names and defaults).

        Attributes
        ----------
        distance_cutoff : float
            Link distance (position units); a mean distance below it links.
        window_size : int
            Odd number of frames the pairwise distance is averaged over.
        min_event_duration : int
            Fewest frames (last minus first) of a stable subgroup event.
        """

        distance_cutoff: float = Field(default=50.0, gt=0, allow_inf_nan=False)
        window_size: int = Field(default=5, ge=1)
        min_event_duration: int = Field(default=1, ge=1)

        @field_validator("window_size")
        @classmethod
        def _odd(cls, v: int) -> int:
            if v % 2 == 0:
                raise ValueError(f"window_size must be an odd integer, got {v}")
            return v

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute one entry's groups.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry: id, frame, X, Y.

        Returns
        -------
        polars.DataFrame
            One row per input row, in input order: group, sequence (if
            present), id, frame, group_membership, group_size, event.
        """
        p = self.params
        c = self.columns
        t = self.table(df)
        t.require([c.x_col, c.y_col], "the tracks (positions)")
        x, y = t.floats(c.x_col), t.floats(c.y_col)
        out = {
            "group_membership": np.empty(t.n, dtype=np.int32),
            "group_size": np.empty(t.n, dtype=np.int32),
            "event": np.empty(t.n, dtype=np.int64),
        }
        blocks: list[Any] = [slice(None)] if t.blocks is None else [
            np.flatnonzero(t.blocks == b) for b in np.unique(t.blocks)
        ]  # fmt: skip
        for rows in blocks:
            res = ffgroups(
                x[rows], y[rows], t.ids[rows], t.frames[rows],
                distance_cutoff=p.distance_cutoff, window_size=p.window_size,
                min_event_duration=p.min_event_duration,
            )  # fmt: skip
            for name, v in res.items():
                out[name][rows] = v
        return t.output(out)
