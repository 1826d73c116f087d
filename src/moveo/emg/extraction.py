"""Windowing and feature extraction over EMG windows.

* :func:`windows` -- zero-copy sliding windows of ``(n_samples, n_channels)`` data.
* :func:`window_labels` -- one label per window from a per-sample label array.
* :class:`FeaturePlan` -- a validated feature selection for a fixed window
  shape; ``plan.transform(windows)`` for many windows, ``plan.window(win)`` for
  one (the realtime path: one jitted call, no per-call validation beyond shape
  and dtype).
* :func:`extract` / :func:`extract_frame` -- the one-shot API returning a dict of
  arrays or a polars DataFrame.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from moveo.emg._catalogue import PAIR_CODES, SPECS, n_columns, resolve
from moveo.kernels import emg as _k
from moveo.kernels import emg_onepass as _onepass
from moveo.kernels import emg_sliding as _sliding
from moveo.kernels import emg_window as _window
from moveo.kernels.emg_spectral import fft_plan
from moveo.kernels.emg_wavelet import dwt_layout, sym8_filters

if TYPE_CHECKING:
    import polars as pl

__all__ = ["FeaturePlan", "extract", "extract_frame", "window_labels", "windows"]

PARALLEL_MIN_SAMPLES = 1 << 21
"""Batches with fewer window samples than this run on the calling thread."""

SLOW_BLOCK_SAMPLES = 1 << 21
"""Whole-window features copy windows to float64 in blocks of about this many samples."""

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

FeatureSelection = str | Sequence[str]
ParamsLike = Mapping[str, Mapping[str, Any]] | None


def _positive_int(name: str, value: Any) -> int:
    try:
        as_int = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer number of samples, got {value!r}") from None
    if as_int < 1:
        raise ValueError(f"{name} must be >= 1 sample, got {as_int}")
    return as_int


def n_windows(n_samples: int, size: int, increment: int) -> int:
    """Return the number of complete windows, ``(n_samples - size) // increment + 1`` or 0.

    Parameters
    ----------
    n_samples, size, increment : int

    Returns
    -------
    int
    """
    if n_samples < size:
        return 0
    return (n_samples - size) // increment + 1


def windows(data: np.ndarray, size: int, increment: int) -> np.ndarray:
    """Sliding windows over ``data`` as a read-only zero-copy strided view.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_channels)
        Samples x channels. Any dtype and strides; nothing is copied. One-pass
        features are fastest on C-ordered data (each sample's channels
        contiguous: the kernels read the windows in place); other layouts
        are transposed window by window.
    size : int
        Window length in samples.
    increment : int
        Step between window starts in samples (``increment < size`` overlaps).

    Returns
    -------
    ndarray of shape (n_windows, n_channels, size)
        ``out[w, c, i] = data[w * increment + i, c]`` with
        ``n_windows = (n_samples - size) // increment + 1`` (a trailing partial
        window is dropped; 0 windows if ``n_samples < size``). Read-only: it
        shares memory with ``data``.

    Raises
    ------
    ValueError
        If ``data`` is not 2-D or ``size`` / ``increment`` are not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.emg import windows
    >>> data = np.arange(10.0).reshape(5, 2)
    >>> w = windows(data, 3, 2)
    >>> w.shape
    (2, 2, 3)
    >>> w[1, 0].tolist()
    [4.0, 6.0, 8.0]
    """
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ValueError(
            f"data must have shape (n_samples, n_channels), got an array of shape {arr.shape}; "
            "for a single channel pass data[:, None]"
        )
    size = _positive_int("size", size)
    increment = _positive_int("increment", increment)
    count = n_windows(arr.shape[0], size, increment)
    s0, s1 = arr.strides
    return np.lib.stride_tricks.as_strided(
        arr,
        shape=(count, arr.shape[1], size),
        strides=(increment * s0, s1, s0),
        writeable=False,
    )


def window_labels(
    labels: np.ndarray, size: int, increment: int, *, how: str = "mode"
) -> np.ndarray:
    """Reduce a per-sample label array to one label per window.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Label (class, trial, ...) of every sample; any dtype ``np.unique`` sorts.
    size, increment : int
        The window geometry used with :func:`windows`.
    how : {"mode", "last", "first"}, default "mode"
        ``"mode"``: the most frequent label in the window (ties go to the
        smallest label); ``"last"`` / ``"first"``: the label of the window's
        last / first sample (``"last"`` is what a realtime predictor sees).

    Returns
    -------
    ndarray of shape (n_windows,)
        Same dtype as ``labels``.

    Raises
    ------
    ValueError
        If ``labels`` is not 1-D or ``how`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.emg import window_labels
    >>> window_labels(np.array([0, 0, 1, 1, 1, 2]), 3, 3).tolist()
    [0, 1]
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-D (one label per sample), got shape {arr.shape}")
    size = _positive_int("size", size)
    increment = _positive_int("increment", increment)
    count = n_windows(arr.shape[0], size, increment)
    starts = np.arange(count, dtype=np.int64) * increment
    if how == "first":
        return arr[starts]
    if how == "last":
        return arr[starts + size - 1]
    if how != "mode":
        raise ValueError(f"how must be 'mode', 'last' or 'first', got {how!r}")
    if count == 0:
        return arr[:0]
    values, classes = np.unique(arr[: starts[-1] + size], return_inverse=True)
    best = np.empty(count, dtype=np.int64)
    _window.window_mode(
        np.ascontiguousarray(classes, dtype=np.int64), values.shape[0], size, increment, count, best
    )
    return values[best]


def _channel_names(channel_names: Sequence[Any] | None, n_channels: int) -> list[str]:
    if channel_names is None:
        return [str(c) for c in range(n_channels)]
    names = [str(c) for c in channel_names]
    if len(names) != n_channels:
        raise ValueError(
            f"channel_names has {len(names)} names but the windows have {n_channels} channels"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"channel_names must be unique, got {names}")
    return names


class FeaturePlan:
    """A validated feature selection for windows of one shape.

    Build it once (validation, FFT/DWT tables, parameter arrays), then call it
    on as many windows as needed. ``plan.window(win)`` computes one window with
    a single jitted call — the realtime predictor's path.

    Parameters
    ----------
    features : str or sequence of str
        Feature codes and/or group names (``"HTD"``, ``["MAV", "AR"]``).
    fs : float
        Sampling rate in Hz (required: spectral features depend on it).
    n_channels : int
        Channels per window.
    size : int
        Samples per window.
    params : dict, optional
        Per-feature parameters, e.g. ``{"ZC": {"threshold": 0.01}}``.
    channel_names : sequence, optional
        Names used in column names (default ``"0"``, ``"1"``, ...).

    Attributes
    ----------
    codes : tuple of str
        The selected feature codes, in output order.
    params : dict
        Resolved parameters per code.
    columns : list of str
        Output column names: ``{FEATURE}_{channel}`` or ``{FEATURE}_{channel}_{k}``;
        the phasor pairs ``{FEATURE}_{i}_{j}`` (``ln D``) for every pair, then
        ``{FEATURE}_{i}_{j}_ratio`` (``ln(D / D')``), LibEMG's column order.
    n_columns : int

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.emg import FeaturePlan
    >>> plan = FeaturePlan("HTD", fs=1000.0, n_channels=2, size=4)
    >>> plan.columns[:3]
    ['MAV_0', 'MAV_1', 'ZC_0']
    >>> plan.window(np.array([[1.0, -1.0, 1.0, -1.0], [0.0, 0.0, 0.0, 0.0]]))[:4].tolist()
    [1.0, 0.0, 3.0, 0.0]
    """

    def __init__(
        self,
        features: FeatureSelection,
        *,
        fs: float,
        n_channels: int,
        size: int,
        params: ParamsLike = None,
        channel_names: Sequence[Any] | None = None,
    ):
        self.n_channels = _positive_int("n_channels", n_channels)
        self.size = _positive_int("size", size)
        self.params = resolve(features, params, fs=fs, size=self.size)
        self.codes = tuple(self.params)
        for code in self.codes:
            if code in PAIR_CODES and self.n_channels < 2:
                raise ValueError(
                    f"{code} compares pairs of channels and needs at least 2 channels, "
                    f"got n_channels={self.n_channels}"
                )
        self.channel_names = _channel_names(channel_names, self.n_channels)
        self.fs = float(fs)
        n_feat = len(self.codes)
        codes = np.empty(n_feat, dtype=np.int64)
        ipar = np.zeros((n_feat, 2), dtype=np.int64)
        fpar = np.zeros((n_feat, 3), dtype=np.float64)
        ncol = np.empty(n_feat, dtype=np.int64)
        offs = np.empty(n_feat, dtype=np.int64)
        bands = np.zeros((0, 2), dtype=np.int64)
        self.blocks: dict[str, tuple[int, int]] = {}
        self.columns: list[str] = []
        pos = 0
        max_level = 0
        for f, code in enumerate(self.codes):
            values = self.params[code]
            codes[f] = _k.FEATURE_IDS[code]
            width = n_columns(code, values, self.n_channels)
            k = width // self.n_channels
            ncol[f] = k
            offs[f] = pos
            self.blocks[code] = (pos, width)
            pos += width
            if code in ("TM", "AR", "CC"):
                ipar[f, 0] = values["order"]
            elif code == "SM":
                fpar[f, 0] = values["order"]
            elif code in ("WAMP", "SSC", "ZC"):
                fpar[f, 0] = values["threshold"]
            elif code == "MAVSLP":
                ipar[f, 0] = values["segments"]
            elif code in ("SAMPEN", "FUZZYEN"):
                ipar[f, 0] = values["dimension"]
                fpar[f, 0] = values["tolerance"]
                fpar[f, 1] = values.get("power", 0.0)
            elif code == "DFTR":
                bands = self._band_bins(values["bands"])
            elif "level" in values:
                ipar[f, 0] = values["level"]
                max_level = max(max_level, values["level"])
            multi = SPECS[code].multi
            if code in PAIR_CODES:
                names = self.channel_names
                pairs = [
                    f"{names[i]}_{names[j]}"
                    for i in range(self.n_channels)
                    for j in range(i + 1, self.n_channels)
                ]
                self.columns.extend(f"{code}_{pair}" for pair in pairs)
                self.columns.extend(f"{code}_{pair}_ratio" for pair in pairs)
                continue
            for ch in self.channel_names:
                if multi:
                    self.columns.extend(f"{code}_{ch}_{j}" for j in range(k))
                else:
                    self.columns.append(f"{code}_{ch}")
        self.n_columns = pos
        fft = None
        if any(SPECS[c].category == "spectral" for c in self.codes):
            fft = fft_plan(self.size)
        dwt = None
        if max_level:
            dec_lo, dec_hi = sym8_filters()
            dwt = (dec_lo, dec_hi, *dwt_layout(self.size, dec_lo.shape[0], max_level))
        # one-pass features: running sums over the input as it is
        fast = np.array([int(c) in _k.FAST_IDS for c in codes], dtype=bool)
        thresholds = {"ZC": 0.0, "SSC": 0.0, "WAMP": 0.0}
        for code in thresholds:
            if code in self.params:
                thresholds[code] = float(self.params[code]["threshold"])
        self._fast: _onepass.OnePassPlan | None = None
        # realtime fast path (window()): the plan of kernels.emg_onepass.fast_window,
        # taken only for one-pass-only plans and channel-contiguous native float
        # windows, through its compiled entry point (one per dtype, fetched once)
        self._window_args: _onepass.OnePassPlan | None = None
        self._window_entries: dict[np.dtype, Any] = {}
        self._window_shape = (self.n_channels, self.size)
        self._out_shape = (self.n_columns,)
        self._window_strides = {
            _F32: (4, 4 * self.n_channels),
            _F64: (8, 8 * self.n_channels),
        }
        if fast.any():
            self._fast = _onepass.OnePassPlan.build(
                codes[fast],
                offs[fast],
                thr_zc=thresholds["ZC"],
                thr_ssc=thresholds["SSC"],
                thr_wamp=thresholds["WAMP"],
            )
            if fast.all():
                self._window_args = self._fast
        # whole-window features: on float64 copies of the windows
        self._slow: _window.WindowPlan | None = None
        # LS over overlapping sample-major windows: kernels.emg_sliding keeps each
        # window sorted; the other whole-window features then run without LS
        self._ls_offset: int | None = None
        self._slow_without_ls: _window.WindowPlan | None = None
        if not fast.all():

            def window_plan(keep: np.ndarray) -> _window.WindowPlan:
                return _window.WindowPlan.build(
                    codes[keep],
                    ipar[keep],
                    fpar[keep],
                    offs[keep],
                    ncol[keep],
                    df=self.fs / self.size,
                    bands=bands,
                    fft=fft,
                    dwt=dwt,
                )

            self._slow = window_plan(~fast)
            if "LS" in self.blocks:
                self._ls_offset = self.blocks["LS"][0]
                rest = ~fast & (codes != _k.ID_LS)
                self._slow_without_ls = window_plan(rest) if rest.any() else None

    def _band_bins(self, bands: Sequence[tuple[float, float]]) -> np.ndarray:
        # bin j (at f_j = j fs / N) is in [lo, hi); a band reaching the Nyquist frequency
        # also takes the Nyquist bin. Edges within 1e-9 bins of a bin count as on it, so
        # rounding in fs / N never moves a bin across an edge it sits on.
        df = self.fs / self.size
        n_bins = self.size // 2 + 1
        nyquist = self.fs / 2.0
        out = np.empty((len(bands), 2), dtype=np.int64)
        for b, (lo, hi) in enumerate(bands):
            first = min(n_bins, max(0, math.ceil(lo / df - 1e-9)))
            stop = n_bins if hi >= nyquist * (1 - 1e-12) else math.ceil(hi / df - 1e-9)
            out[b] = (first, max(first, min(n_bins, stop)))
        return out

    def __repr__(self) -> str:
        return (
            f"FeaturePlan({list(self.codes)}, fs={self.fs}, n_channels={self.n_channels}, "
            f"size={self.size}, n_columns={self.n_columns})"
        )

    def _check(self, arr: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
        if arr.dtype != np.float32 and arr.dtype != np.float64:
            if arr.dtype.kind not in "iuf":
                raise TypeError(
                    f"{what} must hold float32 or float64 samples, got dtype {arr.dtype}"
                )
            arr = arr.astype(np.float64)
        if arr.shape[-2:] != shape[-2:] or arr.ndim != len(shape):
            raise ValueError(
                f"{what} must have shape {shape} (plan built for n_channels={self.n_channels}, "
                f"size={self.size}), got {arr.shape}"
            )
        return arr

    def transform(self, wins: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Compute the features of many windows (in parallel over windows).

        Parameters
        ----------
        wins : ndarray of shape (n_windows, n_channels, size)
            float32 or float64 (integers are converted), any strides.
        out : ndarray of shape (n_windows, n_columns), float64, optional
            Where to write.

        Returns
        -------
        ndarray of shape (n_windows, n_columns), float64
            Columns in :attr:`columns` order.
        """
        arr = self._check(np.asarray(wins), (-1, self.n_channels, self.size), "windows")
        if out is None:
            out = np.empty((arr.shape[0], self.n_columns))
        if arr.shape[0]:
            work = arr.shape[0] * arr.shape[1] * arr.shape[2]
            # a parallel region only pays off on large batches
            parallel = work >= PARALLEL_MIN_SAMPLES and numba.get_num_threads() > 1
            reads_flat = self._fast is not None or self._ls_offset is not None
            flat = _sample_major(arr) if reads_flat else None
            if self._fast is not None:
                if flat is not None:
                    run = _onepass.fast_rows_parallel if parallel else _onepass.fast_rows
                    run(flat[0], flat[1], arr.shape[0], self._fast, out)
                else:
                    run = _onepass.fast_windows_parallel if parallel else _onepass.fast_windows
                    run(arr, self._fast, out)
            slow = self._slow
            if self._ls_offset is not None and flat is not None and flat[1] < self.size:
                # overlapping windows of one buffer: LS slides a sorted window along it
                run = _sliding.ls_rows_parallel if parallel else _sliding.ls_rows
                run(flat[0], flat[1], arr.shape[0], self._ls_offset, out)
                slow = self._slow_without_ls
            if slow is not None:
                run = _window.slow_windows_parallel if parallel else _window.slow_windows
                copy = _window.copy_windows_parallel if parallel else _window.copy_windows
                # float64 copies in blocks of about SLOW_BLOCK_SAMPLES samples
                step = max(1, SLOW_BLOCK_SAMPLES // (arr.shape[1] * arr.shape[2]))
                block = np.empty((min(step, arr.shape[0]), arr.shape[1], arr.shape[2]))
                for lo in range(0, arr.shape[0], step):
                    hi = min(lo + step, arr.shape[0])
                    copy(arr[lo:hi], block)
                    run(block[: hi - lo], slow, out[lo:hi])
        return out

    def window(self, win: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Compute the features of one window (the realtime path).

        Parameters
        ----------
        win : ndarray of shape (n_channels, size)
            float32 or float64, any strides (``buffer[-size:].T`` of a
            ``(n_samples, n_channels)`` buffer works without a copy).
        out : ndarray of shape (n_columns,), float64, optional
            Preallocated output, written in place and returned (reuse it between
            calls to avoid an allocation; the caller owns it: moveo never keeps
            it). Without ``out`` every call returns a new array.

        Returns
        -------
        ndarray of shape (n_columns,), float64
            ``out`` when given.

        Notes
        -----
        The fastest case is a plan of one-pass features only (e.g. ``"HTD"``,
        ``"TDPSD"``) on a writeable, native-endian float32/float64 window whose
        channels are contiguous (``buffer[-size:].T`` of a C-ordered ring
        buffer), with ``out`` given: one numba call with five small arguments,
        checked only by shape, dtype and strides. Any other window takes the
        general path (same values).
        """
        if out is None:
            out = np.empty(self.n_columns)
        elif (
            type(out) is not np.ndarray
            or out.dtype is not _F64
            or out.strides != (8,)
            or (out.shape != self._out_shape)
        ):
            raise ValueError(
                f"out must be a contiguous float64 array of shape {self._out_shape}, got "
                f"{type(out).__name__} {getattr(out, 'dtype', '')} {getattr(out, 'shape', '')}"
            )
        plan = self._window_args
        if (
            plan is not None
            and type(win) is np.ndarray
            and win.shape == self._window_shape
            and win.strides == self._window_strides.get(win.dtype)
            and (flags := win.flags).writeable
            and flags.aligned
            and (flags := out.flags).writeable
            and flags.aligned
        ):
            # these checks fix every argument's numba type, so the compiled entry point
            # is called directly (numba's argument typing would cost ~2 µs per call)
            entry = self._window_entries.get(win.dtype)
            if entry is None:
                entry = _onepass.fast_window_entry(win.dtype, plan)
                self._window_entries[win.dtype] = entry
            entry(win, plan, out)
            return out
        win = np.asarray(win)
        if win.shape != (self.n_channels, self.size) or (
            win.dtype != np.float32 and win.dtype != np.float64
        ):
            win = self._check(win, (self.n_channels, self.size), "window")
        rows = out[None]
        if self._fast is not None:
            st = win.strides
            if st[0] == win.itemsize and st[1] == win.itemsize * self.n_channels:
                # channel-contiguous (buffer[-size:].T): read in place, sample-major
                flat = win.T
                flat.flags.writeable = False  # one compiled type, shared with transform()
                _onepass.fast_rows(flat, 1, 1, self._fast, rows)
            else:
                _onepass.fast_windows(win[None], self._fast, rows)
        if self._slow is not None:
            block = np.empty((1, self.n_channels, self.size))
            _window.copy_windows(win[None], block)
            _window.slow_windows(block, self._slow, rows)
        return out

    def split(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        """Split an output matrix into per-feature arrays.

        Parameters
        ----------
        matrix : ndarray of shape (n_windows, n_columns)

        Returns
        -------
        dict of str to ndarray
            ``code -> (n_windows, n_channels)`` or ``(n_windows, n_channels, k)``
            for multi-column features, ``(n_windows, 2, n_pairs)`` for the phasor
            pairs (views into ``matrix``).
        """
        result = {}
        n_rows = matrix.shape[0]
        for code, (off, width) in self.blocks.items():
            if code in PAIR_CODES:
                result[code] = matrix[:, off : off + width].reshape(n_rows, 2, width // 2)
                continue
            k = width // self.n_channels
            block = matrix[:, off : off + width].reshape(n_rows, self.n_channels, k)
            result[code] = block if SPECS[code].multi else block[:, :, 0]
        return result


def _sample_major(arr: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Return ``(flat, increment)`` if ``arr`` is windows over C-ordered sample-major data.

    ``arr[w, c, i] == flat[w * increment + i, c]`` with ``flat`` a read-only
    C-ordered ``(n_samples, n_channels)`` view (what :func:`windows` makes of
    C-ordered data), else ``None``.
    """
    n_w, n_ch, size = arr.shape
    item = arr.itemsize
    s0, s1, s2 = arr.strides
    if n_w == 0 or s2 != n_ch * item or (n_ch > 1 and s1 != item):
        return None
    if n_w == 1:
        increment = 1
    elif s0 > 0 and s0 % s2 == 0:
        increment = s0 // s2
    else:
        return None
    flat = np.lib.stride_tricks.as_strided(
        arr, shape=((n_w - 1) * increment + size, n_ch), strides=(s2, item), writeable=False
    )
    return flat, increment


def _as_windows(wins: Any) -> np.ndarray:
    arr = np.asarray(wins)
    if arr.ndim != 3:
        raise ValueError(
            f"windows must have shape (n_windows, n_channels, size), got {arr.shape}; "
            "build them with moveo.emg.windows(data, size, increment)"
        )
    if arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"windows need at least one channel and one sample, got shape {arr.shape}")
    return arr


def extract(
    windows: np.ndarray,
    features: FeatureSelection,
    *,
    fs: float,
    params: ParamsLike = None,
) -> dict[str, np.ndarray]:
    """Compute EMG features over windows.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, n_channels, size)
        Windows, e.g. from :func:`windows` (float32 or float64, any strides).
    features : str or sequence of str
        A feature code (``"MAV"``), a group name (``"HTD"``) or a list of them.
        See :data:`moveo.emg.FEATURES` and :data:`moveo.emg.GROUPS`.
    fs : float
        Sampling rate in Hz. Required: spectral features depend on it and
        moveo never guesses it.
    params : dict, optional
        Per-feature parameters addressed by code:
        ``{"ZC": {"threshold": 0.01}, "AR": {"order": 6}}``.

    Returns
    -------
    dict of str to ndarray
        Feature code -> float64 array of shape (n_windows, n_channels), or
        (n_windows, n_channels, k) for multi-column features (AR, CC, MAVSLP,
        DFTR, WENG, WV, WWL), or (n_windows, 2, n_pairs) for the phasor pairs
        (RMSPHASOR, WLPHASOR: ``[:, 0, p]`` is ``ln D`` and ``[:, 1, p]``
        ``ln(D / D')`` of channel pair ``p``, pairs ``(i, j)``, ``i < j``, in
        row-major order, as LibEMG). A channel window containing NaN gives NaN.

    Raises
    ------
    ValueError
        Unknown feature, group or parameter (the message lists the valid
        ones), invalid parameter values, windows too short for a feature.

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.emg import extract, windows
    >>> t = np.arange(1000) / 1000.0
    >>> data = np.sin(2 * np.pi * 50 * t)[:, None]
    >>> out = extract(windows(data, 200, 100), ["RMS", "ZC"], fs=1000.0)
    >>> round(float(out["RMS"][0, 0]), 4), out["ZC"].shape
    (0.7071, (9, 1))
    """
    arr = _as_windows(windows)
    plan = FeaturePlan(features, fs=fs, n_channels=arr.shape[1], size=arr.shape[2], params=params)
    return plan.split(plan.transform(arr))


def extract_frame(
    windows: np.ndarray,
    features: FeatureSelection,
    *,
    fs: float,
    params: ParamsLike = None,
    channel_names: Sequence[Any] | None = None,
) -> pl.DataFrame:
    """Compute EMG features over windows into a polars DataFrame.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, n_channels, size)
    features : str or sequence of str
    fs : float
    params : dict, optional
        As for :func:`extract`.
    channel_names : sequence, optional
        Channel labels for the column names (default ``0, 1, ...``).

    Returns
    -------
    polars.DataFrame
        One row per window; Float64 columns ``{FEATURE}_{channel}`` or
        ``{FEATURE}_{channel}_{k}`` for multi-column features.

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.emg import extract_frame, windows
    >>> df = extract_frame(windows(np.ones((10, 2)), 5, 5), "HTD", fs=100.0)
    >>> df.columns
    ['MAV_0', 'MAV_1', 'ZC_0', 'ZC_1', 'SSC_0', 'SSC_1', 'WL_0', 'WL_1']
    """
    import polars as pl

    arr = _as_windows(windows)
    plan = FeaturePlan(
        features,
        fs=fs,
        n_channels=arr.shape[1],
        size=arr.shape[2],
        params=params,
        channel_names=channel_names,
    )
    matrix = plan.transform(arr)
    return pl.DataFrame({name: matrix[:, j] for j, name in enumerate(plan.columns)})
