"""``moveo realtime demo --regression``: proportional control end to end.

A synthetic LSL outlet (in its own process) produces EMG whose channel groups
follow continuous activation levels (:class:`~moveo.realtime.SyntheticSource`
with ``target_hz``); the demo records a session, writes the matching target
stream (the levels at every recorded timestamp, what a force sensor would
record) into a second dataset, cuts windows with targets aligned by
timestamp (:meth:`TrainingData.from_dataset`), scores an
:class:`~moveo.emg.EMGRegressor` (HTD → scaler → ridge) by time-block
cross-validation, trains it, then predicts live with exponential smoothing and
a deadband and scores the online outputs against the true levels.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["run_regression_demo"]


def run_regression_demo(
    *,
    n_channels: int = 8,
    fs: float = 2000.0,
    n_dofs: int = 2,
    target_hz: float = 0.5,
    record_s: float = 8.0,
    predict_s: float = 3.0,
    predict_hz: float = 50.0,
    window_ms: float = 200.0,
    hop_ms: float = 25.0,
    alpha: float = 0.3,
    deadband: float = 0.02,
    block_s: float = 1.0,
    mode: str = "fixed",
    dataset: str | Path | None = None,
    warmup: bool = True,
    echo: Any = None,
) -> dict[str, Any]:
    """Run the regression demo (see the module docs).

    Parameters
    ----------
    n_channels, fs : int, float
        Synthetic stream layout.
    n_dofs : int, default 2
        Degrees of freedom (continuous targets); DoF ``k`` oscillates at
        ``target_hz * (1 + (k - 1) / 2)``.
    target_hz : float, default 0.5
        Base frequency of the activation levels.
    record_s, predict_s : float
        Recording and prediction durations (seconds).
    predict_hz : float
        Predict rate.
    window_ms, hop_ms : float
        Window length and training hop.
    alpha : float, default 0.3
        :class:`~moveo.realtime.outputs.ExponentialSmoothing` weight.
    deadband : float, default 0.02
        :class:`~moveo.realtime.outputs.Deadband` threshold.
    block_s : float, default 1.0
        Time-block length of the offline cross-validation.
    mode : {"fixed", "on-new-data"}
        Predict loop mode.
    dataset : path, optional
        Where to record the EMG (default: a temporary folder); the targets go
        to a sibling folder ``<dataset>-targets``.
    warmup : bool, default True
        Compile the kernels the demo uses before its threads start (see ``warmup``
        in :class:`moveo.realtime.App`).
    echo : callable, optional
        Called with progress lines (e.g. ``print``).

    Returns
    -------
    dict
        ``r2`` and ``nrmse`` (online, per DoF), ``r2_mean``, ``cv_r2`` (mean
        time-block CV R² on the recording), ``predictions`` (scored),
        ``train_windows``, ``stats`` and ``dataset``.
    """
    from moveo.dataset import Dataset
    from moveo.emg import EMGRegressor
    from moveo.emg import metrics as M
    from moveo.emg.evaluation import cross_validate
    from moveo.emg.recording import add_recording, read_recording
    from moveo.realtime import (
        App,
        LSLSource,
        Pipeline,
        SyntheticSource,
        TrainingData,
        start_outlet_process,
    )
    from moveo.realtime.outputs import Deadband, ExponentialSmoothing
    from moveo.realtime.stats import format_stats
    from moveo.realtime.training import EMGExtract

    if int(n_dofs) < 1:
        raise ValueError(f"n_dofs must be >= 1, got {n_dofs}")
    if record_s < 2 * block_s:
        raise ValueError(f"record_s ({record_s:g}) must cover at least two blocks of "
                         f"block_s={block_s:g} s for the cross-validation")
    say = echo or (lambda *_: None)
    n_classes = int(n_dofs) + 1
    source_kwargs = {"n_channels": n_channels, "fs": fs, "chunk": 10, "n_classes": n_classes,
                     "target_hz": target_hz}
    truth = SyntheticSource(**source_kwargs)  # same levels as the outlet, from timestamps
    sid = f"moveo-demo-{uuid.uuid4().hex[:8]}"
    say(f"starting synthetic LSL outlet {sid!r}: {n_channels} ch @ {fs:g} Hz, {n_dofs} "
        f"continuous degrees of freedom from {target_hz:g} Hz")
    proc, stop = start_outlet_process(sid, source_id=sid, **source_kwargs)
    tmp = None
    if dataset is None:
        tmp = tempfile.TemporaryDirectory(prefix="moveo-demo-")
        dataset = Path(tmp.name) / "emg"
    dataset = Path(dataset)
    scored: list[tuple[float, np.ndarray]] = []
    size = round(window_ms * fs / 1000.0)
    try:
        app = App(warmup=warmup)
        app.add_stream("emg", LSLSource(source_id=sid, timeout=30.0), window_ms=window_ms)
        pipeline = Pipeline(app, predict_hz=predict_hz, mode=mode)
        # the regressor's HTD plan runs the kernels EMGExtract("HTD") runs: compile them
        # in app.start(), not in the first training or predict tick
        app.add_warmup(EMGExtract("HTD", fs=fs))

        @pipeline.extract
        def extract(windows):
            return windows["emg"]  # the regressor computes its own features

        @pipeline.train
        def train(data):
            return EMGRegressor("HTD", fs=fs).fit(data.windows["emg"], data.targets)

        @pipeline.predict
        def predict(model, window):
            return {"value": model.predict_window(window)}

        def record(result: dict[str, Any], newest: float) -> dict[str, Any]:
            scored.append((newest, np.array(result["value"], dtype=np.float64)))
            return result

        pipeline.postprocess += [ExponentialSmoothing(alpha), Deadband(deadband), record]

        ds = Dataset.create(dataset, fps=fs, kind="emg")
        with app:
            if not app.wait_for_samples(round(fs * 0.5), 30):
                raise RuntimeError("the synthetic outlet did not deliver samples in 30 s")
            say(f"recording {record_s:g} s of continuous contractions into {ds.root}")
            app.start_recording(ds, "demo", "regression")
            time.sleep(record_s)
            app.stop_recording()
            _, ts = read_recording(ds, "demo", "regression")
            targets = Dataset.create(Path(f"{dataset}-targets"), fps=fs, kind="emg",
                                     meta={"channels": [f"dof{k}" for k in range(1, n_classes)]})
            add_recording(targets, "demo", "regression",
                          truth.targets_at(ts).astype(np.float32), ts)
            data = TrainingData.from_dataset(ds, window_ms=window_ms, hop_ms=hop_ms,
                                             targets=targets, target_reduce="mean")
            cv = cross_validate(EMGRegressor("HTD", fs=fs), data, by="time", block_s=block_s,
                                n_splits=min(4, int(record_s // block_s)))
            cv_r2 = float(np.mean(cv["test_score"]))
            say(f"time-block CV ({block_s:g} s blocks, gap {cv['gap']} windows): "
                f"R² {cv_r2:.3f}")
            pipeline.training_data = data
            say(f"training ridge on HTD features of {data.n_windows} windows")
            pipeline.start_training()
            pipeline.wait_for_training()
            if pipeline.model is None:
                raise RuntimeError("training failed:\n" + "\n".join(pipeline.train_log))
            say(f"predicting for {predict_s:g} s ({mode}, {predict_hz:g} Hz, smoothing "
                f"alpha {alpha:g}, deadband {deadband:g})")
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
    if not scored:
        raise RuntimeError("no predictions were made")
    # truth of a prediction: the mean level over its window (as in training)
    times = np.array([t for t, _ in scored])
    pred = np.stack([v for _, v in scored])
    offsets = np.arange(size)[::-1] / fs
    true = np.stack([truth.targets_at(t - offsets).mean(axis=0) for t in times])
    r2 = M.r2(true, pred)
    nrmse = M.nrmse(true, pred)
    r2_mean = float(np.mean(r2))
    say(f"online R² {r2_mean:.3f} (per DoF {np.round(r2, 3).tolist()}), NRMSE "
        f"{np.round(nrmse, 3).tolist()} over {len(scored)} predictions")
    say(format_stats(stats))
    result = {"r2": r2, "nrmse": nrmse, "r2_mean": r2_mean, "cv_r2": cv_r2,
              "predictions": len(scored), "train_windows": data.n_windows, "stats": stats,
              "dataset": str(dataset)}
    if tmp is not None:
        tmp.cleanup()
    return result
