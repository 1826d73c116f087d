"""``train_model``: cached, recorded model training with progress reporting.

A training run lives in ``models/<name>/<run_id>/``::

    config.json     the validated configuration (defaults filled in) + resolved inputs
    model.joblib    the fitted model (written atomically by the model)
    metrics.json    what the model reported (per-class metrics, confusion matrix, ...)

``run_id = f"{model.version}-{hash}"`` where the hash covers the validated
config *and* the model's resolved inputs (upstream feature run ids, a
fingerprint of the labels): training again with the same config on the same
inputs returns the existing run id without retraining; a changed upstream run
or edited labels gives a new run id.

Runs are recorded in the dataset's SQLite registry (``.moveo/registry.db``) in
a ``model_runs`` table that this module creates (``CREATE TABLE IF NOT
EXISTS``) next to the feature tables. A run is marked finished only after
``model.joblib`` and ``metrics.json`` are in place, so a training killed mid-way
leaves an unfinished row and the next call trains again from scratch.

Progress events go to ``progress_callback`` *and* to the ``training_progress``
table of the same database under ``job_id = "<name>/<run_id>"``, so another
thread or process can follow a run with
``read_progress(ds.internal_root / "registry.db", job_id)``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from moveo._fs import atomic_write_bytes, set_journal_mode
from moveo.pipeline.hashing import canonical_json, stable_hash
from moveo.pipeline.progress import (
    CompositeProgressCallback,
    SQLiteProgressCallback,
    TrainingProgressCallback,
)

__all__ = ["ModelRunStore", "model_run_dir", "train_model"]

TRAINING_SCHEME_VERSION = 1
"""Version of the model run-id recipe; part of every hash."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_runs (
    model        TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    version      TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    config_json  TEXT NOT NULL,
    inputs_json  TEXT,
    path         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    started_at   REAL NOT NULL,
    finished_at  REAL,
    metrics_json TEXT,
    error        TEXT,
    PRIMARY KEY (model, run_id)
) WITHOUT ROWID
"""


class ModelRunStore:
    """The ``model_runs`` table in a dataset's registry database.

    Parameters
    ----------
    db_path : str or Path
        The SQLite file (normally ``<dataset>/.moveo/registry.db``).
    """

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.db_path, timeout=60.0, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 60000")
        set_journal_mode(self._conn, self.db_path)  # WAL, or rollback journal on NFS etc.
        self._conn.execute(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ModelRunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            cur = self._conn.execute(sql, args)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return cur.rowcount

    def get(self, model: str, run_id: str) -> dict[str, Any] | None:
        """Return one run as a dict (``metrics`` and ``config`` decoded), or None.

        Parameters
        ----------
        model, run_id : str

        Returns
        -------
        dict or None
        """
        self._conn.row_factory = sqlite3.Row
        try:
            row = self._conn.execute(
                "SELECT * FROM model_runs WHERE model = ? AND run_id = ?", (model, run_id)
            ).fetchone()
        finally:
            self._conn.row_factory = None
        if row is None:
            return None
        out = dict(row)
        out["config"] = json.loads(out.pop("config_json"))
        out["inputs"] = json.loads(out.pop("inputs_json") or "null")
        out["metrics"] = json.loads(out.pop("metrics_json") or "null")
        return out

    def list(self, model: str | None = None) -> list[dict[str, Any]]:
        """Return runs (of one model, or all), newest first.

        Parameters
        ----------
        model : str, optional

        Returns
        -------
        list of dict
        """
        sql = "SELECT model, run_id FROM model_runs"
        args: tuple[Any, ...] = ()
        if model is not None:
            sql += " WHERE model = ?"
            args = (model,)
        sql += " ORDER BY started_at DESC"
        rows = self._conn.execute(sql, args).fetchall()
        return [r for m, rid in rows if (r := self.get(m, rid)) is not None]

    def start(self, model: str, run_id: str, version: str, config_json: str,
              inputs_json: str, path: str) -> None:  # fmt: skip
        """Insert (or reset) a run as ``running``."""
        self._write(
            """
            INSERT INTO model_runs (model, run_id, version, config_hash, config_json,
                                    inputs_json, path, status, started_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)
            ON CONFLICT (model, run_id) DO UPDATE SET
                status = 'running', started_at = excluded.started_at, finished_at = NULL,
                metrics_json = NULL, error = NULL, config_json = excluded.config_json,
                inputs_json = excluded.inputs_json, path = excluded.path
            """,
            (model, run_id, version, stable_hash(config_json), config_json, inputs_json, path,
             time.time()),
        )  # fmt: skip

    def finish(self, model: str, run_id: str, metrics_json: str) -> None:
        """Mark a run finished with its metrics."""
        self._write(
            "UPDATE model_runs SET status = 'finished', finished_at = ?, metrics_json = ? "
            "WHERE model = ? AND run_id = ?",
            (time.time(), metrics_json, model, run_id),
        )

    def fail(self, model: str, run_id: str, error: str) -> None:
        """Mark a run failed with the error text."""
        self._write(
            "UPDATE model_runs SET status = 'failed', error = ? WHERE model = ? AND run_id = ?",
            (error, model, run_id),
        )


def model_run_dir(ds: Any, name: str, run_id: str) -> Path:
    """Return ``models/<name>/<run_id>`` of a dataset.

    Parameters
    ----------
    ds : moveo.Dataset
    name, run_id : str

    Returns
    -------
    Path
    """
    return Path(ds.models_root) / name / run_id


def _load_config(config: str | Path | Mapping[str, object] | None) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, str | Path):
        path = Path(config)
        if not path.exists():
            raise FileNotFoundError(f"training config {path} does not exist")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"training config {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"training config {path} must hold a JSON object, not {type(data)}")
        return data
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(
        f"config must be a path to a JSON file, a dict or None, not {type(config).__name__}"
    )


def _check_model(model: Any) -> None:
    missing = [
        attr
        for attr in ("name", "version", "Config", "identity", "fit")
        if not hasattr(model, attr)
    ]
    if missing:
        raise TypeError(
            f"{type(model).__name__} is not a trainable model: missing {missing} "
            "(see moveo.models.base.TrainableModel)"
        )


def train_model(
    ds: Any,
    model: Any,
    config: str | Path | Mapping[str, object] | None = None,
    overwrite: bool = False,
    *,
    progress_callback: TrainingProgressCallback | None = None,
) -> str:
    """Train a model using a JSON (or dict) configuration; cached by run id.

    Parameters
    ----------
    ds : moveo.Dataset
        Dataset providing the inputs and the ``models/`` storage.
    model : TrainableModel
        E.g. :class:`moveo.models.BehaviorClassifier` or
        :class:`moveo.models.EMGClassifier` (see :mod:`moveo.models.base`).
    config : str, Path, dict or None
        Path to a JSON config file or an in-memory dict, validated by
        ``model.Config`` (unknown keys are errors).
    overwrite : bool, default False
        Retrain even if a finished run with this run id exists.
    progress_callback : TrainingProgressCallback, optional
        Receives phase, class and epoch events. Events are also stored in the
        registry's ``training_progress`` table under ``"<name>/<run_id>"``.

    Returns
    -------
    str
        The ``run_id``; the run lives in ``models/<name>/<run_id>/``.

    Raises
    ------
    ValueError
        Invalid config (the message names the model and the field).
    TypeError
        ``model`` does not follow the trainable-model protocol.
    """
    _check_model(model)
    raw = _load_config(config)
    try:
        cfg = model.Config.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"invalid config for model {model.name!r}:\n{exc}") from exc
    config_data = cfg.model_dump(mode="json")
    inputs = model.identity(ds, cfg)
    run_id = f"{model.version}-" + stable_hash(
        {"scheme": TRAINING_SCHEME_VERSION, "config": config_data, "inputs": inputs}
    )
    run_root = model_run_dir(ds, model.name, run_id)
    db_path = Path(ds.internal_root) / "registry.db"
    job_id = f"{model.name}/{run_id}"
    with ModelRunStore(db_path) as store:
        row = store.get(model.name, run_id)
        if (
            row is not None
            and row["status"] == "finished"
            and not overwrite
            and (run_root / "model.joblib").exists()
        ):
            if progress_callback is not None:
                progress_callback.on_phase("cached", f"{job_id} is already trained")
            return run_id
        if run_root.exists():
            # leftovers of an interrupted or overwritten run: start clean
            shutil.rmtree(run_root)
        run_root.mkdir(parents=True)
        config_json = canonical_json(config_data)
        inputs_json = canonical_json(inputs)
        store.start(model.name, run_id, str(model.version), config_json, inputs_json, str(run_root))
        record = {
            "model": model.name,
            "run_id": run_id,
            "version": model.version,
            "config": config_data,
            "inputs": inputs,
        }
        atomic_write_bytes(
            json.dumps(record, indent=2, sort_keys=True).encode(), run_root / "config.json"
        )
        sql_cb = SQLiteProgressCallback(db_path, job_id)
        progress = CompositeProgressCallback([progress_callback, sql_cb])
        try:
            progress.on_phase("start", f"training {job_id}")
            metrics = model.fit(ds, cfg, run_root, progress)
            if not (run_root / "model.joblib").exists():
                raise RuntimeError(
                    f"model {model.name!r} did not write {run_root / 'model.joblib'} in fit()"
                )
            metrics_json = json.dumps(metrics, indent=2, sort_keys=True, allow_nan=False)
            atomic_write_bytes(metrics_json.encode(), run_root / "metrics.json")
            store.finish(model.name, run_id, metrics_json)
            progress.on_phase("done", f"{job_id} finished")
        except BaseException as exc:
            store.fail(model.name, run_id, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            sql_cb.close()
    return run_id
