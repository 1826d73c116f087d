"""Per-individual summaries of social and locomotor metrics.

The kernel behind ``social-motion-summary``. Rows are in kernel order (each
individual's rows contiguous and sorted by frame; ``offsets`` delimit them).
Every output row summarises one individual's rows of one subgroup value (or
all its rows): the *samples*. Derivatives live on the individual's full
series -- ``accel[k] = (speed[k+1] - speed[k]) / dt`` over consecutive rows,
``jerk[j] = (accel[j+1] - accel[j]) / dt`` with ``dt`` the frame step of the
later interval over ``fps`` (NaN for a non-positive step) -- and an interval
belongs to a summary only if every sample it touches does.

Statistics skip NaN: means, medians, population standard deviations and the
interquartile range (linear interpolation between order statistics, as
``numpy.percentile``); ratios with a zero or non-finite denominator are NaN.
Output rows are independent: the kernel runs in parallel over them.
"""

from __future__ import annotations

import math

import numpy as np

from moveo._numba import jit, prange, register_warmup

__all__ = ["SUMMARY_COLUMNS", "social_summaries"]

SUMMARY_COLUMNS: tuple[str, ...] = (
    "nn_align",
    "frac_nn_ahead",
    "nn_bearing_x",
    "nn_bearing_y",
    "speed_match_nn",
    "speed_match_group",
    "speed_cv",
    "speed_rcv",
    "accel_mean",
    "accel_med",
    "accel_cv",
    "accel_rcv",
    "jerk_mean",
    "jerk_med",
    "jerk_cv",
    "jerk_rcv",
    "kick_rate",
    "burst_coast_ratio",
)
"""Float columns of :func:`social_summaries`, in order."""

_COUNT_COLUMNS = ("n_frames", "n_social_frames", "n_accel", "n_jerk")


@jit(inline="always")
def _ratio(num: float, den: float) -> float:
    if not np.isfinite(den) or den == 0.0:
        return np.nan
    return num / den


@jit
def _quantile(srt: np.ndarray, n: int, q: float) -> float:
    # numpy's "linear" method on sorted finite values (its lerp, bit for bit)
    idx = q * (n - 1)
    lo = int(math.floor(idx))
    hi = min(lo + 1, n - 1)
    t = idx - lo
    a = srt[lo]
    b = srt[hi]
    d = b - a
    return b - d * (1.0 - t) if t >= 0.5 else a + d * t


@jit
def _stats(buf: np.ndarray, n: int, out: np.ndarray, col: int, with_mean: bool) -> None:
    # out[col..]: (mean, median, std / mean, iqr / median) of buf[:n] (finite
    # values only); with_mean False writes (cv, rcv) at col, col + 1
    if n == 0:
        if with_mean:
            out[col] = np.nan
            out[col + 1] = np.nan
            out[col + 2] = np.nan
            out[col + 3] = np.nan
        else:
            out[col] = np.nan
            out[col + 1] = np.nan
        return
    s = 0.0
    for k in range(n):
        s += buf[k]
    mean = s / n
    ss = 0.0
    for k in range(n):
        ss += (buf[k] - mean) * (buf[k] - mean)
    std = math.sqrt(ss / n)
    srt = np.sort(buf[:n])
    med = srt[n // 2] if n % 2 == 1 else 0.5 * (srt[n // 2 - 1] + srt[n // 2])
    iqr = _quantile(srt, n, 0.75) - _quantile(srt, n, 0.25)
    if with_mean:
        out[col] = mean
        out[col + 1] = med
        out[col + 2] = _ratio(std, mean)
        out[col + 3] = _ratio(iqr, med)
    else:
        out[col] = _ratio(std, mean)
        out[col + 1] = _ratio(iqr, med)


@jit(parallel=True)
def _summaries(
    speed: np.ndarray,
    frames: np.ndarray,
    social_base: np.ndarray,
    nbr_speed: np.ndarray,
    dev_group: np.ndarray,
    nn_angle: np.ndarray,
    ego_x: np.ndarray,
    ego_y: np.ndarray,
    flags: np.ndarray,
    sub: np.ndarray,
    offsets: np.ndarray,
    out_seg: np.ndarray,
    out_code: np.ndarray,
    fps: float,
    fout: np.ndarray,
    iout: np.ndarray,
) -> None:
    # flags: has_angle, has_ego, has_nn, has_gm, burst_coast
    has_angle = flags[0]
    has_ego = flags[1]
    has_nn = flags[2]
    has_gm = flags[3]
    burst = flags[4]
    for o in prange(out_seg.shape[0]):
        s = out_seg[o]
        code = out_code[o]
        a = offsets[s]
        b = offsets[s + 1]
        n = b - a
        buf = np.empty(max(n, 1))
        sample = np.empty(n, dtype=np.bool_)
        for k in range(n):
            sample[k] = code < 0 or sub[a + k] == code
        # accel / jerk of the full series
        acc = np.empty(max(n - 1, 0))
        for k in range(n - 1):
            dt = (frames[a + k + 1] - frames[a + k]) / fps
            acc[k] = (speed[a + k + 1] - speed[a + k]) / dt if dt > 0 else np.nan
        jerk = np.empty(max(n - 2, 0))
        for j in range(n - 2):
            dt = (frames[a + j + 2] - frames[a + j + 1]) / fps
            jerk[j] = (acc[j + 1] - acc[j]) / dt if dt > 0 else np.nan
        # ---- social metrics over the social samples
        n_soc = 0
        c_ang = 0
        s_ang = 0.0
        n_ahead = 0
        c_bx = 0
        s_bx = 0.0
        s_by = 0.0
        c_nn = 0
        s_nn = 0.0
        c_gm = 0
        s_gm = 0.0
        for k in range(n):
            r = a + k
            if not (sample[k] and social_base[r]):
                continue
            n_soc += 1
            if has_angle:
                v = math.cos(nn_angle[r])
                if not np.isnan(v):
                    c_ang += 1
                    s_ang += v
            if has_ego:
                ex = ego_x[r]
                ey = ego_y[r]
                if ex > 0:
                    n_ahead += 1
                norm = math.hypot(ex, ey)  # no underflow for tiny offsets
                if norm > 0:
                    c_bx += 1
                    s_bx += ex / norm
                    s_by += ey / norm
            if has_nn:
                v = abs(speed[r] - nbr_speed[r])
                if not np.isnan(v):
                    c_nn += 1
                    s_nn += v
            if has_gm:
                v = abs(dev_group[r])
                if not np.isnan(v):
                    c_gm += 1
                    s_gm += v
        fout[o, 0] = s_ang / c_ang if c_ang > 0 else np.nan
        if has_ego and n_soc > 0:
            fout[o, 1] = n_ahead / n_soc
            fout[o, 2] = s_bx / c_bx if c_bx > 0 else np.nan
            fout[o, 3] = s_by / c_bx if c_bx > 0 else np.nan
        else:
            fout[o, 1] = np.nan
            fout[o, 2] = np.nan
            fout[o, 3] = np.nan
        fout[o, 4] = s_nn / c_nn if c_nn > 0 else np.nan
        fout[o, 5] = s_gm / c_gm if c_gm > 0 else np.nan
        # ---- speed dispersion over the samples
        m = 0
        for k in range(n):
            if sample[k] and not np.isnan(speed[a + k]):
                buf[m] = speed[a + k]
                m += 1
        _stats(buf, m, fout[o], 6, False)
        # ---- |accel| over intervals whose two samples are in
        m = 0
        n_acc = 0
        for k in range(n - 1):
            if sample[k] and sample[k + 1]:
                n_acc += 1
                v = abs(acc[k])
                if not np.isnan(v):
                    buf[m] = v
                    m += 1
        n_acc_finite = m
        _stats(buf, m, fout[o], 8, True)
        # ---- |jerk| over intervals whose three samples are in
        m = 0
        n_jerk = 0
        for j in range(n - 2):
            if sample[j] and sample[j + 1] and sample[j + 2]:
                n_jerk += 1
                v = abs(jerk[j])
                if not np.isnan(v):
                    buf[m] = v
                    m += 1
        _stats(buf, m, fout[o], 12, True)
        # ---- burst-and-coast: peaks of accel (positive then non-positive)
        if burst:
            if n_acc_finite == 0:
                fout[o, 16] = np.nan
                fout[o, 17] = np.nan
            else:
                peaks = 0
                for j in range(n - 2):
                    in_all = sample[j] and sample[j + 1] and sample[j + 2]
                    if in_all and acc[j] > 0 and not acc[j + 1] > 0:
                        peaks += 1
                span = 0.0
                n_pos = 0
                for k in range(n - 1):
                    if sample[k] and sample[k + 1]:
                        span += frames[a + k + 1] - frames[a + k]
                        if acc[k] > 0:
                            n_pos += 1
                fout[o, 16] = _ratio(float(peaks), span / fps)
                fout[o, 17] = n_pos / n_acc
        else:
            fout[o, 16] = np.nan
            fout[o, 17] = np.nan
        n_samples = 0
        for k in range(n):
            if sample[k]:
                n_samples += 1
        iout[o, 0] = n_samples
        iout[o, 1] = n_soc
        iout[o, 2] = n_acc
        iout[o, 3] = n_jerk


def social_summaries(
    speed: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    *,
    fps: float,
    social: np.ndarray,
    neighbor_speed: np.ndarray | None = None,
    dev_group: np.ndarray | None = None,
    nn_angle: np.ndarray | None = None,
    ego_x: np.ndarray | None = None,
    ego_y: np.ndarray | None = None,
    subgroup: np.ndarray | None = None,
    burst_coast: bool = False,
) -> dict[str, np.ndarray]:
    """Summaries per individual (and subgroup value) of social and motion metrics.

    Parameters
    ----------
    speed, frames : numpy.ndarray
        float64 speed and int64 frame numbers of shape (n), kernel order.
    offsets : numpy.ndarray
        int64 individual offsets, shape (n_individuals + 1,).
    fps : float
        Frame rate of the derivatives (``dt = frame step / fps``).
    social : numpy.ndarray
        bool of shape (n): rows with a nearest neighbour (and a large enough group).
    neighbor_speed : numpy.ndarray, optional
        Speed of the row's nearest neighbour; gives ``speed_match_nn``.
    dev_group : numpy.ndarray, optional
        Own speed minus the mean speed of the row's group; gives ``speed_match_group``.
    nn_angle : numpy.ndarray, optional
        Heading difference to the neighbour; gives ``nn_align``.
    ego_x, ego_y : numpy.ndarray, optional
        Neighbour position in the own heading frame; give ``frac_nn_ahead`` and
        the mean bearing ``nn_bearing_x`` / ``nn_bearing_y``.
    subgroup : numpy.ndarray, optional
        int64 code per row (negative: in no subgroup): one output row per
        individual and code present, in code order.
    burst_coast : bool, default False
        Compute ``kick_rate`` and ``burst_coast_ratio`` (else NaN).

    Returns
    -------
    dict of str to numpy.ndarray
        ``segment`` and ``code`` (int64: the individual's segment index and the
        subgroup code, -1 without subgroups) and the float64 columns of
        :data:`SUMMARY_COLUMNS` plus int64 ``n_frames``, ``n_social_frames``,
        ``n_accel``, ``n_jerk``, one entry per output row.
    """
    speed = np.ascontiguousarray(speed, dtype=np.float64)
    n = speed.shape[0]
    frames_f = np.ascontiguousarray(frames, dtype=np.float64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    soc = np.ascontiguousarray(social, dtype=np.bool_)
    if frames_f.shape != (n,) or soc.shape != (n,):
        raise ValueError("speed, frames and social must be 1-D arrays of equal length")
    if not (fps > 0 and math.isfinite(fps)):
        raise ValueError(f"fps must be a positive number, got {fps!r}")

    def opt(v: np.ndarray | None) -> np.ndarray:
        if v is None:
            return np.full(n, np.nan)
        v = np.ascontiguousarray(v, dtype=np.float64)
        if v.shape != (n,):
            raise ValueError(f"per-row arrays must have shape ({n},), got {v.shape}")
        return v

    flags = np.array(
        [nn_angle is not None, ego_x is not None and ego_y is not None,
         neighbor_speed is not None, dev_group is not None, bool(burst_coast)],
        dtype=np.bool_,
    )  # fmt: skip
    n_seg = offsets.shape[0] - 1
    seg_of = np.repeat(np.arange(n_seg, dtype=np.int64), np.diff(offsets))
    if subgroup is None:
        sub = np.full(n, -1, dtype=np.int64)
        out_seg = np.arange(n_seg, dtype=np.int64)[np.diff(offsets) > 0]
        out_code = np.full(out_seg.shape[0], -1, dtype=np.int64)
    else:
        sub = np.ascontiguousarray(subgroup, dtype=np.int64)
        if sub.shape != (n,):
            raise ValueError(f"subgroup must have shape ({n},), got {sub.shape}")
        keep = sub >= 0
        n_codes = int(sub.max()) + 1 if keep.any() else 1
        pairs = np.unique(seg_of[keep] * n_codes + sub[keep])
        out_seg = (pairs // n_codes).astype(np.int64)
        out_code = (pairs % n_codes).astype(np.int64)
    m = out_seg.shape[0]
    fout = np.empty((m, len(SUMMARY_COLUMNS)))
    iout = np.empty((m, 4), dtype=np.int64)
    _summaries(speed, frames_f, soc, opt(neighbor_speed), opt(dev_group), opt(nn_angle),
               opt(ego_x), opt(ego_y), flags, sub, offsets, out_seg, out_code, float(fps),
               fout, iout)  # fmt: skip
    out = {"segment": out_seg, "code": out_code}
    for j, name in enumerate(SUMMARY_COLUMNS):
        out[name] = np.ascontiguousarray(fout[:, j])
    for j, name in enumerate(_COUNT_COLUMNS):
        out[name] = np.ascontiguousarray(iout[:, j])
    return out


@register_warmup
def _warmup() -> None:
    speed = np.array([1.0, 2.0, np.nan, 4.0, 1.0, 0.5])
    frames = np.array([0, 1, 2, 3, 0, 2], dtype=np.int64)
    offsets = np.array([0, 4, 6], dtype=np.int64)
    soc = np.array([True, True, False, True, True, False])
    social_summaries(speed, frames, offsets, fps=30.0, social=soc, neighbor_speed=speed,
                     dev_group=speed, nn_angle=speed, ego_x=speed, ego_y=speed,
                     subgroup=np.array([0, 0, 1, 1, -1, 0]), burst_coast=True)  # fmt: skip
    social_summaries(speed, frames, offsets, fps=30.0, social=soc)
