"""The lazy EMG warm-up compiles what a feature selection runs and nothing else: HTD never
compiles a spectral, entropy or wavelet kernel, a spectral code does; live windows have the
layout the predict loop hands over; values are untouched.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import moveo.emg as emg
from moveo.emg._warm import LAYOUTS, live_window, warmup_plan

_PROBE = """
import json, sys
import numba
import moveo.emg as emg
from moveo.kernels import emg_entropy, emg_spectral, emg_wavelet

emg.warmup(json.loads(sys.argv[1]), layouts=["owned"])
compiled = {}
for mod in (emg_entropy, emg_spectral, emg_wavelet):
    for name, value in vars(mod).items():
        if isinstance(value, numba.core.registry.CPUDispatcher) and value.signatures:
            compiled[f"{mod.__name__}.{name}"] = len(value.signatures)
print(json.dumps(compiled))
"""


def _compiled_in_fresh_process(features):
    # a fresh process without numba's cache: what this selection alone compiles
    env = {**os.environ, "MOVEO_NUMBA_CACHE": "0"}
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(features)], env=env,
                         capture_output=True, text=True, timeout=900, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(900)
def test_htd_compiles_no_spectral_entropy_or_wavelet_kernel():
    assert _compiled_in_fresh_process("HTD") == {}


@pytest.mark.timeout(900)
def test_a_spectral_code_compiles_the_spectral_kernels():
    # (the whole-window kernel behind every non-one-pass code is one function today, so a
    # spectral code also compiles the entropy and wavelet kernels it calls)
    compiled = _compiled_in_fresh_process(["MNF"])
    assert any(name.startswith("moveo.kernels.emg_spectral.") for name in compiled)


def test_warmup_counts_codes_and_checks_its_arguments():
    assert emg.warmup("HTD", layouts=["owned"]) == 4
    assert emg.warmup(["MAV", "WL"], layouts=LAYOUTS, dtypes=(np.float32, np.float64)) == 2
    with pytest.raises(ValueError, match="unknown window layouts"):
        emg.warmup("HTD", layouts=["sideways"])
    with pytest.raises(ValueError):
        emg.warmup("NOPE")


def test_live_window_is_what_the_predict_loop_hands_over():
    from moveo.realtime import RingBuffer

    ring = RingBuffer(64, 3)
    ring.write(np.ones((20, 3), dtype=np.float32), np.arange(20.0))
    live = ring.latest(16, channels_first=True).data
    ours = live_window(3, 16)
    assert (ours.dtype, ours.shape, ours.strides, ours.flags.c_contiguous) == (
        live.dtype, live.shape, live.strides, live.flags.c_contiguous
    )


def test_warming_a_plan_leaves_its_results_unchanged():
    plan = emg.FeaturePlan("HTD", fs=1000.0, n_channels=2, size=50)
    win = np.random.default_rng(1).standard_normal((2, 50)).astype(np.float32)
    before = plan.window(win)
    warmup_plan(plan, LAYOUTS)
    np.testing.assert_array_equal(plan.window(win), before)
