"""Post-processing of predictions and publishing them as an LSL outlet.

Post-processors are callables ``fn(result: dict, timestamp: float) -> dict``
appended to ``pipeline.postprocess``; they run on the predict thread after every
dict result, in order:

* :class:`MajorityVote` -- the most frequent class of the last ``n`` predictions.
* :class:`RejectBelow` -- replace the class by a rejection value when its
  probability is below a threshold.
* :class:`ExponentialSmoothing` -- ``y = alpha * x + (1 - alpha) * y_prev``.
* :class:`OneEuroFilter` -- the adaptive low-pass of Casiez et al. (2012) for
  regression outputs: smooth when still, responsive when moving.
* :class:`Deadband` -- regression outputs closer to 0 than a threshold become 0.
* :class:`VelocityControl` -- proportional control for a classifier: a speed in
  [0, 1] from the window's amplitude relative to the class's training range.

:class:`LSLPredictionOutlet` publishes the latest prediction at a fixed rate.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moveo.realtime._util import logger
from moveo.realtime.scheduler import Scheduler

__all__ = [
    "Deadband",
    "ExponentialSmoothing",
    "LSLPredictionOutlet",
    "MajorityVote",
    "OneEuroFilter",
    "RejectBelow",
    "VelocityControl",
    "window_amplitude",
]


class MajorityVote:
    """Replace ``result[key]`` by the most frequent value of the last ``n`` results.

    Ties go to the most recent of the tied values.

    Parameters
    ----------
    n : int, default 5
        Votes kept.
    key : str, default "class"
        Result entry holding the class.

    Examples
    --------
    >>> vote = MajorityVote(3)
    >>> [vote({"class": c}, 0.0)["class"] for c in (1, 2, 2, 1, 1)]
    [1, 2, 2, 2, 1]
    """

    def __init__(self, n: int = 5, *, key: str = "class"):
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n = int(n)
        self.key = key
        self._votes: collections.deque = collections.deque(maxlen=self.n)

    def reset(self) -> None:
        """Forget past votes."""
        self._votes.clear()

    def __call__(self, result: dict[str, Any], timestamp: float) -> dict[str, Any]:
        """Return ``result`` with ``key`` replaced by the majority."""
        if self.key not in result:
            raise KeyError(f"MajorityVote: the prediction has no {self.key!r} entry "
                           f"(keys: {sorted(result)})")
        self._votes.append(result[self.key])
        counts = collections.Counter(self._votes)
        best = max(counts.values())
        for value in reversed(self._votes):
            if counts[value] == best:
                return {**result, self.key: value}
        return result  # pragma: no cover - the loop always returns


class RejectBelow:
    """Reject uncertain classifications.

    If ``max(result[proba_key]) < threshold``, ``result[key]`` becomes ``reject``
    and ``result["rejected"]`` is True (False otherwise).

    Parameters
    ----------
    threshold : float
        Minimum class probability in [0, 1].
    key : str, default "class"
        Entry holding the class.
    proba_key : str, default "proba"
        Entry holding the class probabilities.
    reject : Any, default -1
        Value used for a rejected class.

    Examples
    --------
    >>> RejectBelow(0.6)({"class": 2, "proba": [0.3, 0.2, 0.5]}, 0.0)["class"]
    -1
    """

    def __init__(self, threshold: float, *, key: str = "class", proba_key: str = "proba",
                 reject: Any = -1):
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be a probability in [0, 1], got {threshold}")
        self.threshold = threshold
        self.key = key
        self.proba_key = proba_key
        self.reject = reject

    def __call__(self, result: dict[str, Any], timestamp: float) -> dict[str, Any]:
        """Return ``result`` with the class rejected if its probability is too low."""
        if self.proba_key not in result:
            raise KeyError(f"RejectBelow: the prediction has no {self.proba_key!r} entry "
                           f"(keys: {sorted(result)})")
        p = float(np.max(result[self.proba_key]))
        if p < self.threshold:
            return {**result, self.key: self.reject, "rejected": True}
        return {**result, "rejected": False}


def _as_float_array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


class ExponentialSmoothing:
    """Exponential moving average of regression outputs.

    Parameters
    ----------
    alpha : float
        Weight of the newest value, in (0, 1].
    keys : sequence of str, default ("value",)
        Entries to smooth (scalars or arrays).

    Examples
    --------
    >>> smooth = ExponentialSmoothing(0.5)
    >>> [float(smooth({"value": v}, 0.0)["value"]) for v in (0.0, 1.0, 1.0)]
    [0.0, 0.5, 0.75]
    """

    def __init__(self, alpha: float, *, keys: Sequence[str] = ("value",)):
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.keys = tuple(keys)
        self._state: dict[str, np.ndarray] = {}

    def reset(self) -> None:
        """Forget the smoothing state."""
        self._state.clear()

    def __call__(self, result: dict[str, Any], timestamp: float) -> dict[str, Any]:
        """Return ``result`` with the keys smoothed."""
        out = dict(result)
        for key in self.keys:
            x = _as_float_array(result[key])
            prev = self._state.get(key)
            y = x if prev is None else self.alpha * x + (1.0 - self.alpha) * prev
            self._state[key] = y
            out[key] = y
        return out


class OneEuroFilter:
    """The One-Euro filter for regression outputs (per element).

    Cut-off ``fc = min_cutoff + beta * |dx/dt|`` (derivative smoothed at
    ``d_cutoff``); smoothing factor ``alpha = 1 / (1 + 1 / (2 pi fc dt))``.
    ``dt`` comes from the window timestamps passed by the pipeline.

    Parameters
    ----------
    min_cutoff : float, default 1.0
        Cut-off (Hz) when the signal is still.
    beta : float, default 0.0
        Speed coefficient (higher: less lag when moving).
    d_cutoff : float, default 1.0
        Cut-off (Hz) of the derivative.
    keys : sequence of str, default ("value",)
        Entries to filter.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0,
                 *, keys: Sequence[str] = ("value",)):
        if not min_cutoff > 0 or not d_cutoff > 0 or beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be > 0 and beta >= 0")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.keys = tuple(keys)
        self._state: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
        tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau / dt)

    def reset(self) -> None:
        """Forget the filter state."""
        self._state.clear()

    def __call__(self, result: dict[str, Any], timestamp: float) -> dict[str, Any]:
        """Return ``result`` with the keys filtered."""
        out = dict(result)
        for key in self.keys:
            x = _as_float_array(result[key])
            state = self._state.get(key)
            if state is None:
                self._state[key] = (x, np.zeros_like(x), timestamp)
                out[key] = x
                continue
            x_prev, dx_prev, t_prev = state
            dt = timestamp - t_prev
            if not dt > 0:
                out[key] = x_prev
                continue
            dx = (x - x_prev) / dt
            a_d = self._alpha(self.d_cutoff, dt)
            dx_hat = a_d * dx + (1 - a_d) * dx_prev
            a = self._alpha(self.min_cutoff + self.beta * np.abs(dx_hat), dt)
            y = a * x + (1 - a) * x_prev
            self._state[key] = (y, dx_hat, timestamp)
            out[key] = y
        return out


class Deadband:
    """Set regression outputs inside ``(-threshold, threshold)`` to 0.

    ``y = 0 if |x| < threshold else x``, element-wise (LibEMG's
    ``EMGRegressor.add_deadband``): small outputs at rest do not creep the
    device. Put it after smoothing.

    Parameters
    ----------
    threshold : float
        Half-width of the deadband (>= 0).
    keys : sequence of str, default ("value",)
        Entries to apply it to (scalars or arrays).

    Examples
    --------
    >>> Deadband(0.1)({"value": [0.05, -0.2, 0.1]}, 0.0)["value"].tolist()
    [0.0, -0.2, 0.1]
    """

    def __init__(self, threshold: float, *, keys: Sequence[str] = ("value",)):
        threshold = float(threshold)
        if not threshold >= 0.0 or not math.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number >= 0, got {threshold}")
        self.threshold = threshold
        self.keys = tuple(keys)

    def __call__(self, result: dict[str, Any], timestamp: float) -> dict[str, Any]:
        """Return ``result`` with the keys' small values set to 0."""
        out = dict(result)
        for key in self.keys:
            if key not in result:
                raise KeyError(f"Deadband: the prediction has no {key!r} entry "
                               f"(keys: {sorted(result)})")
            x = _as_float_array(result[key])
            out[key] = np.where(np.abs(x) < self.threshold, 0.0, x)
        return out


def window_amplitude(window: np.ndarray) -> Any:
    """Return the amplitude of windows: the sum over channels of their MAV.

    ``a = Σ_c (1/N) Σ_i |x_ci|`` (LibEMG's default velocity metric).

    Parameters
    ----------
    window : ndarray of shape (n_channels, n_samples) or (n_windows, n_channels, n_samples)

    Returns
    -------
    float or ndarray of shape (n_windows,)

    Examples
    --------
    >>> window_amplitude(np.array([[1.0, -1.0], [0.5, 0.5]]))
    1.5
    """
    arr = np.asarray(window)
    if arr.ndim not in (2, 3) or arr.shape[-1] == 0:
        raise ValueError(
            "window must have shape (n_channels, n_samples) or (n_windows, n_channels, "
            f"n_samples) with n_samples > 0, got {arr.shape}"
        )
    amp = np.abs(arr).mean(axis=-1, dtype=np.float64).sum(axis=-1)
    return float(amp) if arr.ndim == 2 else amp


class VelocityControl:
    """Proportional (velocity) control for a classifier.

    The speed of a decision for class ``c`` grows with the window's amplitude
    ``a`` (:func:`window_amplitude`, the sum of the channels' MAV) between two
    thresholds set from the amplitudes of ``c``'s training windows
    (``a_min``, ``a_max``)::

        lo_c  = a_min + low  * (a_max - a_min)      # default low = 0.1
        hi_c  = a_min + high * (a_max - a_min)      # default high = 0.7
        speed = clip((a - lo_c) / (hi_c - lo_c), 0, 1)

    So a contraction weaker than 10 % of the trained range gives 0 (a built-in
    deadband) and one at 70 % or more gives full speed. This is LibEMG's
    ``add_velocity`` with its default metric and thresholds (which train on
    ramp contractions); LibEMG rounds the speed to 2 decimals, moveo does not.
    A rejected decision (``reject``) has speed 0.

    Used as a post-processor it reads ``result[amplitude_key]`` and
    ``result[key]`` (after earlier post-processors, e.g. a majority vote) and
    adds ``result[speed_key]``; or call :meth:`speed` yourself.

    Parameters
    ----------
    low, high : float, default 0.1 and 0.7
        Threshold positions within each class's training range, ``0 <= low < high``.
    key : str, default "class"
        Result entry holding the class.
    amplitude_key : str, default "amplitude"
        Result entry holding the window amplitude.
    speed_key : str, default "speed"
        Entry written.
    reject : Any, default -1
        Class value of a rejected decision.

    Attributes
    ----------
    thresholds_ : dict
        ``class -> (lo, hi)`` after :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> windows = np.ones((3, 2, 10)) * np.array([1.0, 2.0, 3.0])[:, None, None]
    >>> vc = VelocityControl().fit(windows, [1, 1, 1])    # amplitudes 2, 4, 6
    >>> vc.thresholds_[1]                                  # (2 + 0.1*4, 2 + 0.7*4)
    (2.4, 4.8)
    >>> round(vc.speed(3.6, 1), 6), vc.speed(1.0, 1), vc.speed(9.0, 1)
    (0.5, 0.0, 1.0)
    """

    def __init__(self, low: float = 0.1, high: float = 0.7, *, key: str = "class",
                 amplitude_key: str = "amplitude", speed_key: str = "speed", reject: Any = -1):
        low, high = float(low), float(high)
        if not (0.0 <= low < high and math.isfinite(high)):
            raise ValueError(f"need 0 <= low < high, got low={low}, high={high}")
        self.low = low
        self.high = high
        self.key = key
        self.amplitude_key = amplitude_key
        self.speed_key = speed_key
        self.reject = reject
        self.thresholds_: dict[Any, tuple[float, float]] = {}

    def __repr__(self) -> str:
        classes = list(self.thresholds_)
        return f"VelocityControl(low={self.low}, high={self.high}, classes={classes})"

    amplitude = staticmethod(window_amplitude)

    def fit(self, windows: np.ndarray, labels: Any) -> VelocityControl:
        """Set each class's thresholds from its training windows.

        Parameters
        ----------
        windows : ndarray of shape (n_windows, n_channels, n_samples)
            Training windows (e.g. ``TrainingData.windows["emg"]``), ideally
            ramp contractions covering the range of effort.
        labels : array of shape (n_windows,)
            Class of each window.

        Returns
        -------
        VelocityControl
            ``self``.

        Raises
        ------
        ValueError
            If shapes disagree, or a class's training amplitudes are all equal
            (no range to scale by).
        """
        arr = np.asarray(windows)
        y = np.asarray(labels)
        if arr.ndim != 3:
            raise ValueError(
                f"windows must have shape (n_windows, n_channels, n_samples), got {arr.shape}"
            )
        if y.shape != (arr.shape[0],):
            raise ValueError(f"labels must have shape ({arr.shape[0]},), got {y.shape}")
        if y.size == 0:
            raise ValueError("VelocityControl.fit needs at least one window")
        amp = window_amplitude(arr)
        thresholds = {}
        for c in np.unique(y):
            a = amp[y == c]
            a_min, a_max = float(a.min()), float(a.max())
            if not a_max > a_min:
                raise ValueError(
                    f"class {c!r}: all {a.size} training windows have amplitude {a_min:g}; "
                    "velocity control needs a range of contraction levels (record ramps)"
                )
            span = a_max - a_min
            key = c.item() if hasattr(c, "item") else c
            thresholds[key] = (a_min + self.low * span, a_min + self.high * span)
        self.thresholds_ = thresholds
        return self

    def speed(self, amplitude: float, cls: Any) -> float:
        """Speed in [0, 1] of a decision for ``cls`` on a window of ``amplitude``.

        Parameters
        ----------
        amplitude : float
            :func:`window_amplitude` of the window.
        cls : Any
            The decided class (``reject`` gives 0).

        Returns
        -------
        float
        """
        if cls == self.reject:
            return 0.0
        if not self.thresholds_:
            raise ValueError("VelocityControl is not fitted: call fit(windows, labels) first")
        try:
            lo, hi = self.thresholds_[cls]
        except KeyError:
            raise ValueError(
                f"VelocityControl: class {cls!r} was not in the training labels "
                f"{list(self.thresholds_)}"
            ) from None
        return float(min(1.0, max(0.0, (float(amplitude) - lo) / (hi - lo))))

    def __call__(self, result: dict[str, Any], timestamp: float) -> dict[str, Any]:
        """Return ``result`` with ``speed_key`` added."""
        for k in (self.key, self.amplitude_key):
            if k not in result:
                raise KeyError(f"VelocityControl: the prediction has no {k!r} entry "
                               f"(keys: {sorted(result)})")
        return {**result, self.speed_key: self.speed(result[self.amplitude_key],
                                                     result[self.key])}


class LSLPredictionOutlet:
    """Publish the pipeline's latest prediction as an LSL stream at a fixed rate.

    Each sample holds the values of ``keys`` flattened in order (float32); while
    the pipeline is not predicting or its predictions are stale, NaN is sent so a
    consumer never mistakes an old value for a new one.

    Parameters
    ----------
    pipeline : Pipeline
        Whose ``predictions`` to publish.
    name : str
        LSL stream name.
    keys : mapping of str to int
        Prediction entries and their number of values, e.g.
        ``{"class": 1, "proba": 4}``.
    rate_hz : float, default 50.0
        Publishing rate.
    source_id : str, optional
        LSL source id (default: ``name``).
    type : str, default "Prediction"
        LSL content type.
    """

    def __init__(
        self,
        pipeline: Any,
        name: str,
        keys: Mapping[str, int],
        *,
        rate_hz: float = 50.0,
        source_id: str | None = None,
        type: str = "Prediction",  # noqa: A002 - LSL's own name for the field
    ):
        if not keys:
            raise ValueError("keys must name at least one prediction entry, e.g. {'class': 1}")
        if not float(rate_hz) > 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.pipeline = pipeline
        self.name = name
        self.keys = {str(k): int(v) for k, v in keys.items()}
        self.n_channels = sum(self.keys.values())
        self.rate_hz = float(rate_hz)
        self.source_id = source_id or name
        self.type = type
        self.pushed = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outlet: Any = None
        pipeline.app.before_run_hooks.append(self.start)
        pipeline.app.cleanup_hooks.append(self.stop)

    def sample(self) -> np.ndarray:
        """Return the sample that would be published now.

        Returns
        -------
        ndarray of shape (n_channels,), float32
        """
        from moveo.realtime.app import PipelineState

        out = np.full(self.n_channels, np.nan, dtype=np.float32)
        p = self.pipeline
        if p.app.ctx.state != PipelineState.PREDICTING or p.stale:
            return out
        preds = p.predictions
        pos = 0
        for key, n in self.keys.items():
            if key in preds:
                v = np.asarray(preds[key], dtype=np.float32).ravel()
                if v.size != n:
                    raise ValueError(
                        f"prediction {key!r} has {v.size} values, the outlet expects {n}"
                    )
                out[pos : pos + n] = v
            pos += n
        return out

    def start(self) -> None:
        """Create the outlet and start publishing (registered as a before-run hook)."""
        if self._thread is not None and self._thread.is_alive():
            return
        import pylsl

        info = pylsl.StreamInfo(self.name, self.type, self.n_channels, self.rate_hz,
                                pylsl.cf_float32, self.source_id)
        labels = [k if n == 1 else f"{k}{i}" for k, n in self.keys.items() for i in range(n)]
        info.set_channel_labels(labels)
        self._outlet = pylsl.StreamOutlet(info)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"moveo-outlet-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing and close the outlet (registered as a cleanup hook)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self._thread = None
        self._outlet = None

    def _run(self) -> None:
        scheduler = Scheduler(self.rate_hz, spin_s=0.0)
        while scheduler.wait(self._stop) is not None:
            try:
                self._outlet.push_sample(self.sample())
                self.pushed += 1
            except Exception as exc:  # noqa: BLE001 - logged + counted; keep publishing
                self.errors += 1
                if self.errors == 1 or self.errors % 1000 == 0:
                    logger.warning("prediction outlet %r: %s (%d errors)", self.name, exc,
                                   self.errors)
