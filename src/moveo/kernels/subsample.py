"""Row selection for ``track-subsample``: body-canonical pose, nearest rows, clips.

- :func:`canonical_pose`: keypoints relative to the body centre and rotated by
  ``-ANGLE`` (the body frame), interleaved ``x0, y0, x1, y1, ...``.
- :func:`nearest_rows`: for every centroid, the row closest to it (squared
  Euclidean distance summed left to right in float64, ties to the lowest row):
  the representative frame of a k-means cluster. ``prange`` over centroids;
  ``n_rows * n_centroids * n_columns`` operations, the real compute of the
  k-means method besides the k-means fit itself.
- :func:`clip_rows`: the rows of ``clip_len`` consecutive frames of one
  individual starting at each seed, shifted back to end at the individual's
  last frame when the seed is too close to it.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, prange, register_warmup
from moveo.kernels.trig import cos_sin

__all__ = ["canonical_pose", "clip_rows", "nearest_rows"]


@jit(parallel=True)
def _nearest_rows(x, centroids, out):
    n, d = x.shape
    k = centroids.shape[0]
    for c in prange(k):
        best = np.inf
        arg = -1
        for i in range(n):
            acc = 0.0
            for j in range(d):
                t = x[i, j] - centroids[c, j]
                acc += t * t
            if acc < best:
                best = acc
                arg = i
        out[c] = arg


@jit
def _clip_rows(frames, offsets, seg_of, seeds, clip_len, keep):
    for q in range(seeds.shape[0]):
        r = seeds[q]
        s = seg_of[r]
        start = offsets[s]
        stop = offsets[s + 1]
        first = frames[r]
        if first + clip_len - 1 > frames[stop - 1]:
            first = frames[stop - 1] - clip_len + 1
        if first < frames[start]:
            first = frames[start]
        last = first + clip_len - 1
        for i in range(start, stop):
            if first <= frames[i] <= last:
                keep[i] = True


def canonical_pose(
    x: np.ndarray, y: np.ndarray, angle: np.ndarray, px: np.ndarray, py: np.ndarray
) -> np.ndarray:
    """Keypoints in the body frame: translated to ``(x, y)``, rotated by ``-angle``.

    Parameters
    ----------
    x, y, angle : numpy.ndarray
        Body centre and heading (radians) of shape (n,).
    px, py : numpy.ndarray
        Keypoints of shape (n, n_keypoints).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n, 2 * n_keypoints): ``x'_0, y'_0, x'_1, ...``
        with ``x' = cos(a) dx + sin(a) dy`` (ahead) and ``y' = -sin(a) dx +
        cos(a) dy`` (left).
    """
    c, s = cos_sin(angle)
    c = c[:, None]
    s = s[:, None]
    dx = px - x[:, None]
    dy = py - y[:, None]
    out = np.empty((px.shape[0], 2 * px.shape[1]))
    out[:, 0::2] = c * dx + s * dy
    out[:, 1::2] = -s * dx + c * dy
    return out


def nearest_rows(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Return, for every centroid, the index of the closest row of ``x``.

    Parameters
    ----------
    x : numpy.ndarray
        Finite rows of shape (n, d).
    centroids : numpy.ndarray
        Array of shape (k, d).

    Returns
    -------
    numpy.ndarray
        int64 array of shape (k,); ties go to the lowest row, -1 when ``x`` is empty.

    Examples
    --------
    >>> import numpy as np
    >>> nearest_rows(np.array([[0.0], [5.0], [9.0]]), np.array([[8.0], [1.0]])).tolist()
    [2, 0]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    centroids = np.ascontiguousarray(centroids, dtype=np.float64)
    if x.ndim != 2 or centroids.ndim != 2 or x.shape[1] != centroids.shape[1]:
        raise ValueError(
            f"x and centroids must be 2-D with the same columns, got {x.shape}, {centroids.shape}"
        )
    out = np.empty(centroids.shape[0], dtype=np.int64)
    _nearest_rows(x, centroids, out)
    return out


def clip_rows(
    frames: np.ndarray, offsets: np.ndarray, seeds: np.ndarray, clip_len: int
) -> np.ndarray:
    """Mark the rows of a clip of ``clip_len`` frames starting at each seed row.

    Parameters
    ----------
    frames : numpy.ndarray
        int64 frame numbers of shape (n,), increasing per segment.
    offsets : numpy.ndarray
        Segment offsets of shape (n_segments + 1,).
    seeds : numpy.ndarray
        Row indices where clips start.
    clip_len : int
        Frames per clip (>= 1).

    Returns
    -------
    numpy.ndarray
        bool array of shape (n,): rows of the seed's individual whose frame lies in
        ``[f, f + clip_len)``, ``f`` the seed's frame moved back (not before the
        individual's first frame) so the clip ends by its last frame. Overlapping
        clips share rows.
    """
    frames = np.ascontiguousarray(frames, dtype=np.int64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    n = frames.shape[0]
    if clip_len < 1:
        raise ValueError(f"clip_len must be >= 1, got {clip_len}")
    if seeds.size and (seeds.min() < 0 or seeds.max() >= n):
        raise ValueError("seeds must be row indices")
    seg_of = np.repeat(np.arange(offsets.shape[0] - 1), np.diff(offsets))
    keep = np.zeros(n, dtype=np.bool_)
    _clip_rows(frames, offsets, seg_of, seeds, int(clip_len), keep)
    return keep


@register_warmup
def _warmup() -> None:
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    nearest_rows(x, x[:1])
    clip_rows(np.array([0, 1, 2]), np.array([0, 3]), np.array([1]), 2)
