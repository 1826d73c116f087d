"""The realtime App: streams, run loop (headless or the rig window), state, recording, cues."""

from __future__ import annotations

import collections
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from moveo.realtime._util import clock, logger
from moveo.realtime.sources import Source
from moveo.realtime.state import PipelineState
from moveo.realtime.stream import Stream

__all__ = ["App", "AppContext", "PipelineState"]


class AppContext:
    """Shared state of an :class:`App`: ``state``, ``status_message`` and a log.

    Attributes
    ----------
    state : PipelineState
        Current state (transition methods flip it).
    status_message : str
        Last human-readable status ("Training complete", "Cannot start ...").
    messages : collections.deque of str
        The most recent log lines (also sent to the ``moveo.realtime`` logger).
    """

    def __init__(self, max_messages: int = 1000):
        self._state = PipelineState.IDLE
        self.status_message: str = ""
        self.messages: collections.deque[str] = collections.deque(maxlen=max_messages)
        self.lock = threading.RLock()

    @property
    def state(self) -> PipelineState:
        """Current state (plain strings such as ``"idle"`` are accepted on assignment)."""
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        try:
            self._state = PipelineState(value)
        except ValueError:
            raise ValueError(
                f"unknown state {value!r}; states are {[s.value for s in PipelineState]}"
            ) from None

    def log(self, message: str) -> None:
        """Append ``message`` to :attr:`messages` and the ``moveo.realtime`` logger.

        Parameters
        ----------
        message : str
            Text.
        """
        self.messages.append(f"{time.strftime('%H:%M:%S')} {message}")
        logger.info(message)


class App:
    """A realtime application: named streams plus hooks around ``run``.

    Attach a :class:`~moveo.realtime.Pipeline` to get training and prediction;
    the pipeline registers its predict thread in :attr:`before_run_hooks`, its
    shutdown in :attr:`cleanup_hooks` and itself in :attr:`pipelines`.
    ``app.run()`` runs headless; ``app.run(mode="gui")`` opens the rig window
    (``pip install "moveo[gui]"``), drawing the function registered with
    :meth:`ui` every frame (or, without one, every rig panel).

    Parameters
    ----------
    warmup : bool or "all", default True
        What :meth:`start` compiles before any realtime thread runs, so no JIT
        compilation lands inside them. ``True``: what this app uses -- the ring
        buffer, the filters of its streams, the display kernels in the rig window
        and whatever was declared with :meth:`add_warmup` (a
        :class:`~moveo.realtime.Pipeline` declares its default HTD extraction).
        ``"all"``: every moveo kernel (:func:`moveo.warmup`). ``False``: nothing.

    Examples
    --------
    >>> from moveo.realtime import App, SyntheticSource
    >>> app = App()
    >>> stream = app.add_stream("emg", SyntheticSource(n_channels=4), window_ms=100)
    >>> app.run(duration=0.2)
    >>> stream.ring.count > 0
    True
    """

    def __init__(self, *, warmup: bool | str = True) -> None:
        if warmup != "all" and not isinstance(warmup, bool):
            raise ValueError(f"warmup must be True, False or 'all', got {warmup!r}")
        self.warmup: bool | str = warmup
        self.warmup_hooks: list[Callable[[], None]] = []
        """Run by :meth:`start` (with ``warmup`` on) before the streams start."""
        self.warmup_seconds = 0.0
        """How long the last :meth:`start` spent compiling (or loading) kernels."""
        self.ctx = AppContext()
        self.streams: dict[str, Stream] = {}
        self.before_run_hooks: list[Callable[[], None]] = []
        self.cleanup_hooks: list[Callable[[], None]] = []
        self.pipelines: list[Any] = []
        self.recorder: Any = None
        self.recording_error: BaseException | None = None
        self._ui_fn: Callable[[AppContext], None] | None = None
        self._running = False
        self._stop_requested = threading.Event()

    def __repr__(self) -> str:
        return f"App(streams={list(self.streams)}, state={self.ctx.state.value!r})"

    # ------------------------------------------------------------------ streams
    def add_stream(
        self,
        name: str,
        source: Source,
        *,
        window_ms: float = 200.0,
        filters: Any = None,
        **options: Any,
    ) -> Stream:
        """Add a named stream (opens the source so its layout is known).

        Parameters
        ----------
        name : str
            Key of this stream in ``app.streams`` and in the windows dict.
        source : Source
            :class:`~moveo.realtime.LSLSource`, :class:`~moveo.realtime.SyntheticSource`,
            :class:`~moveo.realtime.ReplaySource`, ...
        window_ms : float, default 200
            Length of the window handed to ``extract``.
        filters : optional
            Causal filters (see :class:`~moveo.realtime.Stream`).
        **options
            Further :class:`~moveo.realtime.Stream` options (``buffer_s``,
            ``silence_s``, ``reconnect_s``, ``open_timeout``).

        Returns
        -------
        Stream
        """
        if name in self.streams:
            raise ValueError(f"a stream named {name!r} already exists; pick another name")
        if self._running:
            raise RuntimeError("add streams before app.run()/app.start()")
        stream = Stream(name, source, window_ms=window_ms, filters=filters, **options)
        self.streams[name] = stream
        return stream

    # ------------------------------------------------------------------ run loop
    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._running

    def add_warmup(self, target: Any) -> None:
        """Compile what ``target`` needs in :meth:`start`, before any realtime thread.

        Parameters
        ----------
        target : callable or object with ``warmup(app)``
            A no-argument function, or e.g. the
            :class:`~moveo.realtime.training.EMGExtract` an extract callback
            calls (it compiles its feature plan for this app's streams).

        Examples
        --------
        >>> from moveo.realtime import App, SyntheticSource
        >>> from moveo.realtime.training import EMGExtract
        >>> app = App()
        >>> _ = app.add_stream("emg", SyntheticSource(n_channels=2), window_ms=50)
        >>> app.add_warmup(EMGExtract("HTD", fs=2000.0))
        >>> app.start(); app.stop()
        """
        warm = getattr(target, "warmup", None)
        if callable(warm):
            self.warmup_hooks.append(lambda: warm(self))
        elif callable(target):
            self.warmup_hooks.append(target)
        else:
            raise TypeError(
                "add_warmup needs a function or an object with warmup(app) (e.g. an "
                f"EMGExtract), got {type(target).__name__}"
            )

    def warmup_targets(self, *, gui: bool = False) -> list[str]:
        """Return the kernel modules this app's streams use (what ``warmup=True`` compiles).

        Parameters
        ----------
        gui : bool, default False
            Include the rig window's display kernels.

        Returns
        -------
        list of str
            :func:`moveo.warmup` targets.
        """
        from moveo.emg.filters import StreamingFilter

        targets = ["moveo.kernels.ring"]
        if any(isinstance(f, StreamingFilter) for s in self.streams.values() for f in s.filters):
            targets.append("moveo.kernels.filters")
        if gui:
            targets.append("moveo.kernels.display")
        return targets

    def start(self, *, gui: bool = False) -> None:
        """Start the streams and run the before-run hooks (non-blocking).

        First compiles what the app needs (see ``warmup`` in :class:`App`), so
        no JIT compilation lands inside the realtime threads.

        Parameters
        ----------
        gui : bool, default False
            Also compile the rig window's display kernels (the window passes it).
        """
        if self._running:
            return
        if self.warmup:
            from moveo._numba import warmup

            t0 = time.perf_counter()
            if self.warmup == "all":
                warmup()
            else:
                warmup(self.warmup_targets(gui=gui))
                for hook in list(self.warmup_hooks):
                    hook()
            self.warmup_seconds = time.perf_counter() - t0
        self._stop_requested.clear()
        self._running = True
        for stream in self.streams.values():
            stream.start()
        for hook in list(self.before_run_hooks):
            hook()
        self.ctx.log(f"app started with streams {list(self.streams)}")

    def stop(self) -> None:
        """Run the cleanup hooks, finish any recording and stop the streams."""
        if not self._running:
            return
        try:
            for hook in list(self.cleanup_hooks):
                try:
                    hook()
                except Exception as exc:  # noqa: BLE001 - one failing hook must not block the rest
                    self.ctx.log(f"cleanup hook failed: {exc}")
            if self.recorder is not None:
                try:
                    self.stop_recording()
                except Exception as exc:  # noqa: BLE001 - already reported on the context
                    self.ctx.log(f"recording could not be finalised: {exc}")
        finally:
            for stream in self.streams.values():
                stream.stop()
            self._running = False
            self.ctx.log("app stopped")

    def request_stop(self) -> None:
        """Ask a blocking :meth:`run` to return (safe from any thread or callback)."""
        self._stop_requested.set()

    def ui(self, fn: Callable[[AppContext], None]) -> Callable[[AppContext], None]:
        """Register the function that draws the window (decorator).

        ``fn(ctx)`` is called every frame of ``app.run(mode="gui")`` with
        :attr:`ctx`, inside a panel covering the window; it draws with Dear ImGui
        (``imgui_bundle.imgui``) and the widgets of :mod:`moveo.realtime.widgets`.
        It runs on the GUI thread, so it may set things the pipeline reads, e.g.
        ``pipeline.training_data``. A later registration replaces an earlier one.
        Without any, the window shows :func:`moveo.realtime.widgets.rig_layout`.

        Parameters
        ----------
        fn : callable
            ``fn(ctx) -> None``.

        Returns
        -------
        callable
            ``fn`` unchanged.
        """
        if not callable(fn):
            raise TypeError(f"app.ui needs a function fn(ctx), got {type(fn).__name__}")
        self._ui_fn = fn
        return fn

    def run(
        self,
        mode: str = "headless",
        duration: float | None = None,
        *,
        window_size: tuple[int, int] = (1280, 800),
        fullscreen: bool = False,
        title: str = "moveo",
        fps: float = 60.0,
        screenshot: str | None = None,
    ) -> None:
        """Run until ``duration`` passed, :meth:`request_stop`, Ctrl-C or the window closes.

        Starts the streams and the before-run hooks (:meth:`start`), waits, and
        stops everything (:meth:`stop`: predict thread joined, a running
        recording finalised, streams stopped).

        Parameters
        ----------
        mode : {"headless", "gui"}, default "headless"
            ``"gui"`` opens the rig window (needs ``pip install "moveo[gui]"`` and
            a display; see :func:`moveo.realtime.gui.run_window`).
        duration : float, optional
            Seconds to run (default: until stopped).
        window_size : (int, int), default (1280, 800)
            GUI: window size in pixels.
        fullscreen : bool, default False
            GUI: cover the primary monitor.
        title : str, default "moveo"
            GUI: window title.
        fps : float, default 60.0
            GUI: frame-rate cap (``<= 0``: none).
        screenshot : str, optional
            GUI: save the last frame as a PNG at this path.
        """
        if mode not in ("headless", "gui"):
            raise ValueError(f"mode must be 'headless' or 'gui', got {mode!r}")
        if mode == "gui":
            from moveo.realtime.gui import run_window

            run_window(self, duration=duration, window_size=window_size,
                       fullscreen=fullscreen, title=title, fps=fps, screenshot=screenshot)
            return
        self.start()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
        try:
            end = None if duration is None else clock() + float(duration)
            while not self._stop_requested.is_set():
                remaining = 0.2 if end is None else min(0.2, end - clock())
                if remaining <= 0:
                    break
                self._stop_requested.wait(remaining)
        except KeyboardInterrupt:
            self.ctx.log("interrupted (Ctrl-C)")
        finally:
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def __enter__(self) -> App:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_samples(self, n: int, timeout: float = 5.0) -> bool:
        """Block until every stream has received at least ``n`` samples.

        Parameters
        ----------
        n : int
            Samples per stream.
        timeout : float, default 5.0
            Seconds.

        Returns
        -------
        bool
            False on timeout.
        """
        end = clock() + timeout
        while clock() < end:
            if all(s.ring.count >= n for s in self.streams.values()):
                return True
            time.sleep(0.005)
        return False

    # ------------------------------------------------------------------ recording
    @property
    def is_recording(self) -> bool:
        """True while a recording session is open."""
        return self.recorder is not None

    def start_recording(
        self,
        dataset: Any,
        subject: str,
        session: str,
        *,
        stream: str | None = None,
        overwrite: bool = False,
        **options: Any,
    ) -> bool:
        """Start writing a session of one stream into an EMG dataset.

        Allowed when idle (the state becomes ``recording``) or while predicting
        (online evaluation; the state stays ``predicting``). Acquisition never
        waits for the disk: chunks are queued to a recorder thread.

        Parameters
        ----------
        dataset : moveo.Dataset
            An EMG dataset (``kind="emg"``) whose ``fps`` equals the stream's rate.
        subject, session : str
            The entry to write (group = subject, sequence = session).
        stream : str, optional
            Stream to record (default: the only stream).
        overwrite : bool, default False
            Replace an existing entry.
        **options
            Passed to :class:`~moveo.realtime.recording.Recorder` (``queue_s``,
            ``flush_s``).

        Returns
        -------
        bool
            False (with ``ctx.status_message`` set) if the state forbids recording.
        """
        from moveo.realtime.recording import Recorder

        ctx = self.ctx
        with ctx.lock:
            if self.recorder is not None:
                ctx.status_message = "Cannot start recording: a recording is already running."
                return False
            if ctx.state not in (PipelineState.IDLE, PipelineState.PREDICTING):
                ctx.status_message = (
                    f"Cannot start recording: state is {ctx.state.value!r}, expected 'idle' "
                    "or 'predicting'."
                )
                return False
            if not self.streams:
                raise ValueError("no streams: call app.add_stream(...) before recording")
            if stream is None:
                if len(self.streams) > 1:
                    raise ValueError(
                        f"several streams {list(self.streams)}: pass stream=<name> (one "
                        "dataset per stream, since a dataset has one sampling rate)"
                    )
                stream = next(iter(self.streams))
            if stream not in self.streams:
                raise KeyError(f"no stream {stream!r}; streams are {list(self.streams)}")
            recorder = Recorder(
                self, dataset, subject, session, self.streams[stream], overwrite=overwrite,
                **options,
            )
            self.recording_error = None
            self.recorder = recorder
            recorder.attach()
            if ctx.state == PipelineState.IDLE:
                ctx.state = PipelineState.RECORDING
            ctx.status_message = f"Recording {subject}/{session}..."
            ctx.log(f"recording started: {subject}/{session} (stream {stream!r})")
            return True

    def stop_recording(self) -> tuple[str, str] | None:
        """Finish the session: flush, write atomically into the dataset, store labels.

        Returns
        -------
        (str, str) or None
            The entry written, or None if no recording was running.

        Raises
        ------
        moveo.realtime.recording.RecordingError
            If the recorder could not keep up or a write failed; the partial
            session is discarded (nothing half-written stays in the dataset).
        """
        ctx = self.ctx
        with ctx.lock:
            recorder = self.recorder
            if recorder is None:
                ctx.status_message = "Cannot stop recording: no recording is running."
                return None
            self.recorder = None
            if ctx.state == PipelineState.RECORDING:
                ctx.state = PipelineState.IDLE
        try:
            entry = recorder.finish()
        except Exception as exc:
            self.recording_error = exc
            ctx.status_message = f"Recording failed: {exc}"
            ctx.log(f"recording failed: {exc}")
            raise
        ctx.status_message = f"Recording saved: {entry[0]}/{entry[1]}"
        ctx.log(f"recording saved: {entry[0]}/{entry[1]} ({recorder.samples_written} samples)")
        return entry

    def label(self, class_index: int, *, time: float | None = None) -> None:
        """Store a cue/label event in the running recording.

        Samples from ``time`` on carry ``class_index`` until the next label.

        Parameters
        ----------
        class_index : int
            Class of the movement being cued (>= 0).
        time : float, optional
            LSL clock time of the cue (default: now).

        Raises
        ------
        RuntimeError
            If no recording is running.
        """
        recorder = self.recorder
        if recorder is None:
            raise RuntimeError("app.label() needs a running recording: call "
                               "app.start_recording(...) first")
        recorder.label(class_index, clock() if time is None else float(time))
