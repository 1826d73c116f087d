"""Tick timing for the predict loop: absolute deadlines, or wake-up on new data.

Fixed rate
    Tick ``k`` is due at ``t0 + k * period``. The loop sleeps until shortly before
    the deadline and spins the rest (``spin_s``), so wake-up jitter is that of a
    busy loop, not of the OS timer. A tick that would start more than
    ``max_late`` after its deadline is skipped and counted; the loop then waits
    for the next deadline in the future. Deadlines never depend on when the
    previous tick ended, so there is no drift and no burst of catch-up ticks.

On new data
    The acquisition threads wake the predict thread after every ring write; it
    ticks as soon as at least ``hop`` new samples arrived, so latency is not
    bounded by a tick grid.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from moveo.realtime._util import clock

__all__ = ["DataTrigger", "Scheduler", "Tick"]


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick of the :class:`Scheduler`.

    Attributes
    ----------
    index : int
        Grid index ``k`` (the tick was due at ``t0 + k * period``).
    deadline : float
        When the tick was due (LSL clock seconds).
    start : float
        When it was released.
    skipped : int
        Ticks skipped just before this one because the loop was too late.
    """

    index: int
    deadline: float
    start: float
    skipped: int

    @property
    def lateness(self) -> float:
        """``start - deadline`` in seconds."""
        return self.start - self.deadline


class Scheduler:
    """Release ticks on an absolute deadline grid ``t0 + k * period``.

    Parameters
    ----------
    rate_hz : float
        Tick rate. ``0`` or negative: no cap, every call returns at once.
    spin_s : float, default 0.0005
        Busy-wait this long before each deadline instead of sleeping.
    max_late : float, optional
        A tick later than this (seconds) is skipped (default: half a period).

    Examples
    --------
    >>> s = Scheduler(1000.0)
    >>> ticks = [s.wait() for _ in range(3)]
    >>> [t.index for t in ticks], s.skipped
    ([0, 1, 2], 0)
    """

    def __init__(self, rate_hz: float, *, spin_s: float = 0.0005, max_late: float | None = None):
        rate_hz = float(rate_hz)
        if math.isnan(rate_hz):
            raise ValueError("rate_hz must be a number (0 or negative for no cap)")
        self.rate_hz = rate_hz if rate_hz > 0 else 0.0
        self.period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self.spin_s = max(float(spin_s), 0.0)
        self.max_late = self.period / 2 if max_late is None else float(max_late)
        self.t0: float | None = None
        self.skipped = 0
        self.ticks = 0
        self._k = -1

    def reset(self, t0: float | None = None) -> None:
        """Restart the grid at ``t0`` (default: the next :meth:`wait`).

        Parameters
        ----------
        t0 : float, optional
            Time of tick 0 (LSL clock).
        """
        self.t0 = t0
        self._k = -1

    def wait(self, stop: threading.Event | None = None) -> Tick | None:
        """Block until the next tick is due and return it.

        Parameters
        ----------
        stop : threading.Event, optional
            Return None as soon as this is set.

        Returns
        -------
        Tick or None
            None if ``stop`` was set while waiting.
        """
        now = clock()
        if self.period == 0.0:
            self._k += 1
            self.ticks += 1
            return Tick(self._k, now, now, 0)
        if self.t0 is None:
            self.t0 = now
        k = self._k + 1
        deadline = self.t0 + k * self.period
        skipped = 0
        if now - deadline > self.max_late:
            nxt = math.floor((now - self.t0) / self.period) + 1
            skipped = nxt - k
            k = nxt
            deadline = self.t0 + k * self.period
        remaining = deadline - now - self.spin_s
        if remaining > 0:
            if stop is not None:
                if stop.wait(remaining):
                    return None
            else:
                threading.Event().wait(remaining)
        while clock() < deadline:  # spin the last stretch for a precise wake-up
            pass
        start = clock()
        self._k = k
        self.skipped += skipped
        self.ticks += 1
        return Tick(k, deadline, start, skipped)


class DataTrigger:
    """Wake a waiting thread when an acquisition thread wrote new samples.

    The acquisition side calls :meth:`notify` (an ``Event.set``). The waiting side
    calls :meth:`clear`, checks whether enough data is there, and only then
    :meth:`wait` s, so no notification can slip between the check and the wait.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        """Signal that new samples were written."""
        self._event.set()

    def clear(self) -> None:
        """Forget earlier notifications (call before checking the data)."""
        self._event.clear()

    def wait(self, timeout: float) -> bool:
        """Wait for a notification.

        Parameters
        ----------
        timeout : float
            Seconds.

        Returns
        -------
        bool
            True if notified, False on timeout.
        """
        return self._event.wait(timeout)
