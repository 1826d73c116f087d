"""Recording into an EMG Dataset: exact samples, labels, slow disks, overflow is loud."""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.emg.recording import channel_names, read_events, read_recording, sample_labels
from moveo.realtime import App, Pipeline, ReplaySource
from moveo.realtime.recording import Recorder, RecordingError
from reference.realtime import GateSource, sequence_data, wait_until


@pytest.fixture
def emg_ds(tmp_path):
    return Dataset.create(tmp_path / "emg", fps=1000.0, kind="emg")


def _replay_app(n=60_000, speed=20.0):
    data = sequence_data(n)
    ts = 1000.0 + np.arange(n) / 1000.0
    app = App(warmup=False)
    src = ReplaySource(data, ts, fs=1000.0, chunk=10, speed=speed, restamp=False)
    app.add_stream("emg", src)
    return app, data, ts


def _check_exact(ds, data, ts):
    got, got_ts = read_recording(ds, "s1", "r1")
    assert channel_names(ds) == ["ch0", "ch1", "ch2"]
    first = int(got[0, 0])
    n = got.shape[0]
    assert n > 1000
    np.testing.assert_array_equal(got, data[first : first + n])  # contiguous, nothing lost
    np.testing.assert_array_equal(got_ts, ts[first : first + n])
    df = ds.read("s1", "r1")
    assert df.schema["id"] == pl.Int64
    assert df.schema["frame"] == pl.Int64
    assert df.schema["time"] == pl.Float64
    assert df.schema["ch0"] == pl.Float32
    np.testing.assert_array_equal(df["frame"].to_numpy(), np.arange(n))
    assert ds.meta["channels"] == ["ch0", "ch1", "ch2"]
    assert ds.fingerprint("s1", "r1")


def test_recorded_session_equals_pushed_samples(emg_ds):
    app, data, ts = _replay_app()
    with app:
        app.wait_for_samples(100)
        assert app.start_recording(emg_ds, "s1", "r1")
        assert app.ctx.state == "recording"
        time.sleep(0.6)
        assert app.stop_recording() == ("s1", "r1")
        assert app.ctx.state == "idle"
    _check_exact(emg_ds, data, ts)
    assert not list(emg_ds.root.rglob("*.tmp-*"))


def test_slow_disk_writer_still_exact(emg_ds, monkeypatch):
    original = Recorder._write_rows

    def slow(self, pending):
        time.sleep(0.1)  # a disk much slower than the data rate for a moment
        original(self, pending)

    monkeypatch.setattr(Recorder, "_write_rows", slow)
    app, data, ts = _replay_app()
    with app:
        app.wait_for_samples(100)
        app.start_recording(emg_ds, "s1", "r1", flush_s=0.5)
        time.sleep(0.3)  # 6000 samples arrive at 20 kHz; the writer manages ~5000/s
        app.stop_recording()
    _check_exact(emg_ds, data, ts)


def test_recorder_that_cannot_keep_up_fails_loudly(emg_ds, monkeypatch):
    def stuck(self, pending):
        time.sleep(0.5)

    monkeypatch.setattr(Recorder, "_write_rows", stuck)
    app, _, _ = _replay_app(speed=50.0)
    with app:
        app.wait_for_samples(100)
        app.start_recording(emg_ds, "s1", "r1", queue_s=0.05, flush_s=0.01)
        assert wait_until(lambda: app.recorder.error is not None, 5)
        assert app.ctx.status_message.startswith("Recording failed: recorder for stream 'emg' "
                                                 "cannot keep up")
        with pytest.raises(RecordingError, match="cannot keep up"):
            app.stop_recording()
        assert app.recording_error is not None
    assert not emg_ds.has_entry("s1", "r1")
    assert not list(emg_ds.root.rglob("*.tmp-*"))


def test_labels_map_to_samples(emg_ds):
    app, data, ts = _replay_app(speed=1.0)
    with app:
        app.wait_for_samples(10)
        app.start_recording(emg_ds, "s1", "r1")
        time.sleep(0.2)
        newest = app.streams["emg"].newest_timestamp
        app.label(2, time=newest + 0.05)
        app.label(1, time=newest + 0.1)
        time.sleep(0.3)
        app.stop_recording()
    _, got_ts = read_recording(emg_ds, "s1", "r1")
    ev = read_events(emg_ds, "s1", "r1")
    assert ev["label"].to_list() == [2, 1]
    assert ev.schema == pl.Schema({"frame": pl.Int64, "time": pl.Float64, "label": pl.Int64})
    for frame, t in zip(ev["frame"], ev["time"], strict=True):
        assert got_ts[frame] >= t > got_ts[frame - 1]
    lab = sample_labels(ev, len(got_ts)).fill_null(-1).to_numpy()
    f1, f2 = ev["frame"].to_list()
    assert (lab[:f1] == -1).all() and (lab[f1:f2] == 2).all() and (lab[f2:] == 1).all()
    # the entry carries the same per-sample labels, so emg-features sees them
    stored = emg_ds.read("s1", "r1", columns=["label"])["label"].fill_null(-1).to_numpy()
    np.testing.assert_array_equal(stored, lab)


def test_recording_while_predicting_keeps_state(emg_ds):
    app, _, _ = _replay_app()
    p = Pipeline(app, predict_hz=20)
    p.extract(lambda w: 0)
    p.predict(lambda m, f: {"x": 1})
    p.model = 1
    with app:
        app.wait_for_samples(300)
        p.start_predicting()
        assert app.start_recording(emg_ds, "s1", "r1")
        assert app.ctx.state == "predicting"
        assert app.is_recording
        time.sleep(0.3)
        p.stop_predicting()
        assert app.ctx.state == "recording"
        app.stop_recording()
        assert app.ctx.state == "idle"
    assert emg_ds.has_entry("s1", "r1")


def test_recording_refusals_and_errors(tmp_path, emg_ds):
    app = App(warmup=False)
    app.add_stream("emg", GateSource(n_channels=2, fs=1000.0))
    with pytest.raises(RuntimeError, match="needs a running recording"):
        app.label(1)
    tracks = Dataset.create(tmp_path / "tracks", fps=30.0)
    with pytest.raises(ValueError, match="recordings go into an EMG dataset"):
        app.start_recording(tracks, "s1", "r1")
    other = Dataset.create(tmp_path / "other", fps=500.0, kind="emg")
    with pytest.raises(ValueError, match="dataset sampling rate 500 Hz differs"):
        app.start_recording(other, "s1", "r1")
    with pytest.raises(ValueError, match="sequence"):
        app.start_recording(emg_ds, "s1", "../x")
    assert app.stop_recording() is None
    assert app.ctx.status_message == "Cannot stop recording: no recording is running."
    app.ctx.state = "training"
    assert not app.start_recording(emg_ds, "s1", "r1")
    assert "state is 'training'" in app.ctx.status_message


def test_existing_session_needs_overwrite(emg_ds):
    app, _, _ = _replay_app()
    with app:
        app.wait_for_samples(10)
        app.start_recording(emg_ds, "s1", "r1")
        time.sleep(0.1)
        app.stop_recording()
        with pytest.raises(FileExistsError, match="pass overwrite=True"):
            app.start_recording(emg_ds, "s1", "r1")
        assert app.start_recording(emg_ds, "s1", "r1", overwrite=True)
        time.sleep(0.1)
        app.stop_recording()


def test_label_class_must_be_non_negative(emg_ds):
    app, _, _ = _replay_app()
    with app:
        app.wait_for_samples(10)
        app.start_recording(emg_ds, "s1", "r1")
        with pytest.raises(ValueError, match="class_index must be a non-negative integer"):
            app.label(-1)
        time.sleep(0.1)
        app.stop_recording()


def test_empty_recording_is_an_error(emg_ds, gate_source):
    app = App(warmup=False)
    app.add_stream("emg", gate_source)
    gate_source.gate.clear()  # nothing arrives
    with app:
        app.start_recording(Dataset.create(emg_ds.root.parent / "e2", fps=1000.0, kind="emg"),
                            "s1", "r1")
        time.sleep(0.1)
        with pytest.raises(RecordingError, match="no samples arrived from stream 'emg'"):
            app.stop_recording()


def test_replay_from_dataset_round_trip(emg_ds):
    app, data, ts = _replay_app()
    with app:
        app.wait_for_samples(10)
        app.start_recording(emg_ds, "s1", "r1")
        time.sleep(0.3)
        app.stop_recording()
    src = ReplaySource.from_dataset(emg_ds, "s1", "r1", speed=math.inf, restamp=False)
    got, got_ts = read_recording(emg_ds, "s1", "r1")
    np.testing.assert_array_equal(src.data, got)
    np.testing.assert_array_equal(src.timestamps, got_ts)
    assert src.channel_names == ["ch0", "ch1", "ch2"]
