"""Reader for SLEAP ``.slp`` files and ``.analysis.h5`` exports, through sleap-io.

SLEAP stores a project as :class:`sleap_io.Labels`: videos, one skeleton (its
nodes are the keypoints), tracks (the individuals) and labelled frames holding
instances — user-labelled ones and predicted ones with point scores, an instance
score and a tracking score. The ``.analysis.h5`` export holds the same
predictions as dense arrays for one video. Both are read with the field's own
library, ``sleap-io`` (``pip install 'moveo[sleap]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from moveo.io._common import SourceInfo, centroid, entry_name_from, require_file, with_entry_names
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig, validate_entry_name

__all__ = ["read_sleap"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ANALYSIS_SUFFIXES = (".h5", ".hdf5")


def _import_sleap_io() -> Any:
    try:
        import sleap_io
    except ImportError as exc:  # pragma: no cover - sleap-io is in the test extra
        raise ImportError(
            "read_sleap needs sleap-io, SLEAP's own file library: pip install 'moveo[sleap]'"
        ) from exc
    return sleap_io


def _check_hdf5(path: Path, kind: str) -> None:
    """Refuse files that are not SLEAP's HDF5 kind before sleap-io sees them."""
    import h5py  # a dependency of sleap-io

    with open(path, "rb") as fh:
        if fh.read(8) != _HDF5_SIGNATURE:
            raise ValueError(f"{path}: not an HDF5 file, so not a SLEAP {kind}")
    try:
        with h5py.File(path, "r") as f:
            names = set(f.keys())
    except OSError as exc:
        raise ValueError(f"{path}: truncated or corrupt HDF5 file ({exc}); a SLEAP {kind} "
                         "expected") from exc
    if kind == ".slp file":
        if "metadata" not in names:
            raise ValueError(f"{path}: no 'metadata' group, so not a SLEAP .slp file")
        return
    if "tracks" not in names:
        hint = ""
        if any(n.startswith(("df_with_missing", "df")) for n in names):
            hint = " (it looks like a DeepLabCut .h5: use moveo.io.read_dlc)"
        raise ValueError(
            f"{path}: no 'tracks' dataset, so not a SLEAP analysis .h5 (it holds "
            f"{sorted(names)[:6]}){hint}"
        )


def _load(path: Path) -> Any:
    sio = _import_sleap_io()
    suffix = path.suffix.lower()
    if suffix == ".slp":
        _check_hdf5(path, ".slp file")
        loader, kwargs = sio.load_slp, {"open_videos": False}
    elif suffix in _ANALYSIS_SUFFIXES:
        _check_hdf5(path, "analysis .h5")
        loader, kwargs = sio.load_analysis_h5, {}
    else:
        raise ValueError(
            f"{path}: unknown suffix {path.suffix!r}; a SLEAP file is a .slp or .analysis.h5"
        )
    try:
        return loader(str(path), **kwargs)
    except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(
            f"{path}: sleap-io could not read it ({type(exc).__name__}: {exc}); truncated or "
            "corrupt SLEAP file?"
        ) from exc


def _video_name(video: Any, path: Path) -> str:
    filename = getattr(video, "filename", None)
    if isinstance(filename, list):  # image sequence: name it after the folder
        filename = Path(filename[0]).parent.name if filename else None
    name = Path(str(filename)).stem if filename else ""
    return name or entry_name_from(path, (".analysis.h5", ".predictions.slp", ".slp", ".h5"))


def read_sleap(
    path: str | Path,
    *,
    group: str | None = None,
    sequence: str | None = None,
    video: int | str | None = None,
    untracked: Literal["error", "drop"] = "error",
    user_instances: bool = True,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
    return_info: bool = False,
) -> pl.DataFrame | tuple[pl.DataFrame, SourceInfo]:
    """Read a SLEAP ``.slp`` or ``.analysis.h5`` file into moveo's long table.

    One row per instance kept: track ``t`` (in the file's track order) becomes
    ``id`` ``t`` with the track's name in the ``individual`` column; skeleton node
    ``k`` becomes ``poseX{k}``/``poseY{k}`` with its point score as ``poseP{k}``
    (node names are kept in ``info.pose.keypoint_names``); the instance score is
    ``instance_score``, the tracker's score ``tracking_score``. A node SLEAP did
    not place is NaN; ``X``/``Y`` are the mean of the placed nodes. Frames where a
    track has no instance have no row (the tracks are gaps there). Coordinates
    stay in pixels.

    Policies (each documented, none silent):

    - **User-labelled vs predicted**: a user instance on the same track in the
      same frame replaces the predicted one (as SLEAP's own exports do;
      ``user_instances=False`` keeps predictions only). User instances have no
      scores: their placed points get ``poseP = 1.0`` (sleap-io's convention),
      ``instance_score``/``tracking_score`` are NaN, and ``user_labeled`` is True.
    - **Untracked instances**: a single-animal project (no tracks, at most one
      instance per frame) is read as ``id`` 0, individual ``"animal0"``. Otherwise
      an instance without a track has no identity to give it: ``untracked="error"``
      (default) raises, ``untracked="drop"`` leaves such instances out.

    Parameters
    ----------
    path : str or Path
        A ``.slp`` (project, predictions, ``.pkg.slp``) or ``.analysis.h5`` file.
    group : str, optional
        Group name (default: the file's folder name).
    sequence : str, optional
        Sequence name (default: the video file's name without suffix; a file of
        several videos gives one sequence per video). Only valid with one video
        (or with ``video=``).
    video : int or str, optional
        Read only this video (index in the file, or its file name / path).
    untracked : {"error", "drop"}, default "error"
        What to do with instances that have no track (see above).
    user_instances : bool, default True
        Prefer user-labelled instances over predictions on the same track.
    columns : Columns, optional
        Output column names.
    pose : PoseConfig, optional
        Output pose column prefixes.
    return_info : bool, default False
        Also return a :class:`~moveo.io.SourceInfo`: keypoint names (``info.pose``),
        track names, the video's fps when the file records one (usually it does
        not: SLEAP stores no frame rate), skeleton edges and video paths.

    Returns
    -------
    polars.DataFrame or (polars.DataFrame, SourceInfo)
        Columns group, sequence, id, individual, frame, X, Y, poseX/poseY/poseP per
        node, instance_score, tracking_score, user_labeled; sorted by
        (sequence, id, frame).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a SLEAP file (e.g. a DeepLabCut ``.h5``), a truncated or corrupt one,
        untracked instances with ``untracked="error"``, several skeletons, two
        instances on one track in one frame, or a file without instances.
    ImportError
        sleap-io is not installed.
    """
    if untracked not in ("error", "drop"):
        raise ValueError(f"read_sleap: untracked must be 'error' or 'drop', got {untracked!r}")
    columns = columns or COLUMNS
    pose = pose or POSE
    path = require_file(path, "a SLEAP .slp or .analysis.h5")
    sio = _import_sleap_io()
    labels = _load(path)

    videos = list(labels.videos)
    if video is not None:
        if isinstance(video, int):
            if not 0 <= video < len(videos):
                raise ValueError(f"{path}: video={video} but the file has {len(videos)} video(s)")
            chosen = [videos[video]]
        else:
            chosen = [
                v for v in videos
                if str(getattr(v, "filename", "")) == str(video)
                or Path(str(getattr(v, "filename", ""))).name == Path(str(video)).name
            ]
            if not chosen:
                names = [str(getattr(v, "filename", "")) for v in videos]
                raise ValueError(f"{path}: no video {video!r}; the file has {names}")
            chosen = chosen[:1]
    else:
        chosen = videos
    if sequence is not None and len(chosen) > 1:
        raise ValueError(
            f"{path}: sequence={sequence!r} given but the file has {len(chosen)} videos; pass "
            "video= to read one, or leave sequence= out (one sequence per video)"
        )
    video_pos = {id(v): i for i, v in enumerate(chosen)}
    seq_names = [
        validate_entry_name("sequence", sequence if sequence is not None else _video_name(v, path))
        for v in chosen
    ]
    if len(set(seq_names)) != len(seq_names):
        raise ValueError(
            f"{path}: several videos share a file name ({seq_names}); read them one at a "
            "time with video= and sequence="
        )
    group_name = validate_entry_name(
        "group", group if group is not None else path.absolute().parent.name
    )

    skeletons = list(labels.skeletons)
    if not skeletons:
        raise ValueError(f"{path}: the file has no skeleton, so no keypoints to read")
    track_pos = {id(t): i for i, t in enumerate(labels.tracks)}

    frames_of = [lf for lf in labels.labeled_frames if id(lf.video) in video_pos]
    max_per_frame = 0
    any_tracked = False
    for lf in frames_of:
        n_user = sum(1 for i in lf.instances if not isinstance(i, sio.PredictedInstance))
        max_per_frame = max(max_per_frame, n_user, len(lf.instances) - n_user)
        any_tracked = any_tracked or any(i.track is not None for i in lf.instances)
    single = not any_tracked and max_per_frame <= 1

    used_skeletons: dict[int, Any] = {}
    rows: list[tuple[int, int, int, Any, bool]] = []  # (video, frame, track, instance, user)
    n_untracked = 0
    first_untracked = None
    for lf in frames_of:
        vpos = video_pos[id(lf.video)]
        chosen_inst: dict[int, tuple[Any, bool]] = {}
        for inst in lf.instances:
            user = not isinstance(inst, sio.PredictedInstance)
            if user and not user_instances:
                continue
            if single:
                tpos = 0
            elif inst.track is None:
                n_untracked += 1
                first_untracked = first_untracked if first_untracked is not None else lf.frame_idx
                continue
            else:
                tpos = track_pos[id(inst.track)]
            previous = chosen_inst.get(tpos)
            if previous is not None:
                if previous[1] == user:
                    raise ValueError(
                        f"{path}: frame {lf.frame_idx} has two "
                        f"{'user' if user else 'predicted'} instances on track "
                        f"{inst.track.name if inst.track is not None else 0!r}; fix the "
                        "tracks in SLEAP (each track appears once per frame)"
                    )
                if previous[1]:  # keep the user instance
                    continue
            chosen_inst[tpos] = (inst, user)
            used_skeletons[id(inst.skeleton)] = inst.skeleton
        for tpos, (inst, user) in chosen_inst.items():
            rows.append((vpos, int(lf.frame_idx), tpos, inst, user))
    if n_untracked and untracked == "error":
        raise ValueError(
            f"{path}: {n_untracked} instance(s) have no track (first in frame "
            f"{first_untracked}), so they have no identity; track them in SLEAP first, or "
            "pass untracked='drop' to leave them out"
        )
    if len(used_skeletons) > 1:
        raise ValueError(
            f"{path}: instances use {len(used_skeletons)} different skeletons; moveo needs "
            "one set of keypoints per file"
        )
    skeleton = next(iter(used_skeletons.values()), skeletons[-1])
    node_names = [str(n) for n in skeleton.node_names]
    n_nodes = len(node_names)
    if not rows:
        raise ValueError(f"{path}: no instances to read in the chosen video(s)")

    n = len(rows)
    pts = np.full((n, n_nodes, 3), np.nan)
    inst_score = np.full(n, np.nan)
    track_score = np.full(n, np.nan)
    for r, (_, _, _, inst, user) in enumerate(rows):
        if user:
            xy = inst.numpy()
            pts[r, :, :2] = xy
            pts[r, :, 2] = np.where(np.isfinite(xy).all(axis=1), 1.0, np.nan)
        else:
            pts[r] = inst.numpy(scores=True)
            inst_score[r] = float(inst.score)
            ts = getattr(inst, "tracking_score", None)
            track_score[r] = np.nan if ts is None else float(ts)
    vpos = np.fromiter((r[0] for r in rows), np.int64, n)
    frame = np.fromiter((r[1] for r in rows), np.int64, n)
    tpos = np.fromiter((r[2] for r in rows), np.int64, n)
    user_flag = np.fromiter((r[4] for r in rows), np.bool_, n)
    xs, ys = pts[:, :, 0], pts[:, :, 1]
    cx, cy = centroid(xs, ys)
    track_names = ["animal0"] if single else [str(t.name) for t in labels.tracks]
    data: dict[str, Any] = {
        columns.seq_col: pl.Series(seq_names, dtype=pl.String).gather(vpos),
        columns.id_col: tpos,
        "individual": pl.Series(track_names, dtype=pl.String).gather(tpos),
        columns.frame_col: frame,
        columns.x_col: cx,
        columns.y_col: cy,
    }
    for k in range(n_nodes):
        data[f"{pose.x_prefix}{k}"] = xs[:, k].copy()
        data[f"{pose.y_prefix}{k}"] = ys[:, k].copy()
        data[f"{pose.confidence_prefix}{k}"] = pts[:, k, 2].copy()
    data["instance_score"] = inst_score
    data["tracking_score"] = track_score
    data["user_labeled"] = user_flag
    table = pl.DataFrame(data).sort(
        [columns.seq_col, columns.id_col, columns.frame_col], maintain_order=True
    )
    table = with_entry_names(table, group_name, None, columns)
    table = table.select(columns.group_col, pl.all().exclude(columns.group_col))
    if not return_info:
        return table

    fps_values = {getattr(v, "fps", None) for v in chosen} - {None}
    try:
        edges = [[str(a), str(b)] for a, b in skeleton.edge_names]
    except (AttributeError, TypeError):  # pragma: no cover - older sleap-io
        edges = []
    info = SourceInfo(
        source_software="SLEAP",
        source_file=str(path),
        fps=float(fps_values.pop()) if len(fps_values) == 1 else None,
        pose=PoseConfig(pose_n=n_nodes, keypoint_names=node_names),
        individuals=dict(enumerate(track_names)),
        extra={
            "skeleton": str(getattr(skeleton, "name", "") or ""),
            "edges": edges,
            "videos": {s: str(getattr(v, "filename", "")) for s, v in zip(seq_names, chosen,
                                                                           strict=True)},
            "untracked_dropped": n_untracked,
        },
    )
    return table, info
