"""TrainingData from recorded sessions; EMGExtract matches the offline catalogue."""

from __future__ import annotations

import numpy as np
import pytest

from moveo import Dataset
from moveo.emg.recording import add_recording
from moveo.realtime.training import EMGExtract, TrainingData


def _session(ds, subject, session, data, ts, events=None):
    if events is not None:
        frames, labels = zip(*events, strict=True)
        events = {"frame": list(frames), "label": list(labels)}
    add_recording(ds, subject, session, data, ts, events=events)


@pytest.fixture
def ds(tmp_path):
    d = Dataset.create(tmp_path / "emg", fps=100.0, kind="emg",
                       meta={"channels": ["ch0", "ch1"], "stream": "emg"})
    data = np.stack([np.arange(100), -np.arange(100)], axis=1).astype(np.float32)
    _session(d, "s1", "r1", data, np.arange(100) / 100.0, events=[(10, 1), (50, 2)])
    return d


def test_windows_and_labels_hand_worked(ds):
    # 100 ms windows = 10 samples, hop 50 ms = 5 samples -> starts 0, 5, ..., 90
    td = TrainingData.from_dataset(ds, window_ms=100, hop_ms=50)
    # window ends at start + 9; labelled from sample 10 on -> starts 5..90 (18 windows)
    assert td.n_windows == 18
    assert td.windows["emg"].shape == (18, 2, 10)
    np.testing.assert_array_equal(td.windows["emg"][0, 0], np.arange(5, 15))
    np.testing.assert_array_equal(td.windows["emg"][0, 1], -np.arange(5, 15))
    ends = np.arange(5, 91, 5) + 9
    np.testing.assert_array_equal(td.labels, np.where(ends >= 50, 2, 1))
    np.testing.assert_allclose(td.times, ends / 100.0)
    assert td.sessions == [("s1", "r1")]
    assert list(td.classes) == [1, 2]
    assert not td.is_empty


def test_pure_windows_drop_label_changes(ds):
    td = TrainingData.from_dataset(ds, window_ms=100, hop_ms=50, pure=True)
    starts = td.windows["emg"][:, 0, 0].astype(int)
    # windows spanning sample 10 or sample 50 are gone
    assert all(not (s < 10 <= s + 9) and not (s < 50 <= s + 9) for s in starts)
    assert 5 not in starts and 45 not in starts and 50 in starts


def test_regression_targets_aligned(tmp_path, ds):
    tgt = Dataset.create(tmp_path / "force", fps=10.0, kind="emg")
    # a 10 Hz target stream: value = 10 * time
    t = np.arange(10) / 10.0
    _session(tgt, "s1", "r1", (10 * t)[:, None].astype(np.float32), t)
    td = TrainingData.from_dataset(ds, window_ms=100, hop_ms=50, targets=tgt)
    # window 0 covers samples 0..9 -> times 0.00..0.09; last target at/before 0.09 is t=0.0
    assert td.targets.shape == (19, 1)
    assert td.targets[0, 0] == 0.0
    ends = (np.arange(19) * 5 + 9) / 100.0
    np.testing.assert_allclose(td.targets[:, 0], np.floor(ends * 10 + 1e-9))
    tdm = TrainingData.from_dataset(ds, window_ms=100, hop_ms=50, targets=tgt,
                                    target_reduce="mean")
    # window starting at 0.05: targets at 0.1 only -> 1.0
    assert tdm.targets[1, 0] == 1.0


def test_apply_plain_function_and_batch_agree(ds):
    td = TrainingData.from_dataset(ds, window_ms=100, hop_ms=50)
    feats_plain = td.apply(lambda w: w["emg"].mean(axis=1))
    np.testing.assert_allclose(feats_plain, td.windows["emg"].mean(axis=2))
    ext = EMGExtract("HTD", fs=100.0)
    batch = td.apply(ext)
    one_by_one = np.stack([ext(td.window(i)) for i in range(td.n_windows)])
    np.testing.assert_allclose(batch, one_by_one)
    assert batch.shape == (18, 8)


def test_emg_extract_equals_offline_catalogue():
    import moveo.emg as emg

    rng = np.random.default_rng(1)
    data = rng.standard_normal((2000, 3)).astype(np.float32)
    wins = emg.windows(data, 200, 100)
    offline = emg.extract(wins, "HTD", fs=2000.0)
    ext = EMGExtract("HTD", fs=2000.0)
    live = ext({"emg": np.ascontiguousarray(wins[4])})
    expected = np.concatenate([offline[c][4] for c in ("MAV", "ZC", "SSC", "WL")])
    np.testing.assert_allclose(live, expected, rtol=1e-6)
    assert ext.columns({"emg": (3, 200)})[:2] == ["emg:MAV_0", "emg:MAV_1"]


def test_emg_extract_two_streams_concatenates():
    ext = EMGExtract(["MAV"], fs={"a": 100.0, "b": 100.0})
    w = {"a": np.ones((2, 10), np.float32), "b": -2 * np.ones((3, 10), np.float32)}
    np.testing.assert_allclose(ext(w), [1, 1, 2, 2, 2])
    with pytest.raises(KeyError, match="no sampling rate for stream 'c'"):
        ext({"c": np.ones((1, 10), np.float32)})


def test_bad_inputs(ds):
    with pytest.raises(ValueError, match="must each cover at least one sample"):
        TrainingData.from_dataset(ds, window_ms=1, hop_ms=50)
    with pytest.raises(ValueError, match="target_reduce must be"):
        TrainingData.from_dataset(ds, target_reduce="max")
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        TrainingData({"emg": np.zeros((2, 1, 3))}, labels=[1, 2, 3])
    with pytest.raises(ValueError, match="same number of windows"):
        TrainingData({"a": np.zeros((2, 1, 3)), "b": np.zeros((3, 1, 3))})
    with pytest.raises(ValueError, match="TrainingData is empty"):
        TrainingData({"emg": np.zeros((0, 1, 3))}).apply(lambda w: 0)


def test_session_index_blocks_and_overlap(tmp_path):
    d = Dataset.create(tmp_path / "two", fps=100.0, kind="emg",
                       meta={"channels": ["ch0", "ch1"], "stream": "emg"})
    data = np.stack([np.arange(100), -np.arange(100)], axis=1).astype(np.float32)
    ts = np.arange(100) / 100.0
    _session(d, "s1", "r1", data, ts, events=[(0, 1), (50, 2)])
    _session(d, "s1", "r2", data, 10.0 + ts, events=[(0, 2), (30, 1)])
    td = TrainingData.from_dataset(d, window_ms=100, hop_ms=50)
    # 19 windows per session (ends 9, 14, ..., 99)
    assert td.sessions == [("s1", "r1"), ("s1", "r2")]
    np.testing.assert_array_equal(td.session_index, np.repeat([0, 1], 19))
    np.testing.assert_array_equal(td.groups("session"), td.session_index)
    ends = np.arange(19) * 5 + 9
    # r1: label 1 until sample 49, 2 after; r2: 2 until 29, then 1
    blocks = td.groups("block")
    np.testing.assert_array_equal(blocks[:19], np.where(ends >= 50, 1, 0))
    np.testing.assert_array_equal(blocks[19:], np.where(ends >= 30, 3, 2))
    # time blocks of 0.3 s within each session (by window end time)
    tb = td.groups("time", block_s=0.3)
    np.testing.assert_array_equal(tb[:19], np.floor((ends - 9) / 30))
    assert tb[19] == tb[:19].max() + 1
    # 10-sample windows every 5 samples share samples with 1 neighbour per side
    assert td.overlap == 1
    assert TrainingData.from_dataset(d, window_ms=100, hop_ms=20).overlap == 4


def test_groups_errors():
    td = TrainingData({"emg": np.zeros((4, 1, 5))}, labels=[0, 0, 1, 1])
    np.testing.assert_array_equal(td.session_index, 0)
    with pytest.raises(ValueError, match="pass gap="):
        _ = td.overlap
    with pytest.raises(ValueError, match="needs block_s"):
        td.groups("time")
    with pytest.raises(ValueError, match="window times"):
        td.groups("time", block_s=1.0)
    with pytest.raises(ValueError, match="by must be"):
        td.groups("window")
    with pytest.raises(ValueError, match="block_s is for"):
        td.groups("block", block_s=1.0)
    with pytest.raises(ValueError, match="session_index must have shape"):
        TrainingData({"emg": np.zeros((4, 1, 5))}, session_index=[0, 1])
    # without labels (regression) a session is one cue block
    reg = TrainingData({"emg": np.zeros((4, 1, 5))}, targets=np.zeros((4, 1)),
                       session_index=[0, 0, 1, 1])
    np.testing.assert_array_equal(reg.groups("block"), [0, 0, 1, 1])
