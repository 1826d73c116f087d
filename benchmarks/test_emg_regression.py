"""EMGRegressor.predict_window: the folded linear map vs scikit-learn's pipeline call.

Both compute the same outputs for one 64-channel, 400-sample window (HTD ->
StandardScaler -> Ridge, 3 targets): ours is the one-window feature kernel plus
``x @ W + b``; the baseline is the same feature kernel followed by
``Pipeline.predict`` on the scaler and ridge (what a user would write).
"""

from __future__ import annotations

import numpy as np
import pytest

from moveo.emg import EMGRegressor


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 64, 400)).astype(np.float32)
    y = rng.random((200, 3))
    model = EMGRegressor("HTD", fs=2000.0).fit(X, y)
    ring = np.ascontiguousarray(X[0].T)  # (samples, channels), like a ring buffer
    return model, ring.T


@pytest.mark.parametrize("impl", ["moveo", "sklearn-pipeline"])
def test_predict_window(benchmark, tag, fitted, impl):
    model, window = fitted
    tail = model.pipeline_[1:]
    plan = model.plan_

    def baseline():
        return tail.predict(plan.window(window)[None])[0]

    def ours():
        return model.predict_window(window)

    fn = ours if impl == "moveo" else baseline
    np.testing.assert_allclose(model.predict_window(window), baseline(), rtol=1e-9)
    tag(benchmark, "EMGRegressor.predict_window 64 ch x 400, 3 targets", ours=impl == "moveo",
        target=None if impl == "moveo" else ">=10")
    benchmark(fn)
