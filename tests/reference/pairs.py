"""Slow, obvious references for the pair kernels (moveo.kernels.pairs).

Plain Python over dictionaries keyed by frame, written to be read, not run fast.
"""

from __future__ import annotations

import math

import numpy as np

from reference.tracking import wrap


def segments(offsets):
    """Yield (start, stop) per segment."""
    for s in range(len(offsets) - 1):
        yield int(offsets[s]), int(offsets[s + 1])


# ------------------------------------------------------------------------ cleaning


def clean_column(v, fr, linear_limit, edge_limit, circular=False):
    """Interpolate / edge-fill one individual's column, by frame distance."""
    v = [float(a) for a in v]
    n = len(v)
    valid = [i for i in range(n) if math.isfinite(v[i])]
    out = list(v)
    for i in range(n):
        if math.isfinite(v[i]):
            continue
        out[i] = math.nan
        before = [p for p in valid if p < i]
        after = [q for q in valid if q > i]
        p = before[-1] if before else None
        q = after[0] if after else None
        near_p = p is not None and fr[i] - fr[p] <= linear_limit
        near_q = q is not None and fr[q] - fr[i] <= linear_limit
        if p is not None and q is not None:
            if near_p or near_q:
                d = v[q] - v[p]
                if circular:
                    d = wrap(d)
                out[i] = v[p] + d * (fr[i] - fr[p]) / (fr[q] - fr[p])
        elif near_q:
            out[i] = v[q]
        elif near_p:
            out[i] = v[p]
    # forward fill, then back fill, each within edge_limit frames of a value that was
    # there before that pass (a filled value never anchors further fills of its own
    # pass: pandas' ffill/bfill ``limit`` semantics, by frame distance)
    base = list(out)
    for i in range(n):
        if not math.isfinite(base[i]):
            prev = [p for p in range(i) if math.isfinite(base[p])]
            if prev and fr[i] - fr[prev[-1]] <= edge_limit:
                out[i] = base[prev[-1]]
    base = list(out)
    for i in range(n - 1, -1, -1):
        if not math.isfinite(base[i]):
            nxt = [q for q in range(i + 1, n) if math.isfinite(base[q])]
            if nxt and fr[nxt[0]] - fr[i] <= edge_limit:
                out[i] = base[nxt[0]]
    return out


def clean_columns(values, frames, offsets, linear_limit, edge_limit, max_missing, circular=None):
    """Reference of :func:`moveo.kernels.pairs.clean_columns`."""
    values = np.asarray(values, dtype=float)
    n, k = values.shape
    circular = circular if circular is not None else [False] * k
    out = np.full((n, k), np.nan)
    keep = np.zeros(n, dtype=bool)
    for s, e in segments(offsets):
        fr = list(frames[s:e])
        for c in range(k):
            out[s:e, c] = clean_column(values[s:e, c], fr, linear_limit, edge_limit, circular[c])
        for r in range(s, e):
            missing = sum(not math.isfinite(out[r, c]) for c in range(k))
            keep[r] = k == 0 or missing / k <= max_missing
        for c in range(k):
            kept = [out[r, c] for r in range(s, e) if keep[r] and math.isfinite(out[r, c])]
            med = float(np.median(kept)) if kept else math.nan
            for r in range(s, e):
                if keep[r] and not math.isfinite(out[r, c]):
                    out[r, c] = med
    return out, keep


# ------------------------------------------------------------------------ derivatives


def frame_gradient(v, frames, offsets, keep=None, circular=False, scale=1.0):
    """Central difference by frame, one-sided next to a missing frame."""
    n = len(v)
    keep = np.ones(n, bool) if keep is None else keep
    out = np.full(n, np.nan)
    for s, e in segments(offsets):
        by_frame = {int(frames[r]): float(v[r]) for r in range(s, e) if keep[r]}
        for r in range(s, e):
            if not keep[r]:
                continue
            f = int(frames[r])

            def diff(a, b, by_frame=by_frame):
                d = by_frame[a] - by_frame[b]
                return wrap(d) if circular else d

            if f - 1 in by_frame and f + 1 in by_frame:
                out[r] = (diff(f + 1, f) + diff(f, f - 1)) / 2 * scale
            elif f + 1 in by_frame:
                out[r] = diff(f + 1, f) * scale
            elif f - 1 in by_frame:
                out[r] = diff(f, f - 1) * scale
    return out


def smooth(v, frames, offsets, keep, window, circular=False):
    """Centred mean over runs of consecutive kept frames, mirrored at run ends."""
    v = np.asarray(v, dtype=float)
    out = v.copy()
    half = window // 2
    for s, e in segments(offsets):
        runs, cur = [], []
        for r in range(s, e):
            if keep[r] and cur and frames[r] - frames[cur[-1]] == 1:
                cur.append(r)
            else:
                if cur:
                    runs.append(cur)
                cur = [r] if keep[r] else []
        if cur:
            runs.append(cur)
        for run in runs:
            vals = [v[r] for r in run]
            padded = np.pad(np.array(vals), half, mode="reflect") if len(vals) > 1 else None
            for i, r in enumerate(run):
                win = [vals[0]] * window if padded is None else list(padded[i : i + window])
                if circular:
                    out[r] = v[r] + sum(wrap(w - v[r]) for w in win) / window
                else:
                    out[r] = sum(win) / window
    return out


# ------------------------------------------------------------------------ pair layout


def pair_rows(frames, offsets, ids, keep=None, mode="all", x=None, y=None, k=1, radius=None):
    """All (focal row, partner row) pairs by definition, sorted by (id1, id2, frame)."""
    n = len(frames)
    keep = np.ones(n, bool) if keep is None else keep
    rows_at = {}
    for r in range(n):
        if keep[r]:
            rows_at.setdefault(int(frames[r]), []).append(r)
    chosen = set()
    for _f, rows in rows_at.items():
        if mode == "all":
            for a in rows:
                for b in rows:
                    if a != b:
                        chosen.add((a, b))
            continue
        pts = [r for r in rows if math.isfinite(x[r]) and math.isfinite(y[r])]

        def dist(a, b):
            return math.hypot(x[b] - x[a], y[b] - y[a])

        for a in pts:
            others = [b for b in pts if b != a]
            if mode == "nearest":
                others.sort(key=lambda b: (dist(a, b) ** 2, ids[b]))
                for b in others[:k]:
                    chosen.add((a, b))
                    chosen.add((b, a))
            else:
                for b in others:
                    if dist(a, b) ** 2 <= radius * radius:
                        chosen.add((a, b))
    out = sorted(chosen, key=lambda ab: (ids[ab[0]], ids[ab[1]], frames[ab[0]]))
    return np.array([a for a, _ in out], dtype=np.int64), np.array(
        [b for _, b in out], dtype=np.int64
    )


# ------------------------------------------------------------------------ features


def pair_position(ra, rb, x, y, h, kin):
    """The fifteen egocentric pair columns, row by row."""
    out = np.empty((len(ra), 15))
    for i, (a, b) in enumerate(zip(ra, rb, strict=True)):
        dx, dy = x[b] - x[a], y[b] - y[a]
        rel = h[b] - h[a]
        out[i] = [
            *kin[a],
            math.cos(h[a]),
            math.sin(h[a]),
            math.hypot(dx, dy),
            math.cos(h[a]) * dx + math.sin(h[a]) * dy,
            -math.sin(h[a]) * dx + math.cos(h[a]) * dy,
            math.cos(rel),
            math.sin(rel),
            *kin[b],
        ]
    return out


def pair_facing(ra, rb, hx, hy, tx, ty, towards_tail, scale, angle_thresh, dist_thresh):
    """Facing columns of every pair row, with math.atan2 in degrees."""
    vals = np.full((len(ra), 4), np.nan)
    facing = np.zeros(len(ra), dtype=bool)
    for i, (a, b) in enumerate(zip(ra, rb, strict=True)):
        if towards_tail:
            body = math.degrees(math.atan2(ty[a] - hy[a], tx[a] - hx[a]))
        else:
            body = math.degrees(math.atan2(hy[a] - ty[a], hx[a] - tx[a]))
        bearing = math.degrees(math.atan2(hy[b] - hy[a], hx[b] - hx[a]))
        d = bearing - body
        while d > 180.0:
            d -= 360.0
        while d < -180.0:
            d += 360.0
        diff = abs(d)
        dist = math.hypot(hx[b] - hx[a], hy[b] - hy[a]) * scale
        vals[i] = [body, bearing, diff, dist]
        facing[i] = diff < angle_thresh and dist < dist_thresh
    return vals, facing


def attention_targets(id1, id2, frames, angle, facing):
    """Per (id1, frame) in order of first appearance of id1, then frame: the best target."""
    best = {}
    order = []
    for a, b, f, ang, fac in zip(id1, id2, frames, angle, facing, strict=True):
        key = (int(a), int(f))
        if key not in best:
            best[key] = None
            order.append(key)
        if fac and math.isfinite(ang):
            cur = best[key]
            if cur is None or (ang, b) < cur:
                best[key] = (float(ang), int(b))
    firsts = list(dict.fromkeys(int(a) for a in id1))
    order.sort(key=lambda k: (firsts.index(k[0]), k[1]))
    return {
        "id": np.array([k[0] for k in order], dtype=np.int64),
        "frame": np.array([k[1] for k in order], dtype=np.int64),
        "target": np.array([-1 if best[k] is None else best[k][1] for k in order], dtype=np.int64),
        "angle": np.array([np.nan if best[k] is None else best[k][0] for k in order]),
    }


def orientation_rel(ra, rb, px, py, angle, scale, quantiles, nearest_k):
    """Partner keypoints in the focal's frame, with numpy's nan-aware statistics."""
    n_cols = 12 + len(quantiles) + nearest_k
    out = np.full((len(ra), n_cols), np.nan)
    for i, (a, b) in enumerate(zip(ra, rb, strict=True)):
        va = np.isfinite(px[a]) & np.isfinite(py[a])
        vb = np.isfinite(px[b]) & np.isfinite(py[b])
        ca = (px[a][va].mean(), py[a][va].mean()) if va.any() else (math.nan, math.nan)
        cb = (px[b][vb].mean(), py[b][vb].mean()) if vb.any() else (math.nan, math.nan)
        c, s, sc = math.cos(angle[a]), math.sin(angle[a]), scale[a]

        def to_focal(x, y, c=c, s=s, sc=sc, ca=ca):
            rx, ry = x - ca[0], y - ca[1]
            return (c * rx + s * ry) / sc, (-s * rx + c * ry) / sc

        dx, dy = to_focal(*cb)
        row = [dx, dy, wrap(angle[b] - angle[a])]
        pts = [to_focal(x, y) for x, y in zip(px[b][vb], py[b][vb], strict=True)]
        pts = [(u, v) for u, v in pts if math.isfinite(u) and math.isfinite(v)]
        if pts:
            ex = np.array([u for u, _ in pts])
            ey = np.array([v for _, v in pts])
            d = np.hypot(ex, ey)
            near = sorted(d)[:nearest_k]
            row += [d.min(), np.median(d), d.max(), *np.quantile(d, quantiles)]
            row += [ex.min(), np.median(ex), ex.max(), ey.min(), np.median(ey), ey.max()]
            row += near + [math.nan] * (nearest_k - len(near))
        else:
            row += [math.nan] * (n_cols - 3)
        out[i] = row
    return out


def lag_rows(frames, offsets, lag):
    """Row of the same segment at frame + lag, by dictionary lookup."""
    out = np.full(len(frames), -1, dtype=np.int64)
    lag = np.broadcast_to(np.asarray(lag), (len(frames),))
    for s, e in segments(offsets):
        where = {int(frames[r]): r for r in range(s, e)}
        for r in range(s, e):
            out[r] = where.get(int(frames[r] + lag[r]), -1)
    return out


def approach_avoidance(
    ra, rb, frames_of_rows, ids, x, y, vx, vy, heading, thr, window, min_count, smooth=1
):
    """Directed events and their either-direction union, pair by pair, frame by frame."""
    dist_max, sa_min, sb_min, ca_min, cb_min, gate = thr
    metrics = {}
    for i, (a, b) in enumerate(zip(ra, rb, strict=True)):
        dx, dy = x[b] - x[a], y[b] - y[a]
        dist = math.hypot(dx, dy)
        sa, sb = math.hypot(vx[a], vy[a]), math.hypot(vx[b], vy[b])
        with np.errstate(all="ignore"):
            ca = (vx[a] * dx + vy[a] * dy) / (sa * dist)
            cb = (vx[b] * dx + vy[b] * dy) / (sb * dist)
            g = (math.cos(heading[a]) * vx[a] + math.sin(heading[a]) * vy[a]) / sa
        metrics[i] = [dist, sa, sb, ca, cb, g]
    by_pair = {}
    for i, (a, b) in enumerate(zip(ra, rb, strict=True)):
        by_pair.setdefault((ids[a], ids[b]), []).append(i)
    if smooth > 1:
        before, after = smooth // 2, smooth - 1 - smooth // 2
        smoothed = {}
        for rows in by_pair.values():
            for i in rows:
                f = frames_of_rows[i]
                win = [j for j in rows if f - before <= frames_of_rows[j] <= f + after]
                vals = []
                for c in range(5):
                    v = [metrics[j][c] for j in win if math.isfinite(metrics[j][c])]
                    vals.append(sum(v) / len(v) if v else math.nan)
                smoothed[i] = [*vals, metrics[i][5]]
        metrics = smoothed
    q = {}
    for i, (dist, sa, sb, ca, cb, g) in metrics.items():
        q[i] = (
            dist <= dist_max
            and sa >= sa_min
            and sb >= sb_min
            and ca >= ca_min
            and cb >= cb_min
            and (gate is None or g >= gate)
        )
    directed = np.zeros(len(ra), dtype=bool)
    k = min(min_count, window)
    for rows in by_pair.values():
        for i in rows:
            f = frames_of_rows[i]
            count = sum(q[j] for j in rows if f - window < frames_of_rows[j] <= f)
            directed[i] = q[i] and count >= k
    at = {
        (ids[a], ids[b], frames_of_rows[i]): i for i, (a, b) in enumerate(zip(ra, rb, strict=True))
    }
    either = directed.copy()
    for i, (a, b) in enumerate(zip(ra, rb, strict=True)):
        m = at.get((ids[b], ids[a], frames_of_rows[i]))
        if m is not None:
            either[i] = directed[i] or directed[m]
    return directed, either


def pose_distances(ra, rb, px, py, intra_a=True, intra_b=True, inter=True):
    """Keypoint distances per pair row: focal pairs, partner pairs, focal x partner."""
    k = px.shape[1]
    tri = [(j, i) for i in range(k) for j in range(i)]
    rows = []
    for a, b in zip(ra, rb, strict=True):
        row = []
        if intra_a:
            row += [math.hypot(px[a, j] - px[a, i], py[a, j] - py[a, i]) for i, j in tri]
        if intra_b:
            row += [math.hypot(px[b, j] - px[b, i], py[b, j] - py[b, i]) for i, j in tri]
        if inter:
            row += [
                math.hypot(px[b, j] - px[a, i], py[b, j] - py[a, i])
                for i in range(k)
                for j in range(k)
            ]
        rows.append(row)
    n_f = len(tri) * (intra_a + intra_b) + k * k * inter
    return np.array(rows, dtype=float).reshape(len(ra), n_f)


# ------------------------------------------------------------------------ interaction filter


def interaction_rows(
    frames,
    offsets,
    x,
    y,
    h,
    shift_dist,
    max_dist,
    require_facing,
    max_inv_deg,
    min_run,
    pad,
    size,
):
    """(focal row, partner row, label, start, end) per output row, per the definition.

    The candidate mask lives on the frame axis of each pair's common span (absent
    frames are not candidates); closing / opening are scipy's, on the mask padded
    with enough False on both sides that the array ends never matter.
    """
    from scipy.ndimage import binary_closing, binary_opening

    out = []
    segs = list(segments(offsets))
    for a, (a0, a1) in enumerate(segs):
        for b, (b0, b1) in enumerate(segs):
            if a == b:
                continue
            ra = {int(frames[i]): i for i in range(a0, a1)}
            rb = {int(frames[j]): j for j in range(b0, b1)}
            common = sorted(set(ra) & set(rb))
            if not common:
                continue
            lo, hi = common[0], common[-1]
            mask = np.zeros(hi - lo + 1, dtype=bool)
            for f in common:
                i, j = ra[f], rb[f]
                pa = (x[i] + math.cos(h[i]) * shift_dist, y[i] + math.sin(h[i]) * shift_dist)
                pb = (x[j] + math.cos(h[j]) * shift_dist, y[j] + math.sin(h[j]) * shift_dist)
                ok = math.hypot(pa[0] - pb[0], pa[1] - pb[1]) < max_dist
                if require_facing:
                    diff = abs(wrap(h[i] - h[j]))
                    ok = ok and (math.pi - diff) < math.radians(max_inv_deg)
                mask[f - lo] = ok
            if size > 0:
                m = size + 1
                padded = np.r_[np.zeros(m, bool), mask, np.zeros(m, bool)]
                st = np.ones(size, dtype=bool)
                padded = binary_opening(binary_closing(padded, structure=st), structure=st)
                mask = padded[m:-m]
            runs, start = [], None
            for k, v in enumerate(list(mask) + [False]):
                if v and start is None:
                    start = k
                elif not v and start is not None:
                    runs.append((start + lo, k - 1 + lo))
                    start = None
            spans = []
            for s, e in runs:
                if e - s + 1 < min_run:
                    continue
                s, e = max(s - pad, lo), min(e + pad, hi)
                if spans and s <= spans[-1][1]:
                    spans[-1] = (spans[-1][0], max(spans[-1][1], e))
                else:
                    spans.append((s, e))
            for label, (s, e) in enumerate(spans):
                fs = [f for f in common if s <= f <= e]
                for f in fs:
                    out.append((ra[f], rb[f], label, fs[0], fs[-1]))
    return out


# ------------------------------------------------------------------------ wavelet


def cmor_cwt(signal, scales, bandwidth, centre, precision=12):
    """CWT of one signal by direct convolution with the complex Morlet ``cmorB-C``.

    The wavelet ``psi(t) = exp(-t^2 / B) exp(2 pi i C t) / sqrt(pi B)`` sampled on
    ``2**precision`` points of [-8, 8], integrated (cumulative sum times the step);
    at scale ``s`` the integrated wavelet is read at ``t = k / s`` (k = 0, 1, ...
    floor(16 s)), conjugated and reversed into ``h``; the coefficient at sample ``n``
    is ``-sqrt(s)`` times the difference of the two neighbouring full-convolution
    values ``sum_i x[i] h[m - i]`` around ``n`` (PyWavelets' discretisation).
    """
    t = np.linspace(-8.0, 8.0, 2**precision)
    step = t[1] - t[0]
    psi = np.exp(-(t**2) / bandwidth) * np.exp(2j * np.pi * centre * t) / np.sqrt(np.pi * bandwidth)
    int_psi = np.conj(np.cumsum(psi) * step)
    x = [float(v) for v in signal]
    n = len(x)
    out = np.empty((len(scales), n), dtype=np.complex128)
    for si, s in enumerate(scales):
        idx = [int(k / (s * step)) for k in range(int(s * 16.0 + 1))]
        idx = [k for k in idx if k < len(int_psi)]
        h = int_psi[idx][::-1]
        length = len(h)

        def conv(m, h=h, length=length):
            return sum(x[i] * h[m - i] for i in range(max(0, m - length + 1), min(n, m + 1)))

        first = (length - 2) // 2
        for k in range(n):
            out[si, k] = -np.sqrt(s) * (conv(k + first + 1) - conv(k + first))
    return out


# ------------------------------------------------------------------------ nn-delta bins


def delta_bins(groups, nx, ny, dangle, dspeed, nbins, binmax, max_for_avg, antisymm):
    """Per group (a list of rows): the 1-D means / 2-D sums and counts, with numpy."""
    edges = np.linspace(-binmax, binmax, nbins)
    y_edges = np.linspace(-binmax, binmax, nbins + 1)
    res = []
    for rows in groups:
        rows = np.asarray(rows, dtype=np.int64)
        xs, ys, da, ds = nx[rows], ny[rows], dangle[rows], dspeed[rows]
        ahead = (xs >= 0) & (xs <= max_for_avg)
        ty, ta = ys[ahead], da[ahead]
        if antisymm:
            ty, ta = np.r_[ty, -ty], np.r_[ta, -ta]
        side = np.abs(ys) <= max_for_avg / 2

        def one_d(v, w):
            b = np.digitize(v, edges) - 1
            ok = (b >= 0) & (b < nbins - 1) & np.isfinite(w)
            s = np.bincount(b[ok], weights=w[ok], minlength=nbins - 1)
            c = np.bincount(b[ok], minlength=nbins - 1)
            return s, c

        fin = np.isfinite(xs) & np.isfinite(ys)
        x2, y2, a2, s2 = xs[fin], ys[fin], da[fin], ds[fin]
        if antisymm:
            tx, ty2, tw = np.r_[x2, x2], np.r_[y2, -y2], np.r_[a2, -a2]
        else:
            tx, ty2, tw = x2, y2, a2
        sx, sy, sw = np.r_[x2, x2], np.r_[y2, -y2], np.r_[s2, s2]
        t2s = np.histogram2d(tx, ty2, bins=[edges, y_edges], weights=tw)[0]
        t2c = np.histogram2d(tx, ty2, bins=[edges, y_edges])[0]
        s2s = np.histogram2d(sx, sy, bins=[edges, y_edges], weights=sw)[0]
        s2c = np.histogram2d(sx, sy, bins=[edges, y_edges])[0]
        res.append(
            {
                "turn_1d": one_d(ty, ta),
                "speed_1d": one_d(xs[side], ds[side]),
                "turn_2d": (t2s, t2c),
                "speed_2d": (s2s, s2c),
            }
        )
    return res
