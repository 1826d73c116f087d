"""Small shared helpers for the realtime package: clock, logging, worker errors."""

from __future__ import annotations

import logging
import os
import threading
import time

from pylsl import local_clock

__all__ = [
    "LSL_LOG_ENV",
    "RAISE_ENV",
    "RateLimitedLog",
    "clock",
    "logger",
    "quiet_liblsl",
    "raise_worker_errors",
]

logger = logging.getLogger("moveo.realtime")

RAISE_ENV = "MOVEO_RAISE_WORKER_ERRORS"
"""Environment variable: when set to 1, worker-thread errors are re-raised.

By default an exception in a user callback or a source is logged, counted and
shown in the status, and the thread carries on. Tests set this switch so an
unexpected worker error fails the test (pytest reports exceptions raised in
threads) instead of scrolling past in a log.
"""

LSL_LOG_ENV = "MOVEO_LSL_LOG_LEVEL"
"""liblsl's console verbosity: ``warning`` (default), ``error``, ``info``, ``off`` or
a number (liblsl's scale: -9 off ... -2 error, -1 warning, 0 info ... 9 debug)."""

_LSL_LEVELS = {"off": -9, "error": -2, "warning": -1, "info": 0, "debug": 9}


def _user_lsl_config() -> bool:
    """Whether liblsl will read a configuration file of the user's (never overridden)."""
    candidates = [
        os.environ.get("LSLAPICFG", ""),
        "lsl_api.cfg",
        os.path.expanduser("~/lsl_api/lsl_api.cfg"),
        "/etc/lsl_api/lsl_api.cfg",
    ]
    return any(c and os.path.isfile(c) for c in candidates)


def quiet_liblsl() -> bool:
    """Keep liblsl's INFO lines off the console (it prints them to stderr by default).

    Must run before the first LSL call (liblsl reads its configuration once); this
    module runs it when it is imported. A configuration file of your own
    (``lsl_api.cfg``, ``LSLAPICFG``) is left alone: set ``[log] level`` there.

    Returns
    -------
    bool
        Whether moveo set liblsl's log level.
    """
    raw = os.environ.get(LSL_LOG_ENV, "warning").strip().lower()
    try:
        level = _LSL_LEVELS[raw] if raw in _LSL_LEVELS else int(raw)
    except ValueError:
        logger.warning("%s=%r is not a level; using 'warning'", LSL_LOG_ENV, raw)
        level = _LSL_LEVELS["warning"]
    if _user_lsl_config():
        return False
    import pylsl

    try:
        pylsl.set_config_content(f"[log]\nlevel = {max(-9, min(9, level))}\n")
    except (NotImplementedError, AttributeError):  # liblsl older than 1.17.7
        return False
    return True


quiet_liblsl()

clock = local_clock
"""The LSL clock (``pylsl.local_clock``): seconds, monotonic, shared by every
process on the machine. Sample timestamps and latencies use it."""


def raise_worker_errors() -> bool:
    """Return True if ``MOVEO_RAISE_WORKER_ERRORS`` asks worker threads to re-raise.

    Returns
    -------
    bool
    """
    value = os.environ.get(RAISE_ENV, "").strip().lower()
    return value not in {"", "0", "false", "no", "off"}


class RateLimitedLog:
    """Log a recurring problem at most once per ``interval`` seconds, with a count.

    Parameters
    ----------
    interval : float, default 1.0
        Minimum seconds between two log lines for the same key.
    sink : callable, optional
        Called with the message (default: ``logger.warning``).
    """

    def __init__(self, interval: float = 1.0, sink=None):
        self.interval = float(interval)
        self.sink = sink or logger.warning
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, message: str) -> bool:
        """Emit ``message`` unless ``key`` was logged less than ``interval`` ago.

        Parameters
        ----------
        key : str
            What kind of problem this is.
        message : str
            Text to log.

        Returns
        -------
        bool
            True if the message was emitted.
        """
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last[key] = now
            hidden = self._suppressed.pop(key, 0)
        if hidden:
            message = f"{message} ({hidden} similar messages suppressed)"
        self.sink(message)
        return True
