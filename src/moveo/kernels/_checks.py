"""Input checks shared by the kernel wrappers (plain Python, no numba).

Every public kernel wrapper converts and validates its arguments here before it
calls a compiled kernel, so kernels can assume contiguous arrays of one dtype.
The functions take the argument's *name* first, so every message names the
offending argument the same way (``"x must be 1-D of length 3, got shape (4,)"``).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

__all__ = ["as_float64_1d", "as_int64_1d", "as_matrix", "check_offsets", "positive_int"]


def as_float64_1d(name: str, a: Any, n: int | None = None) -> np.ndarray:
    """Return ``a`` as a contiguous 1-D float64 array (of length ``n`` if given).

    Parameters
    ----------
    name : str
        Argument name for error messages.
    a : array_like
        Real numbers (integers are converted).
    n : int, optional
        Required length.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n,); ``a`` itself when it already is one.

    Raises
    ------
    TypeError
        Not a real numeric array.
    ValueError
        Not 1-D, or not of length ``n``.
    """
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        length = "" if n is None else f" of length {n}"
        raise ValueError(f"{name} must be 1-D{length}, got shape {arr.shape}")
    return arr


def as_int64_1d(name: str, a: Any, n: int | None = None) -> np.ndarray:
    """Return ``a`` as a contiguous 1-D int64 array (of length ``n`` if given).

    Parameters
    ----------
    name : str
        Argument name for error messages.
    a : array_like
        Integers.
    n : int, optional
        Required length.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n,).

    Raises
    ------
    TypeError
        Not a 1-D integer array.
    ValueError
        Not of length ``n``.
    """
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise TypeError(f"{name} must be a 1-D integer array, got {arr.dtype} {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {arr.shape[0]}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_matrix(name: str, a: Any) -> np.ndarray:
    """Return ``a`` as a C-contiguous 2-D float array (float32 kept, others float64).

    Parameters
    ----------
    name : str
        Argument name for error messages.
    a : array_like
        Real numbers of shape (rows, columns).

    Returns
    -------
    numpy.ndarray
        float32 or float64 array of shape (rows, columns).

    Raises
    ------
    TypeError
        Not real numbers.
    ValueError
        Not 2-D.
    """
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows, columns), got shape {arr.shape}")
    if arr.dtype not in (np.float32, np.float64):
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int >= 1.

    Parameters
    ----------
    name : str
        Argument name for error messages.
    value : int
        An integer (numpy integers accepted; booleans and floats are not).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Not an integer >= 1.
    """
    try:
        if isinstance(value, bool | np.bool_):
            raise TypeError
        out = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}") from None
    if out < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return out


def check_offsets(offsets: Any, n: int) -> np.ndarray:
    """Return segment offsets as int64, checked against ``n`` rows.

    Parameters
    ----------
    offsets : array_like of int or None
        ``[0, ..., n]``, non-decreasing (:func:`moveo.kernels.windows.segment_offsets`
        builds them); ``None`` means one segment of all ``n`` rows.
    n : int
        Number of rows.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_segments + 1,).

    Raises
    ------
    ValueError
        Offsets that do not start at 0, end at ``n`` or decrease.
    """
    if offsets is None:
        return np.array([0, n], dtype=np.int64)
    arr = np.ascontiguousarray(offsets, dtype=np.int64)
    if arr.ndim != 1 or arr.shape[0] < 1 or arr[0] != 0 or arr[-1] != n:
        raise ValueError(
            f"offsets must be a 1-D array of segment starts (offsets must start at 0 and end "
            f"at the number of rows, {n}); build them with "
            "moveo.kernels.windows.segment_offsets(ids)"
        )
    if np.any(np.diff(arr) < 0):
        raise ValueError("offsets must be non-decreasing")
    return arr
