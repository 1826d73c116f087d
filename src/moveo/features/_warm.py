"""Which kernels a feature needs, so a warm-up can compile those and nothing else.

A feature's kernels are the names its module imports from :mod:`moveo.kernels`,
directly or through the :mod:`moveo.features` helper modules it imports (read
from the source with :mod:`ast`, nothing is imported or run). A feature that
goes through :mod:`moveo.emg` needs the EMG kernel modules
(``moveo.kernels.emg_*``). The answer errs on the side of too much: a name
imported but never called compiles for nothing, while a kernel left out is
only compiled later, on its first call.

Examples
--------
>>> from moveo.features._warm import kernel_targets
>>> kernel_targets("heading")  # doctest: +NORMALIZE_WHITESPACE
['moveo.kernels.body.heading_pca', 'moveo.kernels.body.heading_two_point',
 'moveo.kernels.windows.first_order_violation', 'moveo.kernels.windows.segment_offsets']
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
from collections.abc import Iterable

__all__ = ["kernel_targets", "module_kernel_targets", "split_features", "warmup_features"]

_KERNELS = "moveo.kernels"
_FOLLOW = ("moveo.features",)  # helper modules whose kernel imports count as the feature's
# the kernel modules behind moveo.emg (kernels/emg.py itself holds only ids and constants)
_EMG_KERNELS = tuple(
    f"{_KERNELS}.emg_{m}"
    for m in ("onepass", "window", "sliding", "vmath", "spectral", "entropy", "wavelet")
)


def _resolve(module: str, level: int, package: str) -> str:
    if not level:
        return module
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{module}" if module else base


@functools.cache
def module_kernel_targets(module: str) -> tuple[str, ...]:
    """Return the kernels (``"moveo.kernels.<module>.<name>"``) a module uses.

    Kernel imports of the :mod:`moveo.features` modules it imports count too
    (transitively); package ``__init__`` modules are not followed.

    Parameters
    ----------
    module : str
        A dotted module name, e.g. ``"moveo.features.speed_angvel"``.

    Returns
    -------
    tuple of str
        Sorted kernel targets; a whole module (``"moveo.kernels.emg_window"``) where it
        is imported as a module.
    """
    found: set[str] = set()
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        is_package = spec.submodule_search_locations is not None
        package = name if is_package else name.rpartition(".")[0]
        with open(spec.origin, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=spec.origin)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.module or "", node.level, package)
                imported = [(base, a.name) for a in node.names]
            else:
                continue
            for base, attr in imported:
                _collect(base, attr, found, todo, seen)
    return tuple(sorted(found))


def _collect(base: str, attr: str | None, found: set[str], todo: list[str], seen: set[str]) -> None:
    if base == "moveo.emg" or base.startswith("moveo.emg."):
        found.update(_EMG_KERNELS)
        return
    if base == _KERNELS:  # from moveo.kernels import emg
        if attr is not None:
            found.add(f"{_KERNELS}.{attr}")
        return
    if base.startswith(_KERNELS + "."):
        found.add(base if attr is None else f"{base}.{attr}")
        return
    if base.startswith(_FOLLOW):
        candidate = f"{base}.{attr}" if attr else base
        # a submodule imported by name (from moveo.features.pairs import _base)
        target = candidate if attr and _is_module(candidate) else base
        spec = importlib.util.find_spec(target)
        if spec is not None and spec.submodule_search_locations is None and target not in seen:
            todo.append(target)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def kernel_targets(features: str | type | Iterable[str | type]) -> list[str]:
    """Return the kernels that features use, as :func:`moveo.warmup` targets.

    Parameters
    ----------
    features : str, feature class, or iterable of them
        Feature names (``"speed-angvel"``, see :func:`moveo.features.feature_names`)
        or classes.

    Returns
    -------
    list of str
        Sorted kernel targets (``"moveo.kernels.kinematics.speed_angvel"``, or a
        whole module).

    Raises
    ------
    KeyError
        An unknown feature name.
    """
    from moveo.features import get_feature

    items = [features] if isinstance(features, str | type) else list(features)
    out: set[str] = set()
    for item in items:
        cls = get_feature(item) if isinstance(item, str) else item
        for klass in inspect.getmro(cls):
            if klass.__module__.startswith("moveo."):
                out.update(module_kernel_targets(klass.__module__))
    return sorted(out)


def split_features(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split names into kernel targets of moveo features and EMG codes/groups.

    Parameters
    ----------
    names : iterable of str
        Feature names (``"speed-angvel"``) and/or EMG codes or group names
        (``"MAV"``, ``"HTD"``, see :data:`moveo.emg.FEATURES` / :data:`moveo.emg.GROUPS`).

    Returns
    -------
    kernels : list of str
        :func:`moveo.warmup` targets of the features.
    emg : list of str
        The EMG codes and groups, for :func:`moveo.emg.warmup`.

    Raises
    ------
    KeyError
        A name that is neither a feature nor an EMG code or group.
    """
    from moveo.emg import FEATURES, GROUPS
    from moveo.features import feature_names

    known = set(feature_names())
    kernels: set[str] = set()
    emg: list[str] = []
    for name in names:
        if name in FEATURES or name in GROUPS:
            emg.append(name)
        elif name in known:
            kernels.update(kernel_targets(name))
        else:
            raise KeyError(
                f"{name!r} is neither a moveo feature ({', '.join(sorted(known))}) nor an "
                f"EMG code or group ({', '.join([*GROUPS, *FEATURES])})"
            )
    return sorted(kernels), emg


def warmup_features(
    names: str | Iterable[str], *, progress: bool | None = None, jobs: int = 1
) -> int:
    """Compile the kernels that some features use, and no others.

    Parameters
    ----------
    names : str or iterable of str
        Feature names and/or EMG codes or groups (see :func:`split_features`).
    progress : bool or None, default None
        Progress bar for the feature kernels (see :func:`moveo.warmup`).
    jobs : int, default 1
        Worker processes for cold modules (see :func:`moveo.warmup`).

    Returns
    -------
    int
        Warm-up functions run (the EMG selection counts as one).

    Examples
    --------
    >>> import moveo
    >>> moveo.warmup_features(["heading", "HTD"]) >= 1
    True
    """
    from moveo import _numba

    kernels, emg = split_features([names] if isinstance(names, str) else names)
    n = _numba.warmup(kernels, progress=progress, jobs=jobs) if kernels else 0
    if emg:
        from moveo.emg._warm import warmup

        warmup(emg)
        n += 1
    return n
