"""Reader for CalMS21-style mouse pose files (``.json`` or ``.npy``).

The CalMS21 benchmark (Sun et al. 2021, Caltech Mouse Social Interactions)
ships each split as a ``.json`` (and the same dict saved with ``np.save`` as a
``.npy``) laid out as::

    {"annotator-id_0": {
        "task1/train/mouse001_task1_annotator1": {
            "keypoints":   (n_frames, n_mice=2, 2 (x, y), n_keypoints=7), pixels
            "scores":      (n_frames, n_mice, n_keypoints), pose-estimator confidence
            "annotations": (n_frames,) behaviour class index per frame
            "metadata":    {"vocab": {"attack": 0, "investigation": 1, "mount": 2,
                                      "other": 3}}
        }, ...}}

Mouse 0 is the resident, mouse 1 the intruder; the seven keypoints are nose,
left ear, right ear, neck, left hip, right hip, tail base. Videos are 30 Hz.
The per-frame annotations describe the resident's behaviour, so they label
``id`` 0. Unlabelled splits have no ``annotations``; files with only the inner
level (``{sequence: {...}}``) are read too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from moveo.io._common import SourceInfo, pose_table, require_file, with_entry_names
from moveo.io._safe_npy import load_npy
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig, validate_entry_name

__all__ = ["CALMS21_KEYPOINTS", "read_calms21"]

CALMS21_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_ear", "right_ear", "neck", "left_hip", "right_hip", "tail_base",
)
"""The seven CalMS21 keypoints, in the order of the last axis of ``keypoints``."""

_WHAT = "a CalMS21-style .json/.npy ({group: {sequence: {'keypoints': ...}}})"


def _load(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a text file ({exc}); {_WHAT} expected") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path}: not valid JSON ({exc}); truncated or corrupt file? {_WHAT} expected"
            ) from exc
    elif suffix == ".npy":
        data = load_npy(path, what=_WHAT)
    else:
        raise ValueError(f"{path}: unknown suffix {path.suffix!r}; {_WHAT} expected")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: holds a {type(data).__name__}, not {_WHAT}")
    return data


def _is_sequence(value: Any) -> bool:
    return isinstance(value, dict) and "keypoints" in value


def read_calms21(
    path: str | Path,
    *,
    group: str | None = None,
    fps: float | None = 30.0,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
    return_info: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame] | tuple[pl.DataFrame, pl.DataFrame, SourceInfo]:
    """Read a CalMS21-style file: tracks of every sequence plus their frame labels.

    Each sequence becomes one entry: group = the top-level key (the annotator,
    e.g. ``"annotator-id_0"``) unless ``group=`` is given, sequence = the last part
    of the sequence key (``mouse001_task1_annotator1``). Mouse ``m`` becomes ``id``
    ``m`` (``individual`` ``"resident"``/``"intruder"`` for two mice), keypoint
    ``k`` ``poseX{k}``/``poseY{k}`` with its score as ``poseP{k}``, ``X``/``Y`` the
    mean of the finite keypoints, in pixels.

    Parameters
    ----------
    path : str or Path
        The ``.json`` or ``.npy`` file.
    group : str, optional
        One group name for every sequence (default: the top-level keys).
    fps : float or None, default 30.0
        Frame rate to report in ``info.fps``. CalMS21 videos are 30 Hz; the files
        do not store it.
    columns : Columns, optional
        Output column names.
    pose : PoseConfig, optional
        Output pose column prefixes.
    return_info : bool, default False
        Also return a :class:`~moveo.io.SourceInfo` (keypoint names, fps, the
        vocabulary of each sequence in ``extra["vocab"]``).

    Returns
    -------
    tracks : polars.DataFrame
        Columns group, sequence, id, individual, frame, X, Y, pose columns; sorted
        by (sequence, id, frame).
    labels : polars.DataFrame
        One row per annotated frame: group, sequence, id (0, the resident), frame,
        label — the class *name* (String) when the sequence has a vocabulary, else
        the class index (Int64). Ready for ``moveo.labels.add_labels(ds,
        "behavior", labels)``. Empty (same columns) for unlabelled files.
    info : SourceInfo
        Only with ``return_info=True``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not CalMS21-style data, truncated or corrupt JSON / ``.npy``, keypoints not
        of shape (n_frames, n_mice, 2, n_keypoints), scores or annotations whose
        length differs from the keypoints', two sequences with the same name in
        one group.
    """
    columns = columns or COLUMNS
    pose = pose or POSE
    path = require_file(path, _WHAT)
    data = _load(path)
    if data and all(_is_sequence(v) for v in data.values()):
        nested = {path.stem: data}
    else:
        nested = {k: v for k, v in data.items() if isinstance(v, dict)}
        if not nested or not any(_is_sequence(s) for v in nested.values() for s in v.values()):
            hint = " (an idtracker.ai file? use moveo.io.read_idtracker)" if (
                "trajectories" in data) else ""
            raise ValueError(
                f"{path}: no sequences with 'keypoints' found (top-level keys "
                f"{sorted(map(str, data))[:6]}); {_WHAT} expected{hint}"
            )

    tracks, labels = [], []
    vocabs: dict[str, dict[str, int]] = {}
    seen: dict[tuple[str, str], str] = {}
    n_kp_all: set[int] = set()
    n_mice_all: set[int] = set()
    for top, sequences in nested.items():
        g = validate_entry_name("group", group if group is not None else top)
        for key, seq in sequences.items():
            if not _is_sequence(seq):
                continue
            s = validate_entry_name("sequence", str(key).replace("\\", "/").rsplit("/", 1)[-1])
            where = f"{path}: sequence {key!r}"
            if (g, s) in seen:
                raise ValueError(
                    f"{where} and {seen[(g, s)]!r} both become entry ({g!r}, {s!r}); "
                    "pass group= only for files whose sequence names are unique"
                )
            seen[(g, s)] = str(key)
            try:
                kp = np.asarray(seq["keypoints"], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: 'keypoints' is not a numeric array ({exc})") from exc
            if kp.ndim != 4 or kp.shape[2] != 2:
                raise ValueError(
                    f"{where}: 'keypoints' has shape {kp.shape}; expected (n_frames, n_mice, "
                    "2, n_keypoints)"
                )
            n_frames, n_mice, _, n_kp = kp.shape
            n_kp_all.add(n_kp)
            n_mice_all.add(n_mice)
            kp = np.where(np.isfinite(kp), kp, np.nan)
            scores = None
            if seq.get("scores") is not None:
                scores = np.asarray(seq["scores"], dtype=np.float64)
                if scores.shape != (n_frames, n_mice, n_kp):
                    raise ValueError(
                        f"{where}: 'scores' has shape {scores.shape}; expected "
                        f"{(n_frames, n_mice, n_kp)} to match 'keypoints'"
                    )
            names = (["resident", "intruder"] if n_mice == 2
                     else [f"mouse{m}" for m in range(n_mice)])
            tracks.append(pose_table(
                np.arange(n_frames), kp[:, :, 0, :].transpose(2, 1, 0),
                kp[:, :, 1, :].transpose(2, 1, 0),
                None if scores is None else scores.transpose(2, 1, 0),
                ids=np.arange(n_mice), names=names, group=g, sequence=s,
                columns=columns, pose=pose,
            ))
            if seq.get("annotations") is None:
                continue
            ann = np.asarray(seq["annotations"])
            if ann.shape != (n_frames,):
                raise ValueError(
                    f"{where}: 'annotations' has shape {ann.shape}; expected ({n_frames},), "
                    "one class per frame"
                )
            if ann.size and not np.issubdtype(ann.dtype, np.integer):
                as_float = ann.astype(np.float64)
                if not np.all(as_float == np.round(as_float)):
                    raise ValueError(f"{where}: 'annotations' are not class indices")
            ann = ann.astype(np.int64)
            vocab = (seq.get("metadata") or {}).get("vocab") if isinstance(
                seq.get("metadata"), dict) else None
            label: pl.Series
            if vocab:
                vocabs[f"{g}/{s}"] = {str(k): int(v) for k, v in vocab.items()}
                by_index = {int(v): str(k) for k, v in vocab.items()}
                unknown = sorted(set(np.unique(ann).tolist()) - set(by_index))
                if unknown:
                    raise ValueError(
                        f"{where}: annotation classes {unknown} are not in the vocabulary "
                        f"{vocab}"
                    )
                label = pl.Series("label", ann).replace_strict(by_index, return_dtype=pl.String)
            else:
                label = pl.Series("label", ann, pl.Int64)
            labels.append(with_entry_names(pl.DataFrame({
                columns.id_col: np.zeros(n_frames, dtype=np.int64),
                columns.frame_col: np.arange(n_frames, dtype=np.int64),
                "label": label,
            }), g, s, columns))
    track_table = pl.concat(tracks, how="vertical").sort(
        [columns.group_col, columns.seq_col, columns.id_col, columns.frame_col],
        maintain_order=True,
    )
    label_dtypes = {lab.schema["label"] for lab in labels}
    if len(label_dtypes) > 1:  # some sequences with a vocabulary, some without
        labels = [lab.with_columns(pl.col("label").cast(pl.String)) for lab in labels]
    if labels:
        label_table = pl.concat(labels, how="vertical")
    else:
        label_table = pl.DataFrame(schema={
            columns.group_col: pl.String, columns.seq_col: pl.String, columns.id_col: pl.Int64,
            columns.frame_col: pl.Int64, "label": pl.String,
        })
    if not return_info:
        return track_table, label_table
    n_kp = n_kp_all.pop() if len(n_kp_all) == 1 else max(n_kp_all)
    kp_names = list(CALMS21_KEYPOINTS) if n_kp == len(CALMS21_KEYPOINTS) else None
    n_mice = max(n_mice_all)
    info = SourceInfo(
        source_software="CalMS21",
        source_file=str(path),
        fps=None if fps is None else float(fps),
        pose=PoseConfig(pose_n=n_kp, keypoint_names=kp_names),
        individuals=dict(enumerate(["resident", "intruder"] if n_mice == 2
                                   else [f"mouse{m}" for m in range(n_mice)])),
        extra={"vocab": vocabs, "sequences": {f"{g}/{s}": k for (g, s), k in seen.items()}},
    )
    return track_table, label_table, info
