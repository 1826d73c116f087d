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
import importlib.util
import os
import pkgutil
import sys
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
    "kernel_modules",
    "kernel_threads",
    "prange",
    "register_warmup",
    "warmup",
    "warmup_covers",
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
_WARMUP_LOCK = threading.RLock()
_RAN: set[Callable[[], None]] = set()  # warm-ups that already ran in this process


def register_warmup(
    fn: Callable[[], None] | None = None, *, covers: Sequence[str] | None = None
) -> Any:
    """Register a function that compiles kernels on tiny inputs.

    Kernel modules call this at import time; :func:`warmup` runs the registered
    functions (all of them, or those of the modules and kernels it is asked for).

    Parameters
    ----------
    fn : callable, optional
        A no-argument function that calls one or more kernels on small arrays.
        When omitted, returns a decorator (``@register_warmup(covers=...)``).
    covers : sequence of str, optional
        Names of the kernels of its module that ``fn`` compiles (e.g.
        ``("ffgroups",)``). A warm-up without ``covers`` compiles every kernel of
        its module. ``warmup(["moveo.kernels.groups.ffgroups"])`` then runs only
        the warm-ups that cover ``ffgroups``.

    Returns
    -------
    callable
        ``fn`` unchanged (or a decorator returning it), so this can be used as a
        decorator.
    """

    def add(f: Callable[[], None]) -> Callable[[], None]:
        f.__moveo_covers__ = tuple(covers) if covers is not None else None  # type: ignore[attr-defined]
        _WARMUPS.append(f)
        return f

    return add if fn is None else add(fn)


def warmup_covers(fn: Callable[[], None]) -> tuple[str, ...] | None:
    """Return the kernel names a registered warm-up covers (``None``: its whole module).

    Parameters
    ----------
    fn : callable
        A function registered with :func:`register_warmup`.

    Returns
    -------
    tuple of str or None
    """
    return getattr(fn, "__moveo_covers__", None)


def kernel_modules() -> list[str]:
    """Return the names of moveo's kernel modules (those :func:`warmup` can compile).

    Returns
    -------
    list of str
        ``"moveo.kernels.<name>"`` for every public module of :mod:`moveo.kernels`.
    """
    import moveo.kernels as kernels_pkg

    return [
        f"{kernels_pkg.__name__}.{info.name}"
        for info in pkgutil.iter_modules(kernels_pkg.__path__)
        if not info.name.startswith("_")
    ]


def _import_kernel_modules() -> None:
    for name in kernel_modules():
        importlib.import_module(name)


def _is_module(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent is not a package, or an empty name
        return False


def _selected(targets: Sequence[str] | None) -> list[Callable[[], None]]:
    """Return the registered warm-ups that ``targets`` (modules and/or kernels) ask for."""
    if targets is None:
        _import_kernel_modules()
        return list(_WARMUPS)
    modules: set[str] = set()
    kernels: dict[str, set[str]] = {}
    for name in targets:
        if _is_module(name):
            modules.add(name)
            continue
        module, _, kernel = name.rpartition(".")
        if not module or not _is_module(module):
            raise ValueError(
                f"{name!r} is neither a module nor a kernel of one; pass kernel modules such "
                "as 'moveo.kernels.kinematics' or kernels such as "
                "'moveo.kernels.groups.ffgroups'"
            )
        kernels.setdefault(module, set()).add(kernel)
    for name in sorted(modules | set(kernels)):
        importlib.import_module(name)
    out = []
    for fn in list(_WARMUPS):
        covers = warmup_covers(fn)
        wanted = kernels.get(fn.__module__)
        if fn.__module__ in modules or (
            wanted is not None and (covers is None or wanted & set(covers))
        ):
            out.append(fn)
    for name in sorted(modules | set(kernels)):
        if not any(fn.__module__ == name for fn in _WARMUPS):
            raise ValueError(
                f"module {name!r} registers no kernel warm-up; pass moveo kernel modules "
                "such as 'moveo.kernels.kinematics', or None for every kernel"
            )
    return out


def warmup(
    targets: str | Sequence[str] | None = None,
    *,
    force: bool = False,
    progress: bool | None = None,
    jobs: int = 1,
) -> int:
    """Compile moveo's kernels on tiny inputs (every kernel, or those asked for).

    Call this before starting a realtime loop or a benchmark so that JIT
    compilation never lands inside a timed region. With the on-disk cache on,
    a second process loads the compiled code instead of compiling again. Every
    kernel compiles lazily on its first call anyway, so warming up is never
    needed for correct values, only to move the compile time to a moment of
    your choosing (see "First run" in ``docs/performance.md`` for the seconds
    each kernel module costs).

    Parameters
    ----------
    targets : str or sequence of str, optional
        Kernel modules (``"moveo.kernels.ring"``) and/or kernels
        (``"moveo.kernels.groups.ffgroups"``) to compile; ``None`` compiles every
        kernel of :mod:`moveo.kernels`. :func:`moveo.emg.warmup` and
        :func:`moveo.pipeline.warmup_features` name them for you from EMG codes
        and feature names.
    force : bool, default False
        Run the warm-up functions again even if they already ran in this process.
    progress : bool or None, default None
        Show a progress bar, one step per warm-up function; ``None`` shows it only
        on an interactive terminal (see :func:`moveo._terminal.progress_enabled`).
    jobs : int, default 1
        Compile in this many worker processes first (numba's on-disk cache is
        shared between processes), then load the results here. Only modules
        whose cache is cold are sent to workers, and only with the cache on; on
        one core or a warm cache this is the same as ``jobs=1``.

    Returns
    -------
    int
        The number of warm-up functions that ran.

    Raises
    ------
    ValueError
        A target names no module with kernel warm-ups, or no kernel of one.
    """
    names = [targets] if isinstance(targets, str) else None if targets is None else list(targets)
    with _WARMUP_LOCK:
        fns = [fn for fn in _selected(names) if force or fn not in _RAN]
        if not fns:
            return 0
        from moveo._terminal import progress_enabled

        show = progress_enabled(progress)
        if jobs > 1:
            _compile_in_workers(fns, jobs, show)
        if not show:
            for fn in fns:
                fn()
                _RAN.add(fn)
            return len(fns)
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
                _RAN.add(fn)
                bar.advance(task)
            bar.update(task, module="done")
        return len(fns)


def _cache_is_cold(module: str) -> bool:
    """Tell whether numba's cache holds no compiled kernel of ``module`` (by file name)."""
    mod = sys.modules.get(module)
    if mod is None:
        return False
    for value in vars(mod).values():
        cache = getattr(value, "_cache", None)
        path = getattr(cache, "_cache_path", None)
        if path is None or getattr(value, "py_func", None) is None:
            continue
        if value.py_func.__module__ != module:
            continue
        stem = os.path.splitext(os.path.basename(mod.__file__ or ""))[0]
        try:
            return not any(
                f.startswith(stem + ".") and f.endswith(".nbi") for f in os.listdir(path)
            )
        except OSError:
            return True
    return False


def _warm_in_worker(module: str, names: Sequence[str]) -> float:
    t0 = time.perf_counter()
    for fn in _selected([module]):
        if fn.__qualname__ in names:
            fn()
    return time.perf_counter() - t0


def _compile_in_workers(fns: list[Callable[[], None]], jobs: int, show: bool = False) -> None:
    """Fill numba's on-disk cache for the cold modules of ``fns`` in ``jobs`` processes."""
    if not CACHE or numba.config.DISABLE_JIT:
        return
    modules = sorted({fn.__module__ for fn in fns})
    cold = [m for m in modules if _cache_is_cold(m)]
    jobs = min(int(jobs), len(cold), os.cpu_count() or 1)
    if jobs < 2:
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # the biggest modules first, so the last one to finish is a small one
    cold.sort(key=lambda m: -os.path.getsize(sys.modules[m].__file__ or ""))
    if show:
        print(f"compiling {len(cold)} kernel modules in {jobs} worker processes "
              "(cold cache) ...", file=sys.stderr, flush=True)  # fmt: skip
    context = multiprocessing.get_context("spawn")
    # each worker runs the selected warm-ups of a module (by name), not the whole module
    names = [[fn.__qualname__ for fn in fns if fn.__module__ == m] for m in cold]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for module, seconds in zip(cold, pool.map(_warm_in_worker, cold, names), strict=True):
            WARMED_MODULES[module] = seconds


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
    fns = _selected(names)
    n = 0
    for name in names:
        for fn in fns:
            if fn.__module__ == name:
                fn()
                _RAN.add(fn)
                n += 1
        WARMED_MODULES[name] = time.perf_counter() - t0
    return n
