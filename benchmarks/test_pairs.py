"""Pair kernels and features vs their baselines (issue 14).

Two scenarios, as the issue asks: 2 animals x 1M frames, and 20 animals x 50k
frames with all pairs and with the 3 nearest partners (small sizes in CI):

- every pair kernel vs a vectorised numpy version of the same formula
  (fancy-index gathers + array arithmetic; chunked where a (rows, keypoints)
  array would not fit);
- the per-pair arithmetic kernels (pair-position, pair-facing) vs ``np.copyto``
  of their output bytes (the memory roofline);
- peak memory of one entry through ``feature.apply`` (fresh process, RSS growth
  sampled every 2 ms) and bytes per output row, for all pairs and for k = 3.

- pair-interaction-filter's kernel vs numpy + scipy.ndimage per pair (intersect1d,
  vectorised criteria, binary_closing / binary_opening on the frame axis);
- pair-wavelet's FFT overlap-save CWT vs ``pywt.cwt`` per block and column, as mosaic
  calls it (``method="conv"``) and with pywt's own ``method="fft"``: one pair, both
  perspectives, 6 PCs (2 x 200k frames full, 2 x 20k small);
- nn-delta-bins' kernel vs numpy digitize / bincount / histogram2d per group.

Inputs are preallocated and cleaned; JIT compilation is excluded (warm-up first).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from moveo.kernels import neighbors, pairs
from moveo.kernels.pairs import (
    approach_avoidance_events,
    attention_targets,
    cwt_filters,
    cwt_log_power,
    delta_bins,
    individual_kinematics,
    interaction_rows,
    lag_rows,
    nn_response,
    orientation_rel,
    pair_facing,
    pair_position,
    pair_rows,
    step_velocity,
)


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    neighbors._warmup()
    pairs._warmup()


def _scenario(n_ids: int, n_frames: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    h = np.cumsum(rng.normal(0, 0.1, (n_ids, n_frames)), axis=1)
    speed = np.abs(rng.normal(2.0, 1.0, (n_ids, n_frames)))
    x = np.cumsum(speed * np.cos(h), axis=1) + rng.uniform(0, 300, (n_ids, 1))
    y = np.cumsum(speed * np.sin(h), axis=1) + rng.uniform(0, 300, (n_ids, 1))
    n = n_ids * n_frames
    px = np.empty((n, 7))
    py = np.empty((n, 7))
    for k in range(7):
        px[:, k] = (x + (3 - k) * 3.0 * np.cos(h)).ravel()
        py[:, k] = (y + (3 - k) * 3.0 * np.sin(h)).ravel()
    px[rng.random(px.shape) < 0.01] = np.nan
    return {
        "ids": np.repeat(np.arange(n_ids, dtype=np.int64), n_frames),
        "frames": np.tile(np.arange(n_frames, dtype=np.int64), n_ids),
        "offsets": np.arange(0, n + 1, n_frames, dtype=np.int64),
        "x": x.ravel(),
        "y": y.ravel(),
        "h": np.angle(np.exp(1j * h)).ravel(),
        "px": px,
        "py": py,
        "keep": np.ones(n, dtype=bool),
    }


SCENARIOS = {
    "2x1M": (2, 1_000_000, 2, 20_000),
    "20x50k": (20, 50_000, 20, 1_000),
}
CASES = [("2x1M", "all"), ("20x50k", "all"), ("20x50k", "nearest")]


@pytest.fixture(scope="module")
def data(bench_size):
    out = {}
    for name, (n_full, t_full, n_small, t_small) in SCENARIOS.items():
        n_ids = bench_size(small=n_small, full=n_full)
        n_frames = bench_size(small=t_small, full=t_full)
        out[name] = _scenario(n_ids, n_frames)
    return out


_PAIRS: dict = {}


def _pairs(d: dict, name: str, mode: str) -> tuple[np.ndarray, np.ndarray]:
    key = (name, mode)
    if key not in _PAIRS:
        _PAIRS.clear()  # one case's pair rows at a time (memory)
        _PAIRS[key] = pair_rows(
            d["frames"], d["offsets"], d["ids"], d["keep"], mode=mode, x=d["x"], y=d["y"], k=3
        )
    return _PAIRS[key]


def _label(d: dict, name: str, mode: str, n_rows: int) -> str:
    sel = "all pairs" if mode == "all" else "k=3 nearest"
    return f"{name} ({sel}, {n_rows:,} pair rows)"


# ----------------------------------------------------------------------------- layout


def _numpy_all_pairs(frames, offsets):
    # baseline: per ordered pair, numpy's intersect1d of the two frame arrays
    ra, rb = [], []
    n_seg = offsets.shape[0] - 1
    for a in range(n_seg):
        fa = frames[offsets[a] : offsets[a + 1]]
        for b in range(n_seg):
            if a == b:
                continue
            fb = frames[offsets[b] : offsets[b + 1]]
            _, ia, ib = np.intersect1d(fa, fb, assume_unique=True, return_indices=True)
            ra.append(ia + offsets[a])
            rb.append(ib + offsets[b])
    return np.concatenate(ra), np.concatenate(rb)


def _numpy_nearest_pairs(x, y, ids, frames, n_ids, k, chunk=20_000):
    # baseline: dense (frames, N, N) distances, argsort, symmetrise with np.unique
    n_frames = frames.shape[0] // n_ids
    xf = x.reshape(n_ids, n_frames).T
    yf = y.reshape(n_ids, n_frames).T
    codes = []
    for s in range(0, n_frames, chunk):
        dx = xf[s : s + chunk, None, :] - xf[s : s + chunk, :, None]
        dy = yf[s : s + chunk, None, :] - yf[s : s + chunk, :, None]
        d2 = dx * dx + dy * dy
        d2[:, np.arange(n_ids), np.arange(n_ids)] = np.inf
        nn = np.argsort(d2, axis=2, kind="stable")[:, :, :k]
        f = np.arange(s, s + nn.shape[0])[:, None, None]
        a = np.broadcast_to(np.arange(n_ids)[None, :, None], nn.shape)
        fr = np.broadcast_to(f, nn.shape)
        codes.append(((a * n_ids + nn) * n_frames + fr).ravel())
        codes.append(((nn * n_ids + a) * n_frames + fr).ravel())
    u = np.unique(np.concatenate(codes))
    fr = u % n_frames
    pair = u // n_frames
    return pair // n_ids * n_frames + fr, pair % n_ids * n_frames + fr


@pytest.mark.parametrize(("name", "mode"), CASES)
@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_pair_layout(benchmark, tag, data, name, mode, impl):
    d = data[name]
    ra, _ = _pairs(d, name, mode)
    group = f"pair layout {_label(d, name, mode, ra.shape[0])}"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo pair_rows")
        got = benchmark(
            pair_rows,
            d["frames"],
            d["offsets"],
            d["ids"],
            d["keep"],
            mode=mode,
            x=d["x"],
            y=d["y"],
            k=3,
        )
        assert got[0].shape == ra.shape
    else:
        n_ids = d["offsets"].shape[0] - 1
        if mode == "all":
            tag(benchmark, group, ours=False, target=">=3", label="numpy intersect1d per pair")
            got = benchmark(_numpy_all_pairs, d["frames"], d["offsets"])
        else:
            tag(
                benchmark,
                group,
                ours=False,
                target=">=3",
                label="numpy dense distances + argsort + unique",
            )
            got = benchmark(_numpy_nearest_pairs, d["x"], d["y"], d["ids"], d["frames"], n_ids, 3)
        np.testing.assert_array_equal(got[0], ra)


# ----------------------------------------------------------------------------- pair-position


def _numpy_pair_position(ra, rb, x, y, h, kin):
    c, s = np.cos(h), np.sin(h)
    ca, sa, cb, sb = c[ra], s[ra], c[rb], s[rb]
    dx = x[rb] - x[ra]
    dy = y[rb] - y[ra]
    ka, kb = kin[ra], kin[rb]
    return np.column_stack(
        [
            ka,
            ca,
            sa,
            np.hypot(dx, dy),
            ca * dx + sa * dy,
            -sa * dx + ca * dy,
            cb * ca + sb * sa,
            sb * ca - cb * sa,
            kb,
        ]
    )


@pytest.mark.parametrize(("name", "mode"), CASES)
@pytest.mark.parametrize("impl", ["moveo", "numpy", "np.copyto"])
def test_pair_position(benchmark, tag, data, name, mode, impl):
    d = data[name]
    ra, rb = _pairs(d, name, mode)
    kin = individual_kinematics(d["x"], d["y"], d["h"], d["frames"], d["offsets"], d["keep"], 30.0)
    group = f"pair-position kernel {_label(d, name, mode, ra.shape[0])}"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo pair_position (15 columns)")
        benchmark(pair_position, ra, rb, d["x"], d["y"], d["h"], kin)
    elif impl == "numpy":
        tag(benchmark, group, ours=False, target=">=3", label="numpy gathers + arithmetic")
        benchmark(_numpy_pair_position, ra, rb, d["x"], d["y"], d["h"], kin)
    else:
        dst = np.empty((ra.shape[0], 15))
        src = np.ones_like(dst)
        tag(
            benchmark,
            group,
            ours=False,
            target="ours/base<=3",
            label="np.copyto of the 15 output columns",
        )
        benchmark(np.copyto, dst, src)


# ----------------------------------------------------------------------------- pair-facing


def _numpy_pair_facing(ra, rb, hx, hy, tx, ty):
    body = np.degrees(np.arctan2(ty - hy, tx - hx))
    dx = hx[rb] - hx[ra]
    dy = hy[rb] - hy[ra]
    bearing = np.degrees(np.arctan2(dy, dx))
    diff = np.abs((bearing - body[ra] + 180.0) % 360.0 - 180.0)
    dist = np.hypot(dx, dy)
    return np.column_stack([body[ra], bearing, diff, dist]), (diff < 45.0) & (dist < 3.0)


@pytest.mark.parametrize(("name", "mode"), CASES)
@pytest.mark.parametrize("impl", ["moveo", "numpy", "np.copyto"])
def test_pair_facing(benchmark, tag, data, name, mode, impl):
    d = data[name]
    ra, rb = _pairs(d, name, mode)
    args = (
        ra,
        rb,
        d["px"][:, 3].copy(),
        d["py"][:, 3].copy(),
        d["px"][:, 5].copy(),
        d["py"][:, 5].copy(),
    )
    group = f"pair-facing kernel {_label(d, name, mode, ra.shape[0])}"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo pair_facing")
        benchmark(pair_facing, *args)
    elif impl == "numpy":
        tag(benchmark, group, ours=False, target=">=3", label="numpy arctan2 / mod / hypot")
        benchmark(_numpy_pair_facing, *args)
    else:
        dst = np.empty(ra.shape[0] * 4 * 8 + ra.shape[0], dtype=np.uint8)
        src = np.ones_like(dst)
        tag(
            benchmark,
            group,
            ours=False,
            target="ours/base<=3",
            label="np.copyto of the output bytes (4 float64 + bool)",
        )
        benchmark(np.copyto, dst, src)


# ----------------------------------------------------------------------------- orientation-rel


def _numpy_orientation(ra, rb, px, py, angle, scale, chunk=500_000):
    out = []
    for s in range(0, ra.shape[0], chunk):
        a, b = ra[s : s + chunk], rb[s : s + chunk]
        va = np.isfinite(px[a]) & np.isfinite(py[a])
        vb = np.isfinite(px[b]) & np.isfinite(py[b])
        with np.errstate(all="ignore"):
            cax = np.where(va, px[a], 0).sum(1) / va.sum(1)
            cay = np.where(va, py[a], 0).sum(1) / va.sum(1)
            cbx = np.where(vb, px[b], 0).sum(1) / vb.sum(1)
            cby = np.where(vb, py[b], 0).sum(1) / vb.sum(1)
        c, sn, sc = np.cos(angle[a]), np.sin(angle[a]), scale[a]
        dx = (c * (cbx - cax) + sn * (cby - cay)) / sc
        dy = (-sn * (cbx - cax) + c * (cby - cay)) / sc
        dth = np.angle(np.exp(1j * (angle[b] - angle[a])))
        rx = np.where(vb, px[b], np.nan) - cax[:, None]
        ry = np.where(vb, py[b], np.nan) - cay[:, None]
        ex = (c[:, None] * rx + sn[:, None] * ry) / sc[:, None]
        ey = (-sn[:, None] * rx + c[:, None] * ry) / sc[:, None]
        dd = np.hypot(ex, ey)
        srt = np.sort(dd, axis=1)  # NaN last
        q = np.nanquantile(dd, [0.25, 0.5, 0.75], axis=1).T
        out.append(
            np.column_stack(
                [
                    dx,
                    dy,
                    dth,
                    srt[:, 0],
                    q[:, 1],
                    np.nanmax(dd, 1),
                    q,
                    np.nanmin(ex, 1),
                    np.nanmedian(ex, 1),
                    np.nanmax(ex, 1),
                    np.nanmin(ey, 1),
                    np.nanmedian(ey, 1),
                    np.nanmax(ey, 1),
                    srt[:, :3],
                ]
            )
        )
    return np.concatenate(out)


@pytest.mark.parametrize(("name", "mode"), CASES)
@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_orientation_rel(benchmark, tag, data, name, mode, impl):
    d = data[name]
    ra, rb = _pairs(d, name, mode)
    if mode == "all" and name == "20x50k":
        # 19M rows x 7 keypoints in numpy's nanquantile takes minutes: time a slice
        ra, rb = ra[: ra.shape[0] // 8], rb[: rb.shape[0] // 8]
    scale = np.full(ra.shape[0] and d["x"].shape[0], 6.0)
    args = (ra, rb, d["px"], d["py"], d["h"], scale)
    group = f"orientation-rel kernel {_label(d, name, mode, ra.shape[0])}"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo orientation_rel")
        benchmark(orientation_rel, *args)
    else:
        tag(
            benchmark,
            group,
            ours=False,
            target=">=3",
            label="numpy gathers + nanquantile / nanmedian / sort (chunked)",
        )
        benchmark.pedantic(_numpy_orientation, args, rounds=1, iterations=1)


# ----------------------------------------------------------------------------- approach-avoidance


def _numpy_aa(ra, rb, frames, seg, x, y, vx, vy, h, window=10, min_count=5):
    dx = x[rb] - x[ra]
    dy = y[rb] - y[ra]
    dist = np.hypot(dx, dy)
    sa = np.hypot(vx[ra], vy[ra])
    sb = np.hypot(vx[rb], vy[rb])
    with np.errstate(all="ignore"):
        ca = (vx[ra] * dx + vy[ra] * dy) / (sa * dist)
        cb = (vx[rb] * dx + vy[rb] * dy) / (sb * dist)
        g = (np.cos(h[ra]) * vx[ra] + np.sin(h[ra]) * vy[ra]) / sa
    q = (
        (dist <= 200)
        & (sa >= 5)
        & (sb >= 5)
        & (ca >= 0.8)
        & (cb >= 0.5)
        & (g >= math.cos(math.pi / 6))
    )
    n_seg = int(seg.max()) + 1
    span = int(frames.max()) + window + 1
    key = (seg[ra] * n_seg + seg[rb]) * span + frames[ra]  # sorted: (id1, id2, frame)
    cs = np.concatenate([[0], np.cumsum(q)])
    lo = np.searchsorted(key, key - window + 1)
    directed = q & (cs[1:] - cs[lo] >= min_count)
    mkey = (seg[rb] * n_seg + seg[ra]) * span + frames[ra]
    m = np.searchsorted(key, mkey)
    return directed, directed | directed[m]


@pytest.mark.parametrize(("name", "mode"), CASES)
@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_approach_avoidance(benchmark, tag, data, name, mode, impl):
    d = data[name]
    ra, rb = _pairs(d, name, mode)
    vx = step_velocity(d["x"], d["frames"], d["offsets"], d["keep"])
    vy = step_velocity(d["y"], d["frames"], d["offsets"], d["keep"])
    group = f"approach-avoidance kernel {_label(d, name, mode, ra.shape[0])}"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo approach_avoidance_events")
        got = benchmark(
            approach_avoidance_events,
            ra,
            rb,
            d["frames"][ra],
            d["offsets"],
            d["x"],
            d["y"],
            vx,
            vy,
            d["h"],
            distance_threshold=200.0,
            approacher_speed=5.0,
            avoider_speed=5.0,
            cos_approacher=0.8,
            cos_avoider=0.5,
            orientation_gate_cos=math.cos(math.pi / 6),
            window=10,
            min_count=5,
        )
    else:
        seg = d["ids"]
        tag(
            benchmark,
            group,
            ours=False,
            target=">=3",
            label="numpy metrics + cumsum/searchsorted windows",
        )
        got = benchmark(_numpy_aa, ra, rb, d["frames"][ra], seg, d["x"], d["y"], vx, vy, d["h"])
    assert got[0].shape == ra.shape


# ----------------------------------------------------------------------------- attention-target


def _numpy_attention(id1, id2, frames, angle, facing):
    a = np.where(facing & np.isfinite(angle), angle, np.inf)
    order = np.lexsort((id2, a, frames, id1))
    key = id1[order] * (int(frames.max()) + 1) + frames[order]
    _, first = np.unique(key, return_index=True)
    best = order[first]
    has = np.isfinite(a[best])
    return id1[best], frames[best], np.where(has, id2[best], -1), np.where(has, a[best], np.nan)


@pytest.mark.parametrize(("name", "mode"), CASES)
@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_attention_target(benchmark, tag, data, name, mode, impl):
    d = data[name]
    ra, rb = _pairs(d, name, mode)
    vals, fac = pair_facing(
        ra,
        rb,
        d["px"][:, 3].copy(),
        d["py"][:, 3].copy(),
        d["px"][:, 5].copy(),
        d["py"][:, 5].copy(),
        dist_thresh=50.0,
    )
    args = (d["ids"][ra], d["ids"][rb], d["frames"][ra], vals[:, 2].copy(), fac)
    group = f"attention-target kernel {_label(d, name, mode, ra.shape[0])}"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo attention_targets")
        benchmark(attention_targets, *args)
    else:
        tag(benchmark, group, ours=False, target=">=3", label="numpy lexsort + unique")
        benchmark(_numpy_attention, *args)


# ----------------------------------------------------------------------------- nn-delta-response


def _numpy_response(frames, ids, x, y, angle, speed, lag, fps=30.0):
    span = int(frames.max()) + int(lag) + 1
    key = ids * span + frames
    target = key + lag
    j = np.minimum(np.searchsorted(key, target), key.shape[0] - 1)
    ok = key[j] == target
    i = np.flatnonzero(ok)
    j = j[ok]
    dang = np.angle(np.exp(1j * (angle[j] - angle[i]))) / lag * fps
    return i, np.column_stack(
        [x[j] - x[i], y[j] - y[i], np.full(i.shape, float(lag)), dang, speed[j] - speed[i]]
    )


def _moveo_response(frames, offsets, x, y, angle, speed, lag):
    fut = lag_rows(frames, offsets, lag)
    rows = np.flatnonzero(fut >= 0)
    lags = np.full(frames.shape[0], lag, dtype=np.int64)
    return rows, nn_response(rows, fut[rows], x, y, angle, speed, lags, fps_scale=30.0)


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_nn_delta_response(benchmark, tag, data, name, impl):
    d = data[name]
    speed = np.hypot(np.gradient(d["x"]), np.gradient(d["y"]))
    group = f"nn-delta-response kernels {name} ({d['x'].shape[0]:,} rows)"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo lag_rows + nn_response")
        got = benchmark(
            _moveo_response, d["frames"], d["offsets"], d["x"], d["y"], d["h"], speed, 4
        )
    else:
        tag(benchmark, group, ours=False, target=">=3", label="numpy searchsorted + arithmetic")
        got = benchmark(_numpy_response, d["frames"], d["ids"], d["x"], d["y"], d["h"], speed, 4)
    assert got[0].shape[0] == d["x"].shape[0] - 4 * (d["offsets"].shape[0] - 1)


# ----------------------------------------------------------------------------- interaction filter

INTERACTION = {
    "shift_dist": 15.0,
    "max_dist": 40.0,
    "require_facing": True,
    "max_inv_orientation_diff_deg": 80.0,
    "min_run_frames": 25,
    "frame_padding": 10,
    "structure_size": 25,
}


def _numpy_interactions(frames, offsets, x, y, h, p):
    # baseline: per unordered pair, intersect1d of the frames, the criteria as array
    # arithmetic, scipy's closing / opening of the frame-axis mask (padded so the array
    # ends do not erode), runs by np.diff; (a, b) and (b, a) rows
    from scipy.ndimage import binary_closing, binary_opening

    size = p["structure_size"]
    st = np.ones(size, dtype=bool)
    n_seg = offsets.shape[0] - 1
    out = []
    for a in range(n_seg):
        for b in range(a + 1, n_seg):
            fa = frames[offsets[a] : offsets[a + 1]]
            fb = frames[offsets[b] : offsets[b + 1]]
            fr, ia, ib = np.intersect1d(fa, fb, assume_unique=True, return_indices=True)
            if not fr.size:
                continue
            ia += offsets[a]
            ib += offsets[b]
            sd = p["shift_dist"]
            d = np.hypot(
                x[ia] + np.cos(h[ia]) * sd - x[ib] - np.cos(h[ib]) * sd,
                y[ia] + np.sin(h[ia]) * sd - y[ib] - np.sin(h[ib]) * sd,
            )
            ok = d < p["max_dist"]
            if p["require_facing"]:
                diff = np.abs(np.angle(np.exp(1j * (h[ia] - h[ib]))))
                ok &= (np.pi - diff) < np.radians(p["max_inv_orientation_diff_deg"])
            mask = np.zeros(fr[-1] - fr[0] + 1 + 2 * (size + 1), dtype=bool)
            mask[fr - fr[0] + size + 1] = ok
            mask = binary_opening(binary_closing(mask, structure=st), structure=st)
            edge = np.diff(np.r_[0, mask.view(np.int8), 0])
            starts = np.flatnonzero(edge == 1) - (size + 1) + fr[0]
            ends = np.flatnonzero(edge == -1) - 1 - (size + 1) + fr[0]
            long = ends - starts + 1 >= p["min_run_frames"]
            lo = np.maximum(starts[long] - p["frame_padding"], fr[0])
            hi = np.minimum(ends[long] + p["frame_padding"], fr[-1])
            for s0, e0 in zip(lo, hi, strict=True):
                sel = (fr >= s0) & (fr <= e0)
                out.append((ia[sel], ib[sel]))
                out.append((ib[sel], ia[sel]))
    return out


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_interaction_filter(benchmark, tag, data, name, impl):
    d = data[name]
    args = (d["frames"], d["offsets"], d["x"], d["y"], d["h"])
    want = interaction_rows(*args, **INTERACTION)["focal"].shape[0]
    group = f"pair-interaction-filter kernel {name} ({d['x'].shape[0]:,} track rows)"
    if impl == "moveo":
        tag(benchmark, group, ours=True, label="moveo interaction_rows")
        got = benchmark(interaction_rows, *args, **INTERACTION)["focal"].shape[0]
    else:
        tag(benchmark, group, ours=False, target=">=3", label="numpy + scipy.ndimage per pair")
        res = benchmark(_numpy_interactions, *args, INTERACTION)
        got = sum(r[0].shape[0] for r in res)
    assert got == want


# ----------------------------------------------------------------------------- pair wavelet


@pytest.fixture(scope="module")
def pcs(bench_size):
    n = bench_size(small=20_000, full=200_000)
    rng = np.random.default_rng(1)
    # 2 blocks (one pair, both perspectives) x n frames x 6 PCs: smooth noise
    data = np.cumsum(rng.normal(size=(2 * n, 6)), axis=0) * 0.01
    return n, np.asfortranarray(data)


def _scales():
    import pywt

    freqs = np.logspace(np.log2(0.2), np.log2(5.0), 25, base=2.0)
    central = pywt.central_frequency(pywt.ContinuousWavelet("cmor1.5-1.0"))
    return (30.0 / (freqs * central)).astype(np.float32)


def _pywt_blocks(data, n, scales, method):
    import pywt

    w = pywt.ContinuousWavelet("cmor1.5-1.0")
    out = np.empty((data.shape[0], data.shape[1] * scales.shape[0]), dtype=np.float32)
    for b in range(data.shape[0] // n):
        for c in range(data.shape[1]):
            coef, _ = pywt.cwt(data[b * n : (b + 1) * n, c], scales, w, 1 / 30.0, method=method)
            power = (np.abs(coef) ** 2).astype(np.float32)
            lp = np.maximum(np.log(power + np.finfo(np.float32).tiny), -3.0)
            out[b * n : (b + 1) * n, c * 25 : (c + 1) * 25] = lp.T
    return out


def _moveo_blocks(data, n, filters, offs):
    nb = data.shape[0] // n
    starts = np.repeat(np.arange(nb) * n, data.shape[1])
    cols = np.tile(np.arange(data.shape[1]), nb)
    return cwt_log_power(data, starts, np.full(starts.shape, n), cols, filters, offs)


@pytest.mark.parametrize("impl", ["moveo", "pywt-conv", "pywt-fft"])
def test_pair_wavelet(benchmark, tag, pcs, impl):
    n, data = pcs
    scales = _scales()
    group = f"pair-wavelet CWT, 2 blocks x {n:,} frames x 6 PCs x 25 frequencies"
    if impl == "moveo":
        filters, offs = cwt_filters("cmor1.5-1.0", scales)
        tag(benchmark, group, ours=True, label="moveo FFT overlap-save + numba log power")
        got = benchmark(_moveo_blocks, data, n, filters, offs)
    else:
        method = impl.split("-")[1]
        label = f"pywt.cwt(method={method!r}) per block and PC"
        tag(benchmark, group, ours=False, target=">=3" if method == "conv" else "", label=label)
        got = benchmark.pedantic(
            _pywt_blocks, args=(data, n, scales, method), rounds=1, iterations=1
        )
    assert got.shape == (data.shape[0], 150)
    if impl != "moveo":  # the same values as ours (float32 log power)
        filters, offs = cwt_filters("cmor1.5-1.0", scales)
        np.testing.assert_allclose(got, _moveo_blocks(data, n, filters, offs), atol=1e-5)


# ----------------------------------------------------------------------------- nn-delta bins


@pytest.fixture(scope="module")
def responses(bench_size):
    n = bench_size(small=50_000, full=2_000_000)
    rng = np.random.default_rng(2)
    cols = (
        rng.uniform(-16, 16, n),
        rng.uniform(-16, 16, n),
        rng.normal(size=n),
        rng.normal(size=n),
    )
    # groups as nn-delta-bins forms them: all rows of each focal category, then per
    # neighbour category (each row in two groups)
    cat, nb = rng.random(n) < 0.5, rng.random(n) < 0.5
    groups = []
    for c in (False, True):
        groups.append(np.flatnonzero(cat == c))
        for m in (False, True):
            groups.append(np.flatnonzero((cat == c) & (nb == m)))
    return cols, groups


def _numpy_bins(cols, groups):
    nx, ny, da, ds = cols
    edges = np.linspace(-14.0, 14.0, 45)
    y_edges = np.linspace(-14.0, 14.0, 46)
    out = []
    for rows in groups:
        x, y, a, s = nx[rows], ny[rows], da[rows], ds[rows]
        ahead = (x >= 0) & (x <= 5.0)
        ty, ta = np.r_[y[ahead], -y[ahead]], np.r_[a[ahead], -a[ahead]]
        side = np.abs(y) <= 2.5
        for v, w in ((ty, ta), (x[side], s[side])):
            b = np.digitize(v, edges) - 1
            ok = (b >= 0) & (b < 44) & np.isfinite(w)
            out.append(np.bincount(b[ok], weights=w[ok], minlength=44))
            out.append(np.bincount(b[ok], minlength=44))
        xx, yy = np.r_[x, x], np.r_[y, -y]
        for w in (np.r_[a, -a], np.r_[s, s]):
            out.append(np.histogram2d(xx, yy, bins=[edges, y_edges], weights=w)[0])
            out.append(np.histogram2d(xx, yy, bins=[edges, y_edges])[0])
    return out


@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_nn_delta_bins(benchmark, tag, responses, impl):
    cols, groups = responses
    group = f"nn-delta-bins kernel ({cols[0].shape[0]:,} responses, {len(groups)} groups)"
    if impl == "moveo":
        rows = np.concatenate(groups)
        goff = np.r_[0, np.cumsum([g.shape[0] for g in groups])]
        tag(benchmark, group, ours=True, label="moveo delta_bins")
        got = benchmark(delta_bins, rows, goff, *cols)
        nx, ny = cols[0][rows], cols[1][rows]
        inside = (np.abs(nx) <= 14.0) & (np.abs(ny) <= 14.0)
        assert got["speed_count_2d"].sum() == 2 * inside.sum()
    else:
        tag(benchmark, group, ours=False, target=">=3", label="numpy digitize + histogram2d")
        got = benchmark(_numpy_bins, cols, groups)
        assert len(got) == 8 * len(groups)


# ----------------------------------------------------------------------------- peak memory

_MEM_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading, time
    import numpy as np, polars as pl, psutil
    from moveo.features import get_feature
    n_ids, n_frames, name, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rng = np.random.default_rng(0)
    h = np.cumsum(rng.normal(0, 0.1, (n_ids, n_frames)), axis=1)
    x = np.cumsum(2 * np.cos(h), axis=1) + rng.uniform(0, 300, (n_ids, 1))
    y = np.cumsum(2 * np.sin(h), axis=1) + rng.uniform(0, 300, (n_ids, 1))
    cols = {"id": np.repeat(np.arange(n_ids), n_frames),
            "frame": np.tile(np.arange(n_frames), n_ids),
            "X": x.ravel(), "Y": y.ravel(), "ANGLE": np.angle(np.exp(1j * h)).ravel()}
    for k in range(7):
        cols[f"poseX{k}"] = (x + (3 - k) * np.cos(h)).ravel()
        cols[f"poseY{k}"] = (y + (3 - k) * np.sin(h)).ravel()
    df = pl.DataFrame(cols).with_columns(group=pl.lit("g"), sequence=pl.lit("s"))
    params = {} if mode == "all" else {"pairs": {"mode": "nearest", "k": 3}}
    if name == "orientation-rel":
        params["scale"] = None
    feat = get_feature(name)(params)
    feat.apply(df.filter(pl.col("frame") < 5))  # compile / load the kernels (all ids)
    proc = psutil.Process()
    base = peak = proc.memory_info().rss
    running = True
    def sample():
        global peak
        while running:
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.002)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    t0 = time.perf_counter()
    out = feat.apply(df)
    dt = time.perf_counter() - t0
    running = False
    t.join()
    print(json.dumps({"rows": out.height, "peak_mb": (peak - base) / 2**20, "seconds": dt,
                      "out_mb": out.estimated_size() / 2**20}))
    """
)


@pytest.mark.parametrize(
    "feature", ["pair-position", "pair-facing", "orientation-rel", "approach-avoidance"]
)
def test_peak_memory_per_entry(feature, bench_size, figure):
    """One entry through ``apply`` in a fresh process: RSS growth and bytes per pair row."""
    for name, mode in CASES:
        n_full, t_full, n_small, t_small = SCENARIOS[name]
        n_ids = bench_size(small=n_small, full=n_full)
        n_frames = bench_size(small=t_small, full=t_full)
        proc = subprocess.run(
            [sys.executable, "-c", _MEM_SCRIPT, str(n_ids), str(n_frames), feature, mode],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        sel = "all pairs" if mode == "all" else "k=3 nearest"
        group = f"{feature} apply, {name} ({sel}, {res['rows']:,} rows)"
        figure(group, "peak RSS growth", res["peak_mb"], "MB")
        figure(group, "output frame size", res["out_mb"], "MB")
        figure(
            group,
            "peak bytes per output row",
            res["peak_mb"] * 2**20 / max(res["rows"], 1),
            "B/row",
            "scales with rows, not N^2",
        )
        figure(group, "apply rows/s", res["rows"] / res["seconds"], "rows/s")
