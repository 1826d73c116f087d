"""Reader for Lightning Pose prediction ``.csv`` files.

Lightning Pose (``litpose predict`` / ``predict_new_vids``) writes one csv per
video in DeepLabCut's single-animal layout: three header rows ``scorer``
(the model, e.g. ``heatmap_tracker``), ``bodyparts`` and ``coords`` (``x``,
``y``, ``likelihood``), then one row per frame indexed by the frame number.
Ensemble / Kalman-smoother outputs add more coords per body part (such as
``x_ens_median`` or ``x_posterior_var``); those are kept as extra columns.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from moveo.io._common import SourceInfo
from moveo.io.dlc import _read_dlc_like
from moveo.schema import Columns, PoseConfig

__all__ = ["read_lightning_pose"]


def read_lightning_pose(
    path: str | Path,
    *,
    group: str | None = None,
    sequence: str | None = None,
    likelihood_threshold: float | None = None,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
    return_info: bool = False,
) -> pl.DataFrame | tuple[pl.DataFrame, SourceInfo]:
    """Read a Lightning Pose prediction csv into moveo's long table.

    The table is built as by :func:`moveo.io.read_dlc`: id 0 (individual
    ``"animal0"``; a multi-animal header with an ``individuals`` row is read too),
    body part ``k`` -> ``poseX{k}``/``poseY{k}``/``poseP{k}`` (likelihood), ``X``/``Y``
    the mean of the finite keypoints, pixels kept. Any coord other than
    ``x``/``y``/``likelihood`` (ensemble variances, posterior variances) becomes a
    column ``{coord}{k}``, e.g. ``x_ens_var0``.

    Parameters
    ----------
    path : str or Path
        The prediction ``.csv``.
    group : str, optional
        Group name (default: the file's folder name).
    sequence : str, optional
        Sequence name (default: the file name without ``.csv`` and without a
        trailing ``_predictions`` / ``_pred``).
    likelihood_threshold : float, optional
        Keypoints with likelihood below this (or NaN) become NaN positions.
    columns : Columns, optional
        Output column names.
    pose : PoseConfig, optional
        Output pose column prefixes.
    return_info : bool, default False
        Also return a :class:`~moveo.io.SourceInfo` (keypoint names; the csv has no
        frame rate, so ``fps`` is None; ``extra["scorer"]`` is the model name).

    Returns
    -------
    polars.DataFrame or (polars.DataFrame, SourceInfo)
        Columns group, sequence, id, individual, frame, X, Y, pose columns, extra
        coord columns; sorted by (id, frame).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a DLC-layout csv, an empty, truncated or corrupt file, non-numeric values.
    """
    table, info = _read_dlc_like(
        path,
        tool="LightningPose",
        group=group,
        sequence=sequence,
        likelihood_threshold=likelihood_threshold,
        columns=columns,
        pose=pose,
        strip=("_predictions.csv", "_pred.csv", ".csv"),
    )
    return (table, info) if return_info else table
