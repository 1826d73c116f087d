"""Compile only the EMG kernels a feature selection uses (the lazy EMG warm-up).

:func:`moveo.warmup` compiles every kernel of the ``moveo.kernels.emg_*`` modules (the
one-pass running sums *and* the whole-window kernel behind the spectral,
entropy, wavelet and AR codes) for float32 and float64. A rig that computes HTD
needs a small part of that. :func:`warmup` here builds the
:class:`~moveo.emg.FeaturePlan` of the selection on a tiny window and runs it
through the calls moveo makes at run time -- the same entry points, dtypes and
memory layouts -- so numba compiles exactly the specialisations those calls
need and nothing else. Values are never involved: the windows are zeros and
the results are dropped.

Examples
--------
>>> from moveo.emg import warmup
>>> warmup("HTD", layouts=["owned"])  # the one-pass kernel, for realtime windows only
4
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from moveo.emg._catalogue import resolve
from moveo.emg.extraction import FeaturePlan, windows

__all__ = ["LAYOUTS", "LIVE_DTYPE", "live_window", "warmup", "warmup_plan"]

LIVE_DTYPE = np.float32
"""dtype of live windows: :class:`~moveo.realtime.RingBuffer` stores float32."""

_FS = 2000.0
_SIZE = 64  # long enough for every code's default parameters (AR order, DWT levels, ...)
_N_CHANNELS = 2  # the phasor pair codes need two channels


def live_window(n_channels: int, size: int, dtype: type = LIVE_DTYPE) -> np.ndarray:
    """Return a window laid out as the realtime predict loop hands it to ``extract``.

    Parameters
    ----------
    n_channels, size : int
        Window shape.
    dtype : numpy dtype, default float32

    Returns
    -------
    ndarray of shape (n_channels, size)
        Channels-first, C-ordered, writeable, owned (what
        ``RingBuffer.latest(n, channels_first=True).data`` returns).
    """
    return np.zeros((n_channels, size), dtype=dtype)


LAYOUTS = ("owned", "buffer", "windows")
"""Window layouts :func:`warmup` can compile for (see :func:`warmup_plan`)."""


def warmup_plan(
    plan: FeaturePlan,
    layouts: Sequence[str] = ("owned",),
    *,
    dtypes: Sequence[type] = (LIVE_DTYPE,),
) -> None:
    """Compile the kernels ``plan`` calls, by running it on zero windows.

    Each layout is a distinct compiled specialisation of the same kernels (numba
    compiles per argument type: dtype, dimensions, memory layout), so compile the
    ones your code hands over and no others.

    Parameters
    ----------
    plan : FeaturePlan
        The plan to compile for (its codes, channel count and window size).
    layouts : sequence of str, default ("owned",)
        ``"owned"``: C-ordered channels-first windows and stacks of them, what
        the realtime predict loop (:func:`live_window`) and
        :class:`~moveo.realtime.TrainingData` hand to ``extract``.
        ``"buffer"``: ``buffer[-size:].T`` of a C-ordered ``(n_samples,
        n_channels)`` buffer (the single-call path of :meth:`FeaturePlan.window`).
        ``"windows"``: :func:`moveo.emg.windows` views of a C-ordered recording,
        what offline :func:`moveo.emg.extract` code passes.
    dtypes : sequence of numpy dtypes, default (float32,)
        Sample dtypes to compile for (float32: live and recorded EMG; add
        float64 for offline float64 data).

    Raises
    ------
    ValueError
        An unknown layout.
    """
    unknown = sorted(set(layouts) - set(LAYOUTS))
    if unknown:
        raise ValueError(f"unknown window layouts {unknown}; choose from {list(LAYOUTS)}")
    n_ch, size = plan.n_channels, plan.size
    out = np.empty(plan.n_columns)
    for dtype in dtypes:
        if "owned" in layouts:
            plan.window(live_window(n_ch, size, dtype), out)
            plan.transform(np.zeros((2, n_ch, size), dtype=dtype))
        if "buffer" in layouts:
            plan.window(np.zeros((2 * size, n_ch), dtype=dtype)[-size:].T, out)
        if "windows" in layouts:
            plan.transform(windows(np.zeros((size + 1, n_ch), dtype=dtype), size, 1))


def warmup(
    features: str | Sequence[str] = "HTD",
    layouts: Sequence[str] = ("owned", "windows"),
    *,
    dtypes: Sequence[type] = (LIVE_DTYPE,),
) -> int:
    """Compile the EMG kernels that ``features`` use, and no others.

    Numba specialises a kernel per argument type, not per shape, so one tiny
    plan compiles what plans of any channel count and window length run.

    Parameters
    ----------
    features : str or sequence of str, default "HTD"
        Codes or group names of :data:`moveo.emg.FEATURES` / :data:`moveo.emg.GROUPS`.
    layouts : sequence of str, default ("owned", "windows")
        Window layouts to compile for (see :func:`warmup_plan`): by default the
        realtime/training windows and the offline :func:`moveo.emg.windows` views.
    dtypes : sequence of numpy dtypes, default (float32,)
        Sample dtypes to compile for.

    Returns
    -------
    int
        The number of feature codes covered.

    Raises
    ------
    ValueError
        An unknown code, group name or layout.
    """
    codes = list(resolve(features, None, fs=_FS, size=_SIZE))
    plan = FeaturePlan(codes, fs=_FS, n_channels=_N_CHANNELS, size=_SIZE)
    warmup_plan(plan, layouts, dtypes=dtypes)
    return len(codes)
