"""Reader for DeepLabCut CSV outputs (single- and multi-animal)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import polars as pl

from moveo.schema import COLUMNS, POSE, Columns, PoseConfig, validate_entry_name

__all__ = ["dlc_pose_config", "read_dlc_csv"]


def _read_header(path: Path) -> tuple[list[list[str]], int]:
    """Return the header rows (without the index column) and their count."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        rows = []
        for row in reader:
            rows.append(row)
            if row and row[0].strip().lower() == "coords":
                break
            if len(rows) > 4:
                break
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    names = [r[0].strip().lower() for r in rows if r]
    if names[:1] != ["scorer"] or "bodyparts" not in names or "coords" not in names:
        raise ValueError(
            f"{path}: not a DeepLabCut CSV (expected header rows scorer/[individuals/]"
            f"bodyparts/coords, found {names[:4]})"
        )
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError(f"{path}: header rows have different lengths")
    return rows, len(rows)


def _layout(path: Path) -> tuple[list[str], list[str], list[tuple[str, str, str]]]:
    """Return (individuals, bodyparts, per-column (individual, bodypart, coord))."""
    rows, _ = _read_header(path)
    by_name = {r[0].strip().lower(): r[1:] for r in rows}
    bodyparts = by_name["bodyparts"]
    coords = by_name["coords"]
    individuals = by_name.get("individuals", ["animal0"] * len(bodyparts))
    cols = list(zip(individuals, bodyparts, coords, strict=True))
    for ind, bp, co in cols:
        if co not in ("x", "y", "likelihood"):
            raise ValueError(f"{path}: unknown coordinate {co!r} for {ind}/{bp}")
    ind_order = list(dict.fromkeys(individuals))
    bp_order = list(dict.fromkeys(bodyparts))
    return ind_order, bp_order, cols


def dlc_pose_config(path: str | Path) -> PoseConfig:
    """Build the :class:`~moveo.schema.PoseConfig` matching a DeepLabCut CSV.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    PoseConfig
        ``pose_n`` = number of distinct body parts, ``keypoint_names`` = their names
        in file order (keypoint ``k`` is ``poseX{k}``/``poseY{k}``).
    """
    _, bodyparts, _ = _layout(Path(path))
    return PoseConfig(pose_n=len(bodyparts), keypoint_names=bodyparts)


def read_dlc_csv(
    path: str | Path,
    *,
    group: str | None = None,
    sequence: str | None = None,
    likelihood_threshold: float | None = None,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
) -> pl.DataFrame:
    """Read a DeepLabCut CSV (multi-row header) into moveo's canonical long table.

    Every individual becomes an integer ``id`` (0, 1, ... in header order) with its
    name kept in an ``individual`` column. Body part ``k`` (in header order) becomes
    ``poseX{k}``, ``poseY{k}``, ``poseP{k}`` (likelihood). ``X``/``Y`` are the mean of
    the finite keypoints (NaN when none is finite).

    Parameters
    ----------
    path : str or Path
        The CSV file (single-animal: scorer/bodyparts/coords header; multi-animal:
        scorer/individuals/bodyparts/coords).
    group : str, optional
        Group name (default: the file's folder name).
    sequence : str, optional
        Sequence name (default: the file name up to the first ``DLC`` marker).
    likelihood_threshold : float, optional
        Keypoints with likelihood below this become NaN.
    columns : Columns, optional
        Output column names.
    pose : PoseConfig, optional
        Output pose column prefixes.

    Returns
    -------
    polars.DataFrame
        Columns group, sequence, id, individual, frame, X, Y, pose columns; sorted by
        (id, frame).

    Raises
    ------
    ValueError
        Not a DLC CSV, an empty file, or non-numeric values.
    """
    columns = columns or COLUMNS
    pose = pose or POSE
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    individuals, bodyparts, cols = _layout(path)
    _, n_header = _read_header(path)
    try:
        raw = pl.read_csv(path, has_header=False, skip_rows=n_header, infer_schema=False)
    except pl.exceptions.NoDataError:
        raw = pl.DataFrame()
    if raw.height == 0:
        raise ValueError(f"{path}: the file has a header but no data rows")
    if raw.width != len(cols) + 1:
        raise ValueError(f"{path}: data rows have {raw.width} fields, header has {len(cols) + 1}")
    index = raw[:, 0]
    as_int = index.cast(pl.Int64, strict=False)
    frames = (
        as_int.to_numpy()
        if as_int.null_count() == 0
        else np.arange(raw.height, dtype=np.int64)  # image-path index: use row order
    )
    try:
        values = np.column_stack(
            [raw[:, j + 1].cast(pl.Float64, strict=True).to_numpy() for j in range(len(cols))]
        )
    except pl.exceptions.InvalidOperationError as exc:
        raise ValueError(f"{path}: non-numeric values in coordinate columns ({exc})") from exc
    values = np.where(np.isfinite(values), values, np.nan)

    group_name = validate_entry_name("group", group if group is not None else path.parent.name)
    seq_default = path.stem.split("DLC")[0].rstrip("_-") or path.stem
    seq_name = validate_entry_name("sequence", sequence if sequence is not None else seq_default)

    n = raw.height
    parts = []
    for ident, ind in enumerate(individuals):
        xs = np.full((n, len(bodyparts)), np.nan)
        ys = np.full((n, len(bodyparts)), np.nan)
        ps = np.full((n, len(bodyparts)), np.nan)
        for j, (ci, bp, co) in enumerate(cols):
            if ci != ind:
                continue
            k = bodyparts.index(bp)
            {"x": xs, "y": ys, "likelihood": ps}[co][:, k] = values[:, j]
        if likelihood_threshold is not None:
            low = ~(ps >= likelihood_threshold)
            xs[low] = np.nan
            ys[low] = np.nan
        finite = np.isfinite(xs) & np.isfinite(ys)
        count = finite.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cx = np.where(count > 0, np.where(finite, xs, 0.0).sum(axis=1) / count, np.nan)
            cy = np.where(count > 0, np.where(finite, ys, 0.0).sum(axis=1) / count, np.nan)
        data = {
            columns.group_col: [group_name] * n,
            columns.seq_col: [seq_name] * n,
            columns.id_col: np.full(n, ident, dtype=np.int64),
            "individual": [ind] * n,
            columns.frame_col: frames,
            columns.x_col: cx,
            columns.y_col: cy,
        }
        for k in range(len(bodyparts)):
            data[f"{pose.x_prefix}{k}"] = xs[:, k]
            data[f"{pose.y_prefix}{k}"] = ys[:, k]
            data[f"{pose.confidence_prefix}{k}"] = ps[:, k]
        parts.append(pl.DataFrame(data))
    return pl.concat(parts).sort([columns.id_col, columns.frame_col], maintain_order=True)
