import numpy as np
import pytest
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

from moveo.emg import EMGFeatures, extract_frame, windows


def _data():
    rng = np.random.default_rng(0)
    quiet = rng.standard_normal((3000, 4)) * 0.1
    active = rng.standard_normal((3000, 4)) * np.array([1.0, 0.1, 1.0, 0.1])
    x = windows(np.concatenate([quiet, active]), 200, 100)
    y = np.r_[np.zeros(29), np.ones(30)]
    return x, y


def test_pipeline_classifies():
    x, y = _data()
    model = make_pipeline(EMGFeatures("HTD", fs=1000.0), LinearDiscriminantAnalysis())
    model.fit(x, y)
    assert (model.predict(x) == y).mean() > 0.95


def test_transform_matches_extract_frame_and_names():
    x, _ = _data()
    est = EMGFeatures(["RMS", "AR"], fs=1000.0, params={"AR": {"order": 2}}).fit(x)
    out = est.transform(x)
    ref = extract_frame(x, ["RMS", "AR"], fs=1000.0, params={"AR": {"order": 2}})
    np.testing.assert_array_equal(out, ref.to_numpy())
    assert est.get_feature_names_out().tolist() == ref.columns
    assert clone(est).get_params() == est.get_params()


def test_errors():
    x, _ = _data()
    with pytest.raises(ValueError, match="needs fs"):
        EMGFeatures("HTD").fit(x)
    est = EMGFeatures("HTD", fs=1000.0).fit(x)
    with pytest.raises(ValueError, match="fitted on"):
        est.transform(x[:, :2])
    with pytest.raises(ValueError, match="unknown EMG feature"):
        EMGFeatures("NOPE", fs=1000.0).fit(x)
