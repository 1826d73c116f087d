"""Features ``collective-motion-metrics`` and ``local-order-metrics``.

Group-level order parameters of Tunström et al. (2013), "Collective states,
multistability and transitional behavior in schooling fish", PLoS Comput Biol
9(2): e1002915, with mosaic-behavior 0.17's parameter names, defaults and
columns. The arithmetic lives in :mod:`moveo.kernels.collective`.

``collective-motion-metrics`` is a *frame-level* summary: one output row per
frame (or per frame and subgroup), keyed by ``group``, ``sequence``, ``frame``
-- not by individual. ``local-order-metrics`` has one row per input row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from moveo.contract import BodyScaleResult, InputItemLike, Inputs, Params
from moveo.features._frame import FrameFeature, filter_rows, frame_groups, group_keys
from moveo.features._tracking import TrackingFeature, TrackTable
from moveo.kernels.collective import (
    STATES,
    classify_state,
    frame_moments,
    local_order,
    principal_axes,
    row_motion,
)

__all__ = ["CollectiveMotionMetrics", "LocalOrderMetrics"]

HeadingSource = Literal["auto", "orientation", "velocity"]

CMM_COLUMNS: tuple[str, ...] = (
    "n_ids",
    "n_ids_heading",
    "n_at_centroid",
    "n_centroid_common",
    "polarization",
    "mean_heading",
    "rotation",
    "rotation_signed",
    "group_angvel",
    "state",
    "centroid_x",
    "centroid_y",
    "centroid_speed",
    "centroid_heading",
    "sd_major",
    "sd_minor",
    "elongation",
    "principal_axis_angle",
    "area",
    "density",
    "alpha_n_triangles",
    "mean_speed",
    "heading_source",
)
"""Every column ``collective-motion-metrics`` may emit."""

LOM_COLUMNS: tuple[str, ...] = (
    "local_heading_source",
    "local_radius",
    "heading_x",
    "heading_y",
    "n_local_neighbors",
    "n_local_headings",
    "local_polarization",
    "local_heading_x",
    "local_heading_y",
    "dist_to_group_center",
    "radial_rotation_self",
    "local_rotation",
    "group_outer_radius",
    "shell_index",
    "shell_n",
    "shell_radial_rotation",
)
"""Every column ``local-order-metrics`` emits."""


def _check_subgroup(col: str | None, emitted: tuple[str, ...]) -> None:
    if col is None:
        return
    reserved = {"id", "frame", "time", "group", "sequence", *emitted}
    if col in reserved:
        raise ValueError(
            f"subgroup_col={col!r} collides with a key or an emitted column; use a "
            "partition column such as 'event' from ffgroups"
        )


def _resolve_heading(source: str, t: TrackTable, orientation_col: str, who: str) -> str:
    """``auto`` -> orientation when the angle column has a finite value."""
    if source == "velocity":
        return "velocity"
    usable = t.has(orientation_col) and bool(np.isfinite(t.floats(orientation_col)).any())
    if source == "orientation":
        if not usable:
            raise ValueError(
                f"{who}: heading_source='orientation' but column {orientation_col!r} is "
                "missing or has no finite value; use heading_source='velocity' to take "
                "headings from the direction of travel"
            )
        return "orientation"
    return "orientation" if usable else "velocity"


def _subgroup_codes(t: TrackTable, col: str) -> np.ndarray:
    """Dense code per kernel row of the values of ``col`` (sorted), -1 for null/NaN."""
    s = t.df[col]
    if s.dtype.is_float():
        s = s.fill_nan(None)
    codes = s.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    if t.order is not None:
        codes = codes[t.order]
    return codes


def _motion(
    feature: Any, t: TrackTable, resolved: str, fps: float | None, **kwargs: Any
) -> dict[str, np.ndarray]:
    c = feature.columns
    x, y = t.floats(c.x_col), t.floats(c.y_col)
    angle = t.floats(c.orientation_col) if resolved == "orientation" else None
    clock = None
    if fps is None and t.has(c.time_col):
        clock = t.floats(c.time_col)
    return row_motion(x, y, t.frames, t.offsets, angle=angle, clock=clock, fps=fps, **kwargs)


class CollectiveMotionMetrics(FrameFeature):
    """Per-frame group order parameters, centroid kinematics, shape and area.

    One output row per frame (per frame and subgroup with ``subgroup_col``),
    keyed by ``group``, ``sequence``, ``frame`` (then ``time``, the first
    finite timestamp of the frame, and the subgroup column). Columns:

    - ``n_ids`` (individuals with finite X and Y), ``n_ids_heading`` (with a
      heading: the divisor of the order parameters), ``n_at_centroid``
      (exactly at the centroid), ``n_centroid_common`` (with a velocity, i.e.
      present in this and the previous frame);
    - ``polarization`` ``O_p = |Σ u| / n_ids_heading``, ``mean_heading``
      (angle of ``Σ u``), ``rotation`` ``O_r = |Σ r̂ × u| / n_ids_heading`` and
      ``rotation_signed`` (counter-clockwise positive in the stored
      coordinates), ``group_angvel`` (mean ``r × (v - v_c) / |r|²``, rad/s);
    - ``state``: ``Polarized`` / ``Milling`` / ``Swarm`` / ``Transitional``
      (thresholds 0.35 and 0.65 of Tunström et al.) or ``Undefined``;
    - ``centroid_x``, ``centroid_y``, ``centroid_speed``, ``centroid_heading``
      (NaN at or below ``min_group_speed``);
    - ``sd_major``, ``sd_minor``, ``elongation``, ``principal_axis_angle``
      (principal axes of the positions' covariance about the centroid);
    - ``area`` (convex hull, or alpha shape) and ``density = n_ids / area``,
      ``alpha_n_triangles`` with ``area_method="alpha_shape"``;
    - ``mean_speed`` with ``speed_col``;
    - ``heading_source``: ``"orientation"`` or ``"velocity"``.

    Below ``min_individuals`` individuals (with a position, or with a heading
    for the order parameters) the relational metrics are NaN and ``state`` is
    ``Undefined``; counts and the centroid are always given.

    Velocities are backward differences over the previous row of each
    individual: ``dt`` = frame difference / ``fps`` (``params.fps``, else the
    dataset's), else the difference of the time column, else one frame.

    Parameters
    ----------
    params : dict or CollectiveMotionMetrics.Params, optional
    inputs : Inputs or tuple, optional
        Default: the tracks. Add upstream results (e.g. ``ffgroups`` for
        ``subgroup_col="event"``, ``speed-angvel`` for ``speed_col``); they are
        joined on group, sequence, id and frame.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> df = pl.DataFrame({"id": [0, 1, 2], "frame": [0, 0, 0], "X": [0.0, 1.0, 0.0],
    ...                    "Y": [0.0, 0.0, 1.0], "ANGLE": [0.3, 0.3, 0.3]})
    >>> out = CollectiveMotionMetrics().apply(df)
    >>> out.select("frame", "n_ids", "polarization", "area").rows()
    [(0, 3, 1.0, 0.5)]
    """

    name: ClassVar[str] = "collective-motion-metrics"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`CollectiveMotionMetrics` (mosaic's names and defaults).

        Attributes
        ----------
        heading_source : {"auto", "orientation", "velocity"}
            ``auto``: the orientation column when it has a finite value, else
            the direction of travel.
        subgroup_col : str or None
            Partition every frame by this column (e.g. ``event`` from ffgroups);
            rows where it is null or NaN are left out.
        area_method : {"convex_hull", "alpha_shape", "none"}
            How ``area`` (and ``density``) are computed.
        alpha : float or None
            Circumradius cutoff of the alpha shape (position units); required
            with ``area_method="alpha_shape"``.
        min_individuals : int
            Fewest individuals for the relational metrics.
        fps : float or None
            Frame rate for ``dt`` (``None``: the dataset's, else the time column).
        max_frame_gap : int or None
            Steps over more frames have no velocity.
        min_group_speed : float
            ``centroid_heading`` is NaN at or below this centroid speed.
        speed_col : str or None
            Per-row speed column averaged into ``mean_speed``.
        filter_expr : str or None
            pandas-``query``-style row filter applied first (e.g. ``"event >= 0"``).
        exclude_cols : list of str
            Boolean columns whose truthy rows are dropped first.
        """

        heading_source: HeadingSource = "auto"
        subgroup_col: str | None = None
        area_method: Literal["convex_hull", "alpha_shape", "none"] = "convex_hull"
        alpha: float | None = Field(default=None, gt=0)
        min_individuals: int = Field(default=3, ge=1)
        fps: float | None = Field(default=None, gt=0, allow_inf_nan=False)
        max_frame_gap: int | None = Field(default=None, ge=1)
        min_group_speed: float = Field(default=0.0, ge=0)
        speed_col: str | None = None
        filter_expr: str | None = None
        exclude_cols: list[str] = Field(default_factory=list)

        @model_validator(mode="after")
        def _check(self) -> CollectiveMotionMetrics.Params:
            if self.area_method == "alpha_shape" and self.alpha is None:
                raise ValueError(
                    "area_method='alpha_shape' requires 'alpha', a circumradius cutoff in "
                    "position units"
                )
            _check_subgroup(self.subgroup_col, CMM_COLUMNS)
            return self

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results (joined on the row keys)."""

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute one entry's per-frame metrics.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry (id, frame, X, Y, + ANGLE, time, upstream columns).

        Returns
        -------
        polars.DataFrame
            One row per frame (and subgroup), sorted by group, sequence, frame
            (and subgroup); columns as in the class docstring.
        """
        p = self.params
        c = self.columns
        if not isinstance(df, pl.DataFrame):
            raise TypeError(f"{self.name}: apply expects a polars DataFrame, got {type(df)}")
        need = [c.x_col, c.y_col]
        for extra in (p.subgroup_col, p.speed_col):
            if extra is not None:
                need.append(extra)
        missing = [col for col in need if col not in df.columns]
        if missing:
            raise ValueError(
                f"{self.name}: missing column(s) {missing}; X/Y come from the tracks, "
                "subgroup_col and speed_col from an upstream feature listed in inputs "
                f"(columns present: {df.columns})"
            )
        df = filter_rows(df, p.filter_expr, p.exclude_cols, who=self.name)
        t = self.table(df)
        resolved = _resolve_heading(p.heading_source, t, c.orientation_col, self.name)
        sub = _subgroup_codes(t, p.subgroup_col) if p.subgroup_col is not None else None
        fps = p.fps if p.fps is not None else self.dataset_fps
        mot = _motion(self, t, resolved, fps, subgroup=sub, max_frame_gap=p.max_frame_gap)
        groups = frame_groups(t, sub)
        x, y = t.floats(c.x_col), t.floats(c.y_col)
        speed = t.floats(p.speed_col) if p.speed_col is not None else None
        mom = frame_moments(
            x, y, mot, groups.perm, groups.offsets, speed=speed,
            hull=p.area_method == "convex_hull",
        )  # fmt: skip
        n_tri = None
        if p.area_method == "alpha_shape":
            mom["area"], n_tri = _alpha_areas(x, y, mot["finite"], groups, float(p.alpha))

        n_ids = mom["n_ids"]
        n_head = mom["n_ids_heading"].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = np.where(n_head > 0, n_head, np.nan)
            pol = np.hypot(mom["sum_ux"], mom["sum_uy"]) / denom
            mean_heading = np.where(n_head > 0, np.arctan2(mom["sum_uy"], mom["sum_ux"]), np.nan)
            rot_div = np.where((n_head > 0) & (mom["n_cross"] > 0), n_head, np.nan)
            rot_signed = mom["sum_cross"] / rot_div
            cspeed = np.hypot(mom["cvx"], mom["cvy"])
            cheading = np.where(
                cspeed > p.min_group_speed, np.arctan2(mom["cvy"], mom["cvx"]), np.nan
            )
            sd_major, sd_minor, elong, axis = principal_axes(mom["sxx"], mom["syy"], mom["sxy"])
            area = mom["area"]
            density = n_ids / np.where(np.isfinite(area) & (area > 0), area, np.nan)
        weak = n_ids < p.min_individuals
        weak_h = mom["n_ids_heading"] < p.min_individuals
        nan = np.nan
        pol = np.where(weak_h, nan, pol)
        mean_heading = np.where(weak_h, nan, mean_heading)
        rot_signed = np.where(weak | weak_h, nan, rot_signed)
        rotation = np.abs(rot_signed)
        state = classify_state(rotation, pol)

        keys = group_keys(t, groups, [c.group_col, c.seq_col, c.frame_col])
        out: dict[str, Any] = {}
        if t.has(c.time_col):
            out[c.time_col] = _first_finite(t.floats(c.time_col), groups)
        if p.subgroup_col is not None:
            out[p.subgroup_col] = group_keys(t, groups, [p.subgroup_col]).to_series()
        out.update(
            n_ids=pl.Series(n_ids, dtype=pl.Int64),
            n_ids_heading=pl.Series(mom["n_ids_heading"], dtype=pl.Int64),
            n_at_centroid=pl.Series(mom["n_at_centroid"], dtype=pl.Int64),
            n_centroid_common=pl.Series(mom["n_centroid_common"], dtype=pl.Int64),
            polarization=pol,
            mean_heading=mean_heading,
            rotation=rotation,
            rotation_signed=rot_signed,
            group_angvel=np.where(weak, nan, mom["group_angvel"]),
            state=pl.Series(np.asarray(STATES, dtype=object)[state], dtype=pl.String),
            centroid_x=mom["centroid_x"],
            centroid_y=mom["centroid_y"],
            centroid_speed=cspeed,
            centroid_heading=cheading,
            sd_major=np.where(weak, nan, sd_major),
            sd_minor=np.where(weak, nan, sd_minor),
            elongation=np.where(weak, nan, elong),
            principal_axis_angle=np.where(weak, nan, axis),
            area=np.where(weak, nan, area),
            density=np.where(weak, nan, density),
        )
        if n_tri is not None:
            out["alpha_n_triangles"] = pl.Series(np.where(weak, 0, n_tri), dtype=pl.Int64)
        if p.speed_col is not None:
            out["mean_speed"] = mom["mean_speed"]
        out["heading_source"] = pl.Series([resolved] * groups.n, dtype=pl.String)
        cols = [v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v) for k, v in out.items()]
        return keys.with_columns(cols) if keys.width else pl.DataFrame(cols)


def _first_finite(values: np.ndarray, groups: Any) -> np.ndarray:
    """Return the first finite value of every group (rows in kernel order), NaN if none."""
    out = np.full(groups.n, np.nan)
    vals = values[groups.perm]
    ok = np.isfinite(vals)
    if not ok.any():
        return out
    gid = np.repeat(np.arange(groups.n), np.diff(groups.offsets))
    pos = np.flatnonzero(ok)
    first_pos = np.full(groups.n, -1, dtype=np.int64)
    # the last write wins: go backwards so the first finite row of a group stays
    first_pos[gid[pos[::-1]]] = pos[::-1]
    has = first_pos >= 0
    out[has] = vals[first_pos[has]]
    return out


def _alpha_areas(
    x: np.ndarray, y: np.ndarray, finite: np.ndarray, groups: Any, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha-shape area per group: Delaunay triangles with circumradius < alpha."""
    from scipy.spatial import Delaunay, QhullError

    area = np.full(groups.n, np.nan)
    n_tri = np.zeros(groups.n, dtype=np.int64)
    for g in range(groups.n):
        rows = groups.perm[groups.offsets[g] : groups.offsets[g + 1]]
        rows = rows[finite[rows]]
        if rows.size < 3:
            continue
        pts = np.unique(np.column_stack([x[rows], y[rows]]), axis=0)
        if pts.shape[0] < 3:
            continue
        try:
            tri = Delaunay(pts)
        except (QhullError, ValueError):
            continue
        a, b, cc = (pts[tri.simplices[:, k]] for k in range(3))
        la = np.hypot(*(b - cc).T)
        lb = np.hypot(*(a - cc).T)
        lc = np.hypot(*(a - b).T)
        # twice the signed area from the cross product (exact for collinear: 0)
        t_area = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (cc[:, 1] - a[:, 1])
                              - (b[:, 1] - a[:, 1]) * (cc[:, 0] - a[:, 0]))  # fmt: skip
        with np.errstate(divide="ignore", invalid="ignore"):
            circ = np.where(t_area > 0, la * lb * lc / (4.0 * t_area), np.inf)
        keep = circ < alpha
        if keep.any():
            area[g] = float(t_area[keep].sum())
            n_tri[g] = int(keep.sum())
    return area, n_tri


class LocalOrderMetrics(TrackingFeature):
    """Local order parameters around every individual, and radial shells.

    One row per input row (after ``filter_expr`` / ``exclude_cols``). Within
    each frame (and subgroup): the disc of radius ``local_radius`` around a
    focal individual; its local polarisation and mean heading over the disc
    members with a heading (the focal included), its local rotation (mean of
    the members' ``radial_rotation_self`` about the *group* centre), and the
    concentric shells of Tunström et al. (Fig. 7D). Columns:

    - ``local_heading_source``, ``local_radius`` (position units; NaN for
      rows of a skipped subgroup), ``heading_x``, ``heading_y`` (own heading);
    - ``n_local_neighbors`` (other individuals in the disc with a position),
      ``n_local_headings`` (... with a heading): Int32, -1 when the focal's
      own position is not finite;
    - ``local_polarization``, ``local_heading_x``, ``local_heading_y``,
      ``local_rotation`` (NaN when ``n_local_headings < min_neighbors``);
    - ``dist_to_group_center``, ``radial_rotation_self`` (own ``r̂ × u``),
      ``group_outer_radius`` (median distance of the ``n_peripheral`` farthest),
      ``shell_index`` (Int16, 0 .. n_shells - 1, -1 when undefined),
      ``shell_n`` (Int32), ``shell_radial_rotation`` (shell mean of
      ``radial_rotation_self``).

    Headings are computed before the filters, so dropping a row never changes
    the next row's velocity heading. With a numeric ``subgroup_col``, rows
    whose value is negative (ffgroups' ``event = -1``) keep the -1 / NaN
    defaults. With ``radius_units="body_scale"`` the radius is multiplied by
    the entry's mean ``scale`` from a ``body-scale`` run (``body_scale``).

    Parameters
    ----------
    params : dict or LocalOrderMetrics.Params
        ``radius`` is required.
    inputs : Inputs or tuple, optional
        Default: the tracks (plus upstream results for ``subgroup_col``).
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 1, 2], "frame": [0, 0, 0], "X": [0.0, 1.0, 5.0],
    ...                    "Y": [0.0, 0.0, 0.0], "ANGLE": [0.0, 0.0, 3.14159]})
    >>> LocalOrderMetrics({"radius": 2.0}).apply(df)["n_local_neighbors"].to_list()
    [1, 1, 0]
    """

    name: ClassVar[str] = "local-order-metrics"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`LocalOrderMetrics` (mosaic's names and defaults).

        Attributes
        ----------
        radius : float
            Disc radius (required), in ``radius_units``.
        radius_units : {"position", "body_scale"}
            ``body_scale`` multiplies ``radius`` by the entry's mean body scale.
        body_scale : BodyScaleResult or None
            The ``body-scale`` run to read (required with ``body_scale`` units).
        heading_source : {"auto", "orientation", "velocity"}
            As in :class:`CollectiveMotionMetrics`.
        n_shells : int
            Number of concentric shells.
        n_peripheral : int
            Individuals whose median distance to the centre is ``R_out``.
        min_neighbors : int
            Heading-valid neighbours needed for finite local order.
        subgroup_col : str or None
            Confine discs, centre, ``R_out`` and shells to rows sharing this value.
        filter_expr : str or None
            pandas-``query``-style row filter, applied after the headings.
        exclude_cols : list of str
            Boolean columns whose truthy rows are dropped (after the headings).
        """

        radius: float = Field(gt=0, allow_inf_nan=False)
        radius_units: Literal["position", "body_scale"] = "position"
        body_scale: BodyScaleResult | None = None
        heading_source: HeadingSource = "auto"
        n_shells: int = Field(default=6, ge=1)
        n_peripheral: int = Field(default=5, ge=1)
        min_neighbors: int = Field(default=1, ge=0)
        subgroup_col: str | None = None
        filter_expr: str | None = None
        exclude_cols: list[str] = Field(default_factory=list)

        @model_validator(mode="after")
        def _check(self) -> LocalOrderMetrics.Params:
            if self.radius_units == "body_scale" and self.body_scale is None:
                raise ValueError(
                    "radius_units='body_scale' requires 'body_scale', a reference to a "
                    'body-scale run, e.g. {"feature": "body-scale"}'
                )
            _check_subgroup(self.subgroup_col, LOM_COLUMNS)
            return self

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results (joined on the row keys)."""

    def __init__(self, params: Any = None, inputs: Any = None, **kwargs: Any) -> None:
        super().__init__(params, inputs, **kwargs)
        self._scale_root: Any = None

    def load_state(
        self, run_root: Any, artifact_paths: Any = None, dependency_lookups: Any = None
    ) -> bool:
        """Take the body-scale run's folder when ``radius_units="body_scale"``.

        :func:`moveo.run_feature` resolves the ``body_scale`` reference (an
        upstream dependency, part of the run id) and passes its folder in
        ``dependency_lookups["body_scale"]``.

        Returns
        -------
        bool
            Always ``True`` (nothing to fit).
        """
        if self.params.radius_units == "body_scale":
            root = (dependency_lookups or {}).get("body_scale")
            if root is None:
                raise ValueError(
                    f"{self.name}: radius_units='body_scale' but the body-scale run was not "
                    "resolved; run body-scale first and run this feature with run_feature"
                )
            self._scale_root = Path(root)
        return True

    def _radius(self, group: str | None, sequence: str | None) -> float:
        p = self.params
        if p.radius_units == "position":
            return float(p.radius)
        if self._scale_root is None:
            raise ValueError(
                f"{self.name}: radius_units='body_scale' needs the body-scale run; run the "
                "feature with moveo.run_feature (which locates it) or use radius_units="
                "'position'"
            )
        path = self._scale_root / str(group) / f"{sequence}.parquet"
        if not path.exists():
            raise ValueError(
                f"{self.name}: the body-scale run has no output for (group={group!r}, "
                f"sequence={sequence!r}) at {path}"
            )
        scale = pl.read_parquet(path, columns=["scale"])["scale"].fill_nan(None).mean()
        if scale is None or not np.isfinite(scale) or scale <= 0:
            raise ValueError(
                f"{self.name}: body-scale of (group={group!r}, sequence={sequence!r}) has "
                f"mean {scale!r}; cannot scale the radius by it"
            )
        return float(p.radius) * float(scale)

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry (id, frame, X, Y, + ANGLE, subgroup column).

        Returns
        -------
        polars.DataFrame
            One row per kept input row (input order): group, sequence, id,
            frame, time (when present), the subgroup column, then the columns
            of the class docstring.
        """
        p = self.params
        c = self.columns
        t0 = self.table(df)
        t0.require([c.x_col, c.y_col], "the tracks (positions)")
        if p.subgroup_col is not None:
            t0.require([p.subgroup_col], "an upstream feature listed in inputs (e.g. ffgroups)")
        resolved = _resolve_heading(p.heading_source, t0, c.orientation_col, self.name)
        mot0 = _motion(self, t0, resolved, None)
        if p.filter_expr or p.exclude_cols:
            # headings first, filters second: the heading columns travel with the rows
            work = df.with_columns(
                pl.Series("__ux", t0.to_input_order(mot0["ux"])),
                pl.Series("__uy", t0.to_input_order(mot0["uy"])),
            )
            work = filter_rows(work, p.filter_expr, p.exclude_cols, who=self.name)
            t = self.table(work)
            x, y = t.floats(c.x_col), t.floats(c.y_col)
            mot = {
                "finite": np.isfinite(x) & np.isfinite(y),
                "ux": np.ascontiguousarray(t.floats("__ux")),
                "uy": np.ascontiguousarray(t.floats("__uy")),
            }
        else:
            t = t0
            x, y = t.floats(c.x_col), t.floats(c.y_col)
            mot = mot0
        sub = _subgroup_codes(t, p.subgroup_col) if p.subgroup_col is not None else None
        groups = frame_groups(t, sub)
        active = np.ones(groups.n, dtype=np.bool_)
        if p.subgroup_col is not None and t.df[p.subgroup_col].dtype.is_numeric():
            vals = t.floats(p.subgroup_col)[groups.first]
            active = ~(vals < 0)
        radius = np.full(groups.n, float(p.radius))
        if p.radius_units == "body_scale" and groups.n:
            ents = group_keys(t, groups, [c.group_col, c.seq_col])
            g_col = ents[c.group_col] if c.group_col in ents.columns else [None] * groups.n
            s_col = ents[c.seq_col] if c.seq_col in ents.columns else [None] * groups.n
            cache: dict[tuple[Any, Any], float] = {}
            for i, key in enumerate(zip(g_col, s_col, strict=True)):
                if key not in cache:
                    cache[key] = self._radius(*key)
                radius[i] = cache[key]
        res = local_order(
            x, y, mot, groups.perm, groups.offsets, radius, active=active,
            n_shells=p.n_shells, n_peripheral=p.n_peripheral, min_neighbors=p.min_neighbors,
        )  # fmt: skip
        if p.subgroup_col is not None:
            # rows of no subgroup (null value) are in no group: the kernel never saw them
            unseen = np.ones(t.n, dtype=np.bool_)
            unseen[groups.perm] = False
            for name in ("n_local_neighbors", "n_local_headings", "shell_index", "shell_n"):
                res[name][unseen] = -1
            for v in res.values():
                if v.dtype.kind == "f":
                    v[unseen] = np.nan
        out: dict[str, Any] = {}
        if t.has(c.time_col):
            out[c.time_col] = t.df[c.time_col]
        if p.subgroup_col is not None:
            out[p.subgroup_col] = t.df[p.subgroup_col]
        out["local_heading_source"] = pl.Series([resolved] * t.n, dtype=pl.String)
        out["local_radius"] = res["local_radius"]
        out["heading_x"] = mot["ux"]
        out["heading_y"] = mot["uy"]
        out["n_local_neighbors"] = _ints(t, res["n_local_neighbors"], pl.Int32)
        out["n_local_headings"] = _ints(t, res["n_local_headings"], pl.Int32)
        for name in (
            "local_polarization",
            "local_heading_x",
            "local_heading_y",
            "dist_to_group_center",
            "radial_rotation_self",
            "local_rotation",
            "group_outer_radius",
        ):
            out[name] = res[name]
        out["shell_index"] = _ints(t, res["shell_index"], pl.Int16)
        out["shell_n"] = _ints(t, res["shell_n"], pl.Int32)
        out["shell_radial_rotation"] = res["shell_radial_rotation"]
        return t.output(out)


def _ints(t: TrackTable, values: np.ndarray, dtype: Any) -> pl.Series:
    return pl.Series(t.to_input_order(values)).cast(dtype)
