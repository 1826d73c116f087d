"""Pipelines described in a file (TOML or JSON): :func:`load_pipeline_file`.

A pipeline file names each step's feature by its registered name (``moveo
features`` lists them), never by a module path, so a file cannot make moveo
import code. The file builds the same :class:`~moveo.pipeline.Pipeline` as the
Python API, with the same caching::

    name = "kinematics"

    [[steps]]
    name = "speed"
    feature = "speed-angvel"
    params = { smooth_window = 5 }

    [[steps]]
    name = "speed-stats"
    feature = "rolling-stats"
    inputs = ["speed"]                 # upstream step names (or "tracks")
    params = { columns = ["speed"], window = 15 }

    [[steps]]
    name = "clusters"
    feature = "global-kmeans"
    inputs = ["speed"]
    artifacts = { templates = "templates" }   # artifact parameter -> step
    run = { parallel_workers = 2 }            # run_feature options

JSON files hold the same structure (``{"name": ..., "steps": [{...}, ...]}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moveo.features import get_feature
from moveo.pipeline.pipeline import _RUN_KWARGS, FeatureStep, Pipeline
from moveo.schema import validation_message

__all__ = ["STEP_KEYS", "load_pipeline_file", "pipeline_from_dict"]

STEP_KEYS = ("name", "feature", "params", "inputs", "artifacts", "run")
"""The keys a step of a pipeline file may have."""

_TOP_KEYS = ("name", "steps")
_RUN_OPTIONS = tuple(k for k in _RUN_KWARGS if k != "executor")


def load_pipeline_file(path: str | Path) -> Pipeline:
    """Build a :class:`~moveo.pipeline.Pipeline` from a TOML or JSON file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` or ``.json`` file (see the module documentation).

    Returns
    -------
    Pipeline

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file cannot be parsed, has unknown keys, names an unknown feature or
        step, or has invalid parameters (the message names the file and the step).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pipeline file {path} does not exist")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    else:
        raise ValueError(f"{path}: a pipeline file ends in .toml or .json, not {suffix!r}")
    return pipeline_from_dict(data, source=str(path))


def _table(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be a table of key = value, got {type(value).__name__}")
    return dict(value)


def pipeline_from_dict(data: Mapping[str, Any], *, source: str = "pipeline") -> Pipeline:
    """Build a pipeline from parsed file contents.

    Parameters
    ----------
    data : mapping
        ``{"name": str, "steps": [{"name", "feature", "params", "inputs",
        "artifacts", "run"}, ...]}``.
    source : str
        Where it came from (for error messages).

    Returns
    -------
    Pipeline

    Raises
    ------
    ValueError
        Unknown keys, a missing name or feature, an unknown feature, invalid
        parameters, unknown upstream steps or a cycle.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: a pipeline file holds a table with 'steps'")
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {unknown}; allowed: {list(_TOP_KEYS)}")
    steps_data = data.get("steps")
    if not isinstance(steps_data, list) or not steps_data:
        raise ValueError(f"{source}: 'steps' must be a non-empty list of steps")
    steps = []
    for i, raw in enumerate(steps_data):
        label = f"{source}: step {i + 1}"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{label} must be a table, got {type(raw).__name__}")
        if isinstance(raw.get("name"), str):
            label += f" ({raw['name']!r})"
        bad = sorted(set(raw) - set(STEP_KEYS))
        if bad:
            raise ValueError(f"{label}: unknown key(s) {bad}; allowed: {list(STEP_KEYS)}")
        for key in ("name", "feature"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ValueError(f"{label}: {key!r} must be a non-empty string")
        try:
            cls = get_feature(raw["feature"])
        except KeyError as exc:
            raise ValueError(f"{label}: {exc.args[0]}") from exc
        params = _table(raw.get("params"), f"{label}: params")
        artifacts = _table(raw.get("artifacts"), f"{label}: artifacts")
        run = _table(raw.get("run"), f"{label}: run")
        bad_run = sorted(set(run) - set(_RUN_OPTIONS))
        if bad_run:
            raise ValueError(
                f"{label}: unknown run option(s) {bad_run}; allowed: {list(_RUN_OPTIONS)}"
            )
        inputs = raw.get("inputs") or []
        if not isinstance(inputs, list) or not all(isinstance(n, str) for n in inputs):
            raise ValueError(f"{label}: inputs must be a list of step names (or 'tracks')")
        try:
            cls.Params.from_overrides(params)  # fail here, naming the step
        except ValueError as exc:
            raise ValueError(
                f"{label}: invalid params for {raw['feature']!r}: {validation_message(exc)}"
            ) from exc
        try:
            steps.append(
                FeatureStep(
                    raw["name"],
                    cls,
                    params=params or None,
                    input_names=inputs,
                    run_kwargs=run,
                    artifact_names={str(k): str(v) for k, v in artifacts.items()},
                )
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label}: {exc}") from exc
    name = data.get("name", Path(source).stem if source != "pipeline" else "pipeline")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{source}: 'name' must be a non-empty string")
    try:
        return Pipeline(steps, name=name)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc
