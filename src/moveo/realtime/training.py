"""Training data from recorded sessions, and the default EMG feature extraction."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["EMGExtract", "TrainingData"]


class EMGExtract:
    """Extract callback computing catalogue EMG features for every stream.

    Returns one flat float64 vector per window: for each stream (in the windows
    dict's order) the features of :class:`moveo.emg.FeaturePlan` (feature by
    feature, channel by channel). Live windows and recorded windows go through
    the same compiled kernels, so training and prediction cannot differ.

    Parameters
    ----------
    features : str or sequence of str, default "HTD"
        Codes or group names of :data:`moveo.emg.FEATURES` / :data:`moveo.emg.GROUPS`.
    fs : float or mapping of str to float
        Sampling rate, or one per stream name.
    params : dict, optional
        Per-feature parameters (``{"ZC": {"threshold": 0.01}}``).

    Examples
    --------
    >>> import numpy as np
    >>> extract = EMGExtract("HTD", fs=2000.0)
    >>> win = np.random.default_rng(0).standard_normal((4, 400)).astype(np.float32)
    >>> extract({"emg": win}).shape
    (16,)
    """

    def __init__(
        self,
        features: str | Sequence[str] = "HTD",
        *,
        fs: float | Mapping[str, float],
        params: dict[str, Any] | None = None,
    ):
        self.features = features if isinstance(features, str) else list(features)
        self.fs = fs if isinstance(fs, Mapping) else float(fs)
        self.params = params
        self._plans: dict[tuple[str, int, int], Any] = {}

    def __repr__(self) -> str:
        return f"EMGExtract({self.features!r}, fs={self.fs!r})"

    def _fs(self, name: str) -> float:
        if isinstance(self.fs, Mapping):
            if name not in self.fs:
                raise KeyError(f"EMGExtract has no sampling rate for stream {name!r}; "
                               f"known: {list(self.fs)}")
            return float(self.fs[name])
        return self.fs

    def plan(self, name: str, n_channels: int, size: int) -> Any:
        """Return (and cache) the :class:`moveo.emg.FeaturePlan` for a window shape.

        Parameters
        ----------
        name : str
            Stream name.
        n_channels, size : int
            Window shape.

        Returns
        -------
        moveo.emg.FeaturePlan
        """
        key = (name, int(n_channels), int(size))
        plan = self._plans.get(key)
        if plan is None:
            from moveo.emg import FeaturePlan

            plan = FeaturePlan(self.features, fs=self._fs(name), n_channels=n_channels,
                               size=size, params=self.params)
            self._plans[key] = plan
        return plan

    def warmup(self, shapes: Any) -> None:
        """Compile the kernels this extraction runs, for windows of these shapes.

        Runs each stream's :class:`~moveo.emg.FeaturePlan` on zero windows laid
        out as the predict loop (one live window) and training (a stack of
        recorded windows) hand them over, so exactly those kernels compile, and
        only those: a plan of one-pass codes such as HTD never compiles the
        spectral, entropy or wavelet kernels. :meth:`App.start` calls it for the
        extraction of a :class:`~moveo.realtime.Pipeline` (and for any declared
        with :meth:`App.add_warmup`).

        Parameters
        ----------
        shapes : App or mapping of str to (n_channels, size)
            An app (its streams' channel counts and window lengths) or the window
            shape per stream.
        """
        from moveo.emg._warm import warmup_plan

        if hasattr(shapes, "streams"):
            shapes = {n: (s.n_channels, s.window) for n, s in shapes.streams.items()}
        for name, (n_ch, size) in shapes.items():
            # live windows and TrainingData stacks: both owned channels-first arrays
            warmup_plan(self.plan(name, n_ch, size), ["owned"])

    def columns(self, shapes: Mapping[str, tuple[int, int]]) -> list[str]:
        """Return the feature names, ``{stream}:{FEATURE}_{channel}``.

        Parameters
        ----------
        shapes : mapping of str to (n_channels, size)
            Window shape per stream.

        Returns
        -------
        list of str
        """
        return [f"{name}:{c}" for name, (n_ch, size) in shapes.items()
                for c in self.plan(name, n_ch, size).columns]

    def __call__(self, windows: Mapping[str, np.ndarray]) -> np.ndarray:
        """Features of one window per stream.

        Parameters
        ----------
        windows : mapping of str to ndarray of shape (n_channels, n_samples)
            Channels-first windows.

        Returns
        -------
        ndarray of shape (n_features,)
        """
        parts = [self.plan(name, *w.shape).window(w) for name, w in windows.items()]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def batch(self, windows: Mapping[str, np.ndarray]) -> np.ndarray:
        """Features of many windows per stream at once.

        Parameters
        ----------
        windows : mapping of str to ndarray of shape (n_windows, n_channels, n_samples)
            Stacked windows.

        Returns
        -------
        ndarray of shape (n_windows, n_features)
        """
        parts = [self.plan(name, w.shape[1], w.shape[2]).transform(w)
                 for name, w in windows.items()]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


class TrainingData:
    """Labelled (or target-aligned) windows for ``@pipeline.train``.

    Parameters
    ----------
    windows : mapping of str to ndarray of shape (n_windows, n_channels, n_samples)
        Windows per stream, channels-first like the live windows.
    labels : ndarray of shape (n_windows,), optional
        Class index per window (classification).
    targets : ndarray of shape (n_windows, n_targets), optional
        Target values per window (regression).
    fs : float, optional
        Sampling rate in Hz.
    window_ms, hop_ms : float, optional
        How the windows were cut.
    times : ndarray of shape (n_windows,), optional
        Timestamp of each window's last sample.
    sessions : list of (str, str), optional
        The recorded sessions the windows come from.
    class_names : sequence of str, optional
        Names of the classes.
    session_index : ndarray of shape (n_windows,), optional
        Index into ``sessions`` of each window's session (default: all 0).
        Windows are in recording order within a session.
    """

    def __init__(
        self,
        windows: Mapping[str, np.ndarray],
        labels: np.ndarray | None = None,
        targets: np.ndarray | None = None,
        *,
        fs: float | None = None,
        window_ms: float | None = None,
        hop_ms: float | None = None,
        times: np.ndarray | None = None,
        sessions: Sequence[tuple[str, str]] = (),
        class_names: Sequence[str] | None = None,
        session_index: np.ndarray | None = None,
    ):
        self.windows = {str(k): np.asarray(v) for k, v in windows.items()}
        sizes = {k: v.shape[0] for k, v in self.windows.items()}
        for name, w in self.windows.items():
            if w.ndim != 3:
                raise ValueError(
                    f"windows[{name!r}] must have shape (n_windows, n_channels, n_samples), "
                    f"got {w.shape}"
                )
        if len(set(sizes.values())) > 1:
            raise ValueError(f"every stream needs the same number of windows, got {sizes}")
        n = next(iter(sizes.values()), 0)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        if self.labels is not None and self.labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {self.labels.shape}")
        self.targets = None if targets is None else np.asarray(targets, dtype=np.float64)
        if self.targets is not None and self.targets.shape[0] != n:
            raise ValueError(f"targets must have {n} rows, got shape {self.targets.shape}")
        self.fs = fs
        self.window_ms = window_ms
        self.hop_ms = hop_ms
        self.times = None if times is None else np.asarray(times, dtype=np.float64)
        self.sessions = [tuple(s) for s in sessions]
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        if session_index is None:
            self.session_index = np.zeros(n, dtype=np.int64)
        else:
            self.session_index = np.asarray(session_index, dtype=np.int64)
            if self.session_index.shape != (n,):
                raise ValueError(
                    f"session_index must have shape ({n},), got {self.session_index.shape}"
                )

    def __len__(self) -> int:
        return self.n_windows

    def __repr__(self) -> str:
        shapes = {k: v.shape for k, v in self.windows.items()}
        kind = "labels" if self.labels is not None else "targets" if self.targets is not None \
            else "unlabelled"
        return f"TrainingData({self.n_windows} windows, {shapes}, {kind})"

    @property
    def n_windows(self) -> int:
        """Number of windows."""
        return next((w.shape[0] for w in self.windows.values()), 0)

    @property
    def is_empty(self) -> bool:
        """True if there are no windows."""
        return self.n_windows == 0

    @property
    def classes(self) -> np.ndarray:
        """Sorted distinct labels (empty without labels)."""
        if self.labels is None:
            return np.empty(0, dtype=np.int64)
        return np.unique(self.labels)

    @property
    def overlap(self) -> int:
        """Windows on each side that share samples with a window.

        ``ceil(size / step) - 1`` for windows of ``size`` samples every
        ``step`` samples (from ``fs``, ``window_ms`` and ``hop_ms``): 7 for
        200 ms windows every 25 ms. The ``gap`` a
        :class:`~moveo.emg.evaluation.BlockKFold` needs so that no training
        window shares a sample with a test window.

        Raises
        ------
        ValueError
            If ``fs``, ``window_ms`` or ``hop_ms`` is unknown.
        """
        if self.fs is None or self.window_ms is None or self.hop_ms is None:
            raise ValueError(
                "TrainingData does not know how its windows were cut (fs, window_ms, hop_ms); "
                "pass gap= explicitly (moveo.emg.evaluation.overlapping_windows(size, step))"
            )
        from moveo.emg.evaluation import overlapping_windows

        size = round(self.window_ms * self.fs / 1000.0)
        step = round(self.hop_ms * self.fs / 1000.0)
        return overlapping_windows(max(size, 1), max(step, 1))

    def groups(self, by: str = "block", *, block_s: float | None = None) -> np.ndarray:
        """Return a group id per window for splits that do not leak.

        Parameters
        ----------
        by : {"block", "time", "session"}, default "block"
            ``"session"``: the recording session (``session_index``).
            ``"block"``: the cue block -- a run of consecutive windows of one
            session with one label (:func:`moveo.emg.evaluation.cue_blocks`;
            without labels, one block per session). ``"time"``: stretches of
            ``block_s`` seconds within each session (by window time,
            :func:`moveo.emg.evaluation.time_blocks`), for recordings without cues.
        block_s : float, optional
            Block length in seconds (``by="time"``).

        Returns
        -------
        ndarray of shape (n_windows,), int64

        Examples
        --------
        >>> import numpy as np
        >>> td = TrainingData({"emg": np.zeros((6, 1, 4))}, labels=[0, 0, 1, 1, 0, 0],
        ...                   session_index=[0, 0, 0, 1, 1, 1])
        >>> td.groups("block").tolist(), td.groups("session").tolist()
        ([0, 0, 1, 2, 3, 3], [0, 0, 0, 1, 1, 1])
        """
        from moveo.emg.evaluation import cue_blocks, time_blocks

        if by == "session":
            return self.session_index.copy()
        if by == "block":
            if block_s is not None:
                raise ValueError("block_s is for by='time'; cue blocks follow the labels")
            labels = self.labels if self.labels is not None else np.zeros(self.n_windows)
            return cue_blocks(labels, self.session_index)
        if by == "time":
            if block_s is None:
                raise ValueError("groups('time') needs block_s= (block length in seconds)")
            if self.times is None or self.times.shape != (self.n_windows,):
                raise ValueError("groups('time') needs the window times (TrainingData.times)")
            return time_blocks(self.times, block_s, self.session_index)
        raise ValueError(f"by must be 'block', 'time' or 'session', got {by!r}")

    def window(self, i: int) -> dict[str, np.ndarray]:
        """Return window ``i`` as the dict the live ``extract`` receives.

        Parameters
        ----------
        i : int
            Window index.

        Returns
        -------
        dict of str to ndarray of shape (n_channels, n_samples)
        """
        return {name: np.ascontiguousarray(w[i]) for name, w in self.windows.items()}

    def apply(self, fn: Callable) -> np.ndarray:
        """Run an extract callback over every window and stack the results.

        Uses ``fn.batch(windows)`` when ``fn`` has one (like :class:`EMGExtract`),
        otherwise calls ``fn`` window by window exactly as the predict thread does.

        Parameters
        ----------
        fn : callable
            The ``@pipeline.extract`` function.

        Returns
        -------
        ndarray of shape (n_windows, ...)
        """
        if self.is_empty:
            raise ValueError("TrainingData is empty: no windows to extract features from")
        batch = getattr(fn, "batch", None)
        if callable(batch):
            return np.asarray(batch(self.windows))
        return np.stack([np.asarray(fn(self.window(i))) for i in range(self.n_windows)])

    @classmethod
    def from_dataset(
        cls,
        dataset: Any,
        sessions: Iterable[tuple[str, str]] | None = None,
        *,
        window_ms: float = 200.0,
        hop_ms: float = 50.0,
        stream: str | None = None,
        targets: Any = None,
        target_reduce: str = "last",
        pure: bool = False,
        class_names: Sequence[str] | None = None,
    ) -> TrainingData:
        """Cut recorded sessions into windows with labels or targets.

        A window's label is the label of its last sample (from the session's
        label events); windows before the first label are dropped. With
        ``pure=True`` windows spanning a label change are dropped too.

        Parameters
        ----------
        dataset : moveo.Dataset
            EMG dataset written by :meth:`App.start_recording`.
        sessions : iterable of (subject, session), optional
            Entries to use (default: all).
        window_ms, hop_ms : float
            Window length and step in milliseconds.
        stream : str, optional
            Key of the windows dict (default: the stream name stored in the
            dataset's manifest, else ``"emg"``); must match the live stream name.
        targets : moveo.Dataset, optional
            A second EMG-layout dataset with the same sessions holding regression
            targets (e.g. a force or glove stream). Each window gets the target
            channels aligned by timestamp: the value at the window's last sample
            (``target_reduce="last"``) or the mean over the window's time span
            (``"mean"``). Labels are then optional.
        target_reduce : {"last", "mean"}
            How targets are aligned to a window.
        pure : bool, default False
            Drop windows whose samples carry more than one label.
        class_names : sequence of str, optional
            Names of the classes.

        Returns
        -------
        TrainingData
        """
        from moveo.emg.recording import read_events, read_recording, sample_labels

        fs = float(dataset.fps)
        size = round(window_ms * fs / 1000.0)
        step = round(hop_ms * fs / 1000.0)
        if size < 1 or step < 1:
            raise ValueError(
                f"window_ms={window_ms} and hop_ms={hop_ms} must each cover at least one "
                f"sample at {fs:g} Hz"
            )
        if target_reduce not in ("last", "mean"):
            raise ValueError(f"target_reduce must be 'last' or 'mean', got {target_reduce!r}")
        name = stream or dataset.meta.get("stream") or "emg"
        keys = list(dataset.entries() if sessions is None else sessions)
        all_w, all_y, all_t, all_target, used, all_s = [], [], [], [], [], []
        for subject, session in keys:
            data, ts = read_recording(dataset, subject, session)
            n = data.shape[0]
            if n < size:
                continue
            starts = np.arange(0, n - size + 1, step)
            ends = starts + size - 1
            events = read_events(dataset, subject, session)
            labels = sample_labels(events, n).fill_null(-1).to_numpy()  # -1: unlabelled
            y = labels[ends]
            keep = np.ones(len(starts), dtype=bool)
            if targets is None:
                keep &= y >= 0
            if pure:
                changes = np.concatenate(([0], np.cumsum(labels[1:] != labels[:-1])))
                keep &= changes[ends] == changes[starts]
            if targets is not None:
                tv = _align_targets(targets, subject, session, ts, starts, ends, target_reduce)
                keep &= np.all(np.isfinite(tv), axis=1)
                all_target.append(tv[keep])
            starts, y = starts[keep], y[keep]
            idx = starts[:, None] + np.arange(size)[None, :]
            # (n_windows, size, n_channels) -> channels-first like the live windows
            all_w.append(np.ascontiguousarray(data[idx].transpose(0, 2, 1)))
            all_y.append(y)
            all_t.append(ts[starts + size - 1])
            all_s.append(np.full(len(starts), len(used), dtype=np.int64))
            used.append((subject, session))
        n_ch = len(dataset.meta.get("channels") or []) or (all_w[0].shape[1] if all_w else 0)
        empty = np.empty((0, n_ch, size), dtype=np.float32)
        windows = np.concatenate(all_w) if all_w else empty
        labels_out = np.concatenate(all_y) if all_y else np.empty(0, np.int64)
        if targets is None:
            target_out = None
        elif all_target:
            target_out = np.concatenate(all_target)
        else:
            target_out = np.empty((0, 0))
        if targets is not None and labels_out.size and np.all(labels_out < 0):
            labels_out = None
        return cls(
            {name: windows},
            labels_out,
            target_out,
            fs=fs,
            window_ms=window_ms,
            hop_ms=hop_ms,
            times=np.concatenate(all_t) if all_t else np.empty(0),
            sessions=used,
            class_names=class_names,
            session_index=np.concatenate(all_s) if all_s else np.empty(0, np.int64),
        )


def _align_targets(
    targets: Any,
    subject: str,
    session: str,
    ts: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    how: str,
) -> np.ndarray:
    """Target values per window, aligned by timestamp (NaN where not covered)."""
    from moveo.emg.recording import read_recording

    tdata, tts = read_recording(targets, subject, session)
    tdata = tdata.astype(np.float64)
    out = np.full((len(starts), tdata.shape[1]), math.nan)
    if tdata.shape[0] == 0:
        return out
    t_end = ts[ends]
    last = np.searchsorted(tts, t_end, side="right") - 1
    if how == "last":
        ok = last >= 0
        out[ok] = tdata[last[ok]]
        return out
    first = np.searchsorted(tts, ts[starts], side="left")
    csum = np.vstack([np.zeros((1, tdata.shape[1])), np.cumsum(tdata, axis=0)])
    count = last + 1 - first
    ok = count > 0
    out[ok] = (csum[last[ok] + 1] - csum[first[ok]]) / count[ok, None]
    return out
