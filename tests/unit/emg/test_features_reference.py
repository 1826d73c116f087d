"""Kernels vs the loop references in tests/reference/emg.py (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moveo.emg import FEATURES, FeaturePlan, extract, windows
from moveo.emg._catalogue import PAIR_CODES, SPECS, max_wavelet_level, min_size
from reference.emg import _power, reference_extract

FS = 1000.0
ENTROPY = ("SAMPEN", "FUZZYEN")
WAVELET = ("WENG", "WV", "WWL", "WENT")
# AR/CC are checked on continuous data (integer data can make Levinson ill-conditioned),
# MDF with a tie-tolerant check below.
EXACT = [c for c in FEATURES if c not in (*ENTROPY, *WAVELET, "AR", "CC", "MDF")]


@st.composite
def emg_data(draw, max_samples=60, max_size=24, continuous=None):
    """(data, size, increment): integer-valued (exact arithmetic) or normal data, NaN runs."""
    n_ch = draw(st.integers(1, 3))
    size = draw(st.integers(1, max_size))
    increment = draw(st.integers(1, size + 3))
    n = draw(st.integers(0, max_samples))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if continuous is None:
        continuous = draw(st.booleans())
    if continuous:
        data = rng.standard_normal((n, n_ch)) * draw(st.sampled_from([1e-3, 1.0, 50.0]))
    else:
        data = rng.integers(-6, 7, size=(n, n_ch)) * 0.5
    # constant channels and NaN runs
    if n and draw(st.booleans()):
        data[:, draw(st.integers(0, n_ch - 1))] = draw(st.sampled_from([0.0, 1.5, -2.0]))
    if n and draw(st.booleans()):
        start = draw(st.integers(0, n - 1))
        data[start : start + draw(st.integers(1, 5)), draw(st.integers(0, n_ch - 1))] = np.nan
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    data = data.astype(dtype)
    if draw(st.booleans()):
        data = np.asfortranarray(data)
    return data, size, increment


def _valid(codes, size, params=None, n_channels=2):
    params = params or {}
    return [
        c
        for c in codes
        if size >= min_size(c, {**SPECS[c].params, **params.get(c, {})})
        and (n_channels >= 2 or c not in PAIR_CODES)
    ]


def _compare(ours, ref, codes):
    for code in codes:
        assert ours[code].shape == ref[code].shape, code
        np.testing.assert_allclose(
            ours[code], ref[code], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=code
        )


@given(case=emg_data(), thresholds=st.sampled_from([0.0, 0.5, 1.0]))
def test_features_match_reference(case, thresholds):
    data, size, inc = case
    w = windows(data, size, inc)
    codes = _valid(EXACT, size, n_channels=w.shape[1])
    params = {c: {"threshold": thresholds} for c in ("ZC", "SSC", "WAMP") if c in codes}
    if "MAVSLP" in codes and size >= 3:
        params["MAVSLP"] = {"segments": 3}
    ours = extract(w, codes, fs=FS, params=params)
    ref = reference_extract(w, codes, FS, params)
    _compare(ours, ref, codes)


@given(case=emg_data(continuous=True), order=st.integers(1, 6))
def test_ar_cc_match_reference(case, order):
    data, size, inc = case
    if size < order + 5:
        size = order + 5
    w = windows(data, size, inc)
    params = {"AR": {"order": order}, "CC": {"order": order}}
    ours = extract(w, ["AR", "CC"], fs=FS, params=params)
    ref = reference_extract(w, ["AR", "CC"], FS, params)
    for code in ("AR", "CC"):
        np.testing.assert_allclose(ours[code], ref[code], rtol=1e-7, atol=1e-8, equal_nan=True)


@given(case=emg_data())
def test_mdf_is_the_half_power_frequency(case):
    data, size, inc = case
    w = windows(data, size, inc)
    got = extract(w, "MDF", fs=FS)["MDF"]
    for i in range(w.shape[0]):
        for c in range(w.shape[1]):
            x = np.asarray(w[i, c], dtype=np.float64)
            if np.isnan(x).any():
                assert np.isnan(got[i, c])
                continue
            f, p = _power(x, FS)
            total = p.sum()
            if total <= 1e-12:
                continue  # zero power: defined as 0, checked in the hand-worked tests
            j = int(round(got[i, c] / (FS / size)))
            cum = np.cumsum(p)
            assert cum[j] >= 0.5 * total * (1 - 1e-9)
            assert j == 0 or cum[j - 1] < 0.5 * total * (1 + 1e-9)


@settings(max_examples=25)
@given(case=emg_data(max_samples=40, max_size=20, continuous=True))
def test_entropy_matches_reference(case):
    data, size, inc = case
    w = windows(data, size, inc)
    params = {"SAMPEN": {"dimension": 1 + size % 2}, "FUZZYEN": {"tolerance": 0.3, "power": 2.0}}
    codes = _valid(ENTROPY, size, params)
    params = {c: p for c, p in params.items() if c in codes}
    if not codes:
        return
    _compare(
        extract(w, codes, fs=FS, params=params), reference_extract(w, codes, FS, params), codes
    )


@settings(max_examples=25)
@given(
    case=emg_data(max_samples=140, max_size=70, continuous=True),
    size=st.integers(30, 70),
    level=st.sampled_from([None, 1, 2]),
)
def test_wavelet_matches_pywt_reference(case, size, level):
    data, _, inc = case
    w = windows(data, size, inc)
    if level is not None:
        level = min(level, max_wavelet_level(size))
    params = {c: {"level": level} for c in WAVELET}
    _compare(
        extract(w, list(WAVELET), fs=FS, params=params),
        reference_extract(w, list(WAVELET), FS, params),
        WAVELET,
    )


@given(case=emg_data(continuous=True))
def test_one_window_path_equals_batch(case):
    data, size, inc = case
    w = windows(data, size, inc)
    codes = _valid(
        [c for c in FEATURES if c not in ENTROPY and c not in WAVELET], size, n_channels=w.shape[1]
    )
    plan = FeaturePlan(codes, fs=FS, n_channels=w.shape[1], size=size)
    batch = plan.transform(w)
    out = np.empty(plan.n_columns)
    for i in range(w.shape[0]):
        np.testing.assert_allclose(plan.window(w[i], out=out), batch[i], rtol=1e-12, atol=1e-14)


def test_single_sample_increment_matches_slicing():
    rng = np.random.default_rng(7)
    data = rng.standard_normal((300, 4)).astype(np.float32)
    w = windows(data, 50, 1)
    got = extract(w, ["RMS", "WL", "MNF"], fs=FS)
    for i in (0, 1, 137, 250):
        one = data[i : i + 50].T[None]
        ref = extract(one, ["RMS", "WL", "MNF"], fs=FS)
        for code in got:
            np.testing.assert_allclose(got[code][i], ref[code][0], rtol=1e-12)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_layouts_agree(layout):
    data = np.random.default_rng(3).standard_normal((500, 6))
    arr = np.asfortranarray(data) if layout == "F" else np.ascontiguousarray(data)
    ref = extract(windows(np.ascontiguousarray(data), 100, 25), "TDPSD", fs=FS)
    got = extract(windows(arr, 100, 25), "TDPSD", fs=FS)
    for code in ref:
        np.testing.assert_array_equal(got[code], ref[code])


@pytest.mark.parametrize("layout", ["C", "F"])
def test_parallel_batch_equals_serial(monkeypatch, layout):
    import moveo.emg.extraction as extraction

    data = np.random.default_rng(9).standard_normal((3000, 5))
    data[1000:1010, 2] = np.nan
    data = np.asfortranarray(data) if layout == "F" else data
    w = windows(data, 100, 7)
    codes = [c for c in FEATURES if c not in ENTROPY]
    serial = extract(w, codes, fs=FS)
    monkeypatch.setattr(extraction, "PARALLEL_MIN_SAMPLES", 0)
    parallel = extract(w, codes, fs=FS)
    for code in codes:
        np.testing.assert_allclose(parallel[code], serial[code], rtol=1e-12, equal_nan=True)
