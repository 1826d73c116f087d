"""Dask worker plugins (imported only when dask.distributed is installed).

Kept apart from :mod:`moveo.distributed` so that module can be imported, and
tell the user to install ``moveo[dask]``, without dask present.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["NumbaWarmup"]


class NumbaWarmup(WorkerPlugin):
    """Compile (or load from numba's on-disk cache) moveo kernels once per worker.

    The scheduler keeps registered plugins and runs :meth:`setup` on every
    worker that joins later too, so a worker restarted after a crash is warmed
    up before it computes entries again.

    Parameters
    ----------
    modules : sequence of str, optional
        Kernel modules to warm up (e.g. ``["moveo.kernels.kinematics"]``);
        ``None`` warms up every kernel (:func:`moveo.warmup`).
    """

    idempotent = False

    def __init__(self, modules: Sequence[str] | None = None) -> None:
        self.modules = None if modules is None else tuple(modules)
        self.name = "moveo-numba-warmup"

    async def setup(self, worker: Any) -> None:
        """Warm up in a thread so the worker's event loop keeps answering heartbeats."""
        from moveo._numba import warmup_modules

        await asyncio.to_thread(warmup_modules, self.modules)
