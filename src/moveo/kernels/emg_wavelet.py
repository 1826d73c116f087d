"""Discrete wavelet transform kernels for the EMG wavelet features.

A multilevel DWT with the same conventions as ``pywt.wavedec(x, wavelet,
mode="symmetric")``: half-sample symmetric extension, full convolution with the
decomposition filters, keep every odd output sample. For a signal of length
``N`` and filters of length ``F`` one level gives ``(N + F - 1) // 2``
coefficients::

    cA[i] = Σ_j dec_lo[j] · x̃[2i + 1 - j]        cD[i] = Σ_j dec_hi[j] · x̃[2i + 1 - j]

with ``x̃[-k - 1] = x[k]`` and ``x̃[N + k] = x[N - 1 - k]``. The filter taps come
from PyWavelets (``pywt.Wavelet("sym8")``) so moveo never carries its own copy.
"""

from __future__ import annotations

import numpy as np

from moveo._numba import jit, register_warmup

__all__ = ["dwt_layout", "sym8_filters", "wavedec_into"]

_FILTERS: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def sym8_filters() -> tuple[np.ndarray, np.ndarray]:
    """Return the sym8 decomposition low-pass and high-pass filters.

    Returns
    -------
    dec_lo, dec_hi : ndarray of shape (16,), float64
    """
    filters = _FILTERS.get("sym8")
    if filters is None:
        import pywt

        wavelet = pywt.Wavelet("sym8")
        filters = (
            np.ascontiguousarray(wavelet.dec_lo, dtype=np.float64),
            np.ascontiguousarray(wavelet.dec_hi, dtype=np.float64),
        )
        _FILTERS["sym8"] = filters
    return filters


def dwt_layout(n: int, filter_len: int, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient lengths and offsets of a ``level``-deep DWT of ``n`` samples.

    Parameters
    ----------
    n : int
        Signal length.
    filter_len : int
        Length of the decomposition filters.
    level : int
        Number of levels (0 allowed: nothing is stored).

    Returns
    -------
    lengths : ndarray of shape (level + 1,), int64
        ``lengths[0] = n``; ``lengths[l]`` is the length of ``cA_l`` and ``cD_l``.
    offsets : ndarray of shape (level + 1,), int64
        ``offsets[l]`` (``l >= 1``) is where ``cA_l`` starts in the coefficient
        buffer; ``cD_l`` follows it. ``offsets[0]`` is the total buffer size.
    """
    lengths = np.empty(level + 1, dtype=np.int64)
    offsets = np.empty(level + 1, dtype=np.int64)
    lengths[0] = n
    pos = 0
    for lev in range(1, level + 1):
        lengths[lev] = (lengths[lev - 1] + filter_len - 1) // 2
        offsets[lev] = pos
        pos += 2 * lengths[lev]
    offsets[0] = pos
    return lengths, offsets


@jit
def _reflect(k, n):
    # half-sample symmetric index (repeats while k is outside, for short signals)
    while k < 0 or k >= n:
        k = -k - 1 if k < 0 else 2 * n - k - 1
    return k


@jit
def wavedec_into(x, dec_lo, dec_hi, lengths, offsets, coefs):
    """Multilevel DWT of ``x`` into ``coefs`` (layout of :func:`dwt_layout`).

    Parameters
    ----------
    x : ndarray of shape (n,), float64
    dec_lo, dec_hi : ndarray of shape (F,), float64
    lengths, offsets : ndarray of shape (level + 1,), int64
        From :func:`dwt_layout`.
    coefs : ndarray of shape (offsets[0],), float64
        Output: for each level ``l``, ``cA_l`` then ``cD_l``.
    """
    level = lengths.shape[0] - 1
    flen = dec_lo.shape[0]
    for lev in range(1, level + 1):
        n_in = lengths[lev - 1]
        n_out = lengths[lev]
        a_out = offsets[lev]
        d_out = a_out + n_out
        a_in = offsets[lev - 1] if lev > 1 else 0
        for i in range(n_out):
            acc_a = 0.0
            acc_d = 0.0
            base = 2 * i + 1
            for j in range(flen):
                k = base - j
                if k < 0 or k >= n_in:
                    k = _reflect(k, n_in)
                v = x[k] if lev == 1 else coefs[a_in + k]
                acc_a += dec_lo[j] * v
                acc_d += dec_hi[j] * v
            coefs[a_out + i] = acc_a
            coefs[d_out + i] = acc_d


@register_warmup
def _warmup() -> None:
    lo, hi = sym8_filters()
    lengths, offsets = dwt_layout(40, lo.shape[0], 2)
    coefs = np.empty(offsets[0])
    wavedec_into(np.linspace(0.0, 1.0, 40), lo, hi, lengths, offsets, coefs)
