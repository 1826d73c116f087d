"""What App.start() compiles: with warmup=True only what the app uses (ring buffer, its
streams' filters, the display kernels in the window, the pipeline's extraction and anything
declared with add_warmup), "all" for every kernel, nothing with False.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from moveo import _numba
from moveo.emg.filters import butter_bandpass
from moveo.realtime import App, Pipeline, SyntheticSource
from moveo.realtime.training import EMGExtract


def _app(**kwargs):
    app = App(**kwargs)
    app.add_stream("emg", SyntheticSource(n_channels=3, fs=1000.0), window_ms=50)
    return app


def test_warmup_targets_follow_the_streams():
    app = _app()
    assert app.warmup_targets() == ["moveo.kernels.ring"]
    assert app.warmup_targets(gui=True) == ["moveo.kernels.ring", "moveo.kernels.display"]
    app.add_stream("filtered", SyntheticSource(n_channels=2, fs=1000.0),
                   filters=[butter_bandpass(20, 200, 1000.0)])  # fmt: skip
    assert "moveo.kernels.filters" in app.warmup_targets()


def test_start_compiles_the_targets_and_runs_the_declared_warmups(monkeypatch):
    seen = []
    monkeypatch.setattr(_numba, "warmup", lambda targets=None, **kw: seen.append(targets))
    app = _app()
    calls = []
    app.add_warmup(lambda: calls.append("fn"))

    class Declared:
        def warmup(self, got):
            calls.append(got)

    app.add_warmup(Declared())
    with app:
        pass
    assert seen == [["moveo.kernels.ring"]]
    assert calls == ["fn", app]
    assert app.warmup_seconds >= 0.0


def test_warmup_all_and_off(monkeypatch):
    seen = []
    monkeypatch.setattr(_numba, "warmup", lambda targets=None, **kw: seen.append(targets))
    with _app(warmup="all"):
        pass
    assert seen == [None]  # every kernel
    app = _app(warmup=False)
    app.add_warmup(lambda: seen.append("declared"))
    with app:
        pass
    assert seen == [None]


def test_bad_warmup_arguments_are_named():
    with pytest.raises(ValueError, match="warmup must be True, False or 'all'"):
        App(warmup="some")
    with pytest.raises(TypeError, match="add_warmup needs a function or an object"):
        App().add_warmup(42)


def test_pipeline_declares_its_default_extraction():
    app = _app()
    pipeline = Pipeline(app)
    assert pipeline._warm_extract in app.warmup_hooks
    app.start()
    try:
        extract = pipeline.extract_function()
        assert isinstance(extract, EMGExtract)
        assert ("emg", 3, 50) in extract._plans  # the plan of the live window shape
    finally:
        app.stop()


def test_emgextract_warmup_leaves_values_unchanged():
    extract = EMGExtract("HTD", fs=1000.0)
    win = np.random.default_rng(0).standard_normal((3, 50)).astype(np.float32)
    before = extract({"emg": win})
    extract.warmup({"emg": (3, 50)})
    np.testing.assert_array_equal(extract({"emg": win}), before)


_PROBE = """
import json
import numba
from moveo.kernels import emg_entropy, emg_spectral, emg_wavelet
from moveo.realtime import App, Pipeline, SyntheticSource

app = App()
app.add_stream("emg", SyntheticSource(n_channels=2, fs=1000.0), window_ms=50)
Pipeline(app)  # default extraction: HTD
app.start()
app.stop()
print(json.dumps(sorted(
    f"{m.__name__}.{n}" for m in (emg_entropy, emg_spectral, emg_wavelet)
    for n, v in vars(m).items()
    if isinstance(v, numba.core.registry.CPUDispatcher) and v.signatures
)))
"""


@pytest.mark.timeout(900)
def test_an_htd_app_compiles_no_spectral_entropy_or_wavelet_kernel():
    env = {**os.environ, "MOVEO_NUMBA_CACHE": "0"}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, timeout=900, check=True)  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
