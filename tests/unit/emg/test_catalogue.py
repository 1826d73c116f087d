"""The EMG feature catalogue is complete, every code runs with its defaults, and bad selections
are named.
"""

import numpy as np
import pytest

from moveo.emg import FEATURES, GROUPS, SPECS, FeaturePlan, extract, extract_frame, windows

W = np.random.default_rng(0).standard_normal((3, 2, 64))


def test_catalogue_is_complete():
    expected = [
        "MAV",
        "IAV",
        "RMS",
        "VAR",
        "MEAN",
        "MPK",
        "LD",
        "TM",
        "ISD",
        "MLK",
        "MSR",
        "LS",
        "WL",
        "MFL",
        "MAVFD",
        "DASDV",
        "MDIFF",
        "MZP",
        "COR",
        "WAMP",
        "SSC",
        "ZC",
        "MAVSLP",
        "ACT",
        "MOB",
        "COMP",
        "M0",
        "M2",
        "M4",
        "SPARSI",
        "IRF",
        "WLF",
        "AR",
        "CC",
        "MNF",
        "MDF",
        "MNP",
        "SM",
        "PAP",
        "DFTR",
        "SKEW",
        "KURT",
        "SAMPEN",
        "FUZZYEN",
        "RMSPHASOR",
        "WLPHASOR",
        "WENG",
        "WV",
        "WWL",
        "WENT",
    ]
    assert list(FEATURES) == expected
    assert set(GROUPS) == {
        "HTD", "TDAR", "LS4", "LS9", "TDPSD", "TSTD", "COMB", "ITD", "HJORTH", "MSWT", "DFTR"
    }  # fmt: skip
    for group, codes in GROUPS.items():
        assert set(codes) <= set(FEATURES), group
    assert all(SPECS[c].formula for c in FEATURES)


def test_every_feature_runs_with_defaults():
    out = extract(W, list(FEATURES), fs=1000.0)
    assert set(out) == set(FEATURES)
    for code, arr in out.items():
        assert arr.shape[:2] == (3, 2), code
        assert arr.dtype == np.float64


@pytest.mark.parametrize(
    ("features", "params", "match"),
    [
        ("FOO", None, "unknown EMG feature or group 'FOO'; valid features: MAV, IAV"),
        (["MAV", "nope"], None, "valid groups: HTD, TDAR"),
        ("ZC", {"ZC": {"thresh": 0.1}}, "unknown parameter 'thresh' for ZC; valid .*: threshold"),
        ("MAV", {"MAV": {"order": 2}}, "unknown parameter 'order' for MAV; .*: none"),
        ("MAV", {"BAR": {}}, "params given for unknown feature 'BAR'"),
        ("MAV", {"ZC": {"threshold": 1.0}}, "params given for 'ZC', which is not among"),
        ("ZC", {"ZC": {"threshold": -1}}, "ZC parameter 'threshold' must be finite and >= 0"),
        ("AR", {"AR": {"order": 2.5}}, "AR parameter 'order' must be an integer"),
        ("AR", {"AR": {"order": 64}}, "AR needs windows of at least 65 samples, got size 64"),
        ("WENG", {"WENG": {"level": 5}}, "WENG level 5 is too deep .* maximum sym8 level is 2"),
        ("DFTR", {"DFTR": {"bands": [(10, 5)]}}, r"DFTR band \(10.0, 5.0\) must satisfy"),
        ("DFTR", {"DFTR": {"bands": [(600, 700)]}}, "above the Nyquist frequency 500.0"),
        ([], None, "features is empty"),
        ("MAV", {"MAV": 3}, r"params\['MAV'\] must be a dict"),
    ],
)
def test_bad_selection_errors(features, params, match):
    with pytest.raises(ValueError, match=match):
        extract(W, features, fs=1000.0, params=params)


def test_fs_is_required_and_validated():
    with pytest.raises(TypeError, match="fs"):
        extract(W, "MNF")  # keyword-only, no default
    for bad in (0, -5.0, float("nan"), None, "1000"):
        with pytest.raises(ValueError, match="fs must be the sampling rate"):
            extract(W, "MNF", fs=bad)


def test_windows_argument_errors():
    with pytest.raises(ValueError, match=r"shape \(n_windows, n_channels, size\)"):
        extract(np.zeros((10, 2)), "MAV", fs=1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        extract(np.array([[["a"]]]), "MAV", fs=1.0)
    plan = FeaturePlan("HTD", fs=100.0, n_channels=2, size=64)
    with pytest.raises(ValueError, match=r"must have shape \(2, 64\)"):
        plan.window(np.zeros((3, 64)))
    # integers are converted
    assert extract(np.ones((1, 1, 4), dtype=np.int16), "MAV", fs=1.0)["MAV"][0, 0] == 1.0


def test_extract_frame_columns():
    df = extract_frame(W, ["MAV", "AR"], fs=1000.0, params={"AR": {"order": 2}})
    assert df.columns == ["MAV_0", "MAV_1", "AR_0_0", "AR_0_1", "AR_1_0", "AR_1_1"]
    assert df.height == 3
    named = extract_frame(W, "RMS", fs=1000.0, channel_names=["flexor", "extensor"])
    assert named.columns == ["RMS_flexor", "RMS_extensor"]
    ref = extract(W, "RMS", fs=1000.0)["RMS"]
    np.testing.assert_array_equal(named["RMS_extensor"].to_numpy(), ref[:, 1])
    with pytest.raises(ValueError, match="channel_names has 1 names"):
        extract_frame(W, "RMS", fs=1000.0, channel_names=["a"])


def test_empty_windows():
    w = windows(np.zeros((10, 3)), 20, 5)
    out = extract(w, ["MAV", "AR"], fs=100.0)
    assert out["MAV"].shape == (0, 3)
    assert out["AR"].shape == (0, 3, 4)
