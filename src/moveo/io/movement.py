"""Interop with the ``movement`` package's xarray layout (without depending on movement).

movement (neuroinformatics-unit) holds pose tracks of one video as an
:class:`xarray.Dataset` with

- ``position``: dims ``(time, space, keypoints, individuals)``, ``space`` =
  ``["x", "y"]``;
- ``confidence``: dims ``(time, keypoints, individuals)``;
- coordinates ``time`` (seconds when the frame rate is known, else frame numbers),
  ``keypoints`` and ``individuals`` (strings);
- attrs ``fps``, ``time_unit`` (``"seconds"`` or ``"frames"``), ``source_software``,
  ``source_file`` and ``ds_type`` (``"poses"``).

:func:`to_movement` turns one entry of a moveo tracks table into that layout (so a
movement user can take moveo data or results into movement's tools) and
:func:`from_movement` turns such a dataset into the table
:meth:`moveo.Dataset.add_tracks` takes. Only ``xarray`` is needed
(``pip install 'moveo[movement]'``); dims are looked up by name, so datasets of
older movement versions (dims ordered time, individuals, keypoints, space) read too.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from moveo.dataset import to_polars
from moveo.io._common import SourceInfo, centroid, with_entry_names
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig, validate_entry_name

__all__ = ["from_movement", "to_movement"]

_ID_NAME = re.compile(r"^id_(\d+)$")
CENTROID = "centroid"


def _import_xarray() -> Any:
    try:
        import xarray
    except ImportError as exc:  # pragma: no cover - xarray is in the test extra
        raise ImportError(
            "movement interop needs xarray: pip install 'moveo[movement]'"
        ) from exc
    return xarray


def _pose_indices(names: list[str], pose: PoseConfig) -> list[int]:
    pattern = re.compile(rf"^{re.escape(pose.x_prefix)}(\d+)$")
    ks = sorted(int(m.group(1)) for c in names if (m := pattern.match(c)))
    return [k for k in ks if f"{pose.y_prefix}{k}" in names]


def to_movement(
    table: Any,
    *,
    group: str | None = None,
    sequence: str | None = None,
    fps: float | None = None,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
    source_software: str = "moveo",
) -> Any:
    """Convert one entry of a tracks table to a movement poses dataset.

    Keypoints are the table's pose columns (``poseX{k}``/``poseY{k}``, with
    ``poseP{k}`` as confidence, NaN when absent), named by ``pose.keypoint_names``
    (default ``kp0``, ``kp1``, ...). A table without pose columns gives one
    keypoint, ``"centroid"``, from ``X``/``Y``. Individuals are named by the
    ``individual`` column when it maps one-to-one onto ``id``, else ``"id_<id>"``
    (movement's default naming). Time runs over every frame from the first to the
    last (NaN where an individual has no row); it is in seconds (``frame / fps``)
    when ``fps`` is given, else in frames. Other columns (``ANGLE``, feature
    outputs) have no place in the layout and are left out.

    Parameters
    ----------
    table : polars/pandas/pyarrow table or dict of columns
        Tracks of one entry (or several, with ``group``/``sequence`` choosing one),
        e.g. ``ds.read(group, sequence)`` or a reader's output.
    group, sequence : str, optional
        The entry to take when the table holds several.
    fps : float, optional
        Frame rate; stored in ``attrs["fps"]`` and used for the time coordinate.
    columns : Columns, optional
        Column names of the table (default moveo's).
    pose : PoseConfig, optional
        Pose prefixes and keypoint names (e.g. ``ds.pose``).
    source_software : str, default "moveo"
        Stored in ``attrs["source_software"]``.

    Returns
    -------
    xarray.Dataset
        ``position`` of shape (n_time, 2, n_keypoints, n_individuals) and
        ``confidence`` of shape (n_time, n_keypoints, n_individuals), float64.

    Raises
    ------
    ValueError
        An empty table, several entries and no ``group``/``sequence``, missing
        id/frame/X/Y columns, duplicate (id, frame) rows, a bad ``fps``.
    """
    xr = _import_xarray()
    columns = columns or COLUMNS
    pose = pose or POSE
    df = to_polars(table, source="to_movement")
    c = columns
    for col, value in ((c.group_col, group), (c.seq_col, sequence)):
        if value is not None:
            if col not in df.columns:
                raise ValueError(f"to_movement: {col}={value!r} given but the table has no "
                                 f"{col!r} column")
            df = df.filter(pl.col(col) == value)
    keys = [col for col in (c.group_col, c.seq_col) if col in df.columns]
    if keys:
        entries = df.select(keys).unique()
        if entries.height > 1:
            raise ValueError(
                f"to_movement: the table holds {entries.height} entries "
                f"({entries.head(3).rows()} ...); a movement dataset is one video: pass "
                "group= and sequence= to choose one"
            )
    if df.height == 0:
        raise ValueError("to_movement: the table is empty (no rows)")
    if fps is not None and (not np.isfinite(fps) or fps <= 0):
        raise ValueError(f"to_movement: fps must be a positive number, got {fps}")
    ks = _pose_indices(df.columns, pose)
    needed = [c.id_col, c.frame_col] + ([] if ks else [c.x_col, c.y_col])
    missing = [col for col in needed if col not in df.columns]
    if missing:
        raise ValueError(f"to_movement: missing column(s) {missing}; the table has {df.columns}")

    ids = df[c.id_col].to_numpy().astype(np.int64)
    frames = df[c.frame_col].to_numpy().astype(np.int64)
    uniq_ids = np.unique(ids)
    f0, f1 = int(frames.min()), int(frames.max())
    ti = frames - f0
    ii = np.searchsorted(uniq_ids, ids)
    if np.any(np.bincount(ti * uniq_ids.size + ii) > 1):
        raise ValueError(f"to_movement: duplicate ({c.id_col}, {c.frame_col}) rows")

    if ks:
        names_all = pose.names()
        kp_names = [names_all[k] if k < len(names_all) else f"kp{k}" for k in ks]
        x_cols = [f"{pose.x_prefix}{k}" for k in ks]
        y_cols = [f"{pose.y_prefix}{k}" for k in ks]
        p_cols = [f"{pose.confidence_prefix}{k}" for k in ks]
    else:
        kp_names = [CENTROID]
        x_cols, y_cols, p_cols = [c.x_col], [c.y_col], ["\0none"]
    n_t, n_k, n_i = f1 - f0 + 1, len(kp_names), uniq_ids.size
    position = np.full((n_t, 2, n_k, n_i), np.nan)
    confidence = np.full((n_t, n_k, n_i), np.nan)
    for k, (xc, yc, pc) in enumerate(zip(x_cols, y_cols, p_cols, strict=True)):
        position[ti, 0, k, ii] = df[xc].cast(pl.Float64).fill_null(np.nan).to_numpy()
        position[ti, 1, k, ii] = df[yc].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if pc in df.columns:
            confidence[ti, k, ii] = df[pc].cast(pl.Float64).fill_null(np.nan).to_numpy()

    ind_names = [f"id_{i}" for i in uniq_ids]
    if "individual" in df.columns:
        pairs = df.select(c.id_col, "individual").unique()
        if pairs.height == n_i and pairs["individual"].n_unique() == n_i:
            by_id = dict(pairs.iter_rows())
            ind_names = [str(by_id[int(i)]) for i in uniq_ids]

    frame_axis = np.arange(f0, f1 + 1)
    time = frame_axis / float(fps) if fps is not None else frame_axis
    # as movement's own loaders: no "fps" attribute when the frame rate is unknown
    attrs: dict[str, Any] = {"source_software": source_software, "ds_type": "poses"}
    if fps is not None:
        attrs["fps"] = float(fps)
    attrs["time_unit"] = "seconds" if fps is not None else "frames"
    coords = {"time": time, "space": ["x", "y"], "keypoints": kp_names,
              "individuals": ind_names}
    return xr.Dataset(
        data_vars={
            "position": (("time", "space", "keypoints", "individuals"), position),
            "confidence": (("time", "keypoints", "individuals"), confidence),
        },
        coords=coords,
        attrs=attrs,
    )


def from_movement(
    dataset: Any,
    *,
    group: str | None = None,
    sequence: str | None = None,
    dropna: bool = False,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
    return_info: bool = False,
) -> pl.DataFrame | tuple[pl.DataFrame, SourceInfo]:
    """Convert a movement poses dataset to moveo's long table.

    Individual ``i`` (in dataset order) becomes ``id`` ``i`` — or ``<n>`` when every
    name is ``"id_<n>"`` (movement's default naming, and what :func:`to_movement`
    writes for unnamed individuals) — with its name in ``individual``. Keypoint ``k``
    becomes ``poseX{k}``/``poseY{k}``/``poseP{k}``, ``X``/``Y`` the mean of the
    finite keypoints; a dataset whose only keypoint is ``"centroid"`` (or which has
    no ``keypoints`` dim) gives just ``X``/``Y`` (and a ``confidence`` column when
    the confidence is not all NaN). Time becomes ``frame``: ``round(time * fps)``
    when ``attrs["time_unit"]`` is ``"seconds"``, the time values themselves when it
    is ``"frames"``. Coordinates keep their unit.

    Parameters
    ----------
    dataset : xarray.Dataset
        A movement poses dataset (``position`` with dims time, space, keypoints,
        individuals in any order; ``confidence`` optional).
    group, sequence : str, optional
        Add constant group / sequence columns (else pass them to ``add_tracks``).
    dropna : bool, default False
        Drop rows where every keypoint is NaN (movement has no rows, so an
        individual that is absent is all NaN there).
    columns : Columns, optional
        Output column names.
    pose : PoseConfig, optional
        Output pose column prefixes.
    return_info : bool, default False
        Also return a :class:`~moveo.io.SourceInfo` (fps, keypoint names,
        individual names, the dataset's ``source_software``/``source_file``).

    Returns
    -------
    polars.DataFrame or (polars.DataFrame, SourceInfo)
        Columns [group, sequence,] id, individual, frame, X, Y, pose columns;
        sorted by (id, frame).

    Raises
    ------
    TypeError
        Not an xarray Dataset.
    ValueError
        No ``position`` variable, missing dims, a space other than x/y, time in
        seconds without an fps, or times that are not whole frames.
    """
    xr = _import_xarray()
    columns = columns or COLUMNS
    pose = pose or POSE
    if not isinstance(dataset, xr.Dataset):
        raise TypeError(f"from_movement: expected an xarray.Dataset, got {type(dataset).__name__}")
    if "position" not in dataset.data_vars:
        raise ValueError(
            f"from_movement: no 'position' variable (variables: {list(dataset.data_vars)}); "
            "not a movement dataset"
        )
    pos = dataset["position"]
    has_kp = "keypoints" in pos.dims
    need = {"time", "space", "individuals"}
    if not need <= set(pos.dims):
        raise ValueError(
            f"from_movement: 'position' has dims {pos.dims}; expected time, space, "
            "[keypoints,] individuals"
        )
    if not has_kp:
        pos = pos.expand_dims("keypoints", axis=-1).assign_coords(keypoints=[CENTROID])
    space = [str(s) for s in pos["space"].values]
    if space != ["x", "y"]:
        raise ValueError(f"from_movement: space is {space}; moveo reads 2-D ['x', 'y'] data")
    arr = pos.transpose("time", "individuals", "keypoints", "space").values.astype(np.float64)
    n_t, n_i, n_k, _ = arr.shape
    if "confidence" in dataset.data_vars:
        conf = dataset["confidence"]
        if "keypoints" not in conf.dims:
            conf = conf.expand_dims("keypoints", axis=-1)
        conf_arr = conf.transpose("time", "individuals", "keypoints").values.astype(np.float64)
    else:
        conf_arr = np.full((n_t, n_i, n_k), np.nan)

    attrs = dict(dataset.attrs)
    fps = attrs.get("fps")
    fps = None if fps is None or not np.isfinite(float(fps)) else float(fps)
    time = np.asarray(dataset["time"].values, dtype=np.float64)
    unit = attrs.get("time_unit", "seconds" if fps is not None else "frames")
    if unit == "seconds":
        if fps is None:
            raise ValueError(
                "from_movement: time is in seconds but attrs has no fps; set "
                "dataset.attrs['fps'] to turn times into frames"
            )
        raw = time * fps
    elif unit == "frames":
        raw = time
    else:
        raise ValueError(f"from_movement: unknown time_unit {unit!r} (seconds or frames)")
    frames = np.round(raw)
    if n_t and not np.allclose(raw, frames, rtol=0, atol=1e-6):
        raise ValueError("from_movement: times are not whole frames (time * fps is not integral)")
    frames = frames.astype(np.int64)

    ind_names = [str(v) for v in dataset["individuals"].values]
    matches = [_ID_NAME.match(n) for n in ind_names]
    if all(matches) and len({int(m.group(1)) for m in matches}) == n_i:
        ids = np.array([int(m.group(1)) for m in matches], dtype=np.int64)
    else:
        ids = np.arange(n_i, dtype=np.int64)
    kp_names = [str(v) for v in pos["keypoints"].values]
    centroid_only = kp_names == [CENTROID]

    order = np.argsort(ids, kind="stable")
    arr, conf_arr = arr[:, order], conf_arr[:, order]
    ids = ids[order]
    ind_names = [ind_names[i] for i in order]
    xs = np.swapaxes(arr[..., 0], 0, 1).reshape(n_i * n_t, n_k)
    ys = np.swapaxes(arr[..., 1], 0, 1).reshape(n_i * n_t, n_k)
    ps = np.swapaxes(conf_arr, 0, 1).reshape(n_i * n_t, n_k)
    cx, cy = centroid(xs, ys)
    data: dict[str, Any] = {
        columns.id_col: np.repeat(ids, n_t),
        "individual": pl.Series(ind_names, dtype=pl.String).gather(np.repeat(np.arange(n_i), n_t)),
        columns.frame_col: np.tile(frames, n_i),
        columns.x_col: cx,
        columns.y_col: cy,
    }
    if centroid_only:
        if np.isfinite(ps).any():
            data["confidence"] = ps[:, 0].copy()
    else:
        for k in range(n_k):
            data[f"{pose.x_prefix}{k}"] = xs[:, k].copy()
            data[f"{pose.y_prefix}{k}"] = ys[:, k].copy()
            data[f"{pose.confidence_prefix}{k}"] = ps[:, k].copy()
    table = pl.DataFrame(data)
    if dropna:
        keep = np.isfinite(xs).any(axis=1) | np.isfinite(ys).any(axis=1)
        table = table.filter(pl.Series(keep))
    table = table.sort([columns.id_col, columns.frame_col], maintain_order=True)
    g = None if group is None else validate_entry_name("group", group)
    s = None if sequence is None else validate_entry_name("sequence", sequence)
    table = with_entry_names(table, g, s, columns)
    if not return_info:
        return table
    info = SourceInfo(
        source_software=str(attrs.get("source_software") or "movement"),
        source_file=str(attrs.get("source_file") or ""),
        fps=fps,
        pose=None if centroid_only else PoseConfig(pose_n=n_k, keypoint_names=kp_names),
        individuals={int(i): n for i, n in zip(ids, ind_names, strict=True)},
        extra={"ds_type": str(attrs.get("ds_type", "poses"))},
    )
    return table, info
