"""Progress bars for feature runs and rich renderings of status tables.

Progress is shown only when it helps: on an interactive terminal, unless asked
otherwise. ``progress=True`` forces bars on (e.g. for the ``moveo demo``
command), ``progress=False`` silences them, and the environment variable
``MOVEO_PROGRESS=0`` silences them everywhere.
"""

from __future__ import annotations

import time
from typing import Any

import polars as pl

from moveo._terminal import progress_enabled

__all__ = ["ProgressReporter", "progress_enabled", "render_table"]


class _NullTask:
    def advance(self, entries: int = 1, rows: int = 0) -> None:
        return None

    def finish(self, note: str = "") -> None:
        return None


class _Task:
    def __init__(self, reporter: ProgressReporter, task_id: Any, total: int) -> None:
        self._reporter = reporter
        self._id = task_id
        self._rows = 0
        self._t0 = time.perf_counter()
        self.total = total

    def advance(self, entries: int = 1, rows: int = 0) -> None:
        self._rows += int(rows)
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        self._reporter._progress.update(
            self._id, advance=entries, rows_per_s=f"{self._rows / elapsed:,.0f} rows/s"
        )

    def finish(self, note: str = "") -> None:
        progress = self._reporter._progress
        task = progress.tasks[[t.id for t in progress.tasks].index(self._id)]
        description = task.description + (f" [dim]{note}[/]" if note else "")
        progress.update(self._id, completed=self.total, description=description)


class ProgressReporter:
    """Per-step progress bars (entries done / total, rows per second).

    Use as a context manager; :meth:`task` returns an object with
    ``advance(entries=1, rows=0)`` and ``finish(note="")``. When disabled every
    call is a no-op, so callers never branch on it.

    Parameters
    ----------
    progress : bool or None
        See :func:`progress_enabled`.
    console : rich.console.Console, optional
        Where to draw (default: a stderr console).
    """

    def __init__(self, progress: bool | None = None, console: Any = None) -> None:
        self.enabled = progress_enabled(progress)
        self._progress: Any = None
        self._console = console
        self._depth = 0

    def __enter__(self) -> ProgressReporter:
        if self.enabled and self._depth == 0:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            console = self._console or Console(stderr=True)
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rows_per_s]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._progress.start()
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._progress is not None:
            self._progress.stop()
            self._progress = None

    def task(self, description: str, total: int) -> _Task | _NullTask:
        """Add a bar.

        Parameters
        ----------
        description : str
            Label (e.g. the step name).
        total : int
            Number of entries to compute.

        Returns
        -------
        object
            With ``advance(entries=1, rows=0)`` and ``finish(note="")``.
        """
        if self._progress is None:
            return _NullTask()
        task_id = self._progress.add_task(description, total=max(total, 0), rows_per_s="")
        return _Task(self, task_id, total)


def render_table(df: pl.DataFrame, title: str | None = None) -> Any:
    """Build a ``rich.table.Table`` from a polars DataFrame (for the CLI).

    Cells of a ``state`` column are coloured: cached green, stale yellow,
    partial/missing red.

    Parameters
    ----------
    df : polars.DataFrame
        The table to render.
    title : str, optional
        Table title.

    Returns
    -------
    rich.table.Table
    """
    from rich.table import Table

    colours = {
        "cached": "green",
        "keep": "green",
        "stale": "yellow",
        "orphan": "yellow",
        "partial": "red",
        "missing": "red",
        "deleted": "red",
    }
    table = Table(title=title)
    for name in df.columns:
        table.add_column(name, overflow="fold")
    for row in df.iter_rows():
        cells = []
        for name, value in zip(df.columns, row, strict=True):
            text = "" if value is None else str(value)
            colour = colours.get(text) if name in {"state", "status"} else None
            cells.append(f"[{colour}]{text}[/]" if colour else text)
        table.add_row(*cells)
    return table
