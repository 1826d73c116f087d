"""The ML lifecycle of an App: ``@extract`` / ``@train`` / ``@predict`` and the predict thread."""

from __future__ import annotations

import inspect
import math
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from moveo.realtime._util import RateLimitedLog, clock, logger, raise_worker_errors
from moveo.realtime.app import App, PipelineState
from moveo.realtime.scheduler import DataTrigger, Scheduler
from moveo.realtime.stats import TickStats
from moveo.realtime.stream import StreamStatus

__all__ = ["Pipeline"]

_MODES = ("fixed", "on-new-data")


def _wants_time(fn: Callable) -> bool:
    """Return True if ``fn`` takes a second positional argument (the newest time)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


class Pipeline:
    """ML lifecycle and state for an :class:`~moveo.realtime.App`.

    The constructor registers the predict thread and its shutdown on the app's
    hook lists; they run on ``app.run()`` / ``app.start()`` and at exit. The
    decorators set the callbacks; the transition methods flip ``app.ctx.state``.

    Each predict tick copies the newest ``window_ms`` of every stream into fresh
    channels-first arrays owned by the callback, ``{stream_name: (n_channels,
    n_samples)}``, calls ``extract(windows)`` (or ``extract(windows, newest_time)``
    if the function takes a second argument) and then ``predict(model, features)``.
    A dict result replaces :attr:`predictions`; anything else is not stored but
    counted (``stats()["non_dict_results"]``) and logged. Exceptions in callbacks
    are logged and counted, and an exception in ``extract``, ``predict`` or a
    post-processor sets ``ctx.status_message`` to ``"Predict error: <message>"``;
    the loop keeps its rate and the state stays as it was.
    While a stream is not ``connected`` no prediction is made and :attr:`stale`
    is True.

    Parameters
    ----------
    app : App
        The app whose streams feed the windows.
    predict_hz : float, default 50.0
        Predict-loop tick rate (fixed mode). ``0`` or negative removes the cap.
        Assigning :attr:`predict_hz` while the loop runs takes effect on the next
        tick (the tick grid restarts at the new rate).
    mode : {"fixed", "on-new-data"}, default "fixed"
        ``"fixed"``: ticks on the absolute grid ``t0 + k / predict_hz``.
        ``"on-new-data"``: tick as soon as ``hop`` new samples arrived on every
        stream, so latency does not wait for a grid.
    hop : int, optional
        On-new-data mode: samples per tick (default ``fs / predict_hz``, or one
        source chunk without a rate cap).
    spin_s : float, default 0.0005
        Busy-wait before each deadline (fixed mode).

    Attributes
    ----------
    model : Any
        Returned by ``@train`` (or loaded); passed to every ``predict`` call.
    predictions : dict
        The latest dict returned by ``@predict`` (after post-processing).
    prediction_time : float
        Newest-sample timestamp of the window behind :attr:`predictions`.
    stale : bool
        True while the streams are not delivering (no fresh predictions).
    train_log : list of str
        Training messages (and the traceback of a failed training).
    training_data : TrainingData or None
        What ``start_training`` hands to ``@train``.
    save_model, load_model : callable or None
        Optional ``save_model(model, path)`` / ``load_model(path) -> model``
        (e.g. :func:`~moveo.realtime.save_pickle` / :func:`~moveo.realtime.load_pickle`).
    postprocess : list of callable
        Applied in order to each dict result: ``fn(result, timestamp) -> dict``
        (see :mod:`moveo.realtime.outputs`).
    """

    def __init__(
        self,
        app: App,
        predict_hz: float = 50.0,
        *,
        mode: str = "fixed",
        hop: int | None = None,
        spin_s: float = 0.0005,
    ):
        if not isinstance(app, App):
            raise TypeError(f"Pipeline needs a moveo.realtime.App, got {type(app).__name__}")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        if hop is not None and int(hop) < 1:
            raise ValueError(f"hop must be >= 1 sample, got {hop}")
        self.app = app
        self._wake = threading.Event()
        self._trigger = DataTrigger()
        self.predict_hz = predict_hz
        self.mode = mode
        self.hop = None if hop is None else int(hop)
        self.spin_s = float(spin_s)
        self.model: Any = None
        self.predictions: dict[str, Any] = {}
        self.prediction_time = math.nan
        self.prediction_count = 0
        self.stale = False
        self.train_log: list[str] = []
        self.on_extract: Callable | None = None
        self.on_train: Callable | None = None
        self.on_predict: Callable | None = None
        self.save_model: Callable | None = None
        self.load_model: Callable | None = None
        self.training_data: Any = None
        self.postprocess: list[Callable[[dict, float], dict]] = []
        self._stats = TickStats()
        self._lost: dict[str, int] = {}
        self._log = RateLimitedLog(1.0, sink=self._log_problem)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._train_thread: threading.Thread | None = None
        self._state_changed = threading.Event()
        self._default_extract: Callable | None = None
        self._extract_sig: tuple[Any, bool] = (None, False)
        app.warmup_hooks.append(self._warm_extract)
        app.before_run_hooks.append(self._start_predict_thread)
        app.cleanup_hooks.append(self._cleanup)
        app.pipelines.append(self)

    @property
    def predict_hz(self) -> float:
        """Predict-loop tick rate in Hz (``<= 0``: no cap).

        Assigning it while the loop runs takes effect on the next tick: a tick
        waiting for the old deadline is released and the grid restarts at the new
        rate. In on-new-data mode without an explicit ``hop`` the hop follows.
        """
        return self._predict_hz

    @predict_hz.setter
    def predict_hz(self, value: float) -> None:
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"predict_hz must be a number of ticks per second, got {value!r}"
            ) from None
        if math.isnan(rate):
            raise ValueError("predict_hz must be a number (0 or negative removes the cap), "
                             "got nan")
        self._predict_hz = rate
        self._wake.set()  # release a tick waiting for the old deadline
        self._trigger.notify()

    def __repr__(self) -> str:
        return (
            f"Pipeline(predict_hz={self.predict_hz:g}, mode={self.mode!r}, "
            f"state={self.app.ctx.state.value!r}, model={type(self.model).__name__})"
        )

    # ------------------------------------------------------------------ decorators
    def extract(self, fn: Callable) -> Callable:
        """Register the feature-extraction callback (decorator).

        ``fn(windows)`` receives ``{stream_name: array (n_channels, n_samples)}``
        (channels-first float32 arrays it owns) and returns whatever the model
        consumes. The same function runs on recorded windows in training (see
        :meth:`TrainingData.apply`) and on live windows, so keep its return type
        stable. A function with a second parameter also receives the newest
        sample's timestamp. Without a registered function, the HTD features of
        every stream are used (:class:`~moveo.realtime.training.EMGExtract`).

        Parameters
        ----------
        fn : callable

        Returns
        -------
        callable
            ``fn`` unchanged.
        """
        self.on_extract = fn
        return fn

    def train(self, fn: Callable) -> Callable:
        """Register the training callback (decorator).

        ``fn(training_data)`` gets a :class:`~moveo.realtime.TrainingData` and
        returns any object, stored on :attr:`model` and passed to every ``predict``.

        Parameters
        ----------
        fn : callable

        Returns
        -------
        callable
            ``fn`` unchanged.
        """
        self.on_train = fn
        return fn

    def predict(self, fn: Callable) -> Callable:
        """Register the predict callback (decorator).

        ``fn(model, features)`` runs every tick and must return a
        ``dict[str, Any]``. Other return values are not stored (the previous
        prediction stays in :attr:`predictions`) but counted and logged.

        Parameters
        ----------
        fn : callable

        Returns
        -------
        callable
            ``fn`` unchanged.
        """
        self.on_predict = fn
        return fn

    # ------------------------------------------------------------------ transitions
    def _log_problem(self, message: str) -> None:
        logger.warning(message)
        self.app.ctx.log(message)

    def extract_function(self) -> Callable:
        """Return the extract callback in use (the registered one or the HTD default).

        Returns
        -------
        callable
        """
        if self.on_extract is not None:
            return self.on_extract
        if self._default_extract is None:
            from moveo.realtime.training import EMGExtract

            fs = {name: s.fs for name, s in self.app.streams.items()}
            self._default_extract = EMGExtract("HTD", fs=fs)
        return self._default_extract

    def _warm_extract(self) -> None:
        # the default HTD extraction (or a registered EMGExtract) compiles its plan
        # for the app's streams; other callbacks declare theirs with app.add_warmup
        warm = getattr(self.extract_function(), "warmup", None)
        if callable(warm):
            warm(self.app)

    def start_training(self) -> None:
        """Run ``@train`` on a worker thread.

        Does nothing but set ``ctx.status_message`` unless the state is ``idle``,
        a train callback is registered and non-empty :attr:`training_data` is
        set. The state is ``training`` for the duration; the result is stored on
        :attr:`model`. A failure is logged (with traceback in :attr:`train_log`),
        counted, and the state returns to ``idle``.
        """
        ctx = self.app.ctx
        with ctx.lock:
            if ctx.state != PipelineState.IDLE:
                ctx.status_message = (
                    f"Cannot start training: state is {ctx.state.value!r}, expected 'idle'."
                )
                return
            if self.on_train is None:
                ctx.status_message = "No train callback set (use @pipeline.train)"
                return
            data = self.training_data
            if data is None or getattr(data, "is_empty", False):
                ctx.status_message = (
                    "No training data — set pipeline.training_data = "
                    "TrainingData.from_dataset(...) inside @app.ui."
                )
                return
            ctx.state = PipelineState.TRAINING
            ctx.status_message = "Training..."
            self._state_changed.set()
        ctx.log("Training started")
        on_train = self.on_train

        def worker() -> None:
            try:
                self.model = on_train(data)
                ctx.status_message = "Training complete"
                self.train_log.append("Training complete")
                ctx.log("Training complete")
            except Exception as exc:  # noqa: BLE001 - reported, counted, state restored
                self._stats.count_error("train")
                ctx.status_message = f"Training failed: {exc}"
                self.train_log.append(f"FAILED: {exc}")
                self.train_log.append(traceback.format_exc())
                ctx.log(f"Training failed: {exc}")
                if raise_worker_errors():
                    raise
            finally:
                with ctx.lock:
                    ctx.state = PipelineState.IDLE
                    self._state_changed.set()

        self._train_thread = threading.Thread(target=worker, name="moveo-train", daemon=True)
        self._train_thread.start()

    def wait_for_training(self, timeout: float | None = None) -> bool:
        """Block until a running training finishes.

        Parameters
        ----------
        timeout : float, optional
            Seconds (default: no limit).

        Returns
        -------
        bool
            True if no training is running any more.
        """
        t = self._train_thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def wait_for_predictions(self, n: int = 1, timeout: float | None = 10.0) -> bool:
        """Block until ``n`` more predictions have been stored.

        Useful in scripts and tests: the first tick after start may compile the
        feature kernels (when they are not in numba's cache yet) and take longer
        than one period.

        Parameters
        ----------
        n : int, default 1
            Number of new stored (dict) predictions to wait for.
        timeout : float or None, default 10.0
            Seconds to wait at most (None: no limit).

        Returns
        -------
        bool
            True if ``n`` new predictions arrived, False on timeout.
        """
        target = self.prediction_count + int(n)
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while self.prediction_count < target:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def start_predicting(self) -> None:
        """Flip the state to ``predicting`` so the predict thread works.

        Does nothing but set ``ctx.status_message`` unless the state is ``idle``,
        a :attr:`model` is loaded and a predict callback is registered.
        """
        ctx = self.app.ctx
        with ctx.lock:
            if ctx.state != PipelineState.IDLE:
                ctx.status_message = (
                    f"Cannot start predicting: state is {ctx.state.value!r}, expected 'idle'."
                )
                return
            if self.model is None:
                ctx.status_message = "No model loaded — train one first or load from disk."
                return
            if self.on_predict is None:
                ctx.status_message = "No predict callback set (use @pipeline.predict)"
                return
            self.stale = False
            ctx.state = PipelineState.PREDICTING
            ctx.status_message = "Predicting..."
            self._state_changed.set()
        ctx.log("Prediction started")

    def stop_predicting(self) -> None:
        """Return to ``idle`` (or ``recording`` if a recording runs), pausing predictions.

        Does nothing but set ``ctx.status_message`` unless the state is ``predicting``.
        """
        ctx = self.app.ctx
        with ctx.lock:
            if ctx.state != PipelineState.PREDICTING:
                ctx.status_message = (
                    f"Cannot stop predicting: state is {ctx.state.value!r}, expected "
                    "'predicting'."
                )
                return
            ctx.state = PipelineState.RECORDING if self.app.is_recording else PipelineState.IDLE
            ctx.status_message = "Prediction stopped"
            self._state_changed.set()
            self._wake.set()  # do not let a tick already waiting run after the stop
        ctx.log("Prediction stopped")

    # ------------------------------------------------------------------ stats
    def stats(self) -> dict[str, Any]:
        """Return the predict loop's statistics.

        Returns
        -------
        dict
            ``ticks``, ``rate_hz``, ``skipped``, ``overruns``, ``lateness_ms``,
            ``jitter_ms``, ``duration_ms``, ``latency_ms`` (each p50/p99/max in ms),
            ``new_data_fraction``, ``callback_errors``, ``errors_by_callback``,
            ``non_dict_results``, ``stale_ticks``, ``waiting_ticks``,
            ``lost_samples``, plus ``mode``, ``predict_hz``, ``stale``,
            ``predictions_made`` and ``streams`` (per-stream status and counters,
            including ``lost_samples``: window samples of that stream overwritten
            before the predict thread could copy them).

        Notes
        -----
        The summary copies the recorded ticks and computes their percentiles
        (about 0.2 ms here, most of it holding the GIL), so read it a few times a
        second, not in a loop without pause: a loop that calls it back to back
        leaves the predict thread waiting for the GIL. A display that refreshes
        every frame uses :meth:`recent_stats` (the newest ticks only).
        """
        out = self._stats.summary()
        out.update(
            mode=self.mode,
            predict_hz=self.predict_hz,
            stale=self.stale,
            predictions_made=self.prediction_count,
            streams={
                name: {**s.info(), "lost_samples": self._lost.get(name, 0)}
                for name, s in self.app.streams.items()
            },
        )
        return out

    @property
    def lost_by_stream(self) -> dict[str, int]:
        """Window samples per stream overwritten before the predict thread copied them."""
        return dict(self._lost)

    def recent_stats(self, n: int = 1024) -> dict[str, Any]:
        """Return the statistics of the newest ``n`` ticks, read without locking.

        What the GUI's stats panel shows: the predict thread never waits for this
        reader (see :meth:`TickStats.recent <moveo.realtime.stats.TickStats.recent>`).

        Parameters
        ----------
        n : int, default 1024
            Ticks summarised.

        Returns
        -------
        dict
            The keys of :meth:`stats`, percentiles and rate over those ticks, plus
            ``window`` (how many ticks were summarised).
        """
        out = self._stats.recent(n)
        out.update(mode=self.mode, predict_hz=self.predict_hz, stale=self.stale,
                   predictions_made=self.prediction_count)
        return out

    def reset_stats(self) -> None:
        """Forget the tick measurements and counters collected so far."""
        self._stats.reset()
        self._lost = {}

    # ------------------------------------------------------------------ thread
    def _start_predict_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if not self.app.streams:
            raise ValueError("the pipeline needs at least one stream: app.add_stream(...)")
        self._stop.clear()
        for stream in self.app.streams.values():
            stream.add_listener(self._trigger.notify)
        self._thread = threading.Thread(target=self._loop, name="moveo-predict", daemon=True)
        self._thread.start()

    def _cleanup(self) -> None:
        self._stop.set()
        self._wake.set()
        self._trigger.notify()
        self._state_changed.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        for stream in self.app.streams.values():
            stream.remove_listener(self._trigger.notify)
        self.wait_for_training(5.0)

    def _hop(self, streams: list, rate: float) -> int:
        if self.hop is not None:
            return self.hop
        if rate > 0:
            return max(1, round(min(s.fs for s in streams) / rate))
        return max(1, min(s.source.max_chunk for s in streams))

    def _loop(self) -> None:
        streams = list(self.app.streams.values())
        last_counts = {s.name: -1 for s in streams}
        rate = self._predict_hz
        scheduler = Scheduler(rate, spin_s=self.spin_s)
        hop = self._hop(streams, rate)
        seen = {s.name: s.ring.count for s in streams}
        ctx = self.app.ctx
        while not self._stop.is_set():
            self._wake.clear()
            if self._predict_hz != rate:  # a new rate applies from the next tick on
                rate = self._predict_hz
                scheduler = Scheduler(rate, spin_s=self.spin_s)
                hop = self._hop(streams, rate)
            if ctx.state != PipelineState.PREDICTING:
                # idle: sleep until a transition instead of ticking for nothing
                self._state_changed.clear()
                if ctx.state != PipelineState.PREDICTING:
                    self._state_changed.wait(0.1)
                scheduler.reset()
                seen = {s.name: s.ring.count for s in streams}
                continue
            if self.mode == "fixed":
                tick = scheduler.wait(self._wake)
                if tick is None:  # stopped, or the rate changed while waiting
                    continue
                self._stats.skipped += tick.skipped
                deadline, start = tick.deadline, tick.start
            else:
                got = self._wait_for_hop(streams, seen, hop)
                if got is None:
                    continue
                deadline = got
                start = clock()
                seen = {s.name: s.ring.count for s in streams}
            self._tick(streams, last_counts, deadline, start, scheduler.period)

    def _wait_for_hop(self, streams, seen, hop) -> float | None:
        """Wait until every stream has ``hop`` new samples; return the arrival time."""
        while not self._stop.is_set():
            self._trigger.clear()
            if all(s.ring.count - seen[s.name] >= hop for s in streams):
                return max(s.last_arrival for s in streams)
            if self.app.ctx.state != PipelineState.PREDICTING or self._wake.is_set():
                return None
            self._trigger.wait(0.05)
        return None

    def _callback_failed(self, kind: str, exc: BaseException, *, counted: bool = False) -> None:
        if not counted:
            self._stats.count_error(kind)
        self.app.ctx.status_message = f"Predict error: {exc}"
        self._log(kind, f"{kind} callback raised {type(exc).__name__}: {exc}\n"
                        f"{traceback.format_exc()}")
        if raise_worker_errors():
            raise exc

    def _tick(self, streams, last_counts, deadline: float, start: float, period: float) -> None:
        stats = self._stats
        windows = {}
        newest = -math.inf
        new_data = False
        for s in streams:
            if s.status != StreamStatus.CONNECTED:
                if not self.stale:
                    why = f" ({s.status_reason})" if s.status_reason else ""
                    message = f"Stream {s.name!r} is {s.status}{why}; predictions paused."
                    self.app.ctx.status_message = message
                    self.app.ctx.log(f"stream {s.name!r} is {s.status}: predictions are stale")
                self.stale = True
                stats.stale_ticks += 1
                return
            w = s.ring.latest(s.window, channels_first=True)
            if w.lost:
                stats.lost_samples += w.lost
                self._lost[s.name] = self._lost.get(s.name, 0) + w.lost
            if len(w) < s.window:
                stats.waiting_ticks += 1
                return
            windows[s.name] = w.data
            newest = max(newest, float(w.timestamps[-1]))
            if w.count != last_counts[s.name]:
                new_data = True
                last_counts[s.name] = w.count
        extract = self.extract_function()
        if self._extract_sig[0] is not extract:
            self._extract_sig = (extract, _wants_time(extract))
        wants_time = self._extract_sig[1]
        model = self.model
        result: Any = None
        try:
            features = extract(windows, newest) if wants_time else extract(windows)
        except Exception as exc:  # noqa: BLE001 - counted + logged; the loop keeps its rate
            # tick and error counted together: stats() never sees one without the other
            stats.record(start=start, deadline=deadline, duration=clock() - start,
                         latency=math.nan, new_data=new_data, period=period, error="extract")
            self._callback_failed("extract", exc, counted=True)
            return
        try:
            result = self.on_predict(model, features)
        except Exception as exc:  # noqa: BLE001
            # tick and error counted together: stats() never sees one without the other
            stats.record(start=start, deadline=deadline, duration=clock() - start,
                         latency=math.nan, new_data=new_data, period=period, error="predict")
            self._callback_failed("predict", exc, counted=True)
            return
        if isinstance(result, dict):
            try:
                for fn in self.postprocess:
                    result = fn(result, newest)
            except Exception as exc:  # noqa: BLE001
                # tick and error counted together: stats() never sees one without the other
                stats.record(start=start, deadline=deadline, duration=clock() - start,
                             latency=math.nan, new_data=new_data, period=period,
                             error="postprocess")
                self._callback_failed("postprocess", exc, counted=True)
                return
        if isinstance(result, dict):
            self.predictions = result
            self.prediction_time = newest
            self.prediction_count += 1
            if self.stale:
                self.app.ctx.status_message = "Predicting..."
                self.app.ctx.log("streams delivering again: predictions resumed")
            self.stale = False
        else:
            stats.non_dict_results += 1
            self._log(
                "non-dict",
                f"predict returned {type(result).__name__}, not a dict: result not stored "
                f"({stats.non_dict_results} so far)",
            )
        end = clock()
        stats.record(start=start, deadline=deadline, duration=end - start,
                     latency=end - newest, new_data=new_data, period=period)
