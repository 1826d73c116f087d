"""The ``emg-features`` feature: windowed EMG features per recording, with labels.

Runs through the cached pipeline like the tracking features
(``run_feature(ds, EMGWindowFeatures(params={...}))``), over an EMG dataset
(:mod:`moveo.emg.recording`). Its output has one row per *window* (not per
sample): ``group, sequence, id (0), frame`` (the window's last sample), ``time``
(that sample's time), ``label`` (the window's label from the session's events,
null if unlabelled) and one Float64 column per feature and channel
(``{FEATURE}_{channel}`` or ``{FEATURE}_{channel}_{k}``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from moveo.contract import Inputs, Params, TrackInput
from moveo.features.base import BaseFeature

__all__ = ["EMGWindowFeatures"]


class EMGWindowFeatures(BaseFeature):
    """Windowed EMG features of every recording session, one row per window.

    Parameters
    ----------
    params : dict or EMGWindowFeatures.Params, optional
        Overrides of the defaults (see :class:`EMGWindowFeatures.Params`).
    inputs : EMGWindowFeatures.Inputs, optional
        Default: the dataset's recordings (``"tracks"``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from moveo.features.emg_features import EMGWindowFeatures
    >>> df = pl.DataFrame({"group": "s01", "sequence": "day1", "id": 0,
    ...                    "frame": np.arange(8), "time": np.arange(8) / 100.0,
    ...                    "ch0": np.ones(8, dtype=np.float32),
    ...                    "label": [0, 0, 0, 0, 1, 1, 1, 1]})
    >>> feat = EMGWindowFeatures(params={"features": ["MAV"], "window": 4,
    ...                                  "increment": 4, "fs": 100.0})
    >>> feat.apply(df).select("frame", "label", "MAV_ch0").rows()
    [(3, 0, 1.0), (7, 1, 1.0)]
    """

    name: ClassVar[str] = "emg-features"

    class Params(Params):
        """Parameters of :class:`EMGWindowFeatures`.

        Attributes
        ----------
        features : str or list of str
            Feature codes and/or group names (``"HTD"``, ``["MAV", "AR"]``).
        params : dict
            Per-feature parameters, ``{"ZC": {"threshold": 0.01}}``.
        window, increment : float
            Window length and step, in ``unit``.
        unit : {"samples", "ms"}
            Unit of ``window`` and ``increment`` (ms are converted with the
            sampling rate and rounded to whole samples).
        fs : float or None
            Sampling rate in Hz; ``None``: the dataset's ``fps``.
        channels : list of str or None
            Channels to use, in order; ``None``: every Float32 column.
        label_how : {"mode", "last", "first"}
            How a window's label is chosen from its samples' labels.
        """

        features: str | list[str] = "HTD"
        params: dict[str, dict[str, Any]] = Field(default_factory=dict)
        window: float = Field(default=200, gt=0)
        increment: float = Field(default=50, gt=0)
        unit: Literal["samples", "ms"] = "samples"
        fs: float | None = Field(default=None, gt=0, allow_inf_nan=False)
        channels: list[str] | None = None
        label_how: Literal["mode", "last", "first"] = "mode"

        @field_validator("features")
        @classmethod
        def _known(cls, value: str | list[str]) -> str | list[str]:
            from moveo.emg._catalogue import expand

            expand(value)  # raises ValueError listing the valid codes and groups
            return value

    class Inputs(Inputs[TrackInput]):
        """The recordings of an EMG dataset."""

    def _fs(self) -> float:
        fs = self.params.fs if self.params.fs is not None else self.dataset_fps
        if fs is None:
            raise ValueError(
                f"{self.name}: no sampling rate; create the EMG dataset with fps=<Hz> or pass "
                "params={'fs': ...}"
            )
        return float(fs)

    def _samples(self, value: float, what: str, fs: float) -> int:
        n = value * fs / 1000.0 if self.params.unit == "ms" else value
        rounded = int(round(n))
        if self.params.unit == "samples" and rounded != n:
            raise ValueError(f"{self.name}: {what} must be a whole number of samples, got {value}")
        if rounded < 1:
            raise ValueError(
                f"{self.name}: {what} = {value} {self.params.unit} is less than one sample at "
                f"{fs} Hz"
            )
        return rounded

    def _channels(self, df: pl.DataFrame) -> list[str]:
        if self.params.channels is not None:
            missing = [ch for ch in self.params.channels if ch not in df.columns]
            if missing:
                raise ValueError(
                    f"{self.name}: channel column(s) {missing} not in the entry (columns: "
                    f"{df.columns}); channels come from moveo.emg.recording.add_recording"
                )
            return list(self.params.channels)
        chans = [col for col, dt in df.schema.items() if dt == pl.Float32]
        if not chans:
            raise ValueError(
                f"{self.name}: the entry has no Float32 channel columns (columns: "
                f"{df.columns}); EMG recordings come from moveo.emg.recording.add_recording"
            )
        return chans

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute windowed features of one recording session.

        Parameters
        ----------
        df : polars.DataFrame
            One EMG entry: group, sequence, id, frame, time, channel columns and
            (optionally) the per-sample ``label`` column.

        Returns
        -------
        polars.DataFrame
            One row per window: group, sequence, id, frame, time, label, then
            the feature columns.
        """
        from moveo.emg import FeaturePlan, window_labels, windows
        from moveo.emg.recording import LABEL_COLUMN

        c = self.columns
        missing = [col for col in (c.frame_col,) if col not in df.columns]
        if missing:
            raise ValueError(
                f"{self.name}: missing column(s) {missing}; EMG entries come from "
                "moveo.emg.recording.add_recording"
            )
        fs = self._fs()
        size = self._samples(self.params.window, "window", fs)
        inc = self._samples(self.params.increment, "increment", fs)
        chans = self._channels(df)
        data = np.empty((df.height, len(chans)), dtype=np.float32, order="F")
        for j, ch in enumerate(chans):
            data[:, j] = df[ch].cast(pl.Float32).to_numpy()
        wins = windows(data, size, inc)
        plan = FeaturePlan(
            self.params.features,
            fs=fs,
            n_channels=len(chans),
            size=size,
            params=self.params.params,
            channel_names=chans,
        )
        matrix = plan.transform(wins)
        n_w = wins.shape[0]
        last = np.arange(n_w, dtype=np.int64) * inc + size - 1
        keys: dict[str, Any] = {}
        for col in (c.group_col, c.seq_col):
            if col in df.columns:
                keys[col] = df[col].gather(last) if n_w else df[col].head(0)
        keys[c.id_col] = pl.Series(c.id_col, np.zeros(n_w, dtype=np.int64))
        keys[c.frame_col] = df[c.frame_col].cast(pl.Int64).gather(last)
        if c.time_col in df.columns:
            keys[c.time_col] = df[c.time_col].cast(pl.Float64).gather(last)
        else:
            keys[c.time_col] = keys[c.frame_col].cast(pl.Float64) / fs
        if LABEL_COLUMN in df.columns and df[LABEL_COLUMN].null_count() < df.height:
            lab = df[LABEL_COLUMN].cast(pl.Int64)
            raw = lab.fill_null(-1).to_numpy()  # -1 stands for "no label" while reducing
            per_window = window_labels(raw, size, inc, how=self.params.label_how)
            label = pl.Series(LABEL_COLUMN, per_window, dtype=pl.Int64)
            label = label.set(pl.Series(per_window < 0), None)
        else:
            label = pl.Series(LABEL_COLUMN, [None] * n_w, dtype=pl.Int64)
        out = pl.DataFrame({**{k: v.alias(k) for k, v in keys.items()}, LABEL_COLUMN: label})
        feats = pl.DataFrame({name: matrix[:, j] for j, name in enumerate(plan.columns)})
        return pl.concat([out, feats], how="horizontal")
