"""Feature ``pair-interaction-filter``: segments in which two individuals interact.

For every two individuals, over the frames at which both have a row (see
:func:`moveo.kernels.pairs.interaction_rows` for the exact definition):

1. a frame is a *candidate* when the two positions, each shifted
   ``shift_dist`` forward along its own heading, are less than ``max_dist``
   apart, and (``require_facing``) the inverse orientation difference
   ``180 - |hA - hB|`` (degrees, the difference wrapped into [0, 180]) is less
   than ``max_inv_orientation_diff_deg``;
2. the candidate mask is closed, then opened, with a flat structuring element
   of ``morphological_structure_size`` frames (gaps shorter than that are
   bridged, runs shorter than that dropped; 0: neither);
3. every run of at least ``min_run_frames`` frames is an interaction, widened by
   ``frame_padding`` frames on each side (within the pair's common frames).

The output has a row per frame of each interaction, in both perspectives, with
``interaction_id`` (the pair's interactions numbered from 0 in frame order) and
``interaction_start`` / ``interaction_end`` (first and last frame, inclusive).
``shift_dist`` and ``max_dist`` are multiplied by ``px_scale``.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from pydantic import Field

from moveo.contract import Params
from moveo.features._tracking import TrackTable
from moveo.features.pairs._base import PairFeature
from moveo.kernels.pairs import interaction_rows

__all__ = ["PairInteractionFilter"]


class PairInteractionFilter(PairFeature):
    """Pairwise interaction segments (mosaic ``pair-interaction-filter``).

    Reads the heading (ANGLE) and a position: keypoint ``pose_head_index`` when
    ``use_pixel_coords`` and it is set; else ``x_pixels`` / ``y_pixels`` when
    ``use_pixel_coords`` and the tracks have them; else X / Y.

    Parameters
    ----------
    params : dict or PairInteractionFilter.Params, optional
        See :class:`PairInteractionFilter.Params` (mosaic's names and defaults).
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> f = np.arange(8)
    >>> df = pl.DataFrame({"id": np.repeat([1, 2], 8), "frame": np.tile(f, 2),
    ...                    "X": np.r_[np.zeros(8), np.where(f < 5, 1.0, 50.0)],
    ...                    "Y": np.zeros(16), "ANGLE": np.r_[np.zeros(8), np.full(8, np.pi)]})
    >>> p = {"shift_dist": 0.0, "max_dist": 2.0, "min_run_frames": 3, "frame_padding": 1,
    ...      "morphological_structure_size": 0}
    >>> out = PairInteractionFilter(p).apply(df)
    >>> ab = out.filter(pl.col("id1") == 1)
    >>> ab.select("frame", "interaction_start", "interaction_end").rows()
    [(0, 0, 5), (1, 0, 5), (2, 0, 5), (3, 0, 5), (4, 0, 5), (5, 0, 5)]
    """

    name: ClassVar[str] = "pair-interaction-filter"
    version: ClassVar[str] = "0.2"
    output_columns: ClassVar[tuple[str, ...]] = (
        "interaction_id",
        "interaction_start",
        "interaction_end",
    )

    class Params(Params):
        """Parameters of :class:`PairInteractionFilter`.

        Attributes
        ----------
        shift_dist : float
            Forward shift of each position along its heading (position units).
        max_dist : float
            Largest distance (exclusive) between the shifted positions.
        require_facing : bool
            Also require roughly opposite headings.
        max_inv_orientation_diff_deg : float
            Largest (exclusive) ``180 - |heading difference|``, degrees.
        min_run_frames : int
            Shortest interaction, in frames (after the morphology).
        frame_padding : int
            Frames added before and after each interaction.
        morphological_structure_size : int
            Length of the closing / opening element, frames (0: none).
        px_scale : float
            Multiplies ``shift_dist`` and ``max_dist``.
        use_pixel_coords : bool
            Use the head keypoint or ``x_pixels`` / ``y_pixels`` (see the class).
        pose_head_index : int or None
            Keypoint used as the position (with ``use_pixel_coords``).
        """

        shift_dist: float = Field(default=15.0, allow_inf_nan=False)
        max_dist: float = Field(default=40.0, allow_inf_nan=False)
        require_facing: bool = True
        max_inv_orientation_diff_deg: float = Field(default=80.0, allow_inf_nan=False)
        min_run_frames: int = Field(default=250, ge=0)
        frame_padding: int = Field(default=10, ge=0)
        morphological_structure_size: int = Field(default=25, ge=0)
        px_scale: float = Field(default=1.0, allow_inf_nan=False)
        use_pixel_coords: bool = True
        pose_head_index: int | None = Field(default=None, ge=0)

    def position_columns(self, t: TrackTable) -> tuple[str, str]:
        """Return the (x, y) columns the distance uses (see the class docs)."""
        p = self.params
        c = self.columns
        if p.use_pixel_coords and p.pose_head_index is not None:
            return (
                f"{self.pose.x_prefix}{p.pose_head_index}",
                f"{self.pose.y_prefix}{p.pose_head_index}",
            )
        if p.use_pixel_coords and t.has("x_pixels") and t.has("y_pixels"):
            return "x_pixels", "y_pixels"
        return c.x_col, c.y_col

    def compute(self, t: TrackTable) -> pl.DataFrame:
        """Pair table of one sequence."""
        p = self.params
        xc, yc = self.position_columns(t)
        what = (
            f"the tracks (keypoint {p.pose_head_index}, pose_head_index)"
            if p.pose_head_index is not None and p.use_pixel_coords
            else "the tracks (positions)"
        )
        t.require([xc, yc], what)
        t.require([self.columns.orientation_col], "the tracks (heading; run 'heading')")
        res = interaction_rows(
            t.frames,
            t.offsets,
            t.floats(xc),
            t.floats(yc),
            t.floats(self.columns.orientation_col),
            shift_dist=p.shift_dist * p.px_scale,
            max_dist=p.max_dist * p.px_scale,
            require_facing=p.require_facing,
            max_inv_orientation_diff_deg=p.max_inv_orientation_diff_deg,
            min_run_frames=p.min_run_frames,
            frame_padding=p.frame_padding,
            structure_size=p.morphological_structure_size,
        )
        return self.pair_output(
            t,
            res["focal"],
            res["partner"],
            {
                "interaction_id": pl.Series(res["label"], dtype=pl.Int64),
                "interaction_start": pl.Series(res["start"], dtype=pl.Int64),
                "interaction_end": pl.Series(res["end"], dtype=pl.Int64),
            },
        )
