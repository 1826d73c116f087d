"""EMGFeatures (the catalogue as a transformer) and EMGRegressor (features -> scaler -> ridge).

EMGRegressor is checked on windows whose channel amplitudes are set by known
continuous levels (the regression has an exact linear answer in MAV), and
its one-window realtime path against the batch ``predict``.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

from moveo.emg import EMGFeatures, EMGRegressor, extract_frame, windows


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


def _force_data(n_levels=60, seg=200, seed=0):
    """Two channels whose standard deviations are (level_1, level_2) per segment."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(0.1, 1.0, (n_levels, 2))
    data = rng.standard_normal((n_levels * seg, 2)) * np.repeat(levels, seg, axis=0)
    return windows(data, seg, seg), levels


def test_regressor_learns_levels_from_amplitude():
    X, y = _force_data()
    model = EMGRegressor("HTD", fs=1000.0).fit(X[:40], y[:40])
    assert model.n_targets_ == 2
    assert model.predict(X[40:]).shape == (20, 2)
    assert model.score(X[40:], y[40:]) > 0.9  # held-out levels
    names = model.feature_names()
    assert names[:2] == ["MAV_0", "MAV_1"] and len(names) == 8
    assert [name for name, _ in model.pipeline_.steps] == ["features", "scaler", "regressor"]
    from sklearn.linear_model import Ridge

    assert isinstance(model.pipeline_.named_steps["regressor"], Ridge)


def test_predict_window_matches_predict():
    X, y = _force_data()
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Lasso
    from sklearn.neighbors import KNeighborsRegressor

    regs = [None, Lasso(alpha=1e-3), KNeighborsRegressor(3), RandomForestRegressor(5,
                                                                                     random_state=0)]
    for reg in regs:
        for target in (y, y[:, 0]):
            model = EMGRegressor("HTD", fs=1000.0, regressor=reg).fit(X, target)
            batch = model.predict(X[:5]).reshape(5, -1)
            for i in range(5):
                one = model.predict_window(np.ascontiguousarray(X[i]))
                assert one.shape == (batch.shape[1],)
                np.testing.assert_allclose(one, batch[i], rtol=1e-10, atol=1e-12)
            # the fast layout (channels contiguous: a ring buffer's last samples, transposed)
            ring = np.ascontiguousarray(X[0].T)
            np.testing.assert_allclose(model.predict_window(ring.T), batch[0], rtol=1e-10)


def test_linear_fold_used_only_for_linear_models():
    X, y = _force_data()
    from sklearn.neighbors import KNeighborsRegressor

    assert EMGRegressor(fs=1000.0).fit(X, y)._affine is not None
    assert EMGRegressor(fs=1000.0, scale=False).fit(X, y)._affine is not None
    assert EMGRegressor(fs=1000.0, regressor=KNeighborsRegressor(2)).fit(X, y)._affine is None
    unscaled = EMGRegressor(fs=1000.0, scale=False).fit(X, y)
    assert unscaled.pipeline_.named_steps["scaler"] == "passthrough"


def test_regressor_clone_and_pickle(tmp_path):
    import joblib

    X, y = _force_data()
    model = EMGRegressor("LS4", fs=1000.0, params={"WAMP": {"threshold": 0.1}})
    assert clone(model).get_params() == model.get_params()
    model.fit(X, y)
    joblib.dump(model, tmp_path / "m.joblib")
    back = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(back.predict_window(X[3]), model.predict_window(X[3]))


def test_regressor_errors():
    X, y = _force_data()
    with pytest.raises(ValueError, match="needs fs"):
        EMGRegressor("HTD").fit(X, y)
    with pytest.raises(TypeError, match="not a regressor"):
        EMGRegressor(fs=1000.0, regressor=LinearDiscriminantAnalysis()).fit(X, y[:, 0])
    with pytest.raises(TypeError, match="fit and predict"):
        EMGRegressor(fs=1000.0, regressor=object()).fit(X, y)
    with pytest.raises(ValueError, match="n_windows = 60"):
        EMGRegressor(fs=1000.0).fit(X, y[:10])
    bad = y.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        EMGRegressor(fs=1000.0).fit(X, bad)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        EMGRegressor(fs=1000.0).predict_window(X[0])
