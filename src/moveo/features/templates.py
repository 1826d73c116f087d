"""``extract-templates``: a representative sample of frames across all entries.

Global clustering cannot look at every frame of a large dataset, so it fits on
*templates*: a few thousand rows chosen to represent the whole feature space.
:class:`ExtractTemplates` builds them in two passes over its input:

1. count the complete rows (no NaN in the used columns) of every entry;
2. draw a *pool* of ``pool_size`` complete rows, each entry contributing in
   proportion to its length (so one long recording cannot crowd out the
   others), then pick ``n_templates`` rows from the pool:

   - ``strategy="random"``: uniformly at random;
   - ``strategy="farthest_first"``: greedy farthest-point traversal on the
     standardised columns (:func:`moveo.kernels.farthest.farthest_first`),
     which covers rare regions of feature space that random sampling misses.

The template table (key columns + raw feature values) is saved as the run
artifact ``.state/templates.parquet`` and is what the global features
(:mod:`moveo.features.global_models`) fit on, referenced with
``ParquetArtifact(feature="extract-templates", run_id=...)`` (the default).
Per entry the feature outputs ``is_template`` and ``template_index`` (position
in the template table, null for other rows), one row per input row.

The feature is scope dependent: running it on other entries gives another run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from moveo._fs import atomic_write_parquet
from moveo.contract import InputItemLike, Inputs, InputStream, Params
from moveo.features._global import feature_columns, key_frame, matrix, state_path
from moveo.features.base import BaseFeature
from moveo.kernels.clustering import nan_column_stats, rows_complete, standardize
from moveo.kernels.farthest import farthest_first
from moveo.schema import Columns, PoseConfig

__all__ = ["TEMPLATES_FILE", "ExtractTemplates"]

TEMPLATES_FILE = "templates.parquet"


def _proportional_caps(counts: np.ndarray, total: int) -> np.ndarray:
    # largest-remainder apportionment of ``total`` rows proportional to counts
    n = counts.sum()
    if n <= total:
        return counts.copy()
    exact = counts * (total / n)
    caps = np.floor(exact).astype(np.int64)
    short = total - caps.sum()
    if short > 0:
        order = np.argsort(-(exact - caps), kind="stable")
        caps[order[:short]] += 1
    return np.minimum(caps, counts)


class ExtractTemplates(BaseFeature):
    """Select representative template rows across all entries (see module docs).

    Parameters
    ----------
    params : dict or ExtractTemplates.Params, optional
    inputs : ExtractTemplates.Inputs or tuple, optional
        What to sample from: ``("tracks",)`` (default) or upstream
        :class:`~moveo.contract.Result` items (joined on the row keys).
    columns : Columns, optional
        Dataset column names (the runner passes the dataset's).
    """

    name = "extract-templates"
    scope_dependent = True

    class Params(Params):
        """Parameters of :class:`ExtractTemplates`.

        Attributes
        ----------
        strategy : {"farthest_first", "random"}
            How templates are picked from the pool.
        n_templates : int
            Number of templates.
        pool_size : int
            Rows drawn (proportionally per entry) before picking templates.
        random_state : int
            Seed of the pool draw and the first farthest-first point.
        columns : list of str or None
            Columns to use; ``None``: every numeric non-key column of the input.
        """

        strategy: Literal["farthest_first", "random"] = "farthest_first"
        n_templates: int = Field(default=2000, ge=1)
        pool_size: int = Field(default=100_000, ge=1)
        random_state: int = 0
        columns: list[str] | None = Field(default=None, min_length=1)

        @model_validator(mode="after")
        def _check(self) -> ExtractTemplates.Params:
            if self.pool_size < self.n_templates:
                raise ValueError(
                    f"pool_size ({self.pool_size}) must be >= n_templates ({self.n_templates})"
                )
            return self

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results."""

    def __init__(
        self,
        params: dict[str, Any] | ExtractTemplates.Params | None = None,
        inputs: Any = None,
        *,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        super().__init__(params, inputs, columns=columns, pose=pose)
        self.templates: pl.DataFrame | None = None
        self._lookup: dict[tuple[str, str, int, int], int] = {}

    # -- state -----------------------------------------------------------------------

    def _index(self) -> None:
        c = self.columns
        assert self.templates is not None
        rows = self.templates.select(c.group_col, c.seq_col, c.id_col, c.frame_col).rows()
        self._lookup = {tuple(r): i for i, r in enumerate(rows)}  # type: ignore[misc]

    def load_state(
        self, run_root: Path, artifact_paths: Any = None, dependency_lookups: Any = None
    ) -> bool:
        """Load ``.state/templates.parquet`` if this run already has it."""
        path = state_path(run_root, TEMPLATES_FILE)
        if not path.exists():
            return False
        self.templates = pl.read_parquet(path)
        self._index()
        return True

    def save_state(self, run_root: Path) -> None:
        """Write the template table to ``.state/templates.parquet``."""
        if self.templates is None:
            raise RuntimeError("extract-templates: fit() must run before save_state()")
        atomic_write_parquet(self.templates, state_path(run_root, TEMPLATES_FILE))

    # -- fit -------------------------------------------------------------------------

    def fit(self, inputs: InputStream) -> None:
        """Draw the pool and pick the templates (two passes over ``inputs``).

        Raises
        ------
        ValueError
            Fewer complete rows than ``n_templates`` in the whole input.
        """
        p = self.params
        c = self.columns
        cols: list[str] | None = p.columns
        counts = []
        keys = []
        for key, df in inputs():
            if cols is None and df.height:
                cols = feature_columns(df, c, None, self.name)
            if cols is None:
                counts.append(0)
            else:
                feature_columns(df, c, cols, self.name)
                counts.append(int(rows_complete(matrix(df, cols)).sum()))
            keys.append(key)
        total = int(sum(counts))
        if cols is None or total < p.n_templates:
            raise ValueError(
                f"extract-templates: only {total} rows without NaN in columns {cols} across "
                f"{len(keys)} entries, fewer than n_templates={p.n_templates}; lower "
                "n_templates or add data"
            )
        caps = _proportional_caps(np.asarray(counts, dtype=np.int64), p.pool_size)
        pool_keys = []
        pool_vals = []
        for i, (key, df) in enumerate(inputs()):
            if caps[i] == 0:
                continue
            x = matrix(df, cols)
            ok = np.flatnonzero(rows_complete(x))
            rng = np.random.default_rng([p.random_state, i])
            pick = np.sort(rng.choice(ok, size=int(caps[i]), replace=False))
            part = key_frame(df, c)[pick]
            if c.group_col not in part.columns:
                part = part.with_columns(pl.lit(key[0]).alias(c.group_col))
            if c.seq_col not in part.columns:
                part = part.with_columns(pl.lit(key[1]).alias(c.seq_col))
            pool_keys.append(
                part.select(
                    pl.col(c.group_col).cast(pl.String),
                    pl.col(c.seq_col).cast(pl.String),
                    pl.col(c.id_col).cast(pl.Int64),
                    pl.col(c.frame_col).cast(pl.Int64),
                )
            )
            pool_vals.append(x[pick])
        pool = np.concatenate(pool_vals)
        pool_df = pl.concat(pool_keys)
        rng = np.random.default_rng(p.random_state)
        if p.strategy == "random":
            chosen = np.sort(rng.choice(len(pool), size=p.n_templates, replace=False))
        else:
            mean, std, _ = nan_column_stats(pool)
            z = standardize(pool, mean, std)
            chosen = farthest_first(z, p.n_templates, first=int(rng.integers(len(pool))))
        values = pl.DataFrame(pool[chosen], schema=cols, orient="row")
        self.templates = pl.concat([pool_df[chosen], values], how="horizontal")
        self._index()

    # -- apply -----------------------------------------------------------------------

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Mark the rows of one entry that were chosen as templates.

        Returns
        -------
        polars.DataFrame
            One row per input row: key columns, ``is_template`` (Boolean) and
            ``template_index`` (Int64, null when not a template).
        """
        if self.templates is None:
            raise RuntimeError("extract-templates: no templates; run fit() or load_state()")
        c = self.columns
        keys = key_frame(df, c)
        if df.height == 0:
            idx: list[int | None] = []
        else:
            g = df[c.group_col].to_list() if c.group_col in df.columns else [None] * df.height
            s = df[c.seq_col].to_list() if c.seq_col in df.columns else [None] * df.height
            ids = df[c.id_col].to_list()
            frames = df[c.frame_col].to_list()
            look = self._lookup
            idx = [look.get(k) for k in zip(g, s, ids, frames, strict=True)]
        index = pl.Series("template_index", idx, dtype=pl.Int64)
        return keys.with_columns(index.is_not_null().alias("is_template"), index)
