"""Which kernels a feature needs (read from its imports) and the feature-driven warm-up:
names resolve to the right kernel modules, EMG codes go to the EMG warm-up, unknown names
are rejected by name.
"""

import pytest

import moveo
from moveo import _numba
from moveo.features import feature_names
from moveo.features._warm import kernel_targets, module_kernel_targets, split_features


def test_kernel_targets_follow_the_feature_modules_imports():
    assert "moveo.kernels.kinematics.speed_angvel" in kernel_targets("speed-angvel")
    # through the pair helper module (moveo.features.pairs._base) to the row search
    facing = kernel_targets("pair-facing")
    assert {"moveo.kernels.pairs.pair_facing", "moveo.kernels.pairs.pair_rows"} <= set(facing)
    assert not any("kinematics" in t or "emg" in t for t in facing)
    # a feature going through moveo.emg needs the EMG kernel modules, each of which
    # registers warm-ups (kernels/emg.py itself holds only ids and constants)
    emg = kernel_targets("emg-features")
    parts = ("onepass", "window", "sliding", "vmath", "spectral", "entropy", "wavelet")
    assert emg == sorted(f"moveo.kernels.emg_{m}" for m in parts)
    assert all(_numba._selected([t]) for t in emg)
    assert module_kernel_targets("moveo.features.base") == ()


def test_every_kernel_target_of_every_feature_is_a_warmup_target():
    for name in feature_names():
        _numba._selected(kernel_targets(name))  # raises on a target warmup cannot resolve


def test_pair_feature_selects_only_its_warmups():
    names = {fn.__name__ for fn in _numba._selected(kernel_targets("pair-facing"))
             if fn.__module__ == "moveo.kernels.pairs"}  # fmt: skip
    assert names == {"_warmup", "_warmup_facing"}


def test_split_features_separates_emg_codes():
    kernels, emg = split_features(["heading", "HTD", "MNF"])
    assert emg == ["HTD", "MNF"]
    assert "moveo.kernels.body.heading_pca" in kernels
    with pytest.raises(KeyError, match="neither a moveo feature .* nor an EMG code"):
        split_features(["no-such-feature"])


def test_warmup_features_runs_the_selected_warmups():
    # each warm-up runs once per process, so an earlier test may have run heading's
    # already: what is checked is that the selection is exactly the kernels' warm-ups
    wanted = _numba._selected(kernel_targets("heading"))
    assert wanted and all(fn.__module__.startswith("moveo.kernels.") for fn in wanted)
    assert {fn.__module__ for fn in wanted} <= {"moveo.kernels.body", "moveo.kernels.windows"}
    n = moveo.warmup_features("heading")
    assert 0 <= n <= len(wanted)
    assert moveo.warmup_features("heading") == 0  # all of them ran now
    assert moveo.warmup_features(["heading", "HTD"]) == 1  # the EMG selection counts as one
