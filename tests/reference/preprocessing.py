"""Slow, obvious references for the preprocessing kernels (moveo.kernels.trajectory,
moveo.kernels.temporal). Plain Python loops over one segment at a time, written to be
read, not run fast."""

from __future__ import annotations

import math

import numpy as np

from reference.tracking import segments

# ------------------------------------------------------------------------- trajectory


def flag_jumps(x, y, frames, offsets, threshold, expand=0):
    """Row i is a jump when hypot(dx, dy) / dframes from row i-1 exceeds threshold;
    every row within `expand` frames of a jump (same segment) is flagged."""
    n = len(x)
    jump = [False] * n
    for start, stop in segments(offsets):
        for i in range(start + 1, stop):
            d = math.hypot(x[i] - x[i - 1], y[i] - y[i - 1]) / (frames[i] - frames[i - 1])
            jump[i] = d > threshold
    out = [False] * n
    for start, stop in segments(offsets):
        for i in range(start, stop):
            out[i] = any(
                jump[j] and abs(frames[j] - frames[i]) <= expand for j in range(start, stop)
            )
    return np.array(out, dtype=bool)


def fill_gaps(values, frames, offsets, max_gap=None):
    """Each NaN: linear in frames between the nearest finite values of its segment, the
    nearest finite value at the edges; gaps longer than max_gap frames stay NaN."""
    v = np.asarray(values, dtype=float)
    out = v.copy()
    for start, stop in segments(offsets):
        good = [i for i in range(start, stop) if math.isfinite(v[i])]
        if not good:
            continue
        for i in range(start, stop):
            if math.isfinite(v[i]):
                continue
            before = [j for j in good if j < i]
            after = [j for j in good if j > i]
            if before and after:
                a, b = before[-1], after[0]
                span = frames[b] - frames[a] - 1
                t = (frames[i] - frames[a]) / (frames[b] - frames[a])
                value = v[a] + (v[b] - v[a]) * t
            elif after:
                b = after[0]
                span = frames[b] - frames[start]
                value = v[b]
            else:
                a = before[-1]
                span = frames[stop - 1] - frames[a]
                value = v[a]
            if max_gap is None or span <= max_gap:
                out[i] = value
    return out


def savgol_runs(values, frames, offsets, window, polyorder):
    """scipy's savgol_filter (mode="interp") on each run of consecutive frames with
    finite values at least `window` long; everything else unchanged."""
    from scipy.signal import savgol_filter

    v = np.asarray(values, dtype=float)
    out = v.copy()
    for start, stop in segments(offsets):
        i = start
        while i < stop:
            if not math.isfinite(v[i]):
                i += 1
                continue
            e = i + 1
            while e < stop and frames[e] == frames[e - 1] + 1 and math.isfinite(v[e]):
                e += 1
            if e - i >= window:
                out[i:e] = savgol_filter(v[i:e], window, polyorder, mode="interp")
            i = e
    return out


# ------------------------------------------------------------------------- temporal


def gaussian_weights(sigma, radius):
    """exp(-k^2 / (2 sigma^2)) for k = -radius..radius, normalised to sum 1."""
    w = [math.exp(-0.5 * (k / sigma) ** 2) for k in range(-radius, radius + 1)]
    total = sum(w)
    return [x / total for x in w]


def _dense(values, frames, start, stop):
    """One segment on its frame grid: missing frames are NaN."""
    f0 = frames[start]
    grid = [math.nan] * int(frames[stop - 1] - f0 + 1)
    for i in range(start, stop):
        grid[int(frames[i] - f0)] = values[i]
    return grid, f0


def _at(grid, k):
    """grid[k] with the nearest end for k outside (mosaic's "nearest" padding)."""
    return grid[min(max(k, 0), len(grid) - 1)]


def gaussian_smooth(values, frames, offsets, sigma):
    """Per segment on its frame grid, nearest padding, radius int(4 sigma + 0.5) (scipy's
    gaussian_filter1d); any NaN in reach gives NaN. sigma <= 0: unchanged."""
    v = np.asarray(values, dtype=float)
    if sigma <= 0:
        return v.copy()
    radius = int(4.0 * sigma + 0.5)
    w = gaussian_weights(sigma, radius)
    out = np.full(len(v), np.nan)
    for start, stop in segments(offsets):
        grid, f0 = _dense(v, frames, start, stop)
        for i in range(start, stop):
            k = int(frames[i] - f0)
            out[i] = sum(w[j + radius] * _at(grid, k + j) for j in range(-radius, radius + 1))
    return out


def lag(values, frames, offsets, offset):
    """The value `offset` frames later in the same segment (earlier when negative),
    clamped to the segment's first / last frame; NaN at a missing frame."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(v), np.nan)
    for start, stop in segments(offsets):
        grid, f0 = _dense(v, frames, start, stop)
        for i in range(start, stop):
            out[i] = _at(grid, int(frames[i] - f0) + offset)
    return out


def pooled(values, frames, offsets, sigma, radius):
    """Gaussian-weighted mean, variance (sum w (x - mean)^2) and std over
    k = -radius..radius frames, nearest padding, NaN when any value in reach is NaN."""
    v = np.asarray(values, dtype=float)
    w = gaussian_weights(sigma, radius)
    mean = np.full(len(v), np.nan)
    var = np.full(len(v), np.nan)
    for start, stop in segments(offsets):
        grid, f0 = _dense(v, frames, start, stop)
        for i in range(start, stop):
            k = int(frames[i] - f0)
            xs = [_at(grid, k + j) for j in range(-radius, radius + 1)]
            m = sum(wj * x for wj, x in zip(w, xs, strict=True))
            mean[i] = m
            var[i] = sum(wj * (x - m) ** 2 for wj, x in zip(w, xs, strict=True))
    return mean, var, np.sqrt(var)
