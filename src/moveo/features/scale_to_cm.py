"""Feature ``scale-to-cm``: pixels to centimetres, with the unit recorded on every column.

Tracks stay in pixels (what the camera measured); this feature derives a table
in centimetres, as mosaic-behavior 0.17's ``scale-to-cm`` does, with the same
parameters:

- ``mode="derive"`` (default): the key and bookkeeping columns plus every
  length-bearing column scaled, named ``<column><suffix>`` (``X_cm``, ...);
- ``mode="convert"``: the whole input with the length columns converted in
  place, under their own names: a track-shaped table in centimetres that any
  tracking feature can take as input (``speed-angvel`` on it reports cm/s).

Which columns carry a length: ``columns`` when given (every one is scaled),
otherwise mosaic's classification -- the base name (before a ``#``: TRex's
``X#wcentroid``) is one of X, Y, VX, VY, SPEED, SPEED_OLD, SPEED_SMOOTH,
ACCELERATION, ACCELERATION_SMOOTH, AX, AY, BORDER_DISTANCE, NEIGHBOR_DISTANCE,
segment_length, midline_segment_length, speed, vx, vy (or the dataset's X/Y
names), or it starts with the pose X/Y prefixes, ``bbox_`` or ``midline_``
(not ``midline_length``, not the confidence prefix) -- plus moveo's own length
outputs (``speed_step``, ``speed_smooth``, ``nn_dist``, ``nn_delta_x``,
``nn_delta_y``, their ``_ego`` versions, ``nn<k>_dist``). Angles, counts,
probabilities and identifiers are never scaled.

The scale, in this order of precedence:

1. ``cm_per_pixel`` (a parameter: part of the run id);
2. a ``cm_per_pixel`` column of the input (TRex writes one per frame), per row;
3. the dataset's metadata ``cm_per_pixel``: one number, or a mapping from
   ``"<group>/<sequence>"`` or ``"<group>"`` to numbers (the most specific
   wins), set with :func:`set_calibration` (e.g. from
   :func:`moveo.io.trex_metadata`);
4. the dataset's metadata ``body_length`` (pixels, as idtracker.ai reports it;
   same forms) with ``body_length_cm``: ``cm_per_pixel = body_length_cm /
   body_length``.

Without any of them the feature refuses (as mosaic does: assuming 1.0 would
silently be a scale). Unlike mosaic, the dataset's calibration *is* part of the
run id: recalibrating makes the run stale instead of serving the old output.

Units are explicit: every scaled column carries parquet field metadata
``{"unit": "cm", "scaled_from": "px", "cm_per_pixel": ..., "scale_source": ...}``
(``pyarrow.parquet.read_schema(path).field("X_cm").metadata``); per-second
columns (SPEED, VX, ...) are cm/s and accelerations cm/s² -- the factor is
the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from moveo.contract import Inputs, Params, Result, TrackInput
from moveo.features.base import BaseFeature

__all__ = ["LENGTH_NAMES", "ScaleToCm", "length_columns", "set_calibration"]

LENGTH_NAMES: frozenset[str] = frozenset(
    {
        # mosaic's length-bearing names (TRex output fields and speed-angvel's)
        "X",
        "Y",
        "VX",
        "VY",
        "SPEED",
        "SPEED_OLD",
        "SPEED_SMOOTH",
        "ACCELERATION",
        "ACCELERATION_SMOOTH",
        "AX",
        "AY",
        "BORDER_DISTANCE",
        "NEIGHBOR_DISTANCE",
        "segment_length",
        "midline_segment_length",
        "speed",
        "vx",
        "vy",
        # moveo's own length outputs
        "speed_step",
        "speed_smooth",
        "nn_dist",
        "nn_delta_x",
        "nn_delta_y",
        "nn_delta_x_ego",
        "nn_delta_y_ego",
    }
)
"""Base names (before ``#``) of the columns that carry a length."""

_LENGTH_PREFIXES = ("bbox_", "midline_")
_NOT_LENGTH_PREFIXES = ("midline_length",)
_NN_K = re.compile(r"^nn\d+_dist$")


def length_columns(
    names: list[str],
    *,
    x_col: str = "X",
    y_col: str = "Y",
    pose_prefixes: tuple[str, ...] = ("poseX", "poseY"),
    confidence_prefix: str = "poseP",
) -> list[str]:
    """Return the names in ``names`` that carry a length, in their order.

    Parameters
    ----------
    names : list of str
        Column names.
    x_col, y_col : str
        The dataset's position column names (lengths too).
    pose_prefixes : tuple of str
        Prefixes of the pose X/Y keypoint columns.
    confidence_prefix : str
        Prefix of keypoint confidences (never lengths).

    Returns
    -------
    list of str
    """
    out = []
    prefixes = (*pose_prefixes, *_LENGTH_PREFIXES)
    for name in names:
        base = name.split("#", 1)[0]
        if name.startswith((*_NOT_LENGTH_PREFIXES, confidence_prefix)):
            continue
        named = base in LENGTH_NAMES or base in (x_col, y_col) or _NN_K.match(base)
        if named or name.startswith(prefixes):
            out.append(name)
    return out


def _lookup(value: Any, group: str, sequence: str) -> float | None:
    # a number for every entry, or {"group/sequence": v, "group": v}
    if value is None:
        return None
    if isinstance(value, Mapping):
        for key in (f"{group}/{sequence}", group):
            if key in value:
                return _lookup(value[key], group, sequence)
        return None
    return float(value)


def set_calibration(
    ds: Any,
    cm_per_pixel: float,
    *,
    group: str | None = None,
    sequence: str | None = None,
    key: str = "cm_per_pixel",
) -> None:
    """Record a scale in the dataset's metadata, for every entry or one group / entry.

    Parameters
    ----------
    ds : moveo.Dataset
        The dataset.
    cm_per_pixel : float
        Centimetres per pixel (> 0); with ``key="body_length"``, the body length
        in pixels (idtracker.ai's ``body_length``).
    group, sequence : str, optional
        Restrict to a group, or one entry (``sequence`` needs ``group``).
    key : {"cm_per_pixel", "body_length"}
        Which calibration to record.

    Examples
    --------
    >>> import tempfile
    >>> from moveo import Dataset
    >>> ds = Dataset.create(tempfile.mkdtemp() + "/ds", fps=30.0)
    >>> set_calibration(ds, 0.05)
    >>> set_calibration(ds, 0.04, group="rig2")
    >>> ds.meta["cm_per_pixel"]
    {'*': 0.05, 'rig2': 0.04}
    """
    if key not in ("cm_per_pixel", "body_length"):
        raise ValueError(f"key must be 'cm_per_pixel' or 'body_length', got {key!r}")
    value = float(cm_per_pixel)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"set_calibration: {key} must be a positive number, got {cm_per_pixel!r}")
    if sequence is not None and group is None:
        raise ValueError("set_calibration: sequence= needs group=")
    where = "*" if group is None else (group if sequence is None else f"{group}/{sequence}")
    current = ds.meta.get(key)
    table = dict(current) if isinstance(current, Mapping) else {}
    if current is not None and not isinstance(current, Mapping):
        table["*"] = float(current)
    if where == "*":
        table = {k: v for k, v in table.items() if k != "*"}
        table = {"*": value, **table}
    else:
        table[where] = value
    ds.update_meta(**{key: table})


class ScaleToCm(BaseFeature):
    """Convert the length-bearing columns from pixels to centimetres (see the module).

    Parameters
    ----------
    params : dict or ScaleToCm.Params, optional
    inputs : Inputs, optional
        Default: the tracks; any track-shaped or feature output works.
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 0], "frame": [0, 1], "X": [10.0, 20.0],
    ...                    "Y": [0.0, 5.0], "ANGLE": [0.1, 0.2]})
    >>> ScaleToCm({"cm_per_pixel": 0.1}).apply(df).columns
    ['id', 'frame', 'X_cm', 'Y_cm']
    >>> ScaleToCm({"cm_per_pixel": 0.1, "mode": "convert"}).apply(df)["X"].to_list()
    [1.0, 2.0]
    """

    name: ClassVar[str] = "scale-to-cm"
    version: ClassVar[str] = "0.1"
    dataset_meta_keys: ClassVar[tuple[str, ...]] = ("cm_per_pixel", "body_length")

    class Params(Params):
        """Parameters of :class:`ScaleToCm` (mosaic's, plus ``body_length_cm``).

        Attributes
        ----------
        cm_per_pixel : float or None
            The scale; ``None``: read it from the data (see the module docstring).
        mode : {"derive", "convert"}
            Scaled columns under new names, or the whole table converted in place.
        suffix : str
            Appended to scaled names in ``derive`` mode; ``convert`` refuses a
            non-default one.
        columns : list of str or None
            Exactly these columns are scaled; ``None``: the length-bearing ones.
        body_length_cm : float or None
            moveo only: the animals' body length in cm, to scale by the
            dataset's ``body_length`` metadata (pixels, idtracker.ai).
        """

        cm_per_pixel: float | None = Field(default=None, gt=0, allow_inf_nan=False)
        mode: Literal["derive", "convert"] = "derive"
        suffix: str = "_cm"
        columns: list[str] | None = Field(default=None, min_length=1)
        body_length_cm: float | None = Field(default=None, gt=0, allow_inf_nan=False)

        @model_validator(mode="after")
        def _convert_has_no_suffix(self) -> ScaleToCm.Params:
            if self.mode == "convert" and self.suffix != "_cm":
                raise ValueError("mode='convert' keeps every column's own name; it takes no suffix")
            return self

    class Inputs(Inputs[TrackInput | Result]):
        """The tracks or an upstream output."""

    def __init__(self, params: Any = None, inputs: Any = None, **kwargs: Any) -> None:
        super().__init__(params, inputs, **kwargs)
        # the scale each entry used, for its column metadata (keyed by entry, so
        # entries applied in parallel threads do not overwrite each other)
        self._used: dict[tuple[str | None, str | None], tuple[str, str]] = {}

    def _key(self, df: pl.DataFrame) -> tuple[str | None, str | None]:
        c = self.columns
        if df.height == 0:
            return None, None
        g = str(df[c.group_col][0]) if c.group_col in df.columns else None
        s = str(df[c.seq_col][0]) if c.seq_col in df.columns else None
        return g, s

    def _targets(self, df: pl.DataFrame) -> list[str]:
        p = self.params
        if p.columns is not None:
            missing = [c for c in p.columns if c not in df.columns]
            if missing:
                raise ValueError(
                    f"{self.name}: input has no column(s) {missing} (columns: {df.columns})"
                )
            bad = [c for c in p.columns if not df.schema[c].is_numeric()]
            if bad:
                raise TypeError(f"{self.name}: column(s) {bad} are not numeric")
            return list(p.columns)
        c = self.columns
        keys = set(c.meta_set())
        names = [n for n, t in df.schema.items() if n not in keys and t.is_numeric()]
        names = [n for n in names if n != "cm_per_pixel"]
        return length_columns(
            names,
            x_col=c.x_col,
            y_col=c.y_col,
            pose_prefixes=(self.pose.x_prefix, self.pose.y_prefix),
            confidence_prefix=self.pose.confidence_prefix,
        )

    def _entry(self, df: pl.DataFrame) -> tuple[str, str]:
        c = self.columns
        if c.group_col not in df.columns or c.seq_col not in df.columns or df.height == 0:
            raise ValueError(
                f"{self.name}: the input has no {c.group_col!r}/{c.seq_col!r} columns, so the "
                "dataset's calibration cannot be looked up; pass cm_per_pixel="
            )
        g = df[c.group_col]
        s = df[c.seq_col]
        if g.n_unique() > 1 or s.n_unique() > 1:
            raise ValueError(f"{self.name}: one entry at a time (several groups/sequences given)")
        return str(g[0]), str(s[0])

    def scale(self, df: pl.DataFrame) -> tuple[float | np.ndarray, str]:
        """Return the scale for ``df`` and where it came from.

        Returns
        -------
        tuple
            ``(cm_per_pixel, source)``: a float (or a float64 array of shape
            (n,) from a ``cm_per_pixel`` column) and one of ``"param"``,
            ``"column"``, ``"dataset"``, ``"body_length"``.

        Raises
        ------
        ValueError
            No scale anywhere, or a non-positive one.
        """
        p = self.params
        if p.cm_per_pixel is not None:
            return float(p.cm_per_pixel), "param"
        if "cm_per_pixel" in df.columns:
            col = df["cm_per_pixel"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            finite = col[np.isfinite(col)]
            if finite.size and np.all(finite > 0):
                return col, "column"
            raise ValueError(
                f"{self.name}: the input's cm_per_pixel column has no positive values; "
                "pass cm_per_pixel="
            )
        group, sequence = self._entry(df)
        value = _lookup(self.dataset_meta.get("cm_per_pixel"), group, sequence)
        if value is None:
            value = _lookup(self.dataset_meta.get("cm_per_pixel"), "*", "")
        source = "dataset"
        if value is None:
            body = _lookup(self.dataset_meta.get("body_length"), group, sequence)
            if body is None:
                body = _lookup(self.dataset_meta.get("body_length"), "*", "")
            if body is not None:
                if p.body_length_cm is None:
                    raise ValueError(
                        f"{self.name}: the dataset records body_length={body} px for "
                        f"({group!r}, {sequence!r}) (idtracker.ai); pass body_length_cm= "
                        "(the animals' length in cm) to scale by it, or cm_per_pixel="
                    )
                value, source = p.body_length_cm / body, "body_length"
        if value is None:
            raise ValueError(
                f"{self.name}: no scale for (group={group!r}, sequence={sequence!r}): pass "
                "cm_per_pixel=, add a cm_per_pixel column, or record it with "
                "moveo.features.scale_to_cm.set_calibration(ds, ...). Assuming 1.0 would "
                "silently be a scale"
            )
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{self.name}: the recorded scale {value!r} is not positive")
        return float(value), source

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Scale one entry.

        Returns
        -------
        polars.DataFrame
            ``derive``: key and bookkeeping columns, then ``<column><suffix>``
            (Float64); ``convert``: the input with the length columns in cm.
            One row per input row, in input order.
        """
        p = self.params
        if not isinstance(df, pl.DataFrame):
            raise TypeError(f"{self.name}: apply expects a polars DataFrame")
        targets = self._targets(df)
        factor, source = self.scale(df)
        per_row = np.ndim(factor) != 0
        self._used[self._key(df)] = (
            "per row (cm_per_pixel column)" if per_row else repr(float(factor)),
            source,
        )
        mult = pl.Series(factor) if per_row else pl.lit(float(factor))
        if p.mode == "convert":
            return df.with_columns((pl.col(t).cast(pl.Float64) * mult).alias(t) for t in targets)
        c = self.columns
        keys = [k for k in c.key_cols() if k in df.columns]
        extra = [n for n in df.columns if n in c.meta_set() and n not in keys]
        return df.select(
            *keys,
            *extra,
            *[(pl.col(t).cast(pl.Float64) * mult).alias(f"{t}{p.suffix}") for t in targets],
        )

    def column_metadata(self, out: pl.DataFrame) -> dict[str, dict[str, str]]:
        """Record the unit and the scale used on every scaled column of ``out``.

        Parameters
        ----------
        out : polars.DataFrame
            What :meth:`apply` returned.

        Returns
        -------
        dict
            ``{column: {"unit": "cm", "scaled_from": "px", "cm_per_pixel": ...,
            "scale_source": ...}}``.
        """
        p = self.params
        factor, source = self._used.get(self._key(out), ("unknown", "unknown"))
        info = {"unit": "cm", "scaled_from": "px", "cm_per_pixel": factor, "scale_source": source}
        if p.mode == "convert":
            names = self._targets(out)
        else:
            meta = self.columns.meta_set()
            names = [n for n in out.columns if n not in meta]
        return {n: dict(info) for n in names}
