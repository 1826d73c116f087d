"""``behavior-classifier``: apply a trained behaviour classifier to every entry.

The feature reads the same feature outputs the model was trained on (its
inputs are those feature runs) and writes, per row, the predicted label and
one probability column per class. Like any feature its outputs are cached: the
run id depends on the model run it applies, so a new model gives a new run.

Build it from a trained run with :meth:`BehaviorClassifierFeature.for_run`,
which reads the model's feature runs and sets the inputs for you::

    run_id = moveo.train_model(ds, BehaviorClassifier(), config)
    result = moveo.run_feature(ds, BehaviorClassifierFeature.for_run(ds, run_id))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import model_validator

from moveo.contract import Inputs, Params, Result
from moveo.features._global import key_frame, matrix
from moveo.features.base import BaseFeature
from moveo.schema import Columns, PoseConfig

__all__ = ["BehaviorClassifierFeature"]


class BehaviorClassifierFeature(BaseFeature):
    """Predict behaviour labels per row with a model trained by :func:`moveo.train_model`.

    Parameters
    ----------
    params : dict or BehaviorClassifierFeature.Params
        ``model_run`` (a run id under ``models/<model_name>/``) or ``model_path``.
    inputs : tuple of Result, optional
        The feature runs to read; default (with ``model_path``): the runs the
        model was trained on.
    columns : Columns, optional
        Dataset column names (the runner passes the dataset's).

    Notes
    -----
    Output columns: the row keys, ``predicted`` (the class label; null for
    rows whose features are all NaN) and ``proba_<class>`` (Float64) for each
    class unless ``probabilities=False``.
    """

    name = "behavior-classifier"

    class Params(Params):
        """Parameters of :class:`BehaviorClassifierFeature`.

        Attributes
        ----------
        model_run : str or None
            Run id of a trained model in this dataset.
        model_name : str
            Model folder name (default ``"behavior-classifier"``).
        model_path : str or None
            Path to a ``model.joblib`` (or its run folder) instead of ``model_run``.
        probabilities : bool
            Also write one probability column per class (default True).
        """

        model_run: str | None = None
        model_name: str = "behavior-classifier"
        model_path: str | None = None
        probabilities: bool = True

        @model_validator(mode="after")
        def _one_source(self) -> BehaviorClassifierFeature.Params:
            if (self.model_run is None) == (self.model_path is None):
                raise ValueError(
                    "give exactly one of 'model_run' (a trained run id) or 'model_path'"
                )
            return self

    class Inputs(Inputs[Result]):
        """Upstream feature runs (the ones the model was trained on)."""

    def __init__(
        self,
        params: Any = None,
        inputs: Any = None,
        *,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        model = None
        if inputs is None:
            model_path = self.Params.from_overrides(params).model_path
            if model_path is None:
                raise ValueError(
                    "behavior-classifier: pass inputs (the feature runs the model was trained "
                    "on), or use BehaviorClassifierFeature.for_run(ds, run_id)"
                )
            model = self._load(Path(model_path))
            inputs = tuple(Result(feature=f.feature, run_id=f.run_id) for f in model.features)
        super().__init__(params, inputs, columns=columns, pose=pose)
        self.model: Any = model

    @classmethod
    def for_run(
        cls, ds: Any, run_id: str, *, model_name: str = "behavior-classifier", **params: Any
    ) -> BehaviorClassifierFeature:
        """Build the feature for a trained run of ``ds`` (inputs from the model).

        Parameters
        ----------
        ds : moveo.Dataset
        run_id : str
            What :func:`moveo.train_model` returned.
        model_name : str
            The model's name.
        **params
            Other parameters (``probabilities``).

        Returns
        -------
        BehaviorClassifierFeature
        """
        path = Path(ds.models_root) / model_name / run_id / "model.joblib"
        model = cls._load(path)
        inputs = tuple(Result(feature=f.feature, run_id=f.run_id) for f in model.features)
        feat = cls(
            {"model_run": run_id, "model_name": model_name, **params},
            inputs,
            columns=ds.columns,
        )
        feat.model = model
        return feat

    @staticmethod
    def _load(path: Path) -> Any:
        from moveo.models.base import load_model
        from moveo.models.behavior import BehaviorModel

        model = load_model(path)
        if not isinstance(model, BehaviorModel):
            raise TypeError(
                f"{path} holds a {type(model).__name__}, not a behaviour classifier "
                "(train one with moveo.models.BehaviorClassifier)"
            )
        return model

    def load_state(
        self, run_root: Path, artifact_paths: Any = None, dependency_lookups: Any = None
    ) -> bool:
        """Load the model (from ``model_path`` or ``models/<model_name>/<model_run>``)."""
        p = self.params
        if p.model_path is not None:
            path = Path(p.model_path)
        else:
            # run_root = <dataset>/features/<feature>/<run_id>
            dataset_root = Path(run_root).parent.parent.parent
            path = dataset_root / "models" / p.model_name / str(p.model_run) / "model.joblib"
        self.model = self._load(path)
        return True

    def save_state(self, run_root: Path) -> None:
        """Nothing to save: the model lives in ``models/``."""

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Predict one entry (one output row per input row, in input order).

        Raises
        ------
        ValueError
            A column the model needs is missing from the input.
        """
        if self.model is None:
            raise RuntimeError("behavior-classifier: load_state() must run before apply()")
        model = self.model
        missing = [c for c in model.feature_columns if c not in df.columns]
        if missing:
            raise ValueError(
                f"behavior-classifier: input lacks column(s) {missing}, which the model was "
                f"trained on (from feature runs "
                f"{[f'{f.feature}/{f.run_id}' for f in model.features]}); use those runs as inputs"
            )
        x = matrix(df, model.feature_columns)
        proba = model.predict_proba(x)
        codes = model.decide(proba)
        empty = np.isnan(x).all(axis=1) if x.shape[1] else np.zeros(len(x), dtype=bool)
        classes = model.classes
        dtype = pl.Int64 if classes and isinstance(classes[0], int | np.integer) else pl.String
        values = [None if e else classes[c] for c, e in zip(codes.tolist(), empty, strict=True)]
        out = key_frame(df, self.columns).with_columns(pl.Series("predicted", values, dtype=dtype))
        if self.params.probabilities:
            out = out.with_columns(
                pl.Series(f"proba_{cl}", np.where(empty, np.nan, proba[:, i]), dtype=pl.Float64)
                for i, cl in enumerate(classes)
            )
        return out
