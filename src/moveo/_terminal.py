"""Whether to draw progress bars: one rule for every part of moveo.

Lives below every layer so the numba warm-up (:mod:`moveo._numba`) and the
pipeline's reporting (:mod:`moveo.pipeline.reporting`, which re-exports it)
decide the same way without the foundation importing the pipeline.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["progress_enabled"]


def progress_enabled(progress: bool | None, stream: Any = None) -> bool:
    """Decide whether to show progress bars.

    Parameters
    ----------
    progress : bool or None
        ``True``/``False`` force the choice; ``None`` means "only on a terminal".
    stream : file-like, optional
        The stream bars go to (default ``sys.stderr``).

    Returns
    -------
    bool
    """
    env = os.environ.get("MOVEO_PROGRESS")
    if env is not None and env.strip().lower() in {"0", "false", "no", "off"}:
        return False
    if progress is not None:
        return bool(progress)
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
