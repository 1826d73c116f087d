"""``moveo realtime``: a self-contained demo and a synthetic LSL outlet."""

from __future__ import annotations

import argparse
import functools
import math
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["register", "run_demo"]


def register(subparsers: Any) -> None:
    """Add the ``realtime`` subcommand (``demo``, ``outlet``) to the ``moveo`` parser.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.
    """
    rt = subparsers.add_parser("realtime", help="realtime EMG prediction (demo, outlet)")
    sub = rt.add_subparsers(dest="realtime_command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="synthetic LSL outlet -> record a cued session -> train LDA on HTD -> predict",
    )
    demo.add_argument("--channels", type=int, default=8, help="EMG channels (default 8)")
    demo.add_argument("--fs", type=float, default=2000.0, help="sampling rate in Hz")
    demo.add_argument("--classes", type=int, default=4, help="classes incl. rest (default 4)")
    demo.add_argument("--cue-s", type=float, default=0.5, help="seconds per cue (default 0.5)")
    demo.add_argument("--record-s", type=float, default=6.0, help="recording length (s)")
    demo.add_argument("--predict-s", type=float, default=3.0, help="prediction length (s)")
    demo.add_argument("--predict-hz", type=float, default=50.0, help="predict rate (Hz)")
    demo.add_argument("--window-ms", type=float, default=200.0, help="window length (ms)")
    demo.add_argument("--mode", choices=("fixed", "on-new-data"), default="fixed")
    demo.add_argument("--dataset", type=Path, default=None,
                      help="folder for the recorded dataset (default: a temporary folder)")
    demo.add_argument("--no-warmup", action="store_true",
                      help="do not compile the demo's kernels before starting (they compile "
                           "on first use instead)")
    demo.add_argument("--regression", action="store_true",
                      help="proportional control instead: continuous targets -> ridge on HTD "
                           "-> smoothed live outputs, scored by R² (--classes/--cue-s unused)")
    demo.add_argument("--gui", action="store_true",
                      help="run the flow in the rig window (pip install 'moveo[gui]'); "
                           "prediction goes on until the window is closed")
    demo.add_argument("--screenshot", type=Path, default=None,
                      help="--gui: save the window's last frame as a PNG")
    demo.add_argument("--exit-after", type=float, default=None, metavar="S",
                      help="--gui: close the window S seconds after the scripted flow")
    demo.set_defaults(func=_demo_command)

    outlet = sub.add_parser("outlet", help="serve a synthetic EMG LSL outlet")
    outlet.add_argument("--name", default="moveo-synthetic", help="LSL stream name")
    outlet.add_argument("--source-id", default=None, help="LSL source id (default: name)")
    outlet.add_argument("--channels", type=int, default=8)
    outlet.add_argument("--fs", type=float, default=2000.0)
    outlet.add_argument("--chunk", type=int, default=10)
    outlet.add_argument("--classes", type=int, default=4)
    outlet.add_argument("--cue-s", type=float, default=None,
                        help="class follows the LSL clock: int(t // cue_s) %% classes")
    outlet.add_argument("--seed", type=int, default=0)
    outlet.add_argument("--target-hz", type=float, default=None,
                        help="continuous activation levels (proportional control) from this "
                             "base frequency")
    outlet.add_argument("--duration", type=float, default=None, help="seconds (default: forever)")
    outlet.set_defaults(func=_outlet_command)
    rt.set_defaults(func=lambda args: (rt.print_help(), 2)[1])


def _outlet_command(args: argparse.Namespace) -> int:
    from moveo.realtime.sources import SyntheticSource

    src = SyntheticSource(args.channels, args.fs, args.chunk, args.classes, args.seed,
                          cue_s=args.cue_s, target_hz=args.target_hz)
    print(f"serving LSL stream {args.name!r} ({args.channels} ch @ {args.fs:g} Hz); Ctrl-C stops")
    try:
        n = src.serve(args.name, source_id=args.source_id, duration=args.duration)
    except KeyboardInterrupt:
        return 0
    print(f"pushed {n} samples")
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    if args.regression:
        from moveo.cli.regression_demo import run_regression_demo

        out = run_regression_demo(
            n_channels=args.channels, fs=args.fs, record_s=args.record_s,
            predict_s=args.predict_s, predict_hz=args.predict_hz, window_ms=args.window_ms,
            mode=args.mode, dataset=args.dataset, warmup=not args.no_warmup, echo=print,
        )  # fmt: skip
        return 0 if np.isfinite(out["r2_mean"]) else 1
    result = run_demo(
        n_channels=args.channels,
        fs=args.fs,
        n_classes=args.classes,
        cue_s=args.cue_s,
        record_s=args.record_s,
        predict_s=args.predict_s,
        predict_hz=args.predict_hz,
        window_ms=args.window_ms,
        mode=args.mode,
        dataset=args.dataset,
        warmup=not args.no_warmup,
        gui=args.gui,
        screenshot=args.screenshot,
        exit_after=args.exit_after,
        echo=print,
    )
    if not result["completed"]:  # the window was closed before the flow ended
        return 0
    return 0 if result["accuracy"] >= 0 else 1


def run_demo(
    *,
    n_channels: int = 8,
    fs: float = 2000.0,
    n_classes: int = 4,
    cue_s: float = 0.5,
    record_s: float = 6.0,
    predict_s: float = 3.0,
    predict_hz: float = 50.0,
    window_ms: float = 200.0,
    mode: str = "fixed",
    dataset: str | Path | None = None,
    warmup: bool = True,
    gui: bool = False,
    screenshot: str | Path | None = None,
    exit_after: float | None = None,
    echo: Any = None,
) -> dict[str, Any]:
    """Run the demo: outlet process, cued recording, LDA on HTD, live prediction.

    The synthetic outlet's class follows the LSL clock (``int(t // cue_s) %
    n_classes``), so the demo knows the true class of every window from its
    timestamp alone.

    With ``gui=True`` the same scripted flow runs while the rig window shows it
    (signals, recording, training log, predictions, stats); afterwards prediction
    continues and every button works until the window is closed (or
    ``exit_after`` seconds after the flow). Closing the window early stops the
    flow, finalises a running recording and stops every thread.

    Parameters
    ----------
    n_channels, fs, n_classes : int, float, int
        Synthetic stream layout.
    cue_s : float
        Seconds per cue.
    record_s, predict_s : float
        Recording and prediction durations.
    predict_hz : float
        Predict rate.
    window_ms : float
        Window length.
    mode : {"fixed", "on-new-data"}
        Predict loop mode.
    dataset : path, optional
        Where to record (default: a temporary folder).
    warmup : bool, default True
        Compile the kernels the demo uses before its threads start (see
        ``warmup`` in :class:`moveo.realtime.App`).
    gui : bool, default False
        Show the rig window (needs ``pip install "moveo[gui]"`` and a display).
    screenshot : path, optional
        With ``gui``: save the window's last frame as a PNG.
    exit_after : float, optional
        With ``gui``: close the window this many seconds after the flow finished.
    echo : callable, optional
        Called with progress lines (e.g. ``print``).

    Returns
    -------
    dict
        ``accuracy`` (fraction of predictions whose window lies in one cue period
        and matches it), ``predictions`` (how many were scored), ``train_windows``,
        ``stats`` (:meth:`Pipeline.stats` at the end of the scripted prediction),
        ``dataset`` (path) and ``completed`` (False if the window was closed
        before the flow finished).
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from moveo import Dataset
    from moveo.realtime import App, LSLSource, Pipeline, TrainingData, start_outlet_process
    from moveo.realtime.persistence import load_pickle, save_pickle
    from moveo.realtime.stats import format_stats
    from moveo.realtime.training import EMGExtract

    if window_ms / 1000.0 >= cue_s:
        raise ValueError(f"window_ms ({window_ms:g}) must be shorter than a cue ({cue_s:g} s)")
    if gui:
        from moveo.realtime import widgets  # fail early without the GUI extra
    say = echo or (lambda *_: None)
    sid = f"moveo-demo-{uuid.uuid4().hex[:8]}"
    say(f"starting synthetic LSL outlet {sid!r}: {n_channels} ch @ {fs:g} Hz, "
        f"{n_classes} classes, cue every {cue_s:g} s")
    proc, stop = start_outlet_process(sid, source_id=sid, n_channels=n_channels, fs=fs,
                                      chunk=10, n_classes=n_classes, cue_s=cue_s)
    tmp = None
    if dataset is None:
        tmp = tempfile.TemporaryDirectory(prefix="moveo-demo-")
        dataset = Path(tmp.name) / "emg"
    names = ["rest"] + [f"class {k}" for k in range(1, n_classes)]
    scored: list[tuple[float, int]] = []
    abort = threading.Event()
    flow: dict[str, Any] = {"step": "starting", "stats": None, "data": None, "error": None,
                            "done": False}
    try:
        # app.start() compiles what this demo runs: the ring buffer, the HTD kernels
        # (declared below) and, in the window, the display kernels -- nothing else
        app = App(warmup=warmup)
        app.add_stream("emg", LSLSource(source_id=sid, timeout=30.0), window_ms=window_ms)
        pipeline = Pipeline(app, predict_hz=predict_hz, mode=mode)
        htd = EMGExtract("HTD", fs=fs)
        app.add_warmup(htd)
        if warmup:
            say("compiling the kernels this demo uses (ring buffer, HTD features): about "
                "20 s the first time on a 2-core machine, under a second once cached ...")

        @pipeline.extract
        def extract(windows, newest):
            return htd(windows), newest

        @pipeline.train
        def train(data):
            pipeline.train_log.append(f"LDA on HTD features: {data.n_windows} windows, "
                                      f"{n_channels * 4} features, classes "
                                      f"{sorted(set(data.labels.tolist()))}")
            return LinearDiscriminantAnalysis().fit(data.apply(htd), data.labels)

        @pipeline.predict
        def predict(model, features):
            x, newest = features
            proba = model.predict_proba(x[None])[0]
            k = int(model.classes_[proba.argmax()])
            scored.append((newest, k))
            full = np.zeros(n_classes)
            full[model.classes_.astype(int)] = proba
            return {"class": k, "proba": full, "time": newest}

        pipeline.save_model = functools.partial(save_pickle, pipeline=pipeline,
                                                class_names=names)
        pipeline.load_model = functools.partial(load_pickle, pipeline=pipeline)
        ds = Dataset.create(dataset, fps=fs, kind="emg")

        def step(text: str) -> None:
            flow["step"] = text
            say(text)

        def scripted() -> None:
            """Record -> train -> predict, as an operator would click it."""
            end = time.monotonic() + 30
            while not app.wait_for_samples(round(fs * 0.5), 0.2):
                if abort.is_set():
                    return
                if time.monotonic() > end:
                    raise RuntimeError("the synthetic outlet did not deliver samples in 30 s")
            step(f"recording {record_s:g} s of cued movements into {ds.root}")
            if not app.start_recording(ds, "demo", "cued"):
                raise RuntimeError(app.ctx.status_message)
            now = app.streams["emg"].newest_timestamp
            first = (math.floor(now / cue_s) + 1) * cue_s
            n_cues = max(int(record_s / cue_s), n_classes)
            for t in first + cue_s * np.arange(n_cues):
                app.label(round(t / cue_s) % n_classes, time=float(t))
            if abort.wait(max(first + n_cues * cue_s - now + 0.1, 0)):
                return  # the window closed: app.stop() finalises the recording
            app.stop_recording()
            data = TrainingData.from_dataset(ds, window_ms=window_ms, hop_ms=25.0, pure=True)
            flow["data"] = data
            pipeline.training_data = data
            step(f"training LDA on HTD features of {data.n_windows} windows")
            pipeline.start_training()
            while not pipeline.wait_for_training(0.2):
                if abort.is_set():
                    return
            if pipeline.model is None:
                raise RuntimeError("training failed:\n" + "\n".join(pipeline.train_log))
            step(f"predicting for {predict_s:g} s ({mode}, {predict_hz:g} Hz)")
            pipeline.start_predicting()
            if abort.wait(predict_s):
                return
            flow["stats"] = pipeline.stats()
            flow["done"] = True

        if not gui:
            with app:
                if warmup:
                    say(f"kernels ready in {app.warmup_seconds:.1f} s")
                scripted()
                pipeline.stop_predicting()
        else:
            from imgui_bundle import icons_fontawesome_6 as fa
            from imgui_bundle import imgui

            def demo_panel() -> None:
                widgets.panel_header("DEMO", fa.ICON_FA_WAVE_SQUARE)
                stream = app.streams["emg"]
                newest = stream.newest_timestamp
                cue = int(newest // cue_s) % n_classes if math.isfinite(newest) else 0
                imgui.text_wrapped(flow["step"])
                imgui.text(f"the synthetic subject performs: {names[cue]}")

            @app.ui
            def ui(ctx):
                widgets.rig_layout(app, dataset=ds, subject="operator", classes=names,
                                   model_path=str(Path(dataset).parent / "demo-model.joblib"),
                                   panel=demo_panel)

            def autopilot() -> None:
                try:
                    scripted()
                except Exception as exc:  # noqa: BLE001 - shown in the window, re-raised below
                    flow["error"] = exc
                    app.ctx.status_message = f"Demo failed: {exc}"
                    app.request_stop()
                    return
                if flow["done"]:
                    step("done: predicting live (close the window to quit)")
                    if exit_after is not None and not abort.wait(exit_after):
                        app.request_stop()

            pilot = threading.Thread(target=autopilot, name="moveo-demo", daemon=True)
            pilot.start()
            try:
                app.run(mode="gui", title="moveo realtime demo", screenshot=screenshot)
            finally:
                abort.set()
                pilot.join(30)
            if flow["error"] is not None:
                raise flow["error"]
        stats = flow["stats"] if flow["stats"] is not None else pipeline.stats()
    finally:
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    # score windows that lie entirely inside one cue period
    win_s = window_ms / 1000.0
    hits = total = 0
    for t, k in list(scored):
        if (t % cue_s) >= win_s:
            total += 1
            hits += k == int(t // cue_s) % n_classes
    accuracy = hits / total if total else float("nan")
    say(f"accuracy {accuracy:.3f} over {total} predictions (windows inside one cue)")
    say(format_stats(stats))
    data = flow["data"]
    result = {"accuracy": accuracy, "predictions": total,
              "train_windows": 0 if data is None else data.n_windows,
              "stats": stats, "dataset": str(dataset), "completed": flow["done"]}
    if tmp is not None:
        tmp.cleanup()
    return result
