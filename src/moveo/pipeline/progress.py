"""Training progress: a callback protocol, a SQLite backend, a composite and a terminal display.

A trainer reports progress at three granularities (:class:`TrainingProgressCallback`):
epochs, one-vs-rest classes and coarse phases. :class:`SQLiteProgressCallback`
stores those events in a ``training_progress`` table so another thread or
process (a notebook, an API endpoint) can follow a running job with
:func:`read_progress` without blocking the trainer:

- the callback owns its own connection in WAL mode (readers never block the
  writer and vice versa),
- events are buffered and written in one short transaction per batch, so a
  training loop calling it thousands of times is not slowed by fsyncs,
- :func:`read_progress` opens the database read-only, queries and closes.

Examples
--------
>>> import tempfile, pathlib
>>> db = pathlib.Path(tempfile.mkdtemp()) / "progress.db"
>>> cb = SQLiteProgressCallback(db, job_id="demo")
>>> cb.on_phase("fit", "fitting the model")
>>> cb.on_epoch_end(0, 2, {"loss": 0.5})
>>> cb.close()
>>> [(row["event_type"], row["phase"]) for row in read_progress(db, "demo")]
[('phase', 'fit'), ('epoch', None)]
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from moveo._fs import set_journal_mode

__all__ = [
    "CompositeProgressCallback",
    "SQLiteProgressCallback",
    "TerminalProgressCallback",
    "TrainingProgressCallback",
    "read_progress",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS training_progress (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    timestamp REAL NOT NULL,
    event_type TEXT NOT NULL,
    epoch INTEGER,
    total_epochs INTEGER,
    class_idx INTEGER,
    total_classes INTEGER,
    class_name TEXT,
    phase TEXT,
    message TEXT,
    metrics_json TEXT
);
CREATE INDEX IF NOT EXISTS training_progress_job ON training_progress (job_id, id);
"""

_COLUMNS = (
    "job_id",
    "timestamp",
    "event_type",
    "epoch",
    "total_epochs",
    "class_idx",
    "total_classes",
    "class_name",
    "phase",
    "message",
    "metrics_json",
)


@runtime_checkable
class TrainingProgressCallback(Protocol):
    """Minimal callback contract for training progress reporting.

    Implement these three methods to send progress anywhere (a database, a
    terminal, an experiment tracker). They correspond to three granularities
    of training progress.
    """

    def on_epoch_end(self, epoch: int, total_epochs: int, metrics: dict[str, float]) -> None:
        """Call after each training epoch.

        Parameters
        ----------
        epoch : int
            Zero-based epoch index.
        total_epochs : int
            Total number of epochs planned.
        metrics : dict of str to float
            Metric name-value pairs (e.g. ``{"loss": 0.42}``).
        """

    def on_class_start(self, class_idx: int, total_classes: int, class_name: str) -> None:
        """Call when training for one class (one-vs-rest) begins.

        Parameters
        ----------
        class_idx : int
            Zero-based class index.
        total_classes : int
            Total number of classes.
        class_name : str
            Human-readable class identifier.
        """

    def on_phase(self, phase: str, message: str) -> None:
        """Call at coarse-grained phase transitions.

        Parameters
        ----------
        phase : str
            Phase identifier (e.g. ``"load"``, ``"fit"``, ``"evaluate"``, ``"done"``).
        message : str
            Free-text description.
        """


def _clean_metrics(metrics: Mapping[str, Any]) -> str:
    out: dict[str, float | None] = {}
    for key, value in dict(metrics).items():
        number = float(value)
        out[str(key)] = number if math.isfinite(number) else None
    return json.dumps(out, sort_keys=True)


def _row_to_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    raw = data.pop("metrics_json")
    data["metrics"] = json.loads(raw) if raw else None
    return data


class SQLiteProgressCallback:
    """Write progress rows into the ``training_progress`` table of a SQLite database.

    The callback opens its own connection (WAL mode, ``busy_timeout``) so the
    training thread and any reader do not block each other. It may be created
    in one thread and used from another (e.g. created by an API handler and
    passed to a training thread); calls are serialised by an internal lock.

    Events are buffered and flushed in one transaction when ``batch_size``
    events are waiting or ``flush_interval`` seconds have passed since the last
    flush, and always by :meth:`flush`, :meth:`get_progress` and :meth:`close`.
    Phase and class events are flushed at once: they are rare and a reader
    wants to see them.

    Parameters
    ----------
    db_path : str or Path
        SQLite file (created with its parent folder if absent). It may be the
        dataset registry (``.moveo/registry.db``) or any other file.
    job_id : str
        The training job the rows belong to.
    batch_size : int, default 64
        Flush after this many buffered events.
    flush_interval : float, default 0.25
        Flush when this many seconds have passed since the last flush.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "p.db"
    >>> with SQLiteProgressCallback(db, "job-1") as cb:
    ...     cb.on_class_start(0, 2, "rest")
    ...     len(cb.get_progress())
    1
    """

    def __init__(
        self,
        db_path: str | Path,
        job_id: str,
        *,
        batch_size: int = 64,
        flush_interval: float = 0.25,
    ) -> None:
        if not isinstance(job_id, str) or not job_id:
            raise ValueError(f"job_id must be a non-empty string, got {job_id!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.db_path = Path(db_path)
        self.job_id = job_id
        self.batch_size = int(batch_size)
        self.flush_interval = float(flush_interval)
        self._lock = threading.Lock()
        self._buffer: list[tuple[Any, ...]] = []
        self._last_flush = time.monotonic()
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: the connection is used from whichever thread
        # calls the callback; the lock guarantees one user at a time.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.db_path, timeout=30.0, check_same_thread=False, isolation_level=None
        )
        set_journal_mode(self._conn, self.db_path)  # WAL, or rollback journal on NFS etc.
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    # -- protocol ---------------------------------------------------------------------

    def on_epoch_end(self, epoch: int, total_epochs: int, metrics: dict[str, float]) -> None:
        """Record an epoch completion with its metrics.

        Parameters
        ----------
        epoch : int
            Zero-based epoch index.
        total_epochs : int
            Total epochs planned.
        metrics : dict of str to float
            Metric name-value pairs (non-finite values are stored as null).
        """
        self._add(
            "epoch",
            epoch=int(epoch),
            total_epochs=int(total_epochs),
            metrics_json=_clean_metrics(metrics or {}),
        )

    def on_class_start(self, class_idx: int, total_classes: int, class_name: str) -> None:
        """Record the start of one class's training (one-vs-rest).

        Parameters
        ----------
        class_idx : int
            Zero-based class index.
        total_classes : int
            Total number of classes.
        class_name : str
            Human-readable class identifier.
        """
        self._add(
            "class_start",
            urgent=True,
            class_idx=int(class_idx),
            total_classes=int(total_classes),
            class_name=str(class_name),
        )

    def on_phase(self, phase: str, message: str) -> None:
        """Record a coarse-grained phase transition.

        Parameters
        ----------
        phase : str
            Phase identifier.
        message : str
            Free-text description.
        """
        self._add("phase", urgent=True, phase=str(phase), message=str(message))

    # -- buffering --------------------------------------------------------------------

    def _add(self, event_type: str, *, urgent: bool = False, **values: Any) -> None:
        row = {"job_id": self.job_id, "timestamp": time.time(), "event_type": event_type}
        row.update(values)
        with self._lock:
            if self._conn is None:
                raise RuntimeError(
                    f"SQLiteProgressCallback for job {self.job_id!r} is closed; "
                    "create a new one to record more progress"
                )
            self._buffer.append(tuple(row.get(c) for c in _COLUMNS))
            due = (
                urgent
                or len(self._buffer) >= self.batch_size
                or time.monotonic() - self._last_flush >= self.flush_interval
            )
            if due:
                self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buffer or self._conn is None:
            return
        rows, self._buffer = self._buffer, []
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                f"INSERT INTO training_progress ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                rows,
            )
        except BaseException:
            conn.execute("ROLLBACK")
            self._buffer = rows + self._buffer
            raise
        conn.execute("COMMIT")
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        """Write every buffered event now."""
        with self._lock:
            self._flush_locked()

    def get_progress(self) -> list[dict[str, Any]]:
        """Return all progress rows of this job, oldest first (flushes first).

        Returns
        -------
        list of dict
            One dict per event, see :func:`read_progress`.
        """
        with self._lock:
            if self._conn is None:
                return read_progress(self.db_path, self.job_id)
            self._flush_locked()
            self._conn.row_factory = sqlite3.Row
            try:
                rows = self._conn.execute(
                    "SELECT * FROM training_progress WHERE job_id = ? ORDER BY id",
                    (self.job_id,),
                ).fetchall()
            finally:
                self._conn.row_factory = None
        return [_row_to_dict(r) for r in rows]

    def close(self) -> None:
        """Flush buffered events and close the connection (idempotent)."""
        with self._lock:
            if self._conn is None:
                return
            try:
                self._flush_locked()
            finally:
                self._conn.close()
                self._conn = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._conn is None

    def __enter__(self) -> SQLiteProgressCallback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        # never raise from a finaliser; an explicit close() reports errors
        with contextlib.suppress(Exception):
            self.close()


def read_progress(db_path: str | Path, job_id: str) -> list[dict[str, Any]]:
    """Read the progress of a job without creating a callback.

    Opens the database read-only, queries and closes, so it is safe to call
    repeatedly (e.g. from a polling thread) while a trainer writes.

    Parameters
    ----------
    db_path : str or Path
        The SQLite file the job writes to.
    job_id : str
        The training job to query.

    Returns
    -------
    list of dict
        One dict per event, oldest first, with keys ``id``, ``job_id``,
        ``timestamp`` (Unix seconds), ``event_type`` (``"epoch"``,
        ``"class_start"`` or ``"phase"``), ``epoch``, ``total_epochs``,
        ``class_idx``, ``total_classes``, ``class_name``, ``phase``,
        ``message`` and ``metrics`` (a dict, or None); fields that do not
        apply to an event are None. Empty if nothing was recorded yet.

    Raises
    ------
    FileNotFoundError
        If ``db_path`` does not exist.
    """
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(
            f"no progress database at {path}: has the training job started writing to it?"
        )
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute(
                "SELECT * FROM training_progress WHERE job_id = ? ORDER BY id", (job_id,)
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
    finally:
        conn.close()
    return [_row_to_dict(r) for r in rows]


class CompositeProgressCallback:
    """Forward every progress event to several callbacks, in order.

    Parameters
    ----------
    callbacks : iterable of TrainingProgressCallback
        ``None`` entries are skipped, so optional callbacks can be passed as is.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> a = TerminalProgressCallback(console=Console(file=io.StringIO()))
    >>> b = TerminalProgressCallback(console=Console(file=io.StringIO()))
    >>> both = CompositeProgressCallback([a, b, None])
    >>> both.on_phase("fit", "go")
    >>> a.events == b.events == [("phase", "fit", "go")]
    True
    """

    def __init__(self, callbacks: Iterable[TrainingProgressCallback | None]) -> None:
        self.callbacks = [cb for cb in callbacks if cb is not None]
        for cb in self.callbacks:
            missing = [
                m
                for m in ("on_epoch_end", "on_class_start", "on_phase")
                if not callable(getattr(cb, m, None))
            ]
            if missing:
                raise TypeError(
                    f"{type(cb).__name__} is not a TrainingProgressCallback: "
                    f"missing {', '.join(missing)}"
                )

    def on_epoch_end(self, epoch: int, total_epochs: int, metrics: dict[str, float]) -> None:
        """Forward to every callback (see :class:`TrainingProgressCallback`)."""
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, total_epochs, metrics)

    def on_class_start(self, class_idx: int, total_classes: int, class_name: str) -> None:
        """Forward to every callback (see :class:`TrainingProgressCallback`)."""
        for cb in self.callbacks:
            cb.on_class_start(class_idx, total_classes, class_name)

    def on_phase(self, phase: str, message: str) -> None:
        """Forward to every callback (see :class:`TrainingProgressCallback`)."""
        for cb in self.callbacks:
            cb.on_phase(phase, message)

    def close(self) -> None:
        """Close every callback that has a ``close`` method."""
        for cb in self.callbacks:
            close = getattr(cb, "close", None)
            if callable(close):
                close()


class TerminalProgressCallback:
    """Show training progress in the terminal with rich.

    Phases and classes print one line each; epochs drive a progress bar (on a
    terminal) or print a compact line every ``every`` epochs (elsewhere). Every
    event is also kept in :attr:`events` for inspection.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to print (default: standard error).
    every : int, default 1
        When not on a terminal, print every ``every``-th epoch line.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> out = io.StringIO()
    >>> cb = TerminalProgressCallback(console=Console(file=out, width=80))
    >>> cb.on_class_start(1, 3, "turning")
    >>> cb.on_epoch_end(0, 2, {"accuracy": 0.75})
    >>> cb.close()
    >>> print(out.getvalue().strip())
    class 2/3: turning
    epoch 1/2 accuracy=0.75
    """

    def __init__(self, console: Any = None, *, every: int = 1) -> None:
        from rich.console import Console

        self.console = console if console is not None else Console(stderr=True)
        self.every = max(1, int(every))
        self.events: list[tuple[Any, ...]] = []
        self._progress: Any = None
        self._task: Any = None

    def _bar(self, total: int) -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        if self._progress is None:
            self._progress = Progress(
                TextColumn("[bold]epochs"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=total)
        return self._progress

    def on_epoch_end(self, epoch: int, total_epochs: int, metrics: dict[str, float]) -> None:
        """Advance the epoch bar (or print an epoch line off-terminal)."""
        self.events.append(("epoch", int(epoch), int(total_epochs), dict(metrics or {})))
        text = " ".join(f"{k}={float(v):.4g}" for k, v in sorted((metrics or {}).items()))
        if self.console.is_terminal:
            bar = self._bar(total_epochs)
            bar.update(self._task, completed=epoch + 1, total=total_epochs, description=text)
        elif epoch % self.every == 0 or epoch + 1 == total_epochs:
            self.console.print(f"epoch {epoch + 1}/{total_epochs} {text}".rstrip(), highlight=False)

    def on_class_start(self, class_idx: int, total_classes: int, class_name: str) -> None:
        """Print which class starts training."""
        self.events.append(("class_start", int(class_idx), int(total_classes), str(class_name)))
        self._stop_bar()
        self.console.print(f"class {class_idx + 1}/{total_classes}: {class_name}", highlight=False)

    def on_phase(self, phase: str, message: str) -> None:
        """Print a phase transition."""
        self.events.append(("phase", str(phase), str(message)))
        self._stop_bar()
        self.console.print(f"[bold]{phase}[/bold] {message}", highlight=False)

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None

    def close(self) -> None:
        """Stop the progress bar, if one is shown."""
        self._stop_bar()
