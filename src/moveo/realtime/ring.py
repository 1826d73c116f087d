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

The counters are Python ints assigned from Python code around the ``nogil``
copy kernels: the call boundaries keep the compiler from moving the data copy
across them, and the GIL hand-off between threads orders the counter stores
after the data stores.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from moveo.kernels.ring import ring_read, ring_read_channels_first, ring_write

__all__ = ["RingBuffer", "Window"]

_LATEST_RETRIES = 3
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


class Window(NamedTuple):
    """A block of samples copied out of a :class:`RingBuffer`.

    Attributes
    ----------
    data : ndarray
        Samples, shape ``(n, n_channels)`` (or ``(n_channels, n)`` when read with
        ``channels_first=True``), float32. Owned by the caller.
    timestamps : ndarray of shape (n,)
        Sample timestamps (float64).
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
        self._cap = capacity
        self._n_ch = n_channels
        self._buf = np.zeros((capacity, n_channels), dtype=np.float32)
        self._tbuf = np.full(capacity, np.nan, dtype=np.float64)
        self._reserved = 0
        self._count = 0

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
        return self._count

    def __repr__(self) -> str:
        return f"RingBuffer(capacity={self._cap}, n_channels={self._n_ch}, count={self._count})"

    # ------------------------------------------------------------------ producer
    def write(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Append samples (producer thread only).

        Parameters
        ----------
        data : ndarray of shape (n, n_channels)
            New samples; converted to C-contiguous float32 if needed.
        timestamps : ndarray of shape (n,)
            Their timestamps; converted to float64 if needed.

        Raises
        ------
        ValueError
            If the shapes do not match the buffer.
        """
        # fast path: arrays of the right dtype go straight to the kernel (numba copes
        # with any strides); anything else is converted once
        if type(data) is not np.ndarray or data.dtype is not _F32 or data.ndim != 2:
            data = np.asarray(data, dtype=np.float32)
            if data.ndim != 2:
                raise ValueError(
                    f"data must have shape (n_samples, {self._n_ch}), got shape {data.shape}"
                )
        if type(timestamps) is not np.ndarray or timestamps.dtype is not _F64:
            timestamps = np.asarray(timestamps, dtype=np.float64)
        n = data.shape[0]
        if data.shape[1] != self._n_ch:
            raise ValueError(
                f"data has {data.shape[1]} channels but the ring buffer has {self._n_ch}; "
                f"pass an array of shape (n_samples, {self._n_ch})"
            )
        if timestamps.shape != (n,):
            raise ValueError(
                f"timestamps must have shape ({n},) to match data, got {timestamps.shape}"
            )
        if n == 0:
            return
        first = self._count
        if n > self._cap:  # only the newest `capacity` samples can survive
            skip = n - self._cap
            data = data[skip:]
            timestamps = timestamps[skip:]
            first += skip
            n = self._cap
        end = first + n
        self._reserved = end  # publish: rows of samples < end - capacity are being replaced
        ring_write(self._buf, self._tbuf, data, timestamps, first)
        self._count = end  # publish: samples < end are complete

    # ------------------------------------------------------------------ readers
    def _out(self, n: int, out: np.ndarray | None, channels_first: bool) -> np.ndarray:
        if out is None:
            shape = (self._n_ch, n) if channels_first else (n, self._n_ch)
            return np.empty(shape, dtype=np.float32)
        if type(out) is not np.ndarray or out.dtype is not _F32:
            raise TypeError("out must be a float32 numpy array")
        if channels_first:
            if out.ndim != 2 or out.shape[0] != self._n_ch or out.shape[1] < n:
                raise ValueError(
                    f"out must have shape ({self._n_ch}, >= {n}) for channels_first reads, "
                    f"got {out.shape}"
                )
        elif out.ndim != 2 or out.shape[1] != self._n_ch or out.shape[0] < n:
            raise ValueError(f"out must have shape (>= {n}, {self._n_ch}), got {out.shape}")
        if not out.flags.writeable:
            raise ValueError("out must be writeable")
        return out

    def _copy(self, first: int, n: int, out: np.ndarray, tout: np.ndarray, cf: bool) -> int:
        """Copy ``[first, first + n)`` and return how many leading samples were torn."""
        if n > 0:
            if cf:
                ring_read_channels_first(self._buf, self._tbuf, first, n, out, tout)
            else:
                ring_read(self._buf, self._tbuf, first, n, out, tout)
        safe = self._reserved - self._cap  # samples below this may have been overwritten
        return min(n, max(0, safe - first))

    @staticmethod
    def _window(out, tout, a, b, count, lost, cf):
        data = out[:, a:b] if cf else out[a:b]
        return Window(data, tout[a:b], count, lost)

    def latest(
        self, n: int, out: np.ndarray | None = None, *, channels_first: bool = False
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

        Returns
        -------
        Window
            ``data`` of shape (n, n_channels) (or (n_channels, n)), ``timestamps``
            of shape (n,), ``count`` and ``lost``.
        """
        if type(n) is not int:
            n = int(n)
        cap = self._cap
        if n < 0 or n > cap:
            raise ValueError(f"n must be between 0 and the capacity {cap}, got {n}")
        out = self._out(n, out, channels_first)
        tout = np.empty(n, dtype=np.float64)
        read = ring_read_channels_first if channels_first else ring_read
        buf, tbuf = self._buf, self._tbuf
        for _ in range(_LATEST_RETRIES):
            end = self._count
            k = n if n <= end else end
            first = end - k
            if k:
                read(buf, tbuf, first, k, out, tout)
            torn = self._reserved - cap - first  # > 0: rows overwritten during the copy
            if torn <= 0:
                if k == n and (out.shape[1] if channels_first else out.shape[0]) == n:
                    return Window(out, tout, end, 0)  # common case: no slicing
                return self._window(out, tout, 0, k, end, 0, channels_first)
        torn = min(torn, k)
        return self._window(out, tout, torn, k, end, torn, channels_first)

    def since(
        self,
        count: int,
        out: np.ndarray | None = None,
        *,
        max_samples: int | None = None,
        channels_first: bool = False,
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
        count = int(count)
        end = self._count
        if count < 0 or count > end:
            raise ValueError(
                f"count must be between 0 and the samples written so far ({end}), got {count}"
            )
        limit = self._cap
        if out is not None:
            limit = min(limit, out.shape[1] if channels_first else out.shape[0])
        if max_samples is not None:
            if int(max_samples) < 0:
                raise ValueError(f"max_samples must be >= 0, got {max_samples}")
            limit = min(limit, int(max_samples))
        first = max(count, self._reserved - self._cap)
        stop = min(end, first + limit)
        first = min(first, stop)
        n = stop - first
        out = self._out(n, out, channels_first)
        tout = np.empty(n, dtype=np.float64)
        torn = self._copy(first, n, out, tout, channels_first)
        lost = first - count + torn
        return self._window(out, tout, torn, n, stop, lost, channels_first)


def _positive_int(value: int, name: str) -> int:
    try:
        ivalue = int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive integer, got {value!r}") from None
    if ivalue != value or ivalue <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return ivalue
