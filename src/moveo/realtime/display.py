"""What the rig GUI shows, computed without any GUI: signal envelopes, prediction history.

These objects belong to the GUI thread. They only *read* the realtime side (a
ring buffer, a pipeline's latest prediction, counters), never lock it and never
write to it, so a slow or busy display cannot delay acquisition or prediction.
They are plain numpy and usable (and tested) without imgui.

* :class:`SignalEnvelope` -- min/max per pixel column of the newest seconds of a
  ring buffer, updated from the new samples only, rasterised into an RGBA image.
* :class:`PredictionHistory` -- the numeric outputs of ``@pipeline.predict`` over
  time (class probabilities, regression values), sampled once per frame.
* :class:`RateMeter` -- a rate from a growing counter (samples/s of a stream).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from moveo.kernels.display import envelope_raster, minmax_buckets
from moveo.realtime._util import clock
from moveo.realtime.ring import RingBuffer

__all__ = ["PredictionHistory", "RateMeter", "SignalEnvelope"]


class SignalEnvelope:
    """Min/max per column of the newest ``seconds`` of a ring buffer.

    Column ``j`` summarises ``spb`` consecutive samples (``spb = ceil(seconds * fs /
    columns)``), aligned to sample numbers, so a column's value never depends on
    when the display happened to read. Each :meth:`update` folds in only the
    samples written since the previous one (a lock-free ``ring.since`` read), so
    256 channels at 2 kHz cost about 33 samples x 256 channels per frame at 60 fps,
    whatever the window length.

    Parameters
    ----------
    fs : float
        Sampling rate of the ring's samples (Hz).
    n_channels : int
        Channels of the ring.
    seconds : float, default 5.0
        Time span shown.
    columns : int, default 800
        Pixel columns of the view (``spb`` follows from it).

    Attributes
    ----------
    lo, hi : ndarray of shape (n_channels, n_columns), float32
        Per-column minima and maxima (NaN where no sample arrived).
    spb : int
        Samples per column.
    next_sample : int
        Number of the next sample the envelope will read.
    lost : int
        Samples the display wanted but the ring had already overwritten (a ring
        shorter than ``seconds``, or a writer that lapped the read).

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.realtime import RingBuffer
    >>> ring = RingBuffer(1000, 2)
    >>> ring.write(np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10) / 10.0)
    >>> env = SignalEnvelope(fs=10.0, n_channels=2, seconds=1.0, columns=5)
    >>> env.update(ring)
    10
    >>> env.spb, env.lo[0].tolist(), env.hi[0].tolist()
    (2, [0.0, 4.0, 8.0, 12.0, 16.0], [2.0, 6.0, 10.0, 14.0, 18.0])
    """

    def __init__(self, fs: float, n_channels: int, seconds: float = 5.0, columns: int = 800):
        fs = float(fs)
        seconds = float(seconds)
        if not math.isfinite(fs) or fs <= 0:
            raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs}")
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        if int(n_channels) < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        self.fs = fs
        self.n_channels = int(n_channels)
        self.seconds = seconds
        self.amplitude = 0.0
        self.lost = 0
        self.resize(columns)

    def resize(self, columns: int) -> None:
        """Change the number of columns (the view's width); the next update re-reads.

        Parameters
        ----------
        columns : int
            Pixel columns (>= 1).
        """
        columns = int(columns)
        if columns < 1:
            raise ValueError(f"columns must be >= 1, got {columns}")
        self.columns = columns
        self.spb = max(1, math.ceil(self.seconds * self.fs / columns))
        n_cols = max(1, math.ceil(self.seconds * self.fs / self.spb))
        self.lo = np.full((self.n_channels, n_cols), np.nan, np.float32)
        self.hi = np.full((self.n_channels, n_cols), np.nan, np.float32)
        self.next_sample: int | None = None
        self._bucket_end = 0  # one past the newest bucket held in the last column

    @property
    def n_columns(self) -> int:
        """Columns actually held (``ceil(seconds * fs / spb)``, at most ``columns``)."""
        return self.lo.shape[1]

    @property
    def span_samples(self) -> int:
        """Samples covered by the columns (``n_columns * spb``)."""
        return self.n_columns * self.spb

    def update(self, ring: RingBuffer) -> int:
        """Fold the samples written since the last update into the columns.

        Parameters
        ----------
        ring : RingBuffer
            The stream's ring (read with :meth:`RingBuffer.since`; never blocks
            its writer).

        Returns
        -------
        int
            Samples read.
        """
        if ring.n_channels != self.n_channels:
            raise ValueError(
                f"the ring has {ring.n_channels} channels, the envelope {self.n_channels}"
            )
        count = ring.count
        span = self.span_samples
        if self.next_sample is None or count - self.next_sample > span:
            # first read, or the display fell behind by more than it shows: start at
            # the newest span (older samples would scroll out at once)
            start = max(0, count - span)
            start -= start % self.spb
            if self.next_sample is None:
                self._bucket_end = start // self.spb
            self.next_sample = start
        if count <= self.next_sample:
            return 0
        w = ring.since(self.next_sample, max_samples=span + self.spb)
        n = len(w)
        if n == 0:
            return 0
        self.lost += w.lost
        first = w.start
        end_bucket = (first + n - 1) // self.spb + 1
        shift = end_bucket - self._bucket_end
        if shift > 0:
            n_cols = self.n_columns
            if shift >= n_cols:
                self.lo.fill(np.nan)
                self.hi.fill(np.nan)
            else:  # scroll left by the number of new columns
                self.lo[:, :-shift] = self.lo[:, shift:]
                self.hi[:, :-shift] = self.hi[:, shift:]
                self.lo[:, -shift:] = np.nan
                self.hi[:, -shift:] = np.nan
            self._bucket_end = end_bucket
        data = w.data
        minmax_buckets(data, first, self.spb, self._bucket_end - self.n_columns, self.lo,
                       self.hi)
        peak = float(np.max(np.abs(data))) if data.size else 0.0
        if math.isfinite(peak):
            # an envelope follower for the automatic gain: fast attack, slow release
            decay = math.exp(-n / (2.0 * self.fs))
            self.amplitude = max(peak, self.amplitude * decay)
        self.next_sample = first + n
        return n

    def times(self) -> tuple[float, float]:
        """Return the time span of the columns relative to the newest sample read.

        Returns
        -------
        (float, float)
            Seconds of the left edge of column 0 and of the right edge of the last
            column (the newest sample is at 0; the right edge may lie slightly
            after it while the last column fills).
        """
        if self.next_sample is None:
            return -self.span_samples / self.fs, 0.0
        newest = self.next_sample - 1
        left = (self._bucket_end - self.n_columns) * self.spb
        right = self._bucket_end * self.spb
        return (left - newest) / self.fs, (right - newest) / self.fs

    def raster(
        self,
        height: int,
        colors: np.ndarray,
        gain: float | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Paint the envelopes into an RGBA image, one band per channel.

        Parameters
        ----------
        height : int
            Image rows (pixel rows of the view).
        colors : ndarray of shape (n_channels, 4), uint8
            Channel colours.
        gain : float, optional
            ``1 / gain`` reaches a band's edge (default: the automatic gain,
            ``1 / (1.2 * amplitude)``).
        out : ndarray of shape (height, n_columns, 4), uint8, optional
            Reused destination.

        Returns
        -------
        ndarray of shape (height, n_columns, 4), uint8
        """
        height = int(height)
        if height < 1:
            raise ValueError(f"height must be >= 1 pixel row, got {height}")
        colors = np.ascontiguousarray(colors, dtype=np.uint8)
        if colors.shape != (self.n_channels, 4):
            raise ValueError(
                f"colors must have shape ({self.n_channels}, 4), got {colors.shape}"
            )
        if gain is None:
            gain = self.auto_gain
        shape = (height, self.n_columns, 4)
        if out is None or out.shape != shape or out.dtype != np.uint8:
            out = np.empty(shape, np.uint8)
        envelope_raster(self.lo, self.hi, float(gain), colors, out)
        return out

    @property
    def auto_gain(self) -> float:
        """Gain that keeps the recent peak amplitude inside a channel's band."""
        return 1.0 / (1.2 * self.amplitude) if self.amplitude > 0 else 1.0


def _numeric(value: Any) -> np.ndarray | None:
    """Return ``value`` as a 1-D float array if it is a number or a flat numeric array."""
    if isinstance(value, bool | np.bool_):
        return np.array([float(value)])
    if isinstance(value, Real | np.number):
        return np.array([float(value)])
    if isinstance(value, np.ndarray | Sequence) and not isinstance(value, str | bytes):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if arr.ndim == 1 and 0 < arr.size <= 64:
            return arr
    return None


class PredictionHistory:
    """The numeric entries of a pipeline's predictions over time.

    Call :meth:`update` once per frame: when the pipeline stored a new prediction
    since the last call (``pipeline.prediction_count`` changed), its numbers are
    appended with the prediction's timestamp. A frame samples the newest
    prediction only, so at 200 Hz predictions and 60 fps about every third one is
    kept; that is what a plot can show anyway, and the predict thread does no
    extra work for the display.

    Scalars (``"class"``, a regression ``"value"``) become one series; flat
    numeric arrays up to 64 long (``"proba"``, multi-output regression) one series
    per element. Other entries are ignored.

    Parameters
    ----------
    seconds : float, default 10.0
        How far back the history reaches.
    capacity : int, default 4096
        Predictions kept at most.
    """

    def __init__(self, seconds: float = 10.0, capacity: int = 4096):
        self.seconds = float(seconds)
        self.capacity = int(capacity)
        if self.capacity < 2:
            raise ValueError(f"capacity must be >= 2, got {capacity}")
        self.times = np.full(self.capacity, np.nan)
        self.series: dict[str, np.ndarray] = {}
        self.n = 0
        self._seen = -1

    def update(self, pipeline: Any) -> bool:
        """Append the pipeline's newest prediction if it is new.

        Parameters
        ----------
        pipeline : Pipeline
            Read: ``prediction_count``, ``predictions``, ``prediction_time``.

        Returns
        -------
        bool
            True if a prediction was appended.
        """
        count = pipeline.prediction_count
        if count == self._seen:
            return False
        self._seen = count
        predictions = pipeline.predictions  # one reference read: a consistent dict
        t = float(pipeline.prediction_time)
        if not predictions or not math.isfinite(t):
            return False
        i = self.n
        if self.n >= self.capacity:
            # keep the arrays in time order: drop the oldest half at once
            half = self.capacity // 2
            self.times[:half] = self.times[half:half * 2]
            self.times[half:] = np.nan
            for arr in self.series.values():
                arr[:half] = arr[half:half * 2]
                arr[half:] = np.nan
            self.n = half
            i = half
        self.times[i] = t
        for key, value in predictions.items():
            if key == "time":
                continue
            vec = _numeric(value)
            if vec is None:
                continue
            arr = self.series.get(key)
            if arr is None or arr.shape[1] != vec.size:
                arr = np.full((self.capacity, vec.size), np.nan)
                self.series[key] = arr
            arr[i] = vec
        self.n += 1
        return True

    def window(self, now: float | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return the predictions of the last ``seconds``, times relative to ``now``.

        Parameters
        ----------
        now : float, optional
            LSL clock time at 0 (default: now).

        Returns
        -------
        times : ndarray of shape (n,)
            Seconds, <= 0.
        series : dict of str to ndarray of shape (n, width)
        """
        now = clock() if now is None else float(now)
        t = self.times[: self.n]
        keep = np.nonzero(t >= now - self.seconds)[0]
        first = int(keep[0]) if keep.size else self.n
        return t[first:] - now, {k: v[first: self.n] for k, v in self.series.items()}


class RateMeter:
    """Rate of a growing counter over the last ``window_s`` seconds.

    Parameters
    ----------
    window_s : float, default 1.0
        Averaging window.
    """

    def __init__(self, window_s: float = 1.0):
        self.window_s = float(window_s)
        self._marks: list[tuple[float, int]] = []

    def update(self, count: int, now: float | None = None) -> float:
        """Record the counter's value and return the rate (NaN until two marks exist).

        Parameters
        ----------
        count : int
            Counter value (e.g. samples received).
        now : float, optional
            Time of the reading (default: now).

        Returns
        -------
        float
            Counts per second.
        """
        now = clock() if now is None else float(now)
        marks = self._marks
        if marks and count < marks[-1][1]:  # the counter restarted
            marks.clear()
        marks.append((now, int(count)))
        while len(marks) > 2 and now - marks[1][0] >= self.window_s:
            marks.pop(0)
        (t0, c0), (t1, c1) = marks[0], marks[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else float("nan")
