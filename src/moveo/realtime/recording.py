"""Recording sessions into an EMG Dataset on a recorder thread.

Layout (see DEVELOPERS.md, "EMG recordings in a Dataset"): one entry per
session at ``tracks/<subject>/<session>.parquet`` with columns ``id`` (Int64,
0), ``frame`` (Int64 sample index from 0), ``time`` (Float64, LSL clock) and one
Float32 column per channel; the channel list in the manifest under
``meta["channels"]``; label events at ``labels/events/<subject>/<session>.parquet``
with ``frame``, ``time`` and ``label``.

The acquisition thread only copies each chunk into a bounded queue
(:meth:`Recorder.push`). The recorder thread appends row groups to a temporary
parquet file next to the target; :meth:`Recorder.finish` closes it, fsyncs and
renames it into place (``os.replace``), so the dataset never holds half a
session. If the queue fills up (the disk cannot keep up) the recording is marked
failed at once (status message, log) and :meth:`Recorder.finish` raises
:class:`RecordingError`: samples are never dropped silently.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moveo._fs import temp_path
from moveo.realtime._util import logger, raise_worker_errors

__all__ = ["Recorder", "RecordingError"]

_STOP = object()


class RecordingError(RuntimeError):
    """A recording could not be completed (recorder overflow, gap or write failure)."""


class Recorder:
    """Write one stream's samples into a dataset entry on a background thread.

    Created by :meth:`moveo.realtime.App.start_recording`; not usually built by hand.

    Parameters
    ----------
    app : App
        The app (for status messages).
    dataset : moveo.Dataset
        EMG dataset (``kind="emg"``), ``fps`` equal to the stream's sampling rate
        (set from the stream if the dataset has none).
    subject, session : str
        Entry names.
    stream : Stream
        The stream to record.
    overwrite : bool, default False
        Replace an existing entry.
    queue_s : float, default 30.0
        Seconds of data the queue holds before the recording fails.
    flush_s : float, default 0.5
        Seconds of data gathered per parquet row group.
    """

    def __init__(
        self,
        app: Any,
        dataset: Any,
        subject: str,
        session: str,
        stream: Any,
        *,
        overwrite: bool = False,
        queue_s: float = 30.0,
        flush_s: float = 0.5,
    ):
        from moveo.schema import validate_entry_name

        if getattr(dataset, "kind", None) != "emg":
            raise ValueError(
                "recordings go into an EMG dataset: create it with "
                f"Dataset.create(root, fps={stream.fs:g}, kind='emg')"
            )
        self.subject = validate_entry_name("group", subject)
        self.session = validate_entry_name("sequence", session)
        if dataset.fps is None:
            dataset.set_fps(stream.fs)
        if abs(float(dataset.fps) - stream.fs) > 1e-9 * stream.fs:
            raise ValueError(
                f"dataset sampling rate {dataset.fps:g} Hz differs from stream "
                f"{stream.name!r} at {stream.fs:g} Hz; use one dataset per sampling rate"
            )
        known = dataset.meta.get("channels")
        if known and list(known) != list(stream.channel_names):
            raise ValueError(
                f"dataset channels {known} differ from stream {stream.name!r} channels "
                f"{stream.channel_names}; use a dataset per channel layout"
            )
        if not known:
            dataset.update_meta(channels=list(stream.channel_names), stream=stream.name)
        self.path = dataset.entry_path(self.subject, self.session)
        if self.path.exists() and not overwrite:
            raise FileExistsError(
                f"session {subject}/{session} already exists in {dataset.root}; pass "
                "overwrite=True or choose another session name"
            )
        self.app = app
        self.dataset = dataset
        self.stream = stream
        self.channels = list(stream.channel_names)
        chunk = max(int(stream.source.max_chunk), 1)
        self.queue_size = max(int(queue_s * stream.fs / chunk), 4)
        self.flush_rows = max(int(flush_s * stream.fs), 1)
        self.samples_written = 0
        self.samples_dropped = 0
        self.events: list[tuple[float, int]] = []
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=self.queue_size)
        self._next: int | None = None
        self._tmp = temp_path(self.path)
        self._writer: pq.ParquetWriter | None = None
        self._schema = pa.schema(
            [("id", pa.int64()), ("frame", pa.int64()), ("time", pa.float64())]
            + [(c, pa.float32()) for c in self.channels]
        )
        self._thread = threading.Thread(
            target=self._run, name=f"moveo-recorder-{stream.name}", daemon=True
        )

    # ------------------------------------------------------------------ acquisition side
    def attach(self) -> None:
        """Start the writer thread and begin receiving chunks from the stream."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        self.stream.recorder = self

    def push(self, stream: Any, first: int, chunk: np.ndarray, ts: np.ndarray) -> None:
        """Queue a copy of a chunk (called on the acquisition thread; never blocks).

        Parameters
        ----------
        stream : Stream
            The stream the chunk belongs to.
        first : int
            Ring sample number of ``chunk[0]``.
        chunk : ndarray of shape (n, n_channels), float32
            Samples.
        ts : ndarray of shape (n,), float64
            Timestamps.
        """
        if self.error is not None:
            self.samples_dropped += chunk.shape[0]
            return
        try:
            self._queue.put_nowait((first, chunk.copy(), ts.copy()))
        except queue.Full:
            self.samples_dropped += chunk.shape[0]
            self._fail(
                RecordingError(
                    f"recorder for stream {stream.name!r} cannot keep up: its queue of "
                    f"{self.queue_size} chunks is full (disk too slow?); the session "
                    f"{self.subject}/{self.session} is incomplete and will not be saved"
                )
            )

    def label(self, class_index: int, time: float) -> None:
        """Store a label event (any thread).

        Parameters
        ----------
        class_index : int
            Class (>= 0).
        time : float
            LSL clock time from which it applies.
        """
        k = int(class_index)
        if k != class_index or k < 0:
            raise ValueError(f"class_index must be a non-negative integer, got {class_index!r}")
        self.events.append((float(time), k))

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
            ctx = self.app.ctx
            ctx.status_message = f"Recording failed: {exc}"
            ctx.log(f"recording failed: {exc}")
            logger.error("%s", exc)

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        pending: list[tuple[np.ndarray, np.ndarray]] = []
        rows = 0
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            if self.error is not None:
                continue  # drain without writing: the session is already failed
            first, chunk, ts = item
            if self._next is not None and first != self._next:
                self._fail(
                    RecordingError(
                        f"gap in stream {self.stream.name!r}: expected sample {self._next}, "
                        f"got {first}"
                    )
                )
                continue
            self._next = first + chunk.shape[0]
            pending.append((chunk, ts))
            rows += chunk.shape[0]
            if rows >= self.flush_rows:
                self._write_safely(pending)
                pending, rows = [], 0
        if pending and self.error is None:
            self._write_safely(pending)

    def _write_safely(self, pending: list[tuple[np.ndarray, np.ndarray]]) -> None:
        try:
            self._write_rows(pending)
        except Exception as exc:  # noqa: BLE001 - becomes the recording's error
            self._fail(RecordingError(f"writing {self._tmp} failed: {exc}"))
            if raise_worker_errors():
                raise

    def _write_rows(self, pending: list[tuple[np.ndarray, np.ndarray]]) -> None:
        data = np.concatenate([c for c, _ in pending]) if len(pending) > 1 else pending[0][0]
        ts = np.concatenate([t for _, t in pending]) if len(pending) > 1 else pending[0][1]
        n = data.shape[0]
        start = self.samples_written
        arrays = [
            pa.array(np.zeros(n, dtype=np.int64)),
            pa.array(np.arange(start, start + n, dtype=np.int64)),
            pa.array(ts),
        ] + [pa.array(np.ascontiguousarray(data[:, i])) for i in range(data.shape[1])]
        table = pa.Table.from_arrays(arrays, schema=self._schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
        self._writer.write_table(table)
        self.samples_written += n

    # ------------------------------------------------------------------ finish
    def finish(self) -> tuple[str, str]:
        """Detach from the stream, drain the queue and finalise the entry atomically.

        Returns
        -------
        (str, str)
            ``(subject, session)``.

        Raises
        ------
        RecordingError
            If the recording failed (nothing is left in the dataset).
        """
        self.stream.recorder = None
        self._queue.put(_STOP)
        self._thread.join()
        try:
            if self._writer is not None:
                self._writer.close()
            if self.error is None and self.samples_written == 0:
                self.error = RecordingError(
                    f"no samples arrived from stream {self.stream.name!r} during the "
                    f"recording {self.subject}/{self.session}"
                )
            if self.error is not None:
                raise self.error
            with open(self._tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self._tmp, self.path)
            self._fsync_dir(self.path.parent)
            self._write_sidecar()
            self._write_events()
        finally:
            self._tmp.unlink(missing_ok=True)
        return self.subject, self.session

    @staticmethod
    def _fsync_dir(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_sidecar(self) -> None:
        # the same content-hash sidecar Dataset.add_tracks writes, so fingerprints are cheap
        self.dataset.refresh_entry_info(self.subject, self.session)

    def _write_events(self) -> None:
        # moveo.emg.recording owns the event layout: it maps cue times to samples,
        # writes labels/events/... and the entry's per-sample label column
        from moveo.emg.recording import events_path, write_events

        if not self.events:
            events_path(self.dataset, self.subject, self.session).unlink(missing_ok=True)
            return
        times = pl.read_parquet(self.path, columns=["time"])["time"].to_numpy()
        ev = sorted(self.events)
        t = np.array([e[0] for e in ev], dtype=np.float64)
        labels = np.array([e[1] for e in ev], dtype=np.int64)
        # a cue after the last sample labels nothing; keep only those inside the session
        inside = np.searchsorted(times, t, side="left") < times.size
        write_events(
            self.dataset, self.subject, self.session, {"time": t[inside], "label": labels[inside]}
        )
