"""Data sub-commands of the ``moveo`` command: bring data in, list and run features.

``moveo ingest FORMAT PATH DIR [--group G] [--sequence S] [--name-pattern RE]``
    Read tracking files with one of moveo's readers (:data:`FORMATS`) and add them
    to the dataset in ``DIR`` (created if needed). ``PATH`` may be a glob.
``moveo features [--json]``
    Every registered feature: version, inputs, output columns (when declared) and
    the JSON schema of its parameters.
``moveo run DIR FEATURE [--param KEY=VALUE ...]``
    Run one feature on a dataset (cached like the Python API).
``moveo pipeline run FILE DIR`` / ``moveo pipeline status FILE DIR``
    Run (or report the status of) a pipeline file (TOML or JSON, see
    :mod:`moveo.pipeline.declarative`).
``moveo import-mosaic SRC DST``
    Bring a mosaic-behavior 0.17 dataset over (:func:`moveo.pipeline.import_mosaic`).
"""

from __future__ import annotations

import argparse
import glob
import inspect
import json
import re
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "Format", "available_formats", "parse_param", "register"]


@dataclass(frozen=True)
class Format:
    """A tracking file format ``moveo ingest`` reads.

    Attributes
    ----------
    reader : str
        Name of the reader function in :mod:`moveo.io`; it takes the path (and
        ``group=`` / ``sequence=`` when it accepts them) and returns a tracks table.
    help : str
        One line for ``moveo ingest --help``.
    pose : str or None
        Name of a function in :mod:`moveo.io` returning the
        :class:`~moveo.schema.PoseConfig` of a file (keypoint names), used when the
        dataset is created.
    """

    reader: str
    help: str
    pose: str | None = None


FORMATS: dict[str, Format] = {
    "trex": Format("read_trex", "TRex .npz export: one file, or a folder of <video>_fish<k>.npz"),
    "dlc": Format("read_dlc_csv", "DeepLabCut .csv (single- or multi-animal)", "dlc_pose_config"),
    "table": Format("read_table", "a long table (.csv/.tsv/.parquet) with moveo's column names"),
}
"""``moveo ingest`` formats: one line per reader of :mod:`moveo.io`."""


def available_formats() -> dict[str, Format]:
    """Return the formats whose reader exists in this moveo.

    Returns
    -------
    dict of str to Format
    """
    import moveo.io

    return {name: f for name, f in FORMATS.items() if hasattr(moveo.io, f.reader)}


def register(subparsers: Any) -> None:
    """Add ``ingest``, ``features``, ``run``, ``pipeline`` and ``import-mosaic``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.
    """
    formats = available_formats()
    ingest = subparsers.add_parser(
        "ingest",
        help="read tracking files into a dataset",
        description="Read tracking files with one of moveo's readers and add them to the "
        "dataset in DIR (created when missing). Formats: "
        + "; ".join(f"{n}: {f.help}" for n, f in formats.items()),
    )
    ingest.add_argument("format", metavar="FORMAT", help=f"one of: {', '.join(formats)}")
    ingest.add_argument("path", metavar="PATH", help="a file or folder, or a glob (quote it)")
    ingest.add_argument("dir", metavar="DIR", help="dataset folder")
    ingest.add_argument("--group", help="group name (default: the reader's, e.g. the folder)")
    ingest.add_argument("--sequence", help="sequence name (one file only)")
    ingest.add_argument(
        "--name-pattern",
        metavar="REGEX",
        help="regular expression with named groups (?P<group>...) and/or (?P<sequence>...) "
        "searched in each file's path, e.g. '(?P<group>[^/]+)/(?P<sequence>[^/]+)\\.csv$'",
    )
    ingest.add_argument("--fps", type=float, help="frames per second of a new dataset")
    ingest.add_argument("--overwrite", action="store_true", help="replace existing entries")
    ingest.set_defaults(func=_ingest)

    features = subparsers.add_parser(
        "features", help="list the registered features and their parameters"
    )
    features.add_argument("--json", action="store_true", help="machine-readable output")
    features.set_defaults(func=_features)

    run = subparsers.add_parser("run", help="run one feature on a dataset (cached)")
    run.add_argument("dir", metavar="DIR", help="dataset folder")
    run.add_argument("feature", metavar="FEATURE", help="registered name, e.g. speed-angvel")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter; VALUE is parsed as JSON (5, 0.5, true, null, [1,2], "
        '{"a":1}), else taken as a string; KEY may be dotted (templates.run_id=...)',
    )
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="FEATURE[@RUN_ID]",
        help="read another feature's output instead of the tracks ('tracks' for the "
        "tracks); repeatable",
    )
    run.add_argument("--groups", nargs="+", help="only these groups")
    run.add_argument("--sequences", nargs="+", help="only these sequences")
    run.add_argument("--workers", type=int, help="entries in parallel")
    run.add_argument("--overwrite", action="store_true", help="recompute every entry")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)

    pipe = subparsers.add_parser("pipeline", help="run a pipeline file (TOML or JSON)")
    pipe_sub = pipe.add_subparsers(dest="pipeline_command", metavar="ACTION")
    pipe.set_defaults(func=lambda args: _usage(pipe))
    prun = pipe_sub.add_parser("run", help="run the pipeline of FILE on the dataset in DIR")
    prun.add_argument("file", metavar="FILE", help="pipeline file (.toml or .json)")
    prun.add_argument("dir", metavar="DIR", help="dataset folder")
    prun.add_argument("--force-from", metavar="STEP", help="recompute this step and downstream")
    prun.add_argument("--workers", type=int, help="entries in parallel per step")
    prun.add_argument("--quiet", action="store_true", help="no progress bars")
    prun.set_defaults(func=_pipeline_run)
    pstat = pipe_sub.add_parser("status", help="which steps of FILE are cached on DIR, and why")
    pstat.add_argument("file", metavar="FILE", help="pipeline file (.toml or .json)")
    pstat.add_argument("dir", metavar="DIR", help="dataset folder")
    pstat.set_defaults(func=_pipeline_status)

    mosaic = subparsers.add_parser(
        "import-mosaic",
        help="bring a mosaic-behavior 0.17 dataset over (tracks, labels, feature runs)",
        description="Import the tracks and labels of a mosaic-behavior dataset into a new "
        "moveo dataset and adopt the feature runs moveo implements (checked against "
        "moveo's own result), so pipelines reuse them. The source is only read.",
    )
    mosaic.add_argument("src", metavar="SRC", help="mosaic dataset folder (with dataset.yaml)")
    mosaic.add_argument("dst", metavar="DST", help="new moveo dataset folder")
    mosaic.add_argument("--fps", type=float, help="frames per second (default: from the tracks)")
    mosaic.add_argument(
        "--empty-group", default="ungrouped", help="group for entries without one"
    )
    mosaic.add_argument("--tracks-run-id", help="tracks variant to import (when several)")
    mosaic.add_argument(
        "--pair-labels",
        choices=("skip", "first"),
        default="skip",
        help="labels of a pair: skip, or give them to the pair's first individual",
    )
    mosaic.add_argument(
        "--verify",
        choices=("sample", "all"),
        default="sample",
        help="entries of each run moveo recomputes and compares before adopting",
    )
    mosaic.set_defaults(func=_import_mosaic)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _console() -> Any:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 180)


# --------------------------------------------------------------------------- ingest

_GLOB = re.compile(r"[*?\[]")


def _paths(pattern: str) -> list[Path]:
    if _GLOB.search(pattern):
        found = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
        if not found:
            raise FileNotFoundError(f"no file matches {pattern!r}")
        return found
    path = Path(pattern)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return [path]


def _names(path: Path, args: argparse.Namespace, regex: re.Pattern | None) -> dict[str, str]:
    names = {}
    if regex is not None:
        m = regex.search(path.as_posix())
        if m is None:
            raise ValueError(f"--name-pattern {regex.pattern!r} does not match {path}")
        names = {k: v for k, v in m.groupdict().items() if k in ("group", "sequence") and v}
    if args.group:
        names["group"] = args.group
    if args.sequence:
        names["sequence"] = args.sequence
    return names


def _read(fmt: Format, path: Path, names: dict[str, str]) -> Any:
    import moveo.io

    reader = getattr(moveo.io, fmt.reader)
    accepted = inspect.signature(reader).parameters
    kwargs = {k: v for k, v in names.items() if k in accepted}
    table = reader(path, **kwargs)
    for key, default in (("group", path.parent.name), ("sequence", path.stem)):
        if key not in table.columns:
            import polars as pl

            table = table.with_columns(pl.lit(names.get(key, default)).alias(key))
        elif key in names and key not in kwargs:
            raise ValueError(
                f"{path}: the {fmt.reader} table names its {key}s itself; drop --{key}"
            )
    return table


def _ingest(args: argparse.Namespace) -> int:
    from moveo.dataset import MANIFEST_NAME, Dataset
    from moveo.schema import PoseConfig

    formats = available_formats()
    fmt = formats.get(args.format)
    if fmt is None:
        raise ValueError(f"unknown format {args.format!r}; formats: {', '.join(formats)}")
    paths = _paths(args.path)
    if args.sequence and len(paths) > 1:
        raise ValueError(
            f"--sequence names one entry, but {args.path!r} matches {len(paths)} files; "
            "use --name-pattern to take names from the paths"
        )
    regex = re.compile(args.name_pattern) if args.name_pattern else None
    tables = [(p, _read(fmt, p, _names(p, args, regex))) for p in paths]
    root = Path(args.dir)
    if (root / MANIFEST_NAME).exists():
        ds = Dataset.open(root)
        if args.fps is not None and ds.fps is not None and ds.fps != args.fps:
            raise ValueError(f"{root} has fps {ds.fps:g}, not {args.fps:g}; drop --fps")
        if args.fps is not None and ds.fps is None:
            ds.set_fps(args.fps)
    else:
        import moveo.io

        first = tables[0][1]
        if fmt.pose is not None:
            pose = getattr(moveo.io, fmt.pose)(paths[0])
        else:
            n = 0
            while f"poseX{n}" in first.columns and f"poseY{n}" in first.columns:
                n += 1
            pose = PoseConfig(pose_n=n)
        ds = Dataset.create(root, fps=args.fps, pose=pose)
    written: list[tuple[str, str]] = []
    rows = 0
    # validate every table before writing any, so a bad file leaves the dataset as it was
    existing = set(ds.entries())
    for path, table in tables:
        keys = set(table.select("group", "sequence").unique().iter_rows())
        clash = sorted(keys & existing)
        if clash and not args.overwrite:
            raise FileExistsError(
                f"{path}: entries {clash[:3]} already exist in {root}; pass --overwrite"
            )
        existing |= keys
    for path, table in tables:
        written += ds.add_tracks(table, overwrite=args.overwrite, source=str(path))
        rows += table.height
    names = ", ".join(f"{g}/{s}" for g, s in written[:8]) + (" ..." if len(written) > 8 else "")
    print(
        f"{root}: ingested {len(written)} entries ({rows} rows) from {len(paths)} "
        f"{args.format} file(s): {names}"
    )
    return 0


# --------------------------------------------------------------------------- features


def _inputs_info(cls: type) -> dict[str, Any]:
    from moveo.contract import Result

    accepts = []
    inputs_cls = getattr(cls, "Inputs", None)
    if inputs_cls is not None:
        annotation = inputs_cls.model_fields["root"].annotation
        (item,) = typing.get_args(annotation)[:1] or (Any,)
        for arg in typing.get_args(item) or (item,):
            if typing.get_origin(arg) is typing.Literal or arg == "tracks":
                accepts.append("tracks")
            elif isinstance(arg, type) and issubclass(arg, Result):
                accepts.append("results")
        require = getattr(inputs_cls, "_require", "nonempty")
    else:
        require = "nonempty"
    default = [
        i if isinstance(i, str) else f"{i.feature}" for i in getattr(cls, "default_inputs", ())
    ]
    return {"accepts": list(dict.fromkeys(accepts)), "default": default, "require": require}


def feature_catalogue() -> list[dict[str, Any]]:
    """Describe every registered feature (what ``moveo features --json`` prints).

    Returns
    -------
    list of dict
        ``name, class, version, parallelizable, scope_dependent, inputs,
        output_columns`` (``None`` unless the class declares ``output_columns``),
        ``params_schema`` (pydantic JSON schema).
    """
    from moveo.features import feature_names, get_feature

    out = []
    for name in feature_names():
        cls = get_feature(name)
        declared = getattr(cls, "output_columns", None)
        out.append(
            {
                "name": name,
                "class": f"{cls.__module__}.{cls.__qualname__}",
                "version": str(cls.version),
                "parallelizable": bool(cls.parallelizable),
                "scope_dependent": bool(cls.scope_dependent),
                "inputs": _inputs_info(cls),
                "output_columns": list(declared) if declared is not None else None,
                "params_schema": cls.Params.model_json_schema(),
            }
        )
    return out


def _param_summary(params_cls: type) -> str:
    from pydantic import BaseModel

    parts = []
    for key, field in params_cls.model_fields.items():
        if field.is_required():
            parts.append(f"{key} (required)")
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json", exclude_defaults=True) or {}
        parts.append(f"{key}={json.dumps(default, default=str)}")
    return ", ".join(parts) or "-"


def _features(args: argparse.Namespace) -> int:
    catalogue = feature_catalogue()
    if args.json:
        print(json.dumps(catalogue, indent=1))
        return 0
    from rich.table import Table

    table = Table(title=f"{len(catalogue)} features (moveo features --json for the schemas)")
    for col in ("feature", "version", "inputs", "output columns", "parameters (defaults)"):
        table.add_column(col, overflow="fold")
    from moveo.features import get_feature

    for item in catalogue:
        inputs = " or ".join(item["inputs"]["accepts"]) or "-"
        outputs = ", ".join(item["output_columns"]) if item["output_columns"] else "-"
        params = _param_summary(get_feature(item["name"]).Params)
        table.add_row(item["name"], item["version"], inputs, outputs, params)
    _console().print(table)
    return 0


# --------------------------------------------------------------------------- run


def parse_param(text: str) -> tuple[list[str], Any]:
    """Parse ``KEY=VALUE`` (VALUE as JSON when it parses, else a string).

    Parameters
    ----------
    text : str
        E.g. ``window=5``, ``stats=["mean"]``, ``templates.run_id=0.1-ab``.

    Returns
    -------
    (list of str, object)
        The key path (split at dots) and the value.

    Raises
    ------
    ValueError
        No ``=`` or an empty key.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ValueError(f"--param expects KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.split("."), value


def _params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for text in items:
        path, value = parse_param(text)
        node = params
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"--param {text!r}: {part!r} was already given a value")
            node = child
        node[path[-1]] = value
    return params


def _inputs(items: list[str]) -> tuple[Any, ...] | None:
    from moveo.contract import Result

    if not items:
        return None
    out: list[Any] = []
    for text in items:
        if text == "tracks":
            out.append("tracks")
            continue
        feature, _, run_id = text.partition("@")
        if not feature:
            raise ValueError(f"--input expects FEATURE[@RUN_ID] or 'tracks', got {text!r}")
        out.append(Result(feature=feature, run_id=run_id or None))
    return tuple(out)


def _run(args: argparse.Namespace) -> int:
    from moveo.dataset import Dataset
    from moveo.features import get_feature
    from moveo.pipeline.registry import open_registry
    from moveo.pipeline.run import FeatureRunError, run_feature
    from moveo.schema import validation_message

    ds = Dataset.open(args.dir)
    cls = get_feature(args.feature)
    params = _params(args.param)
    inputs = _inputs(args.input)
    if inputs:
        try:
            inputs = cls.Inputs(inputs)
        except ValueError as exc:
            what = "inputs: " + validation_message(exc, what="input")
            raise ValueError(f"feature {args.feature!r} {what}") from exc
    try:
        feature = cls(params=params, inputs=inputs) if inputs else cls(params=params)
    except ValueError as exc:
        raise ValueError(f"feature {args.feature!r}: {validation_message(exc)}") from exc
    try:
        result = run_feature(
            ds,
            feature,
            groups=args.groups,
            sequences=args.sequences,
            overwrite=args.overwrite,
            parallel_workers=args.workers,
            progress=False if args.quiet else None,
        )
    except FeatureRunError as exc:
        print(f"moveo: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    with open_registry(ds) as reg:
        n = reg.entry_count(result.feature, result.run_id)
    print(
        f"{result.feature} {result.run_id}: {n} entries in "
        f"{Path(ds.features_root) / result.feature / result.run_id}"
    )
    return 0


# --------------------------------------------------------------------------- pipeline


def _pipeline_run(args: argparse.Namespace) -> int:
    from moveo.dataset import Dataset
    from moveo.pipeline.declarative import load_pipeline_file
    from moveo.pipeline.reporting import render_table
    from moveo.pipeline.run import FeatureRunError

    pipeline = load_pipeline_file(args.file)
    ds = Dataset.open(args.dir)
    try:
        pipeline.run(
            ds,
            force_from=args.force_from,
            progress=False if args.quiet else None,
            parallel_workers=args.workers,
        )
    except FeatureRunError as exc:
        print(f"moveo: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    _console().print(render_table(pipeline.status(ds), title=f"pipeline {pipeline.name!r}"))
    return 0


def _pipeline_status(args: argparse.Namespace) -> int:
    from moveo.dataset import Dataset
    from moveo.pipeline.declarative import load_pipeline_file
    from moveo.pipeline.reporting import render_table

    pipeline = load_pipeline_file(args.file)
    ds = Dataset.open(args.dir)
    table = pipeline.status(ds)
    _console().print(render_table(table, title=f"pipeline {pipeline.name!r} on {ds.root}"))
    return 0


# --------------------------------------------------------------------------- mosaic


def _import_mosaic(args: argparse.Namespace) -> int:
    from moveo.pipeline.mosaic import import_mosaic

    report = import_mosaic(
        args.src,
        args.dst,
        fps=args.fps,
        empty_group=args.empty_group,
        tracks_run_id=args.tracks_run_id,
        pair_labels=args.pair_labels,
        verify=args.verify,
    )
    print(report)
    return 0
