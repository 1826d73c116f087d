"""Progress bars and status tables: when they show, what they count, quiet off a terminal."""

from __future__ import annotations

import io

import polars as pl
import pytest
from rich.console import Console

from moveo import Dataset
from moveo.pipeline import run_feature
from moveo.pipeline.reporting import ProgressReporter, progress_enabled, render_table
from unit.pipeline.pipeline_features import StepLength, make_tracks


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_enabled_rules(monkeypatch):
    monkeypatch.delenv("MOVEO_PROGRESS", raising=False)
    assert progress_enabled(None, io.StringIO()) is False  # not a terminal
    assert progress_enabled(None, FakeTTY()) is True
    assert progress_enabled(True, io.StringIO()) is True
    assert progress_enabled(False, FakeTTY()) is False
    monkeypatch.setenv("MOVEO_PROGRESS", "0")
    assert progress_enabled(True, FakeTTY()) is False


def test_progress_bar_counts_entries(tmp_path, monkeypatch):
    monkeypatch.delenv("MOVEO_PROGRESS", raising=False)
    ds = Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(make_tracks())
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    with ProgressReporter(True, console=console) as reporter:
        run_feature(ds, StepLength(), progress=reporter)
        run_feature(ds, StepLength(), progress=reporter)  # cached
    text = buf.getvalue()
    assert "step-length" in text
    assert "6/6" in text
    assert "rows/s" in text
    assert "cached" in text


def test_quiet_reporter_is_a_noop():
    with ProgressReporter(False) as reporter:
        task = reporter.task("x", 3)
        task.advance(1, 10)
        task.finish("done")
    assert reporter.enabled is False


def test_render_table_colours_states():
    df = pl.DataFrame({"step": ["a", "b"], "state": ["cached", "stale"], "done": [1, None]})
    table = render_table(df, title="t")
    buf = io.StringIO()
    Console(file=buf, width=80, force_terminal=False).print(table)
    out = buf.getvalue()
    assert "cached" in out
    assert "stale" in out
    assert table.row_count == 2
    assert [c.header for c in table.columns] == ["step", "state", "done"]


@pytest.mark.parametrize("progress", [None, False])
def test_run_feature_quiet_when_not_a_terminal(tmp_path, capsys, progress):
    ds = Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(make_tracks(n_groups=1, n_sequences=1))
    run_feature(ds, StepLength(), progress=progress)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""
