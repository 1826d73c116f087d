"""scikit-learn transformer over EMG windows: :class:`EMGFeatures`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from moveo.emg.extraction import FeaturePlan, _as_windows

__all__ = ["EMGFeatures"]


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
