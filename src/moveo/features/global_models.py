"""Global features: fit once on templates (or load a fitted model), apply to every entry.

Each feature takes :class:`~moveo.contract.GlobalModelParams`: exactly
one of

- ``templates``: a :class:`~moveo.contract.ParquetArtifact` (default:
  the latest ``extract-templates`` run's ``.state/templates.parquet``) to fit
  on, or
- ``model``: a :class:`~moveo.contract.JoblibArtifact` pointing at a run
  of the same feature whose fitted model (``.state/model.joblib``) is reused
  without fitting.

and then transforms every row of every entry. Defaults, column names and
outputs follow mosaic-behavior 0.17:

- :class:`GlobalScaler` (``global-scaler``): standardises the template columns
  with the templates' mean and standard deviation (population, NaN-aware) and
  writes them under their own names; the other numeric payload columns are
  dropped, the key and bookkeeping columns kept, NaN stays NaN. The scaled
  templates are saved as ``.state/scaled_templates.parquet``, so a clustering
  step can fit on them.
- :class:`GlobalKMeans` (``global-kmeans``): k-means (scikit-learn, ``k=100``,
  ``random_state=42``, ``n_init="auto"``, ``max_iter=300``) on the template
  columns *as given*, then every row assigned to its nearest centroid.
- :class:`GlobalWard` (``global-ward``): Ward linkage on the template columns
  as given, cut into at most ``n_clusters=20``; each cluster's centroid is the
  mean of its templates and every row goes to the nearest centroid. Cluster ids
  are scipy's ``fcluster`` labels, 1 to ``n_clusters``, as in mosaic.

Standardising before clustering is a ``global-scaler`` step in the chain (as in
mosaic), or ``standardize=True`` on the clustering feature itself.

The clustering features emit only the rows whose template columns are all
finite (the others are dropped, as in mosaic) with every other input column
carried through, plus ``cluster`` (Int64) and ``cluster_sq_dist`` (squared
distance to the centroid, in the units clustered). Assignment runs in the numba
kernel :func:`moveo.kernels.clustering.nearest_centroid`.
"""

from __future__ import annotations

import abc
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from moveo._fs import artifact_problems, atomic_write_joblib, atomic_write_parquet
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
from moveo.features._global import feature_columns, matrix, state_path
from moveo.features.base import BaseFeature
from moveo.kernels.clustering import (
    nan_column_stats,
    nearest_centroid,
    rows_complete,
    standardize,
)
from moveo.schema import Columns, PoseConfig

log = logging.getLogger("moveo.features")

__all__ = [
    "GlobalKMeans",
    "GlobalKMeansModel",
    "GlobalScaler",
    "GlobalScalerModel",
    "GlobalWard",
    "GlobalWardModel",
]

MODEL_FILE = "model.joblib"
SCALED_TEMPLATES_FILE = "scaled_templates.parquet"
CLUSTER_SIZES_FILE = "cluster_sizes.parquet"


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


class _ModelState:
    """Load / check / save a fitted model dict at ``.state/model.joblib`` (shared by global models).

    The state is a dict whose ``"kind"`` is the feature name; a run's own file
    is loaded only when its checksum verifies, a ``model`` artifact through its
    load spec (which refuses an unverified pickle unless trusted).
    """

    name: str
    params: Any
    state: dict[str, Any] | None = None  # set by fit() / load_state()

    def _load_model(self, run_root: Path, artifact_paths: Any, instead: str) -> bool:
        """Load this run's model, else the ``model`` artifact's; False when neither applies."""
        own = state_path(run_root, MODEL_FILE)
        if own.exists():
            problems, _ = artifact_problems(own)
            if not problems:
                self._set_state(load_from_spec(own, JoblibLoadSpec()))
                return True
            # this run's own state: never unpickle an unverified file, fit it again
            log.warning("%s: not loading %s (%s); fitting again", self.name, own, problems[0])
        model = self.params.model
        if model is None:
            return False
        path = dict(artifact_paths or {}).get("model")
        if path is None:
            raise FileNotFoundError(
                f"{self.name}: model run {model.feature}/{model.run_id} has no "
                f"{model.pattern}; fit that run first or {instead}"
            )
        self._set_state(model.from_path(path))
        return True

    def _set_state(self, state: Any) -> None:
        if not isinstance(state, dict) or state.get("kind") != self.name:
            kind = state.get("kind") if isinstance(state, dict) else type(state).__name__
            article = "an" if self.name[:1] in "aeiou" else "a"
            raise ValueError(
                f"{self.name}: the model artifact holds a {kind!r} model, not {article} "
                f"{self.name!r} one; point 'model' at a run of the same feature"
            )
        self.state = state

    def save_state(self, run_root: Path) -> None:
        """Write the fitted model to ``.state/model.joblib`` (checksummed)."""
        if self.state is None:
            raise RuntimeError(f"{self.name}: nothing fitted to save")
        atomic_write_joblib(self.state, state_path(run_root, MODEL_FILE))


class _GlobalFeature(_ModelState, BaseFeature, abc.ABC):
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
        self._templates: pl.DataFrame | None = None

    def _standardizes(self) -> bool:
        return bool(getattr(self.params, "standardize", True))

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
        if self._load_model(run_root, artifact_paths, "give 'templates' instead"):
            return True
        p = self.params
        path = dict(artifact_paths or {}).get("templates")
        if path is None:
            raise FileNotFoundError(
                f"{self.name}: templates run {p.templates.feature}/{p.templates.run_id} has no "
                f"file matching {p.templates.pattern!r}; run extract-templates first"
            )
        self._templates_path = Path(path)
        return False

    def fit(self, inputs: InputStream) -> None:
        """Fit on the templates remembered by :meth:`load_state`.

        Only template rows that are finite in every used column take part.
        """
        if self._templates_path is None:
            raise RuntimeError(f"{self.name}: load_state() must run before fit()")
        templates = self.params.templates.from_path(self._templates_path)
        cols = feature_columns(templates, self.columns, self.params.columns, self.name)
        x = matrix(templates, cols)
        complete = rows_complete(x)
        x = x[complete]
        if len(x) == 0:
            raise ValueError(f"{self.name}: the templates have no complete rows in {cols}")
        if self._standardizes():
            mean, std, _ = nan_column_stats(x)
            scale = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        else:
            mean, scale = np.zeros(len(cols)), np.ones(len(cols))
        state = {"kind": self.name, "columns": cols, "mean": mean, "scale": scale}
        z = standardize(x, mean, scale)
        state.update(self._fit(z))
        self.state = state
        self._templates = templates.filter(pl.Series(complete))

    @abc.abstractmethod
    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        """Fit on the (possibly standardised) templates; return extra state."""

    def _design(self, df: pl.DataFrame) -> tuple[list[str], np.ndarray]:
        if self.state is None:
            raise RuntimeError(f"{self.name}: no fitted model; run fit() or load_state()")
        cols = self.state["columns"]
        feature_columns(df, self.columns, cols, self.name)
        z = standardize(matrix(df, cols), self.state["mean"], self.state["scale"])
        return cols, z


class _ClusterFeature(_GlobalFeature):
    """Nearest-centroid assignment: complete rows only, other columns carried through."""

    def _labels(self, raw: np.ndarray) -> np.ndarray:
        return raw  # centroid index -> cluster id

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Assign the rows of one entry to clusters.

        Returns
        -------
        polars.DataFrame
            The rows whose template columns are all finite (input order): the
            key columns, every other input column except the template columns,
            then ``cluster`` (Int64) and ``cluster_sq_dist`` (Float64).
        """
        cols, z = self._design(df)
        keep = rows_complete(z)
        raw, dist = nearest_centroid(z[keep], self.state["centroids"])
        keys = [c for c in self.columns.key_cols() if c in df.columns]
        rest = [c for c in df.columns if c not in keys and c not in set(cols)]
        out = df.filter(pl.Series(keep)).select(keys + rest)
        return out.with_columns(
            pl.Series("cluster", self._labels(raw), dtype=pl.Int64),
            pl.Series("cluster_sq_dist", dist, dtype=pl.Float64),
        )

    def _template_labels(self) -> np.ndarray:
        assert self.state is not None and self._templates is not None
        x = matrix(self._templates, self.state["columns"])
        z = standardize(x, self.state["mean"], self.state["scale"])
        return self._labels(nearest_centroid(z, self.state["centroids"])[0])

    def save_state(self, run_root: Path) -> None:
        """Write ``.state/model.joblib`` and ``.state/cluster_sizes.parquet``.

        ``cluster_sizes.parquet`` counts the templates per cluster (columns
        ``cluster``, ``count``), as mosaic's artifact does.
        """
        super().save_state(run_root)
        if self._templates is not None:
            labels = self._template_labels()
            ids, counts = np.unique(labels, return_counts=True)
            sizes = pl.DataFrame(
                {"cluster": ids, "count": counts}, schema={"cluster": pl.Int64, "count": pl.Int64}
            )
            atomic_write_parquet(sizes, state_path(run_root, CLUSTER_SIZES_FILE))


class GlobalScaler(_GlobalFeature):
    """Standardise the template columns with the templates' statistics (``global-scaler``).

    Output: one row per input row, in input order: the key columns, the
    bookkeeping columns (``time`` and other non-numeric columns), then every
    template column standardised, under its own name (``suffix`` appends to
    the name; mosaic has no suffix). Other numeric payload columns are
    dropped, as in mosaic. NaN stays NaN. The standard deviation is the
    population one (ddof=0, scikit-learn's ``StandardScaler``); a constant
    column is divided by 1.
    """

    name = "global-scaler"
    version = "0.2"  # 0.2: standardised columns under their own names (mosaic's)

    class Params(GlobalModelParams[GlobalScalerModel]):
        """Parameters of :class:`GlobalScaler`.

        Attributes
        ----------
        templates, model
            See :class:`~moveo.contract.GlobalModelParams`.
        columns : list of str or None
            Columns to scale (``None``: every numeric non-key template column).
        suffix : str
            Appended to output column names (default ``""``: the input's own
            names, as mosaic writes them).
        """

        templates: ParquetArtifact | None = Field(default_factory=_templates_artifact)
        columns: list[str] | None = Field(default=None, min_length=1)
        suffix: str = ""

    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        return {}

    def save_state(self, run_root: Path) -> None:
        """Write ``.state/model.joblib`` and ``.state/scaled_templates.parquet``."""
        super().save_state(run_root)
        if self._templates is not None:
            scaled = self.apply(self._templates)
            atomic_write_parquet(scaled, state_path(run_root, SCALED_TEMPLATES_FILE))

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Standardise one entry (one output row per input row, in input order).

        Returns
        -------
        polars.DataFrame
            Key and bookkeeping columns, then the scaled template columns.
        """
        cols, z = self._design(df)
        keys = [c for c in self.columns.key_cols() if c in df.columns]
        template = set(cols)
        meta = set(self.columns.meta_set())
        kept = [
            c
            for c in df.columns
            if c not in keys
            and c not in template
            and (c in meta or not df.schema[c].is_numeric() or df.schema[c] == pl.Boolean)
        ]
        suffix = self.params.suffix
        scaled = [pl.Series(f"{c}{suffix}", z[:, j]) for j, c in enumerate(cols)]
        return df.select(keys + kept).with_columns(scaled)


class GlobalKMeans(_ClusterFeature):
    """K-means on the template columns, then nearest-centroid assignment (``global-kmeans``).

    scikit-learn's ``KMeans`` with mosaic's defaults. Output: see the module
    docstring (complete rows, other input columns, ``cluster`` 0..k-1,
    ``cluster_sq_dist``); ``.state/cluster_sizes.parquet`` counts the templates
    per cluster.
    """

    name = "global-kmeans"
    version = "0.2"  # 0.2: mosaic's defaults, no standardising, complete rows only

    class Params(GlobalModelParams[GlobalKMeansModel]):
        """Parameters of :class:`GlobalKMeans`.

        Attributes
        ----------
        templates, model
            See :class:`~moveo.contract.GlobalModelParams`.
        k : int
            Number of clusters (at most the number of complete templates). Default 100.
        random_state : int
            Seed of the k-means initialisation. Default 42.
        n_init : "auto" or int
            K-means restarts (``"auto"``: scikit-learn's rule). Default ``"auto"``.
        max_iter : int
            Iterations per restart. Default 300.
        standardize : bool
            Standardise the columns with the templates' mean and standard
            deviation before clustering (default ``False``: cluster the columns
            as given, as mosaic does; put a ``global-scaler`` step before).
        columns : list of str or None
            Columns to cluster on (``None``: every numeric non-key template column).
        """

        templates: ParquetArtifact | None = Field(default_factory=_templates_artifact)
        k: int = Field(default=100, ge=1)
        random_state: int = 42
        n_init: Literal["auto"] | int = "auto"
        max_iter: int = Field(default=300, ge=1)
        standardize: bool = False
        columns: list[str] | None = Field(default=None, min_length=1)

        @field_validator("n_init")
        @classmethod
        def _positive(cls, value: Any) -> Any:
            if not isinstance(value, str) and value < 1:
                raise ValueError(f"n_init must be 'auto' or >= 1, got {value}")
            return value

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


class GlobalWard(_ClusterFeature):
    """Ward linkage on the template columns; rows go to the nearest cluster centroid.

    The tree (scipy) is cut into at most ``n_clusters`` clusters; cluster ids
    are scipy's ``fcluster`` labels 1..n (mosaic's numbering) and the centroid
    of a cluster is the mean of its templates. Output: see the module docstring.
    """

    name = "global-ward"
    version = "0.2"  # 0.2: mosaic's defaults and 1-based ids, no standardising

    class Params(GlobalModelParams[GlobalWardModel]):
        """Parameters of :class:`GlobalWard`.

        Attributes
        ----------
        templates, model
            See :class:`~moveo.contract.GlobalModelParams`.
        n_clusters : int
            Largest number of clusters cut from the tree (at most the number of
            complete templates). Default 20.
        method : str
            Linkage method; ``"ward"`` (any case) is the only one accepted, as in mosaic.
        standardize : bool
            Standardise the columns with the templates' statistics first
            (default ``False``, as mosaic).
        columns : list of str or None
            Columns to cluster on.
        """

        templates: ParquetArtifact | None = Field(default_factory=_templates_artifact)
        n_clusters: int = Field(default=20, ge=1)
        method: str = "ward"
        standardize: bool = False
        columns: list[str] | None = Field(default=None, min_length=1)

        @field_validator("method")
        @classmethod
        def _ward_only(cls, value: str) -> str:
            if value.lower() != "ward":
                raise ValueError(f"method must be 'ward' (the only linkage fitted), got {value!r}")
            return "ward"

    def _labels(self, raw: np.ndarray) -> np.ndarray:
        assert self.state is not None
        ids = self.state.get("cluster_ids")
        if ids is None:
            raise ValueError(
                f"{self.name}: the model was fitted by version 0.1 of this feature, which "
                "numbered clusters differently; fit it again from templates"
            )
        return np.asarray(ids, dtype=np.int64)[raw]

    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        from scipy.cluster.hierarchy import fcluster, linkage

        n = self.params.n_clusters
        if n > len(z):
            raise ValueError(
                f"global-ward: n_clusters={n} is larger than the {len(z)} complete templates; "
                "lower n_clusters or extract more templates"
            )
        if n == 1 or len(z) == 1:
            labels = np.ones(len(z), dtype=np.int64)
        else:
            labels = fcluster(linkage(z, method="ward"), t=n, criterion="maxclust")
            labels = labels.astype(np.int64)
        ids = np.unique(labels)
        centroids = np.vstack([z[labels == c].mean(axis=0) for c in ids])
        return {
            "centroids": np.ascontiguousarray(centroids),
            "cluster_ids": ids,
            "n_clusters": int(len(ids)),
        }
