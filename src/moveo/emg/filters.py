"""EMG filters: design helpers, a causal streaming filter and offline filtering.

Design uses :mod:`scipy.signal` and returns second-order sections (``sos``,
shape (n_sections, 6)); filtering runs in moveo's numba kernel
(:mod:`moveo.kernels.filters`).

Examples
--------
>>> import numpy as np
>>> from moveo.emg import filters
>>> sos = np.vstack([filters.butter_bandpass(20.0, 450.0, fs=2000.0),
...                  filters.notch(50.0, fs=2000.0, harmonics=3)])
>>> f = filters.StreamingFilter(sos, n_channels=8)
>>> chunk = np.zeros((10, 8), dtype=np.float32)
>>> f.process(chunk).dtype
dtype('float32')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from moveo.kernels.filters import first_non_finite, sosfilt_inplace

__all__ = [
    "StreamingFilter",
    "butter_bandpass",
    "butter_highpass",
    "butter_lowpass",
    "filter",
    "notch",
]


def _check_fs(fs: Any) -> float:
    if isinstance(fs, bool) or not isinstance(fs, int | float) or not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be the sampling rate in Hz (a positive number), got {fs!r}")
    return float(fs)


def _check_freq(name: str, value: Any, fs: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a frequency in Hz, got {value!r}")
    value = float(value)
    if not 0.0 < value < fs / 2.0:
        raise ValueError(
            f"{name}={value} Hz must lie strictly between 0 and the Nyquist frequency {fs / 2} Hz"
        )
    return value


def _check_order(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    return order


def butter_bandpass(low: float, high: float, fs: float, order: int = 4) -> np.ndarray:
    """Butterworth band-pass filter.

    Parameters
    ----------
    low, high : float
        Pass band edges in Hz (``0 < low < high < fs / 2``).
    fs : float
        Sampling rate in Hz.
    order : int, default 4
        Butterworth order (the band-pass has ``2 · order`` poles).

    Returns
    -------
    ndarray of shape (order, 6)
        Second-order sections.
    """
    from scipy import signal

    fs = _check_fs(fs)
    low = _check_freq("low", low, fs)
    high = _check_freq("high", high, fs)
    if low >= high:
        raise ValueError(f"low ({low} Hz) must be below high ({high} Hz)")
    return signal.butter(_check_order(order), [low, high], btype="bandpass", fs=fs, output="sos")


def butter_highpass(cutoff: float, fs: float, order: int = 4) -> np.ndarray:
    """Butterworth high-pass filter.

    Parameters
    ----------
    cutoff : float
        -3 dB frequency in Hz.
    fs : float
        Sampling rate in Hz.
    order : int, default 4

    Returns
    -------
    ndarray of shape (ceil(order / 2), 6)
        Second-order sections.
    """
    from scipy import signal

    fs = _check_fs(fs)
    cutoff = _check_freq("cutoff", cutoff, fs)
    return signal.butter(_check_order(order), cutoff, btype="highpass", fs=fs, output="sos")


def butter_lowpass(cutoff: float, fs: float, order: int = 4) -> np.ndarray:
    """Butterworth low-pass filter.

    Parameters
    ----------
    cutoff : float
        -3 dB frequency in Hz.
    fs : float
        Sampling rate in Hz.
    order : int, default 4

    Returns
    -------
    ndarray of shape (ceil(order / 2), 6)
        Second-order sections.
    """
    from scipy import signal

    fs = _check_fs(fs)
    cutoff = _check_freq("cutoff", cutoff, fs)
    return signal.butter(_check_order(order), cutoff, btype="lowpass", fs=fs, output="sos")


def notch(freq: float, fs: float, *, quality: float = 30.0, harmonics: int = 1) -> np.ndarray:
    """Mains notch filter at ``freq`` and its harmonics.

    Parameters
    ----------
    freq : float
        Mains frequency in Hz (50 or 60).
    fs : float
        Sampling rate in Hz.
    quality : float, default 30
        Quality factor ``freq / bandwidth`` of each notch.
    harmonics : int, default 1
        Number of notches: at ``freq, 2 freq, ..., harmonics · freq``; each must
        lie below the Nyquist frequency.

    Returns
    -------
    ndarray of shape (harmonics, 6)
        One second-order section per notch.
    """
    from scipy import signal

    fs = _check_fs(fs)
    freq = _check_freq("freq", freq, fs)
    if isinstance(harmonics, bool) or not isinstance(harmonics, int) or harmonics < 1:
        raise ValueError(f"harmonics must be a positive integer, got {harmonics!r}")
    if isinstance(quality, bool) or not isinstance(quality, int | float) or not quality > 0:
        raise ValueError(f"quality must be a positive number, got {quality!r}")
    sections = []
    for k in range(1, harmonics + 1):
        f = k * freq
        if f >= fs / 2.0:
            raise ValueError(
                f"harmonic {k} of {freq} Hz ({f} Hz) is at or above the Nyquist frequency "
                f"{fs / 2} Hz; use harmonics <= {k - 1}"
            )
        b, a = signal.iirnotch(f, quality, fs=fs)
        sections.append(np.concatenate([b / a[0], a / a[0]]))
    return np.asarray(sections, dtype=np.float64)


def _check_sos(sos: Any) -> np.ndarray:
    arr = np.asarray(sos, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 6 or arr.shape[0] < 1:
        raise ValueError(f"sos must have shape (n_sections, 6), got {np.shape(sos)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("sos holds NaN or inf coefficients")
    a0 = arr[:, 3]
    if np.any(a0 == 0):
        raise ValueError("sos has a section with a0 == 0")
    # normalise so a0 == 1, as the kernel assumes
    return np.ascontiguousarray(arr / a0[:, None])


def _check_samples(x: Any, what: str, n_channels: int | None = None) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype != np.float32 and arr.dtype != np.float64:
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{what} must hold float32 or float64 samples, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{what} must have shape (n_samples, n_channels), got {arr.shape}")
    if n_channels is not None and arr.shape[1] != n_channels:
        raise ValueError(
            f"{what} has {arr.shape[1]} channels, the filter was built for {n_channels}"
        )
    bad = first_non_finite(arr)
    if bad >= 0:
        i, c = divmod(int(bad), arr.shape[1])
        raise ValueError(
            f"{what} holds a NaN or inf at sample {i}, channel {c}; an IIR filter would carry it "
            "into every later sample. Interpolate or drop the gap first."
        )
    return arr


class StreamingFilter:
    """Causal IIR filter that keeps its state between chunks.

    Filtering a signal in chunks of any size gives exactly the same output as
    filtering it in one call (the state is float64 whatever the sample dtype).

    Parameters
    ----------
    sos : array_like of shape (n_sections, 6)
        Second-order sections (e.g. from :func:`butter_bandpass`, stacked with
        :func:`notch`).
    n_channels : int
        Channels per chunk.

    Attributes
    ----------
    state : ndarray of shape (n_sections, 2, n_channels), float64
        The filter state (zeros after construction and :meth:`reset`).
    """

    def __init__(self, sos: Any, n_channels: int):
        self.sos = _check_sos(sos)
        if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        self.n_channels = n_channels
        self.state = np.zeros((self.sos.shape[0], 2, n_channels))

    def reset(self) -> None:
        """Zero the state (start a new, unrelated signal)."""
        self.state[...] = 0.0

    def process(self, chunk: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Filter the next chunk.

        Parameters
        ----------
        chunk : ndarray of shape (n_samples, n_channels)
            float32 or float64 samples (any strides); 0 samples is allowed.
        out : ndarray of shape (n_samples, n_channels), optional
            Where to write (may be ``chunk`` to filter in place).

        Returns
        -------
        ndarray of shape (n_samples, n_channels)
            Same dtype as ``chunk`` (integers become float64).

        Raises
        ------
        ValueError
            On a wrong shape or a NaN/inf sample (the state is left untouched).
        """
        arr = _check_samples(chunk, "chunk", self.n_channels)
        if out is None:
            out = np.empty(arr.shape, dtype=arr.dtype)
        elif out.shape != arr.shape:
            raise ValueError(f"out has shape {out.shape}, expected {arr.shape}")
        sosfilt_inplace(self.sos, self.state, arr, out)
        return out


def _default_padlen(sos: np.ndarray) -> int:
    # the padding scipy.signal.sosfiltfilt uses by default
    ntaps = 2 * sos.shape[0] + 1
    ntaps -= min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * ntaps


def filter(data: np.ndarray, sos: Any, zero_phase: bool = False) -> np.ndarray:
    """Filter a whole recording.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_channels) or (n_samples,)
        float32 or float64 samples without NaN.
    sos : array_like of shape (n_sections, 6)
        Second-order sections.
    zero_phase : bool, default False
        False: causal filtering from a zero state (what a
        :class:`StreamingFilter` produces). True: forward-backward filtering
        (zero phase, squared magnitude response) with odd extension of
        ``3 · (2 · n_sections + 1)`` samples at both ends and steady-state
        initial conditions, like ``scipy.signal.sosfiltfilt``.

    Returns
    -------
    ndarray
        Same shape and dtype as ``data`` (integers become float64).

    Raises
    ------
    ValueError
        On NaN/inf samples, a bad ``sos``, or (zero phase) a recording not longer
        than the padding.
    """
    sos = _check_sos(sos)
    raw = np.asarray(data)
    one_d = raw.ndim == 1
    arr = _check_samples(raw[:, None] if one_d else raw, "data")
    if not zero_phase:
        out = np.empty(arr.shape, dtype=arr.dtype)
        sosfilt_inplace(sos, np.zeros((sos.shape[0], 2, arr.shape[1])), arr, out)
    else:
        from scipy import signal

        pad = _default_padlen(sos)
        n = arr.shape[0]
        if n <= pad:
            raise ValueError(
                f"zero-phase filtering needs more than {pad} samples (the edge padding), got {n}"
            )
        x = arr.astype(np.float64)
        ext = np.concatenate(
            [2.0 * x[0] - x[pad:0:-1], x, 2.0 * x[-1] - x[-2 : -pad - 2 : -1]], axis=0
        )
        zi = signal.sosfilt_zi(sos)[:, :, None]
        fwd = np.empty_like(ext)
        sosfilt_inplace(sos, zi * ext[0], ext, fwd)
        rev = np.ascontiguousarray(fwd[::-1])
        back = np.empty_like(rev)
        sosfilt_inplace(sos, zi * rev[0], rev, back)
        out = back[::-1][pad : pad + n].astype(arr.dtype)
    return out[:, 0] if one_d else out
