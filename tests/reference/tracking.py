"""Slow, obvious references for the tracking kernels (moveo.kernels.windows,
kinematics, neighbors, body). Plain Python loops, written to be read, not run fast."""

from __future__ import annotations

import itertools
import math

import numpy as np


def wrap(d: float) -> float:
    """Wrap one angle into (-pi, pi] by adding/subtracting full turns."""
    if not math.isfinite(d):
        return math.nan
    while d > math.pi:
        d -= 2 * math.pi
    while d <= -math.pi:
        d += 2 * math.pi
    return d


def segments(offsets):
    """Yield (start, stop) per segment."""
    for s in range(len(offsets) - 1):
        yield int(offsets[s]), int(offsets[s + 1])


def segment_offsets(keys) -> np.ndarray:
    starts = [0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]
    if len(keys) == 0:
        return np.array([0])
    return np.array([*starts, len(keys)])


# ------------------------------------------------------------------------- windows


def rolling(values, offsets, size, stat, *, center=False, min_periods=1, positions=None, ddof=1):
    """Window of row i = rows of its segment with pos in [pos_i - before, pos_i + after]."""
    n = len(values)
    pos = np.arange(n) if positions is None else np.asarray(positions)
    before, after = (size // 2, size - 1 - size // 2) if center else (size - 1, 0)
    out = np.full(n, np.nan)
    for start, stop in segments(offsets):
        for i in range(start, stop):
            window = [
                values[j]
                for j in range(start, stop)
                if pos[i] - before <= pos[j] <= pos[i] + after and math.isfinite(values[j])
            ]
            if stat == "count":
                out[i] = len(window)
                continue
            if len(window) < min_periods or not window:
                continue
            w = np.array(window, dtype=np.float64)
            if stat == "mean":
                out[i] = w.mean()
            elif stat == "sum":
                out[i] = w.sum()
            elif stat == "min":
                out[i] = w.min()
            elif stat == "max":
                out[i] = w.max()
            elif stat == "std":
                out[i] = w.std(ddof=ddof) if len(w) - ddof > 0 else np.nan
    return out


def segment_nanmedian(values, offsets):
    out = []
    for start, stop in segments(offsets):
        finite = [v for v in values[start:stop] if math.isfinite(v)]
        out.append(float(np.median(finite)) if finite else math.nan)
    return np.array(out)


# ------------------------------------------------------------------------- kinematics


def speed_angvel(x, y, clock, offsets, angle=None, fps=None):
    n = len(x)
    out = {k: np.full(n, np.nan) for k in ("vx", "vy", "speed", "angvel")}
    for start, stop in segments(offsets):
        for i in range(start + 1, stop):
            dt = (clock[i] - clock[i - 1]) / fps if fps else clock[i] - clock[i - 1]
            if not (dt > 0 and math.isfinite(dt)):
                continue
            vx = (x[i] - x[i - 1]) / dt
            vy = (y[i] - y[i - 1]) / dt
            out["vx"][i] = vx
            out["vy"][i] = vy
            out["speed"][i] = (
                math.hypot(vx, vy) if not (math.isnan(vx) or math.isnan(vy)) else math.nan
            )
            if angle is not None:
                out["angvel"][i] = wrap(angle[i] - angle[i - 1]) / dt
    if angle is None:
        del out["angvel"]
    return out


def step_speed_angvel(x, y, frames, step, offsets, clock=None, angle=None, fps=None):
    n = len(x)
    speed = np.full(n, np.nan)
    angvel = np.full(n, np.nan)
    for start, stop in segments(offsets):
        for i in range(start, stop):
            match = [j for j in range(start, stop) if frames[j] == frames[i] - step]
            if not match:
                continue
            j = match[0]
            dt = step / fps if fps else clock[i] - clock[j]
            if not (dt > 0 and math.isfinite(dt)):
                continue
            dist = math.hypot(x[i] - x[j], y[i] - y[j])
            speed[i] = dist / dt if math.isfinite(dist) else math.nan
            if angle is not None:
                angvel[i] = wrap(angle[i] - angle[j]) / dt
    out = {"speed_step": speed}
    if angle is not None:
        out["angvel_step"] = angvel
    return out


# ------------------------------------------------------------------------- neighbours


def nearest_neighbors(x, y, ids, frames, k=1):
    """For each row: other rows of the same frame with finite positions, sorted by (dist, id)."""
    n = len(x)
    rows = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.nan)
    for i in range(n):
        if not (math.isfinite(x[i]) and math.isfinite(y[i])):
            continue
        cands = []
        for j in range(n):
            if j == i or frames[j] != frames[i]:
                continue
            if not (math.isfinite(x[j]) and math.isfinite(y[j])):
                continue
            d2 = (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2
            cands.append((d2, ids[j], j))
        cands.sort()
        for r, (d2, _, j) in enumerate(cands[:k]):
            rows[i, r] = j
            dist[i, r] = math.sqrt(d2)
    return rows, dist


def egocentric(dx, dy, angle):
    """Rotate (dx, dy) by -angle."""
    c, s = math.cos(angle), math.sin(angle)
    return c * dx + s * dy, -s * dx + c * dy


# ------------------------------------------------------------------------- body


def body_scale(px, py, mode="median-pairwise"):
    n, k = px.shape
    out = np.full(n, np.nan)
    for i in range(n):
        if mode == "chain-length":
            if k >= 2:
                out[i] = sum(
                    math.hypot(px[i, a + 1] - px[i, a], py[i, a + 1] - py[i, a])
                    for a in range(k - 1)
                )
            continue
        pts = [
            (px[i, a], py[i, a])
            for a in range(k)
            if math.isfinite(px[i, a]) and math.isfinite(py[i, a])
        ]
        dists = [math.hypot(p[0] - q[0], p[1] - q[1]) for p, q in itertools.combinations(pts, 2)]
        if dists:
            out[i] = float(np.median(dists))
    return out


def heading_two_point(rx, ry, fx, fy):
    out = np.full(len(rx), np.nan)
    for i in range(len(rx)):
        dx, dy = fx[i] - rx[i], fy[i] - ry[i]
        if math.isfinite(dx) and math.isfinite(dy) and (dx, dy) != (0.0, 0.0):
            out[i] = math.atan2(dy, dx)
    return out


def heading_pca(px, py):
    """Axis angle of the top eigenvector of the keypoint covariance; also the eigen-gap ratio."""
    n, k = px.shape
    out = np.full(n, np.nan)
    gap = np.full(n, np.nan)
    for i in range(n):
        pts = np.array(
            [
                (px[i, a], py[i, a])
                for a in range(k)
                if math.isfinite(px[i, a]) and math.isfinite(py[i, a])
            ]
        )
        if len(pts) < 2:
            continue
        centred = pts - pts.mean(axis=0)
        cov = centred.T @ centred
        vals, vecs = np.linalg.eigh(cov)
        total = vals.sum()
        gap[i] = (vals[1] - vals[0]) / total if total > 0 else 0.0
        vx, vy = vecs[:, 1]
        theta = math.atan2(vy, vx)
        # an axis: fold into (-pi/2, pi/2]
        if theta > math.pi / 2:
            theta -= math.pi
        elif theta <= -math.pi / 2:
            theta += math.pi
        out[i] = theta
    return out, gap


# ------------------------------------------------------------------------- hypothesis data


def track_tables(max_ids=4, max_rows=10, max_frame=15, n_keypoints=0):
    """Hypothesis strategy: a long table sorted by (id, frame) with gaps and NaN runs.

    Returns dicts with ``ids``, ``frames`` (int64), ``time``, ``x``, ``y``, ``angle``
    (float64; angle spans several turns so differences wrap), ``offsets`` and, with
    ``n_keypoints``, ``px``/``py`` of shape (n, n_keypoints).
    """
    from hypothesis import strategies as st

    finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
    maybe_nan = st.tuples(finite, st.integers(0, 4)).map(lambda t: math.nan if t[1] == 0 else t[0])

    @st.composite
    def build(draw):
        id_set = sorted(draw(st.sets(st.integers(0, 60), max_size=max_ids)))
        ids, frames = [], []
        for ident in id_set:
            fr = sorted(draw(st.sets(st.integers(0, max_frame), min_size=1, max_size=max_rows)))
            ids += [ident] * len(fr)
            frames += fr
        n = len(ids)
        cols = {name: np.array(draw(st.lists(maybe_nan, min_size=n, max_size=n))) for name in "xya"}
        table = {
            "ids": np.array(ids, dtype=np.int64),
            "frames": np.array(frames, dtype=np.int64),
            "x": cols["x"].astype(np.float64),
            "y": cols["y"].astype(np.float64),
            "angle": (cols["a"] / 5.0).astype(np.float64),
            "offsets": segment_offsets(ids).astype(np.int64),
        }
        table["time"] = table["frames"] / 25.0
        if n_keypoints:
            shape = (n, n_keypoints)
            table["px"] = np.array(
                draw(st.lists(maybe_nan, min_size=n * n_keypoints, max_size=n * n_keypoints))
            ).reshape(shape)
            table["py"] = np.array(
                draw(st.lists(maybe_nan, min_size=n * n_keypoints, max_size=n * n_keypoints))
            ).reshape(shape)
        return table

    return build()
