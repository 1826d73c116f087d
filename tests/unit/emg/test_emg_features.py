"""The emg-features feature: one row per window, units and labels, cached through the pipeline,
param errors.
"""

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.emg import extract, recording, window_labels, windows
from moveo.features import get_feature
from moveo.features.emg_features import EMGWindowFeatures
from moveo.pipeline import run_feature
from moveo.pipeline.run import feature_run_root


@pytest.fixture
def emg_ds(tmp_path):
    ds = Dataset.create(tmp_path / "emg", fps=1000.0, kind="emg")
    rng = np.random.default_rng(3)
    for session, n in (("day1", 1000), ("day2", 700)):
        data = rng.standard_normal((n, 2))
        ts = 5.0 + np.arange(n) / 1000.0
        events = {"frame": [100, 500], "label": [1, 2]}
        recording.add_recording(ds, "s01", session, data, ts, events=events)
    return ds


def test_registered_under_its_name():
    assert get_feature("emg-features") is EMGWindowFeatures


def test_apply_one_row_per_window(emg_ds):
    df = emg_ds.read("s01", "day1")
    feat = EMGWindowFeatures(params={"features": ["MAV", "AR"], "window": 200, "increment": 100})
    feat.set_dataset_defaults(fps=emg_ds.fps, columns=emg_ds.columns)
    out = feat.apply(df)
    assert out.columns[:6] == ["group", "sequence", "id", "frame", "time", "label"]
    assert out.height == (1000 - 200) // 100 + 1
    assert out["frame"].to_list() == list(range(199, 1000, 100))
    data, ts = recording.read_recording(emg_ds, "s01", "day1")
    np.testing.assert_array_equal(out["time"].to_numpy(), ts[199::100])
    ref = extract(windows(data, 200, 100), ["MAV", "AR"], fs=1000.0)
    np.testing.assert_array_equal(out["MAV_ch1"].to_numpy(), ref["MAV"][:, 1])
    np.testing.assert_array_equal(out["AR_ch0_3"].to_numpy(), ref["AR"][:, 0, 3])
    # labels: samples < 100 unlabelled, 100..499 -> 1, >= 500 -> 2; window mode
    per_sample = emg_ds.read("s01", "day1")["label"].fill_null(-1).to_numpy()
    expected = window_labels(per_sample, 200, 100)
    got = out["label"].fill_null(-1).to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert out["label"][0] is None  # window 0..199 is mostly unlabelled (100 vs 100 -> -1)


def test_ms_units_and_label_last(emg_ds):
    df = emg_ds.read("s01", "day2")
    feat = EMGWindowFeatures(
        params={
            "features": "HTD",
            "window": 100,
            "increment": 25,
            "unit": "ms",
            "label_how": "last",
        }
    )
    feat.set_dataset_defaults(fps=1000.0)
    out = feat.apply(df)
    assert out.height == (700 - 100) // 25 + 1
    # last samples 99 and 124: the label starts at sample 100
    assert out["label"].to_list()[:2] == [None, 1]
    assert out["frame"][0] == 99


def test_runs_cached_through_the_pipeline(emg_ds):
    feat = EMGWindowFeatures(params={"features": "TDPSD", "window": 200, "increment": 50})
    first = run_feature(emg_ds, feat)
    root = feature_run_root(emg_ds, "emg-features", first.run_id)
    out = pl.read_parquet(root / "s01" / "day1.parquet")
    assert out.height == (1000 - 200) // 50 + 1
    assert "SPARSI_ch0" in out.columns
    again = run_feature(
        emg_ds, EMGWindowFeatures(params={"features": "TDPSD", "window": 200, "increment": 50})
    )
    assert again.run_id == first.run_id
    # relabelling changes the entry, so the cached output is recomputed with the new labels
    recording.write_events(emg_ds, "s01", "day1", {"frame": [0], "label": [7]})
    run_feature(
        emg_ds, EMGWindowFeatures(params={"features": "TDPSD", "window": 200, "increment": 50})
    )
    relabelled = pl.read_parquet(root / "s01" / "day1.parquet")
    assert relabelled["label"].unique().to_list() == [7]


def test_param_errors(emg_ds):
    with pytest.raises(ValueError, match="unknown EMG feature or group 'XYZ'"):
        EMGWindowFeatures(params={"features": "XYZ"})
    with pytest.raises(ValueError, match="window"):
        EMGWindowFeatures(params={"window": -1})
    df = emg_ds.read("s01", "day1")
    feat = EMGWindowFeatures(params={"window": 100.5})
    feat.set_dataset_defaults(fps=1000.0)
    with pytest.raises(ValueError, match="whole number of samples"):
        feat.apply(df)
    nofs = EMGWindowFeatures()
    with pytest.raises(ValueError, match="no sampling rate"):
        nofs.apply(df)
    feat = EMGWindowFeatures(params={"channels": ["ch9"], "fs": 1000.0})
    with pytest.raises(ValueError, match=r"channel column\(s\) \['ch9'\] not in the entry"):
        feat.apply(df)
    feat = EMGWindowFeatures(params={"params": {"ZC": {"bad": 1}}, "fs": 1000.0})
    with pytest.raises(ValueError, match="unknown parameter 'bad' for ZC"):
        feat.apply(df)
