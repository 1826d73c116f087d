"""Frame-level behaviour classifier over pipeline feature outputs and labels.

:class:`BehaviorClassifier` is a model for :func:`moveo.train_model`. Training:

1. read the outputs of the configured feature runs for every labelled entry
   (joined on id and frame) and the labels of kind ``labels``;
2. split entries (whole sequences) into train / validation / test, so frames of
   one sequence never end up on both sides;
3. fit one binary classifier per class (``strategy="ovr"``, default) or one
   multiclass classifier, scikit-learn ``HistGradientBoostingClassifier`` by
   default, with balanced class weights. Gradient boosting is trained in
   ``epochs`` chunks of iterations (warm start), reporting validation metrics
   after each;
4. tune one probability threshold per class on the validation sequences
   (maximising that class's F1);
5. report per-class precision / recall / F1 and the confusion matrix on the
   held-out test sequences.

The fitted :class:`BehaviorModel` (saved as ``model.joblib``) knows its
classes, feature runs and columns, and predicts with
``argmax_c p_c / t_c`` (probabilities scaled by the class thresholds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from moveo.models.base import (
    MODEL_FILE,
    FeatureRef,
    ModelConfig,
    dump_artifact,
    feature_entries,
    read_feature_entry,
    resolve_feature,
    split_entries,
)

__all__ = ["BehaviorClassifier", "BehaviorClassifierConfig", "BehaviorModel"]

Estimator = Literal["hist_gradient_boosting", "random_forest", "logistic"]


class BehaviorClassifierConfig(ModelConfig):
    """Configuration of :class:`BehaviorClassifier`.

    Attributes
    ----------
    features : list of FeatureRef
        Feature runs whose outputs are the model inputs (``run_id=None``: the
        latest finished run). At least one.
    labels : str
        Label kind (``labels/<kind>/...``, see :mod:`moveo.labels`).
    classes : list of str or int, optional
        Classes to learn, in this order; rows with other labels are dropped.
        Default: every label present, sorted.
    strategy : {"ovr", "multiclass"}
        One binary classifier per class (default) or one multiclass classifier.
    estimator : {"hist_gradient_boosting", "random_forest", "logistic"}
        scikit-learn estimator family.
    estimator_params : dict
        Extra keyword arguments for the estimator.
    class_weight : {"balanced"} or None
        Reweight classes inversely to their frequency (default balanced).
    epochs : int
        Gradient boosting only: train in this many chunks of iterations and
        report progress after each.
    test_fraction : float
        Share of entries held out for the test metrics (0 disables testing).
    validation_fraction : float
        Share of the remaining entries used to tune thresholds and report
        per-epoch metrics (0 disables tuning; thresholds stay neutral).
    tune_thresholds : bool
        Tune per-class thresholds on the validation entries.
    max_rows_per_entry : int, optional
        Randomly subsample training rows per entry (speed).
    n_threads : int, optional
        Limit the estimator's native (OpenMP/BLAS) threads; ``None`` keeps the
        library default. 1 is much faster for small data on a busy machine.
    random_state : int
        Seed for the split, subsampling and estimators.
    """

    features: list[FeatureRef] = Field(min_length=1)
    labels: str = "behavior"
    classes: list[str] | list[int] | None = None
    strategy: Literal["ovr", "multiclass"] = "ovr"
    estimator: Estimator = "hist_gradient_boosting"
    estimator_params: dict[str, Any] = Field(default_factory=dict)
    class_weight: Literal["balanced"] | None = "balanced"
    epochs: int = Field(default=4, ge=1)
    test_fraction: float = Field(default=0.25, ge=0.0, lt=1.0)
    validation_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
    tune_thresholds: bool = True
    max_rows_per_entry: int | None = Field(default=None, ge=1)
    n_threads: int | None = Field(default=None, ge=1)
    random_state: int = 0

    @model_validator(mode="after")
    def _check(self) -> BehaviorClassifierConfig:
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes has duplicates: {self.classes}")
        if self.classes is not None and len(self.classes) < 2:
            raise ValueError("classes needs at least 2 entries")
        return self


def _make_estimator(cfg: BehaviorClassifierConfig, binary: bool) -> Any:
    params = dict(cfg.estimator_params)
    if cfg.estimator == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        params.setdefault("max_iter", 100)
        params.setdefault("random_state", cfg.random_state)
        return HistGradientBoostingClassifier(
            warm_start=True, early_stopping=False, class_weight=cfg.class_weight, **params
        )
    if cfg.estimator == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        params.setdefault("n_estimators", 200)
        params.setdefault("random_state", cfg.random_state)
        params.setdefault("n_jobs", 1)
        return RandomForestClassifier(class_weight=cfg.class_weight, **params)
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params.setdefault("max_iter", 1000)
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(class_weight=cfg.class_weight, **params),
    )


class BehaviorModel:
    """A fitted behaviour classifier (what ``model.joblib`` holds).

    Attributes
    ----------
    classes : list
        Class labels, in column order of :meth:`predict_proba`.
    features : list of FeatureRef
        The feature runs the model was trained on (resolved run ids).
    feature_columns : list of str
        Input columns, in order.
    strategy : {"ovr", "multiclass"}
    thresholds : numpy.ndarray
        Per-class thresholds, shape (n_classes,).
    estimators : list
        One fitted binary estimator per class (ovr) or one multiclass estimator.
    info : dict
        Training metadata (model name, run id, label kind, versions).
    """

    def __init__(
        self,
        *,
        classes: Sequence[Any],
        features: Sequence[FeatureRef],
        feature_columns: Sequence[str],
        strategy: str,
        estimators: list[Any],
        thresholds: np.ndarray,
        info: dict[str, Any],
    ) -> None:
        self.classes = list(classes)
        self.features = list(features)
        self.feature_columns = list(feature_columns)
        self.strategy = strategy
        self.estimators = estimators
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.info = dict(info)

    def _matrix(self, x: Any) -> np.ndarray:
        if isinstance(x, pl.DataFrame):
            missing = [c for c in self.feature_columns if c not in x.columns]
            if missing:
                raise ValueError(
                    f"behaviour model needs columns {missing}, produced by feature runs "
                    f"{[f.feature + '/' + str(f.run_id) for f in self.features]}"
                )
            x = x.select(self.feature_columns).to_numpy()
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(self.feature_columns):
            raise ValueError(
                f"expected an array of shape (n_rows, {len(self.feature_columns)}) with columns "
                f"{self.feature_columns}, got shape {arr.shape}"
            )
        return arr

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities (ovr: each binary classifier's positive probability).

        Parameters
        ----------
        x : polars.DataFrame or array of shape (n_rows, n_features)

        Returns
        -------
        numpy.ndarray
            float64 array of shape (n_rows, n_classes).
        """
        arr = self._matrix(x)
        if arr.shape[0] == 0:
            return np.empty((0, len(self.classes)))
        if self.strategy == "ovr":
            return np.column_stack([est.predict_proba(arr)[:, 1] for est in self.estimators])
        return np.asarray(self.estimators[0].predict_proba(arr), dtype=np.float64)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Turn probabilities into class indices with the per-class thresholds.

        Parameters
        ----------
        proba : array of shape (n_rows, n_classes)

        Returns
        -------
        numpy.ndarray
            int64 array of shape (n_rows,): ``argmax_c proba[:, c] / thresholds[c]``.
        """
        if len(proba) == 0:
            return np.empty(0, dtype=np.int64)
        return np.argmax(proba / self.thresholds, axis=1).astype(np.int64)

    def predict(self, x: Any) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        x : polars.DataFrame or array of shape (n_rows, n_features)

        Returns
        -------
        numpy.ndarray
            Array of shape (n_rows,) holding values of :attr:`classes`.
        """
        return np.asarray(self.classes, dtype=object)[self.decide(self.predict_proba(x))]

    def __repr__(self) -> str:
        return (
            f"BehaviorModel(classes={self.classes}, strategy={self.strategy!r}, "
            f"n_features={len(self.feature_columns)})"
        )


def _class_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    k = len(classes)
    if len(y_true) == 0:
        return {"n_rows": 0}
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(k)), zero_division=0
    )
    per_class = {
        str(c): {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, c in enumerate(classes)
    }
    present = s > 0
    return {
        "n_rows": int(len(y_true)),
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_f1": float(np.mean(f[present])) if present.any() else 0.0,
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=list(range(k))).tolist(),
        "confusion_matrix_labels": [str(c) for c in classes],
    }


def _best_threshold(score: np.ndarray, positive: np.ndarray) -> float:
    # F1 of "score >= t" for a grid of t; the grid keeps the choice stable
    best_t, best_f = 0.5, -1.0
    n_pos = positive.sum()
    if n_pos == 0:
        return 0.5
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2):
        pred = score >= t
        tp = np.sum(pred & positive)
        denom = pred.sum() + n_pos
        f1 = 2.0 * tp / denom if denom else 0.0
        if f1 > best_f + 1e-12:
            best_t, best_f = float(t), f1
    return best_t


class BehaviorClassifier:
    """Trainable behaviour classifier for :func:`moveo.train_model`.

    Parameters
    ----------
    name : str, default "behavior-classifier"
        Model name (folder under ``models/``).

    Examples
    --------
    >>> clf = BehaviorClassifier()
    >>> clf.Config.model_validate({"features": [{"feature": "speed-angvel"}]}).strategy
    'ovr'
    """

    version = "0.1"
    Config = BehaviorClassifierConfig

    def __init__(self, name: str = "behavior-classifier") -> None:
        self.name = name

    # -- identity ------------------------------------------------------------------

    def identity(self, ds: Any, config: BehaviorClassifierConfig) -> dict[str, Any]:
        """Return the resolved feature runs and a fingerprint of the labels.

        Parameters
        ----------
        ds : moveo.Dataset
        config : BehaviorClassifierConfig

        Returns
        -------
        dict
            ``{"features": [[feature, run_id], ...], "labels": fingerprint}``.
        """
        from moveo.labels import labeled_entries, labels_fingerprint

        refs = [resolve_feature(ds, f) for f in config.features]
        if not labeled_entries(ds, config.labels):
            raise ValueError(
                f"no labels of kind {config.labels!r} in {ds.root}; add them with "
                "moveo.labels.add_labels(ds, kind, table)"
            )
        return {
            "features": [[r.feature, r.run_id] for r in refs],
            "labels": labels_fingerprint(ds, config.labels),
        }

    # -- data ----------------------------------------------------------------------

    def _load(
        self,
        ds: Any,
        cfg: BehaviorClassifierConfig,
        refs: list[FeatureRef],
        entries: list[tuple[str, str]],
        rng: np.random.Generator | None,
    ) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
        from moveo.labels import read_labels

        c = ds.columns
        out = {}
        for g, s in entries:
            feats, names = read_feature_entry(ds, refs, g, s)
            lab = read_labels(ds, cfg.labels, g, s)
            df = feats.join(lab, on=[c.id_col, c.frame_col], how="inner")
            if rng is not None and cfg.max_rows_per_entry and df.height > cfg.max_rows_per_entry:
                idx = np.sort(rng.choice(df.height, cfg.max_rows_per_entry, replace=False))
                df = df[idx]
            out[(g, s)] = (df.select(names).to_numpy().astype(np.float64), df["label"].to_numpy())
            self._names = names
        return out

    # -- training ------------------------------------------------------------------

    def fit(
        self, ds: Any, config: BehaviorClassifierConfig, run_root: Path, progress: Any
    ) -> dict[str, Any]:
        """Train, save ``model.joblib`` under ``run_root`` and return the metrics.

        Parameters
        ----------
        ds : moveo.Dataset
        config : BehaviorClassifierConfig
        run_root : Path
            ``models/<name>/<run_id>``.
        progress : TrainingProgressCallback
            Receives phases, per-class starts (ovr) and per-epoch metrics.

        Returns
        -------
        dict
            ``test`` / ``validation`` / ``train`` metric blocks (per-class
            precision, recall, F1, support; accuracy; macro F1; confusion
            matrix), ``thresholds``, ``classes`` and the entry split.

        Raises
        ------
        ValueError
            No entry has both features and labels; fewer than 2 classes; a
            configured class never occurs in the training entries.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(config.n_threads):
            return self._fit(ds, config, run_root, progress)

    def _fit(
        self, ds: Any, config: BehaviorClassifierConfig, run_root: Path, progress: Any
    ) -> dict[str, Any]:
        """Fit with the configured thread limit (see :meth:`fit`)."""
        from moveo.labels import labeled_entries

        cfg = config
        refs = [resolve_feature(ds, f) for f in cfg.features]
        entries = sorted(set(feature_entries(ds, refs)) & set(labeled_entries(ds, cfg.labels)))
        if not entries:
            raise ValueError(
                f"no entry has both outputs of {[r.feature for r in refs]} and labels of kind "
                f"{cfg.labels!r}; run the features on the labelled entries"
            )
        progress.on_phase("load", f"reading features and labels of {len(entries)} entries")
        rest, test = split_entries(entries, cfg.test_fraction, cfg.random_state)
        fit_entries, val = split_entries(rest, cfg.validation_fraction, cfg.random_state + 1)
        progress.on_phase(
            "split",
            f"{len(fit_entries)} training / {len(val)} validation / {len(test)} test sequences",
        )
        rng = np.random.default_rng(cfg.random_state)
        data = self._load(ds, cfg, refs, fit_entries, rng)
        names = self._names
        x_fit = np.concatenate([data[k][0] for k in fit_entries])
        y_raw = np.concatenate([data[k][1] for k in fit_entries])
        classes = list(cfg.classes) if cfg.classes is not None else sorted(set(y_raw.tolist()))
        if len(classes) < 2:
            raise ValueError(
                f"training labels hold {len(classes)} class(es) {classes}; need at least 2"
            )
        index = {cl: i for i, cl in enumerate(classes)}

        def encode(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            codes = np.array([index.get(v, -1) for v in y.tolist()], dtype=np.int64)
            return codes, codes >= 0

        y_fit, keep = encode(y_raw)
        x_fit, y_fit = x_fit[keep], y_fit[keep]
        absent = [classes[i] for i in range(len(classes)) if not np.any(y_fit == i)]
        if absent:
            raise ValueError(
                f"classes {absent} never occur in the training sequences {fit_entries}; "
                "add labelled data, drop them from 'classes', or change random_state"
            )

        def stack(part: dict, keys: list) -> tuple[np.ndarray, np.ndarray]:
            if not keys:
                return np.empty((0, len(names))), np.empty(0, dtype=np.int64)
            x = np.concatenate([part[k][0] for k in keys])
            y, ok = encode(np.concatenate([part[k][1] for k in keys]))
            return x[ok], y[ok]

        x_val, y_val = stack(self._load(ds, cfg, refs, val, None), val)
        n_classes = len(classes)
        neutral = 0.5 if cfg.strategy == "ovr" else 1.0 / n_classes
        model = BehaviorModel(
            classes=classes,
            features=refs,
            feature_columns=names,
            strategy=cfg.strategy,
            estimators=[],
            thresholds=np.full(n_classes, neutral),
            info={"model": self.name, "version": self.version, "labels": cfg.labels},
        )
        epochs = cfg.epochs if cfg.estimator == "hist_gradient_boosting" else 1
        total_iter = int(cfg.estimator_params.get("max_iter", 100))

        def train_one(est: Any, y: np.ndarray, on_epoch: Any) -> Any:
            for e in range(epochs):
                if cfg.estimator == "hist_gradient_boosting":
                    est.set_params(max_iter=max(1, math.ceil(total_iter * (e + 1) / epochs)))
                est.fit(x_fit, y)
                on_epoch(e, est)
            return est

        progress.on_phase(
            "fit",
            f"{cfg.estimator} ({cfg.strategy}) on {len(y_fit)} frames, "
            f"{len(names)} features, {n_classes} classes",
        )
        if cfg.strategy == "ovr":
            for i, cl in enumerate(classes):
                progress.on_class_start(i, n_classes, str(cl))

                def report(e: int, est: Any, i: int = i) -> None:
                    metrics = {"class_train_fraction": float(np.mean(y_fit == i))}
                    if len(y_val):
                        p = est.predict_proba(x_val)[:, 1]
                        pos = y_val == i
                        tp = np.sum((p >= 0.5) & pos)
                        denom = np.sum(p >= 0.5) + pos.sum()
                        metrics["val_f1"] = float(2 * tp / denom) if denom else 0.0
                    progress.on_epoch_end(e, epochs, metrics)

                est = train_one(_make_estimator(cfg, True), (y_fit == i).astype(np.int64), report)
                model.estimators.append(est)
        else:

            def report_mc(e: int, est: Any) -> None:
                metrics: dict[str, float] = {}
                if len(y_val):
                    metrics["val_accuracy"] = float(np.mean(est.predict(x_val) == y_val))
                progress.on_epoch_end(e, epochs, metrics)

            model.estimators.append(train_one(_make_estimator(cfg, False), y_fit, report_mc))

        if cfg.tune_thresholds and len(y_val):
            progress.on_phase("thresholds", f"tuning per-class thresholds on {len(val)} sequences")
            proba = model.predict_proba(x_val)
            model.thresholds = np.array(
                [_best_threshold(proba[:, i], y_val == i) for i in range(n_classes)]
            )
        progress.on_phase("evaluate", f"scoring {len(test)} held-out test sequences")
        x_test, y_test = stack(self._load(ds, cfg, refs, test, None), test)
        metrics: dict[str, Any] = {
            "classes": [str(c) for c in classes],
            "thresholds": model.thresholds.tolist(),
            "feature_columns": names,
            "features": [[r.feature, r.run_id] for r in refs],
            "entries": {
                "train": [list(k) for k in fit_entries],
                "validation": [list(k) for k in val],
                "test": [list(k) for k in test],
            },
            "train": _class_metrics(y_fit, model.decide(model.predict_proba(x_fit)), classes),
            "validation": _class_metrics(y_val, model.decide(model.predict_proba(x_val)), classes),
            "test": _class_metrics(y_test, model.decide(model.predict_proba(x_test)), classes),
        }
        model.info["run_id"] = Path(run_root).name
        progress.on_phase("save", f"writing {MODEL_FILE}")
        dump_artifact(model, Path(run_root) / MODEL_FILE)
        return metrics
