"""moveo.emg.evaluation: group ids, splitters that do not leak, CV, forward selection.

The leakage test builds EMG whose signal carries no information about the
class: each cue block gets its own random channel gains and a label drawn
independently of them. Any classifier can at best guess (25 % for four
classes) on unseen blocks. A window-level split still reports near-perfect
accuracy, because every test window has an 87.5 %-overlapping neighbour in
the training set; the block split with purging reports chance.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

import moveo.emg as emg
from moveo.emg.evaluation import (
    BlockKFold,
    LeaveOneSessionOut,
    cross_validate,
    cue_blocks,
    overlapping_windows,
    select_features,
    time_blocks,
)
from moveo.realtime.training import TrainingData


# --------------------------------------------------------------------------- groups
def test_cue_blocks_hand_worked():
    assert cue_blocks([]).tolist() == []
    assert cue_blocks([3, 3, 1, 1, 3]).tolist() == [0, 0, 1, 1, 2]
    # a session change starts a block even with the same label
    assert cue_blocks([1, 1, 1, 1], sessions=["a", "a", "b", "b"]).tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="one id per window"):
        cue_blocks([1, 1], sessions=[0])


def test_time_blocks_hand_worked():
    t = [10.0, 10.4, 11.0, 12.9, 5.0, 5.5, 6.1]
    s = [0, 0, 0, 0, 1, 1, 1]
    # session 0 from 10.0: 0, 0, 1, 2; session 1 from 5.0: 0, 0, 1 -> unique ids 3, 3, 4
    assert time_blocks(t, 1.0, sessions=s).tolist() == [0, 0, 1, 2, 3, 3, 4]
    assert time_blocks([], 1.0).tolist() == []
    with pytest.raises(ValueError, match="block_s"):
        time_blocks(t, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        time_blocks([0.0, np.nan], 1.0)


def test_overlapping_windows():
    assert overlapping_windows(200, 25) == 7  # the 87.5 % case
    assert overlapping_windows(200, 50) == 3
    assert overlapping_windows(200, 201) == 0
    assert overlapping_windows(10, 3) == 3  # windows 0..9 and 9..18 share sample 9
    with pytest.raises(ValueError, match=">= 1 sample"):
        overlapping_windows(0, 1)


# --------------------------------------------------------------------------- splitters
def test_block_kfold_each_group_tested_once():
    groups = np.repeat(np.arange(7), [3, 5, 2, 4, 4, 6, 1])
    seen = np.zeros(groups.size, dtype=int)
    for train, test in BlockKFold(3).split(np.zeros(groups.size), groups=groups):
        seen[test] += 1
        assert not set(groups[train]) & set(groups[test])
        assert train.size + test.size == groups.size  # gap 0 purges nothing
    np.testing.assert_array_equal(seen, 1)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(2, 40),
    increment=st.integers(1, 40),
    block_len=st.lists(st.integers(20, 120), min_size=4, max_size=10),
    n_splits=st.integers(2, 4),
)
def test_block_kfold_purge_leaves_no_shared_sample(size, increment, block_len, n_splits):
    n_samples = sum(block_len)
    sample_block = np.repeat(np.arange(len(block_len)), block_len)
    starts = np.arange(0, n_samples - size + 1, increment)
    if starts.size < 2:
        return
    ends = starts + size - 1
    groups = sample_block[ends]  # a window belongs to the block of its last sample
    if np.unique(groups).size < n_splits:
        return
    cv = BlockKFold(n_splits, gap=overlapping_windows(size, increment))
    for train, test in cv.split(starts, groups=groups):
        # no training window may overlap any test window
        overlap = (starts[train][:, None] <= ends[test][None, :]) & (
            starts[test][None, :] <= ends[train][:, None]
        )
        assert not overlap.any()
        # and purging removes only windows that are near a test window
        kept = np.setdiff1d(np.arange(starts.size), test)
        dropped = np.setdiff1d(kept, train)
        dist = np.abs(dropped[:, None] - test[None, :]).min(axis=1) if dropped.size else []
        assert np.all(np.asarray(dist) <= cv.gap)


def test_block_kfold_stratifies_cyclic_cues():
    # 8 equal cue blocks cycling through 4 classes, 4 folds: GroupKFold hands blocks to
    # folds in turn, so blocks 0 and 4 (both class 0) land in one test fold together
    y = np.repeat(np.arange(8) % 4, 5)
    groups = np.repeat(np.arange(8), 5)
    plain = list(BlockKFold(4, stratify=False).split(y, y, groups))
    assert any(len(set(y[train])) < 4 for train, _ in plain)
    for train, test in BlockKFold(4).split(y, y, groups):  # class labels: stratified
        assert set(y[train]) == {0, 1, 2, 3}
        assert not set(groups[train]) & set(groups[test])
    # continuous targets are never stratified
    yc = y + 0.5
    folds = [t.tolist() for _, t in BlockKFold(4).split(yc, yc, groups)]
    assert folds == [t.tolist() for _, t in plain]
    with pytest.raises(ValueError, match="needs y"):
        next(BlockKFold(2, stratify=True).split(y, None, groups))


def test_block_kfold_errors():
    with pytest.raises(ValueError, match="needs groups="):
        next(BlockKFold(2).split(np.zeros(4)))
    with pytest.raises(ValueError, match="at least 3 groups"):
        next(BlockKFold(3).split(np.zeros(4), groups=[0, 0, 1, 1]))
    with pytest.raises(ValueError, match="gap"):
        BlockKFold(2, gap=-1)
    assert "gap=2" in repr(BlockKFold(2, gap=2))


def test_leave_one_session_out():
    folds = list(LeaveOneSessionOut().split(np.zeros(5), groups=[0, 0, 1, 1, 1]))
    assert [t.tolist() for _, t in folds] == [[0, 1], [2, 3, 4]]
    with pytest.raises(ValueError, match="at least 2 sessions"):
        next(LeaveOneSessionOut().split(np.zeros(3), groups=[0, 0, 0]))
    with pytest.raises(ValueError, match="needs groups="):
        next(LeaveOneSessionOut().split(np.zeros(3)))


# --------------------------------------------------------------------------- leakage
def _uninformative_blocks(n_blocks=48, block=500, n_channels=4, seed=0):
    """Cue blocks with random gains and a label independent of the signal."""
    rng = np.random.default_rng(seed)
    gains = rng.lognormal(0.0, 0.7, (n_blocks, n_channels))
    block_labels = rng.permutation(np.arange(n_blocks) % 4)
    data = rng.standard_normal((n_blocks * block, n_channels)) * np.repeat(gains, block, axis=0)
    sample_labels = np.repeat(block_labels, block)
    w = emg.windows(data, 200, 25)
    y = emg.window_labels(sample_labels, 200, 25, how="last")
    return w, y


def test_window_level_split_leaks_and_block_split_does_not():
    w, y = _uninformative_blocks()
    x = emg.extract_frame(w, "HTD", fs=1000.0).to_numpy()
    groups = cue_blocks(y)
    model = KNeighborsClassifier(n_neighbors=1)
    leaky = cross_val_score(model, x, y, cv=KFold(5, shuffle=True, random_state=0))
    honest = cross_val_score(model, x, y, groups=groups,
                             cv=BlockKFold(5, gap=overlapping_windows(200, 25)))
    # the signal says nothing about the class: chance is 0.25
    assert leaky.mean() > 0.9
    assert honest.mean() < 0.45
    assert leaky.mean() - honest.mean() > 0.5


def test_block_split_still_finds_real_information():
    # same layout, but the label now sets which channel is active: not leakage, signal
    rng = np.random.default_rng(1)
    labels = rng.permutation(np.arange(40) % 4)
    gains = 0.2 + np.eye(4)[labels] * rng.uniform(0.8, 1.5, (40, 1))
    data = rng.standard_normal((40 * 500, 4)) * np.repeat(gains, 500, axis=0)
    w = emg.windows(data, 200, 25)
    y = emg.window_labels(np.repeat(labels, 500), 200, 25, how="last")
    x = emg.extract_frame(w, "HTD", fs=1000.0).to_numpy()
    honest = cross_val_score(LinearDiscriminantAnalysis(), x, y, groups=cue_blocks(y),
                             cv=BlockKFold(5, gap=7))
    # well above chance (0.25); the misses are windows straddling a cue change (7 of 20)
    assert honest.mean() > 0.75


# --------------------------------------------------------------------------- cross_validate
def _training_data(n_sessions=2, n_blocks=12, block_windows=10, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    wins, labels, targets, times, sess = [], [], [], [], []
    for s in range(n_sessions):
        for b in range(n_blocks):
            k = b % 3
            level = rng.uniform(0.2, 1.0)
            gain = 0.1 + np.eye(3)[k] * (level if regression else 1.0)
            wins.append(rng.standard_normal((block_windows, 3, 40)) * gain[None, :, None])
            labels.append(np.full(block_windows, k))
            targets.append(np.tile(np.eye(3)[k] * level, (block_windows, 1)))
            times.append(b * block_windows * 0.01 + np.arange(block_windows) * 0.01)
            sess.append(np.full(block_windows, s))
    return TrainingData(
        {"emg": np.concatenate(wins)},
        labels=None if regression else np.concatenate(labels),
        targets=np.concatenate(targets) if regression else None,
        fs=1000.0, window_ms=40.0, hop_ms=10.0, times=np.concatenate(times),
        session_index=np.concatenate(sess), sessions=[("s", str(i)) for i in range(n_sessions)],
    )


def test_cross_validate_classifier_by_block_and_session():
    data = _training_data()
    model = make_pipeline(emg.EMGFeatures("HTD", fs=1000.0), LinearDiscriminantAnalysis())
    out = cross_validate(model, data, by="block", n_splits=4)
    assert out["test_score"].shape == (4,)
    assert out["gap"] == data.overlap == 3
    assert out["test_score"].mean() > 0.9
    loso = cross_validate(model, data, by="session", n_splits=None)
    assert loso["test_score"].shape == (2,) and loso["gap"] == 0
    np.testing.assert_array_equal(loso["groups"], data.session_index)


def test_cross_validate_regressor_by_time_with_scorers():
    data = _training_data(regression=True)
    out = cross_validate(emg.EMGRegressor("HTD", fs=1000.0), data, by="time", block_s=0.3,
                         n_splits=3, scoring={"r2": "r2", "mse": "neg_mean_squared_error"})
    assert out["test_r2"].mean() > 0.8
    assert np.all(out["test_mse"] <= 0)


def test_cross_validate_errors():
    data = _training_data()
    with pytest.raises(ValueError, match="no targets"):
        cross_validate(emg.EMGRegressor(fs=1000.0), data)
    with pytest.raises(ValueError, match="by must be"):
        cross_validate(LinearDiscriminantAnalysis(), data, by="window")
    with pytest.raises(KeyError, match="no stream"):
        cross_validate(LinearDiscriminantAnalysis(), data, stream="glove")


# --------------------------------------------------------------------------- selection
def test_select_features_ranks_planted_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(30) % 3, 10)
    groups = np.repeat(np.arange(30), 10)
    onehot = np.eye(3)[y]
    feats = {
        "noise": rng.standard_normal((300, 4)),
        # each alone tells one class from the other two (at most 2/3 right); "half" is
        # cleaner, so it goes first, and together they separate all three
        "half": onehot[:, :1] + 0.1 * rng.standard_normal((300, 1)),
        "rest": onehot[:, 1:2] + 0.3 * rng.standard_normal((300, 1)),
    }
    res = select_features(feats, y, groups=groups)
    assert res.ranking[:2] == ["half", "rest"]
    assert res.ranking[-1] == "noise"
    assert res.scores[0] < 0.7 and res.scores[1] > 0.9
    assert res.best == ["half", "rest"]
    assert res.table.shape == (3, 3)
    # row 1: "half" (column 1) is already selected
    assert np.isnan(res.table[1, 1]) and np.isfinite(res.table[1, [0, 2]]).all()
    assert res.candidates == ["noise", "half", "rest"]
    short = select_features(feats, y, groups=groups, max_features=1)
    assert short.ranking == ["half"] and short.scores[0] == res.scores[0]


def test_select_features_on_windows_and_training_data():
    data = _training_data(n_sessions=1, n_blocks=15)
    cands = ["ZC", "MAV", "TDPSD"]
    res = select_features(data, candidates=cands)
    # the classes differ in amplitude per channel: MAV alone separates them
    assert res.ranking[0] == "MAV" and res.scores[0] > 0.95
    w = data.windows["emg"]
    same = select_features(w, data.labels, cands, fs=1000.0, groups=data.groups("block"),
                           gap=data.overlap)
    assert same.ranking == res.ranking
    np.testing.assert_allclose(same.scores, res.scores)
    # the same from precomputed features (a group is one candidate)
    plans = {c: emg.FeaturePlan(c, fs=1000.0, n_channels=3, size=40) for c in cands}
    pre = select_features({c: p.transform(w) for c, p in plans.items()}, data.labels,
                          groups=data.groups("block"), cv=BlockKFold(5, gap=data.overlap))
    assert pre.ranking == res.ranking


def test_select_features_regression_default_is_ridge():
    data = _training_data(n_sessions=1, n_blocks=15, regression=True)
    res = select_features(data, candidates=["MAV", "ZC"], by="time", block_s=0.3)
    assert res.ranking[0] == "MAV" and res.scores[0] > 0.8


def test_select_features_errors():
    y = np.zeros(20, dtype=int)
    feats = {"a": np.zeros((20, 1))}
    with pytest.raises(ValueError, match="needs groups="):
        select_features(feats, y)
    with pytest.raises(ValueError, match="NaN or infinite"):
        select_features({"a": np.full((20, 1), np.nan)}, y, groups=np.arange(20))
    with pytest.raises(ValueError, match="not keys"):
        select_features(feats, y, ["b"], groups=np.arange(20))
    with pytest.raises(ValueError, match="needs fs="):
        select_features(np.zeros((20, 2, 10)), y, ["MAV"], groups=np.arange(20))
    with pytest.raises(ValueError, match="needs candidates="):
        select_features(np.zeros((20, 2, 10)), y, groups=np.arange(20), fs=100.0)
    with pytest.raises(ValueError, match="max_features"):
        select_features(feats, y, groups=np.arange(20), max_features=2)
    with pytest.raises(ValueError, match="rows"):
        select_features(feats, y[:5], groups=np.arange(20))
