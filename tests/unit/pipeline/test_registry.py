"""The SQLite registry: WAL, runs and entries, pending/complete rules, lineage, migrations,
read-only, threads, and the import of mosaic's ``index.csv`` files (``migrate_from_csv``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import polars as pl
import pytest

from moveo.pipeline.registry import (
    MIGRATIONS,
    SCHEMA_VERSION,
    FeatureRegistry,
    RegistryError,
    open_registry,
    registry_path,
)


@pytest.fixture
def reg(tmp_path):
    registry = open_registry(tmp_path)
    yield registry
    registry.close()


def test_location_wal_and_version(tmp_path, reg):
    assert reg.db_path == tmp_path / ".moveo" / "registry.db"
    assert registry_path(tmp_path / "features") == reg.db_path
    assert reg.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    con = sqlite3.connect(reg.db_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_runs_latest_prefers_finished(reg):
    reg.record_run_start("speed", "0.1-a", "0.1", "ha", '{"step":1}', "[]")
    reg.record_run_start("speed", "0.1-b", "0.1", "hb")
    assert reg.has_run("speed", "0.1-a")
    assert not reg.has_run("speed", "0.1-zzz")
    # neither finished: the newest started wins
    assert reg.latest_run_id("speed") == "0.1-b"
    reg.mark_finished("speed", "0.1-a")
    assert reg.run_is_finished("speed", "0.1-a")
    assert not reg.run_is_finished("speed", "0.1-b")
    assert reg.latest_run_id("speed") == "0.1-a"
    assert reg.latest_run_id("nope") is None
    runs = reg.list_runs("speed")
    assert runs.height == 2
    assert set(runs["run_id"]) == {"0.1-a", "0.1-b"}
    assert reg.list_features() == ["speed"]
    assert reg.get_run("speed", "0.1-a")["params_json"] == '{"step":1}'
    with pytest.raises(KeyError, match="no run speed/0.1-x"):
        reg.mark_finished("speed", "0.1-x")


def test_entries_roundtrip_and_pending(tmp_path, reg):
    reg.record_run_start("f", "r", "1", "h")
    out = tmp_path / "features" / "f" / "r" / "g1" / "s1.parquet"
    reg.record_entry("f", "r", "g1", "s1", out, n_rows=10, input_fp="fp1")
    reg.record_entries([("f", "r", "g1", "s2", tmp_path / "x.parquet", 5, "fp2")])
    # the same entry recorded again stays one row
    reg.record_entry("f", "r", "g1", "s1", out, n_rows=11, input_fp="fp1")
    entries = reg.list_entries("f", "r")
    assert entries.height == 2
    row = entries.filter(entries["sequence"] == "s1").row(0, named=True)
    assert row["n_rows"] == 11
    assert row["path"] == str(out)
    assert reg.entry_count("f", "r") == 2
    assert reg.entry_path("f", "r", "g1", "s1") == out
    everything = {("g1", "s1"), ("g1", "s2"), ("g2", "s1")}
    assert reg.pending_entries("f", "r", everything) == [("g2", "s1")]
    # a changed input fingerprint makes a complete entry pending again
    fps = {("g1", "s1"): "fp1", ("g1", "s2"): "CHANGED", ("g2", "s1"): "x"}
    assert reg.pending_entries("f", "r", everything, fps) == [("g1", "s2"), ("g2", "s1")]


def test_pending_does_not_downgrade_complete_unless_forced(reg):
    reg.record_run_start("f", "r", "1", "h")
    reg.record_entry("f", "r", "g", "s", "/tmp/a.parquet", 1)
    reg.mark_pending("f", "r", [("g", "s"), ("g", "t")])
    listed = reg.list_entries("f")
    statuses = dict(zip(listed["sequence"], listed["status"], strict=True))
    assert statuses == {"s": "complete", "t": "pending"}
    reg.mark_pending("f", "r", [("g", "s")], force=True)
    assert reg.entry_count("f", "r") == 0
    reg.mark_failed("f", "r", "g", "t", "ValueError: bad")
    failed = reg.list_entries("f", status="failed")
    assert failed["error"].to_list() == ["ValueError: bad"]


def test_dependencies_and_lineage(reg):
    reg.record_dependency("rolling", "r3", "speed", "r1")
    reg.record_dependency("rolling", "r3", "heading", "r2")
    reg.record_dependency("speed", "r1", "smooth", "r0")
    assert reg.get_dependencies("rolling", "r3") == [("heading", "r2"), ("speed", "r1")]
    assert reg.get_dependents("speed", "r1") == [("rolling", "r3")]
    tree = reg.lineage("rolling", "r3")
    assert tree == {
        "feature": "rolling",
        "run_id": "r3",
        "upstream": [
            {"feature": "heading", "run_id": "r2", "upstream": []},
            {
                "feature": "speed",
                "run_id": "r1",
                "upstream": [{"feature": "smooth", "run_id": "r0", "upstream": []}],
            },
        ],
    }


def test_delete_run(reg):
    reg.record_run_start("f", "r", "1", "h")
    reg.record_entries([("f", "r", "g", str(i), f"/x/{i}") for i in range(3)])
    reg.record_dependency("f", "r", "up", "u")
    reg.record_step("step-a", "f", "r")
    assert reg.step_runs("step-a") == [("f", "r")]
    assert reg.delete_run("f", "r") == 3
    assert not reg.has_run("f", "r")
    assert reg.get_dependencies("f", "r") == []
    assert reg.step_runs("step-a") == []


def test_migration_from_version_1(tmp_path):
    # a version-1 database, as the first moveo release wrote it
    path = tmp_path / ".moveo" / "registry.db"
    path.parent.mkdir()
    con = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        con.execute(statement)
    con.execute("PRAGMA user_version = 1")
    con.execute(
        "INSERT INTO entries (feature, run_id, grp, sequence, status, updated_at) "
        "VALUES ('f', 'r', 'g', 's', 'complete', 0)"
    )
    con.commit()
    con.close()
    reg = FeatureRegistry(path)
    assert reg.schema_version == SCHEMA_VERSION
    assert reg.entry_count("f", "r") == 1  # data survived the migration
    assert reg.list_entries("f")["size_bytes"].to_list() == [None]
    reg.record_step("s", "f", "r")  # the table added by migration 2 exists
    reg.close()


def test_newer_schema_refused(tmp_path):
    reg = open_registry(tmp_path)
    reg._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    reg.close()
    with pytest.raises(RegistryError, match="written by a newer moveo"):
        open_registry(tmp_path)


def test_readonly_open(tmp_path):
    with pytest.raises(FileNotFoundError, match="no feature registry"):
        open_registry(tmp_path, readonly=True)
    reg = open_registry(tmp_path)
    reg.record_run_start("f", "r", "1", "h")
    reg.close()
    ro = open_registry(tmp_path, readonly=True)
    assert ro.has_run("f", "r")
    with pytest.raises(PermissionError, match="opened read-only"):
        ro.record_run_start("f", "r2", "1", "h")
    ro.close()


def test_threads_share_registry(reg):
    reg.record_run_start("f", "r", "1", "h")

    def work(k):
        for i in range(20):
            reg.record_entry("f", "r", f"g{k}", str(i), f"/x/{k}/{i}", i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reg.entry_count("f", "r") == 80


# ------------------------------------------------------------------ index.csv migration


def test_migrate_from_csv_imports_mosaic_indexes_once(tmp_path):
    from unit.pipeline.mosaic_fixture import ENTRIES, RUNS, write_mosaic_dataset

    src = tmp_path / "m"
    written = write_mosaic_dataset(src, moved_from="/old/home/study")
    reg = open_registry(src / "features", migrate_csv=True)
    try:
        runs = reg.list_runs()
        assert sorted(zip(runs["feature"], runs["run_id"], strict=True)) == sorted(RUNS.values())
        assert set(runs["n_complete"]) == {len(ENTRIES)}
        folder, run_id = RUNS["speed"]
        run = reg.get_run(folder, run_id)
        assert run["version"] == "0.2" and run["finished_at"] is not None
        params = json.loads(run["params_json"])
        assert params == {"fps": None, "smooth_window": None, "step_size": None}
        # the index's absolute paths point at the old home: re-anchored inside the dataset
        path = reg.entry_path(folder, run_id, "arenaA", "arenaA-trial1")
        assert path == src / "features" / folder / run_id / "arenaA__arenaA-trial1.parquet"
        got = pl.read_parquet(path)
        assert got.equals(written["features"]["speed"][("arenaA", "arenaA-trial1")])
        # entries carry no input fingerprint: moveo's own plans never take them as theirs
        assert reg.complete_entries(folder, run_id)[("arenaA", "arenaA-trial1")] is None
        assert reg.migrate_from_csv(src / "features") == 0  # duplicates ignored
    finally:
        reg.close()


def test_migrate_csv_only_for_a_new_database_and_skips_escaping_rows(tmp_path):
    from unit.pipeline.mosaic_fixture import RUNS, write_mosaic_dataset

    src = tmp_path / "m"
    write_mosaic_dataset(src)
    folder, run_id = RUNS["scale"]
    index = src / "features" / folder / "index.csv"
    lines = index.read_text().splitlines()
    outside = tmp_path / "outside.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(outside)
    lines.append(lines[1].replace(lines[1].split(",")[0], "../outside.parquet").replace(
        "arenaA-trial1", "stolen"
    ))
    index.write_text("\n".join(lines) + "\n")
    open_registry(src).close()  # created without migration
    with open_registry(src, migrate_csv=True) as reg:  # not new: nothing migrated
        assert reg.list_runs().height == 0
        n = reg.migrate_from_csv()
        assert n == 6 * 3  # the escaping row is not recorded
        assert ("arenaA", "stolen") not in reg.complete_entries(folder, run_id)


def test_idle_connection_keeps_wal_and_survives_a_deleted_database(tmp_path):
    # closing the last connection to a WAL database would checkpoint and delete
    # the -wal file (and the next write recreate it); the registry keeps one idle
    # connection so that open / close per run_feature call stays cheap
    from moveo.pipeline.registry import open_registry

    root = tmp_path / "ds"
    with open_registry(root) as reg:
        reg.record_run_start("f", "r1", "0.1", "h")
    db = root / ".moveo" / "registry.db"
    assert Path(f"{db}-wal").exists()
    with open_registry(root) as reg:
        assert reg.has_run("f", "r1")
    # the database deleted behind moveo's back: a new one is created and used
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with open_registry(root) as reg:
        assert not reg.has_run("f", "r1")
        reg.record_run_start("f", "r2", "0.1", "h")
    with open_registry(root) as reg:
        assert reg.has_run("f", "r2") and not reg.has_run("f", "r1")
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT run_id FROM runs").fetchall() == [("r2",)]
    finally:
        con.close()
