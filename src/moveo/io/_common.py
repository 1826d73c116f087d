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
    keypoint names, and store the rest in the manifest::

        tracks, info = read_sleap("session1.slp", return_info=True)
        ds = Dataset.create("ds", fps=info.fps, pose=info.pose)
        ds.add_tracks(tracks)
        ds.update_meta(sources=[info.to_meta()])

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


def centroid(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the finite keypoints along the last axis (NaN where none is finite).

    A keypoint counts only when both its x and y are finite.
    """
    n_kp = xs.shape[-1]
    if n_kp == 1:  # one point: it is the centroid where both coordinates are finite
        x, y = xs[..., 0], ys[..., 0]
        ok = np.isfinite(x) & np.isfinite(y)
        return np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    # one pass per keypoint over (rows,) slices, accumulating in place: much faster than
    # reducing a short last axis; same numbers as sum(finite x) / count(finite)
    sx = np.zeros(xs.shape[:-1])
    sy = np.zeros(xs.shape[:-1])
    count = np.zeros(xs.shape[:-1])
    ok = np.empty(xs.shape[:-1], dtype=bool)
    for k in range(n_kp):
        x, y = xs[..., k], ys[..., k]
        np.isfinite(x, out=ok)
        ok &= np.isfinite(y)
        np.add(sx, x, out=sx, where=ok)
        np.add(sy, y, out=sy, where=ok)
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
    """Build the long table of one entry from dense arrays.

    Parameters
    ----------
    frames : array of shape (n_frames,)
        Frame numbers (integers).
    xs, ys : arrays of shape (n_frames, n_individuals, n_keypoints)
        Keypoint coordinates (NaN where missing).
    ps : array of shape (n_frames, n_individuals, n_keypoints) or None
        Keypoint confidences.
    ids : array of shape (n_individuals,)
        Integer id of each individual.
    names : list of str or None
        Name of each individual (the ``individual`` column; None: no such column).
    group, sequence : str or None
        Constant group / sequence columns (omitted when None).
    columns, pose : Columns, PoseConfig
        Output names.
    with_keypoints : bool
        Write pose columns (False: only the centroid X/Y, for one-point formats).
    extra : dict of str to array of shape (n_frames, n_individuals), optional
        More per-row columns.

    Returns
    -------
    polars.DataFrame
        Sorted by (id, frame): group, sequence, id, individual, frame, X, Y, pose
        columns, extra columns.
    """
    n_frames, n_ind, n_kp = xs.shape
    cx, cy = centroid(xs, ys)  # (n_frames, n_ind)

    def flat(a: np.ndarray) -> np.ndarray:
        # (n_frames, n_ind[, ...]) -> individual-major rows, i.e. sorted by (id, frame)
        return np.ascontiguousarray(np.swapaxes(a, 0, 1)).reshape((n_ind * n_frames, *a.shape[2:]))

    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    if np.any(order != np.arange(n_ind)):
        ids = ids[order]
        names = None if names is None else [names[i] for i in order]
        xs, ys, cx, cy = xs[:, order], ys[:, order], cx[:, order], cy[:, order]
        ps = None if ps is None else ps[:, order]
        extra = {name: arr[:, order] for name, arr in (extra or {}).items()}
    data: dict[str, Any] = {}
    data[columns.id_col] = np.repeat(ids, n_frames)
    if names is not None:
        data["individual"] = pl.Series("individual", names, pl.String).gather(
            np.repeat(np.arange(n_ind), n_frames)
        )
    data[columns.frame_col] = np.tile(np.asarray(frames, dtype=np.int64), n_ind)
    data[columns.x_col] = flat(cx).astype(np.float64, copy=False)
    data[columns.y_col] = flat(cy).astype(np.float64, copy=False)
    if with_keypoints:

        def by_keypoint(a: np.ndarray) -> np.ndarray:
            # (n_frames, n_ind, n_kp) -> (n_kp, rows): one copy, each keypoint contiguous
            return np.ascontiguousarray(np.transpose(a, (2, 1, 0)), dtype=np.float64).reshape(
                n_kp, n_ind * n_frames
            )

        fx, fy = by_keypoint(xs), by_keypoint(ys)
        fp = None if ps is None else by_keypoint(ps)
        for k in range(n_kp):
            data[f"{pose.x_prefix}{k}"] = fx[k]
            data[f"{pose.y_prefix}{k}"] = fy[k]
            if fp is not None:
                data[f"{pose.confidence_prefix}{k}"] = fp[k]
    for name, arr in (extra or {}).items():
        data[name] = flat(arr)
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
