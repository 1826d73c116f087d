"""Column-name conventions for tracking data.

moveo never hard-codes a column name: features ask :class:`Columns` and
:class:`PoseConfig`. To use other names, pass instances to the dataset instead
of patching globals::

    from moveo import Dataset
    from moveo.schema import Columns, PoseConfig

    ds = Dataset.create(
        "my_ds",
        fps=30.0,
        columns=Columns(id_col="animal", x_col="x", y_col="y"),
        pose=PoseConfig(pose_n=5, keypoint_names=["nose", "l_ear", "r_ear", "body", "tail"]),
    )

The dataset stores them in ``dataset.json``; every feature run on that dataset
reads them from there.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "COLUMNS",
    "POSE",
    "Columns",
    "PoseConfig",
    "StrictModel",
    "NAME_MAX",
    "validate_entry_name",
    "validate_path_name",
    "validation_message",
]


class StrictModel(BaseModel):
    """Base for moveo's configuration models: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class Columns(StrictModel):
    """Dataset column name conventions.

    Attributes
    ----------
    id_col : str
        Individual identifier column. Default ``"id"``.
    seq_col : str
        Sequence (recording / video) identifier column. Default ``"sequence"``.
    group_col : str
        Group (session / subject / arena) identifier column. Default ``"group"``.
    frame_col : str
        Integer frame number column. Default ``"frame"``.
    time_col : str
        Timestamp column, seconds. Default ``"time"``.
    order_by : {"frames", "time"}
        Preferred temporal ordering column. Default ``"frames"``.
    x_col, y_col : str
        Position columns. Defaults ``"X"``, ``"Y"``.
    orientation_col : str
        Body heading in radians. Default ``"ANGLE"``.
    """

    id_col: str = "id"
    seq_col: str = "sequence"
    group_col: str = "group"
    frame_col: str = "frame"
    time_col: str = "time"
    order_by: Literal["frames", "time"] = "frames"
    x_col: str = "X"
    y_col: str = "Y"
    orientation_col: str = "ANGLE"

    def meta_set(self) -> set[str]:
        """Return the five metadata column names as a set.

        Spatial columns (x, y, orientation) are data, not metadata, and are
        intentionally excluded.

        Returns
        -------
        set of str
            ``{group_col, seq_col, id_col, frame_col, time_col}``.
        """
        return {self.group_col, self.seq_col, self.id_col, self.frame_col, self.time_col}

    def key_cols(self) -> list[str]:
        """Return the row key of a feature output, in order.

        Returns
        -------
        list of str
            ``[group_col, seq_col, id_col, frame_col]``.
        """
        return [self.group_col, self.seq_col, self.id_col, self.frame_col]

    @property
    def order_col(self) -> str:
        """The column named by :attr:`order_by`."""
        return self.frame_col if self.order_by == "frames" else self.time_col


class PoseConfig(StrictModel):
    """Pose keypoint column naming and selection.

    Keypoint ``k`` lives in columns ``f"{x_prefix}{k}"``, ``f"{y_prefix}{k}"`` and
    (optionally) ``f"{confidence_prefix}{k}"``.

    Attributes
    ----------
    pose_n : int
        Total number of keypoints in the data. Default 7.
    pose_indices : list of int or None
        Subset of keypoint indices features use. ``None`` uses all.
    x_prefix, y_prefix, confidence_prefix : str
        Column prefixes. Defaults ``"poseX"``, ``"poseY"``, ``"poseP"``.
    keypoint_names : list of str or None
        Human-readable names, one per keypoint. ``None`` means ``kp0, kp1, ...``.
    """

    pose_n: int = Field(default=7, ge=0)
    pose_indices: list[int] | None = None
    x_prefix: str = "poseX"
    y_prefix: str = "poseY"
    confidence_prefix: str = "poseP"
    keypoint_names: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> PoseConfig:
        if self.pose_indices is not None:
            bad = [i for i in self.pose_indices if not 0 <= i < self.pose_n]
            if bad:
                raise ValueError(
                    f"pose_indices {bad} are outside 0..{self.pose_n - 1} (pose_n={self.pose_n})"
                )
        if self.keypoint_names is not None and len(self.keypoint_names) != self.pose_n:
            raise ValueError(
                f"keypoint_names has {len(self.keypoint_names)} names but pose_n={self.pose_n}"
            )
        return self

    def indices(self) -> list[int]:
        """Return the keypoint indices in use (``pose_indices`` or all).

        Returns
        -------
        list of int
        """
        return list(range(self.pose_n)) if self.pose_indices is None else list(self.pose_indices)

    def x_cols(self, indices: list[int] | None = None) -> list[str]:
        """Return the X column names of the keypoints in use."""
        return [f"{self.x_prefix}{k}" for k in (self.indices() if indices is None else indices)]

    def y_cols(self, indices: list[int] | None = None) -> list[str]:
        """Return the Y column names of the keypoints in use."""
        return [f"{self.y_prefix}{k}" for k in (self.indices() if indices is None else indices)]

    def confidence_cols(self, indices: list[int] | None = None) -> list[str]:
        """Return the confidence column names of the keypoints in use."""
        return [
            f"{self.confidence_prefix}{k}" for k in (self.indices() if indices is None else indices)
        ]

    def names(self) -> list[str]:
        """Return one human-readable name per keypoint (all ``pose_n`` of them)."""
        if self.keypoint_names is not None:
            return list(self.keypoint_names)
        return [f"kp{k}" for k in range(self.pose_n)]


COLUMNS = Columns()
"""Default column names (read-only by convention: pass your own instead)."""

POSE = PoseConfig()
"""Default pose configuration."""

_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")

NAME_MAX = 255
"""Longest file or folder name, in bytes, on the filesystems moveo supports (ext4, xfs,
btrfs, APFS, NTFS, ...)."""

TEMP_NAME_OVERHEAD = len(".") + len(".tmp-") + 12
"""Bytes an atomic write adds to a file name (``.<name>.tmp-<12 hex>``, see
:func:`moveo._fs.temp_path`)."""

_SUFFIX = {"sequence": ".parquet"}
# the longest suffix moveo appends to a name of this kind when it becomes a file


def validate_path_name(kind: str, name: object, *, suffix: str | None = None) -> str:
    """Check that a name is safe to use as one path component inside a dataset.

    Every name that becomes part of a path goes through here: group and sequence
    names, feature and model names, run ids (also those read back from the registry
    or from ``.moveo/pipeline.json``), so no name can point outside its folder.

    Parameters
    ----------
    kind : str
        What the name is (``"group"``, ``"sequence"``, ``"feature"``, ``"model"``,
        ``"run id"``...), used in the error message.
    name : object
        The candidate name; converted with ``str``.
    suffix : str, optional
        The longest file suffix appended to the name (default: ``".parquet"`` for
        sequences, none otherwise). The name plus suffix plus the temporary-file
        decoration of an atomic write must fit in :data:`NAME_MAX` bytes.

    Returns
    -------
    str
        The validated name.

    Raises
    ------
    ValueError
        If the name is empty, ``.``/``..``, starts with ``.``, contains a path
        separator or a control character, has leading/trailing whitespace, or is
        too long for a file name.
    """
    text = str(name)
    tail = _SUFFIX.get(kind, "") if suffix is None else suffix
    problem = None
    if not text.strip():
        problem = "it is empty"
    elif text in {".", ".."}:
        problem = "'.' and '..' are not allowed"
    elif text.startswith("."):
        problem = "names starting with '.' are reserved"
    elif _BAD_NAME.search(text):
        problem = "it contains a path separator ('/' or '\\') or a control character"
    elif text != text.strip():
        problem = "it has leading or trailing whitespace"
    else:
        size = len((text + tail).encode("utf-8", "surrogateescape")) + TEMP_NAME_OVERHEAD
        if size > NAME_MAX:
            limit = NAME_MAX - TEMP_NAME_OVERHEAD - len(tail.encode())
            problem = (
                f"it is {size - TEMP_NAME_OVERHEAD - len(tail.encode())} bytes long (UTF-8); "
                f"{kind} names can have at most {limit} bytes, so that the file name moveo "
                f"writes ('.<name>{tail}.tmp-<12 hex>') fits the {NAME_MAX}-byte limit of "
                "file names"
            )
    if problem:
        shown = text if len(text) <= 80 else text[:60] + "..." + text[-10:]
        raise ValueError(
            f"unsafe {kind} name {shown!r}: {problem}. {kind.capitalize()} names become "
            "folder and file names inside the dataset"
        )
    return text


def validate_entry_name(kind: str, name: object) -> str:
    """Check that a group or sequence name is safe to use as a path component.

    Parameters
    ----------
    kind : str
        ``"group"`` or ``"sequence"`` (used in the error message).
    name : object
        The candidate name; converted with ``str``.

    Returns
    -------
    str
        The validated name.

    Raises
    ------
    ValueError
        As :func:`validate_path_name`; the message adds that the entry must be
        renamed before ingesting.
    """
    try:
        return validate_path_name(kind, name)
    except ValueError as exc:
        raise ValueError(f"{exc}; rename it before ingesting") from None


def validation_message(exc: BaseException, *, what: str = "parameter") -> str:
    """Return a pydantic validation error as one readable line.

    Parameters
    ----------
    exc : BaseException
        A ``pydantic.ValidationError`` (any other exception gives ``str(exc)``).
    what : str
        What a field is called in the message.

    Returns
    -------
    str
        E.g. ``parameter 'window': Input should be greater than 0 (got -1)``, one
        clause per error, joined by ``"; "``.
    """
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return " ".join(str(exc).split())
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "value"
        got = f" (got {err['input']!r})" if "input" in err and err["type"] != "missing" else ""
        parts.append(f"{what} {where!r}: {err['msg']}{got}")
    return "; ".join(parts)
