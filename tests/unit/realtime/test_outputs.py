"""Post-processing (vote, rejection, smoothing, One-Euro, deadband, velocity control) and the
LSL prediction outlet.

Velocity control is checked on its formula by hand, against numbers observed
from LibEMG 2.0.3 (``EMGClassifier._set_up_velocity_control`` / ``_get_velocity``
on the same seeded windows, run in a throwaway venv), and on synthetic EMG whose
contraction level is known: the speed must follow the level.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from moveo.realtime import App, Pipeline, SyntheticSource
from moveo.realtime.outputs import (
    Deadband,
    ExponentialSmoothing,
    LSLPredictionOutlet,
    MajorityVote,
    OneEuroFilter,
    RejectBelow,
    VelocityControl,
    window_amplitude,
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


def test_deadband():
    db = Deadband(0.1, keys=("value", "other"))
    out = db({"value": np.array([0.05, -0.05, 0.1, -0.3]), "other": 0.09, "x": 7}, 0.0)
    np.testing.assert_array_equal(out["value"], [0.0, 0.0, 0.1, -0.3])
    assert float(out["other"]) == 0.0 and out["x"] == 7
    np.testing.assert_array_equal(Deadband(0.0)({"value": [0.0, 1e-9]}, 0.0)["value"],
                                  [0.0, 1e-9])
    with pytest.raises(ValueError, match="threshold"):
        Deadband(-0.1)
    with pytest.raises(KeyError, match="no 'value' entry"):
        Deadband(0.1)({"class": 1}, 0.0)


def test_window_amplitude_hand_worked():
    w = np.array([[1.0, -3.0], [0.5, 0.5], [0.0, -2.0]], dtype=np.float32)
    # MAVs 2, 0.5, 1 -> 3.5
    assert window_amplitude(w) == 3.5
    np.testing.assert_array_equal(window_amplitude(np.stack([w, 2 * w])), [3.5, 7.0])
    with pytest.raises(ValueError, match="n_samples > 0"):
        window_amplitude(np.zeros((2, 0)))


def test_velocity_control_thresholds_and_speed():
    # class 1 windows have amplitudes 2, 4, 12 (one channel of constant |x|)
    w = np.array([2.0, 4.0, 12.0])[:, None, None] * np.ones((3, 1, 8))
    vc = VelocityControl().fit(np.concatenate([w, w / 2]), [1, 1, 1, 2, 2, 2])
    # class 1: a_min 2, a_max 12 -> lo = 2 + 0.1 * 10 = 3, hi = 2 + 0.7 * 10 = 9
    assert vc.thresholds_[1] == pytest.approx((3.0, 9.0))
    assert vc.thresholds_[2] == pytest.approx((1.5, 4.5))
    assert vc.speed(3.0, 1) == 0.0  # at lo: still
    assert vc.speed(6.0, 1) == pytest.approx(0.5)
    assert vc.speed(9.0, 1) == 1.0 and vc.speed(50.0, 1) == 1.0
    assert vc.speed(6.0, 2) == 1.0
    assert vc.speed(100.0, -1) == 0.0  # rejected
    custom = VelocityControl(low=0.0, high=1.0).fit(w, [1, 1, 1])
    assert custom.speed(7.0, 1) == pytest.approx(0.5)
    # as a post-processor, after a majority vote
    out = vc({"class": np.int64(1), "amplitude": 6.0, "proba": [0.2, 0.8]}, 0.0)
    assert out["speed"] == pytest.approx(0.5) and out["proba"] == [0.2, 0.8]
    with pytest.raises(ValueError, match="class 5 was not in the training labels"):
        vc.speed(1.0, 5)
    with pytest.raises(KeyError, match="no 'amplitude' entry"):
        vc({"class": 1}, 0.0)


def test_velocity_control_errors():
    with pytest.raises(ValueError, match="low < high"):
        VelocityControl(0.7, 0.1)
    with pytest.raises(ValueError, match="not fitted"):
        VelocityControl().speed(1.0, 0)
    with pytest.raises(ValueError, match="range of contraction levels"):
        VelocityControl().fit(np.ones((3, 2, 5)), [0, 0, 0])
    with pytest.raises(ValueError, match="labels must have shape"):
        VelocityControl().fit(np.ones((3, 2, 5)), [0, 0])
    with pytest.raises(ValueError, match="windows must have shape"):
        VelocityControl().fit(np.ones((3, 5)), [0, 0, 0])


def test_velocity_control_matches_libemg_203():
    rng = np.random.default_rng(11)
    w = rng.standard_normal((30, 3, 20)) * rng.uniform(0.2, 2.0, (30, 1, 1))
    y = np.repeat([0, 1, 2], 10)
    vc = VelocityControl().fit(w, y)
    # LibEMG 2.0.3 th_min_dic / th_max_dic on the same windows
    lo = {0: 1.411396755561841, 1: 1.3458599022755806, 2: 0.9999520361925995}
    hi = {0: 3.29878699066268, 1: 3.391554076037382, 2: 3.22094315684181}
    for c in (0, 1, 2):
        assert vc.thresholds_[c] == pytest.approx((lo[c], hi[c]), rel=1e-12)
    # LibEMG's _get_velocity (which rounds to 2 decimals) for windows 0, 5, 12, 25
    for i, expected in [(0, 0.71), (5, 0.91), (12, 0.33), (25, 0.04)]:
        assert round(vc.speed(window_amplitude(w[i]), y[i]), 2) == expected


def test_velocity_follows_contraction_level():
    import moveo.emg as emg

    # cued classes whose contraction level ramps between 0 and 1 within each 4 s cue
    src = SyntheticSource(n_channels=8, fs=1000.0, n_classes=4, cue_s=4.0, target_hz=0.25,
                          seed=4)
    t = np.arange(32_000) / 1000.0
    w = emg.windows(src.generate(t.size, t), 200, 50)
    ends = np.arange(w.shape[0]) * 50 + 199
    y = src.class_at(t[ends])
    level = src.targets_at(t[ends])
    train = np.arange(w.shape[0]) < w.shape[0] // 2
    vc = VelocityControl().fit(w[train], y[train])
    test = np.flatnonzero(~train & (y > 0))
    # the speed of the (correct) decision follows the contraction level on unseen windows
    speed = np.array([vc.speed(window_amplitude(w[i]), y[i]) for i in test])
    assert np.corrcoef(speed, level[test, y[test] - 1])[0, 1] > 0.85
    assert speed.min() == 0.0 and speed.max() == 1.0


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
