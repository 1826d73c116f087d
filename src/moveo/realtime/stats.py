"""Per-tick measurements of the predict loop and their summary."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["TickStats", "format_stats", "percentiles"]


def percentiles(values: np.ndarray, scale: float = 1.0) -> dict[str, float]:
    """Return ``{"p50", "p99", "max"}`` of finite ``values`` times ``scale``.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Measurements (NaN entries are ignored).
    scale : float, default 1.0
        Unit conversion (e.g. 1000 for seconds to milliseconds).

    Returns
    -------
    dict
        NaN for each key when there are no finite values.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    p50, p99 = np.percentile(v, [50, 99])
    return {"p50": float(p50 * scale), "p99": float(p99 * scale), "max": float(v.max() * scale)}


class TickStats:
    """Measurements of the last ``history`` predict ticks plus running counters.

    One thread records (the predict thread); any thread may call :meth:`summary`.

    Parameters
    ----------
    history : int, default 65536
        Ticks kept for the percentiles.
    """

    _FIELDS = ("start", "deadline", "duration", "latency", "new_data")

    def __init__(self, history: int = 65536):
        self.history = int(history)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget all ticks and counters."""
        with self._lock:
            self._start = np.full(self.history, np.nan)
            self._deadline = np.full(self.history, np.nan)
            self._duration = np.full(self.history, np.nan)
            self._latency = np.full(self.history, np.nan)
            self._new = np.zeros(self.history, dtype=bool)
            self.ticks = 0
            self.skipped = 0
            self.overruns = 0
            self.stale_ticks = 0
            self.waiting_ticks = 0
            self.lost_samples = 0
            self.non_dict_results = 0
            self.errors: dict[str, int] = {"extract": 0, "predict": 0, "postprocess": 0,
                                           "train": 0}
            self.first_start = float("nan")
            self.last_start = float("nan")

    def record(
        self,
        *,
        start: float,
        deadline: float,
        duration: float,
        latency: float,
        new_data: bool,
        period: float,
        error: str | None = None,
    ) -> None:
        """Record one predict tick (seconds, LSL clock).

        Parameters
        ----------
        start, deadline : float
            When the tick started and when it was due.
        duration : float
            Time spent in extract + predict + post-processing.
        latency : float
            Time from the newest sample's timestamp to the published prediction.
        new_data : bool
            Whether the window held samples the previous tick had not seen.
        period : float
            Nominal period (0 in on-new-data mode); a longer duration is an overrun.
        error : str, optional
            The callback that raised in this tick (extract, predict, postprocess),
            counted under the same lock as the tick.
        """
        with self._lock:
            if error is not None:
                self.errors[error] = self.errors.get(error, 0) + 1
            i = self.ticks % self.history
            self._start[i] = start
            self._deadline[i] = deadline
            self._duration[i] = duration
            self._latency[i] = latency
            self._new[i] = new_data
            if self.ticks == 0:
                self.first_start = start
            self.last_start = start
            self.ticks += 1
            if period > 0 and duration > period:
                self.overruns += 1

    def recent(self, n: int = 1024) -> dict[str, Any]:
        """Summarise the newest ``n`` ticks without taking the lock.

        For displays that refresh while the predict thread records: the recording
        thread never waits for this reader. Ticks that the writer may have been
        overwriting during the copy are left out (the same rule as the ring
        buffer's ``lost``), so every tick summarised is a complete record.

        Parameters
        ----------
        n : int, default 1024
            Ticks to summarise (at most ``history``).

        Returns
        -------
        dict
            Like :meth:`summary`, with ``ticks`` the total count, ``rate_hz``,
            the percentiles and ``new_data_fraction`` over the ticks summarised and
            ``window`` the number of them.
        """
        n = max(int(n), 0)
        arrays = (self._start, self._deadline, self._duration, self._latency, self._new)
        before = self.ticks
        k = min(n, before, self.history)
        idx = np.arange(before - k, before) % self.history if k else np.zeros(0, np.int64)
        start, deadline, duration, latency, new = (a[idx] for a in arrays)
        after = self.ticks
        # ticks numbered below after - history + 1 may have been overwritten meanwhile
        drop = max(0, (after - self.history + 1) - (before - k))
        if drop:
            start, deadline, duration = start[drop:], deadline[drop:], duration[drop:]
            latency, new = latency[drop:], new[drop:]
        m = start.size
        span = float(start[-1] - start[0]) if m > 1 else 0.0
        lateness = start - deadline
        return {
            "ticks": after,
            "window": m,
            "rate_hz": float((m - 1) / span) if m > 1 and span > 0 else float("nan"),
            "lateness_ms": percentiles(lateness, 1e3),
            "jitter_ms": percentiles(np.abs(lateness), 1e3),
            "duration_ms": percentiles(duration, 1e3),
            "latency_ms": percentiles(latency, 1e3),
            "new_data_fraction": float(new.mean()) if m else float("nan"),
            "skipped": self.skipped,
            "overruns": self.overruns,
            "callback_errors": int(sum(self.errors.values())),
            "errors_by_callback": dict(self.errors),
            "non_dict_results": self.non_dict_results,
            "stale_ticks": self.stale_ticks,
            "waiting_ticks": self.waiting_ticks,
            "lost_samples": self.lost_samples,
        }

    def count_error(self, kind: str) -> None:
        """Count a callback error of ``kind`` (extract, predict, postprocess, train)."""
        with self._lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def summary(self) -> dict[str, Any]:
        """Return the statistics as a dict.

        Returns
        -------
        dict
            ``ticks``, ``rate_hz``, ``skipped``, ``overruns``, ``lateness_ms``,
            ``jitter_ms`` (absolute lateness), ``duration_ms``, ``latency_ms`` (each a
            dict of p50/p99/max), ``new_data_fraction``, ``callback_errors`` (total),
            ``errors_by_callback``, ``non_dict_results``, ``stale_ticks``,
            ``waiting_ticks`` (not enough samples yet), ``lost_samples``.
        """
        with self._lock:
            n = min(self.ticks, self.history)
            start = self._start[:n].copy()
            deadline = self._deadline[:n].copy()
            duration = self._duration[:n].copy()
            latency = self._latency[:n].copy()
            new = self._new[:n].copy()
            ticks = self.ticks
            span = self.last_start - self.first_start
            out = {
                "skipped": self.skipped,
                "overruns": self.overruns,
                "callback_errors": int(sum(self.errors.values())),
                "errors_by_callback": dict(self.errors),
                "non_dict_results": self.non_dict_results,
                "stale_ticks": self.stale_ticks,
                "waiting_ticks": self.waiting_ticks,
                "lost_samples": self.lost_samples,
            }
        lateness = start - deadline
        rate = (ticks - 1) / span if ticks > 1 and span > 0 else float("nan")
        return {
            "ticks": ticks,
            "rate_hz": float(rate),
            "lateness_ms": percentiles(lateness, 1e3),
            "jitter_ms": percentiles(np.abs(lateness), 1e3),
            "duration_ms": percentiles(duration, 1e3),
            "latency_ms": percentiles(latency, 1e3),
            "new_data_fraction": float(new.mean()) if n else float("nan"),
            **out,
        }


def format_stats(stats: dict[str, Any]) -> str:
    """Format :meth:`TickStats.summary` output as a small text table.

    Parameters
    ----------
    stats : dict
        A summary dict.

    Returns
    -------
    str
    """
    lines = [f"ticks {stats['ticks']}  rate {stats['rate_hz']:.1f} Hz  "
             f"skipped {stats['skipped']}  overruns {stats['overruns']}"]
    lines.append(f"{'':14s}{'p50':>9s}{'p99':>9s}{'max':>9s}")
    for key in ("lateness_ms", "duration_ms", "latency_ms"):
        p = stats[key]
        lines.append(f"{key:14s}{p['p50']:9.3f}{p['p99']:9.3f}{p['max']:9.3f}")
    lines.append(
        f"callback errors {stats['callback_errors']}  non-dict results "
        f"{stats['non_dict_results']}  stale ticks {stats['stale_ticks']}  "
        f"lost samples {stats['lost_samples']}"
    )
    return "\n".join(lines)
