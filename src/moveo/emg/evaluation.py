"""Evaluation without leakage: group splits, cross-validation, feature selection.

EMG windows overlap: 200-sample windows every 25 samples share 87.5 % of their
samples with each neighbour, so a split *by window* puts near-copies of every
test window into the training set and reports a score the controller will
never reach online. Split by what is independent instead:

* **recording session** -- :class:`LeaveOneSessionOut`, or :class:`BlockKFold`
  over session ids;
* **cue block** -- the run of windows of one cue (one repetition of one
  movement): :func:`cue_blocks`, :class:`BlockKFold` with ``gap`` so that no
  training window shares a sample with a test window;
* **time block** -- fixed-length stretches of a session (regression recordings
  without cues): :func:`time_blocks`.

:func:`cross_validate` does all of this for a
:class:`~moveo.realtime.TrainingData`; :func:`select_features` ranks feature
codes or groups by sequential forward selection scored with such a split.

Examples
--------
>>> import numpy as np
>>> from moveo.emg.evaluation import BlockKFold, cue_blocks, overlapping_windows
>>> labels = np.repeat([0, 1, 0, 1], 3)                 # four cues of 3 windows
>>> blocks = cue_blocks(labels)
>>> blocks.tolist()
[0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
>>> overlapping_windows(200, 100)                        # each side shares samples with 1
1
>>> cv = BlockKFold(2, gap=1)
>>> [test.tolist() for _, test in cv.split(labels, groups=blocks)]
[[3, 4, 5, 9, 10, 11], [0, 1, 2, 6, 7, 8]]
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

__all__ = [
    "BlockKFold",
    "LeaveOneSessionOut",
    "SelectionResult",
    "cross_validate",
    "cue_blocks",
    "overlapping_windows",
    "select_features",
    "time_blocks",
]


# --------------------------------------------------------------------------- groups
def _session_ids(sessions: Any, n: int) -> np.ndarray:
    if sessions is None:
        return np.zeros(n, dtype=np.int64)
    s = np.asarray(sessions)
    if s.shape != (n,):
        raise ValueError(f"sessions must have shape ({n},) (one id per window), got {s.shape}")
    _, ids = np.unique(s, return_inverse=True)
    return ids.astype(np.int64)


def cue_blocks(labels: Any, sessions: Any = None) -> np.ndarray:
    """Return cue-block ids: runs of consecutive windows with one label.

    A new block starts where the label changes or the session changes between
    consecutive windows (windows in recording order). Two cues of the same
    movement back to back form one block, which is conservative.

    Parameters
    ----------
    labels : array of shape (n_windows,)
        Label of each window, in recording order.
    sessions : array of shape (n_windows,), optional
        Session id of each window.

    Returns
    -------
    ndarray of shape (n_windows,), int64
        Block ids ``0, 1, 2, ...`` in order of appearance.

    Examples
    --------
    >>> cue_blocks([0, 0, 1, 1, 1, 0], sessions=[0, 0, 0, 1, 1, 1]).tolist()
    [0, 0, 1, 2, 2, 3]
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D (one per window), got shape {y.shape}")
    s = _session_ids(sessions, y.shape[0])
    if y.size == 0:
        return np.empty(0, dtype=np.int64)
    change = (y[1:] != y[:-1]) | (s[1:] != s[:-1])
    return np.concatenate(([0], np.cumsum(change))).astype(np.int64)


def time_blocks(times: Any, block_s: float, sessions: Any = None) -> np.ndarray:
    """Return fixed-length time-block ids within each session.

    Window ``i`` of session ``s`` goes to block ``floor((t_i - t0_s) / block_s)``
    with ``t0_s`` the session's first window time; ids are made unique across
    sessions. Use it for recordings without cues (continuous regression
    targets).

    Parameters
    ----------
    times : array of shape (n_windows,)
        Time of each window (e.g. of its last sample), seconds.
    block_s : float
        Block length in seconds.
    sessions : array of shape (n_windows,), optional
        Session id of each window.

    Returns
    -------
    ndarray of shape (n_windows,), int64

    Examples
    --------
    >>> time_blocks([0.0, 0.4, 1.1, 2.5, 0.2], 1.0, sessions=[0, 0, 0, 0, 1]).tolist()
    [0, 0, 1, 2, 3]
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"times must be 1-D (one per window), got shape {t.shape}")
    if not float(block_s) > 0:
        raise ValueError(f"block_s must be a positive number of seconds, got {block_s}")
    if not np.all(np.isfinite(t)):
        raise ValueError("times holds NaN or inf; every window needs a time")
    s = _session_ids(sessions, t.shape[0])
    if t.size == 0:
        return np.empty(0, dtype=np.int64)
    raw = np.empty(t.shape[0], dtype=np.int64)
    for sid in np.unique(s):
        sel = s == sid
        raw[sel] = np.floor((t[sel] - t[sel].min()) / float(block_s)).astype(np.int64)
    _, first, inv = np.unique(s * (int(raw.max()) + 1) + raw, return_index=True,
                              return_inverse=True)
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)  # order of appearance
    return rank[inv.reshape(-1)].astype(np.int64)


def overlapping_windows(size: int, increment: int) -> int:
    """Return how many later windows share samples with a window.

    Windows of ``size`` samples every ``increment`` samples: window ``i`` and
    ``i + k`` overlap while ``k * increment < size``, so ``ceil(size /
    increment) - 1`` neighbours on each side. Pass it as ``gap`` to
    :class:`BlockKFold`.

    Parameters
    ----------
    size, increment : int
        Window length and step in samples.

    Returns
    -------
    int

    Examples
    --------
    >>> overlapping_windows(200, 25), overlapping_windows(200, 200)
    (7, 0)
    """
    size, increment = int(size), int(increment)
    if size < 1 or increment < 1:
        raise ValueError(f"size and increment must be >= 1 sample, got {size} and {increment}")
    return math.ceil(size / increment) - 1


# --------------------------------------------------------------------------- splitters
class BlockKFold(GroupKFold):
    """K-fold over groups (sessions or cue blocks), purging overlapping windows.

    Like :class:`sklearn.model_selection.GroupKFold` (each group entirely in
    one test fold), and additionally removes from each training set every
    window within ``gap`` positions of a test window. With windows in
    recording order and ``gap = overlapping_windows(size, increment)``, no
    training window then shares a sample with a test window, also where a cue
    block ends and the next begins.

    For class labels the groups are assigned to folds by
    :class:`sklearn.model_selection.StratifiedGroupKFold`, which keeps each
    fold's class proportions close to the whole set's. Cue protocols cycle
    through the classes, and plain ``GroupKFold`` assigns equal-sized blocks
    to folds in turn: with ``n_splits`` equal to the number of classes it
    would put every block of one class in the same test fold, leaving none of
    that class for training.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds (at most the number of groups).
    gap : int, default 0
        Windows purged on each side of every test window (0: nothing purged,
        enough for session groups).
    stratify : bool, optional
        Balance the classes of ``y`` across folds. Default: when ``y`` is
        given and holds class labels (binary or multiclass), not for
        continuous targets or without ``y``.
    shuffle : bool, default False
        Shuffle the groups before assigning them to folds (sklearn's option).
    random_state : int, optional
        Seed of the shuffle.

    Examples
    --------
    >>> import numpy as np
    >>> cv = BlockKFold(2, gap=2)
    >>> train, test = next(cv.split(np.zeros(8), groups=[0, 0, 0, 0, 1, 1, 1, 1]))
    >>> test.tolist(), train.tolist()                   # windows 2, 3 purged
    ([4, 5, 6, 7], [0, 1])
    """

    def __init__(self, n_splits: int = 5, *, gap: int = 0, stratify: bool | None = None,
                 shuffle: bool = False, random_state: int | None = None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)
        if int(gap) < 0:
            raise ValueError(f"gap must be >= 0 windows, got {gap}")
        self.gap = int(gap)
        self.stratify = stratify

    def _stratified(self, y: Any) -> bool:
        if self.stratify is not None:
            if self.stratify and y is None:
                raise ValueError("BlockKFold(stratify=True) needs y (the class labels)")
            return bool(self.stratify)
        if y is None:
            return False
        from sklearn.utils.multiclass import type_of_target

        return type_of_target(y) in ("binary", "multiclass")

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray,
                                                                                 np.ndarray]]:
        """Generate train / test indices.

        Parameters
        ----------
        X : array-like of shape (n_windows, ...)
            Only its length is used.
        y : array-like of shape (n_windows,), optional
            Class labels (stratified assignment) or targets (ignored).
        groups : array-like of shape (n_windows,)
            Session or block id of each window (required).

        Yields
        ------
        train, test : ndarray of int
            Indices; ``train`` without the purged windows.
        """
        from sklearn.model_selection import StratifiedGroupKFold

        if groups is None:
            raise ValueError(
                "BlockKFold needs groups= (a session or cue-block id per window, e.g. "
                "TrainingData.groups('block') or moveo.emg.evaluation.cue_blocks(labels)); "
                "splitting by window leaks overlapping windows into the test set"
            )
        g = np.asarray(groups)
        n_groups = np.unique(g).size
        if n_groups < self.n_splits:
            raise ValueError(
                f"BlockKFold(n_splits={self.n_splits}) needs at least {self.n_splits} groups, "
                f"got {n_groups}; use fewer splits or smaller blocks"
            )
        if self._stratified(y):
            folds = StratifiedGroupKFold(self.n_splits, shuffle=self.shuffle,
                                         random_state=self.random_state).split(X, y, g)
        else:
            folds = super().split(X, y, g)
        n = g.shape[0]
        for train, test in folds:
            if self.gap:
                near = np.zeros(n + 1, dtype=np.int64)
                # mark [t - gap, t + gap] around every test window (difference array)
                np.add.at(near, np.maximum(test - self.gap, 0), 1)
                np.add.at(near, np.minimum(test + self.gap + 1, n), -1)
                purged = np.cumsum(near[:n]) > 0
                train = train[~purged[train]]
            yield train, test


class LeaveOneSessionOut(LeaveOneGroupOut):
    """Leave one recording session out: each session is the test set once.

    :class:`sklearn.model_selection.LeaveOneGroupOut` with ``groups`` = session
    ids (``TrainingData.groups("session")``); sessions share no samples, so no
    purging is needed.

    Examples
    --------
    >>> import numpy as np
    >>> cv = LeaveOneSessionOut()
    >>> [t.tolist() for _, t in cv.split(np.zeros(4), groups=[0, 0, 1, 1])]
    [[0, 1], [2, 3]]
    """

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray,
                                                                                 np.ndarray]]:
        """Generate train / test indices, one fold per session.

        Parameters
        ----------
        X : array-like of shape (n_windows, ...)
        y : ignored
        groups : array-like of shape (n_windows,)
            Session id of each window (required, at least two sessions).

        Yields
        ------
        train, test : ndarray of int
        """
        if groups is None:
            raise ValueError("LeaveOneSessionOut needs groups= (the session id of each window, "
                             "e.g. TrainingData.groups('session'))")
        if np.unique(np.asarray(groups)).size < 2:
            raise ValueError("LeaveOneSessionOut needs windows from at least 2 sessions; with "
                             "one session split by cue block (BlockKFold) instead")
        yield from super().split(X, y, groups)


# --------------------------------------------------------------------------- helpers
def _stream(data: Any, stream: str | None) -> np.ndarray:
    if stream is None:
        if len(data.windows) != 1:
            raise ValueError(f"TrainingData has streams {list(data.windows)}; pass stream=")
        stream = next(iter(data.windows))
    if stream not in data.windows:
        raise KeyError(f"TrainingData has no stream {stream!r}; streams: {list(data.windows)}")
    return data.windows[stream]


def _is_training_data(x: Any) -> bool:
    # duck-typed: moveo.realtime.TrainingData lives in a higher layer
    return hasattr(x, "windows") and callable(getattr(x, "groups", None)) and hasattr(
        x, "overlap"
    )


def _targets_of(data: Any, regression: bool) -> np.ndarray:
    if regression:
        if data.targets is None:
            raise ValueError("the estimator is a regressor but TrainingData has no targets")
        y = data.targets
        return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
    if data.labels is None:
        raise ValueError("the estimator is a classifier but TrainingData has no labels")
    return data.labels


def _splitter(data: Any, by: str, n_splits: int | None, gap: int | None) -> Any:
    if by not in ("block", "time", "session"):
        raise ValueError(f"by must be 'block', 'time' or 'session', got {by!r}")
    if n_splits is None:
        return LeaveOneSessionOut() if by == "session" else LeaveOneGroupOut()
    if gap is None:
        gap = 0 if by == "session" else data.overlap
    return BlockKFold(n_splits, gap=gap)


def cross_validate(
    estimator: Any,
    data: Any,
    *,
    by: str = "block",
    n_splits: int | None = 5,
    block_s: float | None = None,
    gap: int | None = None,
    scoring: Any = None,
    stream: str | None = None,
    return_train_score: bool = False,
) -> dict[str, Any]:
    """Cross-validate an estimator on :class:`~moveo.realtime.TrainingData` by group.

    The estimator gets raw windows (``data.windows[stream]``), so it includes
    its feature extraction (e.g. :class:`~moveo.emg.EMGRegressor` or
    ``make_pipeline(EMGFeatures(...), LinearDiscriminantAnalysis())``): the
    features of a test fold are never seen in training. Targets are
    ``data.targets`` for regressors and ``data.labels`` otherwise.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned for each fold.
    data : TrainingData
        Windows with labels or targets.
    by : {"block", "time", "session"}, default "block"
        Groups (:meth:`TrainingData.groups`): cue blocks, time blocks of
        ``block_s`` seconds, or recording sessions.
    n_splits : int or None, default 5
        Number of folds (:class:`BlockKFold`); None leaves one group out per
        fold (``by="session"``: leave-one-session-out).
    block_s : float, optional
        Block length for ``by="time"``.
    gap : int, optional
        Windows purged around each test window (default
        ``data.overlap`` for block and time groups, 0 for sessions).
    scoring : str, callable or dict, optional
        As for :func:`sklearn.model_selection.cross_validate` (default: the
        estimator's ``score``: accuracy or R²).
    stream : str, optional
        Stream of ``data`` (default: its only stream).
    return_train_score : bool, default False

    Returns
    -------
    dict
        :func:`sklearn.model_selection.cross_validate`'s result (``test_score``
        or ``test_<name>`` arrays, ``fit_time``, ...) plus ``groups`` (the group
        id of every window) and ``gap``.

    Examples
    --------
    >>> import numpy as np
    >>> from moveo.emg import EMGRegressor
    >>> from moveo.realtime import TrainingData
    >>> rng = np.random.default_rng(0)
    >>> level = np.repeat(rng.random(20), 10)               # 20 blocks of 10 windows
    >>> X = rng.standard_normal((200, 2, 50)) * level[:, None, None]
    >>> data = TrainingData({"emg": X}, targets=level[:, None], fs=1000.0,
    ...                     window_ms=50, hop_ms=50, times=np.arange(200) * 0.05)
    >>> out = cross_validate(EMGRegressor(fs=1000.0), data, by="time", block_s=0.5)
    >>> out["test_score"].shape, out["gap"], bool(out["test_score"].mean() > 0.9)
    ((5,), 0, True)
    """
    from sklearn.base import is_regressor
    from sklearn.model_selection import cross_validate as sk_cross_validate

    X = _stream(data, stream)
    y = _targets_of(data, is_regressor(estimator))
    groups = data.groups(by, block_s=block_s)
    cv = _splitter(data, by, n_splits, gap)
    out = sk_cross_validate(estimator, X, y, groups=groups, cv=cv, scoring=scoring,
                            return_train_score=return_train_score, error_score="raise")
    out["groups"] = groups
    out["gap"] = getattr(cv, "gap", 0)
    return out


# --------------------------------------------------------------------------- selection
@dataclass
class SelectionResult:
    """Outcome of :func:`select_features`.

    Attributes
    ----------
    ranking : list of str
        Candidates in the order forward selection added them.
    scores : ndarray of shape (n_steps,)
        Mean cross-validated score of ``ranking[:k + 1]``.
    scores_std : ndarray of shape (n_steps,)
        Standard deviation of that score over the folds.
    table : ndarray of shape (n_steps, n_candidates)
        Mean score of adding each candidate (columns in :attr:`candidates`
        order) at each step; NaN where the candidate was already selected
        (LibEMG's upper-triangle ``wrapper_results``).
    candidates : list of str
        The candidates, in the order given.
    """

    ranking: list[str]
    scores: np.ndarray
    scores_std: np.ndarray
    table: np.ndarray
    candidates: list[str] = field(default_factory=list)

    @property
    def best(self) -> list[str]:
        """The ranked prefix with the highest score (the first one on ties)."""
        if not self.ranking:
            return []
        return self.ranking[: int(np.argmax(self.scores)) + 1]


def _candidate_blocks(windows: np.ndarray, candidates: Sequence[str], fs: float,
                      params: Any) -> dict[str, np.ndarray]:
    from moveo.emg.extraction import FeaturePlan

    out = {}
    for name in candidates:
        plan = FeaturePlan(name, fs=fs, n_channels=windows.shape[1], size=windows.shape[2],
                           params=params)
        out[name] = plan.transform(windows)
    return out


def select_features(
    X: Any,
    y: Any = None,
    candidates: Sequence[str] | None = None,
    *,
    groups: Any = None,
    by: str = "block",
    block_s: float | None = None,
    fs: float | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    estimator: Any = None,
    cv: Any = None,
    n_splits: int = 5,
    gap: int | None = None,
    scoring: Any = None,
    max_features: int | None = None,
    stream: str | None = None,
) -> SelectionResult:
    """Rank feature codes or groups by sequential forward selection.

    Start from no features; at each step add the candidate whose addition
    gives the best mean cross-validated score, until ``max_features``
    candidates are chosen (ties go to the candidate given first). The split is
    by group (:class:`BlockKFold` by default), never by window.

    Parameters
    ----------
    X : TrainingData, windows array or mapping
        * :class:`~moveo.realtime.TrainingData`: windows, labels (or targets),
          groups (``by``, ``block_s``), ``gap`` and ``fs`` come from it;
        * windows of shape (n_windows, n_channels, size): give ``candidates``,
          ``fs``, ``y`` and ``groups``;
        * a mapping of candidate name -> precomputed features of shape
          (n_windows, ...) (e.g. :func:`moveo.emg.extract`'s result, LibEMG's
          feature dict): its keys are the candidates.
    y : array of shape (n_windows,) or (n_windows, n_targets), optional
        Labels or targets (not with TrainingData).
    candidates : sequence of str, optional
        Feature codes and/or group names (``["MAV", "WL", "TDPSD"]``); a group
        is one candidate. Required for windows and TrainingData.
    groups : array of shape (n_windows,), optional
        Session or cue-block id per window (required unless ``X`` is
        TrainingData or ``cv`` does not need groups).
    by : {"block", "time", "session"}, default "block"
        TrainingData groups.
    block_s : float, optional
        Block length for ``by="time"``.
    fs : float, optional
        Sampling rate (windows; default ``X.fs`` for TrainingData).
    params : dict, optional
        Per-feature parameters.
    estimator : scikit-learn estimator, optional
        Default: ``StandardScaler`` + LDA for integer labels, ``StandardScaler``
        + ``Ridge`` for float targets.
    cv : cross-validation splitter, optional
        Default ``BlockKFold(n_splits, gap=gap)``.
    n_splits : int, default 5
    gap : int, optional
        Purge around test windows (default: ``X.overlap`` for TrainingData
        block/time groups, else 0).
    scoring : str or callable, optional
        As for :func:`sklearn.model_selection.cross_val_score` (default: the
        estimator's score, accuracy or R²). Higher must be better.
    max_features : int, optional
        Stop after this many candidates (default: rank them all).
    stream : str, optional
        Stream of a TrainingData.

    Returns
    -------
    SelectionResult
        ``ranking``, ``scores`` (of each ranked prefix), ``table``, ``best``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(20) % 2, 10)                  # 20 cue blocks
    >>> feats = {"good": y[:, None] + 0.3 * rng.standard_normal((200, 1)),
    ...          "noise": rng.standard_normal((200, 3))}
    >>> res = select_features(feats, y, groups=np.repeat(np.arange(20), 10))
    >>> res.ranking, bool(res.scores[0] > 0.9)
    (['good', 'noise'], True)
    """
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    if _is_training_data(X):
        if y is not None:
            raise ValueError("select_features(TrainingData, ...) takes y from the data; "
                             "do not pass y")
        if not candidates:
            raise ValueError("select_features(TrainingData, ...) needs candidates= (feature "
                             "codes or group names)")
        windows = _stream(X, stream)
        regression = X.labels is None
        y = _targets_of(X, regression)
        if groups is None:
            groups = X.groups(by, block_s=block_s)
        if gap is None:
            gap = 0 if by == "session" else X.overlap
        if fs is None:
            fs = X.fs
        X = windows
    if isinstance(X, Mapping):
        if candidates is not None:
            missing = [c for c in candidates if c not in X]
            if missing:
                raise ValueError(f"candidates {missing} are not keys of the feature mapping")
        names = list(X) if candidates is None else list(candidates)
        blocks = {}
        for name in names:
            arr = np.asarray(X[name], dtype=np.float64)
            if arr.ndim == 0:
                raise ValueError(f"feature {name!r} must have one row per window")
            blocks[name] = arr.reshape(arr.shape[0], -1)
    else:
        windows = np.asarray(X)
        if windows.ndim != 3:
            raise ValueError(
                "X must be TrainingData, windows of shape (n_windows, n_channels, size) or a "
                f"mapping of candidate -> features; got an array of shape {windows.shape}"
            )
        if not candidates:
            raise ValueError("select_features(windows, ...) needs candidates= (feature codes "
                             "or group names)")
        if fs is None:
            raise ValueError("select_features(windows, ...) needs fs= (the sampling rate in Hz)")
        names = list(candidates)
        blocks = _candidate_blocks(windows, names, float(fs), params)
    if len(set(names)) != len(names):
        raise ValueError(f"candidates must be unique, got {names}")
    if not names:
        raise ValueError("select_features needs at least one candidate")
    if y is None:
        raise ValueError("select_features needs y (labels or targets per window)")
    target = np.asarray(y)
    n = next(iter(blocks.values())).shape[0]
    for name, block in blocks.items():
        if block.shape[0] != n:
            raise ValueError(f"feature {name!r} has {block.shape[0]} rows, expected {n}")
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise ValueError(
                f"feature {name!r} is NaN or infinite on {int(bad.sum())} of {n} windows; drop "
                "it from the candidates or clean the windows"
            )
    if target.shape[0] != n:
        raise ValueError(f"y has {target.shape[0]} rows, the features {n}")
    if estimator is None:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if target.dtype.kind in "iub":
            from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

            estimator = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis())
        else:
            from sklearn.linear_model import Ridge

            estimator = make_pipeline(StandardScaler(), Ridge())
    if cv is None:
        if groups is None:
            raise ValueError(
                "select_features needs groups= (a session or cue-block id per window) or a "
                "cv= splitter; splitting by window leaks overlapping windows"
            )
        cv = BlockKFold(n_splits, gap=gap or 0)
    limit = len(names) if max_features is None else int(max_features)
    if not 1 <= limit <= len(names):
        raise ValueError(f"max_features must be in [1, {len(names)}], got {max_features}")
    chosen: list[str] = []
    scores, stds = [], []
    table = np.full((limit, len(names)), np.nan)
    for step in range(limit):
        best = None
        for j, name in enumerate(names):
            if name in chosen:
                continue
            matrix = np.hstack([blocks[c] for c in [*chosen, name]])
            fold = cross_val_score(clone(estimator), matrix, target, groups=groups, cv=cv,
                                   scoring=scoring, error_score="raise")
            table[step, j] = float(np.mean(fold))
            if best is None or table[step, j] > best[1]:
                best = (name, table[step, j], float(np.std(fold)))
        chosen.append(best[0])
        scores.append(best[1])
        stds.append(best[2])
    return SelectionResult(ranking=chosen, scores=np.asarray(scores),
                           scores_std=np.asarray(stds), table=table, candidates=names)
