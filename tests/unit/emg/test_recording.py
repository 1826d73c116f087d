"""EMG recordings in a Dataset: round trip, label events by time and frame, per-sample labels,
errors.
"""

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.emg import recording


@pytest.fixture
def emg_ds(tmp_path):
    return Dataset.create(tmp_path / "emg", fps=1000.0, kind="emg")


def _session(n=1000, n_ch=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_ch)), 100.0 + np.arange(n) / 1000.0


def test_roundtrip_layout(emg_ds):
    data, ts = _session()
    recording.add_recording(emg_ds, "s01", "day1", data, ts)
    assert recording.channel_names(emg_ds) == ["ch0", "ch1", "ch2"]
    df = emg_ds.read("s01", "day1")
    assert df.columns[:5] == ["group", "sequence", "id", "frame", "time"]
    assert df.schema["ch0"] == pl.Float32
    assert df.schema["frame"] == pl.Int64 and df.schema["time"] == pl.Float64
    assert df["id"].unique().to_list() == [0]
    assert df["frame"].to_list() == list(range(1000))
    got, t = recording.read_recording(emg_ds, "s01", "day1")
    np.testing.assert_array_equal(got, data.astype(np.float32))
    np.testing.assert_array_equal(t, ts)
    assert got.flags.f_contiguous
    sub, _ = recording.read_recording(emg_ds, "s01", "day1", channels=["ch2", "ch0"])
    np.testing.assert_array_equal(sub, data[:, [2, 0]].astype(np.float32))


def test_events_by_time_and_by_frame(emg_ds):
    data, ts = _session()
    recording.add_recording(
        emg_ds, "s01", "day1", data, ts, events={"time": [100.2, 100.0005], "label": [2, 1]}
    )
    ev = recording.read_events(emg_ds, "s01", "day1")
    assert ev.schema == {"frame": pl.Int64, "time": pl.Float64, "label": pl.Int64}
    assert ev.rows() == [(1, ts[1], 1), (200, ts[200], 2)]  # first sample at/after the time
    labels = emg_ds.read("s01", "day1")["label"]
    assert labels[0] is None and labels[1] == 1 and labels[199] == 1 and labels[200] == 2
    ev2 = recording.write_events(
        emg_ds, "s01", "day1", pl.DataFrame({"frame": [500], "label": [0]})
    )
    assert ev2.rows() == [(500, ts[500], 0)]
    labels = emg_ds.read("s01", "day1")["label"]
    assert labels[:500].null_count() == 500 and labels[500] == 0
    # data untouched by relabelling
    np.testing.assert_array_equal(
        recording.read_recording(emg_ds, "s01", "day1")[0], data.astype(np.float32)
    )


def test_sample_labels():
    ev = pl.DataFrame({"frame": [0, 3], "label": [5, 7]})
    assert recording.sample_labels(ev, 5).to_list() == [5, 5, 5, 7, 7]
    empty = pl.DataFrame(schema={"frame": pl.Int64, "label": pl.Int64})
    assert recording.sample_labels(empty, 3).to_list() == [None, None, None]
    with pytest.raises(ValueError, match="sorted by frame"):
        recording.sample_labels(pl.DataFrame({"frame": [3, 1], "label": [0, 1]}), 5)


def test_no_events_is_an_empty_table(emg_ds):
    data, ts = _session(100)
    recording.add_recording(emg_ds, "s01", "a", data, ts)
    assert recording.read_events(emg_ds, "s01", "a").height == 0
    with pytest.raises(KeyError, match="no recording"):
        recording.read_events(emg_ds, "s01", "zzz")


def test_errors(emg_ds, tmp_path):
    data, ts = _session(100)
    tracks = Dataset.create(tmp_path / "tracks", fps=30.0)
    with pytest.raises(ValueError, match="kind 'tracks'"):
        recording.add_recording(tracks, "s", "a", data, ts)
    with pytest.raises(ValueError, match=r"timestamps must have shape \(100,\)"):
        recording.add_recording(emg_ds, "s", "a", data, ts[:-1])
    bad = ts.copy()
    bad[10] = bad[5]
    with pytest.raises(ValueError, match="timestamps go backwards at sample 10"):
        recording.add_recording(emg_ds, "s", "a", data, bad)
    with pytest.raises(ValueError, match="clash with reserved"):
        recording.add_recording(emg_ds, "s", "a", data, ts, channel_names=["a", "time", "b"])
    with pytest.raises(ValueError, match="outside the recording"):
        recording.add_recording(emg_ds, "s", "a", data, ts, events={"frame": [100], "label": [0]})
    with pytest.raises(ValueError, match="integer class indices"):
        recording.add_recording(emg_ds, "s", "a", data, ts, events={"frame": [0], "label": ["x"]})
    with pytest.raises(ValueError, match="'frame' .* or 'time'"):
        recording.add_recording(emg_ds, "s", "a", data, ts, events={"label": [0]})
    with pytest.raises(ValueError, match="group name"):
        recording.add_recording(emg_ds, "../x", "a", data, ts)
    recording.add_recording(emg_ds, "s", "a", data, ts, channel_names=["x", "y", "z"])
    with pytest.raises(ValueError, match="share one channel layout"):
        recording.add_recording(emg_ds, "s", "b", data, ts, channel_names=["x", "y", "w"])
    with pytest.raises(FileExistsError, match="overwrite=True"):
        recording.add_recording(emg_ds, "s", "a", data, ts)
    recording.add_recording(emg_ds, "s", "a", data * 2, ts, overwrite=True)
    np.testing.assert_allclose(recording.read_recording(emg_ds, "s", "a")[0], data * 2, rtol=1e-6)
