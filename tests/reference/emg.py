"""Slow, obvious reference implementations of the EMG kernels.

Every function works on one window of one channel (a 1-D float64 array) with
plain numpy / Python loops, written to read like the formula. ``reference_extract``
loops over windows and channels and returns what :func:`moveo.emg.extract`
returns. Conventions shared with the kernels: a window with NaN gives NaN,
0/0 = 0, log(0) = -inf, a/0 = +inf; exactly constant windows have the
documented values.
"""

from __future__ import annotations

import math

import numpy as np

LAMBDA = 0.1
EPS = 2.0**-52  # numpy.spacing(1.0), LibEMG's eps


def _ratio(num, den):
    if den != 0:
        return num / den
    if num == 0:
        return 0.0
    return math.inf if num > 0 else -math.inf


def _log(v):
    if v > 0:
        return math.log(v)
    if v == 0:
        return -math.inf
    return math.nan


def _constant(x):
    return bool(np.all(x == x[0]))


def _pvar(x):
    # population variance, exactly 0 for a constant array
    if len(x) == 0 or _constant(x):
        return 0.0
    return float(np.mean((x - np.mean(x)) ** 2))


# amplitude -------------------------------------------------------------------
def mav(x):
    return float(np.mean(np.abs(x)))


def iav(x):
    return float(np.sum(np.abs(x)))


def rms(x):
    return math.sqrt(float(np.mean(x**2)))


def var(x):
    return float(np.sum(x**2) / (len(x) - 1))


def mean(x):
    return float(np.mean(x))


def mpk(x):
    return float(np.max(x))  # signed maximum (LibEMG)


def ld(x):
    a = np.abs(x)
    if np.any(a == 0):
        return 0.0
    return math.exp(float(np.mean(np.log(a))))


def tm(x, order=3):
    return abs(float(np.mean(x**order)))


def isd(x):
    # integral square descriptor (LibEMG's ISD)
    return float(np.sum(x**2))


def mlk(x):
    # LibEMG's MLK: ln(Σ|x| + ε) / N
    return math.log(float(np.sum(np.abs(x))) + EPS) / len(x)


def msr(x):
    return float(np.mean(np.sqrt(np.abs(x))))


def ls(x):
    s = np.sort(x)
    n = len(s)
    b0 = float(np.mean(s))
    b1 = sum(i / (n - 1) * s[i] for i in range(n)) / n
    return 2 * b1 - b0


# difference --------------------------------------------------------------------
def wl(x):
    return float(np.sum(np.abs(np.diff(x))))


def mfl(x):
    s = float(np.sum(np.diff(x) ** 2))
    return -math.inf if s == 0 else math.log10(math.sqrt(s))


def mavfd(x):
    return wl(x) / (len(x) - 1)


def dasdv(x):
    return math.sqrt(float(np.sum(np.diff(x) ** 2)) / (len(x) - 1))


def mdiff(x):
    # LibEMG: (1/N) Σ (Δx)²
    return float(np.sum(np.diff(x) ** 2)) / len(x)


def mzp(x):
    # LibEMG: sqrt((1/N) Σ (Δx)²)
    return math.sqrt(float(np.sum(np.diff(x) ** 2)) / len(x))


def cor(x):
    # LibEMG: [(1/N) Σ (Δx)²] / ([(1/N) Σ (Δ²x)²] · Σ x²), 0/0 = 0, a/0 = inf
    n = len(x)
    d1 = float(np.sum(np.diff(x) ** 2)) / n
    d2 = float(np.sum(np.diff(x, 2) ** 2)) / n
    return _ratio(d1, d2 * float(np.sum(x**2)))


def wamp(x, threshold=2e-3):
    return float(sum(1 for i in range(len(x) - 1) if abs(x[i + 1] - x[i]) > threshold))


def ssc(x, threshold=0.0):
    return float(
        sum(1 for i in range(1, len(x) - 1) if (x[i] - x[i - 1]) * (x[i] - x[i + 1]) > threshold)
    )


def zc(x, threshold=0.0):
    nz = [v for v in x if v != 0]
    return float(
        sum(
            1
            for a, b in zip(nz[:-1], nz[1:], strict=True)
            if (a > 0) != (b > 0) and abs(a - b) > threshold
        )
    )


def mavslp(x, segments=2):
    n = len(x)
    m = [mav(x[k * n // segments : (k + 1) * n // segments]) for k in range(segments)]
    return np.diff(m)


# Hjorth ------------------------------------------------------------------------
def act(x):
    return _pvar(x)


def mob(x):
    return math.sqrt(_ratio(_pvar(np.diff(x)), _pvar(x)))


def comp(x):
    d1 = np.diff(x)
    d2 = np.diff(d1)
    mob_x = math.sqrt(_ratio(_pvar(d1), _pvar(x)))
    mob_d = math.sqrt(_ratio(_pvar(d2), _pvar(d1)))
    return _ratio(mob_d, mob_x)


# TD-PSD ------------------------------------------------------------------------
def tdpsd_stage(w):
    """The six log-moment values of one stage (LibEMG's length scaling), conventions applied.

    m0 = sqrt(Σw²) / (N-1), m2 = sqrt(Σ(Δw)² / (N-1)), m4 = sqrt(Σ(Δ²w)² / (N-1)),
    m̃ = m^λ / λ; returns ln m̃0, ln|m̃0 - m̃2|, ln|m̃0 - m̃4|,
    ln(m̃0 / sqrt(|m̃0 - m̃2| |m̃0 - m̃4|)), ln(m̃2 / sqrt(m̃0 m̃4)), ln(Σ|Δw| / Σ|Δ²w|).
    """
    n = len(w)
    d1 = np.diff(w)
    d2 = np.diff(w, 2)
    m0 = (math.sqrt(float(np.sum(w**2))) / (n - 1)) ** LAMBDA / LAMBDA
    m2 = math.sqrt(float(np.sum(d1**2)) / (n - 1)) ** LAMBDA / LAMBDA
    m4 = math.sqrt(float(np.sum(d2**2)) / (n - 1)) ** LAMBDA / LAMBDA
    return [
        _log(m0),
        _log(abs(m0 - m2)),
        _log(abs(m0 - m4)),
        _log(_ratio(m0, math.sqrt(abs(m0 - m2) * abs(m0 - m4)))),
        _log(_ratio(m2, math.sqrt(m0 * m4))),
        _log(_ratio(float(np.sum(np.abs(d1))), float(np.sum(np.abs(d2))))),
    ]


def tdpsd_correlation(a, b):
    """f = -2ab / (a² + b²); 0/0 = 0; an infinite a or b counts as its sign (±1), the other as 0."""
    if math.isinf(a) or math.isinf(b):
        a = math.copysign(1.0, a) if math.isinf(a) else 0.0
        b = math.copysign(1.0, b) if math.isinf(b) else 0.0
    den = a * a + b * b
    return 0.0 if den == 0 else -2.0 * a * b / den


def tdpsd(x):
    """All six published TD-PSD features of one window: stage on x and on ln(x² + ε), correlated."""
    a = tdpsd_stage(x)
    b = tdpsd_stage(np.log(x * x + EPS))
    return [tdpsd_correlation(p, q) for p, q in zip(a, b, strict=True)]


def m0(x):
    return tdpsd(x)[0]


def m2(x):
    return tdpsd(x)[1]


def m4(x):
    return tdpsd(x)[2]


def sparsi(x):
    return tdpsd(x)[3]


def irf(x):
    return tdpsd(x)[4]


def wlf(x):
    return tdpsd(x)[5]


# AR / cepstrum ---------------------------------------------------------------------
def ar(x, order=4):
    n = len(x)
    r = [sum(x[i] * x[i + k] for i in range(n - k)) for k in range(order + 1)]
    a = [0.0] * order
    err = r[0]
    if not err > 0:
        return np.array(a)
    for i in range(1, order + 1):
        k = (r[i] - sum(a[j - 1] * r[i - j] for j in range(1, i))) / err
        new = [a[j - 1] - k * a[i - j - 1] for j in range(1, i)]
        a[: i - 1] = new
        a[i - 1] = k
        err *= 1 - k * k
        if not err > 0:
            break
    return np.array(a)


def cc(x, order=4):
    a = ar(x, order)
    c = []
    for m in range(1, order + 1):
        c.append(a[m - 1] + sum((k / m) * c[k - 1] * a[m - k - 1] for k in range(1, m)))
    return np.array(c)


# spectral --------------------------------------------------------------------------
def _power(x, fs):
    p = np.abs(np.fft.rfft(x)) ** 2
    f = np.arange(len(p)) * fs / len(x)
    return f, p


def mnf(x, fs):
    f, p = _power(x, fs)
    tot = float(np.sum(p))
    return float(np.sum(f * p)) / tot if tot > 0 else 0.0


def mdf(x, fs):
    f, p = _power(x, fs)
    tot = float(np.sum(p))
    if not tot > 0:
        return 0.0
    cum = np.cumsum(p)
    return float(f[np.argmax(cum >= tot / 2)])


def mnp(x, fs):
    return float(np.mean(_power(x, fs)[1]))


def sm(x, fs, order=2.0):
    f, p = _power(x, fs)
    return float(np.sum(f**order * p))


def pap(x, fs):
    return float(np.max(_power(x, fs)[1]))


def dftr(x, fs, bands=None):
    # exact rational bin frequencies and edges: a bin on an edge belongs to the upper band
    from fractions import Fraction

    _, p = _power(x, fs)
    n = len(x)
    nyq = Fraction(fs) / 2
    if bands is None:
        edges = [nyq * i / 6 for i in range(7)]
        bands = list(zip(edges[:-1], edges[1:], strict=True))
    out = []
    for lo, hi in bands:
        lo, hi = Fraction(lo), Fraction(hi)
        total = 0.0
        for j in range(len(p)):
            f = Fraction(fs) * j / n
            if f >= lo and (f < hi or hi >= nyq):
                total += p[j]
        out.append(total)
    return np.array(out)


# statistics --------------------------------------------------------------------------
def skew(x):
    if _constant(x):
        return 0.0
    d = x - np.mean(x)
    return float(np.mean(d**3) / np.mean(d**2) ** 1.5)


def kurt(x):
    if _constant(x):
        return 0.0
    d = x - np.mean(x)
    return float(np.mean(d**4) / np.mean(d**2) ** 2)  # Pearson (LibEMG), not excess


# entropy -------------------------------------------------------------------------------
def _tolerance(x, tolerance):
    return tolerance * math.sqrt(_pvar(x))


def sampen(x, dimension=2, tolerance=0.2):
    n = len(x)
    r = _tolerance(x, tolerance)
    n_t = n - dimension

    def count(m):
        c = 0
        for i in range(n_t):
            for j in range(i + 1, n_t):
                if max(abs(x[i + k] - x[j + k]) for k in range(m)) <= r:
                    c += 1
        return c

    b = count(dimension)
    a = count(dimension + 1)
    return math.inf if a == 0 else -math.log(a / b)


def fuzzyen(x, dimension=2, tolerance=0.2, power=2.0):
    n = len(x)
    r = _tolerance(x, tolerance)
    n_t = n - dimension

    def phi(m):
        tpl = [x[i : i + m] - np.mean(x[i : i + m]) for i in range(n_t)]
        total = 0.0
        for i in range(n_t):
            for j in range(n_t):
                if i == j:
                    continue
                d = float(np.max(np.abs(tpl[i] - tpl[j])))
                if r > 0:
                    total += math.exp(-((d / r) ** power))
                else:
                    total += 1.0 if d == 0 else 0.0
        return total / (n_t * (n_t - 1))

    pm, pm1 = phi(dimension), phi(dimension + 1)
    if not pm1 > 0:
        return math.inf
    if not pm > 0:
        return -math.inf
    return math.log(pm) - math.log(pm1)


# wavelet ---------------------------------------------------------------------------------
def _bands(x, level):
    import pywt

    return pywt.wavedec(x, "sym8", mode="symmetric", level=level)


def _level(x, level):
    import pywt

    return max(1, pywt.dwt_max_level(len(x), 16)) if level is None else level


def weng(x, level=None):
    return np.array([float(np.sum(c**2)) for c in _bands(x, _level(x, level))])


def wv(x, level=None):
    return np.array([_pvar(c) for c in _bands(x, _level(x, level))])


def wwl(x, level=None):
    return np.array([wl(c) for c in _bands(x, _level(x, level))])


def went(x, level=None):
    e = weng(x, level)
    tot = float(np.sum(e))
    if not tot > 0:
        return 0.0
    p = e / tot
    return float(-sum(v * math.log(v) for v in p if v > 0))


# cross-channel ------------------------------------------------------------------------------
def phasor(amplitudes, derivative_amplitudes):
    """LibEMG's phasor pairs: for channels i < j (row-major), ln D_ij, then ln(D_ij / D'_ij).

    D_ij = |A_i e^{iθ_i} - A_j e^{iθ_j}|, θ_c = 2πc / C, and D' the same for the
    derivative amplitudes. Returns an array of shape (2, n_pairs).
    """
    c = len(amplitudes)

    def chords(amp):
        z = [a * np.exp(2j * np.pi * k / c) for k, a in enumerate(amp)]
        return [abs(z[i] - z[j]) for i in range(c) for j in range(i + 1, c)]

    d = chords(amplitudes)
    dd = chords(derivative_amplitudes)
    return np.array(
        [[_log(v) for v in d], [_log(_ratio(v, w)) for v, w in zip(d, dd, strict=True)]]
    )


def _phasor_amplitudes(x, code):
    if code == "RMSPHASOR":
        return rms(x), math.sqrt(float(np.mean(np.diff(x) ** 2)))
    return wl(x), float(np.sum(np.abs(np.diff(x, 2))))


SINGLE = {
    "MAV": mav, "IAV": iav, "RMS": rms, "VAR": var, "MEAN": mean, "MPK": mpk, "LD": ld,
    "TM": tm, "ISD": isd, "MLK": mlk, "MSR": msr, "LS": ls, "WL": wl, "MFL": mfl,
    "MAVFD": mavfd, "DASDV": dasdv, "MDIFF": mdiff, "MZP": mzp, "COR": cor, "WAMP": wamp,
    "SSC": ssc, "ZC": zc, "ACT": act, "MOB": mob, "COMP": comp, "M0": m0, "M2": m2,
    "M4": m4, "SPARSI": sparsi, "IRF": irf, "WLF": wlf, "SKEW": skew, "KURT": kurt,
    "SAMPEN": sampen, "FUZZYEN": fuzzyen, "WENT": went,
}  # fmt: skip
MULTI = {"MAVSLP": mavslp, "AR": ar, "CC": cc, "WENG": weng, "WV": wv, "WWL": wwl}
SPECTRAL = {"MNF": mnf, "MDF": mdf, "MNP": mnp, "SM": sm, "PAP": pap}


def reference_feature(x, code, fs, **params):
    """One feature of one channel window; scalar or 1-D array (multi-column)."""
    x = np.asarray(x, dtype=np.float64)
    if code in SPECTRAL:
        return SPECTRAL[code](x, fs, **params)
    if code == "DFTR":
        return dftr(x, fs, **params)
    if code in MULTI:
        return MULTI[code](x, **params)
    return SINGLE[code](x, **params)


def reference_extract(wins, features, fs, params=None):
    """Loop over windows and channels: {code: (n_windows, n_channels[, k])}."""
    params = params or {}
    wins = np.array(wins, dtype=np.float64)  # a writable copy (pywt needs one)
    n_w, n_ch, size = wins.shape
    out = {}
    out_pairs: dict[str, list] = {}
    for code in features:
        p = params.get(code, {})
        multi = code in MULTI or code == "DFTR"
        k = 1 if not multi else len(reference_feature(np.arange(size) + 1.0, code, fs, **p))
        result = np.empty((n_w, n_ch, k))
        for w in range(n_w):
            if code in ("RMSPHASOR", "WLPHASOR"):
                amp = np.array(
                    [
                        (math.nan, math.nan)
                        if np.isnan(wins[w, c]).any()
                        else _phasor_amplitudes(wins[w, c], code)
                        for c in range(n_ch)
                    ]
                )
                pairs = phasor(amp[:, 0], amp[:, 1])
                out_pairs.setdefault(code, []).append(pairs)
                continue
            for c in range(n_ch):
                x = wins[w, c]
                if np.isnan(x).any():
                    result[w, c] = np.nan
                else:
                    result[w, c] = reference_feature(x, code, fs, **p)
        if code in ("RMSPHASOR", "WLPHASOR"):
            n_pairs = n_ch * (n_ch - 1) // 2
            out[code] = np.array(out_pairs.get(code, [])).reshape(n_w, 2, n_pairs)
            continue
        out[code] = result if multi else result[:, :, 0]
    return out
