"""Offline performance metrics for EMG classifiers and regressors.

The definitions follow LibEMG 2.0's ``OfflineMetrics``, so that numbers
computed by a user moving over stay the same (the tests compare with values
observed from LibEMG 2.0.3); ``sklearn.metrics`` computes every metric it has.
Where LibEMG returns a number for an undefined case this module says so and
returns NaN instead (see each function).

Classification (``y_true`` and ``y_pred`` are 1-D label arrays, one per window in
time order; a prediction equal to ``reject`` -- default ``-1``, what
:class:`~moveo.realtime.outputs.RejectBelow` writes -- is a *rejected* window):

* :func:`accuracy` -- CA: ``#{ŷ_i = y_i} / n`` over non-rejected windows;
* :func:`active_error_rate` -- AER: ``1 - CA`` over the windows whose
  prediction is neither the no-motion class nor rejected;
* :func:`instability` -- INS: ``max(0, (#{ŷ_i ≠ ŷ_{i-1}} - #{y_i ≠ y_{i-1}}) / n)``;
* :func:`rejection_rate` -- REJ_RATE: ``#{ŷ_i = reject} / n`` over *all* windows;
* :func:`confusion_matrix` -- ``C[i, j] = #{y = c_i, ŷ = c_j}`` (rows true,
  columns predicted);
* :func:`class_scores` -- per-class precision ``TP/(TP+FP)``, recall
  ``TP/(TP+FN)``, F1 ``2PR/(P+R)`` and support;
* :func:`precision`, :func:`recall`, :func:`f1` -- their support-weighted
  (LibEMG) or macro averages.

Regression (``y_true`` and ``y_pred`` of shape (n,) or (n, n_targets); 1-D
inputs give a float, 2-D inputs one value per target (degree of freedom),
``multioutput="uniform_average"`` their mean):

* :func:`r2` -- ``1 - Σ(y - ŷ)² / Σ(y - ȳ)²``;
* :func:`mse` -- ``(1/n) Σ (y - ŷ)²``; :func:`rmse` -- ``sqrt(MSE)``;
* :func:`nrmse` -- ``RMSE / (max y - min y)``;
* :func:`mae` -- ``(1/n) Σ |y - ŷ|``;
* :func:`mape` -- ``(1/n) Σ |y - ŷ| / max(|y|, eps)`` (a fraction, not per cent).

:func:`classification_metrics` and :func:`regression_metrics` compute several at
once into a dict keyed by LibEMG's names (``"CA"``, ``"AER"``, ..., ``"R2"``).

Examples
--------
>>> import numpy as np
>>> from moveo.emg import metrics
>>> y = np.array([0, 0, 1, 1, 2, 2])
>>> p = np.array([0, 1, 1, 1, 2, -1])
>>> metrics.accuracy(y, p), metrics.rejection_rate(p)
(0.8, 0.16666666666666666)
>>> metrics.active_error_rate(y, p, no_motion=0)
0.25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "accuracy",
    "active_error_rate",
    "class_scores",
    "classification_metrics",
    "confusion_matrix",
    "f1",
    "instability",
    "mae",
    "mape",
    "mse",
    "nrmse",
    "precision",
    "r2",
    "recall",
    "regression_metrics",
    "rejection_rate",
    "rmse",
]

Average = Literal["weighted", "macro"]
MultiOutput = Literal["raw_values", "uniform_average"]

CLASSIFICATION_METRICS = ("CA", "AER", "INS", "REJ_RATE", "CONF_MAT", "RECALL", "PREC", "F1")
REGRESSION_METRICS = ("R2", "MSE", "RMSE", "NRMSE", "MAE", "MAPE")


# --------------------------------------------------------------------------- helpers
def _labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D label arrays, got shapes {t.shape} and {p.shape}"
        )
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}"
        )
    return t, p


def _kept(t: np.ndarray, p: np.ndarray, reject: Any) -> tuple[np.ndarray, np.ndarray]:
    """Drop rejected windows (``p == reject``); ``reject=None`` keeps all."""
    if reject is None:
        return t, p
    keep = p != reject
    return t[keep], p[keep]


def _class_list(t: np.ndarray, labels: Sequence[Any] | None) -> np.ndarray:
    return np.unique(t) if labels is None else np.asarray(list(labels))


# --------------------------------------------------------------------------- classification
def accuracy(y_true: Any, y_pred: Any, *, reject: Any = -1) -> float:
    """Classification accuracy (CA).

    ``CA = #{i : ŷ_i = y_i} / n`` over the windows that were not rejected
    (``ŷ_i != reject``); ``sklearn.metrics.accuracy_score`` computes it.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
        True and predicted labels.
    reject : Any, default -1
        Prediction value of a rejected window (None: no rejection).

    Returns
    -------
    float
        In [0, 1]; NaN when no window is left (LibEMG returns 1.0 then).

    Examples
    --------
    >>> accuracy([1, 1, 2, 2], [1, 2, 2, -1])
    0.6666666666666666
    """
    from sklearn.metrics import accuracy_score

    t, p = _kept(*_labels(y_true, y_pred), reject)
    if t.size == 0:
        return float("nan")
    return float(accuracy_score(t, p))


def active_error_rate(
    y_true: Any, y_pred: Any, *, no_motion: Any, reject: Any = -1
) -> float:
    """Active error rate (AER): the error rate of the active decisions.

    The windows *predicted* as the no-motion class (and rejected windows) are
    removed; AER is the error rate of the rest::

        A   = {i : ŷ_i ≠ no_motion and ŷ_i ≠ reject}
        AER = #{i ∈ A : ŷ_i ≠ y_i} / #A

    An active decision moves the device, so AER counts the wrong movements
    (including motions performed when the user rests, ``y_i = no_motion``) and
    ignores the windows the controller left still. This is LibEMG's
    ``get_AER(y_true, y_pred, null_class)``.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
        True and predicted labels.
    no_motion : Any
        Label of the no-motion (rest) class, LibEMG's ``null_label``. Required:
        datasets number rest differently (0 in moveo's synthetic source, 2 in
        some LibEMG datasets).
    reject : Any, default -1
        Prediction value of a rejected window (None: no rejection).

    Returns
    -------
    float
        In [0, 1]; NaN when every window was predicted as no motion or
        rejected (LibEMG returns 0.0 then).

    Examples
    --------
    >>> # rest predicted twice (ignored); 1 of the 3 active decisions is wrong
    >>> active_error_rate([0, 0, 1, 1, 2], [0, 1, 1, 0, 2], no_motion=0)
    0.3333333333333333
    """
    t, p = _kept(*_labels(y_true, y_pred), reject)
    active = p != no_motion
    if not active.any():
        return float("nan")
    return float(np.mean(p[active] != t[active]))


def instability(y_true: Any, y_pred: Any, *, reject: Any = -1) -> float:
    """Instability (INS): decision changes beyond those of the ground truth.

    With the rejected windows removed (the remaining ``n`` windows in order)::

        INS = max(0, (#{i : ŷ_i ≠ ŷ_{i-1}} - #{i : y_i ≠ y_{i-1}}) / n)

    A stable controller changes its decision only when the user changes
    movement; extra flickers raise INS. Note the denominator is ``n`` (the
    number of decisions, as in LibEMG), not ``n - 1`` transitions.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
        True and predicted labels, in time order.
    reject : Any, default -1
        Prediction value of a rejected window, removed first (as LibEMG's
        ``extract_offline_metrics`` does; None: keep them as a decision).

    Returns
    -------
    float
        ``>= 0``; NaN when no window is left.

    Examples
    --------
    >>> # truth changes once, the decision 3 times: (3 - 1) / 6
    >>> instability([1, 1, 1, 2, 2, 2], [1, 2, 1, 2, 2, 2])
    0.3333333333333333
    """
    t, p = _kept(*_labels(y_true, y_pred), reject)
    if t.size == 0:
        return float("nan")
    changes_pred = np.count_nonzero(p[1:] != p[:-1])
    changes_true = np.count_nonzero(t[1:] != t[:-1])
    return max(0.0, float(changes_pred - changes_true) / t.size)


def rejection_rate(y_pred: Any, *, reject: Any = -1) -> float:
    """Rejection rate (REJ_RATE): the fraction of rejected windows.

    ``REJ_RATE = #{i : ŷ_i = reject} / n`` over all ``n`` windows.

    Parameters
    ----------
    y_pred : array of shape (n,)
        Predicted labels.
    reject : Any, default -1
        Prediction value of a rejected window.

    Returns
    -------
    float
        In [0, 1]; NaN for no windows.

    Examples
    --------
    >>> rejection_rate([1, -1, 2, -1])
    0.5
    """
    p = np.asarray(y_pred)
    if p.ndim != 1:
        raise ValueError(f"y_pred must be a 1-D label array, got shape {p.shape}")
    if p.size == 0:
        return float("nan")
    return float(np.mean(p == reject))


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    reject: Any = -1,
    normalize: Literal["true", "pred", "all"] | None = None,
) -> np.ndarray:
    """Confusion matrix: rows are true classes, columns predicted classes.

    ``C[i, j] = #{k : y_k = c_i and ŷ_k = c_j}`` over the non-rejected
    windows, with classes ``c`` = ``labels`` (default: the sorted classes of
    ``y_true``, as LibEMG; predictions of other classes are not counted).
    ``sklearn.metrics.confusion_matrix`` computes it.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
        True and predicted labels.
    labels : sequence, optional
        Classes, in row/column order.
    reject : Any, default -1
        Prediction value of a rejected window (None: no rejection).
    normalize : {"true", "pred", "all"}, optional
        Divide by row sums, column sums or the total (sklearn's option).

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        int64 counts, or float64 when normalised.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1]).tolist()
    [[1, 1], [0, 2]]
    """
    from sklearn.metrics import confusion_matrix as sk_confusion

    t, p = _kept(*_labels(y_true, y_pred), reject)
    classes = _class_list(t, labels)
    if classes.size == 0:
        return np.zeros((0, 0), dtype=np.int64)
    out = sk_confusion(t, p, labels=classes, normalize=normalize)
    return out if normalize else out.astype(np.int64)


def class_scores(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    reject: Any = -1,
) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support.

    For class ``c`` over the non-rejected windows: ``TP = #{y = c, ŷ = c}``,
    ``FP = #{y ≠ c, ŷ = c}``, ``FN = #{y = c, ŷ ≠ c}``; precision
    ``P = TP / (TP + FP)``, recall ``R = TP / (TP + FN)``,
    ``F1 = 2 P R / (P + R)``, support ``#{y = c}``. A ratio with a zero
    denominator (a class never predicted, or absent from ``y_true``) is 0, as
    ``sklearn.metrics.precision_recall_fscore_support(zero_division=0)`` gives
    (LibEMG produces NaN with a warning there).

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
        True and predicted labels.
    labels : sequence, optional
        Classes (default: the sorted classes of ``y_true``).
    reject : Any, default -1
        Prediction value of a rejected window (None: no rejection).

    Returns
    -------
    dict
        ``labels``, ``precision``, ``recall``, ``f1`` (float64) and
        ``support`` (int64), each of shape (n_classes,).

    Examples
    --------
    >>> s = class_scores([0, 0, 1, 1], [0, 1, 1, 1])
    >>> s["precision"].tolist(), s["recall"].tolist()
    ([1.0, 0.6666666666666666], [0.5, 1.0])
    """
    from sklearn.metrics import precision_recall_fscore_support

    t, p = _kept(*_labels(y_true, y_pred), reject)
    classes = _class_list(t, labels)
    if classes.size == 0:
        empty = np.empty(0)
        return {"labels": classes, "precision": empty, "recall": empty, "f1": empty,
                "support": np.empty(0, dtype=np.int64)}
    prec, rec, f, sup = precision_recall_fscore_support(
        t, p, labels=classes, average=None, zero_division=0.0
    )
    return {
        "labels": classes,
        "precision": np.asarray(prec, dtype=np.float64),
        "recall": np.asarray(rec, dtype=np.float64),
        "f1": np.asarray(f, dtype=np.float64),
        "support": np.asarray(sup, dtype=np.int64),
    }


def _averaged(name: str, y_true: Any, y_pred: Any, average: Average, reject: Any) -> float:
    if average not in ("weighted", "macro"):
        raise ValueError(f"average must be 'weighted' or 'macro', got {average!r}")
    s = class_scores(y_true, y_pred, reject=reject)
    if s["support"].sum() == 0:
        return float("nan")
    weights = s["support"] if average == "weighted" else None
    return float(np.average(s[name], weights=weights))


def precision(y_true: Any, y_pred: Any, *, average: Average = "weighted",
              reject: Any = -1) -> float:
    """Precision averaged over the classes of ``y_true`` (LibEMG's PREC).

    ``Σ_c w_c P_c`` with ``w_c = support_c / n`` (``average="weighted"``, LibEMG)
    or ``w_c = 1 / n_classes`` (``"macro"``); ``P_c`` from :func:`class_scores`.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
    average : {"weighted", "macro"}, default "weighted"
    reject : Any, default -1

    Returns
    -------
    float

    Examples
    --------
    >>> precision([0, 0, 1, 1], [0, 1, 1, 1])
    0.8333333333333333
    """
    return _averaged("precision", y_true, y_pred, average, reject)


def recall(y_true: Any, y_pred: Any, *, average: Average = "weighted",
           reject: Any = -1) -> float:
    """Recall averaged over the classes of ``y_true`` (LibEMG's RECALL).

    ``Σ_c w_c R_c`` with the weights of :func:`precision`. The support-weighted
    recall equals the accuracy.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
    average : {"weighted", "macro"}, default "weighted"
    reject : Any, default -1

    Returns
    -------
    float

    Examples
    --------
    >>> recall([0, 0, 1, 1], [0, 1, 1, 1])
    0.75
    """
    return _averaged("recall", y_true, y_pred, average, reject)


def f1(y_true: Any, y_pred: Any, *, average: Average = "weighted",
       reject: Any = -1) -> float:
    """F1 score averaged over the classes of ``y_true`` (LibEMG's F1).

    ``Σ_c w_c F1_c`` with the weights of :func:`precision`.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
    average : {"weighted", "macro"}, default "weighted"
    reject : Any, default -1

    Returns
    -------
    float

    Examples
    --------
    >>> round(f1([0, 0, 1, 1], [0, 1, 1, 1]), 4)
    0.7333
    """
    return _averaged("f1", y_true, y_pred, average, reject)


def classification_metrics(
    y_true: Any,
    y_pred: Any,
    *,
    no_motion: Any = None,
    reject: Any = -1,
    metrics: Sequence[str] = CLASSIFICATION_METRICS,
) -> dict[str, Any]:
    """Several classification metrics at once, keyed by LibEMG's names.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
        True and predicted labels, in time order.
    no_motion : Any, optional
        Label of the no-motion class; ``"AER"`` is left out without it.
    reject : Any, default -1
        Prediction value of a rejected window.
    metrics : sequence of str
        Any of ``CA``, ``AER``, ``INS``, ``REJ_RATE``, ``CONF_MAT``, ``RECALL``,
        ``PREC``, ``F1`` (default: all).

    Returns
    -------
    dict
        Metric name -> value (``CONF_MAT`` an array; the averages are
        support-weighted as in LibEMG).

    Examples
    --------
    >>> out = classification_metrics([0, 1, 1], [0, 1, 0], no_motion=0)
    >>> round(out["CA"], 4), out["AER"], out["CONF_MAT"].tolist()
    (0.6667, 0.0, [[1, 0], [1, 1]])
    """
    funcs = {
        "CA": lambda: accuracy(y_true, y_pred, reject=reject),
        "AER": lambda: active_error_rate(y_true, y_pred, no_motion=no_motion, reject=reject),
        "INS": lambda: instability(y_true, y_pred, reject=reject),
        "REJ_RATE": lambda: rejection_rate(y_pred, reject=reject),
        "CONF_MAT": lambda: confusion_matrix(y_true, y_pred, reject=reject),
        "RECALL": lambda: recall(y_true, y_pred, reject=reject),
        "PREC": lambda: precision(y_true, y_pred, reject=reject),
        "F1": lambda: f1(y_true, y_pred, reject=reject),
    }
    unknown = [m for m in metrics if m not in funcs]
    if unknown:
        raise ValueError(f"unknown classification metrics {unknown}; known: {list(funcs)}")
    _labels(y_true, y_pred)
    return {m: funcs[m]() for m in metrics if not (m == "AER" and no_motion is None)}


# --------------------------------------------------------------------------- regression
def _targets(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim not in (1, 2) or t.shape != p.shape:
        raise ValueError(
            "y_true and y_pred must have the same shape, (n,) or (n, n_targets); got "
            f"{t.shape} and {p.shape}"
        )
    if t.shape[0] == 0:
        raise ValueError("y_true and y_pred hold no samples")
    return t, p


def _reduce(values: np.ndarray, one_d: bool, multioutput: MultiOutput) -> Any:
    if multioutput not in ("raw_values", "uniform_average"):
        raise ValueError(
            f"multioutput must be 'raw_values' or 'uniform_average', got {multioutput!r}"
        )
    values = np.asarray(values, dtype=np.float64)
    if multioutput == "uniform_average":
        return float(np.mean(values))
    return float(values.reshape(-1)[0]) if one_d else values


def r2(y_true: Any, y_pred: Any, *, multioutput: MultiOutput = "raw_values") -> Any:
    """Coefficient of determination R², per target.

    ``R² = 1 - Σ_i (y_i - ŷ_i)² / Σ_i (y_i - ȳ)²``, computed by
    ``sklearn.metrics.r2_score``. For a constant target (zero denominator)
    sklearn's convention applies: 1.0 for a perfect prediction, else 0.0
    (LibEMG divides by zero there and returns -inf or NaN).

    Parameters
    ----------
    y_true, y_pred : array of shape (n,) or (n, n_targets)
    multioutput : {"raw_values", "uniform_average"}, default "raw_values"
        One value per target, or their mean.

    Returns
    -------
    float or ndarray of shape (n_targets,)
        A float for 1-D inputs or ``"uniform_average"``.

    Examples
    --------
    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    from sklearn.metrics import r2_score

    t, p = _targets(y_true, y_pred)
    return _reduce(r2_score(t, p, multioutput="raw_values"), t.ndim == 1, multioutput)


def mse(y_true: Any, y_pred: Any, *, multioutput: MultiOutput = "raw_values") -> Any:
    """Mean squared error ``(1/n) Σ_i (y_i - ŷ_i)²``, per target (sklearn).

    Parameters
    ----------
    y_true, y_pred : array of shape (n,) or (n, n_targets)
    multioutput : {"raw_values", "uniform_average"}, default "raw_values"

    Returns
    -------
    float or ndarray of shape (n_targets,)

    Examples
    --------
    >>> mse([0.0, 0.0], [1.0, 3.0])
    5.0
    """
    from sklearn.metrics import mean_squared_error

    t, p = _targets(y_true, y_pred)
    return _reduce(mean_squared_error(t, p, multioutput="raw_values"), t.ndim == 1, multioutput)


def rmse(y_true: Any, y_pred: Any, *, multioutput: MultiOutput = "raw_values") -> Any:
    """Root mean squared error ``sqrt((1/n) Σ_i (y_i - ŷ_i)²)``, per target (sklearn).

    Parameters
    ----------
    y_true, y_pred : array of shape (n,) or (n, n_targets)
    multioutput : {"raw_values", "uniform_average"}, default "raw_values"
        ``"uniform_average"`` averages the per-target RMSEs.

    Returns
    -------
    float or ndarray of shape (n_targets,)

    Examples
    --------
    >>> rmse([0.0, 0.0], [3.0, 4.0])
    3.5355339059327378
    """
    from sklearn.metrics import root_mean_squared_error

    t, p = _targets(y_true, y_pred)
    values = root_mean_squared_error(t, p, multioutput="raw_values")
    return _reduce(values, t.ndim == 1, multioutput)


def nrmse(y_true: Any, y_pred: Any, *, multioutput: MultiOutput = "raw_values") -> Any:
    """RMSE normalised by the range of the true values, per target.

    ``NRMSE = RMSE / (max_i y_i - min_i y_i)`` (LibEMG's definition; sklearn has
    no NRMSE). NaN for a constant target (LibEMG divides by zero there).

    Parameters
    ----------
    y_true, y_pred : array of shape (n,) or (n, n_targets)
    multioutput : {"raw_values", "uniform_average"}, default "raw_values"

    Returns
    -------
    float or ndarray of shape (n_targets,)

    Examples
    --------
    >>> nrmse([0.0, 2.0, 4.0], [1.0, 2.0, 3.0])
    0.2041241452319315
    """
    from sklearn.metrics import root_mean_squared_error

    t, p = _targets(y_true, y_pred)
    err = np.atleast_1d(root_mean_squared_error(t, p, multioutput="raw_values"))
    span = np.atleast_1d(np.ptp(t, axis=0))
    out = np.full(span.shape, np.nan)
    np.divide(err, span, out=out, where=span > 0)
    return _reduce(out, t.ndim == 1, multioutput)


def mae(y_true: Any, y_pred: Any, *, multioutput: MultiOutput = "raw_values") -> Any:
    """Mean absolute error ``(1/n) Σ_i |y_i - ŷ_i|``, per target (sklearn).

    Parameters
    ----------
    y_true, y_pred : array of shape (n,) or (n, n_targets)
    multioutput : {"raw_values", "uniform_average"}, default "raw_values"

    Returns
    -------
    float or ndarray of shape (n_targets,)

    Examples
    --------
    >>> mae([0.0, 0.0], [1.0, -3.0])
    2.0
    """
    from sklearn.metrics import mean_absolute_error

    t, p = _targets(y_true, y_pred)
    return _reduce(mean_absolute_error(t, p, multioutput="raw_values"), t.ndim == 1, multioutput)


def mape(y_true: Any, y_pred: Any, *, multioutput: MultiOutput = "raw_values") -> Any:
    """Mean absolute percentage error, as a fraction, per target (sklearn).

    ``MAPE = (1/n) Σ_i |y_i - ŷ_i| / max(|y_i|, eps)`` with ``eps`` the float64
    machine epsilon (so a zero target gives a huge, finite term), computed by
    ``sklearn.metrics.mean_absolute_percentage_error``; same as LibEMG. 0.1
    means 10 %.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,) or (n, n_targets)
    multioutput : {"raw_values", "uniform_average"}, default "raw_values"

    Returns
    -------
    float or ndarray of shape (n_targets,)

    Examples
    --------
    >>> mape([1.0, 2.0], [1.5, 1.0])
    0.5
    """
    from sklearn.metrics import mean_absolute_percentage_error

    t, p = _targets(y_true, y_pred)
    values = mean_absolute_percentage_error(t, p, multioutput="raw_values")
    return _reduce(values, t.ndim == 1, multioutput)


def regression_metrics(
    y_true: Any,
    y_pred: Any,
    *,
    metrics: Sequence[str] = REGRESSION_METRICS,
    multioutput: MultiOutput = "raw_values",
) -> dict[str, Any]:
    """Several regression metrics at once, keyed by LibEMG's names.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,) or (n, n_targets)
    metrics : sequence of str
        Any of ``R2``, ``MSE``, ``RMSE``, ``NRMSE``, ``MAE``, ``MAPE`` (default: all).
    multioutput : {"raw_values", "uniform_average"}, default "raw_values"

    Returns
    -------
    dict
        Metric name -> float or per-target array.

    Examples
    --------
    >>> regression_metrics([0.0, 2.0], [0.0, 1.0], metrics=["MSE", "MAE"])
    {'MSE': 0.5, 'MAE': 0.5}
    """
    funcs = {"R2": r2, "MSE": mse, "RMSE": rmse, "NRMSE": nrmse, "MAE": mae, "MAPE": mape}
    unknown = [m for m in metrics if m not in funcs]
    if unknown:
        raise ValueError(f"unknown regression metrics {unknown}; known: {list(funcs)}")
    return {m: funcs[m](y_true, y_pred, multioutput=multioutput) for m in metrics}
