"""Kernels behind the rig GUI's live signal view: min/max per pixel column, rasterised.

A signal view of 256 channels at 2 kHz shows 10 000 samples per channel over five
seconds but has only about a thousand pixel columns. Drawing every sample (or even
one line vertex per column and channel) costs per vertex; these kernels cost per
new sample and per lit pixel instead:

:func:`minmax_buckets`
    Fold new samples into per-column minima and maxima. Column ``j`` holds the
    samples numbered ``[(col0 + j) * spb, (col0 + j + 1) * spb)``; NaN samples are
    ignored and a column no sample reached stays NaN.
:func:`envelope_raster`
    Paint each channel's min/max envelope into an RGBA image, one horizontal band
    per channel (channel 0 at the top). Each column is a vertical run from its
    minimum to its maximum, stretched to reach the previous column's range so the
    trace stays connected (what a polyline through the samples would show).

Both run without the GIL (``moveo._numba.jit``), so the GUI thread does not hold
up the acquisition or predict threads while it draws.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = ["envelope_raster", "minmax_buckets"]


@jit
def minmax_buckets(
    data: np.ndarray, first: int, spb: int, col0: int, lo: np.ndarray, hi: np.ndarray
) -> None:
    """Fold samples into per-column minima and maxima (in place).

    Parameters
    ----------
    data : ndarray of shape (n, n_channels)
        New samples; row ``i`` is sample number ``first + i``.
    first : int
        Sample number of ``data[0]``.
    spb : int
        Samples per column (>= 1).
    col0 : int
        Bucket number (``sample // spb``) shown in column 0; samples outside the
        columns are skipped.
    lo, hi : ndarray of shape (n_channels, n_columns)
        Running minima / maxima; NaN marks a column without samples yet.
    """
    n, n_ch = data.shape
    n_cols = lo.shape[1]
    for i in range(n):
        col = (first + i) // spb - col0
        if col < 0 or col >= n_cols:
            continue
        for c in range(n_ch):
            v = data[i, c]
            if v != v:
                continue
            cur = lo[c, col]
            if cur != cur or v < cur:
                lo[c, col] = v
            cur = hi[c, col]
            if cur != cur or v > cur:
                hi[c, col] = v


@jit
def envelope_raster(
    lo: np.ndarray, hi: np.ndarray, gain: float, colors: np.ndarray, out: np.ndarray
) -> None:
    """Paint min/max envelopes into an RGBA image, one band per channel.

    Parameters
    ----------
    lo, hi : ndarray of shape (n_channels, n_columns)
        Per-column minima and maxima (NaN: nothing to draw in that column).
    gain : float
        A value of ``1 / gain`` reaches the edge of its channel's band.
    colors : ndarray of shape (n_channels, 4), uint8
        RGBA colour of each channel.
    out : ndarray of shape (height, n_columns, 4), uint8
        Overwritten: transparent background, envelope pixels in the channel's
        colour. Band ``c`` covers rows ``floor(c * h)`` to ``floor((c + 1) * h) - 1``
        (at least one row) with ``h = height / n_channels``; value ``v`` sits at row
        ``(c + 0.5) * h - v * gain * h / 2``, clamped to the band.
    """
    height, n_cols = out.shape[0], out.shape[1]
    n_ch = lo.shape[0]
    for r in range(height):
        for j in range(n_cols):
            for k in range(4):
                out[r, j, k] = 0
    if n_ch == 0 or height == 0:
        return
    band = height / n_ch
    for c in range(n_ch):
        r0 = min(int(math.floor(c * band)), height - 1)
        r1 = max(r0, min(int(math.floor((c + 1) * band)) - 1, height - 1))
        centre = (c + 0.5) * band
        scale = gain * band * 0.5
        prev_lo = math.nan
        prev_hi = math.nan
        for j in range(n_cols):
            a = lo[c, j]
            b = hi[c, j]
            if a != a or b != b:
                prev_lo = math.nan
                prev_hi = math.nan
                continue
            low = a
            high = b
            if prev_lo == prev_lo:  # reach the previous column's range: a connected trace
                low = min(a, prev_hi)
                high = max(b, prev_lo)
            prev_lo = a
            prev_hi = b
            top = math.floor(centre - high * scale)
            bottom = math.floor(centre - low * scale)
            top_row = r0 if top < r0 else (r1 if top > r1 else int(top))
            bottom_row = r0 if bottom < r0 else (r1 if bottom > r1 else int(bottom))
            for r in range(top_row, bottom_row + 1):
                for k in range(4):
                    out[r, j, k] = colors[c, k]


@register_warmup
def _warmup() -> None:
    lo = np.full((2, 4), np.nan, np.float32)
    hi = np.full((2, 4), np.nan, np.float32)
    minmax_buckets(np.zeros((5, 2), np.float32), 0, 2, 0, lo, hi)
    colors = np.full((2, 4), 255, np.uint8)
    envelope_raster(lo, hi, 1.0, colors, np.zeros((6, 4, 4), np.uint8))
