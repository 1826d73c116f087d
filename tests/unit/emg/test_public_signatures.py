"""The public EMG names and signatures other parts of moveo (and users) rely on."""

import inspect

import numpy as np

from moveo import emg


def test_extract_signature_matches_the_contract():
    sig = inspect.signature(emg.extract)
    assert list(sig.parameters)[:4] == ["windows", "features", "fs", "params"]
    assert sig.parameters["fs"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["params"].default is None
    assert list(inspect.signature(emg.windows).parameters) == ["data", "size", "increment"]


def test_extract_by_keyword_equals_positional():
    data = np.random.default_rng(0).standard_normal((1000, 3))
    w = emg.windows(data, size=200, increment=100)
    by_kw = emg.extract(windows=w, features="HTD", fs=1000.0)
    by_pos = emg.extract(w, "HTD", fs=1000.0)
    assert by_kw.keys() == by_pos.keys() == {"MAV", "ZC", "SSC", "WL"}
    for code in by_kw:
        np.testing.assert_array_equal(by_kw[code], by_pos[code])
    frame = emg.extract_frame(windows=w, features="MAV", fs=1000.0)
    np.testing.assert_array_equal(frame["MAV_0"].to_numpy(), by_pos["MAV"][:, 0])
