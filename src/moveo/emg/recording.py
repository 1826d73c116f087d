"""EMG recordings and label events in a :class:`moveo.Dataset`.

Layout (see DEVELOPERS.md, "EMG recordings in a Dataset"): a dataset created
with ``Dataset.create(root, fps=fs, kind="emg")`` holds one entry per recording
session, group = subject and sequence = session, with columns ``id`` (Int64,
always 0), ``frame`` (Int64 sample index from 0), ``time`` (Float64, LSL clock
seconds) and one Float32 column per channel; the channel names are in the
manifest under ``meta["channels"]``. Label events live in
``labels/events/<subject>/<session>.parquet`` with columns ``frame`` (Int64),
``time`` (Float64) and ``label`` (Int64). A sample's label is that of the last
event at or before it (null before the first event).

The entry also carries that per-sample mapping as a nullable Int64 ``label``
column, rewritten whenever the events change. This makes the labels part of
the entry's content fingerprint, so cached ``emg-features`` runs go stale when
labels are edited, and lets the ``emg-features`` feature read them from its
input frame.

Examples
--------
>>> import tempfile, numpy as np
>>> from moveo import Dataset
>>> from moveo.emg import recording
>>> ds = Dataset.create(tempfile.mkdtemp() + "/emg", fps=1000.0, kind="emg")
>>> data = np.zeros((500, 2), dtype=np.float32)
>>> t = 10.0 + np.arange(500) / 1000.0
>>> recording.add_recording(ds, "s01", "day1", data, t,
...                         events={"time": [10.0, 10.25], "label": [0, 1]})
>>> recording.read_events(ds, "s01", "day1")["frame"].to_list()
[0, 250]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from moveo.schema import validate_entry_name

if TYPE_CHECKING:
    from moveo.dataset import Dataset

__all__ = [
    "LABEL_COLUMN",
    "add_recording",
    "channel_names",
    "events_path",
    "read_events",
    "read_recording",
    "sample_labels",
    "write_events",
]

LABEL_COLUMN = "label"
"""Per-sample label column stored in an EMG entry (nullable Int64)."""

_EVENT_SCHEMA = {"frame": pl.Int64, "time": pl.Float64, "label": pl.Int64}


def _require_emg(ds: Dataset) -> None:
    if ds.kind != "emg":
        raise ValueError(
            f"dataset {ds.root} has kind {ds.kind!r}; EMG recordings need a dataset created "
            "with Dataset.create(root, fps=sampling_rate, kind='emg')"
        )


def channel_names(ds: Dataset) -> list[str]:
    """Return the channel names of an EMG dataset (``meta["channels"]``).

    Parameters
    ----------
    ds : Dataset

    Returns
    -------
    list of str
        Empty if no recording was added yet.
    """
    return [str(c) for c in ds.meta.get("channels", [])]


def events_path(ds: Dataset, subject: str, session: str) -> Path:
    """Return the path of a session's event table.

    Parameters
    ----------
    ds : Dataset
    subject, session : str

    Returns
    -------
    Path
        ``<root>/labels/events/<subject>/<session>.parquet``.
    """
    subject = validate_entry_name("group", subject)
    session = validate_entry_name("sequence", session)
    return Path(ds.labels_root) / "events" / subject / f"{session}.parquet"


def _check_channels(ds: Dataset, n_channels: int, names: Sequence[Any] | None) -> list[str]:
    known = channel_names(ds)
    if names is None:
        names = known if known else [f"ch{i}" for i in range(n_channels)]
    names = [str(n) for n in names]
    if len(names) != n_channels:
        raise ValueError(f"channel_names has {len(names)} names but data has {n_channels} channels")
    if len(set(names)) != len(names):
        raise ValueError(f"channel_names must be unique, got {names}")
    reserved = {ds.columns.id_col, ds.columns.frame_col, ds.columns.time_col, LABEL_COLUMN}
    clash = sorted(reserved & set(names))
    if clash:
        raise ValueError(f"channel names {clash} clash with reserved columns {sorted(reserved)}")
    if known and names != known:
        raise ValueError(
            f"this dataset's channels are {known}; the recording has {names}. All sessions "
            "of an EMG dataset share one channel layout"
        )
    return names


def _events_frame(events: Any, timestamps: np.ndarray) -> pl.DataFrame:
    from moveo.dataset import to_polars

    df = to_polars(events, source="events")
    if "label" not in df.columns:
        raise ValueError(f"events need a 'label' column; got columns {df.columns}")
    if "frame" not in df.columns and "time" not in df.columns:
        raise ValueError(
            f"events need a 'frame' (sample index) or 'time' (seconds) column; got {df.columns}"
        )
    labels = df["label"]
    if not labels.dtype.is_integer() or labels.null_count():
        raise ValueError(
            f"events column 'label' must hold integer class indices without nulls, got "
            f"{labels.dtype}; map class names to integers first"
        )
    n = timestamps.shape[0]
    if "frame" in df.columns:
        frames = df["frame"].cast(pl.Int64, strict=False)
        if frames.null_count():
            raise ValueError("events column 'frame' must hold whole sample indices")
        frames_np = frames.to_numpy()
    else:
        times = df["time"].cast(pl.Float64).to_numpy()
        if not np.all(np.isfinite(times)):
            raise ValueError("events column 'time' holds NaN or inf")
        # the first sample at or after the event time
        frames_np = np.searchsorted(timestamps, times, side="left").astype(np.int64)
    if frames_np.size and (frames_np.min() < 0 or frames_np.max() >= n):
        bad = int(frames_np[(frames_np < 0) | (frames_np >= n)][0])
        raise ValueError(
            f"event at sample {bad} lies outside the recording (samples 0..{n - 1}); "
            "event times must fall within the recording's timestamps"
        )
    order = np.argsort(frames_np, kind="stable")
    frames_np = frames_np[order]
    return pl.DataFrame(
        {
            "frame": frames_np,
            "time": timestamps[frames_np] if n else np.empty(0),
            "label": labels.cast(pl.Int64).to_numpy()[order],
        },
        schema=_EVENT_SCHEMA,
    )


def sample_labels(events: pl.DataFrame, n_samples: int) -> pl.Series:
    """Map an event table to one label per sample.

    Parameters
    ----------
    events : polars.DataFrame
        Columns ``frame`` and ``label`` (as from :func:`read_events`), sorted by frame.
    n_samples : int
        Recording length.

    Returns
    -------
    polars.Series of length n_samples, Int64, named "label"
        The label of the last event at or before each sample; null before the
        first event.

    Examples
    --------
    >>> import polars as pl
    >>> ev = pl.DataFrame({"frame": [2, 4], "label": [1, 0]})
    >>> sample_labels(ev, 6).to_list()
    [None, None, 1, 1, 0, 0]
    """
    frames = events["frame"].cast(pl.Int64).to_numpy()
    labels = events["label"].cast(pl.Int64).to_numpy()
    if frames.size and np.any(np.diff(frames) < 0):
        raise ValueError("events must be sorted by frame")
    idx = np.searchsorted(frames, np.arange(n_samples), side="right") - 1
    values = labels[np.clip(idx, 0, None)] if frames.size else np.zeros(n_samples, np.int64)
    mask = idx >= 0
    return pl.Series(LABEL_COLUMN, values, dtype=pl.Int64).set(~pl.Series(mask), None)


def add_recording(
    ds: Dataset,
    subject: str,
    session: str,
    data: np.ndarray,
    timestamps: np.ndarray,
    *,
    channel_names: Sequence[Any] | None = None,  # noqa: F811 - mirrors the module function
    events: Any = None,
    overwrite: bool = False,
) -> None:
    """Store one EMG recording session (and optionally its label events).

    Parameters
    ----------
    ds : Dataset
        A dataset created with ``kind="emg"`` (its ``fps`` is the sampling rate).
    subject, session : str
        Entry names (group and sequence).
    data : ndarray of shape (n_samples, n_channels)
        Samples; stored as float32.
    timestamps : ndarray of shape (n_samples,)
        Sample times in seconds (LSL clock), finite and non-decreasing.
    channel_names : sequence, optional
        Channel column names (default: the dataset's, else ``ch0, ch1, ...``).
        The first recording fixes the dataset's channel layout.
    events : table, optional
        Label events with a ``label`` column (integer class) and a ``frame``
        (sample index) or ``time`` (seconds; mapped to the first sample at or
        after it) column. See :func:`write_events`.
    overwrite : bool, default False
        Replace an existing session.

    Raises
    ------
    ValueError
        Not an EMG dataset, bad shapes, non-finite or decreasing timestamps,
        channel names that differ from the dataset's, invalid events.
    FileExistsError
        The session exists and ``overwrite`` is False.
    """
    _require_emg(ds)
    subject = validate_entry_name("group", subject)
    session = validate_entry_name("sequence", session)
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ValueError(f"data must have shape (n_samples, n_channels), got {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"data must be numeric, got dtype {arr.dtype}")
    if arr.shape[0] == 0:
        raise ValueError("data has no samples; nothing to record")
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.shape != (arr.shape[0],):
        raise ValueError(
            f"timestamps must have shape ({arr.shape[0]},) (one per sample), got {ts.shape}"
        )
    if not np.all(np.isfinite(ts)):
        raise ValueError("timestamps hold NaN or inf")
    back = np.flatnonzero(np.diff(ts) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise ValueError(
            f"timestamps go backwards at sample {i} ({ts[i]} after {ts[i - 1]}); "
            "timestamps must be non-decreasing"
        )
    names = _check_channels(ds, arr.shape[1], channel_names)
    c = ds.columns
    columns: dict[str, Any] = {
        c.id_col: np.zeros(arr.shape[0], dtype=np.int64),
        c.frame_col: np.arange(arr.shape[0], dtype=np.int64),
        c.time_col: ts,
    }
    data32 = np.asarray(arr, dtype=np.float32)
    for j, name in enumerate(names):
        columns[name] = data32[:, j]
    table = pl.DataFrame(columns)
    ev = None
    if events is not None:
        ev = _events_frame(events, ts)
        table = table.with_columns(sample_labels(ev, arr.shape[0]))
    else:
        table = table.with_columns(pl.lit(None, dtype=pl.Int64).alias(LABEL_COLUMN))
    ds.add_tracks(table, group=subject, sequence=session, overwrite=overwrite, sort=False)
    if not channel_names_known(ds):
        ds.update_meta(channels=names)
    path = events_path(ds, subject, session)
    if ev is not None:
        _write_event_file(ev, path)
    elif path.exists():
        path.unlink()  # an overwritten session loses its old events


def channel_names_known(ds: Dataset) -> bool:
    """Return whether the dataset already has its channel layout.

    Parameters
    ----------
    ds : Dataset

    Returns
    -------
    bool
    """
    return bool(ds.meta.get("channels"))


def _write_event_file(events: pl.DataFrame, path: Path) -> None:
    from moveo._fs import atomic_write_parquet

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(events, path)


def read_recording(
    ds: Dataset, subject: str, session: str, *, channels: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read a session's samples and timestamps.

    Parameters
    ----------
    ds : Dataset
    subject, session : str
    channels : sequence of str, optional
        A subset of channels, in this order (default: all).

    Returns
    -------
    data : ndarray of shape (n_samples, n_channels), float32
        Channel-contiguous (Fortran order); ``windows(data, ...)`` works as is,
        ``np.ascontiguousarray(data)`` first makes one-pass features faster.
    timestamps : ndarray of shape (n_samples,), float64
    """
    _require_emg(ds)
    names = list(channels) if channels is not None else channel_names(ds)
    known = channel_names(ds)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown channel(s) {unknown}; this dataset has {known}")
    df = ds.read(subject, session, columns=[ds.columns.time_col, *names])
    data = np.empty((df.height, len(names)), dtype=np.float32, order="F")
    for j, name in enumerate(names):
        data[:, j] = df[name].to_numpy()
    return data, df[ds.columns.time_col].to_numpy().astype(np.float64, copy=False)


def read_events(ds: Dataset, subject: str, session: str) -> pl.DataFrame:
    """Read a session's label events.

    Parameters
    ----------
    ds : Dataset
    subject, session : str

    Returns
    -------
    polars.DataFrame
        Columns ``frame`` (Int64), ``time`` (Float64), ``label`` (Int64), sorted
        by frame; empty if the session has no events.
    """
    _require_emg(ds)
    if not ds.has_entry(subject, session):
        raise KeyError(f"no recording (subject={subject!r}, session={session!r}) in {ds.root}")
    path = events_path(ds, subject, session)
    if not path.exists():
        return pl.DataFrame(schema=_EVENT_SCHEMA)
    return pl.read_parquet(path)


def write_events(ds: Dataset, subject: str, session: str, events: Any) -> pl.DataFrame:
    """Replace a session's label events (and the entry's per-sample labels).

    Parameters
    ----------
    ds : Dataset
    subject, session : str
    events : table
        A ``label`` column (integer class) and a ``frame`` (sample index) or
        ``time`` (seconds) column; a time maps to the first sample at or after it.

    Returns
    -------
    polars.DataFrame
        The stored event table (frame, time, label).
    """
    _require_emg(ds)
    df = ds.read(subject, session)
    c = ds.columns
    ts = df[c.time_col].to_numpy().astype(np.float64, copy=False)
    ev = _events_frame(events, ts)
    table = df.drop([col for col in (c.group_col, c.seq_col, LABEL_COLUMN) if col in df.columns])
    table = table.with_columns(sample_labels(ev, df.height))
    ds.add_tracks(table, group=subject, sequence=session, overwrite=True, sort=False)
    _write_event_file(ev, events_path(ds, subject, session))
    return ev
