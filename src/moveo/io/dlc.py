"""Readers for DeepLabCut outputs (``.csv`` and ``.h5``, single- and multi-animal).

DeepLabCut writes one table per video: a multi-row column header
``scorer / [individuals /] bodyparts / coords`` (coords ``x``, ``y``,
``likelihood``) over one row per frame. The ``.csv`` spells the header out as
3 or 4 text rows; the ``.h5`` is the same pandas DataFrame stored with PyTables
(key ``df_with_missing``), its columns a :class:`pandas.MultiIndex` with those
level names. Lightning Pose writes the single-animal csv layout (see
:mod:`moveo.io.lightning_pose`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from moveo.io._common import SourceInfo, entry_name_from, pose_table, require_file
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig, validate_entry_name

__all__ = ["dlc_pose_config", "read_dlc", "read_dlc_csv"]

_CSV = (".csv",)
_H5 = (".h5", ".hdf5", ".hdf")
_COORDS = ("x", "y", "likelihood")


@dataclass
class _Parsed:
    """A DLC-layout table: row index, one (individual, bodypart, coord) per column."""

    index: list[str] | np.ndarray
    cols: list[tuple[str, str, str]]
    values: np.ndarray  # (n_cols, n_rows) float64, C-contiguous, writable: one column a row
    scorer: str
    multi_animal: bool


# --------------------------------------------------------------------------- csv
def _read_header(path: Path, tool: str) -> list[list[str]]:
    """Return the header rows of a DLC-layout csv (scorer ... coords)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            rows = []
            for row in reader:
                rows.append(row)
                if (row and row[0].strip().lower() == "coords") or len(rows) > 4:
                    break
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a text file ({exc}); a {tool} .csv expected") from exc
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    names = [r[0].strip().lower() if r else "" for r in rows]
    if names[:1] != ["scorer"] or "bodyparts" not in names or names[-1] != "coords":
        raise ValueError(
            f"{path}: not a {tool} CSV (expected header rows scorer/[individuals/]"
            f"bodyparts/coords, found {names[:4]})"
        )
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError(f"{path}: header rows have different lengths; truncated or edited file?")
    return rows


def _last_line_fields(path: Path) -> int:
    """Count the csv fields on the last non-empty line of ``path``."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        tail = fh.read().decode("utf-8", errors="replace")
    lines = [line for line in tail.splitlines() if line.strip()]
    return len(next(csv.reader([lines[-1]]))) if lines else 0


def _parse_csv(path: Path, tool: str) -> _Parsed:
    rows = _read_header(path, tool)
    by_name = {r[0].strip().lower(): r[1:] for r in rows}
    bodyparts = by_name["bodyparts"]
    coords = [c.strip() for c in by_name["coords"]]
    multi = "individuals" in by_name
    individuals = by_name["individuals"] if multi else ["animal0"] * len(bodyparts)
    cols = list(zip(individuals, bodyparts, coords, strict=True))
    n_cols = len(cols) + 1
    schema = {f"c{j}": (pl.String if j == 0 else pl.Float64) for j in range(n_cols)}
    try:
        raw = pl.read_csv(
            path,
            has_header=False,
            skip_rows=len(rows),
            new_columns=list(schema),
            schema=schema,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.NoDataError:
        raw = pl.DataFrame(schema=schema)
    except pl.exceptions.ComputeError as exc:
        text = str(exc)
        if "could not parse" in text or "invalid" in text.lower():
            raise ValueError(f"{path}: non-numeric values in coordinate columns ({text})") from exc
        raise ValueError(
            f"{path}: data rows do not match the header ({text.splitlines()[0]}); "
            "truncated or corrupt file?"
        ) from exc
    if raw.height == 0:
        raise ValueError(f"{path}: the file has a header but no data rows")
    if raw.width != n_cols:
        raise ValueError(f"{path}: data rows have {raw.width} fields, header has {n_cols}")
    last = _last_line_fields(path)
    if last != n_cols:
        # polars fills a short row with nulls; a writer killed mid-row leaves one at the end
        raise ValueError(
            f"{path}: data rows end with a row of {last} fields, header has {n_cols}; "
            "truncated file?"
        )
    values = np.empty((n_cols - 1, raw.height))
    for j, name in enumerate(list(schema)[1:]):
        values[j] = raw[name].to_numpy()  # nulls (empty fields) come out as NaN
    index = raw["c0"]
    as_int = index.cast(pl.Int64, strict=False)
    idx = as_int.to_numpy() if as_int.null_count() == 0 else index.to_list()
    return _Parsed(idx, cols, values, rows[0][1] if len(rows[0]) > 1 else "", multi)


# --------------------------------------------------------------------------- h5
def _parse_h5(path: Path, tool: str) -> _Parsed:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the test extra
        raise ImportError(
            "reading DeepLabCut .h5 files needs pandas and PyTables: pip install 'moveo[dlc]'"
        ) from exc
    with open(path, "rb") as fh:
        signature = fh.read(8)
    if signature != b"\x89HDF\r\n\x1a\n":
        raise ValueError(f"{path}: not an HDF5 file; a {tool} .h5 expected")
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = store.keys()
            if not keys:
                raise ValueError(
                    f"{path}: an HDF5 file without a pandas table, so not a {tool} .h5 "
                    "(a SLEAP analysis .h5? use moveo.io.read_sleap)"
                )
            key = "/df_with_missing" if "/df_with_missing" in keys else keys[0]
            if len(keys) > 1 and key not in ("/df_with_missing",):
                raise ValueError(
                    f"{path}: several pandas tables {keys} and no 'df_with_missing'; "
                    f"not a {tool} .h5"
                )
            df = store.get(key)
    except ValueError:
        raise
    except ImportError as exc:
        raise ImportError(
            f"{path}: reading DeepLabCut .h5 files needs PyTables: pip install 'moveo[dlc]'"
        ) from exc
    except Exception as exc:  # PyTables raises its own HDF5 error classes
        raise ValueError(
            f"{path}: truncated or corrupt HDF5 file ({type(exc).__name__}: {exc}); a {tool} "
            ".h5 expected"
        ) from exc
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{path}: holds a {type(df).__name__}, not a {tool} table")
    names = [str(n).lower() if n is not None else "" for n in df.columns.names]
    if names not in (["scorer", "bodyparts", "coords"], ["scorer", "individuals", "bodyparts",
                                                          "coords"]):
        raise ValueError(
            f"{path}: not a {tool} .h5 (column levels {df.columns.names}, expected "
            "scorer/[individuals/]bodyparts/coords)"
        )
    multi = "individuals" in names
    cols = []
    for tup in df.columns:
        if multi:
            _, ind, bp, co = (str(t) for t in tup)
        else:
            _, bp, co = (str(t) for t in tup)
            ind = "animal0"
        cols.append((ind, bp, co))
    if len(df) == 0:
        raise ValueError(f"{path}: the table has no rows")
    try:
        values = np.array(df.to_numpy(dtype=np.float64).T, order="C")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: non-numeric values in coordinate columns ({exc})") from exc
    index = df.index
    if index.nlevels == 1 and np.issubdtype(index.dtype, np.integer):
        idx: list[str] | np.ndarray = index.to_numpy(dtype=np.int64)
    else:  # labelled-data files index rows by image path (one level per path part)
        idx = ["/".join(map(str, t)) if isinstance(t, tuple) else str(t) for t in index]
    scorer = str(df.columns.get_level_values(0)[0])
    return _Parsed(idx, cols, values, scorer, multi)


def _parse(path: Path, tool: str, suffixes: tuple[str, ...]) -> _Parsed:
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise ValueError(
            f"{path}: unknown suffix {path.suffix!r}; a {tool} file is one of {list(suffixes)}"
        )
    return _parse_h5(path, tool) if suffix in _H5 else _parse_csv(path, tool)


def _layout(
    parsed: _Parsed, path: Path, *, extra_coords: bool
) -> tuple[list[str], list[str], list[str]]:
    """Return (individuals, bodyparts, extra coords) in file order."""
    extras = []
    for ind, bp, co in parsed.cols:
        if co not in _COORDS:
            if not extra_coords:
                raise ValueError(
                    f"{path}: unknown coordinate {co!r} for {ind}/{bp} (expected one of "
                    f"{list(_COORDS)})"
                )
            extras.append(co)
    individuals = list(dict.fromkeys(c[0] for c in parsed.cols))
    bodyparts = list(dict.fromkeys(c[1] for c in parsed.cols))
    return individuals, bodyparts, list(dict.fromkeys(extras))


def dlc_pose_config(path: str | Path) -> PoseConfig:
    """Build the :class:`~moveo.schema.PoseConfig` matching a DeepLabCut file.

    Parameters
    ----------
    path : str or Path
        The ``.csv`` or ``.h5`` file.

    Returns
    -------
    PoseConfig
        ``pose_n`` = number of distinct body parts, ``keypoint_names`` = their names
        in file order (keypoint ``k`` is ``poseX{k}``/``poseY{k}``).
    """
    path = require_file(path, "a DeepLabCut .csv or .h5")
    if path.suffix.lower() in _CSV:
        rows = _read_header(path, "DeepLabCut")
        bodyparts = list(dict.fromkeys({r[0].strip().lower(): r[1:] for r in rows}["bodyparts"]))
    else:
        _, bodyparts, _ = _layout(_parse(path, "DeepLabCut", _CSV + _H5), path,
                                  extra_coords=False)
    return PoseConfig(pose_n=len(bodyparts), keypoint_names=bodyparts)


def _build(
    path: Path,
    parsed: _Parsed,
    *,
    tool: str,
    group: str | None,
    sequence: str | None,
    default_sequence: str,
    likelihood_threshold: float | None,
    columns: Columns,
    pose: PoseConfig,
    extra_coords: bool,
) -> tuple[pl.DataFrame, SourceInfo]:
    individuals, bodyparts, extras = _layout(parsed, path, extra_coords=extra_coords)
    n = parsed.values.shape[1]
    n_ind, n_bp = len(individuals), len(bodyparts)
    shape = (n_bp, n_ind, n)  # keypoint-major: every output column is one slice
    xs, ys, ps = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    extra_arrays = {co: np.full(shape, np.nan) for co in extras}
    target = {"x": xs, "y": ys, "likelihood": ps, **extra_arrays}
    ind_pos = {name: i for i, name in enumerate(individuals)}
    bp_pos = {name: k for k, name in enumerate(bodyparts)}
    by_column = parsed.values
    by_column[~np.isfinite(by_column)] = np.nan  # inf -> NaN
    for j, (ind, bp, co) in enumerate(parsed.cols):
        target[co][bp_pos[bp], ind_pos[ind]] = by_column[j]
    if likelihood_threshold is not None:
        low = ~(ps >= likelihood_threshold)  # NaN likelihood counts as low
        xs[low] = np.nan
        ys[low] = np.nan
    index = parsed.index
    # an image-path index (labelled data) has no frame numbers: use the row order
    frames = index if isinstance(index, np.ndarray) else np.arange(n, dtype=np.int64)
    group_name = validate_entry_name(
        "group", group if group is not None else path.absolute().parent.name
    )
    seq_name = validate_entry_name("sequence", sequence if sequence is not None
                                   else default_sequence)
    extra_cols = {
        f"{co}{k}": arr[k] for co, arr in extra_arrays.items() for k in range(n_bp)
    }
    table = pose_table(
        frames, xs, ys, ps,
        ids=np.arange(n_ind), names=individuals, group=group_name, sequence=seq_name,
        columns=columns, pose=pose, extra=extra_cols,
    )
    info = SourceInfo(
        source_software=tool,
        source_file=str(path),
        fps=None,
        pose=PoseConfig(pose_n=n_bp, keypoint_names=bodyparts),
        individuals=dict(enumerate(individuals)),
        extra={
            "scorer": parsed.scorer,
            "multi_animal": parsed.multi_animal,
            **({"image_paths": list(index)} if not isinstance(index, np.ndarray) else {}),
            **({"extra_coords": extras} if extras else {}),
        },
    )
    return table, info


def read_dlc(
    path: str | Path,
    *,
    group: str | None = None,
    sequence: str | None = None,
    likelihood_threshold: float | None = None,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
    return_info: bool = False,
) -> pl.DataFrame | tuple[pl.DataFrame, SourceInfo]:
    """Read a DeepLabCut ``.csv`` or ``.h5`` output into moveo's long table.

    Every individual becomes an integer ``id`` (0, 1, ... in header order) with its
    name kept in an ``individual`` column (single-animal files: ``"animal0"``;
    multi-animal files with unique body parts have DeepLabCut's ``"single"``
    individual, holding only those). Body part ``k`` (in header order, over all
    individuals) becomes ``poseX{k}``, ``poseY{k}``, ``poseP{k}`` (likelihood); a body
    part an individual does not have is NaN. ``X``/``Y`` are the mean of the finite
    keypoints (NaN when none is). Coordinates stay in pixels, as DeepLabCut wrote them.
    Every frame of every individual has a row (NaN where DeepLabCut found nothing).

    Parameters
    ----------
    path : str or Path
        The ``.csv`` or ``.h5``/``.hdf5`` file (single-animal header
        scorer/bodyparts/coords; multi-animal scorer/individuals/bodyparts/coords).
    group : str, optional
        Group name (default: the file's folder name).
    sequence : str, optional
        Sequence name (default: the file name up to the first ``DLC`` marker, e.g.
        ``video`` for ``videoDLC_resnet50_...csv``).
    likelihood_threshold : float, optional
        Keypoints with likelihood below this (or NaN) become NaN positions; the
        likelihood itself is kept.
    columns : Columns, optional
        Output column names.
    pose : PoseConfig, optional
        Output pose column prefixes (its keypoint count is not used: the file's is).
    return_info : bool, default False
        Also return a :class:`~moveo.io.SourceInfo` (keypoint names as a
        ``PoseConfig``, individual names, scorer). DeepLabCut files do not record
        the frame rate, so ``info.fps`` is None.

    Returns
    -------
    polars.DataFrame or (polars.DataFrame, SourceInfo)
        Columns group, sequence, id, individual, frame, X, Y, pose columns; sorted by
        (id, frame). Rows indexed by image paths (labelled-data files) get frames
        0, 1, ... in row order; the paths are in ``info.extra["image_paths"]``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a DeepLabCut file (e.g. a SLEAP ``.h5``), an empty, truncated or corrupt
        file, non-numeric values, or an unknown coordinate name.
    """
    path = require_file(path, "a DeepLabCut .csv or .h5")
    parsed = _parse(path, "DeepLabCut", _CSV + _H5)
    default = path.stem.split("DLC")[0].rstrip("_-") or path.stem
    table, info = _build(
        path, parsed, tool="DeepLabCut", group=group, sequence=sequence,
        default_sequence=default, likelihood_threshold=likelihood_threshold,
        columns=columns or COLUMNS, pose=pose or POSE, extra_coords=False,
    )
    return (table, info) if return_info else table


read_dlc_csv = read_dlc
"""Alias of :func:`read_dlc` (the name moveo used before ``.h5`` support; reads both)."""


def _read_dlc_like(
    path: str | Path,
    *,
    tool: str,
    group: str | None,
    sequence: str | None,
    likelihood_threshold: float | None,
    columns: Columns | None,
    pose: PoseConfig | None,
    strip: tuple[str, ...],
) -> tuple[pl.DataFrame, SourceInfo]:
    """Read a tool's DLC-layout csv, keeping extra coords as columns (Lightning Pose)."""
    path = require_file(path, f"a {tool} .csv")
    parsed = _parse(path, tool, _CSV)
    return _build(
        path, parsed, tool=tool, group=group, sequence=sequence,
        default_sequence=entry_name_from(path, strip), likelihood_threshold=likelihood_threshold,
        columns=columns or COLUMNS, pose=pose or POSE, extra_coords=True,
    )
