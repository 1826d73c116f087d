"""Shared pieces of the readers: what a source file says about itself, and the long table.

Every reader builds its output with :func:`pose_table` (dense formats: one row per
individual and frame) or from its own rows, so all of them agree on column order,
dtypes and the centroid rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from moveo.schema import Columns, PoseConfig

__all__ = ["SourceInfo"]


@dataclass(frozen=True)
class SourceInfo:
    """What a tracking file says about its recording (returned with ``return_info=True``).

    Readers return the tracks table that :meth:`moveo.Dataset.add_tracks` takes; the
    table cannot carry file-level facts, so ``read_*(..., return_info=True)`` also
    returns one of these. Use it to create the dataset with the right frame rate and
    keypoint names, and store it with the entry (``ds.entry_meta(group, sequence)``
    reads it back; a calibration change then makes features computed from the entry
    stale)::

        tracks, info = read_sleap("session1.slp", return_info=True)
        ds = Dataset.create("ds", fps=info.fps, pose=info.pose)
        ds.add_tracks(tracks, meta=info)

    Attributes
    ----------
    source_software : str
        The tool that wrote the file (``"SLEAP"``, ``"DeepLabCut"``,
        ``"LightningPose"``, ``"idtracker.ai"``, ``"CalMS21"``, ``"TRex"``,
        ``"movement"``).
    source_file : str
        The file read.
    fps : float or None
        Frames per second when the file records it, else None.
    pose : PoseConfig or None
        Keypoint count and names in column order (keypoint ``k`` is ``poseX{k}``,
        ``poseY{k}``, ``poseP{k}``); None for formats without keypoints.
    individuals : dict of int to str
        The file's name of each ``id`` (track names, DLC individuals, ...).
    units : str
        Unit of the coordinates. Readers never rescale: this is the file's unit
        (``"pixels"`` for every format read here).
    calibration : dict of str to float
        Scale facts the file records (e.g. idtracker.ai ``body_length`` in pixels,
        TRex ``cm_per_pixel``); empty when it records none.
    extra : dict
        Other format-specific facts (skeleton edges, video paths, versions).
    """

    source_software: str
    source_file: str
    fps: float | None = None
    pose: PoseConfig | None = None
    individuals: dict[int, str] = field(default_factory=dict)
    units: str = "pixels"
    calibration: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_meta(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (for :meth:`moveo.Dataset.update_meta`).

        Returns
        -------
        dict
            Every attribute; ``pose`` as its ``model_dump()``, individual ids as
            string keys (JSON object keys are strings).
        """
        out = {
            "source_software": self.source_software,
            "source_file": self.source_file,
            "fps": self.fps,
            "pose": None if self.pose is None else self.pose.model_dump(),
            "individuals": {str(k): v for k, v in self.individuals.items()},
            "units": self.units,
            "calibration": dict(self.calibration),
            "extra": self.extra,
        }
        return json.loads(json.dumps(out, default=str))


def require_file(path: str | Path, what: str) -> Path:
    """Return ``path`` as a Path, or raise if it is not an existing, non-empty file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file ({what} expected)")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a file ({what} expected)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty ({what} expected)")
    return path


def centroid(
    xs: np.ndarray, ys: np.ndarray, axis: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the finite keypoints along ``axis`` (NaN where none is finite).

    A keypoint counts only when both its x and y are finite.
    """
    xs, ys = np.moveaxis(xs, axis, 0), np.moveaxis(ys, axis, 0)
    n_kp = xs.shape[0]
    if n_kp == 1:  # one point: it is the centroid where both coordinates are finite
        ok = np.isfinite(xs[0]) & np.isfinite(ys[0])
        return np.where(ok, xs[0], np.nan), np.where(ok, ys[0], np.nan)
    # one pass per keypoint, accumulating in place: much faster than reducing a short
    # axis; same numbers as sum(finite x) / count(finite)
    sx = np.zeros(xs.shape[1:])
    sy = np.zeros(xs.shape[1:])
    count = np.zeros(xs.shape[1:])
    ok = np.empty(xs.shape[1:], dtype=bool)
    for k in range(n_kp):
        np.isfinite(xs[k], out=ok)
        ok &= np.isfinite(ys[k])
        np.add(sx, xs[k], out=sx, where=ok)
        np.add(sy, ys[k], out=sy, where=ok)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.divide(sx, count, out=sx)
        cy = np.divide(sy, count, out=sy)
    empty = count == 0
    cx[empty] = np.nan
    cy[empty] = np.nan
    return cx, cy


def pose_table(
    frames: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    ps: np.ndarray | None,
    *,
    ids: np.ndarray,
    names: list[str] | None,
    group: str | None,
    sequence: str | None,
    columns: Columns,
    pose: PoseConfig,
    with_keypoints: bool = True,
    extra: dict[str, np.ndarray] | None = None,
) -> pl.DataFrame:
    """Build the long table of one entry from dense keypoint-major arrays.

    Parameters
    ----------
    frames : array of shape (n_frames,)
        Frame numbers (integers).
    xs, ys : arrays of shape (n_keypoints, n_individuals, n_frames)
        Keypoint coordinates (NaN where missing). Keypoint-major so that each output
        column is one contiguous slice (``xs[k].reshape(-1)``, no copy when ``xs`` is
        C-contiguous).
    ps : array of shape (n_keypoints, n_individuals, n_frames) or None
        Keypoint confidences.
    ids : array of shape (n_individuals,)
        Integer id of each individual, ascending.
    names : list of str or None
        Name of each individual (the ``individual`` column; None: no such column).
    group, sequence : str or None
        Constant group / sequence columns (omitted when None).
    columns, pose : Columns, PoseConfig
        Output names.
    with_keypoints : bool
        Write pose columns (False: only the centroid X/Y, for one-point formats).
    extra : dict of str to array of shape (n_individuals, n_frames), optional
        More per-row columns.

    Returns
    -------
    polars.DataFrame
        Sorted by (id, frame): group, sequence, id, individual, frame, X, Y, pose
        columns, extra columns.
    """
    n_kp, n_ind, n_frames = xs.shape
    ids = np.asarray(ids, dtype=np.int64)
    if n_ind > 1 and np.any(np.diff(ids) <= 0):
        raise ValueError(f"pose_table: ids must be strictly ascending, got {ids.tolist()}")
    n_rows = n_ind * n_frames
    cx, cy = centroid(xs, ys, axis=0)  # (n_ind, n_frames)
    data: dict[str, Any] = {columns.id_col: np.repeat(ids, n_frames)}
    if names is not None:
        data["individual"] = pl.Series("individual", names, pl.String).gather(
            np.repeat(np.arange(n_ind), n_frames)
        )
    data[columns.frame_col] = np.tile(np.asarray(frames, dtype=np.int64), n_ind)
    data[columns.x_col] = cx.reshape(n_rows)
    data[columns.y_col] = cy.reshape(n_rows)
    if with_keypoints:
        for k in range(n_kp):
            data[f"{pose.x_prefix}{k}"] = np.asarray(xs[k], dtype=np.float64).reshape(n_rows)
            data[f"{pose.y_prefix}{k}"] = np.asarray(ys[k], dtype=np.float64).reshape(n_rows)
            if ps is not None:
                data[f"{pose.confidence_prefix}{k}"] = np.asarray(
                    ps[k], dtype=np.float64
                ).reshape(n_rows)
    for name, arr in (extra or {}).items():
        data[name] = np.asarray(arr).reshape(n_rows)
    return with_entry_names(pl.DataFrame(data), group, sequence, columns)


def with_entry_names(
    df: pl.DataFrame, group: str | None, sequence: str | None, columns: Columns
) -> pl.DataFrame:
    """Add constant group / sequence columns (when given) in front of ``df``."""
    lead = []
    if group is not None:
        lead.append(pl.lit(group, dtype=pl.String).alias(columns.group_col))
    if sequence is not None:
        lead.append(pl.lit(sequence, dtype=pl.String).alias(columns.seq_col))
    if not lead:
        return df
    return df.select(*lead, pl.all())


def entry_name_from(path: Path, strip: tuple[str, ...] = ()) -> str:
    """Return a file's name without any of the ``strip`` suffixes (``x.analysis.h5`` -> ``x``)."""
    name = path.name
    for suffix in sorted(strip, key=len, reverse=True):
        if name.lower().endswith(suffix.lower()) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem
