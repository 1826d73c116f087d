"""moveo gives LibEMG 2.0.3's numbers for the codes that follow it, without LibEMG installed.

The expected values below were observed from LibEMG 2.0.3 (``pip install libemg==2.0.3``
in a throwaway Python 3.11 venv, never a moveo dependency):
``FeatureExtractor().extract_features(codes, w)`` with all parameters at their
defaults, on the deterministic window ``w = _window().T[None]`` built below (3
channels x 200 samples, float64, about 1 mV). They are literal numbers: CI checks
the agreement on every run. ``benchmarks/libemg_compare.py values`` repeats the
comparison for every code on 8 channels x 2 s of synthetic EMG when LibEMG is at hand.
"""

import numpy as np
import pytest

from moveo.emg import extract

LIBEMG = {
    # TD-PSD, the published two-stage form (moveo agrees to ~1e-12, LibEMG's own rounding)
    "M0": [-0.8332292695941279, -0.8319722826449706, -0.8325720431064587],
    "M2": [-0.8813497725313264, 0.7066728562412534, -0.04554038474237829],
    "M4": [-0.866986808145756, -0.9374794324737435, -0.9009718439205489],
    "SPARSI": [-0.8164429127352291, -0.7847386004995074, -0.8008933629097046],
    "IRF": [-0.38944380896698344, -0.29643282124505066, -0.3385079268705719],
    "WLF": [-0.9972431227792483, -0.9946263463815844, -0.9955475462903597],
    # the ITD codes and MZP as LibEMG defines them
    "ISD": [2.6532466621295642e-05, 2.4565566139529502e-05, 2.52963468798751e-05],
    "COR": [12243.605722553379, 13746.964639496582, 13240.777129391505],
    "MDIFF": [1.5245944090525832e-07, 1.686235192817944e-07, 1.6054263446671108e-07],
    "MLK": [-0.014099739027807206, -0.01419847616030943, -0.014121914626040542],
    "MZP": [0.00039046054974255505, 0.0004106379418439002, 0.00040067771895466197],
    # LibEMG's conventions: Pearson kurtosis, signed maximum
    "KURT": [2.309930762755716, 2.2490591600632217, 2.236326493160339],
    "MPK": [0.0007813895495580556, 0.0007190346725354379, 0.0007238575530441607],
    # codes that always agreed, and WAMP at LibEMG's default threshold 2e-3
    "MAV": [0.0002980452694442301, 0.00029221737473957634, 0.0002967263300032279],
    "LS": [0.00020627776661185816, 0.0002017499753702397, 0.00020385136737823722],
    "WAMP": [0.0, 0.0, 0.0],
}
# LibEMG's phasor pairs (0,1) (0,2) (1,2): ln D, then ln(D / D'). LibEMG builds the
# unit phasors in complex64, so it is itself only good to ~1e-7 relative here.
LIBEMG_PAIRS = {
    "RMSPHASOR": [
        -7.387431948129935, -7.380255703735429, -7.399570604926993,
        -0.11667624138212934, -0.0969109274323626, -0.1414075849011705,
    ],
    "WLPHASOR": [
        -2.180965713495024, -2.193275068149387, -2.1669270439437254,
        -0.4714737631755521, -0.4657592993474372, -0.4661900889725707,
    ],
}  # fmt: skip


def _window() -> np.ndarray:
    """(200, 3) float64: an integer hash (noise-like, no exact zeros) plus a slow sine."""
    i = np.arange(200)[:, None]
    c = np.arange(3)[None, :]
    u = (((i * 7 + c * 13 + 1) ** 2 * 2654435761) % 1000003) / 1000003.0 - 0.5
    return 1e-3 * (u + 0.3 * np.sin(0.05 * i * (c + 1)))


@pytest.mark.parametrize("code", list(LIBEMG))
def test_matches_libemg(code):
    got = extract(_window().T[None], code, fs=2000.0)[code]
    np.testing.assert_allclose(got[0], LIBEMG[code], rtol=1e-9, atol=0.0, err_msg=code)


@pytest.mark.parametrize("code", list(LIBEMG_PAIRS))
def test_phasor_pairs_match_libemg(code):
    got = extract(_window().T[None], code, fs=2000.0)[code]
    assert got.shape == (1, 2, 3)
    # row-major over the (2, n_pairs) block is LibEMG's column order
    np.testing.assert_allclose(got[0].ravel(), LIBEMG_PAIRS[code], rtol=1e-6, err_msg=code)
