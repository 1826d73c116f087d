"""Feature ``pair-posedistance-pca``: principal components of the keypoint distances of pairs.

For every pair row the features are the distances between the focal's own
keypoints (``include_intra_A``), the partner's own keypoints
(``include_intra_B``) and every focal-partner keypoint pair (``include_inter``):
21 + 21 + 49 = 91 for 7 keypoints. The keypoints are cleaned per individual
first (``interpolation``, as ``pair-egocentric``). An incremental PCA
(scikit-learn's ``IncrementalPCA``, ``n_components``) is fitted on the pooled
rows of every entry in scope, ``batch_size`` pair-frames (both perspectives) per
``partial_fit``, and every row is written as its scores ``PC0..PC{k-1}``.

The fit depends on the entries the run covers, so the feature is scope
dependent: running it on other entries gives another run. The fitted model is
the run's ``.state/pca.joblib``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from moveo._fs import atomic_write_joblib
from moveo.contract import InputStream, Params
from moveo.features._global import state_path
from moveo.features._tracking import TrackTable
from moveo.features.pairs._base import InterpolationConfig, PairFeature, PairSelection
from moveo.kernels.pairs import mirror_rows, pose_distance_layout, pose_distances
from moveo.schema import Columns, PoseConfig

__all__ = ["PairPoseDistancePCA"]

MODEL_FILE = "pca.joblib"


class PairPoseDistancePCA(PairFeature):
    """PCA of pairwise keypoint distances (mosaic ``pair-posedistance-pca``).

    Parameters
    ----------
    params : dict or PairPoseDistancePCA.Params, optional
        See :class:`PairPoseDistancePCA.Params`.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions (default: moveo's, or the dataset's).
    """

    name: ClassVar[str] = "pair-posedistance-pca"
    version: ClassVar[str] = "0.2"
    scope_dependent: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`PairPoseDistancePCA`.

        Attributes
        ----------
        interpolation : InterpolationConfig
            Gap filling of the keypoints.
        pose : PoseConfig
            Keypoint columns (default: the dataset's layout).
        include_intra_A, include_intra_B, include_inter : bool
            Which keypoint distances are features.
        duplicate_perspective : bool
            Write (and fit on) both perspectives; False: only ``id1 < id2``.
        n_components : int
            Principal components kept (``PC0`` ...).
        batch_size : int
            Pair-frames per ``partial_fit``.
        pairs : PairSelection
            Which pairs get rows (default all).
        """

        interpolation: InterpolationConfig = Field(default_factory=InterpolationConfig)
        pose: PoseConfig = Field(default_factory=PoseConfig)
        include_intra_A: bool = True
        include_intra_B: bool = True
        include_inter: bool = True
        duplicate_perspective: bool = True
        n_components: int = Field(default=6, ge=1)
        batch_size: int = Field(default=5000, gt=0)
        pairs: PairSelection = Field(default_factory=PairSelection)

        def model_post_init(self, __context: object) -> None:  # noqa: D102
            if not (self.include_intra_A or self.include_intra_B or self.include_inter):
                raise ValueError("pair-posedistance-pca: include at least one distance family")

    def __init__(
        self,
        params: Any = None,
        inputs: Any = None,
        *,
        columns: Columns | None = None,
        pose: PoseConfig | None = None,
    ) -> None:
        super().__init__(params, inputs, columns=columns, pose=pose)
        self.model: Any = None

    # ------------------------------------------------------------------ state

    def load_state(
        self,
        run_root: Path,
        artifact_paths: Any = None,
        dependency_lookups: Any = None,
    ) -> bool:
        """Load ``.state/pca.joblib`` when this run was fitted already."""
        import joblib

        path = state_path(run_root, MODEL_FILE)
        if not path.exists():
            return False
        self.model = joblib.load(path)
        return True

    def save_state(self, run_root: Path) -> None:
        """Write the fitted model to ``.state/pca.joblib``."""
        if self.model is None:
            raise RuntimeError(f"{self.name}: fit() must run before save_state()")
        atomic_write_joblib(self.model, state_path(run_root, MODEL_FILE))

    # ------------------------------------------------------------------ rows

    def _batches(self, t: TrackTable) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (output positions, focal rows, partner rows) per batch of pair-frames."""
        p = self.params
        pose = self.pose_config()
        idx = pose.indices()
        xc, yc = pose.x_cols(idx), pose.y_cols(idx)
        t.require(xc + yc, "the tracks (pose keypoints)")
        filled, keep = self.clean(t, xc + yc)
        k = len(idx)
        self._px = np.ascontiguousarray(filled[:, :k])
        self._py = np.ascontiguousarray(filled[:, k:])
        cx = np.nanmean(self._px, axis=1) if t.n else np.empty(0)
        cy = np.nanmean(self._py, axis=1) if t.n else np.empty(0)
        ra, rb = self.select_pairs(t, keep, cx, cy)
        self._ra, self._rb = ra, rb
        first = np.flatnonzero(t.ids[ra] < t.ids[rb])  # one row per pair-frame
        mirror = mirror_rows(ra, rb, t.offsets)
        # batches never span two pairs (as mosaic reads them): cut each pair's frames
        pid = t.ids[ra[first]] * (int(t.ids.max()) + 1 if t.n else 1) + t.ids[rb[first]]
        starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]]) if first.size else first
        ends = np.r_[starts[1:], first.size] if first.size else first
        for s0, e0 in zip(starts, ends, strict=True):
            for s in range(s0, e0, p.batch_size):
                pos = first[s : min(s + p.batch_size, e0)]
                if p.duplicate_perspective:
                    pos = np.concatenate([pos, mirror[pos]])
                yield pos, ra[pos], rb[pos]

    def _features(self, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
        p = self.params
        layout = pose_distance_layout(
            self._px.shape[1], p.include_intra_A, p.include_intra_B, p.include_inter
        )
        return pose_distances(ra, rb, self._px, self._py, layout)

    # ------------------------------------------------------------------ fit / apply

    def fit(self, inputs: InputStream) -> None:
        """Fit the incremental PCA on every entry's pair rows, batch by batch.

        A batch is up to ``batch_size`` pair-frames of one pair (with their mirrored
        rows), in entry order, then ``(id1, id2, frame)``: one ``partial_fit`` each,
        as mosaic feeds its IncrementalPCA. A batch with fewer complete rows than
        ``n_components`` is merged into the next. Rows with a NaN feature are left out.
        """
        from sklearn.decomposition import IncrementalPCA

        p = self.params
        model = IncrementalPCA(n_components=p.n_components, batch_size=p.batch_size)
        pending: list[np.ndarray] = []
        n_pending = 0
        fitted = 0
        for _key, df in inputs():
            for block in self._blocks(df):
                t = self.table(block)
                for _pos, ra, rb in self._batches(t):
                    x = self._features(ra, rb)
                    x = x[np.isfinite(x).all(axis=1)]
                    pending.append(x)
                    n_pending += x.shape[0]
                    if n_pending >= p.n_components:
                        model.partial_fit(np.concatenate(pending))
                        fitted += n_pending
                        pending, n_pending = [], 0
        if n_pending and fitted:
            model.partial_fit(np.concatenate(pending))  # n_components <= rows seen
            fitted += n_pending
        if fitted == 0:
            raise ValueError(
                f"{self.name}: {n_pending} complete pair rows in scope, fewer than "
                f"n_components={p.n_components}: nothing to fit the PCA on"
            )
        self.model = model

    def _blocks(self, df: pl.DataFrame) -> list[pl.DataFrame]:
        c = self.columns
        cols = [col for col in (c.group_col, c.seq_col) if col in df.columns]
        if cols and df.height and df.select(cols).n_unique() > 1:
            return df.partition_by(cols, maintain_order=True)
        return [df]

    def compute(self, t: TrackTable) -> pl.DataFrame:
        """Pair table of one sequence: the PCA scores of every row."""
        if self.model is None:
            raise RuntimeError(
                f"{self.name}: the PCA is not fitted; run it with moveo.run_feature (which "
                "fits on the whole scope) or call fit() first"
            )
        mean = self.model.mean_
        comps = self.model.components_
        positions, scores = [], []
        for pos, ra, rb in self._batches(t):
            x = self._features(ra, rb)
            positions.append(pos)
            scores.append((x - mean) @ comps.T)  # NaN rows stay NaN
        k = comps.shape[0]
        if positions:
            pos = np.concatenate(positions)
            sc = np.concatenate(scores)
        else:
            pos = np.empty(0, dtype=np.int64)
            sc = np.empty((0, k))
        order = np.argsort(pos, kind="stable")  # back to (id1, id2, frame) order
        pos, sc = pos[order], sc[order]
        ra, rb = self._ra[pos], self._rb[pos]
        sc = np.asfortranarray(sc)
        return self.pair_output(t, ra, rb, {f"PC{j}": sc[:, j] for j in range(k)})
