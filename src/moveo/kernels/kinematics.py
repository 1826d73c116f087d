"""Speed, velocity and angular velocity of tracked individuals.

All functions work on a long table sorted by (individual, frame) and described
by segment offsets (see :func:`moveo.kernels.windows.segment_offsets`): segment
``s`` is one individual, rows ``offsets[s]:offsets[s + 1]`` in frame order.

Differences are *forward differences from the previous row of the same
individual*: row ``i`` is compared with row ``i - 1``; the first row of every
segment is NaN. The elapsed time is

- ``dt = (frame[i] - frame[i - 1]) / fps`` when a frame rate is given
  (``clock`` = frame numbers, ``fps`` = the rate), or
- ``dt = time[i] - time[i - 1]`` otherwise (``clock`` = timestamps, ``fps=None``).

A row whose own or previous value is NaN gives NaN, and so does a row whose
``dt`` is not a positive finite number (e.g. a repeated timestamp): the kernels
never divide by zero into a silent ``inf``.

Angles are radians; angular differences are wrapped into (-π, π] before being
divided by ``dt``.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels._checks import as_float64_1d, check_offsets, positive_int
from moveo.kernels.geometry import wrap, wrap_array

__all__ = ["speed_angvel", "step_speed_angvel", "wrap_angle"]

_CHUNK = 1 << 15  # rows per parallel task of the row-chunked kernel
_SERIAL_BELOW = 8 * _CHUNK
"""Tables with fewer rows run the serial kernel: a parallel launch (waking the
thread team and joining it) costs more than these rows take on one core."""


@jit(inline="always")
def _diff_rows(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    has_angle: bool,
    clock: np.ndarray,
    inv_rate: float,
    lo: int,
    hi: int,
    vx: np.ndarray,
    vy: np.ndarray,
    speed: np.ndarray,
    angvel: np.ndarray,
) -> None:
    # rows lo..hi-1 all have a previous row in the same segment: a branch-free
    # loop body (one version with, one without angles) that LLVM vectorises
    if has_angle:
        for i in range(lo, hi):
            dt = (clock[i] - clock[i - 1]) * inv_rate
            # 1/dt only for a positive finite dt (a repeated timestamp gives NaN)
            inv = 1.0 / dt if dt > 0.0 and dt < np.inf else np.nan
            ux = (x[i] - x[i - 1]) * inv
            uy = (y[i] - y[i - 1]) * inv
            vx[i] = ux
            vy[i] = uy
            speed[i] = math.sqrt(ux * ux + uy * uy)  # hypot(vx, vy)
            angvel[i] = wrap(angle[i] - angle[i - 1]) * inv
    else:
        for i in range(lo, hi):
            dt = (clock[i] - clock[i - 1]) * inv_rate
            inv = 1.0 / dt if dt > 0.0 and dt < np.inf else np.nan
            ux = (x[i] - x[i - 1]) * inv
            uy = (y[i] - y[i - 1]) * inv
            vx[i] = ux
            vy[i] = uy
            speed[i] = math.sqrt(ux * ux + uy * uy)


@jit(inline="always")
def _speed_angvel_rows(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    has_angle: bool,
    clock: np.ndarray,
    inv_rate: float,
    offsets: np.ndarray,
    lo: int,
    hi: int,
    vx: np.ndarray,
    vy: np.ndarray,
    speed: np.ndarray,
    angvel: np.ndarray,
) -> None:
    # Rows lo..hi-1: walk the segments overlapping them; a segment's first row is
    # NaN. Every row depends only on itself and the row before it, so any split
    # into row ranges gives the same values.
    if hi <= lo:
        return
    s = np.searchsorted(offsets, lo, side="right") - 1  # segment holding row lo
    i = lo
    while i < hi:
        while offsets[s + 1] <= i:  # skip empty segments
            s += 1
        end = min(offsets[s + 1], hi)
        if i == offsets[s]:
            vx[i] = np.nan
            vy[i] = np.nan
            speed[i] = np.nan
            if has_angle:
                angvel[i] = np.nan
            i += 1
        _diff_rows(x, y, angle, has_angle, clock, inv_rate, i, end, vx, vy, speed, angvel)
        i = end
    # vx*vx + vy*vy overflows for finite velocities above ~1e154: redo those rows
    # without squaring (a separate pass keeps _diff_rows' loop branch-free)
    for i in range(lo, hi):
        if speed[i] == np.inf:
            speed[i] = math.hypot(vx[i], vy[i])


@jit(parallel=True)
def _speed_angvel(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    has_angle: bool,
    clock: np.ndarray,
    inv_rate: float,
    offsets: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    speed: np.ndarray,
    angvel: np.ndarray,
) -> None:
    # Parallel over fixed row chunks (not over individuals) so that a table of
    # two long individuals still uses every thread.
    n = x.shape[0]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        lo = c * _CHUNK
        hi = min(lo + _CHUNK, n)
        _speed_angvel_rows(
            x, y, angle, has_angle, clock, inv_rate, offsets, lo, hi, vx, vy, speed, angvel
        )


@jit
def _speed_angvel_serial(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    has_angle: bool,
    clock: np.ndarray,
    inv_rate: float,
    offsets: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    speed: np.ndarray,
    angvel: np.ndarray,
) -> None:
    # The same rows in one pass, without the parallel launch: below
    # _SERIAL_BELOW rows starting the thread team costs more than the loop.
    _speed_angvel_rows(
        x, y, angle, has_angle, clock, inv_rate, offsets, 0, x.shape[0], vx, vy, speed, angvel
    )


@jit(parallel=True)
def _step_speed_angvel(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    has_angle: bool,
    frames: np.ndarray,
    clock: np.ndarray,
    inv_rate: float,
    offsets: np.ndarray,
    k: int,
    speed: np.ndarray,
    angvel: np.ndarray,
) -> None:
    # For every row, the row of the same individual exactly k frames earlier
    # (two pointers: frames increase within a segment). Missing -> NaN.
    n_seg = offsets.shape[0] - 1
    for s in prange(n_seg):
        start = offsets[s]
        stop = offsets[s + 1]
        j = start
        for i in range(start, stop):
            target = frames[i] - k
            while j < i and frames[j] < target:
                j += 1
            if j < i and frames[j] == target:
                dt = (clock[i] - clock[j]) * inv_rate
                inv = 1.0 / dt if dt > 0.0 and dt < np.inf else np.nan
                dx = x[i] - x[j]
                dy = y[i] - y[j]
                d2 = dx * dx + dy * dy
                # hypot only when squaring overflowed (finite steps above ~1e154)
                speed[i] = (math.sqrt(d2) if d2 != np.inf else math.hypot(dx, dy)) * inv
                if has_angle:
                    angvel[i] = wrap(angle[i] - angle[j]) * inv
            else:
                speed[i] = np.nan
                if has_angle:
                    angvel[i] = np.nan


def _clock(clock: np.ndarray, n: int, fps: float | None) -> tuple[np.ndarray, float]:
    clock = np.asarray(clock)
    if clock.shape != (n,):
        raise ValueError(f"clock must have shape ({n},), got {clock.shape}")
    if fps is None:
        return as_float64_1d("clock", clock, n), 1.0
    fps = float(fps)
    if not (fps > 0.0 and math.isfinite(fps)):
        raise ValueError(f"fps must be a positive finite number, got {fps}")
    if clock.dtype.kind in "iu":
        return np.ascontiguousarray(clock, dtype=np.int64), 1.0 / fps
    return as_float64_1d("clock", clock, n), 1.0 / fps


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Wrap angles into (-π, π].

    Parameters
    ----------
    a : numpy.ndarray
        Angles in radians, any length; NaN stays NaN.

    Returns
    -------
    numpy.ndarray
        float64 array of the shape of ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> wrap_angle(np.array([3 * np.pi / 2, -np.pi, np.pi]))
    array([-1.57079633,  3.14159265,  3.14159265])
    """
    a = np.asarray(a, dtype=np.float64)
    flat = np.ascontiguousarray(a.ravel())
    out = np.empty_like(flat)
    wrap_array(flat, out)
    return out.reshape(a.shape)


def speed_angvel(
    x: np.ndarray,
    y: np.ndarray,
    clock: np.ndarray,
    offsets: np.ndarray | None = None,
    *,
    angle: np.ndarray | None = None,
    fps: float | None = None,
    out: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Velocity, speed and angular velocity from the previous row of each individual.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 arrays of shape (n,).
    clock : numpy.ndarray
        Frame numbers (int64) when ``fps`` is given, else timestamps in seconds,
        shape (n,).
    offsets : numpy.ndarray, optional
        Segment offsets of shape (n_individuals + 1,); ``None`` = one individual.
    angle : numpy.ndarray, optional
        Headings in radians, shape (n,). Without it there is no ``angvel``.
    fps : float, optional
        Frame rate; ``dt = Δframe / fps``. ``None``: ``dt = Δtime``.
    out : dict of str to numpy.ndarray, optional
        Preallocated float64 outputs of shape (n,) (keys ``vx``, ``vy``,
        ``speed`` and, with ``angle``, ``angvel``) to write into.

    Returns
    -------
    dict of str to numpy.ndarray
        ``vx``, ``vy``, ``speed`` (and ``angvel`` if ``angle`` was given), each
        float64 of shape (n,); NaN on the first row of each individual.

    Raises
    ------
    ValueError
        If ``fps`` is not positive, or shapes/offsets do not match.
    TypeError
        If an input is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> r = speed_angvel(np.array([0.0, 3.0]), np.array([0.0, 4.0]), np.array([0, 1]), fps=10.0)
    >>> r["speed"]
    array([nan, 50.])
    """
    x = as_float64_1d("x", x)
    n = x.shape[0]
    y = as_float64_1d("y", y, n)
    clk, inv_rate = _clock(clock, n, fps)
    offsets = check_offsets(offsets, n)
    has_angle = angle is not None
    ang = as_float64_1d("angle", angle, n) if has_angle else np.empty(0)
    names = ("vx", "vy", "speed", "angvel") if has_angle else ("vx", "vy", "speed")
    if out is None:
        out = {k: np.empty(n) for k in names}
    else:
        for k in names:
            a = out.get(k)
            if a is None or a.shape != (n,) or a.dtype != np.float64 or not a.flags.c_contiguous:
                raise ValueError(f"out[{k!r}] must be a contiguous float64 array of shape ({n},)")
    angvel = out["angvel"] if has_angle else np.empty(0)
    kernel = _speed_angvel_serial if n < _SERIAL_BELOW else _speed_angvel
    kernel(
        x, y, ang, has_angle, clk, inv_rate, offsets, out["vx"], out["vy"], out["speed"], angvel
    )
    return {k: out[k] for k in names}


def step_speed_angvel(
    x: np.ndarray,
    y: np.ndarray,
    frames: np.ndarray,
    step: int,
    offsets: np.ndarray | None = None,
    *,
    clock: np.ndarray | None = None,
    angle: np.ndarray | None = None,
    fps: float | None = None,
) -> dict[str, np.ndarray]:
    """Speed and angular velocity over ``step`` frames.

    Row ``i`` is compared with the row of the same individual at frame
    ``frame[i] - step``; if that frame is missing (a tracking gap) the result is
    NaN rather than a difference over a longer, different span.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positions, float64 arrays of shape (n,).
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), strictly increasing per individual.
    step : int
        Lag in frames (>= 1).
    offsets : numpy.ndarray, optional
        Segment offsets of shape (n_individuals + 1,); ``None`` = one individual.
    clock : numpy.ndarray, optional
        Timestamps (seconds) used for ``dt`` when ``fps`` is None.
    angle : numpy.ndarray, optional
        Headings in radians; adds ``angvel_step``.
    fps : float, optional
        Frame rate; ``dt = step / fps``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``speed_step`` (and ``angvel_step``), float64 of shape (n,).
        ``angvel_step`` wraps the total heading change into (-π, π], so turns of
        more than half a revolution within ``step`` frames are not resolved.

    Raises
    ------
    ValueError
        If ``step < 1``, ``fps`` is not positive, or neither ``fps`` nor ``clock``
        is given.
    """
    step = positive_int("step", step)
    x = as_float64_1d("x", x)
    n = x.shape[0]
    y = as_float64_1d("y", y, n)
    frames = np.asarray(frames)
    if frames.dtype.kind not in "iu" or frames.shape != (n,):
        raise TypeError(
            f"frames must be an integer array of shape ({n},), got {frames.dtype} {frames.shape}"
        )
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    if fps is None:
        if clock is None:
            raise ValueError("give fps (dt = step / fps) or clock (timestamps in seconds)")
        clk, inv_rate = _clock(clock, n, None)
    else:
        clk, inv_rate = _clock(frames, n, fps)
    offsets = check_offsets(offsets, n)
    has_angle = angle is not None
    ang = as_float64_1d("angle", angle, n) if has_angle else np.empty(0)
    speed = np.empty(n)
    angvel = np.empty(n) if has_angle else np.empty(0)
    _step_speed_angvel(
        x, y, ang, has_angle, frames, clk, inv_rate, offsets, int(step), speed, angvel
    )
    result = {"speed_step": speed}
    if has_angle:
        result["angvel_step"] = angvel
    return result


@register_warmup
def _warmup() -> None:
    x = np.array([0.0, 1.0, np.nan])
    frames = np.array([0, 1, 2], dtype=np.int64)
    offs = np.array([0, 2, 3], dtype=np.int64)
    speed_angvel(x, x, frames, offs, angle=x, fps=30.0)
    speed_angvel(x, x, x, offs)
    speed_angvel(x, x, frames, offs, fps=30.0)
    for clock in (frames, x):  # the parallel kernel (large tables), both clock dtypes
        outs = [np.empty(3) for _ in range(4)]
        _speed_angvel(x, x, x, True, clock, 1.0, offs, *outs)
    step_speed_angvel(x, x, frames, 1, offs, angle=x, fps=30.0)
    step_speed_angvel(x, x, frames, 1, offs, clock=x)
    step_speed_angvel(x, x, frames, 1, offs, fps=30.0)
    wrap_angle(x)
