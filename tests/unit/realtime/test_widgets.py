"""The seed's six widgets and the recording controls, driven frame by frame.

A windowless imgui app (Hello ImGui's null backends) draws the widgets every frame
while imgui-bundle's test engine moves a simulated mouse and clicks items by their
labels, as a user would. Every enable/disable rule of the myogestic seed is
checked in each state, and each click's effect on the pipeline / app and the
exact status message. The stream and stats panels show what the realtime side
counts: a stream's status through a disconnect and reconnect, its rate, errors and
samples, and the predict loop's failing callback by name.
"""

from __future__ import annotations

import functools
import re
import time

import numpy as np
import pytest

from guitest import disabled, drive, require, wait_for
from moveo import Dataset
from moveo.realtime import (
    App,
    Pipeline,
    PipelineState,
    SyntheticSource,
    TrainingData,
    load_pickle,
    save_pickle,
)

require("imgui_bundle")
from moveo.realtime import widgets as w  # noqa: E402 - after the extra's check


@pytest.fixture(autouse=True)
def _fresh_widget_state():
    w.reset_state()
    yield
    w.reset_state()


def _rig(**pipeline_kw):
    app = App(warmup=False)
    app.add_stream("emg", SyntheticSource(n_channels=4, fs=1000.0, chunk=10, seed=1),
                   window_ms=50)
    return app, Pipeline(app, predict_hz=50.0, **pipeline_kw)


def _data(n=6):
    return TrainingData({"emg": np.zeros((n, 4, 50), np.float32)}, np.arange(n) % 2)


def test_predict_button_rules_and_toggle():
    app, p = _rig()

    def gui():
        w.predict_button(p)

    def script(ctx):
        # no model: disabled (and shows Predict, not Stop)
        assert disabled(ctx, w.PREDICT_LABEL)
        assert not ctx.item_exists(w.STOP_PREDICT_LABEL)
        ctx.item_click(w.PREDICT_LABEL)  # a click on a disabled button does nothing
        assert app.ctx.state == "idle"
        # a model alone (e.g. just loaded) is not enough
        p.model = "model"
        ctx.yield_(2)
        assert disabled(ctx, w.PREDICT_LABEL)
        p.extract(lambda windows: float(windows["emg"].mean()))
        ctx.yield_(2)
        assert disabled(ctx, w.PREDICT_LABEL)  # extract without predict
        p.predict(lambda model, f: {"mean": f})
        ctx.yield_(2)
        assert not disabled(ctx, w.PREDICT_LABEL)
        ctx.item_click(w.PREDICT_LABEL)
        assert app.ctx.state == PipelineState.PREDICTING
        assert app.ctx.status_message == "Predicting..."
        ctx.yield_(2)
        # while predicting: a Stop button
        assert not ctx.item_exists(w.PREDICT_LABEL)
        assert not disabled(ctx, w.STOP_PREDICT_LABEL)
        wait_for(ctx, lambda: p.prediction_count >= 3)
        ctx.item_click(w.STOP_PREDICT_LABEL)
        assert app.ctx.state == "idle"
        assert app.ctx.status_message == "Prediction stopped"
        ctx.yield_(2)
        assert not disabled(ctx, w.PREDICT_LABEL)
        # any other state: disabled
        for state in (PipelineState.TRAINING, PipelineState.RECORDING):
            app.ctx.state = state
            ctx.yield_(2)
            assert disabled(ctx, w.PREDICT_LABEL), state
        app.ctx.state = "idle"

    with app:
        app.wait_for_samples(50)
        drive(gui, script)
    assert "mean" in p.predictions


def test_train_button_messages_and_training_log():
    app, p = _rig()

    def gui():
        w.train_button(p)
        w.training_log(p)

    def script(ctx):
        assert not disabled(ctx, w.TRAIN_LABEL)  # always enabled, as in the seed
        assert not ctx.item_exists("##ml_log")  # an empty log draws nothing
        ctx.item_click(w.TRAIN_LABEL)
        assert app.ctx.status_message == "No train callback set (use @pipeline.train)"

        @p.train
        def train(data):
            time.sleep(0.3)
            p.train_log.append(f"fitted on {data.n_windows} windows")
            return {"n": data.n_windows}

        ctx.item_click(w.TRAIN_LABEL)
        assert app.ctx.status_message == (
            "No training data — set pipeline.training_data = TrainingData.from_dataset(...) "
            "inside @app.ui.")
        p.training_data = _data()
        ctx.item_click(w.TRAIN_LABEL)
        assert app.ctx.state == PipelineState.TRAINING
        assert app.ctx.status_message == "Training..."
        assert not disabled(ctx, w.TRAIN_LABEL)
        ctx.item_click(w.TRAIN_LABEL)  # a second click while training is refused
        assert app.ctx.status_message == (
            "Cannot start training: state is 'training', expected 'idle'.")
        wait_for(ctx, lambda: app.ctx.state == "idle")
        assert p.model == {"n": 6}
        assert app.ctx.status_message == "Training complete"
        assert p.train_log == ["fitted on 6 windows", "Training complete"]
        assert ctx.item_exists("##ml_log")  # now the log shows

    drive(gui, script)


def test_save_and_load_buttons(tmp_path):
    app, p = _rig()
    path = str(tmp_path / "models" / "m.joblib")

    def gui():
        w.save_model_button(p, path)
        w.load_model_button(p, path)

    def script(ctx):
        assert disabled(ctx, w.SAVE_LABEL) and disabled(ctx, w.LOAD_LABEL)
        p.save_model = save_pickle
        ctx.yield_(2)
        assert disabled(ctx, w.SAVE_LABEL)  # no model yet
        p.model = {"weights": [1, 2, 3]}
        ctx.yield_(2)
        assert not disabled(ctx, w.SAVE_LABEL)
        ctx.item_click(w.SAVE_LABEL)
        assert app.ctx.status_message == f"Saved model to {path}"
        assert any(m.endswith(f"Model saved → {path}") for m in app.ctx.messages)
        p.model = None
        p.load_model = functools.partial(load_pickle, force=True)
        ctx.yield_(2)
        assert not disabled(ctx, w.LOAD_LABEL)
        assert disabled(ctx, w.SAVE_LABEL)
        ctx.item_click(w.LOAD_LABEL)
        assert p.model == {"weights": [1, 2, 3]}
        assert app.ctx.status_message == f"Loaded model from {path}"
        assert any(m.endswith(f"Model loaded ← {path}") for m in app.ctx.messages)

        def broken(model, where):
            raise OSError("disk full")

        p.save_model = broken
        ctx.item_click(w.SAVE_LABEL)
        assert app.ctx.status_message == "Save failed: disk full"
        assert any(m.endswith("Model save failed: disk full") for m in app.ctx.messages)
        p.load_model = lambda where: [][0]
        ctx.item_click(w.LOAD_LABEL)
        assert app.ctx.status_message == "Load failed: list index out of range"
        assert app.ctx.messages[-1].endswith("Model load failed: list index out of range")
        assert p.model == {"weights": [1, 2, 3]}  # a failed load keeps the model

    drive(gui, script)


def test_pipeline_panel_toggles_and_popout():
    app, p = _rig()
    p.train_log.extend(f"line {i}" for i in range(40))
    autoscroll = f"{w.fa.ICON_FA_ANGLES_DOWN}##ml_autoscroll"
    popout = f"{w.fa.ICON_FA_UP_RIGHT_FROM_SQUARE}##ml_popout"

    def gui():
        w.pipeline_panel(p)

    def script(ctx):
        for label in (w.TRAIN_LABEL, w.PREDICT_LABEL, autoscroll, popout, "##ml_log"):
            assert ctx.item_exists(label), label
        assert disabled(ctx, w.PREDICT_LABEL)  # no model
        assert w._autoscroll["ml"] is True
        ctx.item_click(autoscroll)
        assert w._autoscroll["ml"] is False
        ctx.item_click(autoscroll)
        assert w._autoscroll["ml"] is True
        ctx.item_click(popout)
        ctx.yield_(2)
        assert w._popout_open["ml"] is True
        assert not ctx.item_exists("##ml_log")  # the inline log is replaced by a note
        title = f"//{w.LOG_POPOUT_TITLE}##ml_popout_window"  # a top-level window
        assert ctx.get_window_by_ref(title) is not None
        ctx.window_close(title)  # the floating window's [x] docks the log back
        ctx.yield_(2)
        assert w._popout_open["ml"] is False
        assert ctx.item_exists("##ml_log")
        ctx.item_click(w.TRAIN_LABEL)
        assert app.ctx.status_message == "No train callback set (use @pipeline.train)"

    drive(gui, script)


def test_recording_controls(tmp_path):
    app, p = _rig()
    ds = Dataset.create(tmp_path / "emg", fps=1000.0, kind="emg")
    record = f"{w.fa.ICON_FA_CIRCLE}  Record##rec_start"
    stop = f"{w.fa.ICON_FA_STOP}  Stop##rec_stop"
    names = ["rest", "open", "close"]
    cues = [f"{n}##rec_cue{k}" for k, n in enumerate(names)]
    target = {"dataset": None}

    def gui():
        w.recording_controls(app, target["dataset"], subject="s1", classes=names)

    def script(ctx):
        assert disabled(ctx, record)  # no dataset
        target["dataset"] = ds
        ctx.yield_(2)
        assert not disabled(ctx, record)
        assert all(disabled(ctx, c) for c in cues)  # cues only while recording
        ctx.item_click(cues[1])
        assert not app.is_recording
        ctx.item_click(record)
        assert app.is_recording and app.ctx.state == PipelineState.RECORDING
        assert app.ctx.status_message == "Recording s1/session1..."
        ctx.yield_(2)
        assert not ctx.item_exists(record) and not disabled(ctx, stop)
        assert not any(disabled(ctx, c) for c in cues)
        ctx.item_click(cues[1])
        time.sleep(0.2)
        ctx.item_click(cues[2])
        time.sleep(0.2)
        assert [k for _, k in app.recorder.events] == [1, 2]
        ctx.item_click(stop)
        assert not app.is_recording and app.ctx.state == "idle"
        assert app.ctx.status_message == "Recording saved: s1/session1"
        ctx.yield_(2)
        assert all(disabled(ctx, c) for c in cues)
        # the next session name is proposed; an existing one is refused with the reason
        assert w._recording["rec"]["session"] == "session2"
        w._recording["rec"]["session"] = "session1"
        ctx.yield_(2)
        ctx.item_click(record)
        assert not app.is_recording
        assert app.ctx.status_message.startswith(
            "Cannot start recording: session s1/session1 already exists")
        # training: Record disabled; predicting: allowed (online evaluation)
        app.ctx.state = PipelineState.TRAINING
        ctx.yield_(2)
        assert disabled(ctx, record)
        app.ctx.state = PipelineState.PREDICTING
        w._recording["rec"]["session"] = "online"
        ctx.yield_(2)
        assert not disabled(ctx, record)
        ctx.item_click(record)
        assert app.is_recording and app.ctx.state == PipelineState.PREDICTING
        time.sleep(0.2)
        ctx.item_click(stop)
        assert app.ctx.state == PipelineState.PREDICTING
        app.ctx.state = "idle"

    with app:
        app.wait_for_samples(50)
        drive(gui, script)
    assert sorted(ds.entries()) == [("s1", "online"), ("s1", "session1")]
    import polars as pl

    from moveo.emg.recording import events_path

    events = pl.read_parquet(events_path(ds, "s1", "session1"))
    assert events["label"].to_list() == [1, 2]


def test_widgets_reject_wrong_arguments():
    app, p = _rig()

    def gui():
        with pytest.raises(TypeError, match="pipeline must be a moveo.realtime.Pipeline"):
            w.train_button(app)
        with pytest.raises(TypeError, match="size must be a \\(width, height\\) pair"):
            w.predict_button(p, size=80)
        with pytest.raises(TypeError, match="app must be a moveo.realtime.App"):
            w.recording_controls(p, None)
        with pytest.raises(ValueError, match="classes must be >= 1"):
            w.recording_controls(app, None, classes=0)

    drive(gui, lambda ctx: ctx.yield_(2))


def test_training_log_smart_autoscroll():
    from imgui_bundle import imgui

    app, p = _rig()
    p.train_log.extend(f"line {i}" for i in range(50))
    scroll = {"to": None}  # what a user's scrolling does: set before the log is drawn

    def gui():
        if scroll["to"] is not None:
            imgui.set_next_window_scroll(imgui.ImVec2(0, scroll["to"]))
            scroll["to"] = None
        w.training_log(p, height=100)

    def script(ctx):
        log = ctx.window_info("##ml_log").window
        assert log.scroll.y == log.scroll_max.y > 0  # opens at the newest line
        p.train_log.append("new line")
        ctx.yield_(3)
        assert log.scroll.y == log.scroll_max.y  # followed the tail
        scroll["to"] = 0.0  # the reader scrolls up to an old line ...
        ctx.yield_(3)
        p.train_log.append("another line")
        ctx.yield_(3)
        assert log.scroll.y == 0.0 < log.scroll_max.y  # ... and is not yanked down
        scroll["to"] = log.scroll_max.y  # back at the bottom: follows again
        ctx.yield_(3)
        p.train_log.append("third line")
        ctx.yield_(3)
        assert log.scroll.y == log.scroll_max.y
        w._autoscroll["ml"] = False  # the pipeline_panel toggle, switched off
        p.train_log.append("fourth line")
        ctx.yield_(3)
        assert log.scroll.y < log.scroll_max.y

    drive(gui, script)


def test_rig_layout_panels_and_the_rate_field():
    app, p = _rig()
    p.extract(lambda windows: float(np.abs(windows["emg"]).mean()))
    p.predict(lambda model, f: {"class": 1, "proba": np.array([0.2, 0.8]), "level": f})
    p.model = "model"
    stream = app.streams["emg"]

    def gui():
        w.rig_layout(app, classes=["rest", "fist"])

    def script(ctx):
        assert ctx.item_exists("**/" + w.TRAIN_LABEL)
        assert ctx.item_exists(f"**/{w.fa.ICON_FA_CIRCLE}  Record##rec_start")
        ctx.item_click("**/" + w.PREDICT_LABEL)
        assert app.ctx.state == PipelineState.PREDICTING
        wait_for(ctx, lambda: p.prediction_count > 10)
        ctx.item_input_value("**/Rate (Hz)##stats_rate", 20.0)
        ctx.yield_(2)
        assert p.predict_hz == 20.0  # the stats panel's field, effective next tick
        wait_for(ctx, lambda: p.recent_stats(8)["rate_hz"] < 30)
        # the views read the stream and the predictions
        env = w._views[("env", stream.name, id(stream))]
        assert env.next_sample > 0 and not np.isnan(env.hi).all()
        history = w._views[("pred", "pred", id(p))]
        assert history.n > 0 and set(history.series) == {"class", "proba", "level"}
        ctx.item_click("**/" + w.STOP_PREDICT_LABEL)
        assert app.ctx.state == "idle"

    with app:
        app.wait_for_samples(50)
        drive(gui, script)


def _shown(monkeypatch):
    """Record what the panels write: table rows by key, and plain text lines."""
    shown = {"rows": {}, "text": []}
    table, text = w._table, w.imgui.text

    def rows(table_id, pairs):
        shown["rows"].update(pairs)
        table(table_id, pairs)

    def line(s):
        shown["text"].append(s)
        text(s)

    monkeypatch.setattr(w, "_table", rows)
    monkeypatch.setattr(w.imgui, "text", line)
    return shown


def test_stream_and_stats_panels_show_status_and_counters(monkeypatch, gate_source):
    app = App(warmup=False)
    stream = app.add_stream("emg", gate_source, window_ms=50, silence_s=0.2)
    p = Pipeline(app, predict_hz=50.0)
    p.extract(lambda windows: 0.0)
    p.model = "model"

    @p.predict
    def predict(model, features):
        raise ValueError("bad features")

    shown = _shown(monkeypatch)

    def gui():
        w.stream_panel(stream, pipeline=p)
        w.stats_panel(p, refresh_s=0.0)

    def status():
        return [t for t in shown["text"] if t.endswith("4 ch @ 1000 Hz")][-1].split()[0]

    def script(ctx):
        wait_for(ctx, lambda: shown["rows"].get("rate", "—") != "—")
        assert status() == "connected"
        until = time.monotonic() + 1.2  # a full 1 s window of the rate meter
        wait_for(ctx, lambda: time.monotonic() > until)
        rate, unit = shown["rows"]["rate"].split()
        # ~1000 samples/s; wide bounds: on a busy machine the source delivers in bursts
        assert unit == "samples/s" and 200 <= float(rate.replace(",", "")) <= 5000
        gate_source.fail_next = 2  # two read errors, then the gate closes
        gate_source.gate.clear()
        wait_for(ctx, lambda: status() == "disconnected")
        assert shown["rows"]["disconnects"] == "1" and shown["rows"]["reconnects"] == "0"
        assert shown["rows"]["errors"] == "2"
        assert stream.last_error == "read: OSError: device hiccup"
        gate_source.gate.set()
        wait_for(ctx, lambda: status() == "connected")
        ctx.yield_(2)
        assert shown["rows"]["reconnects"] == "1"
        assert int(shown["rows"]["samples"].replace(",", "")) == stream.counters["samples"] > 0
        assert shown["rows"]["lost samples"] == "0"
        # the predict loop's panel: ticks, rate and the failing callback by name
        p.start_predicting()
        wait_for(ctx, lambda: p.stats()["errors_by_callback"]["predict"] >= 5)
        ctx.yield_(2)
        total, by = re.fullmatch(r"(\d+) \(predict (\d+)\)",
                                 shown["rows"]["callback errors"]).groups()
        assert int(total) == int(by) >= 5  # only predict failed
        assert int(shown["rows"]["ticks"].replace(",", "")) >= 5
        assert shown["rows"]["tick rate"].endswith(" Hz")
        p.stop_predicting()

    with app:
        app.wait_for_samples(50)
        drive(gui, script)
