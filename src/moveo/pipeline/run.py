"""Run one feature over a dataset: :func:`run_feature`.

The life of a run::

    plan      resolve inputs (tracks / upstream runs), scope, filters -> run_id,
              input fingerprint per entry, entries still to compute
    state     feature.load_state(...) or, if that returns False,
              feature.fit(InputStream) then feature.save_state(run_root)
    apply     per pending entry (sequentially, in threads, in processes or on
              any concurrent.futures.Executor): read input, feature.apply,
              write parquet atomically (temp name, fsync, os.replace)
    record    the driver -- and only the driver -- writes entry rows to the
              SQLite registry (short batched transactions)

Outputs live at ``features/<feature>/<run_id>/<group>/<sequence>.parquet``.
A run whose entries are all complete (with unchanged input fingerprints) is a
no-op; a crashed or failed run redoes only its missing entries.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import fcntl
import hashlib
import logging
import math
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from pydantic import BaseModel

from moveo._fs import ensure_inside, fsync_dir, sweep_temp_files
from moveo.contract import (
    ArtifactSpec,
    DescribesColumns,
    Feature,
    Inputs,
    InputStream,
    LabelsSource,
    ReadsColumns,
    ReadsDatasetMeta,
    Result,
    TakesDatasetDefaults,
)
from moveo.pipeline.hashing import canonical_json, compute_run_id, params_hash, stable_hash
from moveo.pipeline.registry import FeatureRegistry, open_registry
from moveo.pipeline.reporting import ProgressReporter
from moveo.schema import validate_path_name

if TYPE_CHECKING:
    from moveo.dataset import Dataset

__all__ = [
    "EntryFailure",
    "FeatureRunError",
    "RunPlan",
    "RunTimings",
    "collect_timings",
    "check_outputs",
    "feature_run_root",
    "output_problem",
    "plan_run",
    "read_feature",
    "run_feature",
]

log = logging.getLogger("moveo.pipeline")

_FLUSH_EVERY_S = 0.5
WORKERS_DIR = "workers"
"""Folder under ``.moveo/`` for the pickled features process workers load."""
_FLUSH_EVERY_N = 64
OUTPUT_COMPRESSION = ("zstd", 1)
"""Codec and level of feature outputs: zstd level 1 writes ~20% faster than the
default level 3 and, on float columns, files as small."""


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class EntryFailure:
    """One entry whose ``apply`` (or input reading / writing) raised."""

    group: str
    sequence: str
    error: str
    traceback: str = ""


class FeatureRunError(RuntimeError):
    """Some entries of a feature run failed; the others were saved.

    Attributes
    ----------
    feature, run_id : str
        The run.
    failures : list of EntryFailure
        Which entries failed and why.
    n_ok : int
        Entries that completed in this call.
    """

    def __init__(self, feature: str, run_id: str, failures: list[EntryFailure], n_ok: int):
        self.feature = feature
        self.run_id = run_id
        self.failures = failures
        self.n_ok = n_ok
        shown = "; ".join(
            f"(group={f.group!r}, sequence={f.sequence!r}): {f.error}" for f in failures[:10]
        )
        more = f" (+{len(failures) - 10} more)" if len(failures) > 10 else ""
        super().__init__(
            f"feature {feature!r} (run {run_id}): {len(failures)} of "
            f"{len(failures) + n_ok} entries failed: {shown}{more}. The other entries were "
            "saved; fix the cause and run again to retry only the failed entries"
        )


# --------------------------------------------------------------------------- timings


@dataclass(frozen=True)
class RunTimings:
    """Where one :func:`run_feature` call spent its time (seconds).

    ``read``, ``apply`` and ``write`` are summed over the computed entries, as
    measured in the workers (with parallel workers they overlap, so they can add
    up to more than :attr:`total`). ``write`` is the output parquet with its
    fsync and rename; ``sync`` the folder fsyncs before each registry commit;
    ``registry`` every SQLite call of the run (opening and closing the
    database included); ``plan`` the run id, fingerprints, pending entries and
    tasks; ``state`` ``load_state`` / ``fit`` / ``save_state``.

    Attributes
    ----------
    feature, run_id : str
        The run.
    n_entries : int
        Entries computed by this call.
    n_rows : int
        Input rows of those entries.
    total, plan, state, read, apply, write, sync, registry : float
        Seconds.
    """

    feature: str
    run_id: str
    n_entries: int
    n_rows: int
    total: float
    plan: float
    state: float
    read: float
    apply: float
    write: float
    sync: float
    registry: float

    @property
    def other(self) -> float:
        """Seconds not in any stage (progress bar, bookkeeping); sequential runs only."""
        stages = self.plan + self.state + self.read + self.apply + self.write
        return self.total - stages - self.sync - self.registry


class _StageClock:
    """Accumulates the seconds of a run's stages (cheap: two perf_counter calls each)."""

    STAGES = ("plan", "state", "read", "apply", "write", "sync", "registry")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.seconds = dict.fromkeys(self.STAGES, 0.0)
        self.n_entries = 0
        self.n_rows = 0

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0

    def add_entry(self, out: _EntryOutcome) -> None:
        self.n_entries += 1
        self.n_rows += out.n_input_rows
        self.seconds["read"] += out.read_s
        self.seconds["apply"] += out.apply_s
        self.seconds["write"] += out.write_s

    def timings(self, plan: RunPlan) -> RunTimings:
        return RunTimings(
            plan.feature,
            plan.run_id,
            self.n_entries,
            self.n_rows,
            time.perf_counter() - self.start,
            **self.seconds,
        )


_TIMINGS: contextvars.ContextVar[list[RunTimings] | None] = contextvars.ContextVar(
    "moveo_run_timings", default=None
)


@contextlib.contextmanager
def collect_timings() -> Iterator[list[RunTimings]]:
    """Collect a :class:`RunTimings` for every :func:`run_feature` call in this block.

    Yields
    ------
    list of RunTimings
        Filled as runs finish (also runs that raise after planning).

    Examples
    --------
    >>> from moveo.pipeline.run import collect_timings
    >>> with collect_timings() as runs:
    ...     pass  # run_feature(ds, feature) calls here
    >>> runs
    []
    """
    sink: list[RunTimings] = []
    token = _TIMINGS.set(sink)
    try:
        yield sink
    finally:
        _TIMINGS.reset(token)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _Source:
    """One input of a feature: the tracks, or an upstream run's outputs."""

    kind: str  # "tracks" | "result"
    feature: str = ""
    run_id: str = ""
    paths: Mapping[tuple[str, str], str] = field(default_factory=dict)
    fingerprints: Mapping[tuple[str, str], str | None] = field(default_factory=dict)


@dataclass
class RunPlan:
    """Everything decided before a run computes anything.

    Attributes
    ----------
    feature : str
        Feature name.
    version : str
        Feature version.
    run_id : str
        ``f"{version}-{hash}"``.
    run_root : Path
        ``features/<feature>/<run_id>``.
    entries : list of (str, str)
        Entries in scope, sorted.
    fingerprints : dict
        Input fingerprint per entry in scope.
    upstream : list of (str, str)
        Upstream ``(feature, run_id)`` pairs (inputs, then artifacts).
    params_hash, params_json, inputs_json : str
        What the registry records about the run.
    start_frame, end_frame : int or None
        Row filter (``start <= frame < end``).
    overlap_frames : int
        Frames borrowed from neighbouring sequences.
    dependency_lookups : dict
        What :meth:`Feature.load_state` receives: the run folder of each upstream
        feature (by feature name) and, for each labels parameter
        (:class:`~moveo.contract.LabelsSource`), ``{(group, sequence): Path}`` of
        the labels files (by parameter name).
    labels : dict
        ``{parameter: {"kind": ..., "fingerprint": ...}}`` of the labels the run
        reads (part of the run id).
    unreadable : dict
        Entries in scope whose tracks file cannot be read, with the reason; they
        are left out of :attr:`entries` and reported as failed by the run.
    input_columns : tuple of str or None
        The only input columns to read (a :class:`~moveo.contract.ReadsColumns`
        feature's choice, key columns always included); ``None``: all of them.
    """

    feature: str
    version: str
    run_id: str
    run_root: Path
    entries: list[tuple[str, str]]
    fingerprints: dict[tuple[str, str], str]
    upstream: list[tuple[str, str]]
    params_hash: str
    params_json: str
    inputs_json: str
    start_frame: int | None
    end_frame: int | None
    overlap_frames: int
    sources: list[_Source] = field(default_factory=list)
    artifact_paths: dict[str, Path] = field(default_factory=dict)
    dependency_lookups: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    unreadable: dict[tuple[str, str], str] = field(default_factory=dict)
    input_columns: tuple[str, ...] | None = None

    def result(self) -> Result:
        """Return the :class:`Result` that locates this run's outputs.

        Returns
        -------
        Result
        """
        return Result(feature=self.feature, run_id=self.run_id)

    def entry_path(self, group: str, sequence: str) -> Path:
        """Return the output path of an entry.

        Parameters
        ----------
        group, sequence : str
            The entry.

        Returns
        -------
        Path
        """
        return self.run_root / group / f"{sequence}.parquet"


def feature_run_root(ds: Dataset, feature: str, run_id: str) -> Path:
    """Return ``<dataset>/features/<feature>/<run_id>``.

    Parameters
    ----------
    ds : Dataset
        The dataset.
    feature, run_id : str
        The run.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        ``feature`` or ``run_id`` is not a safe folder name (e.g. a run id read
        from a damaged registry that contains ``..`` or ``/``).
    """
    validate_path_name("feature", feature)
    validate_path_name("run id", run_id)
    return Path(ds.features_root) / feature / run_id


def _check_feature(feature: object) -> None:
    if not isinstance(feature, Feature):
        missing = [
            a
            for a in (
                "name",
                "version",
                "parallelizable",
                "scope_dependent",
                "params",
                "load_state",
                "fit",
                "apply",
                "save_state",
            )
            if not hasattr(feature, a)
        ]
        raise TypeError(
            f"{type(feature).__name__} does not follow the Feature protocol: missing "
            f"{missing}. A feature needs name, version, parallelizable, scope_dependent, "
            "params and load_state/fit/apply/save_state"
        )
    validate_path_name("feature", feature.name)


def _params_payload(params: Any) -> Any:
    if isinstance(params, BaseModel):
        return params.model_dump(mode="python")
    if params is None:
        return {}
    return params


def _frames_from_time(t: float | None, fps: float | None, which: str) -> int | None:
    if t is None:
        return None
    if not fps:
        raise ValueError(
            f"{which} needs the dataset's fps to convert seconds to frames; set it with "
            "ds.set_fps(...) or filter by frame instead"
        )
    # frames f with f / fps >= t  <=>  f >= ceil(t * fps); rounding guards 89.99999...
    return int(math.ceil(round(float(t) * float(fps), 9)))


def _resolve_filters(
    ds: Dataset,
    overlap_frames: int,
    filter_start_frame: int | None,
    filter_end_frame: int | None,
    filter_start_time: float | None,
    filter_end_time: float | None,
) -> tuple[int | None, int | None, int]:
    overlap = int(overlap_frames or 0)
    if overlap < 0:
        raise ValueError(f"overlap_frames must be >= 0, got {overlap_frames}")
    if filter_start_frame is not None and filter_start_time is not None:
        raise ValueError("give filter_start_frame or filter_start_time, not both")
    if filter_end_frame is not None and filter_end_time is not None:
        raise ValueError("give filter_end_frame or filter_end_time, not both")
    start = filter_start_frame
    end = filter_end_frame
    if filter_start_time is not None:
        start = _frames_from_time(filter_start_time, ds.fps, "filter_start_time")
    if filter_end_time is not None:
        end = _frames_from_time(filter_end_time, ds.fps, "filter_end_time")
    if overlap and (start is not None or end is not None):
        raise ValueError(
            "overlap_frames cannot be combined with frame/time filters: overlap borrows "
            "frames from neighbouring sequences, filters cut frames out"
        )
    if start is not None and end is not None and end <= start:
        raise ValueError(f"empty frame range: start {start} >= end {end}")
    return (None if start is None else int(start)), (None if end is None else int(end)), overlap


def _input_items(feature: Feature) -> tuple[Any, ...]:
    # ``inputs`` is optional in the protocol: a feature without it reads the tracks
    inputs = getattr(feature, "inputs", None)
    if inputs is None:
        return ("tracks",)
    if isinstance(inputs, Inputs):
        items = tuple(inputs.root)
    elif isinstance(inputs, str | Result):
        items = (inputs,)
    else:
        items = tuple(inputs)
    return items or ("tracks",)


def _resolve_result(registry: FeatureRegistry, ref: Result, role: str, strict: bool = True) -> str:
    if ref.run_id is not None:
        if strict and not registry.has_run(ref.feature, ref.run_id):
            known = registry.list_runs(ref.feature)["run_id"].to_list()
            raise ValueError(
                f"{role} {ref.feature!r} has no run {ref.run_id!r} in this dataset "
                f"(known runs: {known[:5] or 'none'}); run that feature first"
            )
        return ref.run_id
    run_id = registry.latest_run_id(ref.feature)
    if run_id is None:
        raise ValueError(
            f"{role} {ref.feature!r} has no runs in this dataset yet; run it first "
            f"(or pass a Result with an explicit run_id)"
        )
    return run_id


def _labels_fields(params: Any) -> list[tuple[str, LabelsSource]]:
    if not isinstance(params, BaseModel):
        return []
    return [
        (name, value)
        for name in type(params).model_fields
        if isinstance(value := getattr(params, name, None), LabelsSource)
    ]


def _artifact_fields(params: Any) -> list[tuple[str, ArtifactSpec]]:
    if not isinstance(params, BaseModel):
        return []
    out = []
    for name in type(params).model_fields:
        value = getattr(params, name, None)
        if isinstance(value, ArtifactSpec):
            out.append((name, value))
    return out


def _result_fields(params: Any) -> list[tuple[str, Result]]:
    # params fields holding a Result reference that is not an artifact spec
    if not isinstance(params, BaseModel):
        return []
    out = []
    for name in type(params).model_fields:
        value = getattr(params, name, None)
        if isinstance(value, Result) and not isinstance(value, ArtifactSpec):
            out.append((name, value))
    return out


def plan_run(
    ds: Dataset,
    feature: Feature,
    registry: FeatureRegistry,
    *,
    groups: Iterable[str] | None = None,
    sequences: Iterable[str] | None = None,
    overlap_frames: int = 0,
    filter_start_frame: int | None = None,
    filter_end_frame: int | None = None,
    filter_start_time: float | None = None,
    filter_end_time: float | None = None,
    upstream_run_ids: Mapping[str, str] | None = None,
    strict: bool = True,
) -> RunPlan:
    """Decide a run's id, scope and input fingerprints without computing anything.

    Parameters
    ----------
    ds : Dataset
        The dataset.
    feature : Feature
        The feature.
    registry : FeatureRegistry
        The dataset's registry.
    groups, sequences, overlap_frames, filter_start_frame, filter_end_frame,
    filter_start_time, filter_end_time
        As in :func:`run_feature`.
    upstream_run_ids : mapping, optional
        ``{feature: run_id}`` used for upstream results whose ``run_id`` is
        ``None`` instead of the registry's latest run (the pipeline uses this to
        plan steps whose upstream has not run yet).
    strict : bool, default True
        Fail when an upstream result names a run the registry does not know.
        With ``False`` (used by ``Pipeline.status``) such an input simply has no
        entries yet, so the plan has none either.

    Returns
    -------
    RunPlan
    """
    _check_feature(feature)
    start, end, overlap = _resolve_filters(
        ds,
        overlap_frames,
        filter_start_frame,
        filter_end_frame,
        filter_start_time,
        filter_end_time,
    )
    overrides = dict(upstream_run_ids or {})
    scope = ds.entries(groups, sequences)
    sources: list[_Source] = []
    upstream: list[tuple[str, str]] = []
    for item in _input_items(feature):
        if isinstance(item, str):
            if item != "tracks":
                raise ValueError(f"unknown input {item!r} for feature {feature.name!r}")
            sources.append(_Source("tracks"))
            continue
        if not isinstance(item, Result):
            raise TypeError(
                f"feature {feature.name!r}: inputs must be 'tracks' or Result items, "
                f"got {type(item).__name__}"
            )
        if item.run_id is None and item.feature in overrides:
            run_id = overrides[item.feature]
        else:
            run_id = _resolve_result(registry, item, "input feature", strict)
        upstream.append((item.feature, run_id))
        sources.append(_Source("result", item.feature, run_id))

    artifact_paths: dict[str, Path] = {}
    for name, spec in _artifact_fields(feature.params):
        if spec.run_id is None and spec.feature in overrides:
            run_id = overrides[spec.feature]
        else:
            run_id = _resolve_result(registry, spec, f"artifact {name!r} from feature", strict)
        upstream.append((spec.feature, run_id))
        files = spec.find(feature_run_root(ds, spec.feature, run_id))
        if files:
            artifact_paths[name] = files[0]

    # Result-valued params (e.g. local-order-metrics' body_scale) are upstream
    # dependencies too: part of the run id, located under the param's name.
    param_lookups: dict[str, Path] = {}
    for name, ref in _result_fields(feature.params):
        if ref.run_id is None and ref.feature in overrides:
            run_id = overrides[ref.feature]
        else:
            run_id = _resolve_result(registry, ref, f"parameter {name!r} refers to feature", strict)
        upstream.append((ref.feature, run_id))
        param_lookups[name] = feature_run_root(ds, ref.feature, run_id)

    # Entries in scope: the tracks entries, narrowed to what every upstream has.
    keys = set(scope)
    filled: list[_Source] = []
    for src in sources:
        if src.kind == "tracks":
            filled.append(src)
            continue
        done = registry.list_entries(src.feature, src.run_id, status="complete")
        paths = {}
        fps = {}
        for g, s, p, fp in done.select("group", "sequence", "path", "input_fp").iter_rows():
            paths[(g, s)] = p
            fps[(g, s)] = fp
        keys &= set(paths)
        filled.append(_Source("result", src.feature, src.run_id, paths, fps))
    entries = sorted(keys)

    tracks_fp: dict[tuple[str, str], str] = {}
    unreadable: dict[tuple[str, str], str] = {}
    if any(src.kind == "tracks" for src in filled):
        from moveo.dataset import UnreadableEntryError

        fingerprint = getattr(ds, "fingerprint", None)
        wanted = set(entries)
        if overlap:
            wanted |= {k for k in _all_keys(ds, filled)}
        for key in sorted(wanted):
            try:
                tracks_fp[key] = fingerprint(*key) if fingerprint is not None else ""
            except UnreadableEntryError as exc:
                # one damaged tracks file must not stop the rest of the dataset
                unreadable[key] = str(exc)
        entries = [k for k in entries if k not in unreadable]

    def entry_fp(key: tuple[str, str]) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for src in filled:
            if src.kind == "tracks":
                parts["tracks"] = tracks_fp.get(key)
            else:
                parts[f"{src.feature}/{src.run_id}"] = src.fingerprints.get(key)
        return parts

    fingerprints: dict[tuple[str, str], str] = {}
    neighbours = _neighbour_map(filled, ds) if overlap else {}
    for key in entries:
        payload: dict[str, Any] = {"self": entry_fp(key)}
        if overlap:
            prev, nxt = neighbours.get(key, (None, None))
            payload["prev"] = entry_fp(prev) if prev else None
            payload["next"] = entry_fp(nxt) if nxt else None
        fingerprints[key] = stable_hash(payload)

    filters = {}
    if start is not None:
        filters["start_frame"] = start
    if end is not None:
        filters["end_frame"] = end
    if overlap:
        filters["overlap_frames"] = overlap
    params = _params_payload(feature.params)
    scope_payload = (
        [list(k) for k in entries] if feature.scope_dependent else None
    )
    version = str(feature.version)
    context: dict[str, Any] | None = None
    if isinstance(feature, TakesDatasetDefaults):
        # the feature reads these from the dataset: they are part of its identity
        context = {"fps": ds.fps, "columns": ds.columns, "pose": ds.pose}
        if isinstance(feature, ReadsDatasetMeta) and feature.dataset_meta_keys:
            # manifest values the feature reads (e.g. a calibration) are part of its identity
            meta = ds.meta
            context["meta"] = {k: meta.get(k) for k in sorted(feature.dataset_meta_keys)}
    labels: dict[str, dict[str, str]] = {}
    label_lookups: dict[str, Any] = {}
    for name, source in _labels_fields(feature.params):
        lookup = source.lookup(ds, entries)
        if strict and entries and not lookup:
            raise ValueError(
                f"feature {feature.name!r}: parameter {name!r} needs labels of kind "
                f"{source.kind!r}, but none of the {len(entries)} entries in scope has any "
                f"(labelled entries: {len(source.lookup(ds))}); add them with "
                "moveo.labels.add_labels"
            )
        label_lookups[name] = lookup
        # the labels are an input: a changed label file is a new run
        labels[name] = {"kind": str(source.kind), "fingerprint": source.fingerprint(ds, entries)}
    if labels:
        context = {**(context or {}), "labels": labels}
    run_id = compute_run_id(
        version, params, upstream, scope=scope_payload, filters=filters, context=context
    )
    inputs_payload = [
        "tracks" if src.kind == "tracks" else {"feature": src.feature, "run_id": src.run_id}
        for src in filled
    ]
    dependency_lookups: dict[str, Any] = {
        src.feature: feature_run_root(ds, src.feature, src.run_id)
        for src in filled
        if src.kind == "result"
    }
    dependency_lookups.update(param_lookups)
    dependency_lookups.update(label_lookups)
    for _, source in _labels_fields(feature.params):
        # the labels folder too, for features that read an entry's labels in apply
        dependency_lookups.setdefault(f"labels/{source.kind}", Path(ds.labels_root) / source.kind)
    inputs_record: dict[str, Any] = {
        "inputs": inputs_payload,
        "upstream": upstream,
        "filters": filters,
    }
    if labels:
        inputs_record["labels"] = labels
    return RunPlan(
        feature=str(feature.name),
        version=version,
        run_id=run_id,
        run_root=feature_run_root(ds, str(feature.name), run_id),
        entries=entries,
        fingerprints=fingerprints,
        upstream=upstream,
        params_hash=params_hash(params),
        params_json=canonical_json(params),
        inputs_json=canonical_json(inputs_record),
        start_frame=start,
        end_frame=end,
        overlap_frames=overlap,
        sources=filled,
        artifact_paths=artifact_paths,
        dependency_lookups=dependency_lookups,
        labels=labels,
        unreadable={k: v for k, v in unreadable.items() if k in keys},
        input_columns=_wanted_columns(feature, ds),
    )


def _wanted_columns(feature: Feature, ds: Dataset) -> tuple[str, ...] | None:
    if not isinstance(feature, ReadsColumns):
        return None
    cols = feature.input_columns()
    if cols is None:
        return None
    c = ds.columns
    keys = (c.group_col, c.seq_col, c.id_col, c.frame_col)
    return tuple(dict.fromkeys([*keys, *cols]))


def _all_keys(ds: Dataset, sources: Sequence[_Source]) -> set[tuple[str, str]]:
    """Entries every source can provide (neighbours may lie outside the scope)."""
    keys: set[tuple[str, str]] | None = None
    for src in sources:
        have = set(ds.entries()) if src.kind == "tracks" else set(src.paths)
        keys = have if keys is None else keys & have
    return keys or set()


def _neighbour_map(
    sources: Sequence[_Source], ds: Dataset
) -> dict[tuple[str, str], tuple[tuple[str, str] | None, tuple[str, str] | None]]:
    """Previous / next sequence of each entry within its group (sorted by name)."""
    by_group: dict[str, list[str]] = {}
    for g, s in sorted(_all_keys(ds, sources)):
        by_group.setdefault(g, []).append(s)
    out = {}
    for g, seqs in by_group.items():
        for i, s in enumerate(seqs):
            prev = (g, seqs[i - 1]) if i > 0 else None
            nxt = (g, seqs[i + 1]) if i + 1 < len(seqs) else None
            out[(g, s)] = (prev, nxt)
    return out


# --------------------------------------------------------------------------- entry compute


@dataclass(frozen=True)
class _EntryTask:
    """What a worker needs to compute one entry (small and picklable)."""

    group: str
    sequence: str
    out_path: str
    input_fp: str
    dataset_root: str
    sources: tuple[_Source, ...]
    start_frame: int | None
    end_frame: int | None
    overlap_frames: int
    prev: tuple[str, str] | None
    next: tuple[str, str] | None
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _EntryOutcome:
    group: str
    sequence: str
    path: str
    n_rows: int
    n_input_rows: int
    input_fp: str
    size_bytes: int
    seconds: float
    read_s: float = 0.0
    apply_s: float = 0.0
    write_s: float = 0.0


def _scan_source(
    ds: Dataset, src: _Source, key: tuple[str, str], columns: tuple[str, ...] | None = None
) -> pl.LazyFrame:
    if src.kind == "tracks":
        return ds.scan(*key, columns=columns)
    path = src.paths.get(key)
    if path is None:
        raise FileNotFoundError(
            f"upstream feature {src.feature!r} (run {src.run_id}) has no output for "
            f"(group={key[0]!r}, sequence={key[1]!r})"
        )
    return _project(pl.scan_parquet(path), columns)


def _project(lf: pl.LazyFrame, columns: tuple[str, ...] | None) -> pl.LazyFrame:
    # only the columns the feature reads (in file order; absent names are skipped
    # so that apply reports a missing column itself)
    if columns is None:
        return lf
    wanted = set(columns)
    return lf.select([n for n in lf.collect_schema().names() if n in wanted])


def _read_one_source(ds: Dataset, src: _Source, task: _EntryTask) -> pl.DataFrame:
    c = ds.columns
    key = (task.group, task.sequence)
    lf = _scan_source(ds, src, key, task.columns)
    if task.start_frame is not None:
        lf = lf.filter(pl.col(c.frame_col) >= task.start_frame)
    if task.end_frame is not None:
        lf = lf.filter(pl.col(c.frame_col) < task.end_frame)
    if not task.overlap_frames or (task.prev is None and task.next is None):
        return lf.collect()
    k = task.overlap_frames
    cur = lf.collect()
    parts = []
    frames = cur[c.frame_col]
    cur_min = frames.min() if cur.height else None
    cur_max = frames.max() if cur.height else None
    if task.prev is not None:
        prev = _scan_source(ds, src, task.prev, task.columns)
        prev = prev.filter(pl.col(c.frame_col) > pl.col(c.frame_col).max() - k).collect()
        if prev.height and cur_min is not None and prev[c.frame_col].max() >= cur_min:
            raise ValueError(
                f"overlap_frames: sequence {task.prev[1]!r} (frames up to "
                f"{prev[c.frame_col].max()}) does not end before sequence {task.sequence!r} "
                f"starts (frame {cur_min}) in group {task.group!r}; overlap needs "
                "consecutive segments numbered with increasing frames"
            )
        parts.append(prev)
    parts.append(cur)
    if task.next is not None:
        nxt = _scan_source(ds, src, task.next, task.columns)
        nxt = nxt.filter(pl.col(c.frame_col) < pl.col(c.frame_col).min() + k).collect()
        if nxt.height and cur_max is not None and nxt[c.frame_col].min() <= cur_max:
            raise ValueError(
                f"overlap_frames: sequence {task.next[1]!r} (frames from "
                f"{nxt[c.frame_col].min()}) does not start after sequence {task.sequence!r} "
                f"ends (frame {cur_max}) in group {task.group!r}; overlap needs "
                "consecutive segments numbered with increasing frames"
            )
        parts.append(nxt)
    both = pl.concat(parts, how="vertical_relaxed")
    return both.sort([c.id_col, c.frame_col], maintain_order=True)


def _load_input(ds: Dataset, task: _EntryTask) -> pl.DataFrame:
    c = ds.columns
    frames = [_read_one_source(ds, src, task) for src in task.sources]
    if len(frames) == 1:
        return frames[0]
    keys = [c.group_col, c.seq_col, c.id_col, c.frame_col]
    base = frames[0]
    for src, other in zip(task.sources[1:], frames[1:], strict=True):
        label = "tracks" if src.kind == "tracks" else src.feature
        missing = [k for k in keys if k not in other.columns or k not in base.columns]
        if missing:
            raise ValueError(
                f"cannot join input {label!r}: key column(s) {missing} missing; multi-input "
                f"features join their inputs on {keys}"
            )
        renames = {
            col: f"{col}__{label}"
            for col in other.columns
            if col in base.columns and col not in keys
        }
        base = base.join(
            other.rename(renames), on=keys, how="left", maintain_order="left", coalesce=True
        )
    return base


def compute_entry(feature: Feature, ds: Dataset, task: _EntryTask) -> _EntryOutcome:
    """Compute and write one entry (runs in a worker; never touches SQLite).

    Parameters
    ----------
    feature : Feature
        A feature whose state is loaded.
    ds : Dataset
        The dataset.
    task : _EntryTask
        The entry to compute.

    Returns
    -------
    _EntryOutcome
        Metadata the driver records.
    """
    from moveo._fs import atomic_write_parquet

    t0 = time.perf_counter()
    df = _load_input(ds, task)
    t_read = time.perf_counter()
    keep: np.ndarray | None = None
    c = ds.columns
    if task.overlap_frames and (task.prev is not None or task.next is not None):
        keep = (df[c.seq_col] == task.sequence).to_numpy()
    out = feature.apply(df)
    if not isinstance(out, pl.DataFrame):
        raise TypeError(
            f"feature {feature.name!r}: apply must return a polars DataFrame, got "
            f"{type(out).__module__}.{type(out).__name__}"
        )
    if keep is not None:
        # Trim what was borrowed from the neighbouring sequences: by the output's
        # sequence column when it has one (summary features, whose rows are frames
        # or individuals rather than input rows, always do), else row by row.
        if c.seq_col in out.columns:
            out = out.filter(pl.col(c.seq_col) == task.sequence)
        elif out.height == df.height:
            out = out.filter(pl.Series(keep))
        else:
            raise ValueError(
                f"feature {feature.name!r}: with overlap_frames the output must have a "
                f"{c.seq_col!r} column or one row per input row, so borrowed frames can be "
                "trimmed"
            )
    t_apply = time.perf_counter()
    field_metadata = feature.column_metadata(out) if isinstance(feature, DescribesColumns) else None
    # the folder is fsynced by the driver, once per folder, before the registry
    # records the entry (_Recorder.flush): the file itself is durable here
    codec, level = OUTPUT_COMPRESSION
    size = atomic_write_parquet(
        out,
        task.out_path,
        compression=codec,
        compression_level=level,
        field_metadata=field_metadata,
        sync_dir=False,
    )
    t_end = time.perf_counter()
    return _EntryOutcome(
        task.group,
        task.sequence,
        task.out_path,
        out.height,
        int(keep.sum()) if keep is not None else df.height,
        task.input_fp,
        int(size),
        t_end - t0,
        t_read - t0,
        t_apply - t_read,
        t_end - t_apply,
    )


# --------------------------------------------------------------------------- workers

_WORKER_CACHE: dict[str, tuple[Any, Any]] = {}
_WORKER_LOCK = threading.Lock()


@dataclass(frozen=True)
class _FeatureHandle:
    """Points a worker at the pickled, state-loaded feature (read once per process).

    ``sha256`` travels with the task, not through the file system: a worker
    unpickles the file only if it is byte for byte what the driver wrote.
    """

    path: str
    sha256: str


def _worker_feature(handle: _FeatureHandle, dataset_root: str) -> tuple[Any, Any]:
    with _WORKER_LOCK:
        cached = _WORKER_CACHE.get(handle.path)
        if cached is None:
            from moveo.dataset import Dataset

            with open(handle.path, "rb") as fh:
                payload = fh.read()
            if hashlib.sha256(payload).hexdigest() != handle.sha256:
                raise RuntimeError(
                    f"the feature file {handle.path} changed after the driver wrote it "
                    "(sha256 mismatch); refusing to unpickle it"
                )
            feature = pickle.loads(payload)
            ds = Dataset.open(dataset_root)
            cached = (feature, ds)
            _WORKER_CACHE.clear()  # one run at a time per worker: drop older features
            _WORKER_CACHE[handle.path] = cached
        return cached


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_POLL_S = 0.5


def _exit_with_parent(parent_pid: int) -> None:
    """Process-pool initializer: end this worker when the driver process dies.

    A driver killed with SIGKILL cannot shut its pool down, and an orphaned
    worker would keep its memory (and the resource tracker) alive. On Linux the
    kernel sends SIGKILL to the worker when its parent dies (``PR_SET_PDEATHSIG``);
    everywhere, a daemon thread notices that the parent changed and exits.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent_pid:  # the driver died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="moveo-parent-watchdog", daemon=True).start()


def _remote_entry(handle: _FeatureHandle, task: _EntryTask) -> _EntryOutcome:
    """Entry point for process / Dask workers."""
    from moveo._numba import kernel_threads

    feature, ds = _worker_feature(handle, task.dataset_root)
    with kernel_threads(1):
        return compute_entry(feature, ds, task)


def _local_entry(feature: Feature, ds: Dataset, task: _EntryTask, threads: int | None) -> Any:
    from moveo._numba import kernel_threads

    with kernel_threads(threads):
        return compute_entry(feature, ds, task)


# --------------------------------------------------------------------------- locking


@contextlib.contextmanager
def _writer_lock(ds: Dataset, sweep_roots: Sequence[Path]) -> Iterator[None]:
    """Hold a shared lock while writing; sweep temp files if no other writer is active.

    A crashed writer leaves temp files (``.<name>.tmp-...``) behind; they can only
    be removed when nobody else is mid-write, which the exclusive lock proves.
    The OS releases the lock of a killed process.
    """
    lock_path = Path(ds.internal_root) / "writers.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            exclusive = True
        except BlockingIOError:
            exclusive = False
        if exclusive:
            for root in sweep_roots:
                _sweep_temp(root)
            _sweep_worker_files(Path(ds.internal_root) / WORKERS_DIR)
        fcntl.flock(fd, fcntl.LOCK_SH)  # downgrade (or wait for a sweeper to finish)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _sweep_worker_files(folder: Path) -> int:
    """Remove feature files process workers of a killed driver left behind."""
    if not folder.is_dir():
        return 0
    removed = 0
    for p in folder.glob("*.pkl"):
        p.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("removed %d leftover worker file(s) from %s", removed, folder)
    return removed


def _sweep_temp(root: Path) -> int:
    n = len(sweep_temp_files(root))
    if n:
        log.info("removed %d leftover temporary file(s) under %s", n, root)
    return n


# --------------------------------------------------------------------------- run_feature


def _apply_dataset_defaults(ds: Dataset, feature: Feature) -> None:
    if isinstance(feature, TakesDatasetDefaults):
        feature.set_dataset_defaults(fps=ds.fps, columns=ds.columns, pose=ds.pose)
    if isinstance(feature, ReadsDatasetMeta) and feature.dataset_meta_keys:
        meta = ds.meta
        feature.set_dataset_meta({k: meta[k] for k in feature.dataset_meta_keys if k in meta})


def _input_stream(ds: Dataset, plan: RunPlan) -> InputStream:
    def factory() -> Iterator[tuple[tuple[str, str], pl.DataFrame]]:
        for g, s in plan.entries:
            # fit sees every column (input_columns is what apply reads)
            task = replace(_make_task(ds, plan, (g, s), overlap=False), columns=None)
            yield (g, s), _load_input(ds, task)

    return InputStream(factory, len(plan.entries))


def _make_task(
    ds: Dataset,
    plan: RunPlan,
    key: tuple[str, str],
    *,
    overlap: bool,
    neighbours: Mapping[tuple[str, str], tuple[Any, Any]] | None = None,
) -> _EntryTask:
    prev = nxt = None
    if overlap and plan.overlap_frames:
        if neighbours is None:
            neighbours = _neighbour_map(plan.sources, ds)
        prev, nxt = neighbours.get(key, (None, None))
    needed = {k for k in (key, prev, nxt) if k is not None}
    # Each task carries only the upstream paths it reads, not the whole run's.
    sources = tuple(
        src
        if src.kind == "tracks"
        else _Source(
            "result", src.feature, src.run_id, {k: src.paths[k] for k in needed if k in src.paths}
        )
        for src in plan.sources
    )
    return _EntryTask(
        group=key[0],
        sequence=key[1],
        out_path=str(plan.entry_path(*key)),
        input_fp=plan.fingerprints[key],
        dataset_root=str(ds.root),
        sources=sources,
        start_frame=plan.start_frame,
        end_frame=plan.end_frame,
        overlap_frames=plan.overlap_frames if overlap else 0,
        prev=prev,
        next=nxt,
        columns=plan.input_columns,
    )


def run_feature(
    ds: Dataset,
    feature: Feature,
    groups: Iterable[str] | None = None,
    sequences: Iterable[str] | None = None,
    overwrite: bool = False,
    parallel_workers: int | None = None,
    parallel_mode: str | None = "thread",
    overlap_frames: int = 0,
    filter_start_frame: int | None = None,
    filter_end_frame: int | None = None,
    filter_start_time: float | None = None,
    filter_end_time: float | None = None,
    registry: FeatureRegistry | None = None,
    *,
    executor: Executor | None = None,
    progress: bool | ProgressReporter | None = None,
    step_name: str | None = None,
    upstream_run_ids: Mapping[str, str] | None = None,
) -> Result:
    """Apply a feature over a chosen scope of a dataset (default: all entries).

    Input routing follows ``feature.inputs``: the tracks (default), one
    upstream feature's outputs, or several inputs joined on
    group/sequence/id/frame. Entries already complete for this run id (with
    unchanged inputs) are skipped.

    Parameters
    ----------
    ds : Dataset
        The dataset.
    feature : Feature
        An object following the :class:`~moveo.contract.Feature` protocol.
    groups, sequences : iterable of str, optional
        Scope filter.
    overwrite : bool, default False
        Recompute every entry in scope even if complete.
    parallel_workers : int, optional
        When > 1 and the feature is ``parallelizable``, compute entries in
        parallel (each worker's numba kernels limited to one thread).
    parallel_mode : {"thread", "process"}
        Backend for ``parallel_workers``: a thread pool or a (spawned) process pool.
    overlap_frames : int, default 0
        Read this many frames from the neighbouring sequences of the same group
        (previous/next by name) so windowed features have no edge effects; the
        borrowed rows are trimmed from the output. Sequences must be
        consecutive segments with increasing frame numbers. Not combinable with
        the filters.
    filter_start_frame, filter_end_frame : int, optional
        Keep frames ``start <= frame < end``.
    filter_start_time, filter_end_time : float, optional
        The same in seconds, converted to frames with the dataset's fps.
    registry : FeatureRegistry, optional
        An open registry (default: the dataset's, opened and closed here).
    executor : concurrent.futures.Executor, optional
        Compute entries on this executor (e.g. a Dask client's
        ``get_executor(pure=False)``). Workers read inputs, apply and write
        parquet; the driver alone writes the registry. Outside a thread pool, the
        feature (with its fitted state) is pickled once to a file each worker
        process loads once.
    progress : bool or ProgressReporter, optional
        Show a progress bar (default: only on a terminal).
    step_name : str, optional
        Pipeline step name recorded with the run (used by ``Pipeline.status``).
    upstream_run_ids : mapping, optional
        ``{feature: run_id}`` for upstream references without a ``run_id``
        (artifact parameters such as ``templates``) instead of that feature's
        latest run; the pipeline passes the runs of the steps they are bound to.

    Returns
    -------
    Result
        ``Result(feature=feature.name, run_id=...)`` locating the outputs.

    Raises
    ------
    FeatureRunError
        One or more entries failed (the others are saved and recorded).
    ValueError
        Bad options, unknown upstream runs, an empty scope.
    """
    _check_feature(feature)
    _apply_dataset_defaults(ds, feature)
    if parallel_mode not in (None, "thread", "process"):
        raise ValueError(f"parallel_mode must be 'thread' or 'process', got {parallel_mode!r}")
    clock = _StageClock()
    own_registry = registry is None
    with clock("registry"):
        reg = open_registry(ds) if registry is None else registry
    plan: RunPlan | None = None
    try:
        with clock("plan"):
            plan = plan_run(
                ds,
                feature,
                reg,
                groups=groups,
                sequences=sequences,
                overlap_frames=overlap_frames,
                filter_start_frame=filter_start_frame,
                filter_end_frame=filter_end_frame,
                filter_start_time=filter_start_time,
                filter_end_time=filter_end_time,
                upstream_run_ids=upstream_run_ids,
            )
        if not plan.entries and not plan.unreadable:
            raise ValueError(
                f"feature {plan.feature!r}: no entries in scope (groups={groups}, "
                f"sequences={sequences}); the dataset has {len(ds.entries())} entries"
            )
        return _execute(
            ds,
            feature,
            plan,
            reg,
            overwrite=overwrite,
            parallel_workers=parallel_workers,
            parallel_mode=parallel_mode or "thread",
            executor=executor,
            progress=progress,
            step_name=step_name,
            clock=clock,
        )
    finally:
        if own_registry:
            with clock("registry"):
                reg.close()
        sink = _TIMINGS.get()
        if sink is not None and plan is not None:
            sink.append(clock.timings(plan))


PARQUET_MAGIC = b"PAR1"


def output_problem(path: str | Path, size_bytes: int | None) -> str | None:
    """Say why a recorded output file cannot be served, or return ``None``.

    Cheap: one ``stat`` and two 4-byte reads. The size must be the one the
    registry recorded when the file was written, and a parquet file starts and
    ends with the magic bytes ``PAR1`` (a truncated or overwritten file does not).

    Parameters
    ----------
    path : str or Path
        The output file.
    size_bytes : int or None
        Its size recorded in the registry (``None``: not recorded, not checked).

    Returns
    -------
    str or None
        ``"missing"``, or what is wrong (e.g. ``"size 812 bytes, the registry
        recorded 2,345"``); ``None`` when the file looks intact.
    """
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if size_bytes is not None and size != size_bytes:
        return f"size {size:,} bytes, the registry recorded {size_bytes:,}"
    if size < 2 * len(PARQUET_MAGIC):
        return f"{size} bytes: too short for a parquet file"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        return "not a complete parquet file (no 'PAR1' marker at its start and end)"
    return None


def check_outputs(
    plan: RunPlan, reg: FeatureRegistry, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Return ``{entry: problem}`` for complete entries whose output is missing or corrupt.

    Parameters
    ----------
    plan : RunPlan
        The run.
    reg : FeatureRegistry
        Its registry (for the recorded sizes).
    keys : iterable of (str, str)
        Entries recorded complete.

    Returns
    -------
    dict
        Only the entries with a problem (see :func:`output_problem`).
    """
    sizes = reg.complete_sizes(plan.feature, plan.run_id)
    out = {}
    for key in keys:
        problem = output_problem(plan.entry_path(*key), sizes.get(key))
        if problem is not None:
            out[key] = problem
    return out


def describe_problems(plan: RunPlan, problems: Mapping[tuple[str, str], str], n: int = 3) -> str:
    """Return ``"(g, s) <path>: <problem>; ..."`` for the first ``n`` problems."""
    shown = [
        f"({g}, {s}) {plan.entry_path(g, s)}: {why}" for (g, s), why in sorted(problems.items())
    ]
    more = f"; +{len(shown) - n} more" if len(shown) > n else ""
    return "; ".join(shown[:n]) + more


def _todo(plan: RunPlan, reg: FeatureRegistry, overwrite: bool) -> list[tuple[str, str]]:
    if overwrite:
        return list(plan.entries)
    pending = set(reg.pending_entries(plan.feature, plan.run_id, plan.entries, plan.fingerprints))
    # A complete entry whose file vanished or is damaged is recomputed too.
    problems = check_outputs(plan, reg, [k for k in plan.entries if k not in pending])
    corrupt = {k: why for k, why in problems.items() if why != "missing"}
    if corrupt:
        log.warning(
            "feature %s (run %s): recomputing %d corrupt output(s): %s",
            plan.feature,
            plan.run_id,
            len(corrupt),
            describe_problems(plan, corrupt),
        )
    pending.update(problems)
    return sorted(pending)


def _execute(
    ds: Dataset,
    feature: Feature,
    plan: RunPlan,
    reg: FeatureRegistry,
    *,
    overwrite: bool,
    parallel_workers: int | None,
    parallel_mode: str,
    executor: Executor | None,
    progress: bool | ProgressReporter | None,
    step_name: str | None,
    clock: _StageClock | None = None,
) -> Result:
    clock = clock or _StageClock()
    with clock("plan"):
        todo = _todo(plan, reg, overwrite)
    with clock("registry"):
        fresh_run = not reg.has_run(plan.feature, plan.run_id)
        if fresh_run or todo:
            reg.record_run_start(
                plan.feature,
                plan.run_id,
                plan.version,
                plan.params_hash,
                plan.params_json,
                plan.inputs_json,
            )
            for up_feature, up_run in plan.upstream:
                reg.record_dependency(plan.feature, plan.run_id, up_feature, up_run)
        if step_name:
            reg.record_step(step_name, plan.feature, plan.run_id)
    label = step_name or plan.feature
    reporter = progress if isinstance(progress, ProgressReporter) else ProgressReporter(progress)
    unreadable = [
        EntryFailure(g, s, f"UnreadableEntryError: {why}")
        for (g, s), why in sorted(plan.unreadable.items())
    ]
    # (not recorded as failed: an output computed before the file was damaged stays)
    if not todo:
        if unreadable:
            raise FeatureRunError(plan.feature, plan.run_id, unreadable, 0)
        if not reg.run_is_finished(plan.feature, plan.run_id):
            reg.mark_finished(plan.feature, plan.run_id)
        with reporter:
            reporter.task(f"{label}", len(plan.entries)).finish("cached")
        return plan.result()

    with clock("registry"):
        reg.mark_unfinished(plan.feature, plan.run_id)
    ensure_inside(ds.root, plan.run_root, "run folder")
    plan.run_root.mkdir(parents=True, exist_ok=True)
    with _writer_lock(ds, [plan.run_root]):
        with clock("registry"):
            reg.mark_pending(plan.feature, plan.run_id, todo, force=True)
        with clock("state"):
            ready = feature.load_state(plan.run_root, plan.artifact_paths, plan.dependency_lookups)
            if not ready:
                feature.fit(_input_stream(ds, plan))
                feature.save_state(plan.run_root)
        with clock("plan"):
            neighbours = _neighbour_map(plan.sources, ds) if plan.overlap_frames else {}
            tasks = [_make_task(ds, plan, key, overlap=True, neighbours=neighbours) for key in todo]
            # each output folder exists before the workers write (no mkdir per entry)
            for folder in sorted({os.path.dirname(t.out_path) for t in tasks}):
                os.makedirs(folder, exist_ok=True)
        with reporter:
            bar = reporter.task(label, len(tasks))
            failures, n_ok = _dispatch(
                ds,
                feature,
                plan,
                reg,
                tasks,
                bar,
                parallel_workers=parallel_workers,
                parallel_mode=parallel_mode,
                executor=executor,
                clock=clock,
            )
    failures += unreadable
    if failures:
        raise FeatureRunError(plan.feature, plan.run_id, failures, n_ok)
    with clock("registry"):
        reg.mark_finished(plan.feature, plan.run_id)
    return plan.result()


class _Recorder:
    """Buffers completed entries and flushes them in short batched transactions.

    Workers write each output with temp name + fsync + rename but leave the
    folder's fsync to this driver: before a batch of rows is committed, every
    folder those outputs were renamed into is fsynced once. So a registry row
    always points at a durable file (a crash before the commit loses rows, not
    files, and the entries are simply computed again), at one folder fsync per
    batch and folder instead of one per file.
    """

    def __init__(
        self, reg: FeatureRegistry, feature: str, run_id: str, clock: _StageClock | None = None
    ):
        self.reg = reg
        self.feature = feature
        self.run_id = run_id
        self.buffer: list[dict[str, Any]] = []
        self.last = time.monotonic()
        self.clock = clock or _StageClock()

    def add(self, out: _EntryOutcome) -> None:
        self.clock.add_entry(out)
        self.buffer.append(
            {
                "feature": self.feature,
                "run_id": self.run_id,
                "group": out.group,
                "sequence": out.sequence,
                "path": out.path,
                "n_rows": out.n_rows,
                "input_fp": out.input_fp,
                "size_bytes": out.size_bytes,
            }
        )
        now = time.monotonic()
        if len(self.buffer) >= _FLUSH_EVERY_N or now - self.last >= _FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            with self.clock("sync"):
                for folder in sorted({os.path.dirname(row["path"]) for row in self.buffer}):
                    fsync_dir(folder)
            with self.clock("registry"):
                self.reg.record_entries(self.buffer)
            self.buffer = []
        self.last = time.monotonic()


def _dispatch(
    ds: Dataset,
    feature: Feature,
    plan: RunPlan,
    reg: FeatureRegistry,
    tasks: list[_EntryTask],
    bar: Any,
    *,
    parallel_workers: int | None,
    parallel_mode: str,
    executor: Executor | None,
    clock: _StageClock | None = None,
) -> tuple[list[EntryFailure], int]:
    recorder = _Recorder(reg, plan.feature, plan.run_id, clock)
    failures: list[EntryFailure] = []
    n_ok = 0

    def done(task: _EntryTask, fut_result: Any, exc: BaseException | None) -> None:
        nonlocal n_ok
        if exc is None:
            recorder.add(fut_result)
            bar.advance(1, fut_result.n_input_rows)
            n_ok += 1
            return
        message = f"{type(exc).__name__}: {exc}"
        tb = "".join(traceback.format_exception(exc))
        log.error(
            "feature %s: entry (%s, %s) failed:\n%s", plan.feature, task.group, task.sequence, tb
        )
        recorder.flush()
        reg.mark_failed(plan.feature, plan.run_id, task.group, task.sequence, message)
        failures.append(EntryFailure(task.group, task.sequence, message, tb))
        bar.advance(1, 0)

    parallel = bool(feature.parallelizable)
    workers = int(parallel_workers or 1)
    own_pool: Executor | None = None
    pool = executor
    if pool is None and parallel and workers > 1 and len(tasks) > 1:
        if parallel_mode == "process":
            import multiprocessing

            # spawn, not fork: forking a process that runs polars/numba threads can deadlock
            own_pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        else:
            own_pool = ThreadPoolExecutor(workers, thread_name_prefix=f"moveo-{plan.feature}")
        pool = own_pool

    handle_path: Path | None = None
    try:
        if pool is None:
            for task in tasks:
                try:
                    out = _local_entry(feature, ds, task, None)
                except Exception as exc:  # recorded per entry, re-raised as FeatureRunError
                    done(task, None, exc)
                else:
                    done(task, out, None)
            return failures, n_ok
        futures: dict[Future, _EntryTask] = {}
        if isinstance(pool, ThreadPoolExecutor):
            for task in tasks:
                futures[pool.submit(_local_entry, feature, ds, task, 1)] = task
        else:
            handle_dir = Path(ds.internal_root) / WORKERS_DIR
            handle_dir.mkdir(parents=True, exist_ok=True)
            # short enough for any feature name (NAME_MAX), unique per run call
            stem = f"{plan.feature[:64]}-{plan.run_id[:48]}-{uuid.uuid4().hex[:8]}"
            handle_path = handle_dir / f"{stem}.pkl"
            from moveo._fs import atomic_write_bytes

            payload = pickle.dumps(feature, protocol=pickle.HIGHEST_PROTOCOL)
            atomic_write_bytes(payload, handle_path)
            handle = _FeatureHandle(str(handle_path), hashlib.sha256(payload).hexdigest())
            for task in tasks:
                futures[pool.submit(_remote_entry, handle, task)] = task
        try:
            for fut in as_completed(futures):
                task = futures[fut]
                exc = fut.exception()
                done(task, None if exc is not None else fut.result(), exc)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return failures, n_ok
    finally:
        recorder.flush()
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
        if handle_path is not None:
            handle_path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- reading


def read_feature(
    ds: Dataset,
    result_or_name: Result | str,
    group: str,
    sequence: str,
    columns: Sequence[str] | None = None,
    *,
    registry: FeatureRegistry | None = None,
) -> pl.DataFrame:
    """Read one entry's output of a feature run.

    Parameters
    ----------
    ds : Dataset
        The dataset.
    result_or_name : Result or str
        A run (``run_feature``'s return value) or a feature name (its latest
        finished run).
    group, sequence : str
        The entry.
    columns : sequence of str, optional
        Columns to read (default all).
    registry : FeatureRegistry, optional
        An open registry.

    Returns
    -------
    polars.DataFrame

    Raises
    ------
    KeyError
        The feature never ran, or the entry is not complete in that run.
    """
    ref = Result(feature=result_or_name) if isinstance(result_or_name, str) else result_or_name
    own = registry is None
    reg = open_registry(ds) if registry is None else registry
    try:
        run_id = ref.run_id or reg.latest_run_id(ref.feature)
        if run_id is None:
            raise KeyError(f"feature {ref.feature!r} has not been run on {ds.root}")
        path = reg.entry_path(ref.feature, run_id, group, sequence)
        if path is None or not path.exists():
            done = reg.entry_count(ref.feature, run_id)
            raise KeyError(
                f"no complete output of {ref.feature!r} (run {run_id}) for (group={group!r}, "
                f"sequence={sequence!r}); the run has {done} complete entries"
            )
        recorded = reg.complete_sizes(ref.feature, run_id).get((group, sequence))
        problem = output_problem(path, recorded)
        if problem is not None:
            raise ValueError(
                f"the output of {ref.feature!r} (run {run_id}) for (group={group!r}, "
                f"sequence={sequence!r}) at {path} is corrupt: {problem}; run the feature "
                "again to recompute it"
            )
    finally:
        if own:
            reg.close()
    return pl.read_parquet(path, columns=list(columns) if columns is not None else None)
