"""EMG gesture classifier trained on window features of recorded sessions.

:class:`EMGClassifier` is a model for :func:`moveo.train_model`. It reads the
outputs of an EMG window-feature run (``emg-features`` by default: one row per
window with a ``label`` column and feature columns such as ``MAV_ch0``), holds
out whole sessions (``split="session"``) or the last part of every session
(``split="time"``), fits LDA, logistic regression or a random forest, and
reports per-class metrics.

The fitted :class:`EMGModel` is self-describing, so the realtime predictor
can load it and compute exactly the same features on live windows:
``feature_columns``, ``extraction`` (feature codes, window and increment in
samples, per-feature parameters), ``fs``, ``n_channels``, ``channel_names``
and ``classes``. In a realtime ``@predict`` callback::

    from moveo.models import load_model

    model = load_model("emg_ds/models/emg-classifier/<run_id>")
    plan = model.plan()                      # a moveo.emg.FeaturePlan, built once

    @pipeline.predict
    def predict(ctx, window):                # window: (n_channels, window) samples
        return {"label": model.predict_window(window, plan=plan)}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.models.base import (
    MODEL_FILE,
    FeatureRef,
    ModelConfig,
    dump_artifact,
    feature_entries,
    resolve_feature,
    split_entries,
)
from moveo.models.behavior import _class_metrics

__all__ = ["EMGClassifier", "EMGClassifierConfig", "EMGModel"]


def _emg_features_ref() -> FeatureRef:
    return FeatureRef(feature="emg-features")


class EMGClassifierConfig(ModelConfig):
    """Configuration of :class:`EMGClassifier`.

    Attributes
    ----------
    features : FeatureRef
        The window-feature run to train on (default: latest ``emg-features`` run).
    label_column : str
        Column of that run holding the class (rows with null labels are dropped).
    estimator : {"lda", "logistic", "random_forest"}
    estimator_params : dict
        Extra keyword arguments for the estimator.
    split : {"session", "time"}
        Hold out whole sessions, or the last ``test_fraction`` of each session's
        windows (use "time" with a single session).
    test_fraction : float
        Share held out for the test metrics (0: no test set).
    extraction : dict or None
        Feature extraction settings (``features``, ``window``, ``increment``,
        ``params``) when they cannot be read from the feature run's parameters.
    random_state : int
    """

    features: FeatureRef = Field(default_factory=_emg_features_ref)
    label_column: str = "label"
    estimator: Literal["lda", "logistic", "random_forest"] = "lda"
    estimator_params: dict[str, Any] = Field(default_factory=dict)
    split: Literal["session", "time"] = "session"
    test_fraction: float = Field(default=0.25, ge=0.0, lt=1.0)
    extraction: dict[str, Any] | None = None
    random_state: int = 0


def _make_estimator(cfg: EMGClassifierConfig) -> Any:
    params = dict(cfg.estimator_params)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if cfg.estimator == "lda":
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(**params))
    if cfg.estimator == "logistic":
        from sklearn.linear_model import LogisticRegression

        params.setdefault("max_iter", 1000)
        return make_pipeline(StandardScaler(), LogisticRegression(**params))
    from sklearn.ensemble import RandomForestClassifier

    params.setdefault("n_estimators", 200)
    params.setdefault("random_state", cfg.random_state)
    params.setdefault("n_jobs", 1)
    return RandomForestClassifier(**params)


class EMGModel:
    """A fitted EMG classifier plus everything needed to compute its inputs.

    Attributes
    ----------
    classes : list
        Class labels, in :meth:`predict_proba` column order.
    feature_columns : list of str
        Input columns, in order (e.g. ``MAV_ch0``).
    extraction : dict
        ``features`` (codes or a group), ``window`` and ``increment`` (samples)
        and ``params`` (per-feature parameters).
    fs : float
        Sampling rate in Hz.
    n_channels : int
    channel_names : list of str
    estimator : sklearn estimator
    info : dict
        Model name, run id, feature run.
    """

    def __init__(
        self,
        *,
        classes: list[Any],
        feature_columns: list[str],
        extraction: dict[str, Any],
        fs: float,
        channel_names: list[str],
        estimator: Any,
        info: dict[str, Any],
    ) -> None:
        self.classes = list(classes)
        self.feature_columns = list(feature_columns)
        self.extraction = dict(extraction)
        self.fs = float(fs)
        self.channel_names = [str(c) for c in channel_names]
        self.n_channels = len(self.channel_names)
        self.estimator = estimator
        self.info = dict(info)
        self._select: np.ndarray | None = None

    @property
    def window(self) -> int:
        """Window length in samples."""
        return int(self.extraction["window"])

    def plan(self) -> Any:
        """Build the :class:`moveo.emg.FeaturePlan` that computes this model's inputs.

        Returns
        -------
        moveo.emg.FeaturePlan

        Raises
        ------
        ValueError
            If the plan's columns do not include every model input column.
        """
        from moveo.emg import FeaturePlan

        plan = FeaturePlan(
            self.extraction["features"],
            fs=self.fs,
            n_channels=self.n_channels,
            size=self.window,
            params=self.extraction.get("params"),
            channel_names=self.channel_names,
        )
        missing = [c for c in self.feature_columns if c not in plan.columns]
        if missing:
            raise ValueError(
                f"EMG model inputs {missing[:5]} are not produced by features "
                f"{self.extraction['features']!r} on channels {self.channel_names}; the model "
                "was trained on other features than its extraction settings describe"
            )
        self._select = np.array([plan.columns.index(c) for c in self.feature_columns])
        return plan

    def features_of_window(self, window: np.ndarray, *, plan: Any = None) -> np.ndarray:
        """Compute the model's input vector for one window.

        Parameters
        ----------
        window : array of shape (n_channels, window)
        plan : FeaturePlan, optional
            From :meth:`plan` (build once and reuse in a realtime loop).

        Returns
        -------
        numpy.ndarray
            float64 array of shape (n_features,).
        """
        if plan is None or getattr(self, "_select", None) is None:
            plan = self.plan()
        win = np.asarray(window)
        if win.shape != (self.n_channels, self.window):
            raise ValueError(
                f"expected a window of shape (n_channels, samples) = "
                f"({self.n_channels}, {self.window}), got {win.shape}"
            )
        return np.asarray(plan.window(win), dtype=np.float64)[self._select]

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities for feature rows.

        Parameters
        ----------
        x : polars.DataFrame or array of shape (n_rows, n_features)

        Returns
        -------
        numpy.ndarray
            Shape (n_rows, n_classes).
        """
        return np.asarray(self.estimator.predict_proba(self._matrix(x)), dtype=np.float64)

    def predict(self, x: Any) -> np.ndarray:
        """Predict labels for feature rows.

        Parameters
        ----------
        x : polars.DataFrame or array of shape (n_rows, n_features)

        Returns
        -------
        numpy.ndarray
            Shape (n_rows,), values of :attr:`classes`.
        """
        codes = np.argmax(self.predict_proba(x), axis=1)
        return np.asarray(self.classes, dtype=object)[codes]

    def predict_window(self, window: np.ndarray, *, plan: Any = None) -> Any:
        """Predict the label of one raw window of shape (n_channels, window).

        Parameters
        ----------
        window : array of shape (n_channels, window)
        plan : FeaturePlan, optional
            From :meth:`plan`.

        Returns
        -------
        object
            One of :attr:`classes`.
        """
        return self.predict(self.features_of_window(window, plan=plan)[None, :])[0]

    def _matrix(self, x: Any) -> np.ndarray:
        if isinstance(x, pl.DataFrame):
            missing = [c for c in self.feature_columns if c not in x.columns]
            if missing:
                raise ValueError(f"EMG model needs columns {missing[:5]}")
            x = x.select(self.feature_columns).to_numpy()
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(self.feature_columns):
            raise ValueError(
                f"expected shape (n_rows, {len(self.feature_columns)}), got {arr.shape}"
            )
        return arr

    def __repr__(self) -> str:
        return (
            f"EMGModel(classes={self.classes}, n_features={len(self.feature_columns)}, "
            f"fs={self.fs}, window={self.extraction.get('window')}, channels={self.n_channels})"
        )


_KEYS = ("group", "sequence", "id", "frame", "time")


class EMGClassifier:
    """Trainable EMG classifier for :func:`moveo.train_model` (see module docs).

    Parameters
    ----------
    name : str, default "emg-classifier"
        Model name (folder under ``models/``).
    """

    version = "0.1"
    Config = EMGClassifierConfig

    def __init__(self, name: str = "emg-classifier") -> None:
        self.name = name

    def identity(self, ds: Any, config: EMGClassifierConfig) -> dict[str, Any]:
        """Return the resolved feature run the model trains on.

        Returns
        -------
        dict
            ``{"features": [feature, run_id]}``.
        """
        ref = resolve_feature(ds, config.features)
        return {"features": [ref.feature, ref.run_id]}

    def _extraction(self, ds: Any, ref: FeatureRef, cfg: EMGClassifierConfig) -> dict[str, Any]:
        if cfg.extraction is not None:
            extraction = dict(cfg.extraction)
        else:
            from moveo.pipeline.registry import open_registry

            with open_registry(ds) as reg:
                run = reg.get_run(ref.feature, str(ref.run_id))
            params = json.loads(run["params_json"]) if run and run.get("params_json") else {}
            extraction = {k: params[k] for k in ("features", "window", "increment", "params")
                          if k in params}  # fmt: skip
        missing = [k for k in ("features", "window") if k not in extraction]
        if missing:
            raise ValueError(
                f"cannot tell how run {ref.feature}/{ref.run_id} extracted features (missing "
                f"{missing}); pass extraction={{'features': ..., 'window': ...}} in the config"
            )
        return extraction

    def fit(
        self, ds: Any, config: EMGClassifierConfig, run_root: Path, progress: Any
    ) -> dict[str, Any]:
        """Train, save ``model.joblib`` under ``run_root`` and return metrics.

        Raises
        ------
        ValueError
            No labelled windows, fewer than 2 classes, or unknown extraction settings.
        """
        from moveo.pipeline.registry import open_registry

        cfg = config
        ref = resolve_feature(ds, cfg.features)
        extraction = self._extraction(ds, ref, cfg)
        entries = feature_entries(ds, [ref])
        progress.on_phase("load", f"reading {len(entries)} sessions of {ref.feature}")
        frames = {}
        with open_registry(ds) as reg:
            for key in entries:
                df = pl.read_parquet(reg.entry_path(ref.feature, str(ref.run_id), *key))
                if cfg.label_column not in df.columns:
                    raise ValueError(
                        f"run {ref.feature}/{ref.run_id} has no label column "
                        f"{cfg.label_column!r}; record label events with the sessions"
                    )
                frames[key] = df.filter(pl.col(cfg.label_column).is_not_null())
        any_df = next(iter(frames.values()), None)
        if any_df is None or sum(f.height for f in frames.values()) == 0:
            raise ValueError(f"run {ref.feature}/{ref.run_id} has no labelled windows")
        skip = set(_KEYS) | {cfg.label_column}
        cols = [c for c, t in any_df.schema.items() if c not in skip and t.is_numeric()]
        if cfg.split == "session":
            train_keys, test_keys = split_entries(entries, cfg.test_fraction, cfg.random_state)
            train = [frames[k] for k in train_keys]
            test = [frames[k] for k in test_keys]
        else:
            train, test = [], []
            for key in entries:
                df = frames[key]
                n_test = int(round(cfg.test_fraction * df.height))
                train.append(df.head(df.height - n_test))
                test.append(df.tail(n_test))
            train_keys = test_keys = list(entries)
        tr = pl.concat(train) if train else any_df.head(0)
        te = pl.concat(test) if test else any_df.head(0)
        classes = sorted(set(tr[cfg.label_column].to_list()))
        if len(classes) < 2:
            raise ValueError(f"training windows hold {len(classes)} class(es); need at least 2")
        index = {c: i for i, c in enumerate(classes)}
        te = te.filter(pl.col(cfg.label_column).is_in(classes))
        x_tr = tr.select(cols).to_numpy().astype(np.float64)
        y_tr = np.array([index[v] for v in tr[cfg.label_column].to_list()])
        x_te = te.select(cols).to_numpy().astype(np.float64)
        y_te = np.array([index[v] for v in te[cfg.label_column].to_list()], dtype=np.int64)
        progress.on_phase("fit", f"{cfg.estimator} on {len(y_tr)} windows, {len(cols)} features")
        est = _make_estimator(cfg)
        est.fit(x_tr, y_tr)
        train_acc = float(np.mean(est.predict(x_tr) == y_tr))
        progress.on_epoch_end(0, 1, {"train_accuracy": train_acc})
        progress.on_phase("evaluate", f"scoring {len(y_te)} held-out windows")
        pred_te = est.predict(x_te) if len(y_te) else np.empty(0, dtype=np.int64)
        channels = ds.meta.get("channels") if isinstance(ds.meta, dict) else None
        if not channels:
            channels = sorted({c.split("_")[1] for c in cols if c.count("_") >= 1})
        model = EMGModel(
            classes=classes,
            feature_columns=cols,
            extraction=extraction,
            fs=float(ds.fps),
            channel_names=list(channels),
            estimator=est,
            info={
                "model": self.name,
                "run_id": Path(run_root).name,
                "features": ref.feature,
                "features_run": ref.run_id,
            },  # fmt: skip
        )
        progress.on_phase("save", f"writing {MODEL_FILE}")
        dump_artifact(model, Path(run_root) / MODEL_FILE)
        return {
            "classes": [str(c) for c in classes],
            "feature_columns": cols,
            "extraction": extraction,
            "fs": float(ds.fps),
            "split": cfg.split,
            "sessions": {
                "train": [list(k) for k in train_keys],
                "test": [list(k) for k in test_keys],
            },
            "train": _class_metrics(y_tr, est.predict(x_tr), classes),
            "test": _class_metrics(y_te, pred_te, classes),
        }
