"""EMG feature ids and constants shared by the EMG kernel modules.

The EMG kernels are split by what they compute; this module holds what they
share and imports none of them:

* :mod:`moveo.kernels.emg_onepass` -- *one-pass* features (:data:`FAST_IDS`: MAV,
  RMS, WL, ZC, SSC, TD-PSD, ...), running sums over the samples, read in place;
  one :class:`~moveo.kernels.emg_onepass.OnePassPlan` says what to compute;
* :mod:`moveo.kernels.emg_window` -- *whole-window* features (spectral, wavelet,
  AR/CC, entropy, sorting, ...) on float64 copies of the windows, and window
  labels; one :class:`~moveo.kernels.emg_window.WindowPlan` says what to compute;
* :mod:`moveo.kernels.emg_vmath` -- vectorisable ``log`` / ``exp`` (the TD-PSD
  logarithms and powers);
* :mod:`moveo.kernels.emg_spectral`, :mod:`moveo.kernels.emg_wavelet`,
  :mod:`moveo.kernels.emg_entropy` -- FFT, DWT and entropy building blocks of the
  whole-window features.

The plans are built and validated once by :class:`moveo.emg.FeaturePlan`; a plan
is one typed record (a ``typing.NamedTuple``, which numba reads by field name), so
the caller and the kernels cannot disagree on the order of its parts. Every path
(batch, one window, realtime) computes a window with the same code, so realtime
and offline features are the same numbers.
"""

from __future__ import annotations

__all__ = [
    "CROSS_CHANNEL_IDS",
    "FAST_IDS",
    "FEATURE_IDS",
    "MLK_EPS",
    "SPECTRAL_IDS",
    "TDPSD_EPS",
    "TDPSD_LAMBDA",
    "WAVELET_IDS",
]

# feature ids (numba reads module globals as compile-time constants)
ID_MAV, ID_IAV, ID_RMS, ID_VAR, ID_MEAN, ID_MPK, ID_LD, ID_TM = 0, 1, 2, 3, 4, 5, 6, 7
ID_ISD, ID_MLK, ID_MSR, ID_LS = 8, 9, 10, 11
ID_WL, ID_MFL, ID_MAVFD, ID_DASDV, ID_MDIFF, ID_MZP, ID_COR = 12, 13, 14, 15, 16, 17, 18
ID_WAMP, ID_SSC, ID_ZC, ID_MAVSLP = 19, 20, 21, 22
ID_ACT, ID_MOB, ID_COMP = 23, 24, 25
ID_M0, ID_M2, ID_M4, ID_SPARSI, ID_IRF, ID_WLF = 26, 27, 28, 29, 30, 31
ID_AR, ID_CC = 32, 33
ID_MNF, ID_MDF, ID_MNP, ID_SM, ID_PAP, ID_DFTR = 34, 35, 36, 37, 38, 39
ID_SKEW, ID_KURT = 40, 41
ID_SAMPEN, ID_FUZZYEN = 42, 43
ID_RMSPHASOR, ID_WLPHASOR = 44, 45
ID_WENG, ID_WV, ID_WWL, ID_WENT = 46, 47, 48, 49

FEATURE_IDS: dict[str, int] = {
    name[3:]: value for name, value in globals().items() if name.startswith("ID_")
}
"""Feature code -> kernel id."""

SPECTRAL_IDS = frozenset({ID_MNF, ID_MDF, ID_MNP, ID_SM, ID_PAP, ID_DFTR})
WAVELET_IDS = frozenset({ID_WENG, ID_WV, ID_WWL, ID_WENT})
CROSS_CHANNEL_IDS = frozenset({ID_RMSPHASOR, ID_WLPHASOR})

TDPSD_LAMBDA = 0.1
"""Power normalisation exponent of the TD-PSD moments (``m̃ = m^λ / λ``)."""
TDPSD_EPS = 2.0**-52
"""ε of the TD-PSD nonlinear stage ``ln(x² + ε)`` (``numpy.spacing(1.0)``, as LibEMG)."""
MLK_EPS = 2.0**-52
"""ε of MLK, ``ln(Σ|x| + ε) / N`` (as LibEMG)."""

FAST_IDS = frozenset(
    {ID_MAV, ID_IAV, ID_RMS, ID_VAR, ID_MEAN, ID_MPK, ID_LD, ID_ISD, ID_MLK}
    | set(range(ID_WL, ID_COR + 1))
    | {ID_WAMP, ID_SSC, ID_ZC}
    | set(range(ID_M0, ID_WLF + 1))
    | CROSS_CHANNEL_IDS
)
"""Features computed from one pass of running sums (no per-window copy)."""
