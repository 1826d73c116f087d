"""Declarative multi-step feature pipelines with caching and staleness reports.

A :class:`Pipeline` is a DAG of named steps:

* :class:`FeatureStep` -- run a feature class (with params) on the tracks or on
  upstream steps' results, through :func:`moveo.pipeline.run.run_feature`.
* :class:`CallbackStep` -- call a function ``fn(dataset, results_so_far)`` after
  its dependencies (e.g. to write labels or export a table).

Caching is automatic: the same params and upstream runs give the same run id,
and complete runs are skipped. :meth:`Pipeline.status` says for each step
whether it is cached, stale (and why), partially done or missing;
:meth:`Pipeline.clean` removes runs the pipeline no longer produces.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from moveo._fs import ensure_inside
from moveo.contract import ArtifactSpec, Result
from moveo.pipeline.hashing import canonical_json, stable_hash
from moveo.pipeline.registry import FeatureRegistry, open_registry, registry_path
from moveo.pipeline.reporting import ProgressReporter
from moveo.pipeline.run import (
    RunPlan,
    _apply_dataset_defaults,
    check_outputs,
    describe_problems,
    feature_run_root,
    plan_run,
    run_feature,
)
from moveo.schema import validate_path_name

if TYPE_CHECKING:
    from moveo.dataset import Dataset

__all__ = ["CallbackStep", "FeatureStep", "Pipeline", "load_saved_pipeline"]

PIPELINE_FILE = "pipeline.json"
TRACKS = "tracks"
_PLAN_KWARGS = (
    "groups",
    "sequences",
    "overlap_frames",
    "filter_start_frame",
    "filter_end_frame",
    "filter_start_time",
    "filter_end_time",
)
_RUN_KWARGS = (*_PLAN_KWARGS, "overwrite", "parallel_workers", "parallel_mode", "executor")

STATUS_SCHEMA = {
    "step": pl.String,
    "feature": pl.String,
    "run_id": pl.String,
    "state": pl.String,
    "done": pl.Int64,
    "total": pl.Int64,
    "reason": pl.String,
}
CLEAN_SCHEMA = {
    "step": pl.String,
    "feature": pl.String,
    "run_id": pl.String,
    "status": pl.String,
    "n_files": pl.Int64,
    "size_mb": pl.Float64,
    "modified": pl.Datetime("us"),
}


@dataclass
class FeatureStep:
    """One feature node of the pipeline graph.

    Parameters
    ----------
    name : str
        Unique step name (used in ``input_names`` of downstream steps).
    feature_cls : type
        Feature class following the Feature protocol; constructed as
        ``feature_cls(params=params)`` or, with inputs,
        ``feature_cls(params=params, inputs=feature_cls.Inputs((Result, ...)))``.
    params : dict, optional
        Parameter overrides passed to the feature constructor.
    input_names : list of str
        Upstream feature steps whose results feed this feature (in order).
        Empty means the feature reads the tracks; the reserved name
        ``"tracks"`` mixes the tracks in (e.g. ``["tracks", "speed"]``).
    run_kwargs : dict
        Extra keyword arguments for :func:`~moveo.pipeline.run.run_feature`
        (``groups``, ``sequences``, ``parallel_workers``, ``parallel_mode``,
        ``overlap_frames``, ``filter_*``, ``overwrite``, ``executor``).
    artifact_names : dict of str to str
        Artifact parameters bound to upstream steps, ``{param: step}`` (e.g.
        ``{"templates": "templates"}``: fit on the templates of step
        ``templates``). These are DAG edges like ``input_names``. When a
        parameter is an artifact reference without a ``run_id`` (such as the
        global features' default ``templates``), :meth:`Pipeline.add` binds it
        to the latest earlier step of that feature; name it here to choose.
    """

    name: str
    feature_cls: type
    params: dict | None = None
    input_names: list[str] = field(default_factory=list)
    run_kwargs: dict = field(default_factory=dict)
    artifact_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.feature_cls, type):
            raise TypeError(
                f"step {self.name!r}: feature_cls must be a feature class, got "
                f"{type(self.feature_cls).__name__} (pass the class, not an instance)"
            )
        for attr in ("name", "version"):
            if not hasattr(self.feature_cls, attr):
                raise TypeError(
                    f"step {self.name!r}: {self.feature_cls.__name__} has no {attr!r}; it does "
                    "not follow the Feature protocol"
                )
        self.input_names = list(self.input_names)
        self.artifact_names = dict(self.artifact_names)
        unknown = sorted(set(self.run_kwargs) - set(_RUN_KWARGS))
        if unknown:
            raise ValueError(
                f"step {self.name!r}: unknown run_kwargs {unknown}; allowed: {list(_RUN_KWARGS)}"
            )

    @property
    def upstream(self) -> list[str]:
        """Names of the steps this one depends on (inputs, then bound artifacts)."""
        names = [n for n in self.input_names if n != TRACKS]
        return list(dict.fromkeys([*names, *self.artifact_names.values()]))

    def artifact_refs(self) -> dict[str, Any]:
        """Return the step's artifact parameters that have no fixed ``run_id``.

        Returns
        -------
        dict of str to ArtifactSpec
            ``{param name: reference}``, the references :meth:`Pipeline.add` may
            bind to an upstream step.
        """
        params_cls = getattr(self.feature_cls, "Params", None)
        if params_cls is None or not hasattr(params_cls, "from_overrides"):
            return {}
        params = params_cls.from_overrides(self.params)
        return {
            name: value
            for name in type(params).model_fields
            if isinstance(value := getattr(params, name, None), ArtifactSpec)
            and value.run_id is None
        }

    def build(self, results: Mapping[str, Result] | None = None) -> Any:
        """Instantiate the feature with this step's params and upstream results.

        Parameters
        ----------
        results : mapping of str to Result, optional
            Results of (at least) the upstream steps.

        Returns
        -------
        Feature
        """
        results = results or {}
        inputs = tuple(TRACKS if n == TRACKS else results[n] for n in self.input_names)
        if not inputs:
            return self.feature_cls(params=self.params)
        inputs_cls = getattr(self.feature_cls, "Inputs", None)
        wrapped = inputs_cls(inputs) if inputs_cls is not None else inputs
        return self.feature_cls(params=self.params, inputs=wrapped)


@dataclass
class CallbackStep:
    """A custom function that runs between feature layers.

    Parameters
    ----------
    name : str
        Unique step name.
    fn : callable
        Called as ``fn(dataset, results_so_far)`` where ``results_so_far`` maps
        step names to :class:`Result`. It runs when it never ran for the current
        upstream runs, or when one of them was recomputed.
    depends_on : list of str
        Upstream step names (ordering and staleness tracking).
    """

    name: str
    fn: Callable[[Dataset, dict[str, Result]], None]
    depends_on: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not callable(self.fn):
            raise TypeError(f"step {self.name!r}: fn must be callable")
        self.depends_on = list(self.depends_on)

    @property
    def upstream(self) -> list[str]:
        """Names of the steps this one depends on."""
        return list(self.depends_on)


Step = FeatureStep | CallbackStep


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"step name must be a non-empty string, got {name!r}")
    if name == TRACKS:
        raise ValueError(f"{TRACKS!r} is reserved for the tracks input; name the step otherwise")


def _callback_feature(name: str) -> str:
    return f"callback:{name}"


@dataclass
class _StepPlan:
    step: Step
    feature: str
    run_id: str
    plan: RunPlan | None = None
    total: int = 0


class Pipeline:
    """Lightweight feature pipeline orchestrator.

    Wraps :func:`~moveo.pipeline.run.run_feature` in a declarative graph of
    named steps. Caching is automatic (same params and inputs -> same run id ->
    skipped).

    Parameters
    ----------
    steps : iterable of FeatureStep or CallbackStep, optional
        Steps in any order (they are sorted topologically; cycles and unknown
        names are rejected).
    name : str
        Pipeline name (shown by the CLI).

    Attributes
    ----------
    results : dict of str to Result
        Results of the last :meth:`run` or :meth:`load`.
    recomputed : list of str
        Steps the last :meth:`run` computed (the others were reused from the cache).

    Examples
    --------
    >>> from moveo.pipeline import Pipeline, FeatureStep
    >>> p = Pipeline(name="demo")
    >>> p.dag()
    {}
    """

    def __init__(self, steps: Iterable[Step] = (), *, name: str = "pipeline") -> None:
        self.name = name
        self.steps: dict[str, Step] = {}
        self.results: dict[str, Result] = {}
        self.recomputed: list[str] = []
        for step in _toposort(list(steps)):
            self.add(step)

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, steps={list(self.steps)})"

    # ------------------------------------------------------------------ graph
    def add(self, step: Step) -> Pipeline:
        """Register a step and return ``self`` for chaining.

        Parameters
        ----------
        step : FeatureStep or CallbackStep
            The step; its upstream steps must already be added.

        Returns
        -------
        Pipeline

        Raises
        ------
        ValueError
            Duplicate name, unknown upstream name, a step depending on itself,
            or a feature step taking input from a callback step.
        """
        if not isinstance(step, FeatureStep | CallbackStep):
            raise TypeError(f"expected a FeatureStep or CallbackStep, got {type(step).__name__}")
        if step.name in self.steps:
            raise ValueError(f"duplicate step name {step.name!r}")
        if isinstance(step, FeatureStep):
            self._bind_artifacts(step)
        for up in step.upstream:
            if up == step.name:
                raise ValueError(f"step {step.name!r} depends on itself (a cycle)")
            if up not in self.steps:
                raise ValueError(
                    f"step {step.name!r} depends on unknown step {up!r}; add {up!r} first "
                    f"(known steps: {list(self.steps)})"
                )
            if isinstance(step, FeatureStep) and isinstance(self.steps[up], CallbackStep):
                raise ValueError(
                    f"step {step.name!r}: input {up!r} is a CallbackStep, which has no "
                    "result to read; input_names must name feature steps"
                )
        self.steps[step.name] = step
        return self

    def _bind_artifacts(self, step: FeatureStep) -> None:
        refs = step.artifact_refs()
        unknown = sorted(set(step.artifact_names) - set(refs))
        if unknown:
            raise ValueError(
                f"step {step.name!r}: artifact_names {unknown} are not artifact parameters of "
                f"{step.feature_cls.__name__} without a fixed run_id (those are: {sorted(refs)})"
            )
        for param, ref in refs.items():
            bound = step.artifact_names.get(param)
            if bound is None:
                producers = [
                    n
                    for n, s in self.steps.items()
                    if isinstance(s, FeatureStep)
                    and getattr(s.feature_cls, "name", None) == ref.feature
                ]
                if producers:
                    step.artifact_names[param] = producers[-1]
                continue
            up = self.steps.get(bound)
            if not isinstance(up, FeatureStep):
                raise ValueError(
                    f"step {step.name!r}: artifact {param!r} is bound to {bound!r}, which is not "
                    f"an earlier feature step (steps: {list(self.steps)})"
                )
            if getattr(up.feature_cls, "name", None) != ref.feature:
                raise ValueError(
                    f"step {step.name!r}: artifact {param!r} reads a {ref.feature!r} run, but "
                    f"step {bound!r} runs {up.feature_cls.name!r}"
                )

    def _artifact_run_ids(self, step: FeatureStep, run_ids: Mapping[str, str]) -> dict[str, str]:
        # {feature: run id} for the artifact references bound to upstream steps
        refs = step.artifact_refs()
        return {refs[p].feature: run_ids[u] for p, u in step.artifact_names.items() if u in run_ids}

    def dag(self) -> dict[str, list[str]]:
        """Return the adjacency dict ``{step_name: [upstream names]}``.

        Returns
        -------
        dict of str to list of str
        """
        return {name: step.upstream for name, step in self.steps.items()}

    def downstream(self, name: str) -> list[str]:
        """Return ``name`` and every step that depends on it, in run order.

        Parameters
        ----------
        name : str
            A step name.

        Returns
        -------
        list of str
        """
        self._require_step(name)
        found = {name}
        for step_name, step in self.steps.items():  # insertion order is topological
            if any(up in found for up in step.upstream):
                found.add(step_name)
        return [n for n in self.steps if n in found]

    def _require_step(self, name: str) -> None:
        if name not in self.steps:
            raise ValueError(f"unknown step {name!r}; steps: {list(self.steps)}")

    # ------------------------------------------------------------------ planning
    def _plan(self, ds: Dataset, reg: FeatureRegistry) -> dict[str, _StepPlan]:
        plans: dict[str, _StepPlan] = {}
        scope_total = len(ds.entries())
        for name, step in self.steps.items():
            if isinstance(step, CallbackStep):
                ups = [(plans[u].feature, plans[u].run_id) for u in step.depends_on]
                run_id = f"cb-{stable_hash({'upstream': ups})}"
                plans[name] = _StepPlan(step, _callback_feature(name), run_id)
                continue
            feature = step.build({u: plans[u].plan.result() for u in step.upstream})  # type: ignore[union-attr]
            _apply_dataset_defaults(ds, feature)
            kwargs = {k: v for k, v in step.run_kwargs.items() if k in _PLAN_KWARGS}
            bound = self._artifact_run_ids(step, {u: plans[u].run_id for u in step.upstream})
            plan = plan_run(ds, feature, reg, strict=False, upstream_run_ids=bound, **kwargs)
            total = len(plan.entries)
            if not total and step.upstream:
                # upstream not computed yet: count what the tracks scope will give
                scope = {k: kwargs[k] for k in ("groups", "sequences") if k in kwargs}
                total = len(ds.entries(**scope)) if scope else scope_total
            plans[name] = _StepPlan(step, plan.feature, plan.run_id, plan, total)
        return plans

    # ------------------------------------------------------------------ status
    def status(self, ds: Dataset) -> pl.DataFrame:
        """Report which steps are cached, stale, partial or missing, and why.

        Parameters
        ----------
        ds : Dataset
            The dataset.

        Returns
        -------
        polars.DataFrame
            One row per step: ``step, feature, run_id, state`` (``cached`` /
            ``stale`` / ``corrupt`` / ``unreadable`` (a tracks file cannot be read:
            the reason names the entry and the file) / ``partial`` / ``missing``),
            ``done, total``
            (entries) and ``reason`` (why a step is not cached, e.g. ``params
            changed: window 3 -> 5``, ``upstream changed: speed``, ``tracks changed
            for 2 entries``, or which output files are damaged: their size differs
            from the one recorded when they were written, or they lack parquet's
            ``PAR1`` markers; the next run recomputes them).
        """
        with _open_for_reading(ds) as reg:
            plans = self._plan(ds, reg)
            rows = []
            stale: dict[str, set[tuple[str, str]]] = {}
            for name, sp in plans.items():
                if isinstance(sp.step, CallbackStep):
                    rows.append(self._callback_status(name, sp, plans, reg))
                else:
                    rows.append(self._feature_status(name, sp, plans, reg, stale))
        return pl.DataFrame(rows, schema=STATUS_SCHEMA, orient="row")

    def _feature_status(
        self,
        name: str,
        sp: _StepPlan,
        plans: dict[str, _StepPlan],
        reg: FeatureRegistry,
        stale: dict[str, set[tuple[str, str]]],
    ) -> tuple[Any, ...]:
        plan = sp.plan
        assert plan is not None
        done_fps = reg.complete_entries(plan.feature, plan.run_id)
        # Entries whose upstream entry is stale will be recomputed with it, even though
        # the fingerprint they recorded still matches the (old) upstream output.
        inherited = {up: stale.get(up, set()) & set(plan.entries) for up in sp.step.upstream}
        from_upstream = set().union(*inherited.values()) if inherited else set()
        done = 0
        changed: set[tuple[str, str]] = set()
        intact: list[tuple[str, str]] = []
        for key in plan.entries:
            if key not in done_fps:
                continue
            if done_fps[key] != plan.fingerprints[key]:
                changed.add(key)
            elif key not in from_upstream:
                intact.append(key)
        problems = check_outputs(plan, reg, intact)
        corrupt = {k: why for k, why in problems.items() if why != "missing"}
        done = len(intact) - len(problems)
        stale[name] = changed | (from_upstream & set(done_fps))
        total = sp.total + len(plan.unreadable)
        upstream_states = [u for u in sp.step.upstream if plans[u].plan is not None]
        if total and done == total:
            state, reason = "cached", ""
        elif changed:
            uses_tracks = any(src.kind == "tracks" for src in plan.sources)
            what = "tracks changed" if uses_tracks else "upstream outputs changed"
            state, reason = "stale", f"{what} for {len(changed)} of {total} entries"
        elif stale[name]:
            ups = ", ".join(u for u, keys in inherited.items() if keys)
            n = len(stale[name])
            state, reason = "stale", f"upstream stale: {ups} ({n} of {total} entries)"
        elif corrupt:
            state = "corrupt"
            reason = (
                f"{len(corrupt)} of {total} outputs corrupt, recomputed by the next run: "
                f"{describe_problems(plan, corrupt)}"
            )
        elif plan.unreadable:
            state = "unreadable"
            first = next(iter(sorted(plan.unreadable.items())))[1]
            more = len(plan.unreadable) - 1
            reason = (
                f"{len(plan.unreadable)} of {total} entries unreadable: {first}"
                + (f" (+{more} more)" if more else "")
            )
        elif done:
            failed = reg.list_entries(plan.feature, plan.run_id, status="failed").height
            missing = total - done
            extra = f" ({failed} failed)" if failed else ""
            state, reason = "partial", f"{missing} of {total} entries missing{extra}"
        else:
            previous = _previous_run(reg, name, plan)
            if previous is None:
                state = "missing"
                reason = "never run"
                if reg.has_run(plan.feature, plan.run_id):
                    reason = "run started, no entry complete"
            else:
                state = "stale"
                reason = _why_stale(previous, plan, upstream_states, plans)
        return (name, plan.feature, plan.run_id, state, done, total, reason)

    def _callback_status(
        self, name: str, sp: _StepPlan, plans: dict[str, _StepPlan], reg: FeatureRegistry
    ) -> tuple[Any, ...]:
        if reg.run_is_finished(sp.feature, sp.run_id):
            return (name, "callback", sp.run_id, "cached", 1, 1, "")
        if reg.list_runs(sp.feature).height:
            ups = ", ".join(sp.step.upstream) or "inputs"
            return (name, "callback", sp.run_id, "stale", 0, 1, f"upstream changed: {ups}")
        return (name, "callback", sp.run_id, "missing", 0, 1, "never run")

    # ------------------------------------------------------------------ load / run
    def load(self, ds: Dataset, *, strict: bool = False) -> dict[str, Result]:
        """Populate :attr:`results` from cached runs on disk (no execution).

        Parameters
        ----------
        ds : Dataset
            The dataset.
        strict : bool, default False
            Raise if a feature step is not cached; otherwise it is left out.

        Returns
        -------
        dict of str to Result
            Cached feature steps' results.

        Raises
        ------
        LookupError
            With ``strict=True``, when some steps are not cached.
        """
        table = self.status(ds)
        results = {}
        missing = []
        for row in table.iter_rows(named=True):
            if row["feature"] == "callback":
                continue
            if row["state"] == "cached":
                results[row["step"]] = Result(feature=row["feature"], run_id=row["run_id"])
            else:
                missing.append(f"{row['step']} ({row['state']}: {row['reason']})")
        if strict and missing:
            raise LookupError(f"steps not cached: {', '.join(missing)}; run the pipeline first")
        self.results = results
        return results

    def run(
        self,
        ds: Dataset,
        force_from: str | None = None,
        *,
        executor: Any = None,
        progress: bool | None = None,
        parallel_workers: int | None = None,
    ) -> dict[str, Result]:
        """Execute the pipeline, skipping steps whose results are cached.

        Parameters
        ----------
        ds : Dataset
            The dataset.
        force_from : str, optional
            Step from which to recompute (overwrite) -- it and everything downstream.
        executor : concurrent.futures.Executor, optional
            Run the entries of parallelizable steps on this executor (unless a
            step's ``run_kwargs`` names its own).
        progress : bool, optional
            Show progress bars (default: only on a terminal).
        parallel_workers : int, optional
            Default ``parallel_workers`` for steps that do not set it.

        Returns
        -------
        dict of str to Result
            Each feature step's result.

        Raises
        ------
        FeatureRunError
            A step had failing entries (downstream steps did not run).
        """
        forced = set(self.downstream(force_from)) if force_from is not None else set()
        results: dict[str, Result] = {}
        recomputed: set[str] = set()
        with open_registry(ds) as reg, ProgressReporter(progress) as reporter:
            # saved first: after a crash, `moveo status` still knows what was running
            self._save_spec(ds)
            for name, step in self.steps.items():
                if isinstance(step, CallbackStep):
                    self._run_callback(ds, reg, step, results, recomputed, forced)
                    continue
                feature = step.build(results)
                kwargs = dict(step.run_kwargs)
                kwargs["overwrite"] = bool(kwargs.get("overwrite", False)) or name in forced
                if executor is not None:
                    kwargs.setdefault("executor", executor)
                if parallel_workers is not None:
                    kwargs.setdefault("parallel_workers", parallel_workers)
                before = reg.entries_stamp(str(feature.name))
                bound = self._artifact_run_ids(step, {u: r.run_id for u, r in results.items()})
                result = run_feature(
                    ds,
                    feature,
                    registry=reg,
                    progress=reporter,
                    step_name=name,
                    upstream_run_ids=bound,
                    **kwargs,
                )
                after = reg.entries_stamp(result.feature)
                if kwargs["overwrite"] or before != after:
                    recomputed.add(name)
                results[name] = result
        self.results = results
        self.recomputed = [n for n in self.steps if n in recomputed]
        return results

    def _run_callback(
        self,
        ds: Dataset,
        reg: FeatureRegistry,
        step: CallbackStep,
        results: dict[str, Result],
        recomputed: set[str],
        forced: set[str],
    ) -> None:
        ups = []
        for u in step.depends_on:
            res = results.get(u)
            if res is not None:
                ups.append((res.feature, res.run_id))
            else:  # a callback upstream: its own id
                ups.append((_callback_feature(u), _callback_ids(reg, u)))
        run_id = f"cb-{stable_hash({'upstream': ups})}"
        feature = _callback_feature(step.name)
        needed = (
            step.name in forced
            or any(u in recomputed for u in step.depends_on)
            or not reg.run_is_finished(feature, run_id)
        )
        if not needed:
            return
        step.fn(ds, dict(results))
        reg.record_run_start(feature, run_id, "callback", stable_hash(ups))
        reg.mark_finished(feature, run_id)
        reg.record_step(step.name, feature, run_id)
        recomputed.add(step.name)

    # ------------------------------------------------------------------ clean
    def clean(self, ds: Dataset, dry_run: bool = True) -> pl.DataFrame:
        """Remove run folders that no longer match the pipeline.

        For each feature used by a feature step, every run found on disk or in
        the registry is compared against the run ids the pipeline currently
        expects; the others are orphans.

        Parameters
        ----------
        ds : Dataset
            The dataset.
        dry_run : bool, default True
            Only report. With ``False``, delete orphan run folders and their
            registry rows.

        Returns
        -------
        polars.DataFrame
            Columns ``step, feature, run_id, status`` (``keep``, ``orphan`` on a
            dry run, ``deleted`` otherwise), ``n_files, size_mb, modified``.
        """
        with open_registry(ds) if not dry_run else _open_for_reading(ds) as reg:
            plans = self._plan(ds, reg)
            keep: dict[tuple[str, str], list[str]] = {}
            users: dict[str, list[str]] = {}
            for name, sp in plans.items():
                if isinstance(sp.step, FeatureStep):
                    keep.setdefault((sp.feature, sp.run_id), []).append(name)
                    users.setdefault(sp.feature, []).append(name)
            runs: list[tuple[str, str, Path]] = []
            for feature in sorted(users):
                folder = Path(ds.features_root) / feature
                on_disk = (
                    {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
                    if folder.exists()
                    else set()
                )
                known = set(reg.list_runs(feature)["run_id"].to_list())
                for run_id in sorted(on_disk | known):
                    runs.append((feature, run_id, _run_folder(ds, feature, run_id)))
            rows = []
            for feature, run_id, run_dir in runs:
                n_files, size, modified = _folder_stats(run_dir)
                kept = (feature, run_id) in keep
                steps = keep.get((feature, run_id)) or users[feature]
                status = "keep" if kept else ("orphan" if dry_run else "deleted")
                if not kept and not dry_run:
                    if run_dir.exists():
                        shutil.rmtree(run_dir)
                    reg.delete_run(feature, run_id)
                rows.append(
                    (",".join(steps), feature, run_id, status, n_files, round(size / 1e6, 3),
                     modified)
                )
        return pl.DataFrame(rows, schema=CLEAN_SCHEMA, orient="row")

    # ------------------------------------------------------------------ persistence
    def to_spec(self) -> dict[str, Any]:
        """Describe the pipeline as JSON-able data (what the CLI reloads).

        Returns
        -------
        dict
            ``{"name": ..., "steps": [...]}``; a feature step stores its feature's
            registered name (and, for reference, ``"module:qualname"`` of the
            class), a callback step the ``"module:qualname"`` of its function.
        """
        steps = []
        for step in self.steps.values():
            if isinstance(step, FeatureStep):
                run_kwargs = {
                    k: v for k, v in step.run_kwargs.items() if k != "executor" and _jsonable(v)
                }
                steps.append(
                    {
                        "kind": "feature",
                        "name": step.name,
                        "feature": str(step.feature_cls.name),
                        "feature_cls": _qualified(step.feature_cls),
                        "params": json.loads(canonical_json(step.params or {})),
                        "input_names": step.input_names,
                        "run_kwargs": run_kwargs,
                        "artifact_names": step.artifact_names,
                    }
                )
            else:
                steps.append(
                    {
                        "kind": "callback",
                        "name": step.name,
                        "fn": _qualified(step.fn),
                        "depends_on": step.depends_on,
                    }
                )
        return {"name": self.name, "steps": steps}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Pipeline:
        """Rebuild a pipeline from :meth:`to_spec` output, without importing anything.

        A spec is data (``.moveo/pipeline.json`` travels with the dataset), so it
        never decides which code runs: feature classes are looked up by their
        registered name (:func:`moveo.features.get_feature`: moveo's features, and
        any ``BaseFeature`` subclass whose module is already imported) or, for
        other classes following the Feature protocol, in a module the running
        program has already imported. Callback functions are resolved the same
        way; one that is not found becomes a step that refuses to run (its status
        is still reported). Import your own modules first, e.g. ``moveo status
        DIR --import mylab.features``.

        Parameters
        ----------
        spec : mapping
            The description.

        Returns
        -------
        Pipeline

        Raises
        ------
        ImportError
            A feature class is neither registered nor in an imported module; the
            message names it and says how to make it available.
        """
        steps: list[Step] = []
        for item in spec.get("steps", []):
            if item["kind"] == "feature":
                steps.append(
                    FeatureStep(
                        item["name"],
                        _feature_class(item),
                        params=item.get("params") or None,
                        input_names=item.get("input_names", []),
                        run_kwargs=item.get("run_kwargs", {}),
                        artifact_names=item.get("artifact_names", {}),
                    )
                )
            else:
                steps.append(
                    CallbackStep(
                        item["name"],
                        _saved_callback(str(item.get("fn", "")), item["name"]),
                        depends_on=item.get("depends_on", []),
                    )
                )
        return cls(steps, name=spec.get("name", "pipeline"))

    def _save_spec(self, ds: Dataset) -> None:
        from moveo._fs import atomic_write_bytes

        text = json.dumps(self.to_spec(), indent=1, sort_keys=True)
        atomic_write_bytes(text.encode(), Path(ds.internal_root) / PIPELINE_FILE)


def load_saved_pipeline(ds: Dataset) -> Pipeline:
    """Rebuild the pipeline that last ran on ``ds`` (saved by :meth:`Pipeline.run`).

    Parameters
    ----------
    ds : Dataset
        The dataset.

    Returns
    -------
    Pipeline

    Raises
    ------
    FileNotFoundError
        No pipeline has run on this dataset.
    """
    path = Path(ds.internal_root) / PIPELINE_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"no pipeline has run on {ds.root} yet ({path} is missing); run one with "
            "Pipeline.run(ds) or `moveo demo`"
        )
    return Pipeline.from_spec(json.loads(path.read_text()))


# --------------------------------------------------------------------------- helpers


def _toposort(steps: list[Step]) -> list[Step]:
    by_name: dict[str, Step] = {}
    for step in steps:
        if step.name in by_name:
            raise ValueError(f"duplicate step name {step.name!r}")
        by_name[step.name] = step
    for step in steps:
        for up in step.upstream:
            if up not in by_name:
                raise ValueError(
                    f"step {step.name!r} depends on unknown step {up!r} (steps: {list(by_name)})"
                )
    ordered: list[Step] = []
    placed: set[str] = set()
    remaining = list(steps)
    while remaining:
        ready = [s for s in remaining if all(u in placed for u in s.upstream)]
        if not ready:
            names = sorted(s.name for s in remaining)
            raise ValueError(f"the steps {names} form a cycle; a pipeline must be a DAG")
        for s in ready:
            ordered.append(s)
            placed.add(s.name)
        remaining = [s for s in remaining if s.name not in placed]
    return ordered


class _open_for_reading:
    """Open the registry for reading: writable if possible, else read-only."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.reg: FeatureRegistry | None = None

    def __enter__(self) -> FeatureRegistry:
        from moveo.pipeline.registry import RegistryReadOnlyError, registry_path

        try:
            self.reg = open_registry(self.ds)
        except RegistryReadOnlyError:
            if not registry_path(self.ds).exists():
                raise
            self.reg = open_registry(self.ds, readonly=True)
        return self.reg

    def __exit__(self, *exc: object) -> None:
        if self.reg is not None:
            self.reg.close()


def _previous_run(reg: FeatureRegistry, step: str, plan: RunPlan) -> dict[str, Any] | None:
    for feature, run_id in reg.step_runs(step):
        if feature == plan.feature and run_id != plan.run_id:
            return reg.get_run(feature, run_id)
    return None


def _why_stale(
    previous: dict[str, Any],
    plan: RunPlan,
    upstream_steps: list[str],
    plans: dict[str, _StepPlan],
) -> str:
    reasons = []
    if previous["version"] != plan.version:
        reasons.append(f"version changed: {previous['version']} -> {plan.version}")
    if previous["params_hash"] != plan.params_hash:
        reasons.append("params changed" + _param_diff(previous.get("params_json"), plan))
    try:
        old_inputs = json.loads(previous.get("inputs_json") or "{}")
    except json.JSONDecodeError:
        old_inputs = {}
    new_inputs = json.loads(plan.inputs_json)
    old_up = {f: r for f, r in old_inputs.get("upstream", [])}
    changed_up = []
    for feature, run_id in new_inputs.get("upstream", []):
        if old_up.get(feature) != run_id:
            names = [s for s in upstream_steps if plans[s].feature == feature] or [feature]
            changed_up.extend(names)
    if changed_up:
        reasons.append(f"upstream changed: {', '.join(dict.fromkeys(changed_up))}")
    if old_inputs.get("filters") != new_inputs.get("filters"):
        reasons.append("filters changed")
    old_labels = old_inputs.get("labels") or {}
    new_labels = new_inputs.get("labels") or {}
    changed_labels = [
        f"{name} (kind {info.get('kind')!r})"
        for name, info in sorted(new_labels.items())
        if old_labels.get(name) != info
    ]
    if changed_labels:
        reasons.append(f"labels changed: {', '.join(changed_labels)}")
    if not reasons:
        reasons.append("scope changed")
    return "; ".join(reasons)


def _param_diff(old_json: str | None, plan: RunPlan) -> str:
    try:
        old = json.loads(old_json or "")
        new = json.loads(plan.params_json)
    except json.JSONDecodeError:
        return ""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    parts = [
        f"{k} {old.get(k)!r} -> {new.get(k)!r}"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
    return f": {', '.join(parts)}" if parts else ""


def _callback_ids(reg: FeatureRegistry, step: str) -> str:
    runs = reg.step_runs(step)
    return runs[0][1] if runs else ""


def _run_folder(ds: Dataset, feature: str, run_id: str) -> Path:
    """Return a run's folder after checking its names and that it stays in the dataset.

    Run ids come from the registry and folder listings: data, not code. Every one
    is checked before anything is deleted, so a damaged or crafted registry row
    (``../../victim``) or a symlinked run folder stops :meth:`Pipeline.clean`
    before it removes anything.
    """
    try:
        validate_path_name("run id", run_id)
    except ValueError as exc:
        raise ValueError(
            f"the registry {registry_path(ds)} lists run {run_id!r} of feature {feature!r}, "
            f"which is not a safe folder name ({exc}); nothing was deleted. Remove that row "
            "with moveo.pipeline.open_registry(ds).delete_run(feature, run_id)"
        ) from None
    return ensure_inside(ds.root, feature_run_root(ds, feature, run_id), "run folder")


def _folder_stats(folder: Path) -> tuple[int, int, _dt.datetime | None]:
    if not folder.exists():
        return 0, 0, None
    n = size = 0
    newest = 0.0
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            n += 1
            size += st.st_size
            newest = max(newest, st.st_mtime)
    if not n:
        newest = folder.stat().st_mtime
    return n, size, _dt.datetime.fromtimestamp(newest)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _qualified(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or ""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "")
    return f"{module}:{qualname}"


def _imported(path: str) -> Any:
    """Return the object ``"module:qualname"`` names if its module is already imported.

    Nothing is imported: a module the running program has not imported itself
    is not looked at.
    """
    module_name, _, qualname = path.partition(":")
    obj: Any = sys.modules.get(module_name)
    if obj is None or not qualname or "<locals>" in qualname:
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _feature_class(item: Mapping[str, Any]) -> type:
    """Resolve a saved feature step's class by registered name (see ``from_spec``)."""
    from moveo.features import get_feature

    step = item["name"]
    qualified = str(item.get("feature_cls", ""))
    name = item.get("feature")
    if name is not None:
        try:
            return get_feature(str(name))
        except KeyError:
            pass
    found = _imported(qualified)
    if isinstance(found, type) and (name is None or getattr(found, "name", None) == name):
        return found
    if "<locals>" in qualified or qualified.startswith("__main__:"):
        where = "it was defined inside a function or a script"
    else:
        where = f"no registered feature has that name, and {qualified.partition(':')[0]!r} " \
            "is not imported"
    raise ImportError(
        f"step {step!r}: cannot find feature {name or qualified!r} ({where}). moveo never "
        "imports code named in pipeline.json; define the feature in an importable module "
        "and import it first (from the command line: moveo status DIR --import MODULE)"
    )


def _saved_callback(path: str, step: str) -> Callable[..., None]:
    """Return the saved callback if its module is imported, else a step that refuses to run."""
    found = _imported(path)
    if callable(found):
        return found

    def refuse(ds: Any, results: Any) -> None:
        raise RuntimeError(
            f"callback step {step!r} ({path}) was read from pipeline.json and its module is "
            "not imported; moveo does not import code named in a data file. Import it "
            "first, or run the pipeline from the script that defines it"
        )

    return refuse
