"""moveo.emg.metrics: every metric on hand-worked cases, LibEMG 2.0.3's numbers, edge cases.

Hand-worked cases state the counts behind each number. The LibEMG values were
observed by running ``libemg.offline_metrics.OfflineMetrics.extract_offline_metrics``
(LibEMG 2.0.3, in a throwaway venv) on the arrays the seeded generator below
produces; they are recorded here as literals.
"""

from __future__ import annotations

import numpy as np
import pytest

from moveo.emg import metrics as M


# --------------------------------------------------------------------------- classification
def test_accuracy_ignores_rejected_windows():
    # 6 windows, 1 rejected; 4 of the other 5 correct
    y = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 2, -1]
    assert M.accuracy(y, p) == pytest.approx(4 / 5)
    # without rejection the -1 is just a wrong class: 4 of 6
    assert M.accuracy(y, p, reject=None) == pytest.approx(4 / 6)
    assert np.isnan(M.accuracy([1, 2], [-1, -1]))


def test_active_error_rate_drops_no_motion_decisions():
    y = [0, 0, 0, 1, 1, 2, 2, 2]
    p = [0, 1, 0, 1, 0, 2, 1, -1]
    # rejected: index 7; predicted no-motion (0): indices 0, 2, 4
    # active decisions: 1 (y=0 wrong), 3 (right), 5 (right), 6 (y=2 wrong) -> 2/4
    assert M.active_error_rate(y, p, no_motion=0) == 0.5
    # with rest numbered 2 instead: active = 0,1,2,3,4,6 -> wrong at 1, 4, 6 -> 3/6
    assert M.active_error_rate(y, p, no_motion=2) == 0.5
    assert M.active_error_rate([0, 1, 1], [0, 1, 1], no_motion=0) == 0.0
    assert np.isnan(M.active_error_rate([1, 1], [0, -1], no_motion=0))


def test_instability_counts_extra_changes():
    y = [1, 1, 1, 1, 2, 2, 2, 2]
    # truth changes once; prediction changes 1->2, 2->1, 1->2 = 3 -> (3 - 1) / 8
    assert M.instability(y, [1, 2, 1, 1, 2, 2, 2, 2]) == 0.25
    # fewer changes than the truth clips at 0
    assert M.instability(y, [1] * 8) == 0.0
    # a rejection is removed first: [1, 1, 1, 2, 2, 2] has one change, as the truth
    assert M.instability([1, 1, 1, 1, 2, 2, 2], [1, 1, -1, 1, 2, 2, 2]) == 0.0
    # ... unless rejections are kept as decisions: 1->-1->1->2 = 3 changes, (3 - 1) / 7
    assert M.instability([1, 1, 1, 1, 2, 2, 2], [1, 1, -1, 1, 2, 2, 2],
                         reject=None) == pytest.approx(2 / 7)


def test_rejection_rate():
    assert M.rejection_rate([1, -1, 2, -1]) == 0.5
    assert M.rejection_rate([1, 99, 2, 3], reject=99) == 0.25
    assert np.isnan(M.rejection_rate([]))


def test_confusion_matrix_rows_true_columns_predicted():
    y = [0, 0, 0, 1, 1, 2]
    p = [0, 1, -1, 1, 1, 0]
    cm = M.confusion_matrix(y, p)
    # rejected window (index 2) not counted
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    assert cm.dtype == np.int64
    # classes default to those of y_true: a predicted class 3 is not a column
    np.testing.assert_array_equal(M.confusion_matrix([0, 1], [3, 1]), [[0, 0], [0, 1]])
    np.testing.assert_allclose(M.confusion_matrix(y, p, normalize="true")[0], [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(M.confusion_matrix(y, p, labels=[2, 0]), [[0, 1], [0, 1]])


def test_class_scores_hand_worked():
    y = [0, 0, 0, 1, 1, 2]
    p = [0, 0, 1, 1, 2, 2]
    s = M.class_scores(y, p)
    # class 0: TP 2, FP 0, FN 1; class 1: TP 1, FP 1, FN 1; class 2: TP 1, FP 1, FN 0
    np.testing.assert_allclose(s["precision"], [1.0, 0.5, 0.5])
    np.testing.assert_allclose(s["recall"], [2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(s["f1"], [0.8, 0.5, 2 / 3])
    np.testing.assert_array_equal(s["support"], [3, 2, 1])
    np.testing.assert_array_equal(s["labels"], [0, 1, 2])
    # support-weighted averages (LibEMG) and macro averages
    assert M.precision(y, p) == pytest.approx((3 * 1.0 + 2 * 0.5 + 1 * 0.5) / 6)
    assert M.recall(y, p) == pytest.approx(M.accuracy(y, p))
    assert M.f1(y, p) == pytest.approx((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6)
    assert M.precision(y, p, average="macro") == pytest.approx(2 / 3)
    # a class never predicted: precision 0 (not NaN)
    assert M.class_scores([0, 1], [0, 0])["precision"].tolist() == [0.5, 0.0]
    with pytest.raises(ValueError, match="average"):
        M.precision(y, p, average="micro")


def test_classification_metrics_match_libemg_203():
    rng = np.random.default_rng(5)
    y = np.repeat(rng.integers(0, 4, 30), 7)
    p = y.copy()
    flip = rng.random(y.size) < 0.3
    p[flip] = rng.integers(-1, 4, flip.sum())
    out = M.classification_metrics(y, p, no_motion=0)
    # LibEMG 2.0.3, extract_offline_metrics(..., null_label=0)
    assert out["CA"] == pytest.approx(0.8144329896907216, rel=1e-12)
    assert out["AER"] == pytest.approx(0.18181818181818177, rel=1e-12)
    assert out["INS"] == pytest.approx(0.25257731958762886, rel=1e-12)
    assert out["REJ_RATE"] == pytest.approx(0.0761904761904762, rel=1e-12)
    assert out["RECALL"] == pytest.approx(0.8144329896907216, rel=1e-12)
    assert out["PREC"] == pytest.approx(0.8197111750902905, rel=1e-12)
    assert out["F1"] == pytest.approx(0.8148695547740052, rel=1e-12)
    assert out["CONF_MAT"].sum() == round(y.size * (1 - out["REJ_RATE"]))
    assert "AER" not in M.classification_metrics(y, p)
    with pytest.raises(ValueError, match="unknown classification metrics"):
        M.classification_metrics(y, p, metrics=["CA", "XX"])


def test_classification_shape_errors():
    with pytest.raises(ValueError, match="same length"):
        M.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="1-D"):
        M.accuracy([[0, 1]], [[0, 1]])


# --------------------------------------------------------------------------- regression
def test_regression_hand_worked_one_target():
    y = np.array([0.0, 2.0, 4.0, 6.0])
    p = np.array([1.0, 2.0, 3.0, 8.0])
    # errors 1, 0, -1, 2 -> squares 1, 0, 1, 4
    assert M.mse(y, p) == 1.5
    assert M.rmse(y, p) == pytest.approx(np.sqrt(1.5))
    assert M.mae(y, p) == 1.0
    assert M.nrmse(y, p) == pytest.approx(np.sqrt(1.5) / 6.0)
    # mean 3: total sum of squares 9 + 1 + 1 + 9 = 20, residual 6
    assert M.r2(y, p) == pytest.approx(1 - 6 / 20)
    # |e| / max(|y|, eps): 1/eps (y = 0), 0, 1/4, 2/6
    eps = np.finfo(np.float64).eps
    assert M.mape(y, p) == pytest.approx((1 / eps + 0 + 0.25 + 1 / 3) / 4)
    assert M.mape([1.0, 2.0], [1.5, 1.0]) == 0.5
    assert isinstance(M.r2(y, p), float)


def test_regression_per_target_and_average():
    y = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 3.0]])
    p = np.array([[0.0, 2.0], [2.0, 1.0], [5.0, 3.0]])
    np.testing.assert_allclose(M.mse(y, p), [1 / 3, 1 / 3])
    np.testing.assert_allclose(M.mae(y, p), [1 / 3, 1 / 3])
    np.testing.assert_allclose(M.nrmse(y, p), [np.sqrt(1 / 3) / 4, np.sqrt(1 / 3) / 2])
    # target 0: mean 2, SST 8, SSR 1; target 1: mean 5/3, SST 8/3, SSR 1
    np.testing.assert_allclose(M.r2(y, p), [1 - 1 / 8, 1 - 3 / 8])
    assert M.r2(y, p, multioutput="uniform_average") == pytest.approx(0.75)
    out = M.regression_metrics(y, p, metrics=["R2", "MSE"])
    assert list(out) == ["R2", "MSE"]


def test_regression_constant_target():
    # NRMSE is undefined (range 0): NaN; R² follows sklearn (1 if perfect, else 0)
    assert np.isnan(M.nrmse([1.0, 1.0], [1.0, 2.0]))
    assert M.r2([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert M.r2([1.0, 1.0], [1.0, 2.0]) == 0.0


def test_regression_metrics_match_libemg_203():
    rng = np.random.default_rng(5)
    # consume the classification draws of the LibEMG script first
    y = np.repeat(rng.integers(0, 4, 30), 7)
    flip = rng.random(y.size) < 0.3
    rng.integers(-1, 4, flip.sum())
    yt = rng.standard_normal((200, 3))
    yp = yt + 0.3 * rng.standard_normal((200, 3))
    out = M.regression_metrics(yt, yp)
    expected = {  # LibEMG 2.0.3, extract_offline_metrics on (yt, yp)
        "R2": [0.9265629679082298, 0.9141451124968086, 0.9108277311690803],
        "MSE": [0.07771724173430436, 0.0801281018286602, 0.08444028547435371],
        "RMSE": [0.27877812276845604, 0.2830690760727145, 0.2905861068157831],
        "NRMSE": [0.061246502575741615, 0.04710430761604974, 0.04543621518768461],
        "MAE": [0.21735012632914116, 0.22343400402409508, 0.2341800258425039],
        "MAPE": [0.7668261809813554, 0.9341395694929688, 0.9258247302649875],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(out[name], values, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("fn", [M.r2, M.mse, M.rmse, M.nrmse, M.mae, M.mape])
def test_regression_errors(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn([0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="no samples"):
        fn([], [])
    with pytest.raises(ValueError, match="multioutput"):
        fn([0.0, 1.0], [0.0, 1.0], multioutput="variance_weighted")
