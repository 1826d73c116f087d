"""``arhmm``: an autoregressive hidden Markov model fitted on every entry; one syllable per row.

Parameters, defaults and the output column follow mosaic-behavior 0.17. The
model and its EM fit are in :mod:`moveo.kernels.arhmm` (Gaussian AR(``n_lags``)
emissions per discrete state, sticky transitions, log-space Baum-Welch with
the numba forward-backward of :mod:`moveo.kernels.hmm`).

Fit (unless ``model`` names a fitted ``arhmm`` run):

1. every entry of the input is read; the used ``columns`` (default: every
   numeric non-key column) of each individual's rows, sorted by frame, are cut
   into *segments* of consecutive frames (a missing frame starts a new one);
2. ``downsample_rate=r`` keeps every ``r``-th row of each segment (lags are
   then ``r`` frames);
3. ``standardize=True`` (default) centres and scales each column by its mean
   and standard deviation over the fitted rows; ``pca_dim`` then projects onto
   that many principal components;
4. EM runs ``n_restarts`` times (seeds ``(random_state, restart)``), at most
   ``n_iter`` iterations each, stopping when the penalised log-likelihood per
   frame improves by less than ``tol``; the restart with the best objective is
   kept;
5. states whose share of the frames (posterior usage) is below
   ``prune_threshold`` are removed (the transitions renormalised); the others
   are numbered by usage, ``syllable`` 0 being the most used.

Apply: each entry's segments are decoded with Viterbi (the most probable state
path); frames dropped by ``downsample_rate`` take the syllable of the kept
frame before them in their segment. ``syllable`` (Int64) is null on rows whose
AR emission is undefined: a used column is not finite in the row or in one of
its ``n_lags`` predecessors, or the row is among the first ``n_lags`` of its
segment.

State: ``.state/model.joblib`` (sha256-verified, :func:`moveo._fs.atomic_write_joblib`)
holding the arrays and the EM history; ``model={"run_id": ...}`` reuses it
without fitting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field

from moveo.contract import (
    InputItemLike,
    Inputs,
    InputStream,
    JoblibArtifact,
    JoblibLoadSpec,
    Params,
)
from moveo.features._global import feature_columns, key_frame, matrix
from moveo.features.base import BaseFeature
from moveo.features.global_models import _ModelState
from moveo.kernels.arhmm import ArhmmFit, decode, fit_arhmm
from moveo.kernels.clustering import nan_column_stats, rows_complete, standardize
from moveo.schema import Columns

__all__ = ["Arhmm", "ArhmmModel"]


class ArhmmModel(JoblibArtifact):
    """A fitted ``arhmm`` run (``.state/model.joblib``)."""

    feature: str = "arhmm"
    load: JoblibLoadSpec = Field(default_factory=JoblibLoadSpec)
    pattern: str = ".state/model.joblib"


def _segments(df: pl.DataFrame, columns: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Row order by (id, frame) and segment offsets (in that order) of consecutive frames."""
    ids = df[columns.id_col].cast(pl.Int64).fill_null(-(2**62)).to_numpy()
    frames = df[columns.frame_col].cast(pl.Int64).to_numpy()
    order = np.lexsort((frames, ids))
    ids, frames = ids[order], frames[order]
    brk = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        brk[1:] = (ids[1:] != ids[:-1]) | (frames[1:] != frames[:-1] + 1)
    starts = np.flatnonzero(brk)
    return order, np.concatenate([starts, [len(order)]]).astype(np.int64)


def _downsample(offsets: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kept positions, their offsets and, for every row, the kept row it takes its state from."""
    lengths = np.diff(offsets)
    pos = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths)
    kept = np.flatnonzero(pos % rate == 0)
    new_len = (lengths + rate - 1) // rate
    new_off = np.concatenate([[0], np.cumsum(new_len)]).astype(np.int64)
    seg = np.repeat(np.arange(len(lengths)), lengths)
    source = new_off[:-1][seg] + pos // rate
    return kept, new_off, source


class Arhmm(_ModelState, BaseFeature):
    """Autoregressive HMM syllables, fitted on all entries (``arhmm``; see the module docs).

    Parameters
    ----------
    params : dict or Arhmm.Params, optional
    inputs : Arhmm.Inputs or tuple, optional
        ``("tracks",)`` (default) or upstream results, e.g. a speed-angvel run.
    columns : Columns, optional
        Dataset column names (the runner passes the dataset's).
    """

    name = "arhmm"
    version = "0.1"
    scope_dependent = True

    class Params(Params):
        """Parameters of :class:`Arhmm` (mosaic's names and defaults).

        Attributes
        ----------
        model : ArhmmModel or None
            A fitted ``arhmm`` run to reuse instead of fitting (default: fit).
        pca_dim : int or None
            Principal components kept after standardising (``None``: all columns).
        n_states : int
            States before pruning. Default 50.
        n_lags : int
            AR order. Default 1.
        sticky_weight : float
            Pseudo self-transitions per state (the sticky prior). Default 100.
        n_iter : int
            Largest number of EM iterations per restart. Default 200.
        tol : float
            Stop when the objective per frame improves by less. Default 1e-4.
        n_restarts : int
            EM runs from different seeds; the best is kept. Default 1.
        standardize : bool
            Standardise the columns first. Default True.
        downsample_rate : int or None
            Fit and decode every ``downsample_rate``-th frame. Default ``None``.
        prune_threshold : float
            States used by a smaller share of the frames are removed. Default 0.01.
        random_state : int
            Seed of the k-means start. Default 42.
        columns : list of str or None
            Columns to model (``None``: every numeric non-key input column).
        backend : {"auto", "numba"}
            Compute backend; moveo has one, the numba kernels (``"auto"`` picks it).
        """

        model: ArhmmModel | None = None
        pca_dim: int | None = Field(default=None, ge=1)
        n_states: int = Field(default=50, ge=1)
        n_lags: int = Field(default=1, ge=1)
        sticky_weight: float = Field(default=100.0, ge=0.0)
        n_iter: int = Field(default=200, ge=1)
        tol: float = Field(default=1e-4, ge=0.0)
        n_restarts: int = Field(default=1, ge=1)
        standardize: bool = True
        downsample_rate: int | None = Field(default=None, ge=1)
        prune_threshold: float = Field(default=0.01, ge=0.0, lt=1.0)
        random_state: int = 42
        columns: list[str] | None = Field(default=None, min_length=1)
        backend: Literal["auto", "numba"] = "auto"

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results."""

    # -- state -----------------------------------------------------------------------

    def load_state(
        self, run_root: Path, artifact_paths: Any = None, dependency_lookups: Any = None
    ) -> bool:
        """Load this run's fitted model, or the ``model`` run's.

        Returns
        -------
        bool
            True when a model is loaded (no fit needed).

        Raises
        ------
        FileNotFoundError
            ``model`` names a run without ``.state/model.joblib``.
        """
        return self._load_model(run_root, artifact_paths, "leave 'model' unset")

    # -- fit -------------------------------------------------------------------------

    def _entry_rows(self, df: pl.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
        # sorted values and segment offsets of one entry, downsampled
        order, offsets = _segments(df, self.columns)
        x = matrix(df, cols)[order]
        rate = self.params.downsample_rate
        if rate and rate > 1:
            kept, offsets, _ = _downsample(offsets, rate)
            x = x[kept]
        return x, offsets

    def _project(self, x: np.ndarray) -> np.ndarray:
        assert self.state is not None
        z = standardize(x, self.state["mean"], self.state["scale"])
        comp = self.state["components"]
        return z if comp is None else np.ascontiguousarray(z @ comp.T)

    def fit(self, inputs: InputStream) -> None:
        """Fit the ARHMM on every entry of ``inputs``.

        Raises
        ------
        ValueError
            Missing columns, ``pca_dim`` above the number of columns, or fewer
            usable frames than ``n_states``.
        """
        p = self.params
        cols = p.columns
        parts, offs, n_rows = [], [], 0
        for _, df in inputs():
            if cols is None and df.height:
                cols = feature_columns(df, self.columns, None, self.name)
            if cols is None:
                continue
            feature_columns(df, self.columns, cols, self.name)
            x, offsets = self._entry_rows(df, cols)
            parts.append(x)
            offs.append(offsets[1:] + n_rows)
            n_rows += len(x)
        if cols is None or not parts:
            raise ValueError("arhmm: the input has no rows to fit on")
        x = np.vstack(parts)
        offsets = np.concatenate([[0], *offs]).astype(np.int64)
        if p.pca_dim is not None and p.pca_dim > len(cols):
            raise ValueError(
                f"arhmm: pca_dim={p.pca_dim} is larger than the {len(cols)} columns {cols}"
            )
        if p.standardize:
            mean, std, _ = nan_column_stats(x)
            scale = np.where(np.isfinite(std) & (std > 0), std, 1.0)
            mean = np.where(np.isfinite(mean), mean, 0.0)
        else:
            mean, scale = np.zeros(len(cols)), np.ones(len(cols))
        self.state = {
            "kind": self.name,
            "columns": list(cols),
            "mean": mean,
            "scale": scale,
            "components": None,
        }
        z = self._project(x)
        if p.pca_dim is not None:
            ok = z[rows_complete(z)]
            if len(ok) == 0:
                raise ValueError(f"arhmm: no row is finite in every column of {cols}")
            _, _, vt = np.linalg.svd(ok - ok.mean(axis=0), full_matrices=False)
            self.state["components"] = np.ascontiguousarray(vt[: p.pca_dim])
            z = np.ascontiguousarray(z @ self.state["components"].T)
        best: ArhmmFit | None = None
        for restart in range(p.n_restarts):
            fit = fit_arhmm(
                z,
                offsets,
                n_states=p.n_states,
                n_lags=p.n_lags,
                sticky_weight=p.sticky_weight,
                n_iter=p.n_iter,
                tol=p.tol,
                random_state=np.random.default_rng([p.random_state, restart]),
            )
            if best is None or fit.objective[-1] > best.objective[-1]:
                best = fit
        assert best is not None
        keep = np.flatnonzero(best.usage >= p.prune_threshold)
        if len(keep) == 0:
            keep = np.array([int(np.argmax(best.usage))])
        keep = keep[np.argsort(-best.usage[keep], kind="stable")]
        model = best.subset(keep)
        self.state.update(
            {
                "n_lags": p.n_lags,
                "downsample_rate": p.downsample_rate,
                "log_pi": model.log_pi,
                "log_a": model.log_a,
                "weights": model.weights,
                "covs": model.covs,
                "usage": model.usage,
                "objective": np.asarray(best.objective),
                "loglik": np.asarray(best.loglik),
                "converged": best.converged,
                "n_states_fitted": p.n_states,
            }
        )

    # -- apply -----------------------------------------------------------------------

    def model(self) -> ArhmmFit:
        """Return the fitted model (states numbered as the syllables)."""
        if self.state is None:
            raise RuntimeError("arhmm: no fitted model; run fit() or load_state()")
        s = self.state
        return ArhmmFit(
            s["log_pi"],
            s["log_a"],
            s["weights"],
            s["covs"],
            s["usage"],
            list(s["objective"]),
            list(s["loglik"]),
            bool(s["converged"]),
        )

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Decode one entry.

        Returns
        -------
        polars.DataFrame
            One row per input row, in input order: the key columns and
            ``syllable`` (Int64; null where the AR emission is undefined).
        """
        fit = self.model()
        cols = self.state["columns"]
        feature_columns(df, self.columns, cols, self.name)
        order, offsets = _segments(df, self.columns)
        z = self._project(matrix(df, cols)[order])
        rate = self.state["downsample_rate"]
        syllable = np.zeros(df.height, dtype=np.int64)
        valid = np.zeros(df.height, dtype=bool)
        if df.height:
            if rate and rate > 1:
                kept, sub_off, source = _downsample(offsets, rate)
                states, observed = decode(fit, z[kept], sub_off, self.state["n_lags"])
                states, observed = states[source], observed[source]
            else:
                states, observed = decode(fit, z, offsets, self.state["n_lags"])
            syllable[order] = states
            # a row dropped by downsample_rate must itself be finite too
            valid[order] = observed & rows_complete(z)
        values = pl.select(
            pl.when(pl.lit(pl.Series(valid))).then(pl.lit(pl.Series(syllable, dtype=pl.Int64)))
        ).to_series()
        return key_frame(df, self.columns).with_columns(values.alias("syllable"))
