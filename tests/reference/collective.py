"""Slow, obvious references for the group and collective features
(moveo.kernels.collective, moveo.kernels.groups and the features built on them).

Plain Python over lists of rows, written from the definitions (Tunström et al.
2013 for the order parameters; mosaic-behavior 0.17's documented semantics for
what each column means). The convex hull comes from scipy (qhull), an
implementation independent of moveo's monotone chain.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from scipy.spatial import ConvexHull, QhullError


def _finite(v) -> bool:
    return v is not None and math.isfinite(v)


def rows_by_individual(ids, frames):
    """Row indices grouped by individual, each sorted by frame."""
    by_id = defaultdict(list)
    for r in range(len(ids)):
        by_id[int(ids[r])].append(r)
    for rows in by_id.values():
        rows.sort(key=lambda r: frames[r])
    return dict(sorted(by_id.items()))


def motion(ids, frames, x, y, angle=None, *, clock=None, fps=None, subgroup=None, max_gap=None):
    """Per row: finite, heading (ux, uy), velocity (vx, vy), by the definitions."""
    n = len(ids)
    out = {k: [math.nan] * n for k in ("ux", "uy", "vx", "vy")}
    out["finite"] = [False] * n
    for rows in rows_by_individual(ids, frames).values():
        prev = None
        for r in rows:
            fin = _finite(x[r]) and _finite(y[r])
            out["finite"][r] = fin
            if fin and angle is not None:
                out["ux"][r] = math.cos(angle[r]) if _finite(angle[r]) else math.nan
                out["uy"][r] = math.sin(angle[r]) if _finite(angle[r]) else math.nan
            if fin and prev is not None and _finite(x[prev]) and _finite(y[prev]):
                dx, dy = x[r] - x[prev], y[r] - y[prev]
                if angle is None and math.hypot(dx, dy) > 0:
                    out["ux"][r] = dx / math.hypot(dx, dy)
                    out["uy"][r] = dy / math.hypot(dx, dy)
                step = frames[r] - frames[prev]
                same_sub = subgroup is None or (subgroup[r] >= 0 and subgroup[r] == subgroup[prev])
                if step > 0 and (max_gap is None or step <= max_gap) and same_sub:
                    if fps is not None:
                        dt = step / fps
                    elif clock is not None:
                        dt = clock[r] - clock[prev]
                    else:
                        dt = float(step)
                    if math.isfinite(dt) and dt > 0:
                        out["vx"][r] = dx / dt
                        out["vy"][r] = dy / dt
            prev = r
    return out


def hull_area(points) -> float:
    """Convex hull area via scipy; NaN for < 3 distinct points or collinear ones."""
    pts = np.unique(np.asarray(points, dtype=float).reshape(-1, 2), axis=0)
    if len(pts) < 3:
        return math.nan
    try:
        return float(ConvexHull(pts).volume)
    except QhullError:
        return math.nan


def frame_metrics(rows, x, y, mot, *, speed=None, min_individuals=3, min_group_speed=0.0):
    """Every collective-motion-metrics column of one frame group (a list of rows)."""
    fin = [r for r in rows if mot["finite"][r]]
    head = [r for r in rows if _finite(mot["ux"][r]) and _finite(mot["uy"][r])]
    vel = [r for r in rows if _finite(mot["vx"][r])]
    n_ids, n_h = len(fin), len(head)
    cx = sum(x[r] for r in fin) / n_ids if n_ids else math.nan
    cy = sum(y[r] for r in fin) / n_ids if n_ids else math.nan
    sux = sum(mot["ux"][r] for r in head)
    suy = sum(mot["uy"][r] for r in head)
    cvx = sum(mot["vx"][r] for r in vel) / len(vel) if vel else math.nan
    cvy = sum(mot["vy"][r] for r in vel) / len(vel) if vel else math.nan
    crosses, at_centre, ang = [], 0, []
    sxx = syy = sxy = 0.0
    for r in fin:
        rx, ry = x[r] - cx, y[r] - cy
        sxx, syy, sxy = sxx + rx * rx, syy + ry * ry, sxy + rx * ry
        d = math.hypot(rx, ry)
        if not d > 0:
            at_centre += 1
            continue
        if r in head:
            crosses.append(rx / d * mot["uy"][r] - ry / d * mot["ux"][r])
        if r in vel:
            ang.append((rx * (mot["vy"][r] - cvy) - ry * (mot["vx"][r] - cvx)) / (d * d))
    out = {
        "n_ids": n_ids,
        "n_ids_heading": n_h,
        "n_at_centroid": at_centre,
        "n_centroid_common": len(vel),
        "centroid_x": cx,
        "centroid_y": cy,
    }
    pol = math.hypot(sux, suy) / n_h if n_h else math.nan
    mh = math.atan2(suy, sux) if n_h else math.nan
    rot_s = sum(crosses) / n_h if (n_h and crosses) else math.nan
    if n_h < min_individuals:
        pol = mh = math.nan
    if n_h < min_individuals or n_ids < min_individuals:
        rot_s = math.nan
    out.update(polarization=pol, mean_heading=mh, rotation=abs(rot_s), rotation_signed=rot_s)
    out["group_angvel"] = sum(ang) / len(ang) if ang and n_ids >= min_individuals else math.nan
    cs = math.hypot(cvx, cvy)
    out["centroid_speed"] = cs
    out["centroid_heading"] = math.atan2(cvy, cvx) if cs > min_group_speed else math.nan
    if n_ids:
        cov = np.array([[sxx, sxy], [sxy, syy]]) / n_ids
        ev = np.clip(np.linalg.eigvalsh(cov), 0.0, None)
        major, minor = math.sqrt(ev[1]), math.sqrt(ev[0])
        elong = major / minor if minor > 0 else (math.inf if major > 0 else math.nan)
        axis = 0.5 * math.atan2(2 * sxy / n_ids, (sxx - syy) / n_ids)
    else:
        major = minor = elong = axis = math.nan
    area = hull_area([(x[r], y[r]) for r in fin]) if n_ids else math.nan
    dens = n_ids / area if (math.isfinite(area) and area > 0) else math.nan
    if n_ids < min_individuals:
        major = minor = elong = axis = area = dens = math.nan
    out.update(
        sd_major=major,
        sd_minor=minor,
        elongation=elong,
        principal_axis_angle=axis,
        area=area,
        density=dens,
    )
    if speed is not None:
        sp = [speed[r] for r in rows if _finite(speed[r])]
        out["mean_speed"] = sum(sp) / len(sp) if sp else math.nan
    p, r_ = out["polarization"], out["rotation"]
    if not (math.isfinite(p) and math.isfinite(r_)):
        state = "Undefined"
    elif r_ < 0.35 and p > 0.65:
        state = "Polarized"
    elif r_ > 0.65 and p < 0.35:
        state = "Milling"
    elif r_ < 0.35 and p < 0.35:
        state = "Swarm"
    else:
        state = "Transitional"
    out["state"] = state
    return out


def collective_motion_metrics(ids, frames, x, y, angle=None, **kwargs):
    """One dict per frame (sorted by frame): the columns of collective-motion-metrics."""
    mot_kw = {k: kwargs.pop(k) for k in ("clock", "fps", "max_gap") if k in kwargs}
    mot = motion(ids, frames, x, y, angle, **mot_kw)
    by_frame = defaultdict(list)
    for r in range(len(ids)):
        by_frame[int(frames[r])].append(r)
    return {f: frame_metrics(rows, x, y, mot, **kwargs) for f, rows in sorted(by_frame.items())}


def local_order(ids, frames, x, y, angle=None, *, radius, n_shells=6, n_peripheral=5,
                min_neighbors=1):  # fmt: skip
    """Per row: the local-order-metrics columns, by the definitions (all pairs)."""
    mot = motion(ids, frames, x, y, angle)
    n = len(ids)
    out = [None] * n
    by_frame = defaultdict(list)
    for r in range(n):
        by_frame[int(frames[r])].append(r)
    for rows in by_frame.values():
        fin = [r for r in rows if mot["finite"][r]]
        for r in rows:
            out[r] = {
                "n_local_neighbors": -1,
                "n_local_headings": -1,
                "local_polarization": math.nan,
                "local_heading_x": math.nan,
                "local_heading_y": math.nan,
                "dist_to_group_center": math.nan,
                "radial_rotation_self": math.nan,
                "local_rotation": math.nan,
                "group_outer_radius": math.nan,
                "shell_index": -1,
                "shell_n": -1,
                "shell_radial_rotation": math.nan,
            }
        if not fin:
            continue
        cx = sum(x[r] for r in fin) / len(fin)
        cy = sum(y[r] for r in fin) / len(fin)
        rad, rr = {}, {}
        for r in fin:
            rx, ry = x[r] - cx, y[r] - cy
            d = math.hypot(rx, ry)
            rad[r] = d
            u = (mot["ux"][r], mot["uy"][r])
            rr[r] = (rx / d * u[1] - ry / d * u[0]) if (d > 0 and _finite(u[0])) else math.nan
        for r in fin:
            disc = [q for q in fin if (x[q] - x[r]) ** 2 + (y[q] - y[r]) ** 2 <= radius * radius]
            with_h = [q for q in disc if _finite(mot["ux"][q]) and _finite(mot["uy"][q])]
            o = out[r]
            o["n_local_neighbors"] = len(disc) - 1
            o["n_local_headings"] = len([q for q in with_h if q != r])
            o["dist_to_group_center"] = rad[r]
            o["radial_rotation_self"] = rr[r]
            if o["n_local_headings"] >= min_neighbors:
                if with_h:
                    hx = sum(mot["ux"][q] for q in with_h) / len(with_h)
                    hy = sum(mot["uy"][q] for q in with_h) / len(with_h)
                    o.update(local_heading_x=hx, local_heading_y=hy,
                             local_polarization=math.hypot(hx, hy))  # fmt: skip
                vals = [rr[q] for q in disc if math.isfinite(rr[q])]
                if vals:
                    o["local_rotation"] = sum(vals) / len(vals)
        far = sorted(rad.values())[-min(n_peripheral, len(rad)) :]
        outer = float(np.median(far))
        for r in rows:
            out[r]["group_outer_radius"] = outer
        if not outer > 0:
            continue
        shell = {r: min(max(math.floor(rad[r] / (outer / n_shells)), 0), n_shells - 1) for r in fin}
        for r in fin:
            members = [q for q in fin if shell[q] == shell[r]]
            vals = [rr[q] for q in members if math.isfinite(rr[q])]
            out[r]["shell_index"] = shell[r]
            out[r]["shell_n"] = len(members)
            out[r]["shell_radial_rotation"] = sum(vals) / len(vals) if vals else math.nan
    return out


# --------------------------------------------------------------------------- ffgroups


def _union_find_labels(n, edges):
    """Labels (rank of the root) after union by rank over ``edges`` in the given order."""
    parent = list(range(n))
    rank = [0] * n

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if rank[ra] < rank[rb]:
            parent[ra] = rb
        elif rank[ra] > rank[rb]:
            parent[rb] = ra
        else:
            parent[rb] = ra
            rank[ra] += 1
    roots = [find(i) for i in range(n)]
    order = {r: k for k, r in enumerate(sorted(set(roots)))}
    labels = [order[r] for r in roots]
    sizes = [roots.count(r) for r in roots]
    return labels, sizes


def ffgroups(ids, frames, x, y, *, cutoff, window_size=5, min_event_duration=1):
    """Per row: (group_membership, group_size, event), from the dense definition.

    Every pair of individuals at every frame position: the mean distance over
    the window positions at which both are present; links below the cutoff;
    union-find over all pairs visited row by row; events from member sets.
    """
    uid = sorted(set(int(i) for i in ids))
    ufr = sorted(set(int(f) for f in frames))
    col = {v: k for k, v in enumerate(uid)}
    pos = {v: k for k, v in enumerate(ufr)}
    n, t_len = len(uid), len(ufr)
    pts = np.full((t_len, n, 2), np.nan)
    for r in range(len(ids)):
        if _finite(x[r]) and _finite(y[r]):
            pts[pos[int(frames[r])], col[int(ids[r])]] = (x[r], y[r])
    half = window_size // 2
    labels = np.zeros((t_len, n), dtype=int)
    sizes = np.zeros((t_len, n), dtype=int)
    for p in range(t_len):
        window = range(max(p - half, 0), min(p + half + 1, t_len))
        edges = []
        for i in range(n):
            for j in range(i + 1, n):
                d = [
                    math.hypot(*(pts[q, j] - pts[q, i]))
                    for q in window
                    if np.isfinite(pts[q, i, 0]) and np.isfinite(pts[q, j, 0])
                ]
                if d and sum(d) / len(d) < cutoff:
                    edges.append((i, j))
        labels[p], sizes[p] = _union_find_labels(n, edges)
    # events: maximal runs of one member set within runs of consecutive frames
    runs, start = [], 0
    for p in range(1, t_len + 1):
        if p == t_len or ufr[p] - ufr[p - 1] > 1:
            runs.append(range(start, p))
            start = p
    events = []
    for k, run in enumerate(runs):
        by_set = defaultdict(list)
        for p in run:
            for lab in set(labels[p]):
                members = tuple(uid[i] for i in range(n) if labels[p, i] == lab)
                by_set[members].append(p)
        for members in sorted(by_set):
            ps = by_set[members]
            seg = [ps[0]]
            for p in [*ps[1:], None]:
                if p is not None and p == seg[-1] + 1:
                    seg.append(p)
                    continue
                if ufr[seg[-1]] - ufr[seg[0]] >= min_event_duration:
                    events.append((k, members, seg[0], seg[-1]))
                if p is not None:
                    seg = [p]
    event = np.full((t_len, n), -1)
    for e, (_, members, p0, p1) in enumerate(events):
        for p in range(p0, p1 + 1):
            for m in members:
                event[p, col[m]] = e
    return [
        (
            labels[pos[int(f)], col[int(i)]],
            sizes[pos[int(f)], col[int(i)]],
            event[pos[int(f)], col[int(i)]],
        )  # fmt: skip
        for i, f in zip(ids, frames, strict=True)
    ]


# --------------------------------------------------------------------------- frame-aggregate


def reduce_values(values, agg):
    """One reduction of a list of floats, skipping NaN (sample std; sum of none 0)."""
    v = [float(a) for a in values if not math.isnan(a)]
    if agg == "count":
        return float(len(v))
    if agg == "sum":
        return float(sum(v))
    if not v:
        return math.nan
    if agg == "mean":
        return sum(v) / len(v)
    if agg == "median":
        s = sorted(v)
        k = len(s)
        return s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2
    if agg == "min":
        return min(v)
    if agg == "max":
        return max(v)
    if agg == "std":
        if len(v) < 2:
            return math.nan
        m = sum(v) / len(v)
        return math.sqrt(sum((a - m) ** 2 for a in v) / (len(v) - 1))
    raise ValueError(agg)


# --------------------------------------------------------------------------- social summary


def _nanmean(v):
    v = [a for a in v if not math.isnan(a)]
    return sum(v) / len(v) if v else math.nan


def _safe(num, den):
    return num / den if (math.isfinite(den) and den != 0) else math.nan


def _spread(v):
    """(mean, median, std/mean, iqr/median) of the finite values (numpy quantiles)."""
    v = [a for a in v if not math.isnan(a)]
    if not v:
        return (math.nan,) * 4
    mean = sum(v) / len(v)
    std = math.sqrt(sum((a - mean) ** 2 for a in v) / len(v))
    med = float(np.median(v))
    iqr = float(np.percentile(v, 75) - np.percentile(v, 25))
    return mean, med, _safe(std, mean), _safe(iqr, med)


def social_summary(speed, frames, social, fps, sample, *, nbr=None, dev=None, angle=None,
                   ex=None, ey=None, burst=False):  # fmt: skip
    """One individual's summary row (dict) over the samples ``sample`` (bools)."""
    n = len(speed)
    acc = [
        (speed[k + 1] - speed[k]) / ((frames[k + 1] - frames[k]) / fps)
        if frames[k + 1] > frames[k]
        else math.nan
        for k in range(n - 1)
    ]
    jerk = [
        (acc[j + 1] - acc[j]) / ((frames[j + 2] - frames[j + 1]) / fps)
        if frames[j + 2] > frames[j + 1]
        else math.nan
        for j in range(n - 2)
    ]
    soc = [k for k in range(n) if sample[k] and social[k]]
    m_acc = [k for k in range(n - 1) if sample[k] and sample[k + 1]]
    m_jerk = [j for j in range(n - 2) if sample[j] and sample[j + 1] and sample[j + 2]]
    row = {}
    row["nn_align"] = _nanmean([math.cos(angle[k]) for k in soc]) if angle is not None else math.nan
    if ex is not None and soc:
        row["frac_nn_ahead"] = sum(ex[k] > 0 for k in soc) / len(soc)
        norms = [math.hypot(ex[k], ey[k]) for k in soc]
        row["nn_bearing_x"] = _nanmean(
            [ex[k] / d if d > 0 else math.nan for k, d in zip(soc, norms, strict=True)]
        )
        row["nn_bearing_y"] = _nanmean(
            [ey[k] / d if d > 0 else math.nan for k, d in zip(soc, norms, strict=True)]
        )
    else:
        row["frac_nn_ahead"] = row["nn_bearing_x"] = row["nn_bearing_y"] = math.nan
    row["speed_match_nn"] = (
        _nanmean([abs(speed[k] - nbr[k]) for k in soc]) if nbr is not None else math.nan
    )
    row["speed_match_group"] = _nanmean([abs(dev[k]) for k in soc]) if dev is not None else math.nan
    _, _, row["speed_cv"], row["speed_rcv"] = _spread([speed[k] for k in range(n) if sample[k]])
    for name, vals in (("accel", [abs(acc[k]) for k in m_acc]),
                       ("jerk", [abs(jerk[j]) for j in m_jerk])):  # fmt: skip
        stats = _spread(vals)
        for suffix, v in zip(("mean", "med", "cv", "rcv"), stats, strict=True):
            row[f"{name}_{suffix}"] = v
    if burst and any(not math.isnan(acc[k]) for k in m_acc):
        peaks = sum(1 for j in m_jerk if acc[j] > 0 and not acc[j + 1] > 0)
        span = sum(frames[k + 1] - frames[k] for k in m_acc) / fps
        row["kick_rate"] = _safe(peaks, span)
        row["burst_coast_ratio"] = sum(acc[k] > 0 for k in m_acc) / len(m_acc)
    else:
        row["kick_rate"] = row["burst_coast_ratio"] = math.nan
    row.update(n_frames=sum(sample), n_social_frames=len(soc), n_accel=len(m_acc),
               n_jerk=len(m_jerk))  # fmt: skip
    return row


def periphery(x, y, size, groups, tie_rtol=1e-9):
    """Per row: farthest from its group's centroid (max rank with ties) == size."""
    far = [False] * len(x)
    for rows in groups:
        xs = [x[r] for r in rows if _finite(x[r])]
        ys = [y[r] for r in rows if _finite(y[r])]
        cx = sum(xs) / len(xs) if xs else math.nan
        cy = sum(ys) / len(ys) if ys else math.nan
        d = {r: math.hypot(x[r] - cx, y[r] - cy) for r in rows}
        finite = [v for v in d.values() if not math.isnan(v)]
        if not finite:
            continue
        tol = tie_rtol * (abs(cx) + abs(cy) + max(finite))
        for r in rows:
            if not math.isnan(d[r]):
                far[r] = sum(v <= d[r] + tol for v in finite) == size[r]
    return far
