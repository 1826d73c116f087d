"""Signal sources for the realtime loop: LSL inlets, a synthetic EMG generator, replay.

A source delivers chunks of samples into arrays the caller preallocated::

    source.open(timeout)                     # connect / resolve; sets n_channels, fs
    n = source.read(out, out_ts, timeout)    # fill out[:n] (float32) and out_ts[:n]
    source.close()

``read`` returns 0 when nothing arrived within ``timeout``, raises
:class:`SourceLost` when the source vanished (the :class:`~moveo.realtime.Stream`
then reconnects) and :class:`SourceExhausted` when a finite source (a replay)
has delivered everything. Timestamps are in the LSL clock
(:func:`pylsl.local_clock`) of this machine.
"""

from __future__ import annotations

import abc
import contextlib
import math
import multiprocessing
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from moveo.realtime._util import clock

__all__ = [
    "LSLSource",
    "ReplaySource",
    "Source",
    "SourceExhausted",
    "SourceLost",
    "SourceNotFound",
    "SyntheticSource",
    "start_outlet_process",
]


class SourceLost(RuntimeError):
    """The source disappeared (an LSL outlet closed or its process died)."""


class SourceNotFound(TimeoutError):
    """No source matching the request was found within the timeout."""


class SourceExhausted(Exception):
    """A finite source (a replay) has delivered all of its samples."""


class Source(abc.ABC):
    """Base class of realtime sources.

    Subclasses set :attr:`n_channels`, :attr:`fs`, :attr:`channel_names` and
    :attr:`max_chunk` (the most samples one :meth:`read` can return) by the time
    :meth:`open` returns.
    """

    n_channels: int = 0
    fs: float = 0.0
    channel_names: list[str]
    max_chunk: int = 1024

    def open(self, timeout: float | None = None) -> None:  # noqa: B027 - optional hook
        """Connect to the source (idempotent); the default does nothing."""

    @abc.abstractmethod
    def read(self, out: np.ndarray, out_ts: np.ndarray, timeout: float) -> int:
        """Fill ``out[:n]`` and ``out_ts[:n]`` with the next samples and return ``n``.

        Parameters
        ----------
        out : ndarray of shape (>= max_chunk, n_channels), float32
            Destination for the samples.
        out_ts : ndarray of shape (>= max_chunk,), float64
            Destination for their timestamps (LSL clock).
        timeout : float
            Seconds to wait for data before returning 0.

        Returns
        -------
        int
            Number of samples written.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the source's resources (idempotent); the default does nothing."""

    def describe(self) -> dict[str, Any]:
        """Return a JSON-friendly description (kind, channels, rate).

        Returns
        -------
        dict
        """
        return {
            "kind": type(self).__name__,
            "n_channels": int(self.n_channels),
            "fs": float(self.fs),
            "channel_names": list(self.channel_names),
        }


def _channel_names(names: Sequence[str] | None, n: int) -> list[str]:
    if names is None:
        return [f"ch{i}" for i in range(n)]
    names = [str(x) for x in names]
    if len(names) != n:
        raise ValueError(f"channel_names has {len(names)} names for {n} channels")
    if len(set(names)) != n:
        raise ValueError(f"channel_names must be unique, got {names}")
    return names


def _check_rate(fs: float, name: str = "fs") -> float:
    fs = float(fs)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a positive sampling rate in Hz, got {fs}")
    return fs


class _Pacer:
    """Release chunk ``k`` at ``t0 + (k + 1) * chunk / rate`` (absolute, no drift)."""

    def __init__(self, chunk: int, rate: float):
        self.period = chunk / rate if math.isfinite(rate) else 0.0
        self.t0 = clock()
        self.k = 0

    def wait(self, timeout: float) -> bool:
        """Sleep until the next chunk is due; False if that is more than ``timeout`` away."""
        if self.period == 0.0:
            return True
        due = self.t0 + (self.k + 1) * self.period
        delay = due - clock()
        if delay > timeout:
            time.sleep(max(timeout, 0.0))
            return False
        if delay > 0:
            time.sleep(delay)
        return True


# ---------------------------------------------------------------------------- synthetic
class SyntheticSource(Source):
    """EMG-like signal with class-dependent channel activation.

    Each class ``k >= 1`` activates a Gaussian-shaped group of neighbouring
    channels; class 0 is rest (background noise only). Samples are white noise
    scaled per channel by ``noise + amplitude * gain[class, channel]``, plus an
    optional mains hum. The noise sequence is fully determined by ``seed``.

    With ``target_hz`` the activation is continuous (proportional control):
    degree of freedom ``k = 1 .. n_classes - 1`` has the level
    ``l_k(t) = (1 - cos(2π f_k t)) / 2`` in [0, 1] with ``f_k = target_hz *
    (1 + (k - 1) / 2)``, and the per-channel scale becomes
    ``noise + amplitude * Σ_k l_k(t) gain[k, channel]`` (all degrees of freedom
    at once), or ``noise + amplitude * l_c(t) gain[c, channel]`` for the cued
    class ``c`` only when ``cue_s`` is also given. :meth:`targets_at` returns
    the levels: the continuous targets a force sensor or data glove would
    record, computable from timestamps alone.

    Parameters
    ----------
    n_channels : int, default 8
        Number of channels.
    fs : float, default 2000.0
        Sampling rate in Hz.
    chunk : int, default 10
        Samples per chunk.
    n_classes : int, default 4
        Number of classes, including rest (class 0).
    seed : int, default 0
        Seed of the noise generator.
    cue_s : float, optional
        If given, the active class follows the LSL clock: a sample stamped ``t``
        belongs to class ``int(t // cue_s) % n_classes``. Another process can then
        know the class of every sample from its timestamp alone (used by the demo
        and tests with the generator in a separate process). Otherwise the class
        is whatever :meth:`set_class` last set (default 0).
    noise : float, default 0.05
        Background noise standard deviation on every channel.
    amplitude : float, default 1.0
        Standard deviation added on a fully active channel.
    mains : float, default 0.0
        Amplitude of a 50 Hz hum added to every channel.
    target_hz : float, optional
        Base frequency (Hz) of the continuous activation levels (see above).
    realtime : bool, default True
        Pace chunks at the sampling rate. With False, chunks are produced as fast
        as they are read (timestamps still advance by ``1 / fs`` per sample).
    channel_names : sequence of str, optional
        Names (default ``ch0``, ``ch1``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> src = SyntheticSource(n_channels=4, chunk=5, realtime=False, seed=1)
    >>> src.open()
    >>> out, ts = np.empty((5, 4), np.float32), np.empty(5)
    >>> src.read(out, ts, timeout=0.1)
    5
    """

    def __init__(
        self,
        n_channels: int = 8,
        fs: float = 2000.0,
        chunk: int = 10,
        n_classes: int = 4,
        seed: int = 0,
        *,
        cue_s: float | None = None,
        noise: float = 0.05,
        amplitude: float = 1.0,
        mains: float = 0.0,
        target_hz: float | None = None,
        realtime: bool = True,
        channel_names: Sequence[str] | None = None,
    ):
        if int(n_channels) < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        if int(chunk) < 1:
            raise ValueError(f"chunk must be >= 1 sample, got {chunk}")
        if int(n_classes) < 1:
            raise ValueError(f"n_classes must be >= 1, got {n_classes}")
        if cue_s is not None and not float(cue_s) > 0:
            raise ValueError(f"cue_s must be a positive number of seconds, got {cue_s}")
        if target_hz is not None and not (math.isfinite(float(target_hz))
                                          and float(target_hz) > 0):
            raise ValueError(f"target_hz must be a positive frequency in Hz, got {target_hz}")
        if target_hz is not None and int(n_classes) < 2:
            raise ValueError("target_hz needs n_classes >= 2 (rest + at least one degree of "
                             "freedom)")
        self.n_channels = int(n_channels)
        self.fs = _check_rate(fs)
        self.chunk = int(chunk)
        self.max_chunk = self.chunk
        self.n_classes = int(n_classes)
        self.seed = int(seed)
        self.cue_s = None if cue_s is None else float(cue_s)
        self.noise = float(noise)
        self.amplitude = float(amplitude)
        self.mains = float(mains)
        self.target_hz = None if target_hz is None else float(target_hz)
        self.realtime = bool(realtime)
        self.channel_names = _channel_names(channel_names, self.n_channels)
        self.gains = self.class_gains(self.n_classes, self.n_channels)
        self._class = 0
        self._rng = np.random.default_rng(self.seed)
        self._pacer: _Pacer | None = None
        self._index = 0
        self._t0 = 0.0

    @staticmethod
    def class_gains(n_classes: int, n_channels: int) -> np.ndarray:
        """Return the activation of each channel per class.

        Parameters
        ----------
        n_classes, n_channels : int
            Sizes.

        Returns
        -------
        ndarray of shape (n_classes, n_channels)
            Row 0 (rest) is zero; row ``k`` is a Gaussian bump centred on channel
            ``(k - 0.5) * n_channels / (n_classes - 1)``.
        """
        gains = np.zeros((n_classes, n_channels), dtype=np.float32)
        ch = np.arange(n_channels)
        width = max(n_channels / max(2 * (n_classes - 1), 1), 0.6)
        for k in range(1, n_classes):
            centre = (k - 0.5) * n_channels / (n_classes - 1) - 0.5
            gains[k] = np.exp(-0.5 * ((ch - centre) / width) ** 2)
        return gains

    @property
    def active_class(self) -> int:
        """The class currently generated (when ``cue_s`` is not set)."""
        return self._class

    def set_class(self, k: int) -> None:
        """Switch the generated class (thread-safe: a single attribute store).

        Parameters
        ----------
        k : int
            Class index in ``[0, n_classes)``.
        """
        k = int(k)
        if not 0 <= k < self.n_classes:
            raise ValueError(f"class must be in [0, {self.n_classes}), got {k}")
        self._class = k

    def class_at(self, timestamps: np.ndarray) -> np.ndarray:
        """Return the class of samples stamped ``timestamps`` (``cue_s`` schedule).

        Parameters
        ----------
        timestamps : ndarray of shape (n,)
            LSL clock times.

        Returns
        -------
        ndarray of shape (n,), int64
        """
        if self.cue_s is None:
            return np.full(np.shape(timestamps), self._class, dtype=np.int64)
        return (np.floor_divide(timestamps, self.cue_s).astype(np.int64)) % self.n_classes

    def levels(self, timestamps: np.ndarray) -> np.ndarray:
        """Return the continuous activation level of every degree of freedom.

        Parameters
        ----------
        timestamps : ndarray of shape (n,)
            LSL clock times.

        Returns
        -------
        ndarray of shape (n, n_classes - 1), float64
            ``l_k(t) = (1 - cos(2π f_k t)) / 2`` for ``k = 1 .. n_classes - 1``
            (requires ``target_hz``).
        """
        if self.target_hz is None:
            raise ValueError("levels() needs a source built with target_hz=")
        t = np.asarray(timestamps, dtype=np.float64)
        freq = self.target_hz * (1.0 + np.arange(self.n_classes - 1) / 2.0)
        return 0.5 - 0.5 * np.cos(2.0 * np.pi * t[:, None] * freq[None, :])

    def targets_at(self, timestamps: np.ndarray) -> np.ndarray:
        """Return the regression targets of samples stamped ``timestamps``.

        Column ``k - 1`` is the activation of class ``k`` (rest has none):
        with ``target_hz``, the level ``l_k(t)`` (only the cued class's when
        ``cue_s`` is set); without it, 1 for the active class and 0 otherwise.

        Parameters
        ----------
        timestamps : ndarray of shape (n,)
            LSL clock times.

        Returns
        -------
        ndarray of shape (n, n_classes - 1), float64
        """
        t = np.asarray(timestamps, dtype=np.float64)
        if self.target_hz is not None and self.cue_s is None:
            return self.levels(t)
        classes = self.class_at(t)
        onehot = (classes[:, None] == np.arange(1, self.n_classes)[None, :]).astype(np.float64)
        if self.target_hz is None:
            return onehot
        return onehot * self.levels(t)

    def open(self, timeout: float | None = None) -> None:
        """Start the sample clock (idempotent)."""
        if self._pacer is None:
            self._pacer = _Pacer(self.chunk, self.fs if self.realtime else math.inf)
            self._t0 = self._pacer.t0

    def generate(self, n: int, timestamps: np.ndarray) -> np.ndarray:
        """Generate ``n`` samples for the given timestamps (advances the noise state).

        Parameters
        ----------
        n : int
            Number of samples.
        timestamps : ndarray of shape (n,)
            Their times (select the class with ``cue_s`` and the mains phase).

        Returns
        -------
        ndarray of shape (n, n_channels), float32
        """
        if self.target_hz is None:
            scale = self.noise + self.amplitude * self.gains[self.class_at(timestamps)]
        else:
            activation = self.targets_at(timestamps).astype(np.float32)
            scale = self.noise + self.amplitude * (activation @ self.gains[1:])
        data = self._rng.standard_normal((n, self.n_channels), dtype=np.float32) * scale
        if self.mains:
            data += (self.mains * np.sin(2 * np.pi * 50.0 * timestamps)).astype(np.float32)[
                :, None
            ]
        return data

    def read(self, out: np.ndarray, out_ts: np.ndarray, timeout: float) -> int:
        """Produce the next chunk (paced at ``fs`` when ``realtime``); see :class:`Source`."""
        if self._pacer is None:
            self.open()
        pacer = self._pacer
        if not pacer.wait(timeout):
            return 0
        n = self.chunk
        idx = self._index + np.arange(n)
        out_ts[:n] = self._t0 + idx / self.fs
        out[:n] = self.generate(n, out_ts[:n])
        self._index += n
        pacer.k += 1
        return n

    def close(self) -> None:
        """Stop the sample clock; the next :meth:`open` restarts it."""
        self._pacer = None

    def serve(
        self,
        name: str,
        *,
        source_id: str | None = None,
        type: str = "EMG",  # noqa: A002 - LSL's own name for the field
        duration: float | None = None,
        stop_event: Any = None,
    ) -> int:
        """Publish this generator as an LSL outlet until ``duration`` or ``stop_event``.

        Parameters
        ----------
        name : str
            LSL stream name.
        source_id : str, optional
            LSL source id (default: ``name``), so inlets can recover.
        type : str, default "EMG"
            LSL content type.
        duration : float, optional
            Seconds to run (default: until ``stop_event`` is set or forever).
        stop_event : threading.Event or multiprocessing.Event, optional
            Stop when set.

        Returns
        -------
        int
            Number of samples pushed.
        """
        import pylsl

        info = pylsl.StreamInfo(
            name, type, self.n_channels, self.fs, pylsl.cf_float32, source_id or name
        )
        info.set_channel_labels(self.channel_names)
        outlet = pylsl.StreamOutlet(info, chunk_size=self.chunk, max_buffered=60)
        self.realtime = True
        self.close()
        self.open()
        out = np.empty((self.chunk, self.n_channels), np.float32)
        ts = np.empty(self.chunk)
        end = math.inf if duration is None else clock() + float(duration)
        pushed = 0
        while clock() < end and not (stop_event is not None and stop_event.is_set()):
            n = self.read(out, ts, timeout=0.05)
            if n:
                outlet.push_chunk(out[:n], timestamp=float(ts[n - 1]))
                pushed += n
        del outlet
        return pushed


def _serve_synthetic(name: str, source_id: str | None, duration: float | None,
                     stop_event: Any, kwargs: dict[str, Any]) -> None:
    SyntheticSource(**kwargs).serve(name, source_id=source_id, duration=duration,
                                    stop_event=stop_event)


def start_outlet_process(
    name: str,
    *,
    source_id: str | None = None,
    duration: float | None = None,
    **source_kwargs: Any,
) -> tuple[multiprocessing.process.BaseProcess, Any]:
    """Run a :class:`SyntheticSource` LSL outlet in a separate (spawned) process.

    Parameters
    ----------
    name : str
        LSL stream name.
    source_id : str, optional
        LSL source id (default: ``name``).
    duration : float, optional
        Seconds to run (default: until stopped).
    **source_kwargs
        Passed to :class:`SyntheticSource` (``n_channels``, ``fs``, ``chunk``,
        ``n_classes``, ``seed``, ``cue_s``, ``target_hz``, ...).

    Returns
    -------
    process : multiprocessing.Process
        The started process (``process.kill()`` simulates a crash).
    stop_event : multiprocessing.Event
        Set it for a clean stop, then ``process.join()``.
    """
    SyntheticSource(**source_kwargs)  # validate arguments in the parent, with a clear error
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(
        target=_serve_synthetic,
        args=(name, source_id, duration, stop, dict(source_kwargs)),
        daemon=True,
        name=f"moveo-outlet-{name}",
    )
    proc.start()
    return proc, stop


# ---------------------------------------------------------------------------- LSL
def _xpath_literal(value: str, field: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"LSL {field} {value!r} contains both quote characters; rename the stream")


class LSLSource(Source):
    """A Lab Streaming Layer inlet, resolved by name, type and/or source id.

    Samples are pulled into a preallocated array; timestamps are mapped to this
    machine's LSL clock with ``time_correction`` (refreshed every second).

    Parameters
    ----------
    name : str, optional
        Stream name to match.
    type : str, optional
        Stream content type to match (e.g. ``"EMG"``).
    source_id : str, optional
        Source id to match (the most specific choice).
    timeout : float, default 5.0
        Seconds to wait for a matching stream in :meth:`open`.
    max_chunk : int, default 1024
        Most samples returned by one :meth:`read`.
    max_buflen : int, default 10
        Seconds of data liblsl buffers if the reader falls behind.

    Raises
    ------
    ValueError
        If none of ``name``, ``type`` and ``source_id`` is given.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        type: str | None = None,  # noqa: A002 - LSL's own name for the field
        source_id: str | None = None,
        timeout: float = 5.0,
        max_chunk: int = 1024,
        max_buflen: int = 10,
    ):
        if name is None and type is None and source_id is None:
            raise ValueError("LSLSource needs at least one of name=, type= or source_id=")
        parts = []
        for field, value in (("name", name), ("type", type), ("source_id", source_id)):
            if value is not None:
                parts.append(f"{field}={_xpath_literal(str(value), field)}")
        self.predicate = " and ".join(parts)
        self.name = name
        self.type = type
        self.source_id = source_id
        self.timeout = float(timeout)
        self.max_chunk = int(max_chunk)
        self.max_buflen = int(max_buflen)
        self.channel_names: list[str] = []
        self._inlet: Any = None
        self._offset = 0.0
        self._offset_at = -math.inf
        self._scratch: np.ndarray | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LSLSource({self.predicate!r})"

    def open(self, timeout: float | None = None) -> None:
        """Resolve the stream and open an inlet (idempotent).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait (default: the constructor's ``timeout``).

        Raises
        ------
        SourceNotFound
            If no matching stream answers within the timeout.
        ValueError
            If a re-opened stream has a different channel count than before.
        """
        import pylsl

        if self._inlet is not None:
            return
        wait = self.timeout if timeout is None else float(timeout)
        found = pylsl.resolve_bypred(self.predicate, 1, wait)
        if not found:
            raise SourceNotFound(
                f"no LSL stream matching {self.predicate} within {wait:g} s; is the outlet "
                "running on this network (check the name/type/source_id)?"
            )
        info = found[0]
        n_ch = info.channel_count()
        if self.n_channels and n_ch != self.n_channels:
            raise ValueError(
                f"LSL stream {self.predicate} came back with {n_ch} channels, expected "
                f"{self.n_channels}; restart the app to use the new layout"
            )
        inlet = pylsl.StreamInlet(info, max_buflen=self.max_buflen, recover=False)
        try:
            inlet.open_stream(max(wait, 1.0))
            full = inlet.info(max(wait, 1.0))
            labels = full.get_channel_labels()
        except pylsl.util.LostError as exc:
            raise SourceLost(f"LSL stream {self.predicate} vanished while opening") from exc
        except pylsl.util.TimeoutError as exc:
            raise SourceNotFound(f"LSL stream {self.predicate} did not answer: {exc}") from exc
        self.n_channels = n_ch
        self.fs = float(info.nominal_srate())
        if labels and all(labels) and len(set(labels)) == n_ch:
            self.channel_names = [str(x) for x in labels]
        else:
            self.channel_names = [f"ch{i}" for i in range(n_ch)]
        self._scratch = (
            None
            if inlet.np_dtype == np.float32
            else np.empty((self.max_chunk, n_ch), dtype=inlet.np_dtype)
        )
        self._offset_at = -math.inf
        self._inlet = inlet
        self._refresh_offset(first=True)

    def _refresh_offset(self, first: bool = False) -> None:
        import pylsl

        try:
            self._offset = self._inlet.time_correction(2.0 if first else 0.0)
            self._offset_at = clock()
        except pylsl.util.TimeoutError:
            pass  # keep the previous estimate; retried on the next read
        except pylsl.util.LostError as exc:
            raise SourceLost(f"LSL stream {self.predicate} was lost") from exc

    @property
    def time_offset(self) -> float:
        """Current clock offset (seconds) added to the outlet's timestamps."""
        return self._offset

    def read(self, out: np.ndarray, out_ts: np.ndarray, timeout: float) -> int:
        """Pull up to ``max_chunk`` samples; see :class:`Source`.

        Raises
        ------
        SourceLost
            If the outlet disappeared.
        """
        import pylsl

        inlet = self._inlet
        if inlet is None:
            raise SourceLost(f"LSL stream {self.predicate} is not open")
        if clock() - self._offset_at > 1.0:
            self._refresh_offset()
        dest = out if self._scratch is None else self._scratch
        try:
            samples, ts = inlet.pull_chunk(
                timeout=timeout, max_samples=self.max_chunk, dest_obj=dest, as_numpy=True,
                min_samples=1,
            )
        except pylsl.util.LostError as exc:
            raise SourceLost(f"LSL stream {self.predicate} was lost") from exc
        n = len(ts)
        if n:
            if self._scratch is not None:
                out[:n] = samples
            out_ts[:n] = ts + self._offset
        return n

    def close(self) -> None:
        """Close the inlet (idempotent); :meth:`open` resolves the stream again."""
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            # closing a dead inlet may fail; that must not mask why it died
            with contextlib.suppress(Exception):
                inlet.close_stream()
            del inlet


# ---------------------------------------------------------------------------- replay
class ReplaySource(Source):
    """Play back recorded samples at real speed or faster.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_channels)
        Samples (converted to float32).
    timestamps : ndarray of shape (n_samples,), optional
        Original timestamps; used as-is when ``restamp=False``.
    fs : float
        Sampling rate in Hz.
    chunk : int, default 10
        Samples per chunk.
    speed : float, default 1.0
        Playback speed factor; ``math.inf`` plays as fast as it is read.
    loop : bool, default False
        Start again at the end instead of finishing.
    restamp : bool, default True
        Stamp samples with the LSL clock at playback (``t_start + i / (fs * speed)``)
        so latencies are meaningful; False keeps the original timestamps.
    channel_names : sequence of str, optional
        Names (default ``ch0``, ``ch1``, ...).
    """

    def __init__(
        self,
        data: np.ndarray,
        timestamps: np.ndarray | None = None,
        *,
        fs: float,
        chunk: int = 10,
        speed: float = 1.0,
        loop: bool = False,
        restamp: bool = True,
        channel_names: Sequence[str] | None = None,
    ):
        data = np.ascontiguousarray(data, dtype=np.float32)
        if data.ndim != 2 or data.shape[0] == 0:
            raise ValueError(
                f"data must have shape (n_samples, n_channels) with n_samples > 0, "
                f"got {data.shape}"
            )
        self.fs = _check_rate(fs)
        speed = float(speed)
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (math.inf: as fast as possible), got {speed}")
        if int(chunk) < 1:
            raise ValueError(f"chunk must be >= 1 sample, got {chunk}")
        if timestamps is None:
            if not restamp:
                raise ValueError("restamp=False needs the original timestamps")
            timestamps = np.arange(data.shape[0]) / self.fs
        timestamps = np.ascontiguousarray(timestamps, dtype=np.float64)
        if timestamps.shape != (data.shape[0],):
            raise ValueError(
                f"timestamps must have shape ({data.shape[0]},) to match data, "
                f"got {timestamps.shape}"
            )
        self.data = data
        self.timestamps = timestamps
        self.n_channels = data.shape[1]
        self.chunk = int(chunk)
        self.max_chunk = self.chunk
        self.speed = speed
        self.loop = bool(loop)
        self.restamp = bool(restamp)
        self.channel_names = _channel_names(channel_names, self.n_channels)
        self._pacer: _Pacer | None = None
        self._pos = 0
        self._emitted = 0

    @classmethod
    def from_dataset(
        cls, dataset: Any, subject: str, session: str, **kwargs: Any
    ) -> ReplaySource:
        """Replay a recorded session of an EMG :class:`~moveo.Dataset`.

        Parameters
        ----------
        dataset : moveo.Dataset
            An EMG dataset (``kind="emg"``); its ``fps`` is the sampling rate.
        subject, session : str
            The entry (group = subject, sequence = session).
        **kwargs
            Passed to :class:`ReplaySource` (``chunk``, ``speed``, ``loop``, ...).

        Returns
        -------
        ReplaySource
        """
        from moveo.emg.recording import channel_names, read_recording

        data, ts = read_recording(dataset, subject, session)
        names = channel_names(dataset)
        kwargs.setdefault("channel_names", names)
        return cls(data, ts, fs=dataset.fps, **kwargs)

    @property
    def position(self) -> int:
        """Index of the next sample to play."""
        return self._pos

    def open(self, timeout: float | None = None) -> None:
        """Start (or continue) playback."""
        if self._pacer is None:
            self._pacer = _Pacer(self.chunk, self.fs * self.speed)
            self._emitted = 0

    def read(self, out: np.ndarray, out_ts: np.ndarray, timeout: float) -> int:
        """Play the next chunk; see :class:`Source`.

        Raises
        ------
        SourceExhausted
            After the last sample, unless ``loop``.
        """
        if self._pacer is None:
            self.open()
        total = self.data.shape[0]
        if self._pos >= total:
            if not self.loop:
                raise SourceExhausted(f"replay finished after {total} samples")
            self._pos = 0
        if not self._pacer.wait(timeout):
            return 0
        n = min(self.chunk, total - self._pos)
        out[:n] = self.data[self._pos : self._pos + n]
        if self.restamp:
            rate = self.fs * self.speed if math.isfinite(self.speed) else self.fs
            out_ts[:n] = self._pacer.t0 + (self._emitted + np.arange(n)) / rate
        else:
            out_ts[:n] = self.timestamps[self._pos : self._pos + n]
        self._pos += n
        self._emitted += n
        self._pacer.k += 1
        return n

    def close(self) -> None:
        """Pause playback; :meth:`open` resumes from the current position."""
        self._pacer = None
