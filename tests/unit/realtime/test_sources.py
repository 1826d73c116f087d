"""Sources: synthetic generator, replay, LSL inlet on loopback."""

from __future__ import annotations

import math
import threading
import uuid

import numpy as np
import pytest

from moveo.realtime._util import clock
from moveo.realtime.sources import (
    LSLSource,
    ReplaySource,
    SourceExhausted,
    SourceNotFound,
    SyntheticSource,
)


def _read(src, n_chunks):
    out = np.empty((src.max_chunk, src.n_channels), np.float32)
    ts = np.empty(src.max_chunk)
    datas, times = [], []
    for _ in range(n_chunks):
        n = src.read(out, ts, timeout=1.0)
        datas.append(out[:n].copy())
        times.append(ts[:n].copy())
    return np.concatenate(datas), np.concatenate(times)


def test_synthetic_is_deterministic_with_seed():
    a = SyntheticSource(n_channels=3, seed=7, realtime=False)
    b = SyntheticSource(n_channels=3, seed=7, realtime=False)
    c = SyntheticSource(n_channels=3, seed=8, realtime=False)
    da, ta = _read(a, 5)
    db, _ = _read(b, 5)
    dc, _ = _read(c, 5)
    np.testing.assert_array_equal(da, db)
    assert not np.array_equal(da, dc)
    assert da.dtype == np.float32
    np.testing.assert_allclose(np.diff(ta), 1 / 2000.0, rtol=1e-6)


def test_class_activation_known_amplitudes():
    src = SyntheticSource(n_channels=6, n_classes=4, chunk=1000, realtime=False, seed=1,
                          noise=0.05, amplitude=1.0)
    gains = src.gains
    assert gains.shape == (4, 6)
    np.testing.assert_array_equal(gains[0], 0.0)
    for k in range(4):
        src.set_class(k)
        data, _ = _read(src, 20)  # 20000 samples
        expected = 0.05 + gains[k]
        np.testing.assert_allclose(data.std(axis=0), expected, rtol=0.05)
        if k:
            top = int(np.argmax(data.std(axis=0)))
            assert gains[k, top] >= 0.95 * gains[k].max()
    # different classes activate different channels
    assert len({int(np.argmax(g)) for g in gains[1:]}) == 3


def test_cue_schedule_follows_clock():
    src = SyntheticSource(n_classes=3, cue_s=0.5)
    np.testing.assert_array_equal(src.class_at(np.array([0.1, 0.6, 1.2, 1.6])), [0, 1, 2, 0])


def test_continuous_levels_hand_worked():
    src = SyntheticSource(n_classes=3, target_hz=0.5)
    # DoF 1 at 0.5 Hz, DoF 2 at 0.75 Hz: l = (1 - cos(2 pi f t)) / 2
    t = np.array([0.0, 1.0, 2.0, 2.0 / 3.0])
    np.testing.assert_allclose(
        src.levels(t),
        [[0.0, 0.0], [1.0, 0.5 - 0.5 * np.cos(1.5 * np.pi)], [0.0, 0.5 - 0.5 * np.cos(3 * np.pi)],
         [0.5 - 0.5 * np.cos(2 * np.pi / 3), 0.5 - 0.5 * np.cos(np.pi)]],
        atol=1e-12,
    )
    # without cues every DoF is active at its level
    np.testing.assert_array_equal(src.targets_at(t), src.levels(t))
    # with cues only the cued class's level (class 0 = rest has none)
    cued = SyntheticSource(n_classes=3, target_hz=0.5, cue_s=1.0)
    tt = np.array([0.5, 1.5, 2.5])  # classes 0, 1, 2
    lv = cued.levels(tt)
    np.testing.assert_allclose(cued.targets_at(tt), [[0, 0], [lv[1, 0], 0], [0, lv[2, 1]]])
    # without target_hz: one-hot of the active class
    plain = SyntheticSource(n_classes=3, cue_s=1.0)
    np.testing.assert_array_equal(plain.targets_at(tt), [[0, 0], [1, 0], [0, 1]])
    with pytest.raises(ValueError, match="target_hz"):
        plain.levels(tt)


def test_continuous_activation_scales_channels():
    src = SyntheticSource(n_channels=6, n_classes=3, chunk=1000, realtime=False, seed=2,
                          noise=0.05, amplitude=1.0, target_hz=0.5)
    data, ts = _read(src, 40)  # 20 s at 2 kHz
    # per 0.1 s segment the std follows noise + levels @ gains[1:]
    seg = 200
    scale = 0.05 + src.targets_at(ts) @ src.gains[1:]
    std = data.reshape(-1, seg, 6).std(axis=1)
    expected = scale.reshape(-1, seg, 6).mean(axis=1)
    np.testing.assert_allclose(std.mean(axis=0), expected.mean(axis=0), rtol=0.05)
    assert np.corrcoef(std[:, 0], expected[:, 0])[0, 1] > 0.95


def test_realtime_pacing_matches_rate():
    src = SyntheticSource(n_channels=2, fs=1000.0, chunk=10)
    out = np.empty((10, 2), np.float32)
    ts = np.empty(10)
    t0 = clock()
    total = 0
    while clock() - t0 < 0.3:
        total += src.read(out, ts, timeout=0.05)
    assert 200 <= total <= 400  # ~300 samples in 0.3 s
    assert abs(ts[9] - clock()) < 0.1  # stamped in the LSL clock


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_channels": 0}, "n_channels must be >= 1"),
        ({"fs": -1.0}, "fs must be a positive"),
        ({"chunk": 0}, "chunk must be >= 1"),
        ({"cue_s": 0.0}, "cue_s must be a positive"),
        ({"target_hz": 0.0}, "target_hz must be a positive"),
        ({"target_hz": 1.0, "n_classes": 1}, "n_classes >= 2"),
        ({"channel_names": ["a"]}, "channel_names has 1 names for 8 channels"),
    ],
)
def test_synthetic_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticSource(**kwargs)


def test_set_class_range():
    with pytest.raises(ValueError, match=r"class must be in \[0, 4\)"):
        SyntheticSource().set_class(4)


def test_replay_exact_and_exhausts():
    data = np.arange(35 * 2, dtype=np.float32).reshape(35, 2)
    ts = 100.0 + np.arange(35) / 10.0
    src = ReplaySource(data, ts, fs=10.0, chunk=10, speed=math.inf, restamp=False)
    got, got_ts = _read(src, 4)
    np.testing.assert_array_equal(got, data)
    np.testing.assert_array_equal(got_ts, ts)
    with pytest.raises(SourceExhausted, match="35 samples"):
        _read(src, 1)


def test_replay_loop_and_restamp():
    data = np.arange(20, dtype=np.float32).reshape(10, 2)
    src = ReplaySource(data, fs=100.0, chunk=4, speed=math.inf, loop=True)
    got, ts = _read(src, 4)  # 4 + 4 + 2 + 4 samples
    np.testing.assert_array_equal(got[:10], data)
    np.testing.assert_array_equal(got[10:], data[:4])
    np.testing.assert_allclose(np.diff(ts), 0.01)


def test_replay_speed_paces():
    data = np.zeros((100, 1), np.float32)
    src = ReplaySource(data, fs=100.0, chunk=10, speed=4.0)  # 1 s of data in 0.25 s
    t0 = clock()
    _read(src, 10)
    assert 0.15 < clock() - t0 < 1.0


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.zeros(5),), {"fs": 1.0}, r"shape \(n_samples, n_channels\)"),
        ((np.zeros((5, 1)),), {"fs": 1.0, "speed": 0}, "speed must be > 0"),
        ((np.zeros((5, 1)), np.zeros(4)), {"fs": 1.0}, r"timestamps must have shape \(5,\)"),
        ((np.zeros((5, 1)),), {"fs": 1.0, "restamp": False}, "needs the original timestamps"),
    ],
)
def test_replay_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReplaySource(*args, **kwargs)


def test_lsl_source_needs_a_query():
    with pytest.raises(ValueError, match="at least one of name="):
        LSLSource()


@pytest.mark.lsl
def test_lsl_source_not_found_message():
    src = LSLSource(source_id=f"nothing-{uuid.uuid4().hex}", timeout=0.2)
    with pytest.raises(SourceNotFound, match="no LSL stream matching source_id="):
        src.open()


@pytest.mark.lsl
def test_lsl_source_reads_pushed_chunks_exactly():
    import pylsl

    sid = uuid.uuid4().hex
    info = pylsl.StreamInfo(f"t-{sid}", "EMG", 3, 500.0, pylsl.cf_float32, sid)
    info.set_channel_labels(["a", "b", "c"])
    outlet = pylsl.StreamOutlet(info)
    src = LSLSource(source_id=sid, timeout=5.0, max_chunk=64)
    src.open()
    assert (src.n_channels, src.fs, src.channel_names) == (3, 500.0, ["a", "b", "c"])
    sent = np.arange(3 * 40, dtype=np.float32).reshape(40, 3)
    now = pylsl.local_clock()
    outlet.push_chunk(sent, timestamp=now)
    out = np.empty((64, 3), np.float32)
    ts = np.empty(64)
    got, stamps = [], []
    end = clock() + 5.0
    while sum(len(g) for g in got) < 40 and clock() < end:
        n = src.read(out, ts, timeout=0.2)
        got.append(out[:n].copy())
        stamps.append(ts[:n].copy())
    np.testing.assert_array_equal(np.concatenate(got), sent)
    stamps = np.concatenate(stamps)
    assert abs(stamps[-1] - now) < 0.01  # same machine: the clock offset is ~0
    src.close()
    del outlet


@pytest.mark.lsl
def test_lsl_source_float64_stream_is_converted():
    import pylsl

    sid = uuid.uuid4().hex
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo("f64", "EMG", 2, 100.0, pylsl.cf_double64, sid))
    src = LSLSource(source_id=sid, max_chunk=16)
    src.open()
    outlet.push_chunk(np.array([[0.5, 1.5], [2.5, 3.5]]))
    out = np.empty((16, 2), np.float32)
    ts = np.empty(16)
    n = 0
    end = clock() + 5
    while n == 0 and clock() < end:
        n = src.read(out, ts, timeout=0.2)
    np.testing.assert_array_equal(out[:2], [[0.5, 1.5], [2.5, 3.5]])
    src.close()
    del outlet
    assert threading.active_count() >= 1
