"""A lock-free single-producer, multi-reader ring buffer for multichannel samples.

Protocol
--------
The producer keeps two monotonically increasing sample counters:

``reserved``
    Published *before* a write copies any data: samples numbered below
    ``reserved - capacity`` may be in the middle of being overwritten.
``count``
    Published *after* the data is copied: samples numbered below ``count`` are
    complete.

A reader takes ``count``, copies the range it wants (never past ``count``), then
re-reads ``reserved``. Every copied sample numbered below ``reserved - capacity``
may have been overwritten during the copy, so it is dropped and reported as
``lost``. Readers never write shared state, so any number of them can read at
the same time without affecting each other or the producer.

The counters, the timestamps and the samples live in one byte arena that the
compiled kernels of :mod:`moveo.kernels.ring` update and read with atomic, ordered
accesses, so one compiled call per write or read does the copy and the counter
traffic (see that module for the orderings). The producer's write keeps the GIL
(it is a short copy); a reader's copy releases it, so the producer keeps writing
while readers copy.

Cost
----
A 10-sample write or a 400 x 64 window read is dominated by fixed per-call costs
(the Python method call, numba's argument handling) plus, for the read, the copy
itself. The hot paths therefore do no validation of their own: they hand the
arguments straight to kernels compiled for exactly the usual types, and only if
a kernel refuses them (another dtype, layout or shape) does a slower path convert
or explain the input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from moveo.kernels.ring import (
    BAD_ARGS,
    COUNT,
    compile_ring_kernels,
    ring_alloc,
    ring_latest,
    ring_latest_exact_unchecked,
    ring_push,
    ring_push_unchecked,
    ring_since,
    ring_views,
)

__all__ = ["RingBuffer", "Window"]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_ndarray = np.ndarray
_empty = np.empty


class Window(NamedTuple):
    """A block of samples copied out of a :class:`RingBuffer`.

    Attributes
    ----------
    data : ndarray
        Samples, shape ``(n, n_channels)`` (or ``(n_channels, n)`` when read with
        ``channels_first=True``), float32. Owned by the caller (``out`` itself, or
        a view of it, when ``out`` was given).
    timestamps : ndarray of shape (n,)
        Sample timestamps (float64; ``ts_out`` or a view of it when given).
    count : int
        Total samples written up to the end of this window (the sample number one
        past the window's last sample). Pass it to :meth:`RingBuffer.since` to
        continue reading where this window ended.
    lost : int
        Samples the caller asked for that had already been overwritten (or were
        overwritten during the copy) and are therefore missing from ``data``.
    """

    data: np.ndarray
    timestamps: np.ndarray
    count: int
    lost: int

    @property
    def start(self) -> int:
        """Sample number of the window's first sample."""
        return self.count - len(self.timestamps)

    def __len__(self) -> int:  # the number of samples, not of fields
        return len(self.timestamps)


_new_window = tuple.__new__  # Window(...) without the generated __new__'s Python frame


class RingBuffer:
    """Circular buffer of float32 samples with float64 timestamps.

    One producer thread calls :meth:`write`; any number of reader threads call
    :meth:`latest` and :meth:`since`. No locks are taken anywhere.

    Parameters
    ----------
    capacity : int
        Number of samples kept (older ones are overwritten).
    n_channels : int
        Number of channels per sample.

    Notes
    -----
    The fastest calls are ``write`` with float32 ``data`` and float64
    ``timestamps`` numpy arrays (contiguous rows are copied with ``memcpy``), and
    ``latest(n, out=out)`` with a writeable float32 ``out`` of exactly ``n``
    samples (plus, optionally, a float64 ``ts_out`` of length ``n``, which saves
    allocating the timestamps). Other inputs work too, converted or sliced on a
    slower path.

    Examples
    --------
    >>> import numpy as np
    >>> rb = RingBuffer(8, 2)
    >>> rb.write(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5.0))
    >>> w = rb.latest(3)
    >>> w.data.tolist(), w.timestamps.tolist(), w.count, w.lost
    ([[4.0, 5.0], [6.0, 7.0], [8.0, 9.0]], [2.0, 3.0, 4.0], 5, 0)
    """

    def __init__(self, capacity: int, n_channels: int):
        capacity = _positive_int(capacity, "capacity")
        n_channels = _positive_int(n_channels, "n_channels")
        compile_ring_kernels()  # once per process (numba's cache makes it quick)
        self._cap = capacity
        self._n_ch = n_channels
        # header (counters) + timestamps + samples in one array: one kernel argument
        self._mem = ring_alloc(capacity, n_channels)
        self._push = ring_push_unchecked()
        self._latest = ring_latest_exact_unchecked(channels_first=False)
        self._latest_cf = ring_latest_exact_unchecked(channels_first=True)
        # numpy views of the arena; the counters are written only by ring_push
        self._state, self._tbuf, self._buf = ring_views(self._mem, capacity, n_channels)

    # ------------------------------------------------------------------ properties
    @property
    def capacity(self) -> int:
        """Number of samples the buffer holds."""
        return self._cap

    @property
    def n_channels(self) -> int:
        """Number of channels per sample."""
        return self._n_ch

    @property
    def count(self) -> int:
        """Total number of samples ever written (complete ones only)."""
        return self._state.item(COUNT)

    def __repr__(self) -> str:
        return (
            f"RingBuffer(capacity={self._cap}, n_channels={self._n_ch}, count={self.count})"
        )

    # ------------------------------------------------------------------ producer
    def write(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Append samples (producer thread only).

        Parameters
        ----------
        data : ndarray of shape (n, n_channels)
            New samples; converted to float32 if needed.
        timestamps : ndarray of shape (n,)
            Their timestamps; converted to float64 if needed.

        Raises
        ------
        ValueError
            If the shapes do not match the buffer.
        """
        # float32 (n, ch) + float64 (n,) arrays of any layout go straight in, past
        # numba's argument typing (half the cost of a short write): these four
        # checks are what makes that safe (see ring_push_unchecked). Identity with
        # the native dtypes also rules out byte-swapped arrays
        try:
            if (
                data.dtype is _F32
                and timestamps.dtype is _F64
                and data.ndim == 2
                and timestamps.ndim == 1
                and not self._push(self._mem, data, timestamps)
            ):
                return
        except (AttributeError, TypeError):  # not numpy arrays
            pass
        self._push_converted(data, timestamps)  # converts, or explains the problem

    def _push_converted(self, data: object, timestamps: object) -> None:
        """Convert to behaved float32 / float64 arrays, check and write."""
        data = _behaved(_as_array(data, _F32, "data", f"(n_samples, {self._n_ch})"))
        if data.ndim != 2:
            raise ValueError(
                f"data must have shape (n_samples, {self._n_ch}), got shape {data.shape}"
            )
        timestamps = _behaved(_as_array(timestamps, _F64, "timestamps", "(n_samples,)"))
        if timestamps.ndim != 1:
            raise ValueError(
                f"timestamps must have shape ({data.shape[0]},) to match data, "
                f"got {timestamps.shape}"
            )
        if ring_push(self._mem, data, timestamps):
            self._raise_write_error(data, timestamps)

    def _raise_write_error(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        if data.shape[1] != self._n_ch:
            raise ValueError(
                f"data has {data.shape[1]} channels but the ring buffer has "
                f"{self._n_ch}; pass an array of shape (n_samples, {self._n_ch})"
            )
        raise ValueError(
            f"timestamps must have shape ({data.shape[0]},) to match data, "
            f"got {timestamps.shape}"
        )

    # ------------------------------------------------------------------ readers
    def latest(
        self,
        n: int,
        out: np.ndarray | None = None,
        *,
        channels_first: bool = False,
        ts_out: np.ndarray | None = None,
    ) -> Window:
        """Copy out the newest ``n`` samples.

        Fewer than ``n`` samples are returned only while fewer have ever been
        written (then ``lost`` is 0) or if the producer overwrote the window's
        start during the copy three times in a row (then ``lost`` says how many).

        Parameters
        ----------
        n : int
            Number of samples, at most ``capacity``.
        out : ndarray, optional
            float32 destination of shape ``(>= n, n_channels)`` (or
            ``(n_channels, >= n)`` with ``channels_first``); allocated if omitted.
        channels_first : bool, default False
            Return data as ``(n_channels, n)`` instead of ``(n, n_channels)``.
        ts_out : ndarray, optional
            float64 destination for the timestamps, shape ``(>= n,)``; allocated if
            omitted.

        Returns
        -------
        Window
            ``data`` of shape (n, n_channels) (or (n_channels, n)), ``timestamps``
            of shape (n,), ``count`` and ``lost``.
        """
        # the usual case: exact-size arrays, a full window, no overwrite. As in
        # write, the checks are what the unchecked entry points need (and the dtype
        # identity rules out byte-swapped arrays)
        try:
            if ts_out is None:
                tout = _empty(n, _F64)
            elif ts_out.dtype is _F64 and ts_out.ndim == 1 and ts_out.flags.writeable:
                tout = ts_out
            else:
                raise TypeError
            if out is None:
                dest = _empty((self._n_ch, n) if channels_first else (n, self._n_ch), _F32)
            elif out.dtype is _F32 and out.ndim == 2 and out.flags.writeable:
                dest = out
            else:
                raise TypeError
            if channels_first:
                end = self._latest_cf(self._mem, n, dest, tout)
            else:
                end = self._latest(self._mem, n, dest, tout)
        except Exception:  # noqa: BLE001 - any refusal goes to the checked path below
            end = BAD_ARGS
        if end >= 0:
            return _new_window(Window, (dest, tout, end, 0))
        return self._latest_checked(n, out, channels_first, ts_out)

    def _latest_checked(
        self, n: int, out: np.ndarray | None, channels_first: bool, ts_out: np.ndarray | None
    ) -> Window:
        n = _index(n, "n")
        channels_first = bool(channels_first)
        if n < 0 or n > self._cap:
            raise ValueError(f"n must be between 0 and the capacity {self._cap}, got {n}")
        out, dest = self._destination(out, n, channels_first)
        ts_out, tdest = _ts_destination(ts_out, n)
        end, k, torn = ring_latest(self._mem, n, dest, tdest, channels_first)
        _finish(out, dest, ts_out, tdest, k, channels_first)
        data = out[:, torn:k] if channels_first else out[torn:k]
        return _new_window(Window, (data, ts_out[torn:k], end, torn))

    def since(
        self,
        count: int,
        out: np.ndarray | None = None,
        *,
        max_samples: int | None = None,
        channels_first: bool = False,
        ts_out: np.ndarray | None = None,
    ) -> Window:
        """Copy out the samples written since sample number ``count``.

        Parameters
        ----------
        count : int
            Sample number to start from (e.g. the ``count`` of the previous window).
        out : ndarray, optional
            float32 destination; at most ``len(out)`` samples are returned (the
            oldest ones first, so repeated calls walk forward without gaps).
        max_samples : int, optional
            Upper bound on the samples returned (default: the capacity).
        channels_first : bool, default False
            Return data as ``(n_channels, n)`` instead of ``(n, n_channels)``.
        ts_out : ndarray, optional
            float64 destination for the timestamps; like ``out``, at most
            ``len(ts_out)`` samples are returned.

        Returns
        -------
        Window
            ``data``, ``timestamps``, ``count`` (where to continue from) and ``lost``
            (samples from ``count`` on that were overwritten before they could be
            copied; the window starts after them).

        Raises
        ------
        ValueError
            If ``count`` is negative or ahead of the samples written so far.
        """
        count = _index(count, "count")
        channels_first = bool(channels_first)
        end = self._state.item(COUNT)  # a snapshot: the kernel may see more
        if count < 0 or count > end:
            raise ValueError(
                f"count must be between 0 and the samples written so far ({end}), got {count}"
            )
        limit = self._cap
        if out is not None:
            _check_type(out, _F32, 2, "out", "float32")
            limit = min(limit, out.shape[1] if channels_first else out.shape[0])
        if ts_out is not None:
            _check_type(ts_out, _F64, 1, "ts_out", "float64")
            limit = min(limit, ts_out.shape[0])
        if max_samples is not None:
            max_samples = _index(max_samples, "max_samples")
            if max_samples < 0:
                raise ValueError(f"max_samples must be >= 0, got {max_samples}")
            limit = min(limit, max_samples)
        if out is None:
            # at most what is there now from `count` on: a later count can only
            # move the window's start forward (overwrite), never widen it past this
            limit = min(limit, end - count)
        out, dest = self._destination(out, limit, channels_first)
        ts_out, tdest = _ts_destination(ts_out, limit)
        first, stop, torn = ring_since(self._mem, count, limit, dest, tdest, channels_first)
        n = stop - first
        _finish(out, dest, ts_out, tdest, n, channels_first)
        data = out[:, torn:n] if channels_first else out[torn:n]
        return _new_window(Window, (data, ts_out[torn:n], stop, first - count + torn))

    def _destination(
        self, out: np.ndarray | None, n: int, channels_first: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(out, dest)``: the caller's (checked) or a new array, and where to copy.

        ``dest`` is ``out`` unless ``out`` is misaligned (numba copies only into
        aligned float32 arrays): then a temporary that :func:`_finish` copies back.
        """
        shape = (self._n_ch, n) if channels_first else (n, self._n_ch)
        if out is None:
            out = _empty(shape, _F32)
            return out, out
        _check_type(out, _F32, 2, "out", "float32")
        if channels_first:
            if out.shape[0] != self._n_ch or out.shape[1] < n:
                raise ValueError(
                    f"out must have shape ({self._n_ch}, >= {n}) for channels_first reads, "
                    f"got {out.shape}"
                )
        elif out.shape[1] != self._n_ch or out.shape[0] < n:
            raise ValueError(f"out must have shape (>= {n}, {self._n_ch}), got {out.shape}")
        return out, (out if out.flags.aligned else _empty(out.shape, _F32))


def _ts_destination(ts_out: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    if ts_out is None:
        ts_out = _empty(n, _F64)
        return ts_out, ts_out
    _check_type(ts_out, _F64, 1, "ts_out", "float64")
    if ts_out.shape[0] < n:
        raise ValueError(f"ts_out must have shape (>= {n},), got {ts_out.shape}")
    return ts_out, (ts_out if ts_out.flags.aligned else _empty(ts_out.shape, _F64))


def _finish(
    out: np.ndarray, dest: np.ndarray, ts_out: np.ndarray, tdest: np.ndarray, k: int,
    channels_first: bool,
) -> None:
    """Copy a misaligned destination's temporary back (nothing to do otherwise)."""
    if dest is not out:
        if channels_first:
            out[:, :k] = dest[:, :k]
        else:
            out[:k] = dest[:k]
    if tdest is not ts_out:
        ts_out[:k] = tdest[:k]


def _check_type(arr: object, dtype: np.dtype, ndim: int, name: str, dname: str) -> None:
    if not isinstance(arr, _ndarray) or arr.dtype != dtype:
        raise TypeError(f"{name} must be a {dname} numpy array")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not arr.flags.writeable:
        raise ValueError(f"{name} must be writeable")


def _as_array(value: object, dtype: np.dtype, name: str, shape: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a numeric array of shape {shape} (converted to {dtype}); "
            f"got {type(value).__name__}: {exc}"
        ) from exc


def _behaved(arr: np.ndarray) -> np.ndarray:
    """``arr``, or an aligned, writeable copy of it (what numba types reliably)."""
    return arr if arr.flags.behaved else arr.copy()


def _index(value: object, name: str) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an integer, got {value!r}") from None


def _positive_int(value: int, name: str) -> int:
    try:
        ivalue = int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive integer, got {value!r}") from None
    if ivalue != value or ivalue <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return ivalue
