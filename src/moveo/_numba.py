"""The one place where moveo configures numba.

Every kernel is compiled through :func:`jit`, so caching, ``nogil`` and the
floating-point flags are decided here and nowhere else.

Environment switches
--------------------
``MOVEO_NUMBA_CACHE=0``
    Do not write or read numba's on-disk cache (useful on read-only installs or
    when debugging a kernel). Default: caching on.
``MOVEO_DISABLE_JIT=1``
    Run kernels as plain Python (numba's ``NUMBA_DISABLE_JIT`` has the same effect
    for every numba user; this one is scoped to moveo's documentation only and
    simply forwards to it).

Fast-math flags
---------------
We enable ``nsz``, ``arcp``, ``contract``, ``afn`` and ``reassoc`` but *never*
``nnan`` or ``ninf``: tracking gaps are NaN and the kernels must see them.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numba

__all__ = [
    "CACHE",
    "FASTMATH",
    "jit",
    "kernel_threads",
    "prange",
    "register_warmup",
    "warmup",
    "warmup_modules",
]

F = TypeVar("F", bound=Callable[..., Any])


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in {"0", "false", "no", "off", ""}


CACHE: bool = _env_flag("MOVEO_NUMBA_CACHE", True)
"""Whether kernels use numba's on-disk cache (``MOVEO_NUMBA_CACHE``)."""

FASTMATH: frozenset[str] = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
"""LLVM fast-math flags: everything except ``nnan``/``ninf`` (NaN gaps must survive)."""

if _env_flag("MOVEO_DISABLE_JIT", False):  # pragma: no cover - debugging aid
    numba.config.DISABLE_JIT = True

prange = numba.prange


def jit(
    fn: F | None = None, *, parallel: bool = False, cache: bool | None = None, **options: Any
) -> F | Callable[[F], F]:
    """Compile a kernel with moveo's numba settings.

    Parameters
    ----------
    fn : callable, optional
        The function to compile. When omitted, returns a decorator.
    parallel : bool, default False
        Enable ``prange`` parallel loops. Parallel kernels respect
        :func:`kernel_threads` so parallel entries do not oversubscribe cores.
    cache : bool, optional
        Override the global cache switch for this kernel. A function without a
        source file (a notebook cell, ``exec``) is compiled without caching.
    **options
        Further options passed to :func:`numba.njit` (e.g. an explicit signature
        is *not* supported here: kernels are compiled lazily per dtype).

    Returns
    -------
    callable
        The numba dispatcher (or a decorator producing one).

    Examples
    --------
    >>> from moveo._numba import jit
    >>> @jit
    ... def add(a, b):
    ...     return a + b
    >>> add(1.0, 2.0)
    3.0
    """
    settings = {
        "cache": CACHE if cache is None else cache,
        "nogil": True,
        "fastmath": set(FASTMATH),
        "parallel": parallel,
        **options,
    }

    def decorate(f: F) -> F:
        opts = settings
        if opts["cache"] and not os.path.isfile(f.__code__.co_filename):
            # defined in a notebook cell or exec'd text: numba has no file to key
            # its cache on, so compile without caching rather than fail
            opts = {**settings, "cache": False}
        return numba.njit(**opts)(f)  # type: ignore[return-value]

    if fn is None:
        return decorate
    return decorate(fn)


_WARMUPS: list[Callable[[], None]] = []
_WARMUP_LOCK = threading.Lock()
_WARMED = False


def register_warmup(fn: Callable[[], None]) -> Callable[[], None]:
    """Register a function that compiles kernels on tiny inputs.

    Kernel modules call this at import time; :func:`warmup` runs every
    registered function once.

    Parameters
    ----------
    fn : callable
        A no-argument function that calls one or more kernels on small arrays.

    Returns
    -------
    callable
        ``fn`` unchanged, so this can be used as a decorator.
    """
    _WARMUPS.append(fn)
    return fn


def _import_kernel_modules() -> None:
    import moveo.kernels as kernels_pkg

    for info in pkgutil.iter_modules(kernels_pkg.__path__):
        importlib.import_module(f"{kernels_pkg.__name__}.{info.name}")


def warmup(*, force: bool = False, progress: bool | None = None) -> int:
    """Compile every moveo kernel on tiny inputs.

    Call this before starting a realtime loop or a benchmark so that JIT
    compilation never lands inside a timed region. With the on-disk cache on,
    a second process loads the compiled code instead of compiling again (a
    first run on a cold cache took about 2 minutes on a 2-core machine; later
    runs take seconds).

    Parameters
    ----------
    force : bool, default False
        Run the warm-up functions again even if they already ran in this process.
    progress : bool or None, default None
        Show a progress bar, one step per kernel module; ``None`` shows it only on
        an interactive terminal (see :func:`moveo.pipeline.reporting.progress_enabled`).

    Returns
    -------
    int
        The number of warm-up functions that ran.
    """
    global _WARMED
    with _WARMUP_LOCK:
        if _WARMED and not force:
            return 0
        _import_kernel_modules()
        fns = list(_WARMUPS)
        from moveo._terminal import progress_enabled

        if not progress_enabled(progress):
            for fn in fns:
                fn()
        else:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            columns = (
                TextColumn("compiling moveo kernels (cached after the first run)"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("[dim]{task.fields[module]}"),
            )
            with Progress(*columns, console=Console(stderr=True)) as bar:
                task = bar.add_task("warmup", total=len(fns), module="")
                for fn in fns:
                    bar.update(task, module=fn.__module__.removeprefix("moveo."))
                    fn()
                    bar.advance(task)
                bar.update(task, module="done")
        _WARMED = True
        return len(fns)


@contextmanager
def kernel_threads(n: int | None) -> Iterator[None]:
    """Limit numba's parallel threads for kernels called in this thread.

    ``numba.set_num_threads`` is thread-local, so a worker thread that runs one
    dataset entry can restrict its kernels to one core while other workers run
    other entries (no oversubscription: entries × threads ≤ cores).

    Parameters
    ----------
    n : int or None
        Number of threads; ``None`` leaves the setting unchanged.
    """
    if n is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


WARMED_MODULES: dict[str, float] = {}
"""Seconds each :func:`warmup_modules` call took, by module (``"*"``: every module)."""


def warmup_modules(modules: str | Sequence[str] | None = None) -> int:
    """Compile (or load from numba's cache) the kernels of some modules in this process.

    This is what :class:`moveo.distributed.NumbaWarmup` runs on each Dask worker.
    Calling it again is
    cheap: numba keeps compiled code per process.

    Parameters
    ----------
    modules : str or sequence of str, optional
        Modules whose registered warm-ups run (e.g. ``"moveo.kernels.kinematics"``);
        ``None`` runs every registered warm-up (:func:`moveo.warmup`).

    Returns
    -------
    int
        Number of warm-up functions that ran.

    Raises
    ------
    ValueError
        A module registers no warm-up (so it has no moveo kernels to compile).
    """
    t0 = time.perf_counter()
    if modules is None:
        n = warmup(force=True)
        WARMED_MODULES["*"] = time.perf_counter() - t0
        return n
    names = [modules] if isinstance(modules, str) else list(modules)
    for name in names:
        importlib.import_module(name)
    n = 0
    for name in names:
        fns = [fn for fn in list(_WARMUPS) if fn.__module__ == name]
        if not fns:
            raise ValueError(
                f"module {name!r} registers no kernel warm-up; pass moveo kernel modules "
                "such as 'moveo.kernels.kinematics', or None for every kernel"
            )
        for fn in fns:
            fn()
        n += len(fns)
        WARMED_MODULES[name] = time.perf_counter() - t0
    return n
