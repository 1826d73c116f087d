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

The counters live in a small int64 array that the compiled kernels of
:mod:`moveo.kernels.ring` update and read with atomic, ordered accesses, so one
compiled call per write or read does the copy and the counter traffic (see that
module for the orderings). The producer's write keeps the GIL (it is a short
copy); a reader's copy releases it, so the producer keeps writing while readers
copy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from moveo.kernels.ring import COUNT, ring_latest, ring_push, ring_since

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
        # [reserved, count]: written only by ring_push (see moveo.kernels.ring)
        self._state = np.zeros(2, dtype=np.int64)
        # what a read needs, in one attribute lookup
        self._arrays = (self._buf, self._tbuf, self._state)

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
        # fast path: float32 / float64 arrays go straight to the kernel (numba copes
        # with any strides, and checks the lengths); anything else is converted once
        if type(data) is not _ndarray or data.dtype is not _F32 or data.ndim != 2:
            data = np.asarray(data, dtype=np.float32)
            if data.ndim != 2:
                raise ValueError(
                    f"data must have shape (n_samples, {self._n_ch}), got shape {data.shape}"
                )
        if type(timestamps) is not _ndarray or timestamps.dtype is not _F64 or (
            timestamps.ndim != 1
        ):
            timestamps = np.asarray(timestamps, dtype=np.float64)
            if timestamps.ndim != 1:
                raise ValueError(
                    f"timestamps must have shape ({data.shape[0]},) to match data, "
                    f"got {timestamps.shape}"
                )
        if ring_push(self._buf, self._tbuf, self._state, data, timestamps):
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
    def _check_out(self, out: np.ndarray, n: int, channels_first: bool) -> None:
        if type(out) is not _ndarray or out.dtype is not _F32:
            raise TypeError("out must be a float32 numpy array")
        shape = out.shape
        if (
            len(shape) == 2
            and shape[not channels_first] == self._n_ch
            and shape[channels_first] >= n
            and out.flags.writeable
        ):
            return  # the usual case, in a few cheap checks; the messages follow
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
        if type(channels_first) is not bool:
            channels_first = bool(channels_first)
        if n < 0 or n > self._cap:
            raise ValueError(f"n must be between 0 and the capacity {self._cap}, got {n}")
        if out is None:
            out = _empty((self._n_ch, n) if channels_first else (n, self._n_ch), _F32)
            exact = True
        else:
            self._check_out(out, n, channels_first)
            exact = out.shape[channels_first] == n
        tout = _empty(n, _F64)
        buf, tbuf, state = self._arrays
        end, k, torn = ring_latest(buf, tbuf, state, n, out, tout, channels_first)
        if k == n and exact and not torn:  # the common case: no slicing
            return _new_window(Window, (out, tout, end, 0))
        data = out[:, torn:k] if channels_first else out[torn:k]
        return _new_window(Window, (data, tout[torn:k], end, torn))

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
        channels_first = bool(channels_first)
        end = self._state.item(COUNT)  # a snapshot: the kernel may see more
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
        if out is None:
            # at most what is there now from `count` on: a later count can only
            # move the window's start forward (overwrite), never widen it past this
            limit = min(limit, end - count)
            out = _empty((self._n_ch, limit) if channels_first else (limit, self._n_ch), _F32)
        else:
            self._check_out(out, limit, channels_first)
        tout = _empty(limit, _F64)
        buf, tbuf, state = self._arrays
        first, stop, torn = ring_since(
            buf, tbuf, state, count, limit, out, tout, channels_first
        )
        n = stop - first
        data = out[:, torn:n] if channels_first else out[torn:n]
        return _new_window(Window, (data, tout[torn:n], stop, first - count + torn))


_new_window = tuple.__new__  # Window(...) without the generated __new__'s Python frame


def _positive_int(value: int, name: str) -> int:
    try:
        ivalue = int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive integer, got {value!r}") from None
    if ivalue != value or ivalue <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return ivalue
