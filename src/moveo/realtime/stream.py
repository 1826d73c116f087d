"""One acquisition thread per source: pull, filter, write the ring, hand to the recorder."""

from __future__ import annotations

import math
import threading
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from moveo.realtime._util import RateLimitedLog, clock, logger, raise_worker_errors
from moveo.realtime.ring import RingBuffer
from moveo.realtime.sources import Source, SourceExhausted, SourceLost, SourceNotFound

__all__ = ["Stream", "StreamStatus"]


class StreamStatus:
    """Values of :attr:`Stream.status` (plain strings)."""

    IDLE = "idle"
    """Created, thread not started."""
    CONNECTING = "connecting"
    """Thread started, waiting for the first samples."""
    CONNECTED = "connected"
    """Samples are arriving."""
    DISCONNECTED = "disconnected"
    """The source went silent or vanished; the stream keeps trying to reconnect."""
    FINISHED = "finished"
    """A finite source (replay) delivered everything."""
    STOPPED = "stopped"
    """The thread was stopped."""


def _build_filters(filters: Any, n_channels: int) -> list[Any]:
    if filters is None:
        return []
    if isinstance(filters, np.ndarray) or hasattr(filters, "process"):
        filters = [filters]
    out = []
    for i, f in enumerate(filters):
        if hasattr(f, "process"):
            out.append(f)
            continue
        sos = np.asarray(f, dtype=np.float64)
        if sos.ndim != 2 or sos.shape[1] != 6:
            raise ValueError(
                f"filters[{i}] must be second-order sections of shape (n_sections, 6) (see "
                f"moveo.emg.filters) or an object with .process(chunk), got shape {sos.shape}"
            )
        from moveo.emg.filters import StreamingFilter

        out.append(StreamingFilter(sos, n_channels))
    return out


class Stream:
    """Acquisition of one source into a :class:`~moveo.realtime.RingBuffer`.

    A daemon thread pulls chunks from the source into a preallocated array,
    applies the stateful filters, writes the ring buffer, hands a copy of the chunk
    to the recorder (if one is attached) and wakes the listeners (the predict
    thread in on-new-data mode). It never touches the disk.

    A source that stays silent for ``silence_s`` -- no samples, or ``read()``
    raising every time -- is marked ``disconnected``; one that vanishes
    (``SourceLost``) is re-opened every ``reconnect_s`` until it comes back. Either
    way the status returns to ``connected`` with the next samples.
    Errors are logged and counted (see :attr:`counters`); the thread never dies
    silently.

    Parameters
    ----------
    name : str
        Stream name (key of the windows passed to ``extract``).
    source : Source
        Where samples come from; opened here (so its channel count is known).
    window_ms : float, default 200
        Window length the predict thread reads, in milliseconds.
    filters : SOS array, filter object, or list of them, optional
        Causal filters applied in order. An array of shape ``(n_sections, 6)`` is
        wrapped in :class:`moveo.emg.filters.StreamingFilter`; any object with
        ``process(chunk) -> chunk`` (and optionally ``reset()``) is used as is.
    buffer_s : float, default 10.0
        Ring-buffer length in seconds (at least twice the window).
    silence_s : float, default 0.5
        Seconds without samples before the status becomes ``disconnected``.
    reconnect_s : float, default 0.5
        Seconds between reconnection attempts of a vanished source.
    open_timeout : float, optional
        Timeout for the first :meth:`Source.open` (default: the source's own).
    """

    def __init__(
        self,
        name: str,
        source: Source,
        *,
        window_ms: float = 200.0,
        filters: Any = None,
        buffer_s: float = 10.0,
        silence_s: float = 0.5,
        reconnect_s: float = 0.5,
        open_timeout: float | None = None,
    ):
        if not isinstance(source, Source):
            raise TypeError(
                f"stream {name!r}: source must be a moveo.realtime Source (LSLSource, "
                f"SyntheticSource, ReplaySource, ...), got {type(source).__name__}"
            )
        window_ms = float(window_ms)
        if not math.isfinite(window_ms) or window_ms <= 0:
            raise ValueError(f"stream {name!r}: window_ms must be > 0, got {window_ms}")
        self.name = str(name)
        self.source = source
        source.open(open_timeout)
        self.n_channels = int(source.n_channels)
        self.fs = float(source.fs)
        if not self.fs > 0:
            raise ValueError(
                f"stream {name!r}: the source reports no sampling rate ({self.fs}); "
                "irregular-rate LSL streams are not supported"
            )
        self.channel_names = list(source.channel_names)
        self.window_ms = window_ms
        self.window = max(1, round(window_ms * self.fs / 1000.0))
        capacity = max(round(float(buffer_s) * self.fs), 2 * self.window, 4 * source.max_chunk)
        self.ring = RingBuffer(capacity, self.n_channels)
        self.filters = _build_filters(filters, self.n_channels)
        self.silence_s = float(silence_s)
        self.reconnect_s = float(reconnect_s)
        self.status: str = StreamStatus.IDLE
        self.counters: dict[str, int] = {
            "chunks": 0,
            "samples": 0,
            "disconnects": 0,
            "reconnects": 0,
            "errors": 0,
        }
        self.last_error: str | None = None
        self.status_reason = ""
        """Why the stream is ``disconnected`` (empty otherwise)."""
        self.newest_timestamp = math.nan
        self.last_arrival = math.nan
        self.recorder: Any = None
        self._listeners: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log = RateLimitedLog(1.0)

    def __repr__(self) -> str:
        return (
            f"Stream({self.name!r}, {self.n_channels} ch @ {self.fs:g} Hz, "
            f"status={self.status!r}, samples={self.ring.count})"
        )

    # ------------------------------------------------------------------ control
    def add_listener(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` on the acquisition thread after every ring write (keep it tiny).

        Parameters
        ----------
        fn : callable
            No-argument function, e.g. ``event.set``.
        """
        self._listeners = [*self._listeners, fn]

    def remove_listener(self, fn: Callable[[], None]) -> None:
        """Stop calling ``fn`` after ring writes.

        Parameters
        ----------
        fn : callable
            A function passed to :meth:`add_listener`.
        """
        self._listeners = [f for f in self._listeners if f is not fn]

    @property
    def running(self) -> bool:
        """True while the acquisition thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the acquisition thread (no-op if running)."""
        if self.running:
            return
        self._stop.clear()
        self.status = StreamStatus.CONNECTING
        self._thread = threading.Thread(
            target=self._run, name=f"moveo-stream-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the source.

        Parameters
        ----------
        timeout : float, default 5.0
            Seconds to wait for the thread.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self.source.close()
        if self.status != StreamStatus.FINISHED:
            self.status = StreamStatus.STOPPED

    # ------------------------------------------------------------------ thread
    def _error(self, what: str, exc: BaseException) -> None:
        self.counters["errors"] += 1
        self.last_error = f"{what}: {type(exc).__name__}: {exc}"
        self._log(what, f"stream {self.name!r}: {self.last_error}\n{traceback.format_exc()}")
        if raise_worker_errors():
            raise exc

    def _mark_disconnected(self, why: str) -> None:
        if self.status != StreamStatus.DISCONNECTED:
            self.status_reason = why
            self.status = StreamStatus.DISCONNECTED
            self.counters["disconnects"] += 1
            logger.warning("stream %r disconnected: %s", self.name, why)

    def _reconnect(self) -> None:
        self.source.close()
        while not self._stop.is_set():
            try:
                self.source.open(self.reconnect_s)
            except SourceNotFound:
                continue
            except SourceLost:
                self._stop.wait(self.reconnect_s)
                continue
            except Exception as exc:  # noqa: BLE001 - logged, counted, retried
                self._error("reconnect", exc)
                self._stop.wait(self.reconnect_s)
                continue
            for f in self.filters:  # the gap makes the filter state meaningless
                if hasattr(f, "reset"):
                    f.reset()
            logger.info("stream %r: source re-opened", self.name)
            return

    def _run(self) -> None:
        source = self.source
        buf = np.empty((max(source.max_chunk, 1), self.n_channels), dtype=np.float32)
        tbuf = np.empty(buf.shape[0], dtype=np.float64)
        last_data = clock()
        poll = min(0.05, self.silence_s / 2)
        while not self._stop.is_set():
            try:
                n = source.read(buf, tbuf, poll)
            except SourceExhausted:
                self.status = StreamStatus.FINISHED
                logger.info("stream %r: source finished", self.name)
                return
            except SourceLost as exc:
                self._mark_disconnected(str(exc))
                self._reconnect()
                last_data = clock()
                continue
            except Exception as exc:  # noqa: BLE001 - logged, counted; thread carries on
                self._error("read", exc)
                # a source that keeps failing delivers nothing: the silence rule applies
                if clock() - last_data > self.silence_s:
                    self._mark_disconnected(f"read() keeps failing ({self.last_error})")
                self._stop.wait(poll)
                continue
            now = clock()
            if n == 0:
                if now - last_data > self.silence_s:
                    self._mark_disconnected(f"no samples for {now - last_data:.2f} s")
                continue
            last_data = now
            try:
                self._deliver(buf[:n], tbuf[:n], now)
            except Exception as exc:  # noqa: BLE001 - logged, counted; thread carries on
                self._error("deliver", exc)

    def _deliver(self, chunk: np.ndarray, ts: np.ndarray, now: float) -> None:
        for f in self.filters:
            chunk = np.ascontiguousarray(f.process(chunk), dtype=np.float32)
        first = self.ring.count
        self.ring.write(chunk, ts)
        n = chunk.shape[0]
        self.counters["chunks"] += 1
        self.counters["samples"] += n
        self.newest_timestamp = float(ts[n - 1])
        self.last_arrival = now
        if self.status != StreamStatus.CONNECTED:
            if self.status == StreamStatus.DISCONNECTED:
                self.counters["reconnects"] += 1
                logger.info("stream %r reconnected", self.name)
            self.status = StreamStatus.CONNECTED
            self.status_reason = ""
        recorder = self.recorder
        if recorder is not None:
            recorder.push(self, first, chunk, ts)
        for fn in self._listeners:
            fn()

    # ------------------------------------------------------------------ info
    def info(self) -> dict[str, Any]:
        """Return status, counters and layout as a dict.

        Returns
        -------
        dict
        """
        return {
            "name": self.name,
            "status": self.status,
            "n_channels": self.n_channels,
            "fs": self.fs,
            "window": self.window,
            "samples_written": self.ring.count,
            "last_error": self.last_error,
            "status_reason": self.status_reason,
            **self.counters,
        }

