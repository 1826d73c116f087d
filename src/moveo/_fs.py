"""Files: atomic writes, temp-file sweeping, and which filesystem a path lives on.

Every file moveo writes goes through :func:`atomic_write_parquet`,
:func:`atomic_write_bytes` or :func:`atomic_write_joblib` (temp name carrying
:data:`TMP_MARK` in the same folder, fsync, rename, fsync of the folder);
:func:`sweep_temp_files` removes what an interrupted write left behind.

Pickles are verified: :func:`atomic_write_joblib` records the file's sha256 in a
sidecar ``<file>.json`` and :func:`load_joblib` (or :func:`check_artifact` before
any other unpickling) refuses a file whose sidecar is missing or does not match,
unless the caller passes ``trust=True`` or ``MOVEO_TRUST_PICKLES=1`` is set.
:func:`ensure_inside` checks that a path built from names found in data stays
inside the dataset before anything is written or deleted there.

SQLite and filesystems
----------------------

SQLite's WAL journal keeps its index in a memory-mapped ``-shm`` file, which
only works when every process that opens the database runs on the same host
and the filesystem honours shared memory maps. Network and cluster
filesystems (NFS, SMB/CIFS, sshfs, Lustre, GPFS, BeeGFS, CephFS, ...) do not
guarantee that, and a WAL database on them can be corrupted silently. The
feature registry therefore asks :func:`sqlite_journal_mode` which journal to
use: ``"wal"`` on local disks, the classic rollback journal (``"delete"``) on
network filesystems.

Environment switch
------------------
``MOVEO_REGISTRY_JOURNAL``
    ``auto`` (default: detect from ``/proc/mounts``), ``wal`` or ``delete`` to
    force a journal mode (e.g. ``delete`` for a local filesystem that is shared
    with other hosts in a way the mount table does not show).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "JOURNAL_ENV",
    "TMP_MARK",
    "TRUST_ENV",
    "UnverifiedArtifactError",
    "artifact_problems",
    "atomic_write_bytes",
    "atomic_write_joblib",
    "atomic_write_parquet",
    "check_artifact",
    "ensure_inside",
    "file_sha256",
    "fsync_dir",
    "load_joblib",
    "read_sidecar",
    "sidecar_path",
    "sweep_temp_files",
    "temp_path",
    "trusted_by_env",
    "NETWORK_FILESYSTEMS",
    "MountInfo",
    "is_network_fstype",
    "mount_for",
    "network_filesystem",
    "read_mounts",
    "set_journal_mode",
    "sqlite_journal_mode",
]

log = logging.getLogger("moveo.fs")

PROC_MOUNTS = "/proc/mounts"
"""The mount table consulted by default."""
JOURNAL_ENV = "MOVEO_REGISTRY_JOURNAL"

NETWORK_FILESYSTEMS: frozenset[str] = frozenset(
    {
        # NFS and SMB families
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        # distributed / parallel cluster filesystems
        "lustre",
        "gpfs",
        "beegfs",
        "fhgfs",
        "ceph",
        "cephfs",
        "glusterfs",
        "gfs2",
        "ocfs2",
        "panfs",
        "pvfs2",
        "orangefs",
        "wekafs",
        "quobyte",
        "afs",
        "openafs",
        "coda",
        "9p",
        "davfs",
        # FUSE front ends to remote storage
        "sshfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.ceph",
        "fuse.cephfs",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.rclone",
        "fuse.juicefs",
        "fuse.davfs2",
        "fuse.quobyte",
        "fuse.beegfs",
        "fuse.lustre",
    }
)
"""Filesystem types (as in ``/proc/mounts``) treated as shared over a network."""

_WARNED: set[str] = set()


@dataclass(frozen=True)
class MountInfo:
    """One line of the mount table.

    Attributes
    ----------
    source : str
        What is mounted (device, ``server:/export``, ...).
    mount_point : str
        Where it is mounted (absolute path).
    fstype : str
        Filesystem type, e.g. ``"ext4"``, ``"nfs4"``, ``"fuse.sshfs"``.
    """

    source: str
    mount_point: str
    fstype: str

    @property
    def is_network(self) -> bool:
        """Whether :attr:`fstype` is a network or cluster filesystem."""
        return is_network_fstype(self.fstype)


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash as octal escapes (\040 ...).
    if "\\" not in field:
        return field
    out = []
    i = 0
    while i < len(field):
        chunk = field[i : i + 4]
        if len(chunk) == 4 and chunk[0] == "\\" and chunk[1:].isdigit():
            out.append(chr(int(chunk[1:], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def read_mounts(mounts_file: str | os.PathLike[str] | None = None) -> list[MountInfo]:
    """Parse a mount table in ``/proc/mounts`` format.

    Parameters
    ----------
    mounts_file : path, optional
        The table to read (default: :data:`PROC_MOUNTS`, ``/proc/mounts``).

    Returns
    -------
    list of MountInfo
        One item per well-formed line, in file (mount) order; an empty list if
        the file cannot be read (e.g. not on Linux).
    """
    try:
        text = Path(PROC_MOUNTS if mounts_file is None else mounts_file).read_text(
            encoding="utf-8", errors="replace"
        )
    except OSError:
        return []
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mounts.append(MountInfo(_unescape(parts[0]), _unescape(parts[1]), parts[2]))
    return mounts


def is_network_fstype(fstype: str) -> bool:
    """Tell whether a filesystem type is a network or cluster filesystem.

    Parameters
    ----------
    fstype : str
        A type as in ``/proc/mounts`` (``"nfs4"``, ``"fuse.sshfs"``, ``"ext4"``...).

    Returns
    -------
    bool
        True for types in :data:`NETWORK_FILESYSTEMS` (any ``nfs*``/``smb*``
        version included).

    Examples
    --------
    >>> is_network_fstype("nfs4"), is_network_fstype("fuse.sshfs"), is_network_fstype("ext4")
    (True, True, False)
    """
    t = fstype.strip().lower()
    if t in NETWORK_FILESYSTEMS:
        return True
    return t.startswith(("nfs", "smb", "fuse.sshfs", "fuse.gluster", "fuse.ceph"))


def _existing_ancestor(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return Path(os.path.realpath(path))


def mount_for(
    path: str | os.PathLike[str], mounts: list[MountInfo] | None = None
) -> MountInfo | None:
    """Find the mount a path lives on (the longest matching mount point).

    Parameters
    ----------
    path : path
        A file or folder; it need not exist yet (its nearest existing parent is
        used). Symlinks are resolved.
    mounts : list of MountInfo, optional
        The mount table (default: :func:`read_mounts`).

    Returns
    -------
    MountInfo or None
        The mount, or None when the table is empty or unreadable.
    """
    table = read_mounts() if mounts is None else mounts
    target = str(_existing_ancestor(Path(path)))
    best: MountInfo | None = None
    best_len = -1
    for m in table:
        point = m.mount_point.rstrip("/") or "/"
        inside = point == "/" or target == point or target.startswith(point + "/")
        # ">=": a later mount on the same point hides the earlier one.
        if inside and len(point) >= best_len:
            best, best_len = m, len(point)
    return best


def network_filesystem(
    path: str | os.PathLike[str], *, mounts_file: str | os.PathLike[str] | None = None
) -> str | None:
    """Return the network filesystem type ``path`` lives on, if any.

    Parameters
    ----------
    path : path
        A file or folder (need not exist yet).
    mounts_file : path, optional
        Mount table to consult (default: :data:`PROC_MOUNTS`).

    Returns
    -------
    str or None
        The filesystem type (e.g. ``"nfs4"``) when it is a network or cluster
        filesystem, otherwise None (also when the mount table is unreadable).
    """
    mount = mount_for(path, read_mounts(mounts_file))
    if mount is not None and mount.is_network:
        return mount.fstype
    return None


def sqlite_journal_mode(
    db_path: str | os.PathLike[str], *, mounts_file: str | os.PathLike[str] | None = None
) -> Literal["wal", "delete"]:
    """Choose the SQLite journal mode for a database file.

    ``"wal"`` on local filesystems; ``"delete"`` (rollback journal) on network
    filesystems, where WAL's shared-memory index is unsafe. The choice is logged
    once per database at WARNING level when it falls back. The environment
    variable ``MOVEO_REGISTRY_JOURNAL`` (``auto``/``wal``/``delete``) overrides it.

    Parameters
    ----------
    db_path : path
        The database file (need not exist yet).
    mounts_file : path, optional
        Mount table to consult (default: :data:`PROC_MOUNTS`).

    Returns
    -------
    {"wal", "delete"}

    Raises
    ------
    ValueError
        ``MOVEO_REGISTRY_JOURNAL`` has a value other than auto, wal or delete.
    """
    forced = os.environ.get(JOURNAL_ENV, "auto").strip().lower() or "auto"
    if forced not in {"auto", "wal", "delete"}:
        raise ValueError(
            f"{JOURNAL_ENV}={os.environ.get(JOURNAL_ENV)!r} is not valid; use 'auto' "
            "(detect network filesystems), 'wal' or 'delete'"
        )
    if forced != "auto":
        return forced  # type: ignore[return-value]
    fstype = network_filesystem(db_path, mounts_file=mounts_file)
    if fstype is None:
        return "wal"
    key = str(_existing_ancestor(Path(db_path)))
    if key not in _WARNED:
        _WARNED.add(key)
        log.warning(
            "%s is on a network filesystem (%s): the feature registry uses SQLite's "
            "rollback journal instead of WAL there. Run one pipeline driver at a time per "
            "dataset; keep the dataset on local disk for concurrent runs",
            db_path,
            fstype,
        )
    return "delete"


def set_journal_mode(conn: sqlite3.Connection, db_path: str | os.PathLike[str]) -> str:
    """Put a SQLite connection in the journal mode :func:`sqlite_journal_mode` picks.

    Retries briefly while another connection holds the lock the switch needs.

    Parameters
    ----------
    conn : sqlite3.Connection
        An open connection (outside a transaction).
    db_path : path
        Its database file.

    Returns
    -------
    str
        The journal mode in effect afterwards (lower case). It can differ from
        the one asked for, e.g. when leaving WAL while other connections are
        open; callers decide whether that is an error.
    """
    import sqlite3  # only the registry opens databases; importing _fs does not need it

    mode = sqlite_journal_mode(db_path)
    attempts = 0
    while True:
        try:
            return str(conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            attempts += 1
            if "locked" not in str(exc) or attempts >= 100:
                raise
            time.sleep(0.05)


# --------------------------------------------------------------------------- containment
def ensure_inside(root: str | os.PathLike[str], path: str | os.PathLike[str], what: str) -> Path:
    """Check that ``path`` lies inside ``root`` once symlinks and ``..`` are resolved.

    Call it before deleting or writing anything whose path was built from names
    that came from data (registry rows, ``pipeline.json``, parameters).

    Parameters
    ----------
    root : path
        The folder that must contain ``path`` (e.g. the dataset root).
    path : path
        The file or folder about to be written or deleted (need not exist).
    what : str
        What the path is, for the error message (e.g. ``"run folder"``).

    Returns
    -------
    Path
        ``path`` unchanged (as a Path).

    Raises
    ------
    ValueError
        ``path`` resolves to ``root`` itself or to a place outside it.
    """
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if real == real_root or not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ValueError(
            f"refusing to touch {what} {os.fspath(path)!r}: it resolves to {real!r}, which "
            f"is not inside {real_root!r}. A name in the dataset (registry, pipeline.json "
            "or a parameter) points outside it; the dataset may be damaged or crafted"
        )
    return Path(path)


TMP_MARK = ".tmp-"
"""The marker in every temporary file name moveo writes (``.<name>.tmp-<hex>``)."""


# --------------------------------------------------------------------------- atomic writes
def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a folder's entries (names created, renamed or removed) to disk.

    Parameters
    ----------
    path : path
        The folder. Platforms without directory file descriptors are a no-op.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _clear_write_error(path: Path, exc: BaseException) -> OSError | None:
    """Return a clear error for a write that failed because the disk is full, or None.

    polars reports a full disk as ``parquet: File out of specification: underlying
    IO error: No space left on device (os error 28)``; say what happened instead.
    """
    code = getattr(exc, "errno", None)
    if code is None:
        found = re.search(r"os error (\d+)", str(exc))
        code = int(found.group(1)) if found else None
    if code not in (errno.ENOSPC, errno.EDQUOT):
        return None
    try:
        free = f"{shutil.disk_usage(path.parent).free:,} bytes free"
    except OSError:
        free = "free space unknown"
    what = "no space left on the device" if code == errno.ENOSPC else "disk quota exceeded"
    return OSError(
        code,
        f"{what} while writing {path} ({free}); free some space and run again. The "
        "write was atomic: nothing was replaced and no partial file was kept",
    )


def temp_path(path: Path) -> Path:
    """Return a unique temporary name beside ``path`` (``.<name>.tmp-<hex>``).

    Every temp file moveo writes carries :data:`TMP_MARK`, so one sweeper
    (:func:`sweep_temp_files`) finds the leftovers of any interrupted write.
    """
    return path.with_name(f".{path.name}{TMP_MARK}{uuid.uuid4().hex[:12]}")


def atomic_write_parquet(
    df: pl.DataFrame,
    path: str | Path,
    *,
    compression: str = "zstd",
    field_metadata: Mapping[str, Mapping[str, str]] | None = None,
    sync_dir: bool = True,
    compression_level: int | None = None,
) -> int:
    """Write ``df`` to ``path`` atomically (temp name, fsync, rename).

    Parameters
    ----------
    df : polars.DataFrame
        The table to write.
    path : str or Path
        Final location; its folder is created if needed.
    compression : str, default "zstd"
        Parquet compression codec.
    compression_level : int, optional
        Codec level (default: polars' default for the codec).
    field_metadata : mapping, optional
        ``{column: {key: value}}`` stored in the parquet schema's fields (e.g.
        ``{"X_cm": {"unit": "cm"}}``); columns not in ``df`` are an error.
    sync_dir : bool, default True
        Also fsync the folder, so the rename itself survives a power loss. A
        caller writing many files into few folders may pass ``False`` and call
        :func:`fsync_dir` once per folder before it records the files as written
        (the feature pipeline does, before each registry commit).

    Returns
    -------
    int
        Size of the written file in bytes.
    """
    path = Path(path)
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    schema = None
    if field_metadata:
        missing = sorted(set(field_metadata) - set(df.columns))
        if missing:
            raise ValueError(f"field_metadata names column(s) {missing} not in the table")
        import pyarrow as pa

        fields = [
            f.with_metadata(dict(field_metadata[f.name])) if f.name in field_metadata else f
            for f in df.head(0).to_arrow().schema
        ]
        schema = pa.schema(fields)
    tmp = temp_path(path)
    try:
        df.write_parquet(
            tmp,
            compression=compression,
            compression_level=compression_level,
            statistics=True,
            arrow_schema=schema,
        )
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        size = tmp.stat().st_size
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        clear = _clear_write_error(path, exc)
        if clear is not None:
            raise clear from exc
        raise
    if sync_dir:
        fsync_dir(path.parent)
    return size


def atomic_write_bytes(data: bytes, path: str | Path) -> None:
    """Write ``data`` to ``path`` atomically (temp name, fsync, rename).

    Parameters
    ----------
    data : bytes
        File content.
    path : str or Path
        Final location; its folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        clear = _clear_write_error(path, exc)
        if clear is not None:
            raise clear from exc
        raise
    fsync_dir(path.parent)


def atomic_write_joblib(
    obj: object, path: str | Path, *, meta: dict[str, object] | None = None
) -> dict[str, object]:
    """Write ``obj`` with joblib atomically, then its checksum sidecar.

    Every pickle moveo writes goes through here, so every pickle moveo loads can
    be checked by :func:`load_joblib`: the sidecar ``<file>.json`` records the
    file's sha256 (see ``docs/security.md``).

    Parameters
    ----------
    obj : object
        What to store.
    path : str or Path
        Final file; its folder is created if needed.
    meta : dict, optional
        Extra JSON-able fields for the sidecar (e.g. what a realtime model expects
        of the live streams).

    Returns
    -------
    dict
        The sidecar content.
    """
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        joblib.dump(obj, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        digest = file_sha256(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        clear = _clear_write_error(path, exc)
        if clear is not None:
            raise clear from exc
        raise
    fsync_dir(path.parent)
    side: dict[str, object] = {
        "sidecar_version": SIDECAR_VERSION,
        "file": path.name,
        "sha256": digest,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "object_type": f"{type(obj).__module__}.{type(obj).__qualname__}",
        **(meta or {}),
    }
    atomic_write_bytes(json.dumps(side, indent=2).encode(), sidecar_path(path))
    return side


# --------------------------------------------------------------------------- verified pickles
TRUST_ENV = "MOVEO_TRUST_PICKLES"
"""Set to ``1`` to load pickles whose checksum is missing or wrong (logged as a warning)."""

SIDECAR_VERSION = 1


class UnverifiedArtifactError(ValueError):
    """A pickle's checksum sidecar is missing, unreadable or does not match the file."""


def file_sha256(path: str | Path) -> str:
    """Return the hex sha256 of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    """Return the checksum sidecar of a file: ``<path>.json``."""
    p = Path(path)
    return p.with_name(p.name + ".json")


def read_sidecar(path: str | Path) -> dict[str, object]:
    """Read the checksum sidecar of ``path`` (the file, not the sidecar).

    Raises
    ------
    FileNotFoundError
        There is no sidecar.
    UnverifiedArtifactError
        The sidecar is not a JSON object (the message names it).
    """
    side = sidecar_path(path)
    try:
        text = side.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no checksum sidecar {side} next to {path}: the file cannot be verified"
        ) from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UnverifiedArtifactError(f"the sidecar {side} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UnverifiedArtifactError(
            f"the sidecar {side} holds a JSON {type(data).__name__}, not an object"
        )
    return data


def artifact_problems(path: str | Path) -> tuple[list[str], dict[str, object]]:
    """Check a file against its checksum sidecar.

    Parameters
    ----------
    path : str or Path
        The file (it must exist).

    Returns
    -------
    problems : list of str
        Empty when the sidecar exists, is valid and records the file's sha256.
    sidecar : dict
        The sidecar content (empty when it is missing or unreadable).
    """
    try:
        side = read_sidecar(path)
    except FileNotFoundError as exc:
        return [str(exc)], {}
    except UnverifiedArtifactError as exc:
        return [str(exc)], {}
    recorded = side.get("sha256")
    if not isinstance(recorded, str) or not recorded:
        return [f"the sidecar {sidecar_path(path)} records no sha256 checksum"], side
    digest = file_sha256(path)
    if digest != recorded:
        return [
            f"the file changed since it was saved (sha256 {digest[:12]}... != recorded "
            f"{recorded[:12]}...)"
        ], side
    return [], side


def trusted_by_env() -> bool:
    """Return whether :data:`TRUST_ENV` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get(TRUST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def check_artifact(path: str | Path, *, trust: bool = False, what: str = "pickle") -> None:
    """Refuse a file whose checksum sidecar is missing or wrong, unless trusted.

    Parameters
    ----------
    path : str or Path
        The file about to be unpickled.
    trust : bool, default False
        Accept it anyway (a warning is logged); so does ``MOVEO_TRUST_PICKLES=1``.
    what : str
        What the file is, for the messages (e.g. ``"model file"``).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    UnverifiedArtifactError
        The sidecar is missing, is not JSON, has no checksum or does not match.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    problems, _ = artifact_problems(path)
    if not problems:
        return
    text = "; ".join(problems)
    if trust or trusted_by_env():
        how = "trust=True" if trust else f"{TRUST_ENV}=1"
        log.warning("loading unverified %s %s (%s) because of %s", what, path, text, how)
        return
    raise UnverifiedArtifactError(
        f"refusing to load {what} {path}: {text}. Unpickling runs code stored in the file, "
        f"so moveo only loads pickles it wrote itself and that are unchanged. If you trust "
        f"where this file came from, pass trust=True (or set {TRUST_ENV}=1); see "
        "docs/security.md"
    )


def load_joblib(path: str | Path, *, trust: bool = False, what: str = "pickle") -> object:
    """Load a joblib file after :func:`check_artifact` accepted it.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`atomic_write_joblib`.
    trust : bool, default False
        Load it even without a matching checksum (see :func:`check_artifact`).
    what : str
        What the file is, for the messages.

    Returns
    -------
    object
        The stored object.
    """
    import joblib

    check_artifact(path, trust=trust, what=what)
    return joblib.load(path)


def sweep_temp_files(root: str | Path) -> list[Path]:
    """Delete temporary files left behind by interrupted atomic writes under ``root``.

    Only call this when no writer is active on ``root`` (e.g. at the start of a
    pipeline run, from the driver).

    Parameters
    ----------
    root : str or Path
        Folder to sweep recursively.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    root = Path(root)
    if not root.exists():
        return removed
    for p in root.rglob(f".*{TMP_MARK}*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
