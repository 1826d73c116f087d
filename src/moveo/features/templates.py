"""``extract-templates``: a representative sample of frames across all entries.

Global clustering cannot look at every frame of a large dataset, so it fits on
*templates*: rows chosen to represent the whole feature space. Parameters,
defaults and artifacts follow mosaic-behavior 0.17. Only rows finite in every
used column (*complete* rows) are sampled. :class:`ExtractTemplates`

1. draws a candidate *pool* of ``pool.size`` complete rows (default
   ``n_templates``) from all entries, each entry contributing in proportion to
   its number of complete rows, at most ``max(pool.max_entry_fraction,
   1 / n_entries)`` of the pool:

   - ``pool.allocation="reservoir"`` (default): one pass. Every complete row
     gets a random key (uniform, from a generator seeded by ``random_state``
     and the entry's position); the pool is the rows with the smallest keys,
     at most the cap per entry. Without a cap this is a uniform sample without
     replacement of all complete rows;
   - ``pool.allocation="exact"``: two passes. Count the complete rows of each
     entry, give each entry a quota proportional to its count (largest
     remainders, capped, the surplus handed to the others), then draw each
     entry's quota uniformly.

2. picks ``n_templates`` rows of the pool:

   - ``strategy="random"`` (default): uniformly at random (the whole pool when
     it has ``n_templates`` rows, as it does by default);
   - ``strategy="farthest_first"``: greedy farthest-point traversal on the
     standardised columns (:func:`moveo.kernels.farthest.farthest_first`),
     which covers rare regions of feature space that random sampling misses.

Artifacts: ``.state/templates.parquet`` (key columns + the raw values of the
used columns; what the global features in :mod:`moveo.features.global_models`
fit on, referenced with ``ParquetArtifact(feature="extract-templates", ...)``)
and ``.state/template_provenance.parquet`` (per entry: ``group``,
``sequence``, ``count`` and ``proportion`` of the templates drawn from it and
the rows ``dropped`` because a used column was not finite).

Per entry the feature passes its input through (as mosaic does) and adds
``is_template`` and ``template_index`` (position in the template table, null
for other rows), one row per input row. The feature is scope dependent:
running it on other entries gives another run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo._fs import atomic_write_parquet
from moveo.contract import InputItemLike, Inputs, InputStream, Params
from moveo.features._global import feature_columns, key_frame, matrix, state_path
from moveo.features.base import BaseFeature
from moveo.kernels.clustering import nan_column_stats, rows_complete, standardize
from moveo.kernels.farthest import farthest_first
from moveo.schema import Columns, PoseConfig, StrictModel

__all__ = ["PROVENANCE_FILE", "TEMPLATES_FILE", "ExtractTemplates", "PoolConfig"]

TEMPLATES_FILE = "templates.parquet"
PROVENANCE_FILE = "template_provenance.parquet"


class PoolConfig(StrictModel):
    """The candidate pool of :class:`ExtractTemplates` (mosaic's ``pool``).

    Attributes
    ----------
    size : int or None
        Candidates drawn before the templates are picked; ``None``: ``n_templates``.
    allocation : {"reservoir", "exact"}
        One-pass reservoir sampling, or a counting pass then proportional quotas.
    max_entry_fraction : float or None
        Cap on one entry's share of the pool (0..1); never below one over the
        number of entries, so the pool can always fill. ``None``: no cap.
    """

    size: int | None = Field(default=None, ge=1)
    allocation: Literal["reservoir", "exact"] = "reservoir"
    max_entry_fraction: float | None = Field(default=None, ge=0.0, le=1.0)


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


def _capped_quotas(counts: np.ndarray, total: int, cap: int) -> np.ndarray:
    """Quotas proportional to ``counts`` summing to ``min(total, capped supply)``.

    Entries whose proportional share exceeds ``cap`` get ``cap``; what they
    give up is shared among the others in proportion, repeatedly.
    """
    limit = np.minimum(counts, cap)
    quotas = np.zeros_like(counts)
    want = min(int(total), int(limit.sum()))
    while True:
        rest = want - int(quotas.sum())
        free = quotas < limit
        if rest <= 0 or not free.any():
            break
        # proportional to the counts of the entries still below their cap
        share = _proportional_caps(np.where(free, counts, 0), rest)
        share = np.minimum(share, limit - quotas)
        if share.sum() == 0:  # rounding gave nothing: one row to the largest entry left
            share[np.argmax(np.where(free, counts, -1))] = 1
        quotas += share
    return quotas


def _provenance(
    keys: list[tuple[str, str]],
    chosen_entry: np.ndarray,
    counts: np.ndarray,
    sizes: np.ndarray,
    n_templates: int,
) -> pl.DataFrame:
    # per entry: templates drawn from it, their share, rows dropped for NaN
    per_entry = np.bincount(chosen_entry, minlength=len(keys))
    return pl.DataFrame(
        {
            "group": [k[0] for k in keys],
            "sequence": [k[1] for k in keys],
            "count": per_entry.astype(np.int64),
            "proportion": per_entry / max(n_templates, 1),
            "dropped": (np.asarray(sizes) - counts).astype(np.int64),
        },
        schema={
            "group": pl.String,
            "sequence": pl.String,
            "count": pl.Int64,
            "proportion": pl.Float64,
            "dropped": pl.Int64,
        },
    )


class ExtractTemplates(BaseFeature):
    """Select representative template rows across all entries (see module docs).

    Parameters
    ----------
    params : dict or ExtractTemplates.Params, optional
        ``n_templates`` is required.
    inputs : ExtractTemplates.Inputs or tuple, optional
        What to sample from: ``("tracks",)`` (default) or upstream
        :class:`~moveo.contract.Result` items (joined on the row keys).
    columns : Columns, optional
        Dataset column names (the runner passes the dataset's).
    """

    name = "extract-templates"
    version = "0.2"  # 0.2: mosaic's parameters and defaults, passthrough output
    scope_dependent = True

    class Params(Params):
        """Parameters of :class:`ExtractTemplates` (mosaic's names and defaults).

        Attributes
        ----------
        n_templates : int
            Number of templates (required).
        strategy : {"random", "farthest_first"}
            How templates are picked from the pool. Default ``"random"``.
        pool : PoolConfig
            Size, allocation and per-entry cap of the candidate pool.
        random_state : int
            Seed of every random draw. Default 42.
        columns : list of str or None
            Columns to use; ``None``: every numeric non-key column of the input.
        """

        n_templates: int = Field(ge=1)
        strategy: Literal["random", "farthest_first"] = "random"
        pool: PoolConfig = Field(default_factory=PoolConfig)
        random_state: int = 42
        columns: list[str] | None = Field(default=None, min_length=1)

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
        self.provenance: pl.DataFrame | None = None
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
        prov = state_path(run_root, PROVENANCE_FILE)
        self.provenance = pl.read_parquet(prov) if prov.exists() else None
        self._index()
        return True

    def save_state(self, run_root: Path) -> None:
        """Write ``.state/templates.parquet`` and ``.state/template_provenance.parquet``."""
        if self.templates is None:
            raise RuntimeError(f"{self.name}: fit() must run before save_state()")
        atomic_write_parquet(self.templates, state_path(run_root, TEMPLATES_FILE))
        if self.provenance is not None:
            atomic_write_parquet(self.provenance, state_path(run_root, PROVENANCE_FILE))

    # -- fit -------------------------------------------------------------------------

    def _keys(self, df: pl.DataFrame, key: tuple[str, str], rows: np.ndarray) -> pl.DataFrame:
        c = self.columns
        part = key_frame(df, c)[rows]
        if c.group_col not in part.columns:
            part = part.with_columns(pl.lit(key[0]).alias(c.group_col))
        if c.seq_col not in part.columns:
            part = part.with_columns(pl.lit(key[1]).alias(c.seq_col))
        return part.select(
            pl.col(c.group_col).cast(pl.String),
            pl.col(c.seq_col).cast(pl.String),
            pl.col(c.id_col).cast(pl.Int64),
            pl.col(c.frame_col).cast(pl.Int64),
        )

    def _cap(self, size: int, n_entries: int) -> int:
        frac = self.params.pool.max_entry_fraction
        if frac is None:
            return size
        return int(np.ceil(max(frac, 1.0 / max(n_entries, 1)) * size - 1e-9))

    def fit(self, inputs: InputStream) -> None:
        """Draw the pool and pick the templates.

        Raises
        ------
        ValueError
            Fewer complete rows than ``n_templates`` (or than the pool size) in
            the whole input.
        """
        p = self.params
        chosen_entry, values, chosen_keys, counts, sizes, keys, cols = self._select(
            inputs, p.n_templates, p.pool.size or p.n_templates
        )
        self.templates = pl.concat(
            [chosen_keys, pl.DataFrame(values, schema=cols, orient="row")], how="horizontal"
        )
        self.provenance = _provenance(keys, chosen_entry, counts, sizes, p.n_templates)
        self._index()

    def _select(self, inputs: InputStream, n_templates: int, size: int) -> tuple:
        """Draw a pool of ``size`` complete rows and pick ``n_templates`` of it.

        Returns
        -------
        tuple
            ``(entry index of each chosen row, their values, their key frame,
            complete rows per entry, rows per entry, entry keys, columns)``.
        """
        p = self.params
        if size < n_templates:
            raise ValueError(
                f"{self.name}: pool.size={size} is smaller than "
                f"n_templates={n_templates}; the templates are picked from the pool"
            )
        cap = self._cap(size, inputs.n_entries)
        sample = self._reservoir if p.pool.allocation == "reservoir" else self._exact
        entry, pool, pool_keys, counts, sizes, keys, cols = sample(inputs, size, cap)
        total = int(counts.sum())
        if cols is None or len(entry) < n_templates:
            raise ValueError(
                f"{self.name}: only {total} rows without NaN in columns {cols} across "
                f"{len(keys)} entries (a pool of {len(entry)}), fewer than n_templates="
                f"{n_templates}; lower n_templates or add data"
            )
        rng = np.random.default_rng(p.random_state)
        if p.strategy == "random":
            if len(pool) == n_templates:
                chosen = np.arange(len(pool))
            else:
                chosen = np.sort(rng.choice(len(pool), size=n_templates, replace=False))
        else:
            mean, std, _ = nan_column_stats(pool)
            z = standardize(pool, mean, std)
            chosen = farthest_first(z, n_templates, first=int(rng.integers(len(pool))))
        return entry[chosen], pool[chosen], pool_keys[chosen], counts, sizes, keys, cols

    def _columns_of(self, df: pl.DataFrame, cols: list[str] | None) -> list[str] | None:
        if cols is None and df.height:
            return feature_columns(df, self.columns, None, self.name)
        if cols is not None:
            feature_columns(df, self.columns, cols, self.name)
        return cols

    def _reservoir(self, inputs: InputStream, size: int, cap: int) -> tuple:
        # bottom-k sketch: the rows with the smallest random keys are a uniform
        # sample without replacement; the per-entry cap keeps an entry's smallest
        # ``cap`` keys only. One pass; at most ``size`` candidates held in memory.
        cols = self.params.columns
        counts, sizes, keys = [], [], []
        best_key = np.empty(0)
        best_entry = np.empty(0, dtype=np.int64)
        best_row = np.empty(0, dtype=np.int64)
        best_vals: np.ndarray | None = None
        best_frame: pl.DataFrame | None = None
        for i, (key, df) in enumerate(inputs()):
            keys.append(key)
            sizes.append(df.height)
            cols = self._columns_of(df, cols)
            if cols is None:
                counts.append(0)
                continue
            x = matrix(df, cols)
            ok = np.flatnonzero(rows_complete(x))
            counts.append(len(ok))
            if not len(ok):
                continue
            u = np.random.default_rng([self.params.random_state, i]).random(len(ok))
            m = min(cap, size, len(ok))
            take = np.argpartition(u, m - 1)[:m] if m < len(ok) else np.arange(len(ok))
            rows = ok[take]
            best_key = np.concatenate([best_key, u[take]])
            best_entry = np.concatenate([best_entry, np.full(m, i, dtype=np.int64)])
            best_row = np.concatenate([best_row, rows])
            new_frame = self._keys(df, key, rows)
            best_vals = x[rows] if best_vals is None else np.concatenate([best_vals, x[rows]])
            best_frame = new_frame if best_frame is None else pl.concat([best_frame, new_frame])
            if len(best_key) > size:
                keep = np.sort(np.argpartition(best_key, size - 1)[:size])
                best_key, best_entry, best_row = best_key[keep], best_entry[keep], best_row[keep]
                best_vals = best_vals[keep]
                best_frame = best_frame[keep]
        order = np.lexsort((best_row, best_entry))
        vals = best_vals[order] if best_vals is not None else np.empty((0, len(cols or [])))
        frame = best_frame[order] if best_frame is not None else None
        return (
            best_entry[order],
            vals,
            frame,
            np.asarray(counts, dtype=np.int64),
            np.asarray(sizes),
            keys,
            cols,
        )

    def _exact(self, inputs: InputStream, size: int, cap: int) -> tuple:
        cols = self.params.columns
        counts, sizes, keys = [], [], []
        for key, df in inputs():
            keys.append(key)
            sizes.append(df.height)
            cols = self._columns_of(df, cols)
            counts.append(0 if cols is None else int(rows_complete(matrix(df, cols)).sum()))
        counts_a = np.asarray(counts, dtype=np.int64)
        quotas = _capped_quotas(counts_a, size, cap)
        entries, vals, frames = [], [], []
        for i, (key, df) in enumerate(inputs()):
            if quotas[i] == 0:
                continue
            x = matrix(df, cols)
            ok = np.flatnonzero(rows_complete(x))
            rng = np.random.default_rng([self.params.random_state, i])
            pick = np.sort(rng.choice(ok, size=int(quotas[i]), replace=False))
            entries.append(np.full(len(pick), i, dtype=np.int64))
            vals.append(x[pick])
            frames.append(self._keys(df, key, pick))
        if not entries:
            return np.empty(0, dtype=np.int64), None, None, counts_a, np.asarray(sizes), keys, cols
        return (
            np.concatenate(entries),
            np.concatenate(vals),
            pl.concat(frames),
            counts_a,
            np.asarray(sizes),
            keys,
            cols,
        )

    # -- apply -----------------------------------------------------------------------

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Pass one entry through and mark the rows chosen as templates.

        Returns
        -------
        polars.DataFrame
            One row per input row: the input's columns, ``is_template``
            (Boolean) and ``template_index`` (Int64, null when not a template).
        """
        if self.templates is None:
            raise RuntimeError(f"{self.name}: no templates; run fit() or load_state()")
        c = self.columns
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
        keys = key_frame(df, c)
        rest = [col for col in df.columns if col not in keys.columns]
        return df.select(keys.columns + rest).with_columns(
            index.is_not_null().alias("is_template"), index
        )
