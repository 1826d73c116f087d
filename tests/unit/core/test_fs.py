"""Network filesystem detection (moveo._fs) and the registry's journal fallback."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest

from moveo import _fs
from moveo._fs import (
    is_network_fstype,
    mount_for,
    network_filesystem,
    read_mounts,
    set_journal_mode,
    sqlite_journal_mode,
)


@pytest.fixture(autouse=True)
def _auto_journal(monkeypatch):
    monkeypatch.delenv(_fs.JOURNAL_ENV, raising=False)
    monkeypatch.setattr(_fs, "_WARNED", set())


def write_mounts(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def fake_nfs(tmp_path):
    """A mount table where ``<tmp>/nfs`` is NFS and everything else local ext4."""
    (tmp_path / "nfs").mkdir()
    (tmp_path / "local").mkdir()
    table = write_mounts(
        tmp_path / "mounts",
        [
            "/dev/vda / ext4 rw,relatime 0 0",
            "proc /proc proc rw 0 0",
            f"fileserver:/export/lab {tmp_path}/nfs nfs4 rw,vers=4.2,hard 0 0",
        ],
    )
    return table


@pytest.mark.parametrize(
    ("fstype", "network"),
    [
        ("nfs", True),
        ("nfs4", True),
        ("cifs", True),
        ("smb3", True),
        ("fuse.sshfs", True),
        ("lustre", True),
        ("gpfs", True),
        ("beegfs", True),
        ("ceph", True),
        ("fuse.glusterfs", True),
        ("NFS4", True),
        ("ext4", False),
        ("xfs", False),
        ("btrfs", False),
        ("tmpfs", False),
        ("overlay", False),
        ("fuseblk", False),
        ("zfs", False),
    ],
)
def test_is_network_fstype(fstype, network):
    assert is_network_fstype(fstype) is network


def test_read_mounts_unescapes_and_skips_malformed(tmp_path):
    table = write_mounts(
        tmp_path / "mounts",
        [
            "/dev/sda1 / ext4 rw 0 0",
            "garbage",
            r"//nas/share\040one /mnt/lab\040data cifs rw 0 0",
            r"host:/x /mnt/back\134slash nfs rw 0 0",
        ],
    )
    mounts = read_mounts(table)
    assert [(m.source, m.mount_point, m.fstype) for m in mounts] == [
        ("/dev/sda1", "/", "ext4"),
        ("//nas/share one", "/mnt/lab data", "cifs"),
        ("host:/x", "/mnt/back\\slash", "nfs"),
    ]
    assert [m.is_network for m in mounts] == [False, True, True]


def test_unreadable_mount_table_means_no_detection(tmp_path):
    assert read_mounts(tmp_path / "missing") == []
    assert network_filesystem(tmp_path, mounts_file=tmp_path / "missing") is None
    assert sqlite_journal_mode(tmp_path / "r.db", mounts_file=tmp_path / "missing") == "wal"


def test_mount_for_longest_prefix_not_string_prefix(tmp_path, fake_nfs):
    (tmp_path / "nfs-not").mkdir()
    mounts = read_mounts(fake_nfs)
    assert mount_for(tmp_path / "nfs" / "ds", mounts).fstype == "nfs4"
    assert mount_for(tmp_path / "nfs", mounts).fstype == "nfs4"
    # "<tmp>/nfs-not" starts with the string "<tmp>/nfs" but is not inside it
    assert mount_for(tmp_path / "nfs-not", mounts).fstype == "ext4"
    assert mount_for(tmp_path / "local", mounts).mount_point == "/"
    assert mount_for(tmp_path, []) is None


def test_path_that_does_not_exist_yet_uses_its_parent(tmp_path, fake_nfs):
    db = tmp_path / "nfs" / "ds" / ".moveo" / "registry.db"
    assert not db.parent.exists()
    assert network_filesystem(db, mounts_file=fake_nfs) == "nfs4"
    assert network_filesystem(tmp_path / "local" / "x.db", mounts_file=fake_nfs) is None


def test_symlinks_are_resolved(tmp_path, fake_nfs):
    link = tmp_path / "local" / "shortcut"
    link.symlink_to(tmp_path / "nfs")
    assert network_filesystem(link / "registry.db", mounts_file=fake_nfs) == "nfs4"


def test_later_mount_on_same_point_hides_earlier(tmp_path):
    (tmp_path / "m").mkdir()
    table = write_mounts(
        tmp_path / "mounts",
        [
            "/dev/vda / ext4 rw 0 0",
            f"srv:/a {tmp_path}/m nfs rw 0 0",
            f"tmpfs {tmp_path}/m tmpfs rw 0 0",
        ],
    )
    assert network_filesystem(tmp_path / "m" / "f", mounts_file=table) is None


def test_real_mount_table_finds_the_mount_of_tmp(tmp_path):
    mount = mount_for(tmp_path)
    if not Path(_fs.PROC_MOUNTS).exists():  # pragma: no cover - Linux only
        assert mount is None
        return
    real = os.path.realpath(tmp_path)
    point = mount.mount_point.rstrip("/")
    assert real == point or real.startswith(point + "/")


def test_journal_mode_falls_back_and_warns_once(tmp_path, fake_nfs, caplog):
    db = tmp_path / "nfs" / "ds" / ".moveo" / "registry.db"
    with caplog.at_level(logging.WARNING, logger="moveo.fs"):
        assert sqlite_journal_mode(db, mounts_file=fake_nfs) == "delete"
        assert sqlite_journal_mode(db, mounts_file=fake_nfs) == "delete"
    warnings = [r for r in caplog.records if r.name == "moveo.fs"]
    assert len(warnings) == 1
    assert "network filesystem (nfs4)" in warnings[0].getMessage()
    assert "rollback journal" in warnings[0].getMessage()
    assert sqlite_journal_mode(tmp_path / "local" / "r.db", mounts_file=fake_nfs) == "wal"


def test_journal_mode_environment_override(tmp_path, fake_nfs, monkeypatch):
    db = tmp_path / "nfs" / "r.db"
    monkeypatch.setenv(_fs.JOURNAL_ENV, "wal")
    assert sqlite_journal_mode(db, mounts_file=fake_nfs) == "wal"
    monkeypatch.setenv(_fs.JOURNAL_ENV, "DELETE")
    assert sqlite_journal_mode(tmp_path / "local" / "r.db", mounts_file=fake_nfs) == "delete"
    monkeypatch.setenv(_fs.JOURNAL_ENV, "memory")
    with pytest.raises(ValueError, match=r"MOVEO_REGISTRY_JOURNAL='memory' is not valid"):
        sqlite_journal_mode(db)


def test_set_journal_mode_on_a_real_database(tmp_path, fake_nfs, monkeypatch):
    monkeypatch.setattr(_fs, "PROC_MOUNTS", str(fake_nfs))
    local = tmp_path / "local" / "a.db"
    remote = tmp_path / "nfs" / "b.db"
    for path, expected in [(local, "wal"), (remote, "delete")]:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            assert set_journal_mode(conn, path) == expected
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == expected
        finally:
            conn.close()
    assert not Path(f"{remote}-wal").exists()


def _journal(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def test_registry_on_network_filesystem_uses_rollback_journal(tmp_path, fake_nfs, monkeypatch):
    from moveo.pipeline.progress import SQLiteProgressCallback
    from moveo.pipeline.registry import open_registry
    from moveo.pipeline.training import ModelRunStore

    monkeypatch.setattr(_fs, "PROC_MOUNTS", str(fake_nfs))
    root = tmp_path / "nfs" / "ds"
    with open_registry(root) as reg:
        reg.record_run_start("speed", "0.1-abc", "0.1", "abc")
        reg.record_entries(
            [
                {
                    "feature": "speed",
                    "run_id": "0.1-abc",
                    "group": "g0",
                    "sequence": "s0",
                    "path": str(root / "features" / "speed" / "0.1-abc" / "g0" / "s0.parquet"),
                    "n_rows": 10,
                    "input_fp": "fp",
                },
            ]
        )
        assert reg.entry_count("speed", "0.1-abc") == 1
    db = root / ".moveo" / "registry.db"
    assert _journal(db) == "delete"
    assert not Path(f"{db}-wal").exists()
    # other writers of the same database keep it in rollback-journal mode
    with ModelRunStore(db):
        pass
    with SQLiteProgressCallback(db, job_id="job") as cb:
        cb.on_phase("fit", "start")
    assert _journal(db) == "delete"
    with open_registry(root, readonly=True) as reg:
        assert reg.entry_count("speed", "0.1-abc") == 1


def test_registry_on_local_disk_keeps_wal_and_env_forces_rollback(tmp_path, fake_nfs, monkeypatch):
    from moveo.pipeline.registry import open_registry

    monkeypatch.setattr(_fs, "PROC_MOUNTS", str(fake_nfs))
    local = tmp_path / "local" / "ds"
    with open_registry(local):
        pass
    assert _journal(local / ".moveo" / "registry.db") == "wal"
    # a WAL registry reopened with the rollback journal forced is switched over
    monkeypatch.setenv(_fs.JOURNAL_ENV, "delete")
    with open_registry(local) as reg:
        reg.record_run_start("f", "r", "0.1", "h")
    assert _journal(local / ".moveo" / "registry.db") == "delete"
