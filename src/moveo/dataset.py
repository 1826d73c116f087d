"""The on-disk dataset: manifest, entries, ingestion and scoped reading.

A dataset root looks like::

    dataset.json                         manifest: name, fps, columns, pose, kind, schema version
    tracks/<group>/<sequence>.parquet    one entry per (group, sequence), sorted by (id, frame)
    tracks/<group>/<sequence>.json       entry sidecar: row count, frame range, content hash
    features/<feature>/<run_id>/...      feature outputs (see moveo.pipeline)
    models/<name>/<run_id>/...           trained models
    labels/<kind>/<group>/<sequence>.parquet
    .moveo/registry.db                   SQLite registry

Every parquet file moveo writes goes through :func:`atomic_write_parquet`: a
temporary name in the same folder, fsync, then ``os.replace``. A crash leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from moveo._fs import atomic_write_bytes, atomic_write_parquet, sweep_temp_files
from moveo.schema import Columns, PoseConfig, validate_entry_name

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "Dataset",
    "UnreadableEntryError",
    "atomic_write_bytes",
    "atomic_write_parquet",
    "sweep_temp_files",
    "to_polars",
]

log = logging.getLogger("moveo.dataset")

MANIFEST_NAME = "dataset.json"
SCHEMA_VERSION = 1

Kind = Literal["tracks", "emg"]


class UnreadableEntryError(ValueError):
    """A stored entry's file cannot be read (truncated, overwritten, not parquet).

    Attributes
    ----------
    group, sequence : str
        The entry.
    path : Path
        Its file.
    """

    def __init__(self, group: str, sequence: str, path: Path, cause: BaseException):
        self.group = group
        self.sequence = sequence
        self.path = path
        detail = " ".join(str(cause).split()) or type(cause).__name__
        super().__init__(
            f"the tracks file {path} of entry (group={group!r}, sequence={sequence!r}) is "
            f"unreadable ({detail}); restore it, re-ingest the entry with "
            "add_tracks(..., overwrite=True) or remove it with ds.remove_entry"
        )


# a damaged file raises one of these while polars reads it
_READ_ERRORS = (pl.exceptions.PolarsError, OSError)


def _meta_json(meta: Any, source: str) -> bytes:
    """Canonical JSON bytes of entry metadata (a dict, or an object with ``to_meta()``)."""
    value = meta.to_meta() if hasattr(meta, "to_meta") else meta
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{source}: meta must be a dict or a SourceInfo, got {type(meta).__name__}"
        )
    try:
        return json.dumps(dict(value), sort_keys=True, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{source}: meta must hold JSON values only ({exc})") from exc


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _infinite_as_missing(df: pl.DataFrame, source: str, c: Columns) -> pl.DataFrame:
    """Replace +-inf in float columns by NaN (missing), logging how many and where.

    moveo's policy for non-finite values: a coordinate (or any float value) that
    is not finite is missing, exactly like a tracking gap, in every feature.
    """
    floats = [col for col, dt in df.schema.items() if dt.is_float()]
    if not floats or not df.height:
        return df
    counts = df.select(pl.col(floats).is_infinite().sum()).row(0)
    bad = {col: int(n) for col, n in zip(floats, counts, strict=True) if n}
    if not bad:
        return df
    first = df.filter(pl.any_horizontal(pl.col(list(bad)).is_infinite())).row(0, named=True)
    where = ", ".join(
        f"{k}={first[k]!r}" for k in (c.group_col, c.seq_col, c.id_col, c.frame_col) if k in first
    )
    log.warning(
        "%s: %d infinite value(s) treated as missing (NaN): %s; first at %s",
        source,
        sum(bad.values()),
        ", ".join(f"{col} {n}" for col, n in bad.items()),
        where,
    )
    return df.with_columns(
        pl.when(pl.col(col).is_infinite())
        .then(pl.lit(float("nan"), dtype=df.schema[col]))  # float32 stays float32
        .otherwise(pl.col(col))
        .alias(col)
        for col in bad
    )


# --------------------------------------------------------------------------- table conversion
def to_polars(table: Any, *, source: str = "table") -> pl.DataFrame:
    """Convert a polars, pandas or Arrow table (or a dict of columns) to polars.

    Parameters
    ----------
    table : polars.DataFrame, polars.LazyFrame, pandas.DataFrame, pyarrow.Table, or dict
        The input table.
    source : str
        Name used in error messages.

    Returns
    -------
    polars.DataFrame

    Raises
    ------
    TypeError
        If the object is not a supported table type.
    """
    if isinstance(table, pl.DataFrame):
        return table
    if isinstance(table, pl.LazyFrame):
        return table.collect()
    if isinstance(table, dict):
        return pl.DataFrame(table)
    module = type(table).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(table)
    if module == "pyarrow":
        out = pl.from_arrow(table)
        if isinstance(out, pl.Series):
            return out.to_frame()
        return out
    raise TypeError(
        f"{source}: expected a polars/pandas/pyarrow table or a dict of columns, "
        f"got {type(table).__name__}"
    )


def _first_order_violation(ids: np.ndarray, frames: np.ndarray) -> int:
    """Return the first index i where (id, frame)[i] >= (id, frame)[i+1], or -1."""
    if ids.size < 2:
        return -1
    d_id = np.diff(ids)
    d_fr = np.diff(frames)
    bad = (d_id < 0) | ((d_id == 0) & (d_fr <= 0))
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else -1


# --------------------------------------------------------------------------- Dataset
class Dataset:
    """A dataset of tracking (or EMG) entries on disk.

    Create one with :meth:`create` or open an existing one with :meth:`open`;
    do not call the constructor directly.

    Parameters
    ----------
    root : Path
        Dataset root folder.
    manifest : dict
        Parsed ``dataset.json``.

    Examples
    --------
    >>> import polars as pl, tempfile
    >>> from moveo import Dataset
    >>> ds = Dataset.create(tempfile.mkdtemp() + "/ds", fps=30.0)
    >>> tracks = pl.DataFrame({"group": "g1", "sequence": "s1", "id": [0, 0, 1],
    ...                        "frame": [0, 1, 0], "X": [0.0, 1.0, 5.0], "Y": [0.0, 0.0, 5.0]})
    >>> ds.add_tracks(tracks)
    [('g1', 's1')]
    >>> ds.read("g1", "s1").shape
    (3, 6)
    """

    def __init__(self, root: Path, manifest: dict[str, Any]):
        self._root = Path(root).absolute()  # workers on other machines need absolute paths
        self._manifest = manifest
        self._columns = Columns.model_validate(manifest.get("columns", {}))
        self._pose = PoseConfig.model_validate(manifest.get("pose", {}))

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        root: str | Path,
        *,
        fps: float | None = None,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
        kind: Kind = "tracks",
        name: str | None = None,
        meta: dict[str, Any] | None = None,
        exist_ok: bool = False,
    ) -> Dataset:
        """Create a new dataset at ``root``.

        Parameters
        ----------
        root : str or Path
            Folder for the dataset (created; may exist if empty).
        fps : float, optional
            Frames per second (for ``kind="emg"``: the sampling rate in Hz).
        columns : Columns, optional
            Column-name conventions; defaults to :class:`moveo.schema.Columns()`.
        pose : PoseConfig, optional
            Pose keypoint conventions; defaults to :class:`moveo.schema.PoseConfig()`.
        kind : {"tracks", "emg"}
            Tracking data (X/Y required) or EMG recordings.
        name : str, optional
            Human-readable name (default: the folder name).
        meta : dict, optional
            Free-form JSON-serialisable metadata stored in the manifest.
        exist_ok : bool, default False
            If a dataset already exists at ``root``, open it instead of failing.

        Returns
        -------
        Dataset

        Raises
        ------
        FileExistsError
            If ``root`` already holds a dataset (and ``exist_ok`` is False) or is a
            non-empty folder that is not a dataset.
        ValueError
            If ``fps`` is not positive.
        """
        root = Path(root)
        manifest_path = root / MANIFEST_NAME
        if manifest_path.exists():
            if exist_ok:
                return cls.open(root)
            raise FileExistsError(
                f"a dataset already exists at {root}; use Dataset.open({str(root)!r})"
            )
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(
                f"{root} is a non-empty folder without {MANIFEST_NAME}; choose an empty "
                "or new folder for the dataset"
            )
        if fps is not None:
            fps = float(fps)
            if not np.isfinite(fps) or fps <= 0:
                raise ValueError(f"fps must be a positive number, got {fps}")
        if kind not in ("tracks", "emg"):
            raise ValueError(f"kind must be 'tracks' or 'emg', got {kind!r}")
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "name": name or root.name,
            "kind": kind,
            "fps": fps,
            "columns": (columns or Columns()).model_dump(),
            "pose": (pose or PoseConfig()).model_dump(),
            "meta": dict(meta or {}),
        }
        json.dumps(manifest)  # fail early on non-serialisable meta
        for sub in ("tracks", "features", "models", "labels", ".moveo"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(json.dumps(manifest, indent=2).encode(), manifest_path)
        return cls(root, manifest)

    @classmethod
    def open(cls, root: str | Path) -> Dataset:
        """Open an existing dataset.

        Parameters
        ----------
        root : str or Path
            Dataset root folder (containing ``dataset.json``).

        Returns
        -------
        Dataset

        Raises
        ------
        FileNotFoundError
            If there is no ``dataset.json`` under ``root``.
        ValueError
            If the manifest was written by a newer moveo.
        """
        root = Path(root)
        manifest_path = root / MANIFEST_NAME
        if not manifest_path.exists():
            raise FileNotFoundError(
                f"no dataset at {root} (missing {MANIFEST_NAME}); create one with "
                f"Dataset.create({str(root)!r}, fps=...)"
            )
        manifest = json.loads(manifest_path.read_text())
        version = int(manifest.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"{manifest_path} has schema version {version}, newer than this moveo "
                f"understands ({SCHEMA_VERSION}); upgrade moveo to open it"
            )
        return cls(root, manifest)

    def _write_manifest(self) -> None:
        atomic_write_bytes(
            json.dumps(self._manifest, indent=2).encode(), self._root / MANIFEST_NAME
        )

    # ------------------------------------------------------------------ properties
    @property
    def root(self) -> Path:
        """Dataset root folder."""
        return self._root

    @property
    def name(self) -> str:
        """Human-readable dataset name."""
        return str(self._manifest.get("name", self._root.name))

    @property
    def kind(self) -> Kind:
        """``"tracks"`` or ``"emg"``."""
        return self._manifest.get("kind", "tracks")

    @property
    def fps(self) -> float | None:
        """Frames per second (sampling rate for EMG datasets), or None if unknown."""
        return self._manifest.get("fps")

    @property
    def columns(self) -> Columns:
        """Column-name conventions of this dataset."""
        return self._columns

    @property
    def pose(self) -> PoseConfig:
        """Pose keypoint conventions of this dataset."""
        return self._pose

    @property
    def meta(self) -> dict[str, Any]:
        """Free-form metadata stored in the manifest (a copy)."""
        return dict(self._manifest.get("meta", {}))

    @property
    def manifest(self) -> dict[str, Any]:
        """The parsed manifest (a deep copy)."""
        return json.loads(json.dumps(self._manifest))

    @property
    def tracks_root(self) -> Path:
        """``<root>/tracks``."""
        return self._root / "tracks"

    @property
    def features_root(self) -> Path:
        """``<root>/features``."""
        return self._root / "features"

    @property
    def models_root(self) -> Path:
        """``<root>/models``."""
        return self._root / "models"

    @property
    def labels_root(self) -> Path:
        """``<root>/labels``."""
        return self._root / "labels"

    @property
    def internal_root(self) -> Path:
        """``<root>/.moveo`` (registry and other bookkeeping)."""
        return self._root / ".moveo"

    def set_fps(self, fps: float) -> None:
        """Set the dataset's frames per second in the manifest.

        Parameters
        ----------
        fps : float
            A positive number.
        """
        fps = float(fps)
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps}")
        self._manifest["fps"] = fps
        self._write_manifest()

    def update_meta(self, **values: Any) -> None:
        """Merge JSON-serialisable ``values`` into the manifest's ``meta``.

        Parameters
        ----------
        **values
            Keys and values to store.
        """
        meta = dict(self._manifest.get("meta", {}))
        meta.update(values)
        json.dumps(meta)
        self._manifest["meta"] = meta
        self._write_manifest()

    def __repr__(self) -> str:
        return (
            f"Dataset({str(self._root)!r}, kind={self.kind!r}, fps={self.fps}, "
            f"entries={len(self.entries())})"
        )

    # ------------------------------------------------------------------ entries
    def entry_path(self, group: str, sequence: str) -> Path:
        """Return the parquet path of an entry (validating the names).

        Parameters
        ----------
        group, sequence : str
            Entry names.

        Returns
        -------
        Path
        """
        g = validate_entry_name("group", group)
        s = validate_entry_name("sequence", sequence)
        return self.tracks_root / g / f"{s}.parquet"

    def _sidecar_path(self, group: str, sequence: str) -> Path:
        return self.tracks_root / group / f"{sequence}.json"

    def _meta_path(self, group: str, sequence: str) -> Path:
        # entry names never start with '.', so .meta/ cannot clash with an entry
        return self.tracks_root / group / ".meta" / f"{sequence}.json"

    def has_entry(self, group: str, sequence: str) -> bool:
        """Return True if the entry ``(group, sequence)`` exists."""
        return self.entry_path(group, sequence).exists()

    def entries(
        self, groups: Iterable[str] | None = None, sequences: Iterable[str] | None = None
    ) -> list[tuple[str, str]]:
        """List entries as sorted ``(group, sequence)`` pairs.

        Parameters
        ----------
        groups, sequences : iterable of str, optional
            Keep only these groups / sequences.

        Returns
        -------
        list of (str, str)
        """
        gset = None if groups is None else {str(g) for g in _as_list(groups)}
        sset = None if sequences is None else {str(s) for s in _as_list(sequences)}
        out = []
        if not self.tracks_root.exists():
            return out
        for gdir in sorted(p for p in self.tracks_root.iterdir() if p.is_dir()):
            if gdir.name.startswith(".") or (gset is not None and gdir.name not in gset):
                continue
            for f in sorted(gdir.glob("*.parquet")):
                if f.name.startswith("."):
                    continue
                if sset is None or f.stem in sset:
                    out.append((gdir.name, f.stem))
        return out

    def _require_entry(self, group: str, sequence: str) -> Path:
        path = self.entry_path(group, sequence)
        if not path.exists():
            known = self.entries()
            hint = f" Known entries: {known[:10]}{' ...' if len(known) > 10 else ''}"
            raise KeyError(
                f"no entry (group={group!r}, sequence={sequence!r}) in {self.root}.{hint}"
            )
        return path

    def entry_info(self, group: str, sequence: str) -> dict[str, Any]:
        """Return an entry's sidecar information.

        Parameters
        ----------
        group, sequence : str
            Entry names.

        Returns
        -------
        dict
            ``n_rows``, ``n_ids``, ``frame_min``, ``frame_max``, ``columns``,
            ``sha256``, ``size``, ``mtime_ns``.
        """
        path = self._require_entry(group, sequence)
        side = self._sidecar_path(group, sequence)
        if side.exists():
            try:
                info = json.loads(side.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                info = {}  # a damaged sidecar is only a cache: describe the file again
            st = path.stat()
            if (
                isinstance(info, dict)
                and info.get("size") == st.st_size
                and info.get("mtime_ns") == st.st_mtime_ns
            ):
                return info
        return self._describe_entry(path)

    def _describe_entry(self, path: Path, df: pl.DataFrame | None = None) -> dict[str, Any]:
        c = self._columns
        try:
            if df is None:
                df = pl.read_parquet(path, columns=[c.id_col, c.frame_col])
            columns = list(pl.read_parquet_schema(path).keys())
        except _READ_ERRORS as exc:
            raise UnreadableEntryError(path.parent.name, path.stem, path, exc) from exc
        st = path.stat()
        return {
            "n_rows": df.height,
            "n_ids": int(df[c.id_col].n_unique()) if df.height else 0,
            "frame_min": int(df[c.frame_col].min()) if df.height else None,
            "frame_max": int(df[c.frame_col].max()) if df.height else None,
            "columns": columns,
            "sha256": _file_sha256(path),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        }

    def fingerprint(self, group: str, sequence: str) -> str:
        """Return the content fingerprint of an entry.

        The sha256 of the parquet file; when the entry has metadata
        (:meth:`entry_meta`), the hash of that digest and the metadata.

        Cheap when the file is unchanged since ingest (size and mtime match the
        sidecar); otherwise the file is hashed again, so an entry replaced behind
        moveo's back still gets a new fingerprint.

        Parameters
        ----------
        group, sequence : str
            Entry names.

        Returns
        -------
        str
            Hex digest.
        """
        digest = str(self.entry_info(group, sequence)["sha256"])
        meta = self._meta_path(group, sequence)
        if meta.exists():
            # metadata (e.g. a calibration) changes what features compute from the entry
            h = hashlib.sha256(digest.encode())
            h.update(meta.read_bytes())
            digest = h.hexdigest()
        return digest

    def refresh_entry_info(self, group: str, sequence: str) -> dict[str, Any]:
        """Recompute and store an entry's sidecar (row count, frame range, content hash).

        Call this after placing an entry's parquet file by other means than
        :meth:`add_tracks` (e.g. the realtime recorder, which streams a session to a
        temporary file and renames it into place).

        Parameters
        ----------
        group, sequence : str
            Entry names.

        Returns
        -------
        dict
            The new sidecar content (as :meth:`entry_info`).
        """
        path = self._require_entry(group, sequence)
        info = self._describe_entry(path)
        atomic_write_bytes(json.dumps(info, indent=1).encode(), self._sidecar_path(group, sequence))
        return info

    def remove_entry(self, group: str, sequence: str) -> None:
        """Delete an entry's tracks file and sidecar.

        Parameters
        ----------
        group, sequence : str
            Entry names.
        """
        path = self._require_entry(group, sequence)
        path.unlink()
        self._sidecar_path(group, sequence).unlink(missing_ok=True)
        self._meta_path(group, sequence).unlink(missing_ok=True)

    # ------------------------------------------------------------------ ingest
    def add_tracks(
        self,
        table: Any,
        *,
        group: str | None = None,
        sequence: str | None = None,
        overwrite: bool = False,
        sort: bool = True,
        source: str | None = None,
        meta: Any = None,
    ) -> list[tuple[str, str]]:
        """Add tracks, split into one entry per (group, sequence).

        The whole table is validated before anything is written: a failed ingest
        leaves the dataset exactly as it was.

        Parameters
        ----------
        table : polars/pandas/pyarrow table or dict of columns
            Long table, one row per (individual, frame). Must have the id and frame
            columns (and X, Y for tracking datasets); group/sequence columns are
            optional when ``group``/``sequence`` are given.
        group, sequence : str, optional
            Entry names for tables without group/sequence columns.
        overwrite : bool, default False
            Replace entries that already exist (otherwise that is an error).
        sort : bool, default True
            Sort rows by (id, frame) when they are not already. With ``sort=False``
            unsorted rows are an error.
        source : str, optional
            Where the table came from (a file path), used in error messages.
        meta : dict or SourceInfo, optional
            Entry metadata to store with every entry written (frame rate,
            calibration such as ``cm_per_pixel``, keypoint names, source file), e.g.
            the :class:`moveo.io.SourceInfo` a reader returns with
            ``return_info=True``; read it back with :meth:`entry_meta`. It is part
            of the entry's fingerprint, so changing it makes features computed from
            the entry stale. ``overwrite=True`` replaces an entry's metadata too.

        Returns
        -------
        list of (str, str)
            The entries written, in order.

        Raises
        ------
        ValueError
            Empty table, missing columns, unsafe names, duplicate (id, frame) rows,
            unsorted rows with ``sort=False``.
        TypeError
            Wrong column dtypes (e.g. a string X column).
        FileExistsError
            An entry exists and ``overwrite`` is False.
        """
        src = source or "table"
        meta_bytes = None if meta is None else _meta_json(meta, src)
        df = to_polars(table, source=src)
        prepared = self._prepare(df, group=group, sequence=sequence, sort=sort, source=src)
        existing = [key for key in prepared if self.has_entry(*key)]
        if existing and not overwrite:
            raise FileExistsError(
                f"{src}: entries already exist in {self.root}: {existing[:5]}"
                f"{' ...' if len(existing) > 5 else ''}; pass overwrite=True to replace them"
            )
        for (g, s), part in prepared.items():
            path = self.entry_path(g, s)
            atomic_write_parquet(part, path)
            info = self._describe_entry(path, part)
            atomic_write_bytes(json.dumps(info, indent=1).encode(), self._sidecar_path(g, s))
            if meta_bytes is None:
                self._meta_path(g, s).unlink(missing_ok=True)
            else:
                atomic_write_bytes(meta_bytes, self._meta_path(g, s))
        return list(prepared)

    def entry_meta(self, group: str, sequence: str) -> dict[str, Any]:
        """Return the metadata stored with an entry (``{}`` when there is none).

        Parameters
        ----------
        group, sequence : str
            Entry names.

        Returns
        -------
        dict
            What :meth:`add_tracks` or :meth:`set_entry_meta` stored (e.g. ``fps``,
            ``calibration``, ``source_software``).

        Raises
        ------
        ValueError
            The metadata file is not valid JSON (its path is named).
        """
        self._require_entry(group, sequence)
        path = self._meta_path(group, sequence)
        if not path.exists():
            return {}
        try:
            value = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"entry metadata {path} is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ValueError(f"entry metadata {path} must hold a JSON object")
        return value

    def set_entry_meta(self, group: str, sequence: str, meta: Any) -> None:
        """Replace an entry's metadata (a dict of JSON values, or a ``SourceInfo``).

        Parameters
        ----------
        group, sequence : str
            Entry names.
        meta : dict or SourceInfo
            The new metadata; ``{}`` removes it.
        """
        self._require_entry(group, sequence)
        data = _meta_json(meta, f"entry ({group!r}, {sequence!r})")
        if data == b"{}":
            self._meta_path(group, sequence).unlink(missing_ok=True)
        else:
            atomic_write_bytes(data, self._meta_path(group, sequence))

    def _prepare(
        self,
        df: pl.DataFrame,
        *,
        group: str | None,
        sequence: str | None,
        sort: bool,
        source: str,
    ) -> dict[tuple[str, str], pl.DataFrame]:
        c = self._columns
        if df.height == 0:
            raise ValueError(f"{source}: the table is empty (no rows); nothing to ingest")
        for col, given, kind in ((c.group_col, group, "group"), (c.seq_col, sequence, "sequence")):
            if col in df.columns and given is not None:
                raise ValueError(
                    f"{source}: the table has a {col!r} column and {kind}= was also given; "
                    f"drop the column or the argument"
                )
            if col not in df.columns and given is None:
                raise ValueError(
                    f"{source}: no {col!r} column and no {kind}= argument; pass "
                    f"{kind}='...' or add the column"
                )
        if group is not None:
            df = df.with_columns(pl.lit(validate_entry_name("group", group)).alias(c.group_col))
        if sequence is not None:
            df = df.with_columns(pl.lit(validate_entry_name("sequence", sequence)).alias(c.seq_col))

        required = [c.id_col, c.frame_col]
        if self.kind == "tracks":
            required += [c.x_col, c.y_col]
        missing = [col for col in required if col not in df.columns]
        if missing:
            raise ValueError(
                f"{source}: missing required column(s) {missing}; the table has "
                f"{df.columns}. Rename columns or pass a Columns(...) with your names "
                f"to Dataset.create"
            )
        df = self._coerce_dtypes(df, source)

        for col in (c.group_col, c.seq_col):
            if df[col].null_count():
                raise ValueError(f"{source}: column {col!r} has null values")
            df = df.with_columns(pl.col(col).cast(pl.String))
        names = df.select(c.group_col, c.seq_col).unique(maintain_order=True)
        for g, s in names.iter_rows():
            validate_entry_name("group", g)
            validate_entry_name("sequence", s)

        out: dict[tuple[str, str], pl.DataFrame] = {}
        parts = df.partition_by([c.group_col, c.seq_col], maintain_order=True, as_dict=True)
        for (g, s), part in parts.items():
            part = part.drop(c.group_col, c.seq_col)
            entry = f"{source}: entry (group={g!r}, sequence={s!r})"
            ids = part[c.id_col].to_numpy()
            frames = part[c.frame_col].to_numpy()
            bad = _first_order_violation(ids, frames)
            if bad >= 0:
                if not sort:
                    raise ValueError(
                        f"{entry}: rows are not sorted by ({c.id_col}, {c.frame_col}) at row "
                        f"{bad + 1} ({c.id_col}={ids[bad + 1]}, {c.frame_col}={frames[bad + 1]} "
                        f"after {c.frame_col}={frames[bad]}); sort them or pass sort=True"
                    )
                part = part.sort([c.id_col, c.frame_col], maintain_order=True)
                ids = part[c.id_col].to_numpy()
                frames = part[c.frame_col].to_numpy()
                bad = _first_order_violation(ids, frames)
                if bad >= 0:
                    raise ValueError(
                        f"{entry}: duplicate ({c.id_col}, {c.frame_col}) rows; first duplicate "
                        f"{c.id_col}={ids[bad]}, {c.frame_col}={frames[bad]}. Each individual "
                        "may appear once per frame"
                    )
            out[(str(g), str(s))] = self._order_columns(part)
        return out

    def _order_columns(self, part: pl.DataFrame) -> pl.DataFrame:
        c = self._columns
        first = [
            col
            for col in (c.id_col, c.frame_col, c.time_col, c.x_col, c.y_col, c.orientation_col)
            if col in part.columns
        ]
        return part.select(first + [col for col in part.columns if col not in first])

    def _coerce_dtypes(self, df: pl.DataFrame, source: str) -> pl.DataFrame:
        c = self._columns
        casts = []
        # id: integer
        idt = df.schema[c.id_col]
        if not idt.is_integer():
            raise TypeError(
                f"{source}: column {c.id_col!r} must be integer, got {idt}; map individual "
                f"names to integers first (e.g. pl.col({c.id_col!r}).rank('dense') - 1) and "
                "keep the names in another column"
            )
        if df[c.id_col].null_count():
            raise ValueError(f"{source}: column {c.id_col!r} has null values")
        casts.append(pl.col(c.id_col).cast(pl.Int64))
        # frame: integer (integral floats accepted)
        fdt = df.schema[c.frame_col]
        frames = df[c.frame_col]
        if frames.null_count():
            raise ValueError(f"{source}: column {c.frame_col!r} has null values")
        if fdt.is_float():
            vals = frames.to_numpy()
            if not np.all(np.isfinite(vals)) or not np.all(vals == np.round(vals)):
                raise TypeError(
                    f"{source}: column {c.frame_col!r} must hold whole frame numbers, got "
                    "non-integral or non-finite floats"
                )
        elif not fdt.is_integer():
            raise TypeError(f"{source}: column {c.frame_col!r} must be integer, got {fdt}")
        casts.append(pl.col(c.frame_col).cast(pl.Int64))
        # numeric data columns
        numeric = [c.time_col, c.x_col, c.y_col, c.orientation_col]
        numeric += [col for col in df.columns if col.startswith((self._pose.x_prefix,
                    self._pose.y_prefix, self._pose.confidence_prefix))]
        for col in numeric:
            if col not in df.columns:
                continue
            dt = df.schema[col]
            if dt == pl.Null:
                casts.append(pl.lit(float("nan"), dtype=pl.Float64).alias(col))
                continue
            if not dt.is_numeric():
                raise TypeError(
                    f"{source}: column {col!r} must be numeric, got {dt}; convert it "
                    "(e.g. parse strings to floats) before ingesting"
                )
            target = pl.Float64
            casts.append(pl.col(col).cast(target).fill_null(float("nan")))
        # any other float column: nulls become NaN, float32 stays float32 (EMG channels)
        for col, dt in df.schema.items():
            if col in numeric or col in (c.id_col, c.frame_col):
                continue
            if dt.is_float():
                casts.append(pl.col(col).fill_null(float("nan")))
        return _infinite_as_missing(df.with_columns(casts), source, c)

    # ------------------------------------------------------------------ reading
    def scan(
        self, group: str, sequence: str, columns: Sequence[str] | None = None
    ) -> pl.LazyFrame:
        """Lazily scan one entry, with group and sequence as the first two columns.

        Parameters
        ----------
        group, sequence : str
            Entry names.
        columns : sequence of str, optional
            Keep only these columns (group and sequence are always kept); names
            the entry does not have are skipped, not an error. The entry's
            columns come from its sidecar then (no read of the parquet footer).

        Returns
        -------
        polars.LazyFrame
        """
        path = self._require_entry(group, sequence)
        c = self._columns
        lf = pl.scan_parquet(path)
        names = None
        if columns is not None:
            # the sidecar matches the file (size and mtime), so its column list does
            names = self.entry_info(group, sequence).get("columns")
        if names is None:
            try:
                names = lf.collect_schema().names()
            except _READ_ERRORS as exc:
                raise UnreadableEntryError(group, sequence, path, exc) from exc
        if columns is not None:
            wanted = set(columns)
            names = [n for n in names if n in wanted]
        return lf.select(
            pl.lit(group, dtype=pl.String).alias(c.group_col),
            pl.lit(sequence, dtype=pl.String).alias(c.seq_col),
            *names,
        )

    def read(
        self,
        group: str,
        sequence: str,
        columns: Sequence[str] | None = None,
        *,
        start_frame: int | None = None,
        end_frame: int | None = None,
        start_time: float | None = None,
        end_time: float | None = None,
    ) -> pl.DataFrame:
        """Read one entry as a polars DataFrame (only the requested columns are read).

        Parameters
        ----------
        group, sequence : str
            Entry names.
        columns : sequence of str, optional
            Columns to read (``group``/``sequence`` may be among them). Default: all,
            with group and sequence first.
        start_frame, end_frame : int, optional
            Keep frames ``start_frame <= frame < end_frame``.
        start_time, end_time : float, optional
            Keep rows with ``start_time <= time < end_time`` (seconds). Uses the time
            column when present, else ``frame / fps``.

        Returns
        -------
        polars.DataFrame
            Rows sorted by (id, frame).

        Raises
        ------
        KeyError
            Unknown entry.
        ValueError
            A requested column does not exist.
        """
        lf = self.scan(group, sequence)
        lf = self._filter(lf, start_frame, end_frame, start_time, end_time)
        if columns is not None:
            columns = list(columns)
            available = lf.collect_schema().names()
            missing = [col for col in columns if col not in available]
            if missing:
                raise ValueError(
                    f"entry (group={group!r}, sequence={sequence!r}) has no column(s) "
                    f"{missing}; available: {available}"
                )
            lf = lf.select(columns)
        try:
            return lf.collect()
        except _READ_ERRORS as exc:
            path = self.entry_path(group, sequence)
            raise UnreadableEntryError(group, sequence, path, exc) from exc

    def _filter(
        self,
        lf: pl.LazyFrame,
        start_frame: int | None,
        end_frame: int | None,
        start_time: float | None,
        end_time: float | None,
    ) -> pl.LazyFrame:
        c = self._columns
        if start_frame is not None:
            lf = lf.filter(pl.col(c.frame_col) >= int(start_frame))
        if end_frame is not None:
            lf = lf.filter(pl.col(c.frame_col) < int(end_frame))
        if start_time is None and end_time is None:
            return lf
        if c.time_col in lf.collect_schema().names():
            t = pl.col(c.time_col)
        elif self.fps:
            t = pl.col(c.frame_col) / self.fps
        else:
            raise ValueError(
                "time filters need a time column or the dataset's fps; set it with "
                "ds.set_fps(...) or filter by frame instead"
            )
        if start_time is not None:
            lf = lf.filter(t >= float(start_time))
        if end_time is not None:
            lf = lf.filter(t < float(end_time))
        return lf

    def iter_entries(
        self,
        groups: Iterable[str] | None = None,
        sequences: Iterable[str] | None = None,
        columns: Sequence[str] | None = None,
        *,
        start_frame: int | None = None,
        end_frame: int | None = None,
        start_time: float | None = None,
        end_time: float | None = None,
    ) -> Iterator[tuple[str, str, pl.DataFrame]]:
        """Iterate over entries in scope, reading one at a time.

        Memory stays bounded by the largest entry, never the whole dataset.

        Parameters
        ----------
        groups, sequences : iterable of str, optional
            Scope filters.
        columns : sequence of str, optional
            Columns to read.
        start_frame, end_frame, start_time, end_time : optional
            Row filters, as in :meth:`read`.

        Yields
        ------
        (str, str, polars.DataFrame)
            ``(group, sequence, frame)`` per entry.
        """
        for g, s in self.entries(groups, sequences):
            yield g, s, self.read(
                g,
                s,
                columns,
                start_frame=start_frame,
                end_frame=end_frame,
                start_time=start_time,
                end_time=end_time,
            )

    def verify(self) -> list[str]:
        """Check every stored entry's invariants (sorted, unique (id, frame)).

        Returns
        -------
        list of str
            One message per problem found; empty when everything is fine.
        """
        c = self._columns
        problems = []
        for g, s in self.entries():
            try:
                df = pl.read_parquet(self.entry_path(g, s), columns=[c.id_col, c.frame_col])
            except _READ_ERRORS as exc:
                problems.append(str(UnreadableEntryError(g, s, self.entry_path(g, s), exc)))
                continue
            bad = _first_order_violation(df[c.id_col].to_numpy(), df[c.frame_col].to_numpy())
            if bad >= 0:
                problems.append(
                    f"entry (group={g!r}, sequence={s!r}): rows not strictly sorted by "
                    f"({c.id_col}, {c.frame_col}) at row {bad + 1}"
                )
        return problems

    def delete(self) -> None:
        """Delete the whole dataset folder from disk."""
        shutil.rmtree(self._root)


def _as_list(values: Iterable[str] | str) -> list[str]:
    if isinstance(values, str):
        return [values]
    return list(values)
