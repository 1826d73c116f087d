"""SQLite registry of feature runs, entries and dependencies.

One database per dataset, ``<root>/.moveo/registry.db``. It answers "which
entries of this run are done?", "which run of feature X is the latest?",
"what was this run computed from?" without listing folders.

Concurrency model
-----------------
* WAL journal: readers never block the writer and vice versa.
* ``busy_timeout``: a writer waits for another writer instead of failing with
  "database is locked".
* Every write is one short ``BEGIN IMMEDIATE`` transaction (the write lock is
  taken up front, so two writers never deadlock upgrading read locks).
* Only the driver process writes; workers return entry metadata.
* A WAL database stays open in the background once this process has opened
  it (:func:`_keep_wal_open`): when the last connection to a WAL database
  closes, SQLite checkpoints it, fsyncs and deletes the ``-wal`` file, and the
  next connection's first write creates it again (~10-20 ms each on a local
  disk). An idle background connection makes every later open and close of the
  registry (one per :func:`~moveo.pipeline.run_feature` call) nearly free; it
  holds no lock a writer waits for, and the WAL is still checkpointed
  automatically as it grows (every 1000 pages).

Schema versions
---------------
``PRAGMA user_version`` holds the schema version. :data:`MIGRATIONS` is an
ordered list; opening a database applies the missing ones in one transaction.
A database written by a newer moveo (higher version) is refused.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from moveo._fs import sqlite_journal_mode

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "FeatureRegistry",
    "RegistryError",
    "RegistryReadOnlyError",
    "open_registry",
    "registry_path",
]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: runs, entries, dependencies
    (
        """
        CREATE TABLE runs (
            feature     TEXT NOT NULL,
            run_id      TEXT NOT NULL,
            version     TEXT NOT NULL,
            params_hash TEXT NOT NULL,
            params_json TEXT,
            inputs_json TEXT,
            started_at  REAL NOT NULL,
            finished_at REAL,
            PRIMARY KEY (feature, run_id)
        )
        """,
        """
        CREATE TABLE entries (
            feature    TEXT NOT NULL,
            run_id     TEXT NOT NULL,
            grp        TEXT NOT NULL,
            sequence   TEXT NOT NULL,
            status     TEXT NOT NULL CHECK (status IN ('pending', 'complete', 'failed')),
            path       TEXT,
            n_rows     INTEGER NOT NULL DEFAULT 0,
            input_fp   TEXT,
            error      TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (feature, run_id, grp, sequence)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE dependencies (
            feature          TEXT NOT NULL,
            run_id           TEXT NOT NULL,
            upstream_feature TEXT NOT NULL,
            upstream_run_id  TEXT NOT NULL,
            PRIMARY KEY (feature, run_id, upstream_feature, upstream_run_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX dependencies_upstream ON dependencies (upstream_feature, upstream_run_id)",
    ),
    # 2: pipeline step names per run (status explains staleness per step), entry sizes
    (
        """
        CREATE TABLE step_runs (
            step        TEXT NOT NULL,
            feature     TEXT NOT NULL,
            run_id      TEXT NOT NULL,
            recorded_at REAL NOT NULL,
            PRIMARY KEY (step, feature, run_id)
        ) WITHOUT ROWID
        """,
        "ALTER TABLE entries ADD COLUMN size_bytes INTEGER",
    ),
)
"""Ordered schema migrations; migration ``i`` brings the schema to version ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this moveo writes."""

BUSY_TIMEOUT_MS = 60_000

_ENTRY_COLUMNS = (
    "feature",
    "run_id",
    "group",
    "sequence",
    "status",
    "path",
    "n_rows",
    "input_fp",
    "error",
    "updated_at",
    "size_bytes",
)


class RegistryError(RuntimeError):
    """The registry database cannot be used (newer schema, corrupt, ...)."""


class RegistryReadOnlyError(RegistryError, PermissionError):
    """The registry (or its folder) is not writable."""


def registry_path(root: Any) -> Path:
    """Return the registry file of a dataset.

    Parameters
    ----------
    root : Dataset, or path to the dataset root or its ``features/`` folder
        Where the dataset lives.

    Returns
    -------
    Path
        ``<dataset root>/.moveo/registry.db``.
    """
    internal = getattr(root, "internal_root", None)
    if internal is not None:
        return Path(internal) / "registry.db"
    path = Path(root)
    if path.name == "features" and not (path / "dataset.json").exists():
        path = path.parent
    return path / ".moveo" / "registry.db"


def _now() -> float:
    return time.time()


class FeatureRegistry:
    """Queryable SQLite registry of feature runs and their entries.

    Parameters
    ----------
    db_path : str or Path
        Location of the database file (created, with its folder, if absent).
    readonly : bool, default False
        Open read-only (for status on a dataset you cannot write). Fails if the
        database does not exist.
    base_dir : str or Path, optional
        Entry paths under this folder are stored relative to it (so a dataset
        can be moved). Default: the parent of the database's folder (the
        dataset root).

    Raises
    ------
    RegistryReadOnlyError
        The database or its folder cannot be written (and ``readonly`` is False).
    RegistryError
        The database has a newer schema than this moveo understands.
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        readonly: bool = False,
        base_dir: str | Path | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.readonly = readonly
        self.base_dir = Path(base_dir) if base_dir is not None else self.db_path.parent.parent
        self._base_abs = os.path.abspath(self.base_dir)
        self._lock = threading.RLock()
        self._conn = self._connect()
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise
        if not readonly:
            _keep_wal_open(self.db_path, self._conn)

    # ------------------------------------------------------------------ connection
    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            if not self.db_path.exists():
                raise FileNotFoundError(f"no feature registry at {self.db_path}")
            uri = f"{self.db_path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            return conn
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.db_path, isolation_level=None, check_same_thread=False, timeout=60.0
            )
        except (OSError, sqlite3.OperationalError) as exc:
            raise self._readonly_error(exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            wanted = sqlite_journal_mode(self.db_path)
            if wanted != "wal":
                # leaving WAL needs the database to itself: drop our idle connection
                _forget_kept(self.db_path)
            self._set_wal(conn, wanted)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise self._readonly_error(exc) from exc
            raise
        return conn

    @staticmethod
    def _set_wal(conn: sqlite3.Connection, wanted: str = "wal") -> None:
        # Switching to WAL needs a brief exclusive lock; retry if another process
        # holds it (busy_timeout does not always cover the journal-mode change).
        # On network filesystems moveo._fs picks the rollback journal ("delete").
        for attempt in range(100):
            try:
                mode = conn.execute(f"PRAGMA journal_mode = {wanted}").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.05)
        if str(mode).lower() != wanted:
            raise RegistryError(
                f"could not switch {conn!r} to journal mode {wanted!r} (got {mode!r}); "
                "close other processes using this registry and retry (see "
                "MOVEO_REGISTRY_JOURNAL in the 'Running on a cluster' guide)"
            )

    def _readonly_error(self, exc: BaseException) -> RegistryReadOnlyError:
        return RegistryReadOnlyError(
            f"cannot write the feature registry {self.db_path}: {exc}. Running features "
            f"needs a writable dataset folder ({self.db_path.parent} must allow creating "
            "files); copy the dataset somewhere writable, or use "
            "open_registry(..., readonly=True) to only inspect it"
        )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> FeatureRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FeatureRegistry({str(self.db_path)!r}, readonly={self.readonly})"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
        if self.readonly:
            raise RegistryReadOnlyError(f"the registry {self.db_path} was opened read-only")
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "readonly" in str(exc):
                    raise self._readonly_error(exc) from exc
                raise
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._conn.execute("ROLLBACK")
                if "readonly" in str(exc):
                    raise self._readonly_error(exc) from exc
                raise

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    # ------------------------------------------------------------------ schema
    @property
    def schema_version(self) -> int:
        """The database's ``PRAGMA user_version``."""
        return int(self._query("PRAGMA user_version")[0][0])

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise RegistryError(
                f"the feature registry {self.db_path} has schema version {version}, but this "
                f"moveo only knows versions up to {SCHEMA_VERSION}: it was written by a newer "
                "moveo. Upgrade moveo (pip install -U moveo) to use this dataset"
            )

    def _migrate(self, upto: int | None = None) -> None:
        target = SCHEMA_VERSION if upto is None else upto
        self._check_version(self.schema_version)
        if self.readonly:
            if self.schema_version < SCHEMA_VERSION:
                raise RegistryError(
                    f"the feature registry {self.db_path} has schema version "
                    f"{self.schema_version} (current {SCHEMA_VERSION}) and was opened "
                    "read-only, so it cannot be upgraded; open it writable once"
                )
            return
        if self.schema_version >= target:
            return
        with self._write() as conn:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            self._check_version(current)
            for version in range(current, target):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")

    # ------------------------------------------------------------------ paths
    def _store_path(self, path: str | Path | None) -> str | None:
        if path is None:
            return None
        # abspath, not resolve(): no per-row filesystem calls in batch inserts;
        # plain string operations, since this runs once per row of a batch insert
        p = os.path.abspath(os.fspath(path))
        base = self._base_abs
        if p.startswith(base) and p[len(base) : len(base) + 1] == os.sep:
            rel = p[len(base) + 1 :]
            return rel if os.sep == "/" else rel.replace(os.sep, "/")
        return p

    def _load_path(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        p = Path(stored)
        return str(p if p.is_absolute() else self.base_dir / p)

    # ------------------------------------------------------------------ runs
    def record_run_start(
        self,
        feature: str,
        run_id: str,
        version: str,
        params_hash: str,
        params_json: str | None = None,
        inputs_json: str | None = None,
    ) -> None:
        """Record that a feature run has started (idempotent).

        A run that already exists keeps its first ``started_at``.

        Parameters
        ----------
        feature, run_id : str
            The run.
        version : str
            Feature version.
        params_hash : str
            Hash of the parameters alone.
        params_json, inputs_json : str, optional
            Canonical JSON of the parameters and of the upstream inputs.
        """
        with self._write() as conn:
            conn.execute(
                """
                INSERT INTO runs (feature, run_id, version, params_hash, params_json,
                                  inputs_json, started_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (feature, run_id) DO NOTHING
                """,
                (feature, run_id, version, params_hash, params_json, inputs_json, _now()),
            )

    def mark_finished(self, feature: str, run_id: str) -> None:
        """Set ``finished_at`` on a run.

        Parameters
        ----------
        feature, run_id : str
            The run.
        """
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET finished_at = ? WHERE feature = ? AND run_id = ?",
                (_now(), feature, run_id),
            )
            if cur.rowcount == 0:
                raise KeyError(f"no run {feature}/{run_id} in {self.db_path}")

    def mark_unfinished(self, feature: str, run_id: str) -> None:
        """Clear ``finished_at`` (a run gained entries to compute).

        Parameters
        ----------
        feature, run_id : str
            The run.
        """
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = NULL WHERE feature = ? AND run_id = ?",
                (feature, run_id),
            )

    def record_step(self, step: str, feature: str, run_id: str) -> None:
        """Record that pipeline step ``step`` used run ``feature/run_id``.

        Parameters
        ----------
        step : str
            Pipeline step name.
        feature, run_id : str
            The run.
        """
        with self._write() as conn:
            conn.execute(
                """
                INSERT INTO step_runs (step, feature, run_id, recorded_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (step, feature, run_id) DO UPDATE SET recorded_at = excluded.recorded_at
                """,
                (step, feature, run_id, _now()),
            )

    def step_runs(self, step: str) -> list[tuple[str, str]]:
        """Return the ``(feature, run_id)`` runs recorded for a step, newest first.

        Parameters
        ----------
        step : str
            Pipeline step name.

        Returns
        -------
        list of (str, str)
        """
        rows = self._query(
            "SELECT feature, run_id FROM step_runs WHERE step = ? ORDER BY recorded_at DESC",
            (step,),
        )
        return [(f, r) for f, r in rows]

    def get_run(self, feature: str, run_id: str) -> dict[str, Any] | None:
        """Return one run's row as a dict, or ``None``.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        dict or None
            Keys ``feature, run_id, version, params_hash, params_json, inputs_json,
            started_at, finished_at``.
        """
        rows = self._query(
            "SELECT feature, run_id, version, params_hash, params_json, inputs_json, "
            "started_at, finished_at FROM runs WHERE feature = ? AND run_id = ?",
            (feature, run_id),
        )
        if not rows:
            return None
        keys = (
            "feature",
            "run_id",
            "version",
            "params_hash",
            "params_json",
            "inputs_json",
            "started_at",
            "finished_at",
        )
        return dict(zip(keys, rows[0], strict=True))

    def latest_run_id(self, feature: str) -> str | None:
        """Return the most recent run id of ``feature`` (finished runs preferred).

        Parameters
        ----------
        feature : str
            Feature name.

        Returns
        -------
        str or None
            ``None`` when the feature never ran.
        """
        rows = self._query(
            """
            SELECT run_id FROM runs WHERE feature = ?
            ORDER BY finished_at IS NULL, COALESCE(finished_at, started_at) DESC, run_id
            LIMIT 1
            """,
            (feature,),
        )
        return rows[0][0] if rows else None

    def list_runs(self, feature: str | None = None) -> pl.DataFrame:
        """Return runs (of one feature, or all) as a DataFrame.

        Parameters
        ----------
        feature : str, optional
            Restrict to this feature.

        Returns
        -------
        polars.DataFrame
            One row per run: ``feature, run_id, version, params_hash, params_json,
            inputs_json, started_at, finished_at, n_complete`` (``started_at`` /
            ``finished_at`` are Unix seconds), newest first.
        """
        sql = """
            SELECT r.feature, r.run_id, r.version, r.params_hash, r.params_json,
                   r.inputs_json, r.started_at, r.finished_at,
                   (SELECT COUNT(*) FROM entries e WHERE e.feature = r.feature
                      AND e.run_id = r.run_id AND e.status = 'complete') AS n_complete
            FROM runs r {where} ORDER BY r.started_at DESC, r.run_id
        """
        if feature is None:
            rows = self._query(sql.format(where=""))
        else:
            rows = self._query(sql.format(where="WHERE r.feature = ?"), (feature,))
        schema = {
            "feature": pl.String,
            "run_id": pl.String,
            "version": pl.String,
            "params_hash": pl.String,
            "params_json": pl.String,
            "inputs_json": pl.String,
            "started_at": pl.Float64,
            "finished_at": pl.Float64,
            "n_complete": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def list_features(self) -> list[str]:
        """Return the names of all features with at least one run, sorted.

        Returns
        -------
        list of str
        """
        return [r[0] for r in self._query("SELECT DISTINCT feature FROM runs ORDER BY feature")]

    def has_run(self, feature: str, run_id: str) -> bool:
        """Return whether a run exists in the registry.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        bool
        """
        return bool(
            self._query("SELECT 1 FROM runs WHERE feature = ? AND run_id = ?", (feature, run_id))
        )

    def run_is_finished(self, feature: str, run_id: str) -> bool:
        """Return whether a run has been marked finished.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        bool
        """
        rows = self._query(
            "SELECT finished_at FROM runs WHERE feature = ? AND run_id = ?", (feature, run_id)
        )
        return bool(rows) and rows[0][0] is not None

    def delete_run(self, feature: str, run_id: str) -> int:
        """Forget a run: its row, entries, dependencies and step records.

        Files are not touched (see :meth:`moveo.pipeline.Pipeline.clean`).

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        int
            Number of entry rows removed.
        """
        with self._write() as conn:
            n = conn.execute(
                "DELETE FROM entries WHERE feature = ? AND run_id = ?", (feature, run_id)
            ).rowcount
            conn.execute("DELETE FROM runs WHERE feature = ? AND run_id = ?", (feature, run_id))
            conn.execute(
                "DELETE FROM dependencies WHERE feature = ? AND run_id = ?", (feature, run_id)
            )
            conn.execute(
                "DELETE FROM step_runs WHERE feature = ? AND run_id = ?", (feature, run_id)
            )
        return int(n)

    # ------------------------------------------------------------------ entries
    def record_entry(
        self,
        feature: str,
        run_id: str,
        group: str,
        sequence: str,
        abs_path: str | Path,
        n_rows: int = 0,
        *,
        input_fp: str | None = None,
        size_bytes: int | None = None,
    ) -> None:
        """Record one computed entry (one parquet file) as complete.

        Recording the same entry again replaces the row (an entry is recorded once).

        Parameters
        ----------
        feature, run_id : str
            The run.
        group, sequence : str
            The entry.
        abs_path : str or Path
            The entry's output file.
        n_rows : int
            Rows in the output.
        input_fp : str, optional
            Fingerprint of the inputs the output was computed from.
        size_bytes : int, optional
            File size.
        """
        self.record_entries(
            [
                {
                    "feature": feature,
                    "run_id": run_id,
                    "group": group,
                    "sequence": sequence,
                    "path": abs_path,
                    "n_rows": n_rows,
                    "input_fp": input_fp,
                    "size_bytes": size_bytes,
                }
            ]
        )

    def record_entries(self, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> int:
        """Record many complete entries in one transaction.

        Parameters
        ----------
        rows : iterable of mapping or tuple
            Mappings with keys ``feature, run_id, group, sequence, path`` and
            optionally ``n_rows, input_fp, size_bytes``; or tuples
            ``(feature, run_id, group, sequence, path[, n_rows[, input_fp[, size_bytes]]])``.

        Returns
        -------
        int
            Number of rows written.
        """
        now = _now()
        params = []
        for row in rows:
            if isinstance(row, Mapping):
                feature, run_id = row["feature"], row["run_id"]
                group, sequence, path = row["group"], row["sequence"], row["path"]
                n_rows = row.get("n_rows", 0)
                input_fp = row.get("input_fp")
                size = row.get("size_bytes")
            else:
                feature, run_id, group, sequence, path, *rest = row
                n_rows = rest[0] if len(rest) > 0 else 0
                input_fp = rest[1] if len(rest) > 1 else None
                size = rest[2] if len(rest) > 2 else None
            params.append(
                (
                    feature,
                    run_id,
                    str(group),
                    str(sequence),
                    self._store_path(path),
                    int(n_rows),
                    input_fp,
                    now,
                    size,
                )
            )
        if not params:
            return 0
        with self._write() as conn:
            conn.executemany(
                """
                INSERT INTO entries (feature, run_id, grp, sequence, status, path, n_rows,
                                     input_fp, error, updated_at, size_bytes)
                VALUES (?, ?, ?, ?, 'complete', ?, ?, ?, NULL, ?, ?)
                ON CONFLICT (feature, run_id, grp, sequence) DO UPDATE SET
                    status = 'complete', path = excluded.path, n_rows = excluded.n_rows,
                    input_fp = excluded.input_fp, error = NULL,
                    updated_at = excluded.updated_at, size_bytes = excluded.size_bytes
                """,
                params,
            )
        return len(params)

    def mark_pending(
        self,
        feature: str,
        run_id: str,
        keys: Iterable[tuple[str, str]],
        *,
        force: bool = False,
    ) -> None:
        """Record entries as pending (about to be computed), in one transaction.

        An entry already complete stays complete unless ``force`` is set (another
        process may have finished it meanwhile).

        Parameters
        ----------
        feature, run_id : str
            The run.
        keys : iterable of (group, sequence)
            The entries.
        force : bool
            Also reset complete entries to pending (overwrite, changed inputs).
        """
        now = _now()
        params = [(feature, run_id, str(g), str(s), now) for g, s in keys]
        if not params:
            return
        condition = "" if force else "WHERE entries.status != 'complete'"
        with self._write() as conn:
            conn.executemany(
                f"""
                INSERT INTO entries (feature, run_id, grp, sequence, status, updated_at)
                VALUES (?, ?, ?, ?, 'pending', ?)
                ON CONFLICT (feature, run_id, grp, sequence) DO UPDATE SET
                    status = 'pending', error = NULL, updated_at = excluded.updated_at
                {condition}
                """,
                params,
            )

    def mark_failed(self, feature: str, run_id: str, group: str, sequence: str, error: str) -> None:
        """Record that computing an entry failed, with the reason.

        Parameters
        ----------
        feature, run_id : str
            The run.
        group, sequence : str
            The entry.
        error : str
            What went wrong.
        """
        with self._write() as conn:
            conn.execute(
                """
                INSERT INTO entries (feature, run_id, grp, sequence, status, error, updated_at)
                VALUES (?, ?, ?, ?, 'failed', ?, ?)
                ON CONFLICT (feature, run_id, grp, sequence) DO UPDATE SET
                    status = 'failed', error = excluded.error, updated_at = excluded.updated_at
                """,
                (feature, run_id, str(group), str(sequence), error, _now()),
            )

    def list_entries(
        self, feature: str, run_id: str | None = None, *, status: str | None = None
    ) -> pl.DataFrame:
        """Return the entries of a feature (optionally of one run / one status).

        Parameters
        ----------
        feature : str
            Feature name.
        run_id : str, optional
            Restrict to this run.
        status : {"pending", "complete", "failed"}, optional
            Restrict to this status.

        Returns
        -------
        polars.DataFrame
            Columns ``feature, run_id, group, sequence, status, path`` (absolute),
            ``n_rows, input_fp, error, updated_at, size_bytes``, sorted by run, group
            and sequence.
        """
        sql = (
            "SELECT feature, run_id, grp, sequence, status, path, n_rows, input_fp, error, "
            "updated_at, size_bytes FROM entries WHERE feature = ?"
        )
        args: list[Any] = [feature]
        if run_id is not None:
            sql += " AND run_id = ?"
            args.append(run_id)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY run_id, grp, sequence"
        rows = [(*r[:5], self._load_path(r[5]), *r[6:]) for r in self._query(sql, args)]
        schema = dict.fromkeys(_ENTRY_COLUMNS, pl.String)
        schema.update(n_rows=pl.Int64, updated_at=pl.Float64, size_bytes=pl.Int64)
        return pl.DataFrame(rows, schema=schema, orient="row")

    def complete_entries(self, feature: str, run_id: str) -> dict[tuple[str, str], str | None]:
        """Return ``{(group, sequence): input_fp}`` of a run's complete entries.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        dict
        """
        rows = self._query(
            "SELECT grp, sequence, input_fp FROM entries "
            "WHERE feature = ? AND run_id = ? AND status = 'complete'",
            (feature, run_id),
        )
        return {(g, s): fp for g, s, fp in rows}

    def complete_sizes(self, feature: str, run_id: str) -> dict[tuple[str, str], int | None]:
        """Return ``{(group, sequence): size_bytes}`` of a run's complete entries.

        The size is what the writer reported after its atomic write (``None`` for
        rows recorded without one); :func:`moveo.pipeline.run.output_problem`
        compares it with the file on disk.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        dict
        """
        rows = self._query(
            "SELECT grp, sequence, size_bytes FROM entries "
            "WHERE feature = ? AND run_id = ? AND status = 'complete'",
            (feature, run_id),
        )
        return {(g, s): (None if n is None else int(n)) for g, s, n in rows}

    def entries_stamp(self, feature: str) -> tuple[int, float | None]:
        """Return (number of entry rows, latest update time) of a feature.

        Two equal stamps mean no entry of the feature was written in between.

        Parameters
        ----------
        feature : str
            Feature name.

        Returns
        -------
        (int, float or None)
        """
        n, latest = self._query(
            "SELECT COUNT(*), MAX(updated_at) FROM entries WHERE feature = ?", (feature,)
        )[0]
        return int(n), latest

    def entry_path(self, feature: str, run_id: str, group: str, sequence: str) -> Path | None:
        """Return the output file of a complete entry, or ``None``.

        Parameters
        ----------
        feature, run_id, group, sequence : str
            The entry.

        Returns
        -------
        Path or None
        """
        rows = self._query(
            "SELECT path FROM entries WHERE feature = ? AND run_id = ? AND grp = ? "
            "AND sequence = ? AND status = 'complete'",
            (feature, run_id, group, sequence),
        )
        if not rows or rows[0][0] is None:
            return None
        return Path(self._load_path(rows[0][0]))  # type: ignore[arg-type]

    def entry_count(self, feature: str, run_id: str) -> int:
        """Return the number of complete entries of a run.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        int
        """
        return int(
            self._query(
                "SELECT COUNT(*) FROM entries WHERE feature = ? AND run_id = ? "
                "AND status = 'complete'",
                (feature, run_id),
            )[0][0]
        )

    def pending_entries(
        self,
        feature: str,
        run_id: str,
        all_entries: Iterable[tuple[str, str]],
        fingerprints: Mapping[tuple[str, str], str] | None = None,
    ) -> list[tuple[str, str]]:
        """Return the ``(group, sequence)`` pairs a run still has to compute.

        Parameters
        ----------
        feature, run_id : str
            The run.
        all_entries : iterable of (group, sequence)
            The full set that should exist (e.g. the dataset's entries in scope).
        fingerprints : mapping, optional
            Current input fingerprint per entry; a complete entry recorded with a
            different fingerprint is pending again (its inputs changed).

        Returns
        -------
        list of (str, str)
            Sorted.
        """
        done = self.complete_entries(feature, run_id)
        pending = []
        for key in set(all_entries):
            if key not in done or fingerprints is not None and fingerprints.get(key) != done[key]:
                pending.append(key)
        return sorted(pending)

    # ------------------------------------------------------------------ csv indexes
    def migrate_from_csv(self, features_root: str | Path | None = None) -> int:
        """Import existing ``index.csv`` files into the registry.

        Reads ``<features_root>/<feature>/index.csv`` -- the per-feature CSV index
        mosaic-behavior keeps (columns ``abs_path, run_id, started_at, finished_at,
        version, group, sequence, params_hash, n_rows``; extra columns are ignored)
        -- and records each run and its entries (as complete), under the folder's
        name and the CSV's run ids. A run's parameters and inputs come from its
        ``<run_id>/params.json`` when there is one. Safe to call repeatedly: rows
        already in the registry are left as they are (``INSERT OR IGNORE``), so
        duplicates are skipped.

        Only files inside ``features_root`` are recorded: a relative path is taken
        relative to the dataset root, an absolute one from another location (a moved
        dataset) is looked up under ``<feature>/<run_id>/`` by its file name, and a
        row whose path would leave ``features_root`` (or names no file) is skipped.
        Migrated entries carry no input fingerprint, so moveo's own runs never
        mistake them for theirs; to make mosaic's outputs reusable by moveo's
        pipelines, use :func:`moveo.pipeline.import_mosaic`.

        Parameters
        ----------
        features_root : str or Path, optional
            The ``features/`` folder (default: ``<dataset root>/features``).

        Returns
        -------
        int
            The number of entries imported (0 when every row was already there).

        Raises
        ------
        RegistryReadOnlyError
            The registry was opened read-only.
        """
        import json

        from moveo.io.mosaic import (
            MosaicLayoutError,
            parse_timestamp,
            read_index_csv,
            resolve_index_path,
        )

        root = Path(features_root) if features_root is not None else self.base_dir / "features"
        if not root.is_dir():
            return 0
        runs: dict[tuple[str, str], dict[str, Any]] = {}
        entries: list[tuple[Any, ...]] = []
        now = _now()
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            index = folder / "index.csv"
            if folder.name.startswith(".") or not index.is_file():
                continue
            try:
                table = read_index_csv(index)
            except MosaicLayoutError:
                continue
            feature = folder.name
            for row in table.iter_rows(named=True):
                run_id = str(row.get("run_id") or "")
                group = str(row.get("group") or "")
                sequence = str(row.get("sequence") or "")
                if not run_id or Path(run_id).name != run_id or run_id.startswith("."):
                    continue
                run_dir = folder / run_id
                path = resolve_index_path(
                    str(row.get("abs_path") or ""),
                    root=root,
                    expected_dir=run_dir,
                    base=root.parent,  # mosaic's relative paths start at the dataset root
                )
                if path is None or not path.is_file():
                    continue
                started = parse_timestamp(row.get("started_at"))
                finished = parse_timestamp(row.get("finished_at"))
                run = runs.setdefault(
                    (feature, run_id),
                    {
                        "version": str(row.get("version") or run_id.partition("-")[0]),
                        "params_hash": str(row.get("params_hash") or ""),
                        "started": [],
                        "finished": [],
                        "dir": run_dir,
                    },
                )
                if started is not None:
                    run["started"].append(started)
                run["finished"].append(finished)
                try:
                    n_rows = int(float(row.get("n_rows") or 0))
                except ValueError:
                    n_rows = 0
                entries.append(
                    (
                        feature,
                        run_id,
                        group,
                        sequence,
                        self._store_path(path),
                        n_rows,
                        now,
                        path.stat().st_size,
                    )
                )
        run_rows = []
        for (feature, run_id), run in runs.items():
            params_json = inputs_json = None
            spec_path = run["dir"] / "params.json"
            if spec_path.is_file():
                try:
                    spec = json.loads(spec_path.read_text(encoding="utf-8"))
                except (ValueError, OSError):
                    spec = None
                if isinstance(spec, dict):
                    params_json = json.dumps(spec.get("_params", {}), sort_keys=True)
                    inputs_json = json.dumps({"inputs": spec.get("_inputs", [])}, sort_keys=True)
            finished = run["finished"]
            run_rows.append(
                (
                    feature,
                    run_id,
                    run["version"],
                    run["params_hash"],
                    params_json,
                    inputs_json,
                    min(run["started"]) if run["started"] else now,
                    max(finished) if finished and None not in finished else None,
                )
            )
        if not run_rows:
            return 0
        with self._write() as conn:
            conn.executemany(
                """
                INSERT OR IGNORE INTO runs (feature, run_id, version, params_hash, params_json,
                                            inputs_json, started_at, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                run_rows,
            )
            before = conn.total_changes
            conn.executemany(
                """
                INSERT OR IGNORE INTO entries (feature, run_id, grp, sequence, status, path,
                                               n_rows, input_fp, error, updated_at, size_bytes)
                VALUES (?, ?, ?, ?, 'complete', ?, ?, NULL, NULL, ?, ?)
                """,
                entries,
            )
            imported = conn.total_changes - before
        return int(imported)

    # ------------------------------------------------------------------ dependencies
    def record_dependency(
        self, feature: str, run_id: str, upstream_feature: str, upstream_run_id: str
    ) -> None:
        """Record that ``feature/run_id`` consumed ``upstream_feature/upstream_run_id``.

        Parameters
        ----------
        feature, run_id : str
            The consuming run.
        upstream_feature, upstream_run_id : str
            The consumed run.
        """
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO dependencies VALUES (?, ?, ?, ?)",
                (feature, run_id, upstream_feature, upstream_run_id),
            )

    def get_dependencies(self, feature: str, run_id: str) -> list[tuple[str, str]]:
        """Return the upstream ``(feature, run_id)`` pairs of a run.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        list of (str, str)
            Sorted.
        """
        rows = self._query(
            "SELECT upstream_feature, upstream_run_id FROM dependencies "
            "WHERE feature = ? AND run_id = ? ORDER BY upstream_feature, upstream_run_id",
            (feature, run_id),
        )
        return [(f, r) for f, r in rows]

    def get_dependents(self, feature: str, run_id: str) -> list[tuple[str, str]]:
        """Return the downstream ``(feature, run_id)`` runs that consumed a run.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        list of (str, str)
        """
        rows = self._query(
            "SELECT feature, run_id FROM dependencies "
            "WHERE upstream_feature = ? AND upstream_run_id = ? ORDER BY feature, run_id",
            (feature, run_id),
        )
        return [(f, r) for f, r in rows]

    def lineage(self, feature: str, run_id: str) -> dict[str, Any]:
        """Return the full dependency tree rooted at ``feature/run_id``.

        Parameters
        ----------
        feature, run_id : str
            The run.

        Returns
        -------
        dict
            ``{"feature": ..., "run_id": ..., "upstream": [<same structure>, ...]}``.
        """

        def build(f: str, r: str, seen: frozenset[tuple[str, str]]) -> dict[str, Any]:
            if (f, r) in seen:  # a corrupt registry must not recurse forever
                raise RegistryError(f"dependency cycle through {f}/{r} in {self.db_path}")
            ups = self.get_dependencies(f, r)
            return {
                "feature": f,
                "run_id": r,
                "upstream": [build(uf, ur, seen | {(f, r)}) for uf, ur in ups],
            }

        return build(feature, run_id, frozenset())


_KEEP_OPEN_MAX = 8
"""WAL databases kept open in the background per process (least recently used first out)."""
_KEPT: dict[str, tuple[int, tuple[int, int], sqlite3.Connection]] = {}
_KEPT_LOCK = threading.Lock()
_INHERITED: list[sqlite3.Connection] = []  # kept by a parent before fork: never closed here


def _keep_wal_open(db_path: Path, conn: sqlite3.Connection) -> None:
    """Hold one idle connection to a WAL database so closing ``conn`` stays cheap.

    The kept connection is replaced when the file at ``db_path`` is another
    one (deleted and created again: a different inode, since the kept
    connection holds the old one open) or in a forked child. Closing a kept
    connection whose file was deleted is safe: SQLite sees that the database
    moved and neither checkpoints nor deletes anything.
    """
    with _KEPT_LOCK:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                return
            st = os.stat(db_path)
        except (OSError, sqlite3.Error):
            return
        key = os.path.abspath(db_path)
        ident = (st.st_dev, st.st_ino)
        kept = _KEPT.pop(key, None)
        if kept is not None and kept[0] == os.getpid() and kept[1] == ident:
            _KEPT[key] = kept  # most recently used last
            return
        if kept is not None:
            _release(kept)
        try:
            keeper = sqlite3.connect(key, isolation_level=None, check_same_thread=False)
            # one read takes the shared lock that tells SQLite "not the last connection"
            keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            return
        _KEPT[key] = (os.getpid(), ident, keeper)
        while len(_KEPT) > _KEEP_OPEN_MAX:
            _release(_KEPT.pop(next(iter(_KEPT))))


def _forget_kept(db_path: Path) -> None:
    with _KEPT_LOCK:
        kept = _KEPT.pop(os.path.abspath(db_path), None)
        if kept is not None:
            _release(kept)


def _release(kept: tuple[int, tuple[int, int], sqlite3.Connection]) -> None:
    if kept[0] == os.getpid():
        kept[2].close()
    else:  # inherited over fork: closing it here could disturb the parent's locks
        _INHERITED.append(kept[2])


def _features_root(root: Any) -> Path:
    features = getattr(root, "features_root", None)
    if features is not None:
        return Path(features)
    path = Path(root)
    if path.name == "features" and not (path / "dataset.json").exists():
        return path
    return path / "features"


def open_registry(
    root: Any, *, readonly: bool = False, migrate_csv: bool = False
) -> FeatureRegistry:
    """Open (or create) the feature registry of a dataset.

    Parameters
    ----------
    root : Dataset, or path to the dataset root or to its ``features/`` folder
        The dataset (the seed calls this argument ``features_root``; both the
        dataset root and its ``features/`` folder are accepted).
    readonly : bool, default False
        Open without write access (inspection only).
    migrate_csv : bool, default False
        If True and the database is newly created, import the existing
        ``features/<feature>/index.csv`` files (see
        :meth:`FeatureRegistry.migrate_from_csv`).

    Returns
    -------
    FeatureRegistry
        Backed by ``<dataset root>/.moveo/registry.db``.

    Raises
    ------
    RegistryReadOnlyError
        The dataset folder is not writable (and ``readonly`` is False).
    """
    path = registry_path(root)
    created = not path.exists()
    reg = FeatureRegistry(path, readonly=readonly, base_dir=path.parent.parent)
    if migrate_csv and created and not readonly:
        try:
            reg.migrate_from_csv(_features_root(root))
        except BaseException:
            reg.close()
            raise
    return reg
