"""Hand-worked values: numbers a reader can check with pencil and paper."""

import math

import numpy as np
import pytest

from moveo.emg import FEATURES, GROUPS, FeaturePlan, extract, windows

FS = 2000.0


def _one(x, features, fs=FS, params=None):
    x = np.asarray(x, dtype=np.float64)
    return extract(x[None, None, :], features, fs=fs, params=params)


def test_sine_rms_and_mav():
    a = 3.0
    t = np.arange(2000) / FS  # exactly 50 periods of 50 Hz
    x = a * np.sin(2 * np.pi * 50.0 * t + 0.3)
    out = _one(x, ["RMS", "MAV", "MNF", "MDF", "ZC"])
    assert out["RMS"][0, 0] == pytest.approx(a / math.sqrt(2), rel=1e-9)
    assert out["MAV"][0, 0] == pytest.approx(2 * a / math.pi, rel=2e-3)  # 40 samples/period
    assert out["MNF"][0, 0] == pytest.approx(50.0, abs=0.5)  # a pure tone at f has MNF ≈ f
    assert out["MDF"][0, 0] == pytest.approx(50.0, abs=1.0)
    assert out["ZC"][0, 0] == 100  # 2 crossings per period (phase 0.3: none at the edges)


def test_zero_crossings_through_exact_zero():
    assert _one([1.0, 0.0, -1.0], "ZC")["ZC"][0, 0] == 1  # through zero: one crossing
    assert _one([1.0, 0.0, 1.0], "ZC")["ZC"][0, 0] == 0  # touching zero: none
    assert _one([1.0, 0.0, 0.0, -2.0, 3.0], "ZC")["ZC"][0, 0] == 2
    # threshold: the step from 0.1 to -0.1 (0.2) does not exceed 0.5
    out = _one([0.1, -0.1, 2.0, -2.0], "ZC", params={"ZC": {"threshold": 0.5}})
    assert out["ZC"][0, 0] == 2


def test_signal_crossing_zero_n_times():
    for n in (0, 1, 5, 17):
        x = np.array([(-1.0) ** k * (1 + k % 3) for k in range(n + 1)])
        assert _one(x, "ZC")["ZC"][0, 0] == n


def test_difference_features_by_hand():
    x = [0.0, 1.0, 0.0, 1.0]
    out = _one(x, ["WL", "SSC", "WAMP", "MAVFD", "DASDV", "MZP", "IAV", "VAR", "MPK"])
    assert out["WL"][0, 0] == 3.0
    assert out["SSC"][0, 0] == 2.0
    assert out["WAMP"][0, 0] == 3.0
    assert out["MAVFD"][0, 0] == 1.0
    assert out["DASDV"][0, 0] == 1.0
    assert out["MZP"][0, 0] == pytest.approx(math.sqrt(3.0 / 4.0))  # sqrt((1/N) Σ Δx²)
    assert out["IAV"][0, 0] == 2.0
    assert out["VAR"][0, 0] == pytest.approx(2.0 / 3.0)
    assert out["MPK"][0, 0] == 1.0
    out = _one(x, ["WAMP", "SSC"], params={"WAMP": {"threshold": 1.0}, "SSC": {"threshold": 1.0}})
    assert out["WAMP"][0, 0] == 0.0  # |Δx| = 1 does not exceed 1
    assert out["SSC"][0, 0] == 0.0


def test_l_scale_and_moments_by_hand():
    out = _one([4.0, 1.0, 3.0, 2.0], ["LS", "MEAN", "TM", "MSR", "SKEW", "KURT", "ACT"])
    # L-scale = half the mean absolute difference over pairs = 0.5 * 10 / 6
    assert out["LS"][0, 0] == pytest.approx(5.0 / 6.0)
    assert out["MEAN"][0, 0] == 2.5
    assert out["TM"][0, 0] == pytest.approx((64 + 1 + 27 + 8) / 4)
    assert out["MSR"][0, 0] == pytest.approx((2 + 1 + math.sqrt(3) + math.sqrt(2)) / 4)
    assert out["SKEW"][0, 0] == pytest.approx(0.0, abs=1e-12)  # symmetric values
    assert out["KURT"][0, 0] == pytest.approx(1.64)  # Pearson m4 / m2² of 1..4
    assert out["ACT"][0, 0] == pytest.approx(1.25)


def test_mavslp_segments():
    x = np.array([1.0, 1.0, 3.0, 3.0, 6.0, 6.0])
    out = _one(x, "MAVSLP", params={"MAVSLP": {"segments": 3}})["MAVSLP"]
    assert out.shape == (1, 1, 2)
    assert out[0, 0].tolist() == [2.0, 3.0]


def test_ld_and_mlk():
    out = _one([1.0, -4.0], ["LD", "MLK"])
    assert out["LD"][0, 0] == pytest.approx(2.0)  # geometric mean of |x|
    assert out["MLK"][0, 0] == pytest.approx(math.log(5.0) / 2)  # ln(Σ|x| + ε) / N
    assert _one([1.0, 0.0, 2.0], "LD")["LD"][0, 0] == 0.0
    assert _one(np.zeros(4), "MLK")["MLK"][0, 0] == pytest.approx(math.log(2.0**-52) / 4)


def test_itd_by_hand():
    # x = 1, 3, 2, 4: Δx = 2, -1, 2; Δ²x = -3, 3
    out = _one([1.0, 3.0, 2.0, 4.0], ["ISD", "MDIFF", "COR", "MZP", "MPK"])
    assert out["ISD"][0, 0] == 30.0  # Σ x²
    assert out["MDIFF"][0, 0] == pytest.approx(9.0 / 4.0)  # (1/N) Σ Δx²
    assert out["COR"][0, 0] == pytest.approx((9.0 / 4.0) / ((18.0 / 4.0) * 30.0))
    assert out["MZP"][0, 0] == pytest.approx(1.5)
    assert _one([-1.0, -3.0, -2.0], "MPK")["MPK"][0, 0] == -1.0  # signed maximum


def test_hjorth_of_a_sine():
    f = 50.0
    x = np.sin(2 * np.pi * f * np.arange(4000) / FS)
    out = _one(x, "HJORTH")
    assert out["MOB"][0, 0] == pytest.approx(2 * math.sin(math.pi * f / FS), rel=1e-3)
    assert out["COMP"][0, 0] == pytest.approx(1.0, rel=1e-3)
    assert out["ACT"][0, 0] == pytest.approx(0.5, rel=1e-3)


def test_known_ar_process_recovers_its_coefficients():
    rng = np.random.default_rng(0)
    a1, a2 = 0.6, -0.3
    e = rng.standard_normal(40000)
    x = np.zeros_like(e)
    for n in range(2, len(x)):
        x[n] = a1 * x[n - 1] + a2 * x[n - 2] + e[n]
    out = _one(x, ["AR", "CC"], params={"AR": {"order": 2}, "CC": {"order": 2}})
    np.testing.assert_allclose(out["AR"][0, 0], [a1, a2], atol=0.02)
    ar = out["AR"][0, 0]
    np.testing.assert_allclose(out["CC"][0, 0], [ar[0], ar[1] + 0.5 * ar[0] ** 2], rtol=1e-12)


def test_ar_matches_yule_walker_solve():
    from scipy.linalg import solve_toeplitz

    x = np.random.default_rng(5).standard_normal(300)
    r = np.array([np.dot(x[: len(x) - k], x[k:]) for k in range(7)])
    expected = solve_toeplitz(r[:6], r[1:7])
    got = _one(x, "AR", params={"AR": {"order": 6}})["AR"][0, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_spectral_by_hand():
    n = 200
    x = np.cos(2 * np.pi * 10 * np.arange(n) / n)  # bin 10 exactly
    out = _one(x, ["MNF", "PAP", "MNP", "SM", "DFTR"], fs=1000.0)
    assert out["MNF"][0, 0] == pytest.approx(50.0)  # bin 10 at 1000 / 200 Hz per bin
    assert out["PAP"][0, 0] == pytest.approx((n / 2) ** 2)
    assert out["MNP"][0, 0] == pytest.approx((n / 2) ** 2 / (n // 2 + 1))
    assert out["SM"][0, 0] == pytest.approx(50.0**2 * (n / 2) ** 2)
    bands = out["DFTR"][0, 0]
    assert bands.shape == (6,)
    assert bands.sum() == pytest.approx((n / 2) ** 2)  # the default bands cover 0..fs/2
    assert bands[0] == pytest.approx((n / 2) ** 2)  # 50 Hz is in the first band (0..83.3)


def test_dftr_custom_bands():
    x = np.cos(2 * np.pi * 10 * np.arange(200) / 200)
    out = _one(x, "DFTR", fs=1000.0, params={"DFTR": {"bands": [(0, 50), (50, 100)]}})
    assert out["DFTR"][0, 0].tolist() == pytest.approx([0.0, 100.0**2])  # 50 Hz opens band 2


def test_phasor_features():
    # two channels: phasors at 0 and π, so D = A_0 + A_1; a constant window has RMS(Δx) = 0
    x = np.stack([np.full(10, 3.0), np.full(10, 4.0)])[None]
    out = extract(x, ["RMSPHASOR", "WLPHASOR"], fs=FS)
    assert out["RMSPHASOR"].shape == (1, 2, 1)  # (windows, [ln D, ln D/D'], pairs)
    assert out["RMSPHASOR"][0, :, 0].tolist() == pytest.approx([math.log(7.0), math.inf])
    assert out["WLPHASOR"][0, :, 0].tolist() == [-math.inf, -math.inf]  # D = 0, 0/0 = 0
    # four unit channels: pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) at 90°, 180°, 270°, ...
    t = np.arange(10.0)
    four = np.stack([np.where(t % 2 == 0, 1.0, -1.0)] * 4)[None]  # RMS 1, RMS(Δx) 2
    got = extract(four, "RMSPHASOR", fs=FS)["RMSPHASOR"][0]
    chords = np.array([math.sqrt(2), 2.0, math.sqrt(2), math.sqrt(2), 2.0, math.sqrt(2)])
    np.testing.assert_allclose(got[0], np.log(chords), rtol=1e-12)
    np.testing.assert_allclose(got[1], np.log(0.5), rtol=1e-12)  # D' = 2 D
    plan = FeaturePlan("RMSPHASOR", fs=FS, n_channels=3, size=10, channel_names=["a", "b", "c"])
    assert plan.columns == [
        "RMSPHASOR_a_b", "RMSPHASOR_a_c", "RMSPHASOR_b_c",
        "RMSPHASOR_a_b_ratio", "RMSPHASOR_a_c_ratio", "RMSPHASOR_b_c_ratio",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="RMSPHASOR compares pairs of channels"):
        extract(np.ones((1, 1, 10)), "RMSPHASOR", fs=FS)


def test_entropy_by_hand():
    periodic = np.tile([1.0, 2.0], 10)
    out = _one(periodic, ["SAMPEN", "FUZZYEN"])
    assert out["SAMPEN"][0, 0] == 0.0  # every template repeats exactly
    assert out["FUZZYEN"][0, 0] == pytest.approx(0.0, abs=1e-12)
    # a ramp: no two templates are within r = 0.1 std = 0.58 (steps of 1 > r)
    ramp = _one(np.arange(20.0), "SAMPEN", params={"SAMPEN": {"tolerance": 0.1}})
    assert ramp["SAMPEN"][0, 0] == math.inf


def test_wavelet_energy_sums_match_pywt():
    import pywt

    x = np.random.default_rng(2).standard_normal(256)
    out = _one(x, ["WENG", "WENT"], params={"WENG": {"level": 3}, "WENT": {"level": 3}})
    coefs = pywt.wavedec(x, "sym8", level=3)
    np.testing.assert_allclose(out["WENG"][0, 0], [np.sum(c**2) for c in coefs], rtol=1e-10)
    p = np.array([np.sum(c**2) for c in coefs])
    p /= p.sum()
    assert out["WENT"][0, 0] == pytest.approx(-np.sum(p * np.log(p)))


def _tdpsd_constant(c, n):
    # a constant window c: stage one m̃0 = (sqrt(n c²) / (n-1))^λ / λ, m̃2 = m̃4 = 0, so
    # a = (ln m̃0, ln m̃0, ln m̃0, ln 1, ln 0, ln(0/0 = 0)); stage two alike with ln(c² + ε)
    a = math.log((math.sqrt(n) * abs(c) / (n - 1)) ** 0.1 / 0.1)
    b = math.log((math.sqrt(n) * abs(math.log(c * c + 2.0**-52)) / (n - 1)) ** 0.1 / 0.1)
    f = -2 * a * b / (a * a + b * b)
    # SPARSI: a = b = 0 (0/0 = 0); IRF, WLF: a = b = -inf, which count as -1, -1: f = -1
    return {"M0": f, "M2": f, "M4": f, "SPARSI": 0.0, "IRF": -1.0, "WLF": -1.0}


CONSTANT_EXPECTED = {
    "MAV": 2.0, "IAV": 20.0, "RMS": 2.0, "VAR": 40.0 / 9.0, "MEAN": -2.0, "MPK": -2.0,
    "LD": 2.0, "TM": 8.0, "ISD": 40.0, "MLK": math.log(20.0) / 10, "MSR": math.sqrt(2.0),
    "LS": 0.0, "WL": 0.0, "MFL": -math.inf, "MAVFD": 0.0, "DASDV": 0.0, "MDIFF": 0.0,
    "MZP": 0.0, "COR": 0.0, "WAMP": 0.0, "SSC": 0.0, "ZC": 0.0, "ACT": 0.0, "MOB": 0.0,
    "COMP": 0.0, **_tdpsd_constant(-2.0, 10), "MNF": 0.0, "MDF": 0.0, "SKEW": 0.0, "KURT": 0.0,
    "SAMPEN": 0.0, "FUZZYEN": 0.0,
}  # fmt: skip


def test_constant_windows_have_defined_values():
    x = np.full(10, -2.0)
    out = _one(x, list(CONSTANT_EXPECTED), fs=100.0)
    for code, value in CONSTANT_EXPECTED.items():
        assert out[code][0, 0] == pytest.approx(value), code
    codes = [c for c in FEATURES if c not in ("WENG", "WV", "WWL", "WENT")]
    zeros = extract(np.zeros((1, 2, 40)), codes, fs=FS)
    for code, values in zeros.items():
        assert not np.isnan(values).any(), code  # zero variance: defined outputs, never NaN
    # an all-zero window: every stage-one value is -inf; stage two (constant ln ε) is
    # finite for M0, M2, M4, SPARSI (f = 0) and -inf for IRF, WLF (f = -1)
    for code, value in {"M0": 0.0, "M2": 0.0, "M4": 0.0, "SPARSI": 0.0, "IRF": -1.0,
                        "WLF": -1.0}.items():  # fmt: skip
        assert zeros[code][0].tolist() == [value, value], code


def test_nan_window_gives_nan_for_that_channel_only():
    data = np.random.default_rng(1).standard_normal((100, 3))
    data[30, 1] = np.nan
    w = windows(data, 20, 10)
    out = extract(w, ["MAV", "AR", "MNF", "RMSPHASOR", "M0"], fs=FS)
    assert np.isnan(out["MAV"][2:4, 1]).all()  # windows 2 (20..39) and 3 (30..49) hold sample 30
    assert not np.isnan(out["MAV"][:, [0, 2]]).any()
    assert not np.isnan(out["MAV"][[0, 1, 4], 1]).any()
    assert np.isnan(out["AR"][2, 1]).all() and np.isnan(out["MNF"][3, 1])
    assert np.isnan(out["M0"][2:4, 1]).all() and not np.isnan(out["M0"][2:4, [0, 2]]).any()
    # phasor pairs (0,1) (0,2) (1,2): those touching channel 1 are NaN, (0,2) is not
    assert np.isnan(out["RMSPHASOR"][2][:, [0, 2]]).all()
    assert not np.isnan(out["RMSPHASOR"][2][:, 1]).any()


def test_groups_expand():
    out = extract(np.random.default_rng(0).standard_normal((2, 2, 50)), "COMB", fs=FS)
    assert list(out) == ["WL", "SSC", "LD", "AR"]
    assert out["AR"].shape == (2, 2, 9)  # COMB uses AR of order 9
    assert GROUPS["LS9"] == ("LS", "MFL", "MSR", "WAMP", "ZC", "RMS", "IAV", "DASDV", "VAR")
    plan = FeaturePlan(["TDAR", "HTD"], fs=FS, n_channels=1, size=50)
    assert plan.codes == ("MAV", "ZC", "SSC", "WL", "AR")


def test_float32_and_float64_agree():
    data = np.random.default_rng(4).standard_normal((400, 2)).astype(np.float32)
    a = extract(windows(data, 100, 50), "TDPSD", fs=FS)
    b = extract(windows(data.astype(np.float64), 100, 50), "TDPSD", fs=FS)
    for code in a:
        np.testing.assert_array_equal(a[code], b[code])
