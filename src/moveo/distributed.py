"""Run moveo pipelines on a Dask cluster.

:func:`run_feature <moveo.run_feature>` and :meth:`Pipeline.run
<moveo.pipeline.Pipeline.run>` accept any :class:`concurrent.futures.Executor`.
This module makes a Dask one that fits moveo:

* :func:`dask_executor` wraps a ``distributed.Client``, connects to a scheduler
  address, or starts a :class:`distributed.LocalCluster`, and returns a
  :class:`DaskExecutor` (tasks are submitted with ``pure=False``: every entry
  is computed, never deduplicated by Dask).
* :func:`local_cluster` is the same as a context manager for demos and tests
  (dashboard off by default).
* :class:`NumbaWarmup` (registered with ``warmup=...``) compiles moveo's
  kernels once per worker process, when the worker starts, so no entry pays
  for compilation and a worker restarted after a crash is warm again before it
  computes. Without it each worker compiles a kernel in the first task that
  needs it; either way numba keeps the code for the life of the process and
  its on-disk cache lets later processes load instead of compile.
  :func:`worker_kernel_stats` reports, per worker, how often each kernel was
  compiled or loaded from numba's on-disk cache.

Workers read their inputs and write parquet outputs on storage every worker
sees at the same path; they return entry metadata only and the driver alone
writes the SQLite registry. A worker that dies mid-entry leaves no output
(files are written to a temporary name and renamed); the scheduler re-runs the
entry on another worker, and after ``allowed_failures`` deaths the entry is
reported as failed (``FeatureRunError``) and a re-run computes it.

Dask is an optional dependency: ``pip install "moveo[dask]"``. This module
imports without it; its functions raise an ImportError saying so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from moveo import _numba
from moveo._numba import warmup_modules

if TYPE_CHECKING:
    import distributed

__all__ = [
    "TRACKING_KERNELS",
    "DaskExecutor",
    "dask_executor",
    "kernel_stats",
    "local_cluster",
    "warmup_modules",
    "worker_kernel_stats",
]

_INSTALL_HINT = 'install the optional extra: pip install "moveo[dask]"'

WarmupSpec = bool | str | Sequence[str]


def _require_distributed() -> Any:
    """Import ``distributed`` or raise an ImportError that says how to get it."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"moveo.distributed needs dask and distributed, which are not installed "
            f"({exc}); {_INSTALL_HINT}"
        ) from exc
    return distributed


def __getattr__(name: str) -> Any:
    # NumbaWarmup subclasses distributed's WorkerPlugin, so it is imported on first use.
    if name == "NumbaWarmup":
        _require_distributed()
        from moveo._dask_plugins import NumbaWarmup

        return NumbaWarmup
    raise AttributeError(f"module 'moveo.distributed' has no attribute {name!r}")


# --------------------------------------------------------------------------- numba on workers

TRACKING_KERNELS: tuple[str, ...] = (
    "moveo.kernels.kinematics",
    "moveo.kernels.body",
    "moveo.kernels.neighbors",
    "moveo.kernels.windows",
)
"""Kernel modules behind the tracking features (a ``warmup=`` value for tracking pipelines)."""

def kernel_stats() -> dict[str, dict[str, int]]:
    """Report, for each moveo kernel loaded in this process, how it got its machine code.

    Numba compiles a kernel once per argument signature per process (or loads
    it from its on-disk cache). Counts that stay constant while tasks run show
    that no task compiled anything.

    Returns
    -------
    dict of str to dict
        ``{"moveo.kernels.<module>.<kernel>": {"signatures": n, "compiled": c,
        "loaded": l}}``: signatures this process holds, how many were compiled
        here and how many loaded from the cache (``c + l == n``). Also
        ``"__process__": {"pid": ..., "warmed_modules": ...}``.
    """
    from numba.core.dispatcher import Dispatcher

    out: dict[str, dict[str, int]] = {}
    for mod_name, mod in sorted(sys.modules.items()):
        if mod is None or not mod_name.startswith("moveo.kernels."):
            continue
        for attr, obj in sorted(vars(mod).items()):
            if not isinstance(obj, Dispatcher) or getattr(obj, "__module__", None) != mod_name:
                continue
            stats = obj.stats
            out[f"{mod_name}.{attr}"] = {
                "signatures": len(obj.overloads),
                "compiled": int(sum(stats.cache_misses.values())),
                "loaded": int(sum(stats.cache_hits.values())),
            }
    out["__process__"] = {"pid": os.getpid(), "warmed_modules": len(_numba.WARMED_MODULES)}
    return out


def worker_kernel_stats(client: Any) -> dict[str, dict[str, dict[str, int]]]:
    """Run :func:`kernel_stats` on every worker of a Dask cluster.

    Parameters
    ----------
    client : distributed.Client or DaskExecutor
        The cluster.

    Returns
    -------
    dict
        ``{worker_address: kernel_stats()}``.
    """
    client = client.client if isinstance(client, DaskExecutor) else client
    return client.run(kernel_stats)


def _warmup_plugin(warmup: WarmupSpec) -> Any | None:
    if warmup is False:
        return None
    from moveo._dask_plugins import NumbaWarmup

    if warmup is True:
        return NumbaWarmup(None)
    return NumbaWarmup([warmup] if isinstance(warmup, str) else list(warmup))


# --------------------------------------------------------------------------- executor


class DaskExecutor(Executor):
    """A :class:`concurrent.futures.Executor` running tasks on a Dask cluster.

    Made by :func:`dask_executor`; pass it as ``executor=`` to
    ``run_feature`` or ``Pipeline.run``. Closing it (``shutdown()`` or leaving
    a ``with`` block) closes the client and cluster only if it created them.

    Parameters
    ----------
    client : distributed.Client
        A connected client.
    retries : int, default 0
        Extra attempts Dask makes for a task whose ``apply`` *raised* (for
        flaky storage). Tasks whose worker *died* are re-run by the scheduler
        regardless (up to its ``allowed_failures``).
    owns_client : bool, default False
        Close ``client`` on shutdown.
    cluster : distributed.LocalCluster, optional
        A cluster to close on shutdown.

    Attributes
    ----------
    client : distributed.Client
        The client (use it for ``client.dashboard_link``, ``client.restart()``...).
    cluster : distributed.LocalCluster or None
        The cluster this executor started, if any.
    """

    def __init__(
        self,
        client: distributed.Client,
        *,
        retries: int = 0,
        owns_client: bool = False,
        cluster: Any | None = None,
    ) -> None:
        if int(retries) < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.client = client
        self.cluster = cluster
        self.retries = int(retries)
        self._owns_client = owns_client
        kwargs: dict[str, Any] = {"pure": False}
        if self.retries:
            kwargs["retries"] = self.retries
        self._inner = client.get_executor(**kwargs)
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)`` on the cluster.

        Parameters
        ----------
        fn : callable
            A picklable function (module-level, importable on the workers).
        *args, **kwargs
            Its arguments (pickled and sent with the task: keep them small).

        Returns
        -------
        concurrent.futures.Future
        """
        if self._closed:
            raise RuntimeError("this DaskExecutor was shut down; make a new one")
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting tasks; close the client and cluster if this executor made them.

        Parameters
        ----------
        wait : bool, default True
            Wait for submitted tasks to finish first.
        cancel_futures : bool, default False
            Cancel tasks that have not finished.
        """
        if self._closed:
            return
        self._closed = True
        if cancel_futures:
            for fut in list(getattr(self._inner, "_futures", ())):
                fut.cancel()
        self._inner.shutdown(wait=wait)
        if self._owns_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    @property
    def n_workers(self) -> int:
        """Number of workers currently connected to the scheduler."""
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"scheduler={self.client.scheduler.address}"
        return f"DaskExecutor({state})"


def dask_executor(
    client_or_address: Any | None = None,
    *,
    warmup: WarmupSpec = False,
    retries: int = 0,
    **cluster_kwargs: Any,
) -> DaskExecutor:
    """Make an executor that runs moveo entries on a Dask cluster.

    Parameters
    ----------
    client_or_address : distributed.Client, str or None
        An existing client (left open on shutdown), a scheduler address such as
        ``"tcp://10.0.0.5:8786"`` (a client is connected and closed on
        shutdown), or None to start a :class:`distributed.LocalCluster` (closed
        on shutdown).
    warmup : bool, str or sequence of str, default False
        Register :class:`NumbaWarmup` so every worker compiles (or loads from
        numba's cache) kernels once when it starts: a module name or names,
        e.g. :data:`TRACKING_KERNELS`, or True for every moveo kernel. False:
        each worker compiles a kernel in the first task that needs it (still
        once per worker process, never per task).
    retries : int, default 0
        Extra attempts for entries whose ``apply`` raised (see :class:`DaskExecutor`).
    **cluster_kwargs
        Options for :class:`distributed.LocalCluster` (only with
        ``client_or_address=None``). moveo's defaults: ``processes=True``,
        ``threads_per_worker=1``, ``dashboard_address=None`` (no dashboard;
        pass ``dashboard_address=":8787"`` for one).

    Returns
    -------
    DaskExecutor
        Use it as ``executor=`` and close it (``with`` block or ``shutdown()``).

    Raises
    ------
    ImportError
        dask/distributed are not installed (install ``moveo[dask]``).
    TypeError
        ``client_or_address`` is of another type, or ``cluster_kwargs`` were
        given together with an existing client or address.

    Examples
    --------
    >>> from moveo.distributed import dask_executor
    >>> with dask_executor(n_workers=1, processes=False, warmup=False) as ex:
    ...     ex.submit(sum, [1, 2, 3]).result()
    6
    """
    dd = _require_distributed()
    if client_or_address is not None and cluster_kwargs:
        raise TypeError(
            f"cluster options {sorted(cluster_kwargs)} only apply when dask_executor starts "
            "a LocalCluster (client_or_address=None); configure an existing cluster where "
            "it is started"
        )
    cluster = None
    owns_client = False
    if client_or_address is None:
        options = {"processes": True, "threads_per_worker": 1, "dashboard_address": None}
        options.update(cluster_kwargs)
        cluster = dd.LocalCluster(**options)
        try:
            client = dd.Client(cluster)
        except BaseException:
            cluster.close()
            raise
        owns_client = True
    elif isinstance(client_or_address, str):
        client = dd.Client(client_or_address)
        owns_client = True
    elif isinstance(client_or_address, dd.Client):
        client = client_or_address
    else:
        raise TypeError(
            "client_or_address must be a distributed.Client, a scheduler address string "
            f"(e.g. 'tcp://host:8786') or None, got {type(client_or_address).__name__}"
        )
    executor = DaskExecutor(client, retries=retries, owns_client=owns_client, cluster=cluster)
    try:
        plugin = _warmup_plugin(warmup)
        if plugin is not None:
            client.register_plugin(plugin)
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return executor


@contextmanager
def local_cluster(
    n_workers: int = 2,
    *,
    processes: bool = True,
    threads_per_worker: int = 1,
    warmup: WarmupSpec = False,
    retries: int = 0,
    dashboard_address: str | None = None,
    **cluster_kwargs: Any,
) -> Iterator[DaskExecutor]:
    """Start a LocalCluster for the duration of a ``with`` block.

    Parameters
    ----------
    n_workers : int, default 2
        Worker processes (or threads with ``processes=False``).
    processes : bool, default True
        Workers in separate processes (like a real cluster) or threads of this
        process (fast start-up, for tests).
    threads_per_worker : int, default 1
        Entries a worker computes at once.
    warmup : bool, str or sequence of str, default False
        As in :func:`dask_executor`.
    retries : int, default 0
        As in :func:`dask_executor`.
    dashboard_address : str, optional
        Serve Dask's dashboard there (default: no dashboard).
    **cluster_kwargs
        Further :class:`distributed.LocalCluster` options (e.g.
        ``scheduler_kwargs={"allowed_failures": 1}``).

    Yields
    ------
    DaskExecutor
        Closed, with its cluster, when the block ends.
    """
    if int(n_workers) < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    executor = dask_executor(
        None,
        warmup=warmup,
        retries=retries,
        n_workers=int(n_workers),
        processes=processes,
        threads_per_worker=threads_per_worker,
        dashboard_address=dashboard_address,
        **cluster_kwargs,
    )
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
