"""Training progress callbacks: SQLite backend, reader thread, composite, terminal display."""

from __future__ import annotations

import io
import sqlite3
import threading
import time

import pytest
from rich.console import Console

from moveo.pipeline.progress import (
    CompositeProgressCallback,
    SQLiteProgressCallback,
    TerminalProgressCallback,
    TrainingProgressCallback,
    read_progress,
)


def test_sqlite_callback_records_all_event_kinds(tmp_path):
    db = tmp_path / "sub" / "p.db"
    cb = SQLiteProgressCallback(db, "job")
    cb.on_phase("load", "reading features")
    cb.on_class_start(0, 2, "rest")
    cb.on_epoch_end(0, 3, {"loss": 0.5, "acc": float("nan")})
    rows = cb.get_progress()
    cb.close()
    assert [r["event_type"] for r in rows] == ["phase", "class_start", "epoch"]
    assert rows[0]["phase"] == "load"
    assert rows[0]["message"] == "reading features"
    assert rows[1]["class_name"] == "rest"
    assert rows[1]["total_classes"] == 2
    assert rows[2]["epoch"] == 0
    assert rows[2]["total_epochs"] == 3
    assert rows[2]["metrics"] == {"loss": 0.5, "acc": None}
    assert rows[0]["metrics"] is None
    assert read_progress(db, "job") == rows
    assert read_progress(db, "other-job") == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert isinstance(cb, TrainingProgressCallback)


def test_epochs_are_batched_until_flush(tmp_path):
    db = tmp_path / "p.db"
    cb = SQLiteProgressCallback(db, "job", batch_size=10, flush_interval=3600)
    for e in range(9):
        cb.on_epoch_end(e, 20, {"loss": 1.0 / (e + 1)})
    assert read_progress(db, "job") == []  # still buffered: no write per epoch
    cb.on_epoch_end(9, 20, {"loss": 0.1})  # 10th event fills the batch
    assert [r["epoch"] for r in read_progress(db, "job")] == list(range(10))
    cb.on_epoch_end(10, 20, {})
    cb.close()
    assert len(read_progress(db, "job")) == 11
    cb.close()  # idempotent
    assert cb.closed
    with pytest.raises(RuntimeError, match="is closed"):
        cb.on_phase("x", "y")


def test_flush_interval_writes_without_a_full_batch(tmp_path):
    db = tmp_path / "p.db"
    cb = SQLiteProgressCallback(db, "job", batch_size=1000, flush_interval=0.0)
    cb.on_epoch_end(0, 1, {"loss": 1.0})
    assert len(read_progress(db, "job")) == 1
    cb.close()


def test_reader_thread_polls_while_training_writes(tmp_path):
    db = tmp_path / "p.db"
    n_epochs = 400
    errors: list[BaseException] = []
    seen: list[list[int]] = []
    done = threading.Event()
    saw_partial = threading.Event()
    cb = SQLiteProgressCallback(db, "job", batch_size=7, flush_interval=0.0)

    def reader():
        try:
            while not done.is_set():
                rows = read_progress(db, "job")
                seen.append([r["epoch"] for r in rows if r["event_type"] == "epoch"])
                if seen[-1]:
                    saw_partial.set()
            seen.append([r["epoch"] for r in read_progress(db, "job") if r["epoch"] is not None])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    def trainer():
        # the callback was created in the test thread and is used from this one
        try:
            cb.on_phase("fit", "start")
            for e in range(n_epochs):
                cb.on_epoch_end(e, n_epochs, {"loss": 1.0 / (e + 1)})
                if e == n_epochs // 2:
                    # let the reader observe a half-written job before going on
                    assert saw_partial.wait(timeout=60)
                if e % 50 == 0:
                    time.sleep(0.005)
            cb.close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    threads = [threading.Thread(target=reader), threading.Thread(target=trainer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert seen[-1] == list(range(n_epochs))
    # every snapshot is an in-order prefix of the final sequence, and snapshots only grow
    lengths = [len(s) for s in seen]
    assert lengths == sorted(lengths)
    assert any(0 < n < n_epochs for n in lengths)
    for snapshot in seen:
        assert snapshot == list(range(len(snapshot)))


def test_read_progress_missing_file_and_missing_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="no progress database"):
        read_progress(tmp_path / "nope.db", "job")
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()
    assert read_progress(db, "job") == []


def test_sqlite_callback_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="job_id must be a non-empty string"):
        SQLiteProgressCallback(tmp_path / "p.db", "")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        SQLiteProgressCallback(tmp_path / "p.db", "j", batch_size=0)


def test_composite_forwards_in_order(tmp_path):
    out = io.StringIO()
    term = TerminalProgressCallback(console=Console(file=out, width=100))
    db = tmp_path / "p.db"
    sql = SQLiteProgressCallback(db, "job")
    both = CompositeProgressCallback([term, None, sql])
    both.on_phase("fit", "go")
    both.on_class_start(0, 1, "a")
    both.on_epoch_end(0, 1, {"f1": 1.0})
    both.close()
    assert [e[0] for e in term.events] == ["phase", "class_start", "epoch"]
    assert [r["event_type"] for r in read_progress(db, "job")] == ["phase", "class_start", "epoch"]
    assert sql.closed
    with pytest.raises(TypeError, match="missing on_epoch_end"):
        CompositeProgressCallback([object()])


def test_terminal_display_off_terminal_prints_lines():
    out = io.StringIO()
    cb = TerminalProgressCallback(console=Console(file=out, width=100), every=2)
    cb.on_phase("fit", "training 3 epochs")
    for e in range(3):
        cb.on_epoch_end(e, 3, {"loss": 1.0 / (e + 1)})
    cb.close()
    lines = out.getvalue().strip().splitlines()
    assert lines == ["fit training 3 epochs", "epoch 1/3 loss=1", "epoch 3/3 loss=0.3333"]


def test_terminal_display_on_terminal_shows_bar():
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system=None)
    cb = TerminalProgressCallback(console=console)
    for e in range(4):
        cb.on_epoch_end(e, 4, {"loss": 0.5})
    cb.on_phase("done", "finished")
    text = out.getvalue()
    assert "4/4" in text
    assert "finished" in text
    assert cb.events[-1] == ("phase", "done", "finished")
