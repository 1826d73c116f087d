"""Pipeline: the seed's states and wording, predict thread, live predict_hz, errors, stats."""

from __future__ import annotations

import contextlib
import logging
import math
import time

import numpy as np
import pytest

from moveo.realtime import App, Pipeline, PipelineState, SyntheticSource, TrainingData
from moveo.realtime._util import clock
from reference.realtime import GateSource, wait_until


def _app(source=None, window_ms=50, **kw):
    app = App(warmup=False)
    app.add_stream("emg", source or SyntheticSource(n_channels=4, fs=1000.0, chunk=10),
                   window_ms=window_ms)
    return app, Pipeline(app, **kw)


def _data(n=6):
    return TrainingData({"emg": np.zeros((n, 4, 50), np.float32)}, np.arange(n) % 2)


def test_state_is_str_enum():
    assert PipelineState.IDLE == "idle"
    assert [s.value for s in PipelineState] == ["idle", "recording", "training", "predicting"]


def test_transitions_refused_with_messages():
    app, p = _app()
    ctx = app.ctx
    p.start_training()
    # the seed's wording (myogestic.ml.Pipeline), word for word where moveo has the
    # same thing; moveo has no session_manager, so its training data hint names
    # TrainingData.from_dataset instead
    assert ctx.status_message == "No train callback set (use @pipeline.train)"
    p.train(lambda data: "model")
    p.start_training()
    assert ctx.status_message == (
        "No training data — set pipeline.training_data = TrainingData.from_dataset(...) "
        "inside @app.ui.")
    p.training_data = TrainingData({"emg": np.zeros((0, 4, 50), np.float32)})
    p.start_training()
    assert ctx.status_message.startswith("No training data — ")
    p.start_predicting()
    assert ctx.status_message == "No model loaded — train one first or load from disk."
    p.stop_predicting()
    assert ctx.status_message == (
        "Cannot stop predicting: state is 'idle', expected 'predicting'.")
    assert ctx.state == "idle"
    # the refusals quote the state's value (the seed's {ctx.state!r} of a plain string)
    p.model = "model"
    p.start_predicting()  # no predict callback: moveo's addition, in the seed's style
    assert ctx.status_message == "No predict callback set (use @pipeline.predict)"
    p.predict(lambda model, f: {})
    p.start_predicting()  # flips the state only; no thread needed
    assert (ctx.state, ctx.status_message) == ("predicting", "Predicting...")
    p.start_training()
    assert ctx.status_message == (
        "Cannot start training: state is 'predicting', expected 'idle'.")
    p.start_predicting()
    assert ctx.status_message == (
        "Cannot start predicting: state is 'predicting', expected 'idle'.")
    p.stop_predicting()
    assert (ctx.state, ctx.status_message) == ("idle", "Prediction stopped")
    ctx.state = "recording"
    p.start_training()
    assert ctx.status_message == (
        "Cannot start training: state is 'recording', expected 'idle'.")


def test_training_success_and_failure():
    app, p = _app()
    got = []

    @p.train
    def train(data):
        got.append(data)
        time.sleep(0.1)
        return {"w": data.n_windows}

    p.training_data = _data()
    p.start_training()
    assert app.ctx.state == PipelineState.TRAINING
    p.start_predicting()  # refused while training
    assert app.ctx.status_message == (
        "Cannot start predicting: state is 'training', expected 'idle'.")
    assert p.wait_for_training(10)
    assert app.ctx.state == "idle"
    assert p.model == {"w": 6}
    assert got[0] is p.training_data
    assert app.ctx.status_message == "Training complete"

    @p.train
    def bad(data):
        raise RuntimeError("singular matrix")

    p.start_training()
    assert p.wait_for_training(10)
    assert app.ctx.state == "idle"
    assert p.model == {"w": 6}  # the old model stays
    assert app.ctx.status_message == "Training failed: singular matrix"
    assert p.train_log[-2] == "FAILED: singular matrix"
    assert "Traceback" in p.train_log[-1]
    assert p.stats()["errors_by_callback"]["train"] == 1
    # the seed's app-log lines, in order
    logged = [m.split(" ", 1)[1] for m in app.ctx.messages]
    assert logged == ["Training started", "Training complete",
                      "Training started", "Training failed: singular matrix"]


def test_predict_loop_windows_rate_and_results():
    app, p = _app(predict_hz=50.0)
    seen = []

    @p.extract
    def extract(windows):
        seen.append(windows)
        return float(windows["emg"].mean())

    @p.predict
    def predict(model, features):
        return {"mean": features, "model": model}

    p.model = "m"
    with app:
        assert app.wait_for_samples(50)
        p.start_predicting()
        assert app.ctx.state == "predicting"
        time.sleep(1.0)
        p.stop_predicting()
        stats = p.stats()
    assert app.ctx.state == "idle"
    assert p.predictions["model"] == "m"
    assert 35 <= stats["ticks"] <= 55
    assert 40 <= stats["rate_hz"] <= 60
    for key in ("lateness_ms", "latency_ms", "jitter_ms", "duration_ms"):
        assert set(stats[key]) == {"p50", "p99", "max"}
    assert 0 <= stats["latency_ms"]["p50"] < 200
    assert stats["callback_errors"] == 0
    assert stats["lost_samples"] == 0
    # channels-first windows owned by the callback: distinct memory every tick
    assert all(w["emg"].shape == (4, 50) and w["emg"].dtype == np.float32 for w in seen)
    assert not np.shares_memory(seen[0]["emg"], seen[1]["emg"])


def test_extract_with_timestamp_argument():
    app, p = _app(predict_hz=50.0)
    stamps = []
    p.extract(lambda windows, newest: stamps.append(newest) or 0.0)
    p.predict(lambda model, f: {"ok": True})
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        assert wait_until(lambda: len(stamps) > 5)
    assert all(abs(t - stamps[-1]) < 5 for t in stamps)
    assert np.all(np.diff(stamps) >= 0)


def test_callback_errors_counted_loop_keeps_rate():
    app, p = _app(predict_hz=50.0)
    calls = {"n": 0}

    @p.extract
    def extract(windows):
        calls["n"] += 1
        if calls["n"] % 2:
            raise ValueError("bad window")
        return 1.0

    @p.predict
    def predict(model, f):
        if calls["n"] % 4 == 0:
            raise KeyError("oops")
        return {"v": f}

    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        time.sleep(1.0)
        stats = p.stats()
        assert app.ctx.state == "predicting"
    assert stats["errors_by_callback"]["extract"] >= 15
    assert stats["errors_by_callback"]["predict"] >= 5
    assert stats["callback_errors"] == (stats["errors_by_callback"]["extract"]
                                        + stats["errors_by_callback"]["predict"])
    assert 40 <= stats["rate_hz"] <= 60
    assert p.predictions == {"v": 1.0}
    assert any("extract callback raised ValueError: bad window" in m for m in app.ctx.messages)


def test_non_dict_results_counted_and_logged():
    app, p = _app(predict_hz=50.0)
    p.extract(lambda w: 0)
    p.predict(lambda model, f: 3)
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        assert wait_until(lambda: p.stats()["non_dict_results"] >= 10)
    assert p.predictions == {}
    assert any("predict returned int, not a dict" in m for m in app.ctx.messages)


def test_slow_callback_skips_ticks_on_grid():
    app, p = _app(predict_hz=50.0)
    p.extract(lambda w: 0)
    p.predict(lambda model, f: time.sleep(0.03) or {"x": 1})  # 1.5 periods
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        time.sleep(1.2)
        stats = p.stats()
        st = p._stats
        n = min(st.ticks, st.history)
        deadlines = st._deadline[:n].copy()
    k = (deadlines - deadlines[0]) / 0.02
    np.testing.assert_allclose(k, np.round(k), atol=1e-6)  # on the grid
    assert np.all(np.diff(np.round(k)) >= 2)
    assert stats["skipped"] >= stats["ticks"] - 2
    assert stats["overruns"] >= stats["ticks"] - 2
    assert 18 <= stats["rate_hz"] <= 30


def test_on_new_data_mode_ticks_per_hop():
    app, p = _app(predict_hz=100.0, mode="on-new-data")  # hop = 10 samples = one chunk
    p.extract(lambda w: 0)
    p.predict(lambda model, f: {"x": 1})
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        time.sleep(1.0)
        stats = p.stats()
    assert 60 <= stats["ticks"] <= 110
    assert stats["new_data_fraction"] == 1.0
    assert stats["latency_ms"]["p50"] < 50


def test_stale_when_stream_silent_then_resumes():
    src = GateSource(n_channels=4, fs=1000.0, chunk=10)
    app = App(warmup=False)
    app.add_stream("emg", src, window_ms=50, silence_s=0.2)
    p = Pipeline(app, predict_hz=50.0)
    p.extract(lambda w: 0)
    count = {"n": 0}
    p.predict(lambda model, f: count.__setitem__("n", count["n"] + 1) or {"n": count["n"]})
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        assert wait_until(lambda: count["n"] > 5)
        src.gate.clear()
        assert wait_until(lambda: p.stale, 3)
        frozen = count["n"]
        time.sleep(0.2)
        assert count["n"] == frozen  # no predictions on stale data
        assert p.stats()["stale_ticks"] > 0
        src.gate.set()
        assert wait_until(lambda: not p.stale and count["n"] > frozen, 3)
    assert app.streams["emg"].counters["disconnects"] == 1


def test_default_extract_is_htd():
    app, p = _app(window_ms=100)
    p.predict(lambda model, f: {"n": len(f)})
    p.model = 1
    with app:
        app.wait_for_samples(100)
        p.start_predicting()
        assert wait_until(lambda: "n" in p.predictions, 120)  # may compile the EMG kernels
    assert p.predictions["n"] == 4 * 4  # MAV, ZC, SSC, WL x 4 channels


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"mode": "sometimes"}, "mode must be one of"), ({"hop": 0}, "hop must be >= 1")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Pipeline(App(warmup=False), **kwargs)


def test_needs_an_app():
    with pytest.raises(TypeError, match="Pipeline needs a moveo.realtime.App"):
        Pipeline(object())


def test_run_returns_after_duration_and_stops_everything():
    app, p = _app()
    t = time.perf_counter()
    app.run(duration=0.3)
    assert 0.25 < time.perf_counter() - t < 5
    assert not app.running
    assert app.streams["emg"].status == "stopped"
    assert p._thread is None
    with pytest.raises(ValueError, match="mode must be 'headless' or 'gui'"):
        app.run(mode="window")
    assert math.isnan(p.stats()["rate_hz"])


def test_wait_for_predictions_counts_stored_results_only():
    app, p = _app(predict_hz=100.0)
    calls = []
    p.extract(lambda windows: 0.0)

    @p.predict
    def predict(model, features):
        calls.append(1)
        return {"n": len(calls)} if len(calls) % 2 else "not a dict"  # every other one stored

    p.model = 1
    assert not p.wait_for_predictions(1, timeout=0.05)  # nothing runs yet
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        before = p.prediction_count
        assert p.wait_for_predictions(5, timeout=10)
        assert p.prediction_count >= before + 5
        assert len(calls) >= 9  # the non-dict results were not counted as predictions
        p.stop_predicting()
    assert p.stats()["non_dict_results"] >= 4


def _ticks_since(p, t):
    """(start, deadline) of the recorded ticks that started after LSL time ``t``."""
    st = p._stats
    with st._lock:  # the predict thread writes under it (fast: ~1e5 ticks/s uncapped)
        n = min(st.ticks, st.history)
        start, deadline = st._start[:n].copy(), st._deadline[:n].copy()
    order = np.argsort(start, kind="stable")  # the history is a ring: oldest first
    start, deadline = start[order], deadline[order]
    keep = start > t
    return start[keep], deadline[keep]


def _on_grid(deadlines, period):
    """Whether consecutive deadlines are whole, non-zero multiples of ``period`` apart."""
    k = np.diff(deadlines) / period
    return bool(np.allclose(k, np.round(k), atol=1e-6) and np.all(np.round(k) >= 1))


@contextlib.contextmanager
def _predicting(predict_hz, ticks):
    """A pipeline predicting at ``predict_hz``, after its first ``ticks`` ticks."""
    app, p = _app(predict_hz=predict_hz)
    p.extract(lambda w: 0)
    p.predict(lambda model, f: {"x": 1})
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        assert wait_until(lambda: p._stats.ticks >= ticks, 30)
        yield p


# The rate tests below assert what load cannot fake: the deadline grid (exact
# arithmetic), upper bounds on capped tick counts (a busy machine only delays
# ticks) and, for lower bounds, margins of 5x or more (2 shared, busy cores).


def test_predict_hz_faster_takes_effect_on_the_next_tick():
    with _predicting(2.0, ticks=1) as p:  # a 500 ms period
        time.sleep(0.05)  # the loop now waits for a deadline ~450 ms away
        changed = clock()
        p.predict_hz = 100.0
        # the next tick is not held until the old deadline, 450 ms away
        assert wait_until(lambda: _ticks_since(p, changed)[0].size >= 1, 2.0)
        first = _ticks_since(p, changed)[0][0]
        time.sleep(1.0)
        start, deadline = _ticks_since(p, changed)
        assert p.stats()["predict_hz"] == 100.0
    assert first - changed < 0.3
    assert _on_grid(deadline[1:], 0.01)  # on a 10 ms grid from the change on
    span = start[-1] - start[0]
    assert 20 <= start.size <= 100 * span + 3  # ~100 ticks, never above the cap


def test_predict_hz_slower_takes_effect_on_the_next_tick():
    with _predicting(100.0, ticks=20) as p:
        changed = clock()
        p.predict_hz = 4.0  # a 250 ms period
        time.sleep(0.2)
        early = _ticks_since(p, changed)[0].size
        time.sleep(1.3)
        start, deadline = _ticks_since(p, changed)
    # at 100 Hz ~20 ticks would have run in those 200 ms; at most one tick of the
    # old grid may already have been on its way out, plus the new grid's first
    assert early <= 2
    assert _on_grid(deadline[1:], 0.25)
    assert 3 <= start.size <= 1.5 * 4 + 2


@pytest.mark.parametrize("no_cap", [0, -5.0])
def test_predict_hz_zero_or_negative_removes_the_cap(no_cap):
    with _predicting(20.0, ticks=2) as p:
        capped = clock()
        time.sleep(0.5)
        n_capped = _ticks_since(p, capped)[0].size
        uncapped = clock()
        p.predict_hz = no_cap
        assert p.predict_hz == float(no_cap)
        time.sleep(0.5)
        start, deadline = _ticks_since(p, uncapped)
        p.predict_hz = 20.0  # and back under a cap
        time.sleep(0.05)
        again = clock()
        time.sleep(0.5)
        n_again = _ticks_since(p, again)[0].size
    assert n_capped <= 0.5 * 20 + 2
    # no cap: as fast as the callbacks allow, far above 20 Hz (thousands per second
    # on an idle core; the bound leaves 5x room for a loaded one) ...
    assert start.size > 5 * (0.5 * 20 + 2)
    # ... and no deadline grid: every tick is due when it starts (zero lateness)
    np.testing.assert_array_equal(start[1:], deadline[1:])
    assert n_again <= 0.5 * 20 + 2


def test_predict_hz_must_be_a_number():
    app, p = _app()
    with pytest.raises(ValueError, match="predict_hz must be a number"):
        p.predict_hz = float("nan")
    with pytest.raises(TypeError, match="predict_hz must be a number of ticks per second"):
        p.predict_hz = "fast"
    with pytest.raises(ValueError, match="predict_hz must be a number"):
        Pipeline(app, predict_hz=float("nan"))


def test_on_new_data_hop_follows_predict_hz():
    app, p = _app(predict_hz=100.0, mode="on-new-data")  # hop 10 samples at 1 kHz
    p.extract(lambda w: 0)
    p.predict(lambda model, f: {"x": 1})
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        time.sleep(0.3)
        p.predict_hz = 20.0  # hop 50 samples: 20 ticks per second
        time.sleep(0.1)
        n0 = p._stats.ticks
        time.sleep(1.0)
        assert 14 <= p._stats.ticks - n0 <= 26


def test_predict_error_sets_the_status_message(caplog):
    caplog.set_level(logging.WARNING, logger="moveo.realtime")
    app, p = _app(predict_hz=50.0)
    p.extract(lambda w: 1.0)

    @p.predict
    def predict(model, features):
        raise ZeroDivisionError("division by zero in the model")

    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        assert wait_until(lambda: p.stats()["errors_by_callback"]["predict"] >= 3, 30)
        # the issue's wording; the state is unchanged and the loop keeps ticking
        assert app.ctx.status_message == "Predict error: division by zero in the model"
        assert app.ctx.state == "predicting"
        stats = p.stats()
        # still counted: one error per failing tick, by callback and in the total
        assert stats["callback_errors"] == stats["errors_by_callback"]["predict"]
        assert stats["errors_by_callback"]["extract"] == 0
        assert stats["ticks"] >= stats["callback_errors"] >= 3
        assert p.predictions == {} and p.prediction_count == 0
        p.extract(lambda w: [][1])  # extract failing in the predict loop: same message
        assert wait_until(lambda: p.stats()["errors_by_callback"]["extract"] >= 1)
        assert app.ctx.status_message == "Predict error: list index out of range"
        p.extract(lambda w: 1.0)
        p.predict(lambda model, f: {"v": f})
        p.postprocess.append(lambda result, t: {"v": result["w"]})  # a broken post-processor
        assert wait_until(lambda: p.stats()["errors_by_callback"]["postprocess"] >= 1)
        assert app.ctx.status_message == "Predict error: 'w'"
    # still logged: in the app log and on the moveo.realtime logger, with the traceback
    assert any("predict callback raised ZeroDivisionError: division by zero in the model"
               in m for m in app.ctx.messages)
    records = [r for r in caplog.records if r.name == "moveo.realtime"
               and "predict callback raised ZeroDivisionError" in r.getMessage()]
    assert records and all(r.levelno == logging.WARNING for r in records)
    assert "Traceback (most recent call last)" in records[0].getMessage()
    assert any("extract callback raised IndexError" in r.getMessage() for r in caplog.records)
    assert any("postprocess callback raised KeyError" in r.getMessage()
               for r in caplog.records)
    # rate-limited (one line per second per callback), so ~50 errors a second do not
    # flood the log: fewer records than errors
    assert len(records) < p.stats()["errors_by_callback"]["predict"]


def test_recent_stats_and_lost_samples_per_stream():
    app, p = _app(predict_hz=100.0)
    p.extract(lambda w: 0)
    p.predict(lambda model, f: {"x": 1})
    p.model = 1
    with app:
        app.wait_for_samples(50)
        p.start_predicting()
        time.sleep(0.5)
        recent = p.recent_stats(16)
    assert recent["window"] == 16 and recent["ticks"] >= 30
    assert 60 <= recent["rate_hz"] <= 140
    assert recent["predict_hz"] == 100.0
    assert p.stats()["streams"]["emg"]["lost_samples"] == 0
    assert p.lost_by_stream.get("emg", 0) == 0
