"""``moveo realtime``: a self-contained demo and a synthetic LSL outlet."""

from __future__ import annotations

import argparse
import math
import tempfile
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
                      help="do not compile every moveo kernel before starting")
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
    outlet.add_argument("--duration", type=float, default=None, help="seconds (default: forever)")
    outlet.set_defaults(func=_outlet_command)
    rt.set_defaults(func=lambda args: (rt.print_help(), 2)[1])


def _outlet_command(args: argparse.Namespace) -> int:
    from moveo.realtime.sources import SyntheticSource

    src = SyntheticSource(args.channels, args.fs, args.chunk, args.classes, args.seed,
                          cue_s=args.cue_s)
    print(f"serving LSL stream {args.name!r} ({args.channels} ch @ {args.fs:g} Hz); Ctrl-C stops")
    try:
        n = src.serve(args.name, source_id=args.source_id, duration=args.duration)
    except KeyboardInterrupt:
        return 0
    print(f"pushed {n} samples")
    return 0


def _demo_command(args: argparse.Namespace) -> int:
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
        echo=print,
    )
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
    echo: Any = None,
) -> dict[str, Any]:
    """Run the demo: outlet process, cued recording, LDA on HTD, live prediction.

    The synthetic outlet's class follows the LSL clock (``int(t // cue_s) %
    n_classes``), so the demo knows the true class of every window from its
    timestamp alone.

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
        Compile every moveo kernel before starting (:func:`moveo.warmup`).
    echo : callable, optional
        Called with progress lines (e.g. ``print``).

    Returns
    -------
    dict
        ``accuracy`` (fraction of predictions whose window lies in one cue period
        and matches it), ``predictions`` (how many were scored), ``train_windows``,
        ``stats`` (:meth:`Pipeline.stats`) and ``dataset`` (path).
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from moveo import Dataset
    from moveo.realtime import App, LSLSource, Pipeline, TrainingData, start_outlet_process
    from moveo.realtime.stats import format_stats
    from moveo.realtime.training import EMGExtract

    if window_ms / 1000.0 >= cue_s:
        raise ValueError(f"window_ms ({window_ms:g}) must be shorter than a cue ({cue_s:g} s)")
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
    scored: list[tuple[float, int]] = []
    try:
        if warmup:
            from moveo._numba import warmup as compile_kernels

            # one line on any output (the progress bar shows only on a terminal)
            say("preparing moveo's numba kernels: about 2 minutes the first time on a "
                "2-core machine, a few seconds once cached ...")
            t0 = time.perf_counter()
            compile_kernels()
            say(f"kernels ready in {time.perf_counter() - t0:.0f} s")
        app = App(warmup=warmup)  # already warm: nothing left to compile
        app.add_stream("emg", LSLSource(source_id=sid, timeout=30.0), window_ms=window_ms)
        pipeline = Pipeline(app, predict_hz=predict_hz, mode=mode)
        htd = EMGExtract("HTD", fs=fs)

        @pipeline.extract
        def extract(windows, newest):
            return htd(windows), newest

        @pipeline.train
        def train(data):
            return LinearDiscriminantAnalysis().fit(data.apply(htd), data.labels)

        @pipeline.predict
        def predict(model, features):
            x, newest = features
            k = int(model.predict(x[None])[0])
            scored.append((newest, k))
            return {"class": k, "time": newest}

        ds = Dataset.create(dataset, fps=fs, kind="emg")
        with app:
            if not app.wait_for_samples(round(fs * 0.5), 30):
                raise RuntimeError("the synthetic outlet did not deliver samples in 30 s")
            say(f"recording {record_s:g} s of cued movements into {ds.root}")
            app.start_recording(ds, "demo", "cued")
            now = app.streams["emg"].newest_timestamp
            first = (math.floor(now / cue_s) + 1) * cue_s
            n_cues = max(int(record_s / cue_s), n_classes)
            for t in first + cue_s * np.arange(n_cues):
                app.label(round(t / cue_s) % n_classes, time=float(t))
            time.sleep(max(first + n_cues * cue_s - now + 0.1, 0))
            app.stop_recording()
            data = TrainingData.from_dataset(ds, window_ms=window_ms, hop_ms=25.0, pure=True)
            pipeline.training_data = data
            say(f"training LDA on HTD features of {data.n_windows} windows")
            pipeline.start_training()
            pipeline.wait_for_training()
            if pipeline.model is None:
                raise RuntimeError("training failed:\n" + "\n".join(pipeline.train_log))
            say(f"predicting for {predict_s:g} s ({mode}, {predict_hz:g} Hz)")
            pipeline.start_predicting()
            time.sleep(predict_s)
            pipeline.stop_predicting()
            stats = pipeline.stats()
    finally:
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    # score windows that lie entirely inside one cue period
    win_s = window_ms / 1000.0
    hits = total = 0
    for t, k in scored:
        if (t % cue_s) >= win_s:
            total += 1
            hits += k == int(t // cue_s) % n_classes
    accuracy = hits / total if total else float("nan")
    say(f"accuracy {accuracy:.3f} over {total} predictions (windows inside one cue)")
    say(format_stats(stats))
    result = {"accuracy": accuracy, "predictions": total, "train_windows": data.n_windows,
              "stats": stats, "dataset": str(dataset)}
    if tmp is not None:
        tmp.cleanup()
    return result
