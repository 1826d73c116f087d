"""Global features: fit once on templates (or load a fitted model), apply to every entry.

Each feature takes :class:`~moveo.contract.GlobalModelParams`: exactly
one of

- ``templates``: a :class:`~moveo.contract.ParquetArtifact` (default:
  the latest ``extract-templates`` run's ``.state/templates.parquet``) to fit
  on, or
- ``model``: a :class:`~moveo.contract.JoblibArtifact` pointing at a run
  of the same feature whose fitted model (``.state/model.joblib``) is reused
  without fitting.

and then transforms every row of every entry:

- :class:`GlobalScaler` (``global-scaler``): standardises the columns with the
  templates' mean and standard deviation (NaN-aware);
- :class:`GlobalKMeans` (``global-kmeans``): k-means on the standardised
  templates (scikit-learn), then every row assigned to its nearest centroid;
- :class:`GlobalWard` (``global-ward``): Ward linkage on the standardised
  templates cut into ``n_clusters``; each cluster's centroid is the mean of its
  templates and every row is assigned to the nearest centroid.

Assignment runs in the numba kernel
:func:`moveo.kernels.clustering.nearest_centroid`. Rows with NaN in any used
column get a null ``cluster`` -- never a guessed one.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import Field

from moveo._fs import atomic_write_joblib
from moveo.contract import (
    GlobalModelParams,
    InputItemLike,
    Inputs,
    InputStream,
    JoblibArtifact,
    JoblibLoadSpec,
    ParquetArtifact,
    load_from_spec,
)
from moveo.features._global import feature_columns, key_frame, matrix, state_path
from moveo.features.base import BaseFeature
from moveo.kernels.clustering import (
    nan_column_stats,
    nearest_centroid,
    rows_complete,
    standardize,
)
from moveo.schema import Columns, PoseConfig

__all__ = [
    "GlobalKMeans",
    "GlobalKMeansModel",
    "GlobalScaler",
    "GlobalScalerModel",
    "GlobalWard",
    "GlobalWardModel",
]

MODEL_FILE = "model.joblib"


def _templates_artifact() -> ParquetArtifact:
    return ParquetArtifact(pattern=".state/templates.parquet")


class GlobalScalerModel(JoblibArtifact):
    """A fitted ``global-scaler`` run (``.state/model.joblib``)."""

    feature: str = "global-scaler"
    load: JoblibLoadSpec = Field(default_factory=JoblibLoadSpec)
    pattern: str = ".state/model.joblib"


class GlobalKMeansModel(JoblibArtifact):
    """A fitted ``global-kmeans`` run (``.state/model.joblib``)."""

    feature: str = "global-kmeans"
    load: JoblibLoadSpec = Field(default_factory=JoblibLoadSpec)
    pattern: str = ".state/model.joblib"


class GlobalWardModel(JoblibArtifact):
    """A fitted ``global-ward`` run (``.state/model.joblib``)."""

    feature: str = "global-ward"
    load: JoblibLoadSpec = Field(default_factory=JoblibLoadSpec)
    pattern: str = ".state/model.joblib"


class _GlobalFeature(BaseFeature, abc.ABC):
    """Fit-then-apply base: load, fit and save a model (``_fit`` / ``_transform``)."""

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results to transform."""

    def __init__(
        self,
        params: Any = None,
        inputs: Any = None,
        *,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        super().__init__(params, inputs, columns=columns, pose=pose)
        self.state: dict[str, Any] | None = None
        self._templates_path: Path | None = None

    def load_state(
        self, run_root: Path, artifact_paths: Any = None, dependency_lookups: Any = None
    ) -> bool:
        """Load the fitted model (this run's, or the ``model`` artifact); else remember templates.

        Returns
        -------
        bool
            True when a fitted model is loaded and :meth:`fit` can be skipped.

        Raises
        ------
        FileNotFoundError
            ``model`` (or ``templates``) was given but its run has no artifact file.
        """
        paths = dict(artifact_paths or {})
        own = state_path(run_root, MODEL_FILE)
        if own.exists():
            self._set_state(load_from_spec(own, JoblibLoadSpec()))
            return True
        p = self.params
        if p.model is not None:
            path = paths.get("model")
            if path is None:
                raise FileNotFoundError(
                    f"{self.name}: model run {p.model.feature}/{p.model.run_id} has no "
                    f"{p.model.pattern}; fit that run first or give 'templates' instead"
                )
            self._set_state(p.model.from_path(path))
            return True
        path = paths.get("templates")
        if path is None:
            raise FileNotFoundError(
                f"{self.name}: templates run {p.templates.feature}/{p.templates.run_id} has no "
                f"file matching {p.templates.pattern!r}; run extract-templates first"
            )
        self._templates_path = Path(path)
        return False

    def _set_state(self, state: Any) -> None:
        if not isinstance(state, dict) or state.get("kind") != self.name:
            kind = state.get("kind") if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"{self.name}: the model artifact holds a {kind!r} model, not a {self.name!r} "
                "one; point 'model' at a run of the same feature"
            )
        self.state = state

    def fit(self, inputs: InputStream) -> None:
        """Fit on the templates remembered by :meth:`load_state`."""
        if self._templates_path is None:
            raise RuntimeError(f"{self.name}: load_state() must run before fit()")
        templates = self.params.templates.from_path(self._templates_path)
        cols = feature_columns(templates, self.columns, self.params.columns, self.name)
        x = matrix(templates, cols)
        x = x[rows_complete(x)]
        if len(x) == 0:
            raise ValueError(f"{self.name}: the templates have no complete rows in {cols}")
        mean, std, _ = nan_column_stats(x)
        scale = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        state = {"kind": self.name, "columns": cols, "mean": mean, "scale": scale}
        state.update(self._fit(standardize(x, mean, scale)))
        self.state = state

    @abc.abstractmethod
    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        """Fit on standardised templates; return extra state (e.g. ``centroids``)."""

    def save_state(self, run_root: Path) -> None:
        """Write the fitted model to ``.state/model.joblib``."""
        if self.state is None:
            raise RuntimeError(f"{self.name}: nothing fitted to save")
        atomic_write_joblib(self.state, state_path(run_root, MODEL_FILE))

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Transform one entry (one output row per input row, in input order)."""
        if self.state is None:
            raise RuntimeError(f"{self.name}: no fitted model; run fit() or load_state()")
        cols = self.state["columns"]
        feature_columns(df, self.columns, cols, self.name)
        x = matrix(df, cols)
        z = standardize(x, self.state["mean"], self.state["scale"])
        return pl.concat([key_frame(df, self.columns), self._transform(z, cols)], how="horizontal")

    def _transform(self, z: np.ndarray, cols: list[str]) -> pl.DataFrame:
        state = self.state
        assert state is not None
        labels, dist = nearest_centroid(z, state["centroids"])
        out = pl.DataFrame(
            {"cluster": labels, "cluster_sq_dist": dist},
            schema={"cluster": pl.Int64, "cluster_sq_dist": pl.Float64},
        )
        # label -1 marks rows with NaN: they get a null cluster, never a guessed one
        return out.with_columns(pl.when(pl.col("cluster") >= 0).then(pl.col("cluster")))


class GlobalScaler(_GlobalFeature):
    """Standardise columns with statistics fitted on the templates (``global-scaler``).

    Output: key columns plus each used column, standardised, named
    ``f"{column}{suffix}"``. NaN stays NaN.
    """

    name = "global-scaler"

    class Params(GlobalModelParams[GlobalScalerModel]):
        """Parameters of :class:`GlobalScaler`.

        Attributes
        ----------
        templates, model
            See :class:`~moveo.contract.GlobalModelParams`.
        columns : list of str or None
            Columns to scale (``None``: every numeric non-key template column).
        suffix : str
            Appended to output column names (default ``"_z"``).
        """

        templates: ParquetArtifact | None = Field(default_factory=_templates_artifact)
        columns: list[str] | None = Field(default=None, min_length=1)
        suffix: str = "_z"

    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        return {}

    def _transform(self, z: np.ndarray, cols: list[str]) -> pl.DataFrame:
        suffix = self.params.suffix
        return pl.DataFrame({f"{c}{suffix}": z[:, j] for j, c in enumerate(cols)})


class GlobalKMeans(_GlobalFeature):
    """K-means on the standardised templates, then nearest-centroid assignment.

    Output: key columns, ``cluster`` (Int64, null for rows with NaN) and
    ``cluster_sq_dist`` (squared distance to the centroid in standardised units).
    """

    name = "global-kmeans"

    class Params(GlobalModelParams[GlobalKMeansModel]):
        """Parameters of :class:`GlobalKMeans`.

        Attributes
        ----------
        templates, model
            See :class:`~moveo.contract.GlobalModelParams`.
        k : int
            Number of clusters (at most the number of complete templates).
        random_state : int
        n_init : int
            K-means restarts.
        max_iter : int
            Iterations per restart.
        columns : list of str or None
            Columns to cluster on (``None``: every numeric non-key template column).
        """

        templates: ParquetArtifact | None = Field(default_factory=_templates_artifact)
        k: int = Field(default=8, ge=1)
        random_state: int = 0
        n_init: int = Field(default=4, ge=1)
        max_iter: int = Field(default=300, ge=1)
        columns: list[str] | None = Field(default=None, min_length=1)

    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        from sklearn.cluster import KMeans

        p = self.params
        if p.k > len(z):
            raise ValueError(
                f"global-kmeans: k={p.k} is larger than the {len(z)} complete templates; "
                "lower k or extract more templates"
            )
        km = KMeans(
            n_clusters=p.k, n_init=p.n_init, max_iter=p.max_iter, random_state=p.random_state
        )
        km.fit(z)
        return {"centroids": np.ascontiguousarray(km.cluster_centers_, dtype=np.float64)}


class GlobalWard(_GlobalFeature):
    """Ward linkage on the standardised templates; rows go to the nearest cluster centroid.

    Output: key columns, ``cluster`` (Int64, null for rows with NaN) and
    ``cluster_sq_dist``.
    """

    name = "global-ward"

    class Params(GlobalModelParams[GlobalWardModel]):
        """Parameters of :class:`GlobalWard`.

        Attributes
        ----------
        templates, model
            See :class:`~moveo.contract.GlobalModelParams`.
        n_clusters : int
            Clusters to cut the tree into (at most the number of complete templates).
        columns : list of str or None
            Columns to cluster on.
        """

        templates: ParquetArtifact | None = Field(default_factory=_templates_artifact)
        n_clusters: int = Field(default=8, ge=1)
        columns: list[str] | None = Field(default=None, min_length=1)

    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        from scipy.cluster.hierarchy import fcluster, linkage

        n = self.params.n_clusters
        if n > len(z):
            raise ValueError(
                f"global-ward: n_clusters={n} is larger than the {len(z)} complete templates; "
                "lower n_clusters or extract more templates"
            )
        if n == 1 or len(z) == 1:
            labels = np.zeros(len(z), dtype=np.int64)
        else:
            tree = linkage(z, method="ward")
            labels = fcluster(tree, t=n, criterion="maxclust").astype(np.int64) - 1
        # relabel by first appearance so cluster ids are stable and dense
        _, first = np.unique(labels, return_index=True)
        order = labels[np.sort(first)]
        remap = {old: new for new, old in enumerate(order)}
        labels = np.array([remap[v] for v in labels], dtype=np.int64)
        centroids = np.vstack([z[labels == c].mean(axis=0) for c in range(len(order))])
        return {"centroids": np.ascontiguousarray(centroids), "n_clusters": int(len(order))}
