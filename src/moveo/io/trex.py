"""Reader for TRex ``.npz`` exports (one file per individual)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from moveo.io._common import SourceInfo
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig, validate_entry_name

__all__ = ["read_trex", "trex_metadata"]

_ID_RE = re.compile(r"^(?P<prefix>.*?)(?P<id>\d+)$")


def _npz_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.npz") if not p.name.startswith("."))
        if not files:
            raise FileNotFoundError(f"{path}: no .npz files found in this folder")
        return files
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    return [path]


def _split_name(stem: str) -> tuple[str, int | None]:
    """Split ``"video_fish12"`` into (``"video"``, 12)."""
    m = _ID_RE.match(stem)
    if not m:
        return stem, None
    prefix = m.group("prefix").rstrip("_-. ")
    # drop a trailing individual word such as "fish" / "id" / "animal"
    prefix = re.sub(r"[_\-. ]?[A-Za-z]+$", "", prefix) if prefix else prefix
    return prefix, int(m.group("id"))


def _scalar(npz: Any, key: str) -> float | None:
    if key not in npz.files:
        return None
    value = np.asarray(npz[key]).ravel()
    return float(value[0]) if value.size else None


def trex_metadata(path: str | Path) -> dict[str, float | None]:
    """Read ``frame_rate`` and ``cm_per_pixel`` from a TRex export.

    Parameters
    ----------
    path : str or Path
        One ``.npz`` file or a folder of them (the first file is read).

    Returns
    -------
    dict
        ``{"frame_rate": float | None, "cm_per_pixel": float | None}``.
    """
    first = _npz_files(Path(path))[0]
    with np.load(first, allow_pickle=False) as npz:
        return {
            "frame_rate": _scalar(npz, "frame_rate"),
            "cm_per_pixel": _scalar(npz, "cm_per_pixel"),
        }


def _read_one(
    file: Path, ident: int, columns: Columns, pose: PoseConfig, with_pose: bool
) -> pl.DataFrame:
    try:
        npz = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file}: not a readable .npz file ({exc})") from exc
    with npz:
        keys = set(npz.files)
        if not keys:
            raise ValueError(f"{file}: the file is empty (no arrays)")
        if "frame" not in keys:
            raise ValueError(
                f"{file}: no frame information (expected a 'frame' array); re-export from "
                "TRex with the 'frame' output field enabled"
            )
        frame = np.asarray(npz["frame"], dtype=np.float64).ravel()
        n = frame.size
        if n == 0:
            raise ValueError(f"{file}: the file is empty ('frame' has no rows)")
        if not np.all(np.isfinite(frame)):
            raise ValueError(f"{file}: 'frame' contains non-finite values")

        def column(key: str) -> np.ndarray:
            arr = np.asarray(npz[key], dtype=np.float64).ravel()
            if arr.size != n:
                raise ValueError(f"{file}: array {key!r} has {arr.size} rows but 'frame' has {n}")
            arr = arr.copy()
            arr[~np.isfinite(arr)] = np.nan  # TRex writes inf for missing values
            return arr

        data: dict[str, np.ndarray] = {}
        for target, options in (
            (columns.x_col, ("X", "X#wcentroid")),
            (columns.y_col, ("Y", "Y#wcentroid")),
        ):
            key = next((k for k in options if k in keys), None)
            if key is None:
                raise ValueError(f"{file}: no position array (expected one of {list(options)})")
            data[target] = column(key)
        if "ANGLE" in keys:
            data[columns.orientation_col] = column("ANGLE")
        time_key = next((k for k in ("time", "timestamp") if k in keys), None)
        if time_key is not None:
            data[columns.time_col] = column(time_key)
        if with_pose:
            pose_keys = sorted(
                (k for k in keys if re.fullmatch(r"pose[XY]\d+", k)),
                key=lambda k: (k[4], int(k[5:])),
            )
            for k in pose_keys:
                prefix = pose.x_prefix if k[4] == "X" else pose.y_prefix
                data[f"{prefix}{int(k[5:])}"] = column(k)
        if "missing" in keys:
            missing = np.asarray(npz["missing"]).astype(bool).ravel()
            if missing.size != n:
                raise ValueError(f"{file}: 'missing' has {missing.size} rows but 'frame' has {n}")
            for name, arr in data.items():
                if name != columns.time_col:
                    arr[missing] = np.nan
    out = pl.DataFrame(
        {
            columns.id_col: np.full(n, ident, dtype=np.int64),
            columns.frame_col: frame.astype(np.int64),
            **data,
        }
    )
    return out


def read_trex(
    path_or_dir: str | Path,
    *,
    group: str | None = None,
    sequence: str | None = None,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
    with_pose: bool = True,
    return_info: bool = False,
) -> pl.DataFrame | tuple[pl.DataFrame, SourceInfo]:
    """Read TRex ``.npz`` exports into moveo's canonical long table.

    TRex writes one file per individual (``<video>_fish<k>.npz``) with per-frame
    arrays ``X``/``Y`` (or ``X#wcentroid``/``Y#wcentroid``), ``ANGLE``, ``frame``,
    ``time``, ``missing`` and optionally ``poseX<k>``/``poseY<k>``. Infinite values
    and rows flagged ``missing`` become NaN.

    Parameters
    ----------
    path_or_dir : str or Path
        One ``.npz`` file or a folder of them.
    group : str, optional
        Group name for all rows (default: the folder's name).
    sequence : str, optional
        Sequence name for all rows (default: each file's name without the trailing
        individual part, e.g. ``video`` for ``video_fish3.npz``; the folder's name
        for files named just ``fish3.npz``).
    columns : Columns, optional
        Output column names (default :data:`moveo.schema.COLUMNS`).
    pose : PoseConfig, optional
        Output pose column prefixes (default :data:`moveo.schema.POSE`).
    with_pose : bool, default True
        Read ``poseX*``/``poseY*`` arrays when present.
    return_info : bool, default False
        Also return a :class:`~moveo.io.SourceInfo`: ``fps`` from ``frame_rate``,
        ``calibration["cm_per_pixel"]`` when the export has them (as
        :func:`trex_metadata`, from the first file). Positions stay in the export's
        unit (pixels unless TRex was told to convert to cm).

    Returns
    -------
    polars.DataFrame or (polars.DataFrame, SourceInfo)
        Columns group, sequence, id, frame, then X, Y, ANGLE, time and pose columns
        as available; sorted by (sequence, id, frame).

    Raises
    ------
    FileNotFoundError
        No such path, or no ``.npz`` files in the folder.
    ValueError
        An empty file, a file without frame or position information, mismatched
        array lengths, or two files mapping to the same (sequence, id).
    """
    columns = columns or COLUMNS
    pose = pose or POSE
    path = Path(path_or_dir)
    files = _npz_files(path)
    group_name = validate_entry_name(
        "group", group if group is not None else (path if path.is_dir() else path.parent).name
    )
    frames = []
    seen: dict[tuple[str, int], Path] = {}
    for order, file in enumerate(files):
        prefix, ident = _split_name(file.stem)
        ident = order if ident is None else ident
        folder = file.parent.resolve().name
        seq = sequence if sequence is not None else (prefix or folder)
        seq = validate_entry_name("sequence", seq)
        if (seq, ident) in seen:
            raise ValueError(
                f"{file}: individual {ident} of sequence {seq!r} was already read from "
                f"{seen[(seq, ident)]}; give the files distinct trailing numbers"
            )
        seen[(seq, ident)] = file
        df = _read_one(file, ident, columns, pose, with_pose)
        frames.append(
            df.with_columns(
                pl.lit(group_name).alias(columns.group_col), pl.lit(seq).alias(columns.seq_col)
            )
        )
    out = pl.concat(frames, how="diagonal_relaxed")
    first = [columns.group_col, columns.seq_col, columns.id_col, columns.frame_col]
    out = out.select(first + [c for c in out.columns if c not in first])
    out = out.sort([columns.seq_col, columns.id_col, columns.frame_col], maintain_order=True)
    if not return_info:
        return out
    meta = trex_metadata(path)
    n_pose = sum(1 for c in out.columns if c.startswith(pose.x_prefix))
    info = SourceInfo(
        source_software="TRex",
        source_file=str(path),
        fps=meta["frame_rate"],
        pose=PoseConfig(pose_n=n_pose) if n_pose else None,
        individuals={int(i): str(i) for i in out[columns.id_col].unique().sort()},
        calibration={} if meta["cm_per_pixel"] is None else {"cm_per_pixel": meta["cm_per_pixel"]},
        extra={"files": [str(f) for f in files]},
    )
    return out, info
