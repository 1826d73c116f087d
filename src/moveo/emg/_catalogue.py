"""The EMG feature catalogue: codes, groups, parameters and their validation.

Each feature is described by a :class:`FeatureSpec`: its code, category, the
formula (as documentation), its parameters with defaults, whether it yields
several columns per channel, and the smallest window it is defined on.
:func:`resolve` turns a user's ``features`` / ``params`` into validated
per-feature parameter dicts, raising ``ValueError`` that lists the valid codes
or parameter names on any mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FEATURES",
    "GROUPS",
    "GROUP_PARAMS",
    "PAIR_CODES",
    "SPECS",
    "FeatureSpec",
    "resolve",
]


@dataclass(frozen=True)
class FeatureSpec:
    """Description of one catalogue feature.

    Attributes
    ----------
    code : str
        Upper-case feature code (``"MAV"``).
    category : str
        ``"amplitude"``, ``"difference"``, ``"hjorth"``, ``"tdpsd"``, ``"ar"``,
        ``"spectral"``, ``"statistics"``, ``"entropy"``, ``"cross-channel"`` or ``"wavelet"``.
    formula : str
        The definition moveo computes.
    params : dict
        Parameter name -> default value.
    multi : bool
        True if the feature has ``k`` columns per channel (output
        ``(n_windows, n_channels, k)``), or is a phasor-pair feature (output
        ``(n_windows, 2, n_pairs)``, see :data:`PAIR_CODES`).
    """

    code: str
    category: str
    formula: str
    params: dict[str, Any] = field(default_factory=dict)
    multi: bool = False


def _spec(
    code: str, category: str, formula: str, multi: bool = False, **params: Any
) -> FeatureSpec:
    return FeatureSpec(code, category, formula, dict(params), multi)


_TDPSD_F = "f = -2ab / (a² + b²) of a on x and b on ln(x² + ε); "

_SPEC_LIST = [
    # amplitude
    _spec("MAV", "amplitude", "(1/N) Σ |x_i|"),
    _spec("IAV", "amplitude", "Σ |x_i|"),
    _spec("RMS", "amplitude", "sqrt((1/N) Σ x_i²)"),
    _spec("VAR", "amplitude", "(1/(N-1)) Σ x_i²  (EMG is zero-mean)"),
    _spec("MEAN", "amplitude", "(1/N) Σ x_i"),
    _spec("MPK", "amplitude", "max x_i  (signed maximum, LibEMG's convention; not max |x_i|)"),
    _spec("LD", "amplitude", "exp((1/N) Σ ln|x_i|)  (0 if any x_i = 0)"),
    _spec("TM", "amplitude", "|(1/N) Σ x_i^order|", order=3),
    _spec("ISD", "amplitude", "Σ x_i²  (integral square descriptor, as LibEMG)"),
    _spec("MLK", "amplitude", "ln(Σ |x_i| + ε) / N,  ε = 2^-52  (as LibEMG)"),
    _spec("MSR", "amplitude", "(1/N) Σ sqrt(|x_i|)"),
    _spec("LS", "amplitude", "2 b1 - b0, b0 = mean, b1 = (1/N) Σ i/(N-1) x_(i) (sorted)"),
    # difference
    _spec("WL", "difference", "Σ |x_{i+1} - x_i|"),
    _spec("MFL", "difference", "log10(sqrt(Σ (x_{i+1} - x_i)²))  (-inf if constant)"),
    _spec("MAVFD", "difference", "(1/(N-1)) Σ |x_{i+1} - x_i|"),
    _spec("DASDV", "difference", "sqrt((1/(N-1)) Σ (x_{i+1} - x_i)²)"),
    _spec("MDIFF", "difference", "(1/N) Σ (x_{i+1} - x_i)²  (as LibEMG)"),
    _spec("MZP", "difference", "sqrt((1/N) Σ (x_{i+1} - x_i)²)  (as LibEMG)"),
    _spec(
        "COR",
        "difference",
        "[(1/N) Σ (Δx)²] / ([(1/N) Σ (Δ²x)²] · Σ x²)  (as LibEMG; 0/0 = 0)",
    ),
    _spec(
        "WAMP",
        "difference",
        "#{i : |x_{i+1} - x_i| > threshold}  (LibEMG's default threshold 2e-3)",
        threshold=2e-3,
    ),
    _spec(
        "SSC",
        "difference",
        "#{i : (x_i - x_{i-1})(x_i - x_{i+1}) > threshold}",
        threshold=0.0,
    ),
    _spec(
        "ZC",
        "difference",
        "sign changes between consecutive non-zero samples a, b with |a - b| > threshold",
        threshold=0.0,
    ),
    _spec(
        "MAVSLP",
        "difference",
        "MAV(segment k+1) - MAV(segment k), k = 0 .. segments-2",
        multi=True,
        segments=2,
    ),
    # Hjorth
    _spec("ACT", "hjorth", "(1/N) Σ (x_i - x̄)²"),
    _spec("MOB", "hjorth", "sqrt(var(Δx) / var(x))"),
    _spec("COMP", "hjorth", "MOB(Δx) / MOB(x)"),
    # TD-PSD (Khushaba et al., Neural Networks 55, 2014; Al-Timemy et al., IEEE TNSRE 2015,
    # doi:10.1109/TNSRE.2015.2445634): each code is f = -2ab / (a² + b²), the correlation of
    # its log-moment value a on the window x and b on ln(x² + ε), ε = 2^-52. Per stage w:
    # m0 = sqrt(Σw²) / (N-1), m2 = sqrt(Σ(Δw)² / (N-1)), m4 = sqrt(Σ(Δ²w)² / (N-1))
    # (LibEMG's length scaling), m̃_k = m_k^λ / λ with λ = 0.1.
    _spec("M0", "tdpsd", _TDPSD_F + "a = ln m̃0"),
    _spec("M2", "tdpsd", _TDPSD_F + "a = ln |m̃0 - m̃2|"),
    _spec("M4", "tdpsd", _TDPSD_F + "a = ln |m̃0 - m̃4|"),
    _spec("SPARSI", "tdpsd", _TDPSD_F + "a = ln(m̃0 / sqrt(|m̃0 - m̃2| |m̃0 - m̃4|))"),
    _spec("IRF", "tdpsd", _TDPSD_F + "a = ln(m̃2 / sqrt(m̃0 m̃4))"),
    _spec("WLF", "tdpsd", _TDPSD_F + "a = ln(Σ |Δw| / Σ |Δ²w|)"),
    # autoregressive
    _spec("AR", "ar", "a_1..a_order, x_n ≈ Σ a_k x_{n-k} (Levinson-Durbin)", multi=True, order=4),
    _spec("CC", "ar", "c_1 = a_1, c_n = a_n + Σ_{k<n} (k/n) c_k a_{n-k}", multi=True, order=4),
    # spectral (P_j = |DFT(x)_j|², j = 0..N/2, f_j = j fs / N)
    _spec("MNF", "spectral", "Σ f_j P_j / Σ P_j"),
    _spec("MDF", "spectral", "first f_j where the cumulative power reaches half the total"),
    _spec("MNP", "spectral", "(1/(N/2+1)) Σ P_j"),
    _spec("SM", "spectral", "Σ f_j^order P_j", order=2.0),
    _spec("PAP", "spectral", "max_j P_j"),
    _spec(
        "DFTR",
        "spectral",
        "Σ P_j over each band lo <= f_j < hi (bands=None: 6 equal bands over [0, fs/2])",
        multi=True,
        bands=None,
    ),
    # statistics
    _spec("SKEW", "statistics", "m3 / m2^1.5 (central moments; 0 if constant)"),
    _spec(
        "KURT",
        "statistics",
        "m4 / m2²  (Pearson kurtosis, LibEMG's convention, not excess; 0 if constant)",
    ),
    # entropy
    _spec("SAMPEN", "entropy", "-ln(A / B), r = tolerance · std(x)", dimension=2, tolerance=0.2),
    _spec(
        "FUZZYEN",
        "entropy",
        "ln φ_m - ln φ_{m+1}, membership exp(-(d / r)^power), r = tolerance · std(x)",
        dimension=2,
        tolerance=0.2,
        power=2.0,
    ),
    # cross-channel (LibEMG's phasor pairs): θ_c = 2πc / C; for every pair i < j,
    # D_ij = |A_i e^{iθ_i} - A_j e^{iθ_j}| and D'_ij the same of the derivative amplitudes;
    # columns: ln D_ij for all pairs, then ln(D_ij / D'_ij) (output (n_windows, 2, n_pairs))
    _spec(
        "RMSPHASOR",
        "cross-channel",
        "ln D_ij, ln(D_ij / D'_ij) per channel pair, A = RMS(x), A' = RMS(Δx)",
        multi=True,
    ),
    _spec(
        "WLPHASOR",
        "cross-channel",
        "ln D_ij, ln(D_ij / D'_ij) per channel pair, A = Σ|Δx|, A' = Σ|Δ²x|",
        multi=True,
    ),
    # wavelet (sym8, pywt.wavedec order: cA_L, cD_L, ..., cD_1)
    _spec("WENG", "wavelet", "Σ c² per band", multi=True, level=None),
    _spec("WV", "wavelet", "(1/n) Σ (c - c̄)² per band", multi=True, level=None),
    _spec("WWL", "wavelet", "Σ |c_{i+1} - c_i| per band", multi=True, level=None),
    _spec("WENT", "wavelet", "-Σ p_k ln p_k, p_k = band energy / total energy", level=None),
]

SPECS: dict[str, FeatureSpec] = {s.code: s for s in _SPEC_LIST}
"""Feature code -> :class:`FeatureSpec`."""

FEATURES: tuple[str, ...] = tuple(SPECS)
"""Every feature code, in catalogue order."""

_TDPSD = ("M0", "M2", "M4", "SPARSI", "IRF", "WLF")
_LS4 = ("LS", "MFL", "MSR", "WAMP")
_HTD = ("MAV", "ZC", "SSC", "WL")

GROUPS: dict[str, tuple[str, ...]] = {
    "HTD": _HTD,
    "TDAR": (*_HTD, "AR"),
    "LS4": _LS4,
    "LS9": (*_LS4, "ZC", "RMS", "IAV", "DASDV", "VAR"),
    "TDPSD": _TDPSD,
    "TSTD": ("MAVFD", "DASDV", "WAMP", "ZC", "MFL", "SAMPEN", *_TDPSD),
    "COMB": ("WL", "SSC", "LD", "AR"),
    "ITD": ("ISD", "COR", "MDIFF", "MLK"),
    "HJORTH": ("ACT", "MOB", "COMP"),
    "MSWT": ("WENG", "WV", "WWL", "WENT"),
    "DFTR": ("DFTR",),
}
"""Named feature groups (group name -> feature codes)."""

GROUP_PARAMS: dict[str, dict[str, dict[str, Any]]] = {"COMB": {"AR": {"order": 9}}}
"""Parameter defaults a group sets for its members (COMB uses AR of order 9)."""


# --------------------------------------------------------------------------- validation


def _int_param(code: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"{code} parameter {name!r} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{code} parameter {name!r} must be >= {minimum}, got {value}")
    return value


def _float_param(
    code: str, name: str, value: Any, *, minimum: float = 0.0, strict: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{code} parameter {name!r} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = ">" if strict else ">="
        raise ValueError(
            f"{code} parameter {name!r} must be finite and {bound} {minimum}, got {value}"
        )
    return value


def _bands_param(value: Any, fs: float) -> tuple[tuple[float, float], ...]:
    if value is None:
        edges = [i * (fs / 2.0) / 6.0 for i in range(7)]
        return tuple((edges[i], edges[i + 1]) for i in range(6))
    try:
        bands = tuple((float(lo), float(hi)) for lo, hi in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"DFTR parameter 'bands' must be a sequence of (low, high) pairs in Hz, got {value!r}"
        ) from None
    if not bands:
        raise ValueError("DFTR parameter 'bands' must hold at least one (low, high) pair")
    for lo, hi in bands:
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi <= lo:
            raise ValueError(f"DFTR band ({lo}, {hi}) must satisfy 0 <= low < high")
        if lo > fs / 2.0:
            raise ValueError(f"DFTR band ({lo}, {hi}) starts above the Nyquist frequency {fs / 2}")
    return bands


def max_wavelet_level(size: int) -> int:
    """Deepest sym8 DWT level for a window of ``size`` samples (``pywt.dwt_max_level``).

    Parameters
    ----------
    size : int

    Returns
    -------
    int
    """
    import pywt

    return int(pywt.dwt_max_level(size, 16))


_VALIDATORS: dict[str, Callable[[str, str, Any, float, int], Any]] = {
    "order": lambda code, name, v, fs, size: (
        _float_param(code, name, v) if code == "SM" else _int_param(code, name, v, 1)
    ),
    "threshold": lambda code, name, v, fs, size: _float_param(code, name, v),
    "segments": lambda code, name, v, fs, size: _int_param(code, name, v, 2),
    "dimension": lambda code, name, v, fs, size: _int_param(code, name, v, 1),
    "tolerance": lambda code, name, v, fs, size: _float_param(code, name, v),
    "power": lambda code, name, v, fs, size: _float_param(code, name, v, strict=True),
    "bands": lambda code, name, v, fs, size: _bands_param(v, fs),
    "level": lambda code, name, v, fs, size: (
        max(1, max_wavelet_level(size)) if v is None else _int_param(code, name, v, 1)
    ),
}

_MIN_SIZE_2 = {"VAR", "LS", "MAVFD", "DASDV", "MDIFF", "MZP", "MOB", "M0", "M2", "RMSPHASOR"}
_MIN_SIZE_3 = {"SSC", "COR", "COMP", "M4", "SPARSI", "IRF", "WLF", "WLPHASOR"}
PAIR_CODES = ("RMSPHASOR", "WLPHASOR")
"""Cross-channel codes with two columns per channel pair (``(n_windows, 2, n_pairs)``)."""


def min_size(code: str, params: Mapping[str, Any]) -> int:
    """Smallest window size on which ``code`` (with ``params``) is defined.

    Parameters
    ----------
    code : str
    params : mapping
        Resolved parameters of the feature.

    Returns
    -------
    int
    """
    if code in _MIN_SIZE_2:
        return 2
    if code in _MIN_SIZE_3:
        return 3
    if code == "MAVSLP":
        return params["segments"]
    if code in ("AR", "CC"):
        return params["order"] + 1
    if code in ("SAMPEN", "FUZZYEN"):
        return params["dimension"] + 2
    return 1


def n_columns(code: str, params: Mapping[str, Any], n_channels: int) -> int:
    """Return the number of output columns of ``code`` with ``params`` over ``n_channels``.

    Parameters
    ----------
    code : str
    params : mapping
    n_channels : int

    Returns
    -------
    int
        ``k * n_channels`` for a feature with ``k`` columns per channel; for the
        phasor pairs ``2 * n_pairs = n_channels * (n_channels - 1)``.
    """
    if code in PAIR_CODES:
        return n_channels * (n_channels - 1)
    if code in ("AR", "CC"):
        return params["order"] * n_channels
    if code == "MAVSLP":
        return (params["segments"] - 1) * n_channels
    if code == "DFTR":
        return len(params["bands"]) * n_channels
    if code in ("WENG", "WV", "WWL"):
        return (params["level"] + 1) * n_channels
    return n_channels


def expand(features: str | Sequence[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Expand codes and group names into unique feature codes.

    Parameters
    ----------
    features : str or sequence of str
        A feature code, a group name, or a list mixing both.

    Returns
    -------
    codes : list of str
        Unique codes in first-seen order.
    group_params : dict
        Parameter defaults set by the groups used (e.g. COMB's AR order 9).
    """
    items = [features] if isinstance(features, str) else list(features)
    if not items:
        raise ValueError("features is empty; give a feature code, a group name or a list of them")
    codes: list[str] = []
    group_params: dict[str, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"feature names must be strings, got {item!r}")
        if item in GROUPS:
            members = GROUPS[item]
            for code, values in GROUP_PARAMS.get(item, {}).items():
                group_params.setdefault(code, {}).update(values)
        elif item in SPECS:
            members = (item,)
        else:
            raise ValueError(
                f"unknown EMG feature or group {item!r}; valid features: {', '.join(FEATURES)}; "
                f"valid groups: {', '.join(GROUPS)}"
            )
        for code in members:
            if code not in codes:
                codes.append(code)
    return codes, group_params


def resolve(
    features: str | Sequence[str],
    params: Mapping[str, Mapping[str, Any]] | None,
    *,
    fs: float,
    size: int,
) -> dict[str, dict[str, Any]]:
    """Validate a feature selection and its parameters for windows of ``size`` samples.

    Parameters
    ----------
    features : str or sequence of str
        Codes and/or group names.
    params : mapping or None
        ``{code: {param: value}}``; every code must be among the selected
        features and every parameter must exist for it.
    fs : float
        Sampling rate in Hz (required; spectral features depend on it).
    size : int
        Window length in samples.

    Returns
    -------
    dict
        Selected code -> resolved parameters (defaults filled in, validated),
        in selection order.

    Raises
    ------
    ValueError
        On an unknown code, group or parameter, an invalid value, a window too
        short for a feature, or an invalid ``fs``.
    """
    if isinstance(fs, bool) or not isinstance(fs, int | float) or not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be the sampling rate in Hz (a positive number), got {fs!r}")
    codes, group_params = expand(features)
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a dict of {{feature code: {{param: value}}}}, got {params!r}"
        )
    for code, values in params.items():
        if code not in SPECS:
            raise ValueError(
                f"params given for unknown feature {code!r}; valid features: {', '.join(FEATURES)}"
            )
        if code not in codes:
            raise ValueError(
                f"params given for {code!r}, which is not among the selected features "
                f"({', '.join(codes)})"
            )
        if not isinstance(values, Mapping):
            raise ValueError(f"params[{code!r}] must be a dict of parameter values, got {values!r}")
        valid = SPECS[code].params
        for name in values:
            if name not in valid:
                names = ", ".join(valid) if valid else "none"
                raise ValueError(
                    f"unknown parameter {name!r} for {code}; valid parameters of {code}: {names}"
                )
    resolved: dict[str, dict[str, Any]] = {}
    for code in codes:
        spec = SPECS[code]
        merged = {**spec.params, **group_params.get(code, {}), **params.get(code, {})}
        values = {
            name: _VALIDATORS[name](code, name, v, float(fs), size) for name, v in merged.items()
        }
        need = min_size(code, values)
        if size < need:
            raise ValueError(f"{code} needs windows of at least {need} samples, got size {size}")
        if spec.category == "wavelet":
            top = max_wavelet_level(size)
            if values["level"] > top:
                raise ValueError(
                    f"{code} level {values['level']} is too deep for windows of {size} samples; "
                    f"the maximum sym8 level is {top} (longer windows allow deeper levels)"
                )
        resolved[code] = values
    return resolved
