"""scikit-learn estimators over EMG windows.

* :class:`EMGFeatures` -- the feature catalogue as a transformer.
* :class:`EMGRegressor` -- the proportional-control recipe: features → scaler →
  regressor (ridge by default, any scikit-learn regressor accepted), with a
  one-window :meth:`EMGRegressor.predict_window` for the realtime loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone, is_regressor
from sklearn.utils.validation import check_is_fitted

from moveo.emg.extraction import FeaturePlan, _as_windows

__all__ = ["EMGFeatures", "EMGRegressor"]


class EMGFeatures(TransformerMixin, BaseEstimator):
    """EMG feature extraction as a scikit-learn transformer.

    ``X`` is an array of windows of shape (n_windows, n_channels, size) (e.g.
    :func:`moveo.emg.windows`); ``transform`` returns the features as a 2-D
    array, so it drops into a :class:`sklearn.pipeline.Pipeline` before a
    classifier.

    Parameters
    ----------
    features : str or sequence of str, default "HTD"
        Feature codes and/or group names.
    fs : float, optional
        Sampling rate in Hz. Required (``fit`` raises without it).
    params : dict, optional
        Per-feature parameters, ``{"ZC": {"threshold": 0.01}}``.
    channel_names : sequence, optional
        Channel labels used in :meth:`get_feature_names_out`.

    Attributes
    ----------
    n_channels_ : int
    window_size_ : int
    plan_ : FeaturePlan
        The validated selection (its ``window`` method is the realtime path).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from moveo.emg import EMGFeatures, windows
    >>> rng = np.random.default_rng(0)
    >>> X = windows(rng.standard_normal((4000, 3)), 200, 100)
    >>> y = np.arange(X.shape[0]) % 2
    >>> model = make_pipeline(EMGFeatures("HTD", fs=1000.0), LinearDiscriminantAnalysis())
    >>> model.fit(X, y).predict(X).shape
    (39,)
    >>> EMGFeatures("HTD", fs=1000.0).fit(X).get_feature_names_out()[:2].tolist()
    ['MAV_0', 'MAV_1']
    """

    def __init__(
        self,
        features: str | Sequence[str] = "HTD",
        fs: float | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        channel_names: Sequence[Any] | None = None,
    ):
        self.features = features
        self.fs = fs
        self.params = params
        self.channel_names = channel_names

    def fit(self, X: np.ndarray, y: Any = None) -> EMGFeatures:
        """Validate the feature selection for the windows' shape.

        Parameters
        ----------
        X : ndarray of shape (n_windows, n_channels, size)
        y : ignored

        Returns
        -------
        EMGFeatures
            ``self``.
        """
        arr = _as_windows(X)
        if self.fs is None:
            raise ValueError(
                "EMGFeatures needs fs (the sampling rate in Hz): EMGFeatures(..., fs=2000.0)"
            )
        self.plan_ = FeaturePlan(
            self.features,
            fs=self.fs,
            n_channels=arr.shape[1],
            size=arr.shape[2],
            params=self.params,
            channel_names=self.channel_names,
        )
        self.n_channels_ = arr.shape[1]
        self.window_size_ = arr.shape[2]
        self.n_features_in_ = arr.shape[1] * arr.shape[2]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Compute the features.

        Parameters
        ----------
        X : ndarray of shape (n_windows, n_channels, size)

        Returns
        -------
        ndarray of shape (n_windows, n_output_features), float64
        """
        check_is_fitted(self, "plan_")
        arr = _as_windows(X)
        if arr.shape[1:] != (self.n_channels_, self.window_size_):
            raise ValueError(
                f"X has windows of shape {arr.shape[1:]}, but EMGFeatures was fitted on "
                f"{(self.n_channels_, self.window_size_)} (n_channels, size)"
            )
        return self.plan_.transform(arr)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the output column names (``{FEATURE}_{channel}[_{k}]``).

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn compatibility.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "plan_")
        return np.asarray(self.plan_.columns, dtype=object)


class EMGRegressor(RegressorMixin, BaseEstimator):
    """Continuous outputs from EMG windows: features → scaler → regressor.

    ``fit(X, y)`` takes windows of shape (n_windows, n_channels, size) and
    targets of shape (n_windows,) or (n_windows, n_targets) (e.g.
    ``TrainingData.windows["emg"]`` and ``TrainingData.targets``) and fits
    the scikit-learn pipeline :attr:`pipeline_` = :class:`EMGFeatures` →
    :class:`~sklearn.preprocessing.StandardScaler` → ``regressor``. In a realtime
    ``@predict``, :meth:`predict_window` maps one ``(n_channels, size)``
    window to the outputs through the one-window feature path.

    Parameters
    ----------
    features : str or sequence of str, default "HTD"
        Feature codes and/or group names.
    fs : float, optional
        Sampling rate in Hz. Required (``fit`` raises without it).
    params : dict, optional
        Per-feature parameters, ``{"ZC": {"threshold": 0.01}}``.
    regressor : scikit-learn regressor, optional
        Any estimator with ``fit`` / ``predict`` that is a regressor (cloned on
        ``fit``). Default :class:`~sklearn.linear_model.Ridge` with ``alpha=1.0``.
        Multi-output targets need a regressor that supports them (Ridge does;
        wrap others in :class:`~sklearn.multioutput.MultiOutputRegressor`).
    scale : bool, default True
        Standardise the features before the regressor.
    channel_names : sequence, optional
        Channel labels for the feature names.

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted features → scaler → regressor pipeline.
    plan_ : FeaturePlan
        The feature plan (its ``window`` method is the realtime path).
    n_targets_ : int
        Number of outputs (1 for 1-D targets).

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.emg import EMGRegressor, windows
    >>> rng = np.random.default_rng(0)
    >>> force = np.repeat(rng.random(40), 100)             # 40 force levels, 100 samples each
    >>> emg = rng.standard_normal((4000, 2)) * np.c_[force, 1 - force]
    >>> X, y = windows(emg, 100, 100), force[99::100]
    >>> model = EMGRegressor("HTD", fs=1000.0).fit(X, y)
    >>> round(model.score(X, y), 2) > 0.9, model.predict_window(X[0]).shape
    (True, (1,))
    """

    def __init__(
        self,
        features: str | Sequence[str] = "HTD",
        fs: float | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        regressor: Any = None,
        scale: bool = True,
        channel_names: Sequence[Any] | None = None,
    ):
        self.features = features
        self.fs = fs
        self.params = params
        self.regressor = regressor
        self.scale = scale
        self.channel_names = channel_names

    def _make_pipeline(self) -> Any:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        if self.regressor is None:
            reg = Ridge(alpha=1.0)
        else:
            if not (hasattr(self.regressor, "fit") and hasattr(self.regressor, "predict")):
                raise TypeError(
                    "EMGRegressor(regressor=...) needs a scikit-learn estimator with fit and "
                    f"predict, got {type(self.regressor).__name__}"
                )
            if not is_regressor(self.regressor):
                raise TypeError(
                    f"EMGRegressor(regressor=...) got {type(self.regressor).__name__}, which is "
                    "not a regressor (use a classifier with make_pipeline(EMGFeatures(...), ...))"
                )
            reg = clone(self.regressor)
        steps = [
            ("features", EMGFeatures(self.features, fs=self.fs, params=self.params,
                                     channel_names=self.channel_names)),
            ("scaler", StandardScaler() if self.scale else "passthrough"),
            ("regressor", reg),
        ]
        return Pipeline(steps)

    def fit(self, X: np.ndarray, y: np.ndarray) -> EMGRegressor:
        """Compute the features of ``X`` and fit the scaler and regressor.

        Parameters
        ----------
        X : ndarray of shape (n_windows, n_channels, size)
        y : ndarray of shape (n_windows,) or (n_windows, n_targets)
            Continuous targets aligned with the windows.

        Returns
        -------
        EMGRegressor
            ``self``.

        Raises
        ------
        ValueError
            Missing ``fs``, mismatched lengths, non-finite targets.
        """
        arr = _as_windows(X)
        target = np.asarray(y, dtype=np.float64)
        if target.ndim not in (1, 2) or target.shape[0] != arr.shape[0]:
            raise ValueError(
                f"y must have shape (n_windows,) or (n_windows, n_targets) with n_windows = "
                f"{arr.shape[0]}, got {target.shape}"
            )
        if not np.all(np.isfinite(target)):
            raise ValueError("y holds NaN or inf targets; drop those windows first")
        pipe = self._make_pipeline()
        pipe.fit(arr, target)
        self.pipeline_ = pipe
        self.plan_ = pipe.named_steps["features"].plan_
        self.n_targets_ = 1 if target.ndim == 1 else target.shape[1]
        self._tail = pipe[1:]
        self._affine = self._fold_linear(pipe, arr)
        self.n_features_in_ = pipe.named_steps["features"].n_features_in_
        return self

    @staticmethod
    def _fold_linear(pipe: Any, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Fold scaler + linear regressor into one affine map ``y = x W + b``.

        For scikit-learn's linear models (``predict = z @ coef_.T + intercept_``)
        after a ``StandardScaler`` (``z = (x - mean_) / scale_``) or no scaler,
        ``W = (coef_ / scale_).T`` and ``b = intercept_ - (mean_ / scale_) @ coef_.T``.
        :meth:`predict_window` then costs a matrix-vector product instead of the
        scikit-learn call overhead (~0.5 ms). The fold is checked against the
        pipeline on training windows and used only if it agrees to 1e-9.
        """
        from sklearn.preprocessing import StandardScaler

        reg = pipe.named_steps["regressor"]
        scaler = pipe.named_steps["scaler"]
        if not type(reg).__module__.startswith("sklearn.linear_model") or not (
            hasattr(reg, "coef_") and hasattr(reg, "intercept_")
        ):
            return None
        coef = np.atleast_2d(np.asarray(reg.coef_, dtype=np.float64))
        intercept = np.atleast_1d(np.asarray(reg.intercept_, dtype=np.float64))
        n_feat = coef.shape[1]
        if scaler == "passthrough":
            mean, scale = np.zeros(n_feat), np.ones(n_feat)
        elif type(scaler) is StandardScaler:
            mean = np.zeros(n_feat) if scaler.mean_ is None else scaler.mean_
            scale = np.ones(n_feat) if scaler.scale_ is None else scaler.scale_
        else:
            return None
        weights = np.ascontiguousarray((coef / scale[None, :]).T)
        bias = intercept - (mean / scale) @ coef.T
        feats = pipe.named_steps["features"].transform(arr[:32])
        expected = np.asarray(pipe[1:].predict(feats), dtype=np.float64).reshape(len(feats), -1)
        if expected.shape[1] != weights.shape[1] or not np.allclose(
            feats @ weights + bias, expected, rtol=1e-9, atol=1e-9 * (1 + np.abs(expected).max())
        ):
            return None
        return weights, bias

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict the outputs of windows.

        Parameters
        ----------
        X : ndarray of shape (n_windows, n_channels, size)

        Returns
        -------
        ndarray of shape (n_windows,) or (n_windows, n_targets)
            Following the shape of the training targets.
        """
        check_is_fitted(self, "pipeline_")
        return np.asarray(self.pipeline_.predict(X), dtype=np.float64)

    def predict_window(self, window: np.ndarray) -> np.ndarray:
        """Predict the outputs of one window (the realtime path).

        Parameters
        ----------
        window : ndarray of shape (n_channels, size)
            A channels-first window, as ``@pipeline.extract`` receives it.

        Notes
        -----
        For scikit-learn's linear regressors (the default Ridge) the scaler and
        regressor are folded into one affine map at ``fit`` (checked there
        against the pipeline), so a call is the feature kernel plus a
        matrix-vector product; other regressors go through their ``predict``.

        Returns
        -------
        ndarray of shape (n_targets,), float64
            Always 1-D, also for 1-D training targets (``n_targets = 1``), so
            post-processors (smoothing, deadband) see one layout.
        """
        check_is_fitted(self, "pipeline_")
        x = self.plan_.window(window)
        if self._affine is not None:
            weights, bias = self._affine
            return x @ weights + bias
        return np.asarray(self._tail.predict(x[None]), dtype=np.float64).reshape(-1)

    def feature_names(self) -> list[str]:
        """Return the names of the feature columns the regressor sees.

        Returns
        -------
        list of str
        """
        check_is_fitted(self, "pipeline_")
        return list(self.plan_.columns)
