"""The realtime loop against a synthetic LSL outlet running in another process."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from moveo import Dataset
from moveo.realtime import (
    App,
    LSLSource,
    Pipeline,
    TrainingData,
    start_outlet_process,
)
from reference.realtime import wait_until

pytestmark = pytest.mark.lsl


def _stop(proc, stop):
    stop.set()
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


def test_outlet_killed_mid_prediction_then_replaced():
    sid = f"kill-{uuid.uuid4().hex}"
    proc, stop = start_outlet_process(sid, source_id=sid, n_channels=4, fs=1000.0, chunk=10)
    procs = [(proc, stop)]
    try:
        app = App(warmup=False)
        app.add_stream(
            "emg",
            LSLSource(source_id=sid, timeout=20.0),
            window_ms=50,
            silence_s=0.3,
            reconnect_s=0.2,
        )
        p = Pipeline(app, predict_hz=50)
        p.extract(lambda w: float(np.abs(w["emg"]).mean()))
        p.predict(lambda m, f: {"level": f})
        p.model = 1
        with app:
            stream = app.streams["emg"]
            assert app.wait_for_samples(100, 20)
            p.start_predicting()
            assert wait_until(lambda: p.prediction_count > 5, 10)
            proc.kill()  # the outlet process crashes
            assert wait_until(lambda: stream.status == "disconnected", 10)
            assert wait_until(lambda: p.stale, 5)
            # the operator is told, not left reading "Predicting..."
            assert app.ctx.status_message.startswith("Stream 'emg' is disconnected")
            assert "predictions paused" in app.ctx.status_message
            made = p.prediction_count
            time.sleep(0.3)
            assert p.prediction_count == made  # nothing predicted from the dead stream
            assert app.ctx.state == "predicting"
            proc2, stop2 = start_outlet_process(
                sid, source_id=sid, n_channels=4, fs=1000.0, chunk=10, seed=1
            )
            procs.append((proc2, stop2))
            assert wait_until(lambda: stream.status == "connected", 30)
            assert wait_until(lambda: not p.stale and p.prediction_count > made + 5, 10)
            assert app.ctx.status_message == "Predicting..."
            stats = p.stats()
        assert stream.counters["disconnects"] >= 1
        assert stream.counters["reconnects"] >= 1
        assert stats["stale_ticks"] > 0
    finally:
        for pr, st in procs:
            _stop(pr, st)


def test_record_train_predict_with_outlet_process(tmp_path):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    sid = f"cue-{uuid.uuid4().hex}"
    cue = 0.5  # the outlet's class follows the LSL clock: int(t // cue) % 4
    proc, stop = start_outlet_process(
        sid, source_id=sid, n_channels=8, fs=2000.0, chunk=10, n_classes=4, cue_s=cue
    )
    try:
        app = App(warmup=False)
        app.add_stream("emg", LSLSource(source_id=sid, timeout=20.0), window_ms=150)
        p = Pipeline(app, predict_hz=50, mode="on-new-data")

        @p.extract
        def extract(windows):
            w = windows["emg"]
            return np.concatenate([np.abs(w).mean(axis=1), np.abs(np.diff(w, axis=1)).sum(1)])

        @p.train
        def train(data):
            return LinearDiscriminantAnalysis().fit(data.apply(extract), data.labels)

        @p.predict
        def predict(model, features):
            return {"class": int(model.predict(features[None])[0])}

        ds = Dataset.create(tmp_path / "emg", fps=2000.0, kind="emg")
        with app:
            assert app.wait_for_samples(500, 20)
            app.start_recording(ds, "sub", "cued")
            now = app.streams["emg"].newest_timestamp
            # cue every class boundary of the outlet's schedule for 4 s
            first = (np.floor(now / cue) + 1) * cue
            for t in first + cue * np.arange(8):
                app.label(int(round(t / cue)) % 4, time=t)
            time.sleep(first + 8 * cue - now + 0.2)
            app.stop_recording()
            p.training_data = TrainingData.from_dataset(ds, window_ms=150, hop_ms=50, pure=True)
            assert set(p.training_data.classes) == {0, 1, 2, 3}
            p.start_training()
            assert p.wait_for_training(60)
            assert p.model is not None, p.train_log
            p.start_predicting()
            hits = total = 0
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                time.sleep(0.05)
                t = p.prediction_time
                phase = (t / cue) % 1
                if 0.4 < phase < 0.95:  # well inside a cue period (150 ms window)
                    total += 1
                    hits += p.predictions["class"] == int(t // cue) % 4
            stats = p.stats()
        assert total > 10
        assert hits / total > 0.8
        assert stats["callback_errors"] == 0
        assert stats["latency_ms"]["p50"] < 100
    finally:
        _stop(proc, stop)
