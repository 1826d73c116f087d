"""Which filesystem a path lives on, and what that means for SQLite.

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

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "JOURNAL_ENV",
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
