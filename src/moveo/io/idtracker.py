"""Reader for idtracker.ai trajectory files (``trajectories.npy``, ``trajectories_wo_gaps.npy``).

idtracker.ai saves its result with ``np.save`` of a dict (a pickle inside a
``.npy``): ``trajectories`` of shape (n_frames, n_individuals, 2) holding the
centroid x, y in pixels (NaN where an animal was not identified),
``frames_per_second``, ``body_length`` (pixels), ``version``, ``video_path``,
``setup_points`` and more; newer versions add ``id_probabilities``
(n_frames, n_individuals, 1) and ``areas`` (n_frames, n_individuals). Versions 4
and earlier write ``session_<name>/trajectories/trajectories.npy`` and
``session_<name>/trajectories_wo_gaps/trajectories_wo_gaps.npy``; version 5 writes
``session_<name>/trajectories/with_gaps.npy`` and ``without_gaps.npy``.

The pickle is loaded with an allow-list (:mod:`moveo.io._safe_npy`): arrays,
numbers, strings and containers only. moveo never runs code from a data file.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

import numpy as np
import polars as pl

from moveo.io._common import SourceInfo, pose_table, require_file
from moveo.io._safe_npy import load_npy
from moveo.schema import COLUMNS, POSE, Columns, validate_entry_name

__all__ = ["read_idtracker"]

_WHAT = "an idtracker.ai trajectories .npy (a dict with a 'trajectories' array)"


def _default_names(path: Path) -> tuple[str, str]:
    """(group, sequence) defaults: the ``session_<name>`` folder if there is one."""
    for parent in path.resolve().parents:
        if parent.name.startswith("session_") and len(parent.name) > len("session_"):
            return parent.parent.name or parent.name, parent.name[len("session_"):]
    return path.resolve().parent.name, path.stem


def _scalar(value: Any) -> float | None:
    try:
        arr = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    if arr.size != 1 or not np.isfinite(arr[0]):
        return None
    return float(arr[0])


def read_idtracker(
    path: str | Path,
    *,
    group: str | None = None,
    sequence: str | None = None,
    columns: Columns | None = None,
    return_info: bool = False,
) -> pl.DataFrame | tuple[pl.DataFrame, SourceInfo]:
    """Read an idtracker.ai ``trajectories.npy`` / ``trajectories_wo_gaps.npy``.

    Column ``i`` of ``trajectories`` is idtracker.ai's identity ``i + 1`` and
    becomes ``id`` ``i + 1`` (the numbers idtracker.ai's GUI shows; identities have
    no names, so there is no ``individual`` column). Every frame of every identity has a row;
    ``X``/``Y`` are the centroid in pixels, NaN where idtracker.ai lost the animal.
    ``id_probabilities`` become an ``id_probability`` column and ``areas`` an
    ``area`` column when the file has them.

    Parameters
    ----------
    path : str or Path
        The ``.npy`` file.
    group : str, optional
        Group name (default: the folder holding the ``session_<name>`` folder, else
        the file's folder).
    sequence : str, optional
        Sequence name (default: ``<name>`` of the ``session_<name>`` folder the file
        is in, else the file name without ``.npy``).
    columns : Columns, optional
        Output column names.
    return_info : bool, default False
        Also return a :class:`~moveo.io.SourceInfo`: ``fps`` from
        ``frames_per_second``, ``calibration["body_length"]`` (pixels) and
        ``extra`` with ``version``, ``video_path`` and the other scalar entries.

    Returns
    -------
    polars.DataFrame or (polars.DataFrame, SourceInfo)
        Columns group, sequence, id, frame, X, Y (+ id_probability,
        area); sorted by (id, frame).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a ``.npy``, a truncated or corrupt one, a pickle asking for anything but
        plain data, or no ``trajectories`` array of shape (n_frames, n_individuals, 2).
    """
    columns = columns or COLUMNS
    path = require_file(path, _WHAT)
    data = load_npy(path, what=_WHAT)
    if isinstance(data, np.ndarray) and data.dtype != object:
        raise ValueError(
            f"{path}: a plain {data.shape} array, not {_WHAT}; idtracker.ai saves a dict"
        )
    if not isinstance(data, dict):
        raise ValueError(f"{path}: holds a {type(data).__name__}, not {_WHAT}")
    if "trajectories" not in data:
        hint = ""
        if any(isinstance(v, dict) and any(isinstance(w, dict) and "keypoints" in w
                                           for w in v.values()) for v in data.values()):
            hint = " (it looks like CalMS21 data: use moveo.io.read_calms21)"
        raise ValueError(
            f"{path}: no 'trajectories' entry (keys {sorted(map(str, data))[:8]}); "
            f"{_WHAT} expected{hint}"
        )
    try:
        traj = np.asarray(data["trajectories"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: 'trajectories' is not numeric ({exc})") from exc
    if traj.ndim != 3 or traj.shape[2] != 2:
        raise ValueError(
            f"{path}: 'trajectories' has shape {traj.shape}; expected (n_frames, "
            "n_individuals, 2)"
        )
    n_frames, n_ind, _ = traj.shape
    if n_frames == 0 or n_ind == 0:
        raise ValueError(f"{path}: 'trajectories' is empty (shape {traj.shape})")
    traj = np.where(np.isfinite(traj), traj, np.nan)

    extra_cols: dict[str, np.ndarray] = {}
    for key, col, shapes in (
        ("id_probabilities", "id_probability", ((n_frames, n_ind, 1), (n_frames, n_ind))),
        ("areas", "area", ((n_frames, n_ind), (n_frames, n_ind, 1))),
    ):
        if data.get(key) is None:
            continue
        arr = np.asarray(data[key], dtype=np.float64)
        if arr.shape not in shapes:
            raise ValueError(
                f"{path}: '{key}' has shape {arr.shape}; expected {shapes[0]} to match "
                f"'trajectories' {traj.shape}"
            )
        extra_cols[col] = arr.reshape(n_frames, n_ind).T

    g_default, s_default = _default_names(path)
    group_name = validate_entry_name("group", group if group is not None else g_default)
    seq_name = validate_entry_name("sequence", sequence if sequence is not None else s_default)
    ids = np.arange(1, n_ind + 1)
    table = pose_table(
        np.arange(n_frames), traj[None, :, :, 0].transpose(0, 2, 1),
        traj[None, :, :, 1].transpose(0, 2, 1), None,
        ids=ids, names=None, group=group_name, sequence=seq_name,
        columns=columns, pose=POSE, with_keypoints=False, extra=extra_cols,
    )
    if not return_info:
        return table
    fps = _scalar(data.get("frames_per_second"))
    body_length = _scalar(data.get("body_length"))
    extra = {}
    for key, value in data.items():
        if key in ("frames_per_second", "body_length"):
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, PurePath):
            value = str(value)
        if isinstance(value, str | int | float | bool):
            extra[str(key)] = value
    info = SourceInfo(
        source_software="idtracker.ai",
        source_file=str(path),
        fps=fps,
        pose=None,
        individuals={int(i): str(i) for i in ids},
        calibration={} if body_length is None else {"body_length": body_length},
        extra=extra,
    )
    return table, info
