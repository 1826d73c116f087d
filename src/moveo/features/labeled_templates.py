"""``extract-labeled-templates``: templates stratified by ground-truth behaviour label.

Parameters and defaults follow mosaic-behavior 0.17. The labels are the
dataset's ground truth, ``labels/behavior/<group>/<sequence>.parquet``
(:func:`moveo.labels.add_labels`; columns ``id``, ``frame``, ``label``), named
by the required ``labels`` parameter (a
:class:`~moveo.contract.GroundTruthLabelsSource`, ``{}`` for the default), so a
change of the labels makes the run stale like a change of its input.

Fit:

1. one pass over the input: each entry's rows are joined with its labels on
   ``(id, frame)``; only labelled rows take part (entries without labels give
   none), and only *complete* ones (finite in every used column). The labelled
   rows are held in memory for the rest of the fit;
2. each class (label value) gets a quota of templates:

   - ``n_per_class=n``: ``min(n, rows of the class)``;
   - ``n_total=m`` (and no ``n_per_class``): ``m`` shared as evenly as the
     classes allow (a class with fewer rows gives all of them, the rest is
     shared by the others), so rare behaviours are not swamped by common ones;
   - both: ``n_per_class`` per class, then cut evenly down to ``n_total``;
   - neither: every complete labelled row;

3. within each class the templates are drawn exactly as
   :class:`~moveo.features.templates.ExtractTemplates` draws them (the same
   code: a pool of ``pool.size`` rows, default the quota, by ``allocation``,
   capped per entry, then ``strategy`` ``"random"`` or ``"farthest_first"``);
4. ``test_fraction`` of each class's templates (rounded, never all of a
   class) are marked ``split="test"``, the others ``"train"``, at random
   (``random_state``), so a classifier fitted on the templates can be scored
   on held-out ones of every class.

Artifacts: ``.state/templates.parquet`` — the key columns, the used columns,
``label`` (the stored label values) and ``split``; global features fit on it
like on ``extract-templates``' table (``label`` and ``split`` are never used
as feature columns): give them ``templates={"feature":
"extract-labeled-templates"}``. ``.state/template_provenance.parquet`` has one
row per class and entry (``label``, ``group``, ``sequence``, ``count``,
``proportion`` of the class's templates, ``dropped``: the class's labelled
rows of the entry that were not complete).

Per entry the feature passes its input through and adds ``is_template`` and
``template_index``, as ``extract-templates`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import GroundTruthLabelsSource, InputStream, Params
from moveo.features._global import feature_columns, matrix
from moveo.features.templates import ExtractTemplates, PoolConfig, _provenance
from moveo.kernels.clustering import rows_complete

__all__ = ["ExtractLabeledTemplates", "even_quotas"]


def even_quotas(counts: np.ndarray, total: int) -> np.ndarray:
    """Share ``total`` among classes as evenly as their sizes allow (water filling).

    Parameters
    ----------
    counts : numpy.ndarray
        Rows available per class.
    total : int
        Rows wanted in all.

    Returns
    -------
    numpy.ndarray
        int64 quotas, ``quotas <= counts``, summing to ``min(total, counts.sum())``;
        the classes below the common level give all their rows, the level's
        remainder goes to the first classes (in class order) that have rows left.

    Examples
    --------
    >>> even_quotas(np.array([2, 10, 10]), 12).tolist()
    [2, 5, 5]
    >>> even_quotas(np.array([2, 10, 10]), 13).tolist()
    [2, 6, 5]
    """
    counts = np.asarray(counts, dtype=np.int64)
    quotas = np.zeros_like(counts)
    rest = min(int(total), int(counts.sum()))
    while rest > 0:
        free = np.flatnonzero(quotas < counts)
        share = rest // len(free)
        if share == 0:
            quotas[free[:rest]] += 1
            break
        add = np.minimum(counts[free] - quotas[free], share)
        quotas[free] += add
        rest -= int(add.sum())
    return quotas


class ExtractLabeledTemplates(ExtractTemplates):
    """Templates stratified by behaviour label (``extract-labeled-templates``; see module docs).

    Parameters
    ----------
    params : dict or ExtractLabeledTemplates.Params
        ``labels`` is required (``{}``: the dataset's ground truth).
    inputs : tuple, optional
        ``("tracks",)`` (default) or upstream results.
    columns : Columns, optional
        Dataset column names (the runner passes the dataset's).
    """

    name = "extract-labeled-templates"
    version = "0.1"
    scope_dependent = True
    _label_files: dict[tuple[str, str], Path] | None = None  # set by load_state()

    class Params(Params):
        """Parameters of :class:`ExtractLabeledTemplates` (mosaic's names and defaults).

        Attributes
        ----------
        labels : GroundTruthLabelsSource
            The ground-truth labels (required; ``{}`` gives the default source).
        strategy : {"random", "farthest_first"}
            How each class's templates are picked from its pool. Default ``"random"``.
        n_per_class : int or None
            Templates per class (fewer when a class has fewer rows).
        n_total : int or None
            Templates in all, shared evenly among the classes.
        pool : PoolConfig
            The candidate pool of each class (``size``: default the class's quota).
        test_fraction : float
            Share of each class's templates marked ``split="test"``. Default 0.2.
        random_state : int
            Seed of every draw. Default 42.
        columns : list of str or None
            Columns to use; ``None``: every numeric non-key column of the input.
        """

        labels: GroundTruthLabelsSource
        strategy: Literal["random", "farthest_first"] = "random"
        n_per_class: int | None = Field(default=None, ge=1)
        n_total: int | None = Field(default=None, ge=1)
        pool: PoolConfig = Field(default_factory=PoolConfig)
        test_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
        random_state: int = 42
        columns: list[str] | None = Field(default=None, min_length=1)

    def load_state(
        self,
        run_root: Path,
        artifact_paths: Any = None,
        dependency_lookups: Mapping[str, Any] | None = None,
    ) -> bool:
        """Remember the labels files the pipeline resolved; load the templates if present."""
        files = (dependency_lookups or {}).get("labels")
        if files is not None:
            self._label_files = {tuple(k): Path(v) for k, v in dict(files).items()}
        return super().load_state(run_root, artifact_paths, dependency_lookups)

    # -- fit -------------------------------------------------------------------------

    def _labelled(self, inputs: InputStream) -> tuple[list, list[str], dict, dict]:
        """One pass: the complete labelled rows of every entry, joined with their labels."""
        if self._label_files is None:
            raise RuntimeError(
                f"{self.name}: no labels; run it with run_feature / a Pipeline (which "
                "resolves 'labels') or call load_state(..., dependency_lookups={'labels': "
                "{(group, sequence): path}}) first"
            )
        c = self.columns
        cols = self.params.columns
        frames, sizes, totals = [], {}, {}
        for key, df in inputs():
            path = self._label_files.get(tuple(key))
            if path is None:
                continue
            labels = pl.read_parquet(path)
            missing = [col for col in ("id", "frame", "label") if col not in labels.columns]
            if missing:
                raise ValueError(
                    f"{self.name}: labels file {path} has no column(s) {missing}; it needs "
                    "id, frame and label (write it with moveo.labels.add_labels)"
                )
            labels = labels.select(
                pl.col("id").cast(pl.Int64).alias(c.id_col),
                pl.col("frame").cast(pl.Int64).alias(c.frame_col),
                pl.col("label").alias("__label"),
            ).drop_nulls("__label")
            part = df.with_columns(
                pl.col(c.id_col).cast(pl.Int64), pl.col(c.frame_col).cast(pl.Int64)
            ).join(labels, on=[c.id_col, c.frame_col], how="inner", maintain_order="left")
            # columns are chosen on the input (the joined label is not one of them)
            cols = self._columns_of(df, cols) if part.height else cols
            if cols is None:
                continue
            feature_columns(part, c, cols, self.name)
            ok = rows_complete(matrix(part, cols))
            for value, n in part.group_by("__label").len().iter_rows():
                sizes[(key, value)] = n
            totals[key] = part.height
            frames.append((key, part.filter(pl.Series(ok))))
        if cols is None or not any(f.height for _, f in frames):
            raise ValueError(
                f"{self.name}: no labelled row is finite in every used column {cols} "
                f"({len(self._label_files)} labelled entries); check the labels and 'columns'"
            )
        return frames, cols, sizes, totals

    def _quotas(self, counts: np.ndarray) -> np.ndarray:
        p = self.params
        quotas = counts.copy()
        if p.n_per_class is not None:
            quotas = np.minimum(quotas, p.n_per_class)
        if p.n_total is not None:
            quotas = even_quotas(quotas, p.n_total)
        return quotas

    def fit(self, inputs: InputStream) -> None:
        """Draw each class's templates from its labelled rows.

        Raises
        ------
        ValueError
            No complete labelled row, or a labels file without id/frame/label.
        """
        p = self.params
        frames, cols, sizes, _ = self._labelled(inputs)
        self.params = p.model_copy(update={"columns": cols})
        classes = sorted({v for _, f in frames for v in f["__label"].unique().to_list()})
        counts = np.array([sum(int((f["__label"] == v).sum()) for _, f in frames) for v in classes])
        quotas = self._quotas(counts)
        rng = np.random.default_rng(p.random_state)
        tables, provenance = [], []
        for value, quota in zip(classes, quotas, strict=True):
            if quota == 0:
                continue
            per_class = [(k, f.filter(pl.col("__label") == value)) for k, f in frames]
            stream = InputStream.from_frames(per_class)
            size = max(int(quota), min(p.pool.size or 0, int(counts[classes.index(value)])))
            entry, values, keys, n_ok, _, entry_keys, _ = self._select(stream, int(quota), size)
            split = np.full(int(quota), "train", dtype=object)
            n_test = min(int(round(p.test_fraction * quota)), int(quota) - 1)
            split[rng.permutation(int(quota))[:n_test]] = "test"
            dtype = frames[0][1].schema["__label"]
            tables.append(
                pl.concat(
                    [keys, pl.DataFrame(values, schema=cols, orient="row")], how="horizontal"
                ).with_columns(
                    pl.Series("label", [value] * int(quota), dtype=dtype),
                    pl.Series("split", split.tolist(), dtype=pl.String),
                )
            )
            labelled = np.array([sizes.get((k, value), 0) for k in entry_keys])
            prov = _provenance(entry_keys, entry, n_ok, labelled, int(quota))
            provenance.append(prov.select(pl.lit(value, dtype=dtype).alias("label"), pl.all()))
        self.params = p
        self.templates = pl.concat(tables)
        self.provenance = pl.concat(provenance)
        self._index()
