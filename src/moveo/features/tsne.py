"""``global-tsne``: a t-SNE embedding fitted on templates, every row mapped into it.

Parameters, defaults and output columns follow mosaic-behavior 0.17, whose
parameters are openTSNE's (Poličar, Stražar and Zupan 2024, *openTSNE: a
modular Python library for t-SNE dimensionality reduction and embedding*,
J. Stat. Softw. 109(3)); openTSNE is an optional dependency,
``pip install "moveo[tsne]"``.

Fit (on the templates, or reuse the ``model`` of an earlier run): the
complete template rows (finite in every used column; standardised first with
``standardize=True``) get affinities from ``perplexity`` over the nearest
neighbours found by ``knn_method``, a PCA initialisation, then openTSNE's two
optimisation phases — ``fit.exaggeration_iters`` iterations with
``fit.exaggeration`` and ``fit.exaggeration_momentum``, then ``fit.iters``
with ``fit.momentum`` (``fit.learning_rate="auto"``: ``max(N / exaggeration,
50)`` per phase, Belkina et al. 2019).

Mapping (every entry, every complete row, templates included): openTSNE's
``prepare_partial`` places each row at the median of its ``mapping.k``
nearest templates' embedding positions and ``optimize`` then moves the new
rows only (the template embedding stays fixed) for ``mapping.iters``
iterations with ``mapping.learning_rate``, ``mapping.exaggeration`` and
``mapping.momentum``. New rows do not interact with one another, so a row's
position does not depend on the other rows mapped with it; rows go in chunks
of ``mapping.chunk_size`` to bound memory.

Output, as for the clustering features: the rows whose template columns are
all finite (input order), the key columns and every other input column
except the template columns, then ``tsne_x`` and ``tsne_y`` (Float64).
Artifacts: ``.state/model.joblib`` (the fitted embedding and the column
statistics, sha256-verified) and ``.state/tsne_templates.parquet`` (the key
columns of the complete templates with their fitted ``tsne_x``, ``tsne_y``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo._fs import atomic_write_parquet
from moveo.contract import GlobalModelParams, JoblibArtifact, JoblibLoadSpec, ParquetArtifact
from moveo.features._global import key_frame, matrix, state_path
from moveo.features.global_models import _GlobalFeature, _templates_artifact
from moveo.kernels.clustering import rows_complete
from moveo.schema import StrictModel

__all__ = ["GlobalTsne", "GlobalTsneModel", "TsneFitConfig", "TsneMappingConfig"]

TEMPLATE_EMBEDDING_FILE = "tsne_templates.parquet"


def _opentsne() -> Any:
    try:
        import openTSNE
    except ImportError as err:
        raise ImportError(
            'global-tsne needs openTSNE, an optional dependency of moveo: pip install "moveo[tsne]"'
        ) from err
    return openTSNE


class GlobalTsneModel(JoblibArtifact):
    """A fitted ``global-tsne`` run (``.state/model.joblib``)."""

    feature: str = "global-tsne"
    load: JoblibLoadSpec = Field(default_factory=JoblibLoadSpec)
    pattern: str = ".state/model.joblib"


class TsneFitConfig(StrictModel):
    """Optimisation of the template embedding (mosaic's ``fit``).

    Attributes
    ----------
    learning_rate : "auto" or float
        Step size; ``"auto"``: ``max(N / exaggeration, 50)``.
    exaggeration_iters : int
        Iterations of the early-exaggeration phase. Default 250.
    exaggeration : float
        Early exaggeration. Default 12.
    exaggeration_momentum : float
        Momentum during early exaggeration. Default 0.5.
    iters : int
        Iterations of the second phase. Default 750.
    momentum : float
        Momentum of the second phase. Default 0.8.
    """

    learning_rate: Literal["auto"] | float = "auto"
    exaggeration_iters: int = Field(default=250, ge=0)
    exaggeration: float = Field(default=12.0, gt=0.0)
    exaggeration_momentum: float = Field(default=0.5, ge=0.0, lt=1.0)
    iters: int = Field(default=750, ge=0)
    momentum: float = Field(default=0.8, ge=0.0, lt=1.0)


class TsneMappingConfig(StrictModel):
    """Placement of new rows into the fitted embedding (mosaic's ``mapping``).

    Attributes
    ----------
    k : int
        Nearest templates whose median position starts a new row. Default 25.
    iters : int
        Optimisation iterations of the new rows. Default 100.
    learning_rate : float
        Step size. Default 1.0.
    exaggeration : float
        Exaggeration while placing. Default 2.0.
    momentum : float
        Momentum while placing. Default 0.0.
    chunk_size : int
        Rows placed at a time. Default 50,000.
    """

    k: int = Field(default=25, ge=1)
    iters: int = Field(default=100, ge=0)
    learning_rate: float = Field(default=1.0, gt=0.0)
    exaggeration: float = Field(default=2.0, gt=0.0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    chunk_size: int = Field(default=50_000, ge=1)


class GlobalTsne(_GlobalFeature):
    """t-SNE of the templates; every row mapped into it (``global-tsne``; see module docs)."""

    name = "global-tsne"
    version = "0.1"

    class Params(GlobalModelParams[GlobalTsneModel]):
        """Parameters of :class:`GlobalTsne` (mosaic's names and defaults).

        Attributes
        ----------
        templates, model
            See :class:`~moveo.contract.GlobalModelParams`.
        random_state : int
            Seed of the neighbour search and the initialisation. Default 42.
        perplexity : float
            Effective number of neighbours of each template. Default 50.
        knn_method : {"annoy", "exact", "auto", "pynndescent", "hnsw"}
            openTSNE's neighbour search. Default ``"annoy"`` (bundled with openTSNE).
        n_jobs : int
            Threads openTSNE uses. Default 8.
        fit : TsneFitConfig
            The template embedding's optimisation.
        mapping : TsneMappingConfig
            How rows are placed into the embedding.
        standardize : bool
            Standardise the columns with the templates' statistics first
            (default ``False``, as mosaic embeds the columns as given).
        columns : list of str or None
            Columns to embed (``None``: every numeric non-key template column).
        """

        templates: ParquetArtifact | None = Field(default_factory=_templates_artifact)
        random_state: int = 42
        perplexity: float = Field(default=50.0, gt=0.0)
        knn_method: Literal["annoy", "exact", "auto", "pynndescent", "hnsw"] = "annoy"
        n_jobs: int = Field(default=8, ge=1)
        fit: TsneFitConfig = Field(default_factory=TsneFitConfig)
        mapping: TsneMappingConfig = Field(default_factory=TsneMappingConfig)
        standardize: bool = False
        columns: list[str] | None = Field(default=None, min_length=1)

    def load_state(
        self, run_root: Path, artifact_paths: Any = None, dependency_lookups: Any = None
    ) -> bool:
        """Check that openTSNE is installed (a saved model needs it too), then load or fit.

        Raises
        ------
        ImportError
            openTSNE is missing; the message names the ``moveo[tsne]`` extra.
        """
        _opentsne()
        return super().load_state(run_root, artifact_paths, dependency_lookups)

    def _fit(self, z: np.ndarray) -> dict[str, Any]:
        ot = _opentsne()
        p = self.params
        need = int(np.ceil(3 * p.perplexity)) + 1
        if len(z) <= need:
            raise ValueError(
                f"global-tsne: perplexity={p.perplexity} needs more than {need} complete "
                f"templates (3 x perplexity neighbours each), got {len(z)}; lower perplexity "
                "or extract more templates"
            )
        f = p.fit
        tsne = ot.TSNE(
            n_components=2,
            perplexity=p.perplexity,
            learning_rate=f.learning_rate,
            early_exaggeration_iter=f.exaggeration_iters,
            early_exaggeration=f.exaggeration,
            n_iter=f.iters,
            initial_momentum=f.exaggeration_momentum,
            final_momentum=f.momentum,
            neighbors=p.knn_method,
            n_jobs=p.n_jobs,
            random_state=p.random_state,
        )
        embedding = tsne.fit(z)
        return {"embedding": embedding}

    def _map(self, z: np.ndarray) -> np.ndarray:
        assert self.state is not None
        m = self.params.mapping
        out = np.empty((len(z), 2))
        for start in range(0, len(z), m.chunk_size):
            chunk = z[start : start + m.chunk_size]
            part = self.state["embedding"].prepare_partial(chunk, k=m.k)
            part = part.optimize(
                n_iter=m.iters,
                learning_rate=m.learning_rate,
                exaggeration=m.exaggeration,
                momentum=m.momentum,
            )
            out[start : start + len(chunk)] = np.asarray(part)
        return out

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Map the complete rows of one entry into the embedding.

        Returns
        -------
        polars.DataFrame
            The rows whose template columns are all finite (input order): the
            key columns, every other input column except the template columns,
            then ``tsne_x`` and ``tsne_y`` (Float64).
        """
        cols, z = self._design(df)
        keep = rows_complete(z)
        xy = self._map(np.ascontiguousarray(z[keep])) if keep.any() else np.empty((0, 2))
        keys = [c for c in self.columns.key_cols() if c in df.columns]
        rest = [c for c in df.columns if c not in keys and c not in set(cols)]
        out = df.filter(pl.Series(keep)).select(keys + rest)
        return out.with_columns(
            pl.Series("tsne_x", xy[:, 0], dtype=pl.Float64),
            pl.Series("tsne_y", xy[:, 1], dtype=pl.Float64),
        )

    def save_state(self, run_root: Path) -> None:
        """Write ``.state/model.joblib`` and ``.state/tsne_templates.parquet``."""
        super().save_state(run_root)
        if self._templates_path is not None and self.state is not None:
            # the raw table keeps group / sequence (the parquet load spec keeps numbers only)
            raw = pl.read_parquet(self._templates_path)
            raw = raw.filter(pl.Series(rows_complete(matrix(raw, self.state["columns"]))))
            xy = np.asarray(self.state["embedding"])
            table = key_frame(raw, self.columns).with_columns(
                pl.Series("tsne_x", xy[:, 0], dtype=pl.Float64),
                pl.Series("tsne_y", xy[:, 1], dtype=pl.Float64),
            )
            atomic_write_parquet(table, state_path(run_root, TEMPLATE_EMBEDDING_FILE))
