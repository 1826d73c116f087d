"""Post-processing (vote, rejection, smoothing, One-Euro) and the LSL prediction outlet."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from moveo.realtime import App, Pipeline, SyntheticSource
from moveo.realtime.outputs import (
    ExponentialSmoothing,
    LSLPredictionOutlet,
    MajorityVote,
    OneEuroFilter,
    RejectBelow,
)


def test_majority_vote_window_and_ties():
    vote = MajorityVote(3)
    assert [vote({"class": c}, 0.0)["class"] for c in (1, 2, 2, 1, 1, 3)] == [1, 2, 2, 2, 1, 1]
    with pytest.raises(KeyError, match="no 'class' entry"):
        vote({"label": 1}, 0.0)


def test_reject_below_threshold():
    rej = RejectBelow(0.6, reject=-1)
    assert rej({"class": 2, "proba": [0.1, 0.2, 0.7]}, 0.0) == {
        "class": 2, "proba": [0.1, 0.2, 0.7], "rejected": False}
    out = rej({"class": 2, "proba": [0.3, 0.2, 0.5]}, 0.0)
    assert out["class"] == -1
    assert out["rejected"] is True
    with pytest.raises(ValueError, match=r"threshold must be a probability in \[0, 1\]"):
        RejectBelow(1.5)


def test_exponential_smoothing_hand_worked():
    s = ExponentialSmoothing(0.25, keys=("value", "xy"))
    s({"value": 0.0, "xy": [0.0, 4.0]}, 0.0)
    out = s({"value": 4.0, "xy": [4.0, 0.0]}, 0.1)
    assert float(out["value"]) == 1.0
    np.testing.assert_allclose(out["xy"], [1.0, 3.0])
    with pytest.raises(ValueError, match="alpha must be in"):
        ExponentialSmoothing(0.0)


def test_one_euro_constant_and_step():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    for i in range(5):
        out = f({"value": 2.0}, i * 0.01)
    assert float(out["value"]) == 2.0
    f.reset()
    f({"value": 0.0}, 0.0)
    y = float(f({"value": 1.0}, 0.01)["value"])
    # alpha = 1 / (1 + tau / dt) with tau = 1 / (2 pi * 1 Hz)
    tau = 1 / (2 * np.pi)
    assert y == pytest.approx(1 / (1 + tau / 0.01))
    fast = OneEuroFilter(min_cutoff=1.0, beta=10.0)
    fast({"value": 0.0}, 0.0)
    assert float(fast({"value": 1.0}, 0.01)["value"]) > y  # speed raises the cut-off


def test_postprocess_runs_in_pipeline():
    app = App(warmup=False)
    app.add_stream("emg", SyntheticSource(n_channels=2, fs=1000.0), window_ms=20)
    p = Pipeline(app, predict_hz=50)
    p.extract(lambda w: 0)
    seq = iter([1, 2, 2, 1, 1] * 100)
    p.predict(lambda m, f: {"class": next(seq)})
    p.postprocess.append(MajorityVote(3))
    p.model = 1
    with app:
        app.wait_for_samples(20)
        p.start_predicting()
        deadline = time.monotonic() + 3
        while p.prediction_count < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert p.prediction_count >= 6
    assert p.predictions["class"] in (1, 2)


@pytest.mark.lsl
def test_lsl_prediction_outlet_publishes_latest():
    import pylsl

    from moveo.realtime.sources import LSLSource

    app = App(warmup=False)
    app.add_stream("emg", SyntheticSource(n_channels=2, fs=1000.0), window_ms=20)
    p = Pipeline(app, predict_hz=50)
    p.extract(lambda w: 0)
    p.predict(lambda m, f: {"class": 3, "proba": [0.1, 0.9]})
    p.model = 1
    sid = f"pred-{uuid.uuid4().hex}"
    out = LSLPredictionOutlet(p, sid, {"class": 1, "proba": 2}, rate_hz=100)
    with app:
        inlet_src = LSLSource(source_id=sid, timeout=5.0)
        inlet_src.open()
        assert inlet_src.channel_names == ["class", "proba0", "proba1"]
        buf = np.empty((1024, 3), np.float32)
        ts = np.empty(1024)
        n = 0
        end = time.monotonic() + 3
        while n == 0 and time.monotonic() < end:
            n = inlet_src.read(buf, ts, 0.1)
        assert n > 0
        assert np.isnan(buf[:n]).all()  # not predicting yet: NaN, never stale values
        p.start_predicting()
        end = time.monotonic() + 3
        last = buf[0]
        while time.monotonic() < end:
            n = inlet_src.read(buf, ts, 0.1)
            if n and not np.isnan(buf[n - 1]).any():
                last = buf[n - 1]
                break
        np.testing.assert_allclose(last, [3, 0.1, 0.9], rtol=1e-6)
        inlet_src.close()
    assert out.pushed > 10
    assert out.errors == 0
    assert pylsl.local_clock() > 0
