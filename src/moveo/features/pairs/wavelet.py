"""Feature ``pair-wavelet``: CWT spectrograms of pair features (MotionMapper's spectral stage).

Reads a ``pair-posedistance-pca`` run (columns ``PC0``, ``PC1``, ...) and writes,
for every column ``c`` and frequency ``k``, ``W_<c>_f<k>``: the clamped natural
log power ``max(log(|W|^2 + tiny), log_floor)`` (float32) of the continuous
wavelet transform ``W`` of the column with PyWavelets' ``wavelet`` (default the
complex Morlet ``cmor1.5-1.0``), at ``n_freq`` frequencies spaced evenly in log2
from ``f_min`` to ``f_max`` Hz (scale ``fps / (f * central_frequency)``, as
float32, as mosaic). Berman et al. (2014), J. R. Soc. Interface 11: 20140672.

The transform runs per ordered pair and perspective, in frame order, on each
*segment* of consecutive frames with a finite value: a frame gap or a NaN
starts a new signal (zero outside it, as ``pywt.cwt`` pads), and a NaN input
gives NaN outputs for that column. Values equal ``pywt.cwt`` (``method="conv"``)
of each segment; moveo computes them by FFT overlap-save
(:func:`moveo.kernels.pairs.cwt_log_power`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import Inputs, Params, Result
from moveo.features.base import BaseFeature
from moveo.kernels.pairs import cwt_filters, cwt_log_power

__all__ = ["PairWavelet", "wavelet_band"]

_PAIR_ID_COLS = ("id1", "id2", "perspective")


class WaveletSampling(Params):
    """Frame rate (mosaic's ``sampling`` of pair-wavelet: ``fps_default`` only).

    Attributes
    ----------
    fps_default : float
        Frames per second when neither an ``fps`` column nor the dataset gives it.
    """

    fps_default: float = Field(default=30.0, gt=0.0, allow_inf_nan=False)


def wavelet_band(
    wavelet: str, f_min: float, f_max: float, n_freq: int, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and the float32 scales of ``pair-wavelet``.

    Parameters
    ----------
    wavelet : str
        PyWavelets continuous wavelet name.
    f_min, f_max : float
        Band edges, Hz.
    n_freq : int
        Number of frequencies (evenly spaced in log2).
    fps : float
        Frames per second.

    Returns
    -------
    freqs : numpy.ndarray
        float64 array of shape (n_freq,).
    scales : numpy.ndarray
        float32 array of shape (n_freq,).
    """
    import pywt

    freqs = np.logspace(math.log2(f_min), math.log2(f_max), n_freq, base=2.0)
    central = float(pywt.central_frequency(pywt.ContinuousWavelet(wavelet)))
    return freqs, (float(fps) / (freqs * central)).astype(np.float32)


class PairWavelet(BaseFeature):
    """Wavelet spectrogram of pair columns (mosaic ``pair-wavelet``).

    Parameters
    ----------
    params : dict or PairWavelet.Params, optional
        See :class:`PairWavelet.Params`.
    inputs : tuple of Result, optional
        Default: the latest ``pair-posedistance-pca`` run.
    columns : Columns, optional
        Column names (the runner passes the dataset's).
    """

    name: ClassVar[str] = "pair-wavelet"
    version: ClassVar[str] = "0.1"
    default_inputs: ClassVar[tuple[Any, ...]] = (Result(feature="pair-posedistance-pca"),)

    class Params(Params):
        """Parameters of :class:`PairWavelet`.

        Attributes
        ----------
        sampling : WaveletSampling
            ``fps_default``.
        f_min, f_max : float
            Band, Hz.
        n_freq : int
            Frequencies.
        wavelet : str
            PyWavelets continuous wavelet.
        log_floor : float
            Lower clamp of the natural-log power.
        pc_prefix : str
            Input columns ``<pc_prefix>0``, ``<pc_prefix>1``, ... (consecutive).
        cols : list of str or None
            Input columns instead (those present are used).
        """

        sampling: WaveletSampling = Field(default_factory=WaveletSampling)
        f_min: float = Field(default=0.2, gt=0.0, allow_inf_nan=False)
        f_max: float = Field(default=5.0, gt=0.0, allow_inf_nan=False)
        n_freq: int = Field(default=25, gt=0)
        wavelet: str = "cmor1.5-1.0"
        log_floor: float = -3.0
        pc_prefix: str = "PC"
        cols: list[str] | None = None

        def model_post_init(self, __context: object) -> None:  # noqa: D102
            import pywt

            if self.wavelet not in pywt.wavelist(kind="continuous") and not any(
                self.wavelet.startswith(w) for w in pywt.wavelist(kind="continuous")
            ):
                raise ValueError(
                    f"pair-wavelet: wavelet {self.wavelet!r} is not a PyWavelets continuous "
                    f"wavelet ({pywt.wavelist(kind='continuous')})"
                )

    class Inputs(Inputs[Result]):
        """A pair feature run (default ``pair-posedistance-pca``)."""

    def transformed_columns(self, df: pl.DataFrame) -> list[str]:
        """Return the columns to transform (``cols``, the ``PC`` columns, or numeric ones)."""
        p = self.params
        if p.cols:
            cols = [col for col in p.cols if col in df.columns]
            if not cols:
                raise ValueError(
                    f"{self.name}: none of cols={p.cols} is a column of the input "
                    f"(columns: {df.columns})"
                )
            return cols
        pcs = []
        while f"{p.pc_prefix}{len(pcs)}" in df.columns:
            pcs.append(f"{p.pc_prefix}{len(pcs)}")
        if pcs:
            return pcs
        c = self.columns
        skip = {c.group_col, c.seq_col, c.frame_col, c.time_col, "fps", *_PAIR_ID_COLS}
        num = [col for col, dt in df.schema.items() if col not in skip and dt.is_numeric()]
        if not num:
            raise ValueError(
                f"{self.name}: no {p.pc_prefix}0.. columns and no numeric feature columns "
                f"in the input (columns: {df.columns}); it reads a pair-posedistance-pca run"
            )
        return num

    def frame_rate(self, df: pl.DataFrame) -> float:
        """Frames per second: a single-valued ``fps`` column, the dataset's, the default."""
        if "fps" in df.columns and df["fps"].dtype.is_numeric():
            s = df["fps"].cast(pl.Float64).drop_nulls().drop_nans().unique()
            if s.len() == 1 and float(s[0]) > 0:
                return float(s[0])
        if self.dataset_fps is not None:
            return float(self.dataset_fps)
        return float(self.params.sampling.fps_default)

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute the spectrogram of one entry.

        Parameters
        ----------
        df : polars.DataFrame
            A pair table (``frame``, ``id1``, ``id2``, ``perspective`` and the
            input columns).

        Returns
        -------
        polars.DataFrame
            group, sequence (when present), frame, id1, id2, perspective, then
            ``W_<col>_f<k>`` (Float32); one row per input row, sorted by
            (id1, id2, frame).
        """
        c = self.columns
        need = [c.frame_col, *_PAIR_ID_COLS]
        missing = [col for col in need if col not in df.columns]
        if missing:
            raise ValueError(
                f"{self.name}: missing column(s) {missing}; it reads a pair table such as a "
                f"pair-posedistance-pca run (inputs=(Result(feature='pair-posedistance-pca'),)). "
                f"Columns present: {df.columns}"
            )
        cols = self.transformed_columns(df)
        block_cols = [col for col in (c.group_col, c.seq_col) if col in df.columns]
        fps = self.frame_rate(df)
        if block_cols and df.height and df.select(block_cols).n_unique() > 1:
            parts = [
                self._one(part, cols, block_cols, fps)
                for part in df.partition_by(block_cols, maintain_order=True)
            ]
            return pl.concat(parts).sort([*block_cols, "id1", "id2", c.frame_col])
        return self._one(df, cols, block_cols, fps)

    def output_names(self, cols: list[str]) -> list[str]:
        """Return the output column names for the input columns ``cols``."""
        return [f"W_{col}_f{k}" for col in cols for k in range(self.params.n_freq)]

    def _one(
        self, df: pl.DataFrame, cols: list[str], block_cols: list[str], fps: float
    ) -> pl.DataFrame:
        p = self.params
        c = self.columns
        keys = [c.frame_col, *_PAIR_ID_COLS]
        df = df.sort(["id1", "id2", "perspective", c.frame_col], maintain_order=True)
        n = df.height
        frames = df[c.frame_col].cast(pl.Int64).to_numpy()
        block = np.zeros(n, dtype=bool)
        if n:
            block[0] = True
            for col in _PAIR_ID_COLS:
                v = df[col].to_numpy()
                block[1:] |= v[1:] != v[:-1]
            block[1:] |= np.diff(frames) != 1  # a frame gap starts a new signal
        data = np.asfortranarray(
            df.select([pl.col(col).cast(pl.Float64).fill_null(np.nan) for col in cols]).to_numpy()
        )
        seg_start, seg_len, seg_col = [], [], []
        for j in range(len(cols)):
            ok = np.isfinite(data[:, j])
            start = ok & (block | np.r_[True, ~ok[:-1]]) if n else ok
            end = ok & (np.r_[block[1:], True] | np.r_[~ok[1:], True]) if n else ok
            s, e = np.flatnonzero(start), np.flatnonzero(end)
            seg_start.append(s)
            seg_len.append(e - s + 1)
            seg_col.append(np.full(s.shape[0], j, dtype=np.int64))
        _, scales = wavelet_band(p.wavelet, p.f_min, p.f_max, p.n_freq, fps)
        filters, offsets = cwt_filters(p.wavelet, scales)
        out = cwt_log_power(
            data,
            np.concatenate(seg_start) if cols else np.empty(0, np.int64),
            np.concatenate(seg_len) if cols else np.empty(0, np.int64),
            np.concatenate(seg_col) if cols else np.empty(0, np.int64),
            filters,
            offsets,
            log_floor=p.log_floor,
        )
        names = self.output_names(cols)
        res = df.select([*block_cols, *keys]).with_columns(
            pl.col(c.frame_col).cast(pl.Int64), *(pl.col(k).cast(pl.Int64) for k in _PAIR_ID_COLS)
        )
        values = pl.DataFrame(
            [pl.Series(name, out[:, j], dtype=pl.Float32) for j, name in enumerate(names)]
        )
        return pl.concat([res, values], how="horizontal") if names else res
