"""Pipeline subcommands of the ``moveo`` command.

``moveo demo [DIR]``
    Generate a synthetic dataset and run the demo pipeline (progress bars, then
    the status table). Run it twice: the second run is all cached.
``moveo status DIR [--import MODULE ...]``
    Status of the pipeline that last ran on the dataset in ``DIR``. Its feature
    classes are found by registered name; ``--import`` first imports a module of
    yours that defines features (never a module named in the dataset's files).
``moveo clean DIR [--apply] [--import MODULE ...]``
    List runs that pipeline no longer produces; ``--apply`` deletes them.
``moveo lineage DIR FEATURE [RUN_ID]``
    The dependency tree of a run (default: the feature's latest run).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``demo``, ``status``, ``clean`` and ``lineage`` to the ``moveo`` command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.
    """
    demo = subparsers.add_parser(
        "demo",
        help="generate a synthetic dataset and run a cached feature pipeline on it",
        description="Generate a synthetic tracking dataset (~1M rows) and run the demo "
        "pipeline (speed-angvel, heading, body-scale, nearest-neighbor, rolling stats "
        "of the speed). A second run finds every step cached.",
    )
    demo.add_argument("dir", nargs="?", default="moveo-demo", help="dataset folder")
    demo.add_argument("--workers", type=int, default=None, help="entries in parallel per step")
    demo.add_argument("--frames", type=int, default=None, help="frames per entry (size)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.add_argument(
        "--dask",
        action="store_true",
        help="run the steps on a local Dask cluster (needs moveo[dask])",
    )
    demo.add_argument(
        "--dask-workers", type=int, default=2, metavar="N", help="worker processes for --dask"
    )
    demo.set_defaults(func=_demo)

    status = subparsers.add_parser("status", help="pipeline status of a dataset")
    status.add_argument("dir", help="dataset folder")
    _add_import_option(status)
    status.set_defaults(func=_status)

    clean = subparsers.add_parser(
        "clean", help="list (or, with --apply, delete) runs the pipeline no longer produces"
    )
    clean.add_argument("dir", help="dataset folder")
    clean.add_argument("--apply", action="store_true", help="delete the orphaned runs")
    _add_import_option(clean)
    clean.set_defaults(func=_clean)

    lineage = subparsers.add_parser("lineage", help="dependency tree of a feature run")
    lineage.add_argument("dir", help="dataset folder")
    lineage.add_argument("feature", help="feature name, e.g. rolling-stats")
    lineage.add_argument("run_id", nargs="?", default=None, help="run id (default: latest)")
    lineage.set_defaults(func=_lineage)


def _add_import_option(parser: Any) -> None:
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first (it defines your own features); repeatable. moveo "
        "never imports modules named in the dataset's files",
    )


def _import_user_modules(args: argparse.Namespace) -> None:
    import importlib
    import sys

    if args.imports and "" not in sys.path:
        sys.path.insert(0, "")  # as `python -m`: modules in the current folder
    for name in args.imports:
        importlib.import_module(name)


def _console() -> Any:
    import sys

    from rich.console import Console

    # Piped output (logs, CI) gets wide tables instead of 80-column folding.
    return Console(width=None if sys.stdout.isatty() else 180)


def _open(path: str) -> Any:
    from moveo.dataset import Dataset

    return Dataset.open(path)


def _demo(args: argparse.Namespace) -> int:
    from moveo.cli.demo import run_demo

    shape = {"n_frames": args.frames} if args.frames else None
    options = {
        "progress": False if args.quiet else None,
        "console": _console(),
        "parallel_workers": args.workers,
        "shape": shape,
    }
    if args.dask:
        from moveo.distributed import TRACKING_KERNELS, local_cluster

        with local_cluster(args.dask_workers, warmup=TRACKING_KERNELS) as executor:
            options["console"].print(
                f"Dask LocalCluster: {executor.n_workers} worker processes "
                f"(scheduler {executor.client.scheduler.address})"
            )
            run_demo(args.dir, executor=executor, **options)
        return 0
    run_demo(args.dir, **options)
    return 0


def _status(args: argparse.Namespace) -> int:
    from moveo.pipeline.pipeline import load_saved_pipeline
    from moveo.pipeline.registry import open_registry, registry_path
    from moveo.pipeline.reporting import render_table

    console = _console()
    ds = _open(args.dir)
    _import_user_modules(args)
    try:
        pipeline = load_saved_pipeline(ds)
    except FileNotFoundError as exc:
        console.print(f"[yellow]{exc}[/]")
        if not registry_path(ds).exists():
            return 0  # nothing has run; status does not create the registry
        with open_registry(ds, readonly=True) as reg:
            runs = reg.list_runs()
        runs = runs.select("feature", "run_id", "n_complete").with_columns(
            _local_times(runs["started_at"]).alias("started_at"),
            _local_times(runs["finished_at"]).alias("finished_at"),
        )
        console.print(render_table(runs, title="feature runs in the registry"))
        return 0
    table = pipeline.status(ds)
    console.print(render_table(table, title=f"pipeline {pipeline.name!r} on {ds.root}"))
    return 0


def _local_times(seconds: Any) -> Any:
    """Unix seconds -> ``YYYY-MM-DD HH:MM:SS`` local time (empty when not set)."""
    import datetime as dt

    import polars as pl

    return pl.Series(
        [
            "" if t is None else dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
            for t in seconds
        ],
        dtype=pl.String,
    )


def _clean(args: argparse.Namespace) -> int:
    from moveo.pipeline.pipeline import load_saved_pipeline
    from moveo.pipeline.reporting import render_table

    console = _console()
    ds = _open(args.dir)
    _import_user_modules(args)
    pipeline = load_saved_pipeline(ds)
    table = pipeline.clean(ds, dry_run=not args.apply)
    console.print(render_table(table, title="runs on disk"))
    orphans = table.filter(table["status"] != "keep")
    if not orphans.height:
        console.print("nothing to clean")
    elif args.apply:
        console.print(f"deleted {orphans.height} run(s), {orphans['size_mb'].sum():.1f} MB")
    else:
        console.print(
            f"{orphans.height} orphaned run(s), {orphans['size_mb'].sum():.1f} MB; "
            "re-run with --apply to delete them"
        )
    return 0


def _lineage(args: argparse.Namespace) -> int:
    from rich.tree import Tree

    from moveo.pipeline.registry import open_registry

    console = _console()
    ds = _open(args.dir)
    with open_registry(ds) as reg:
        run_id = args.run_id or reg.latest_run_id(args.feature)
        if run_id is None or not reg.has_run(args.feature, run_id):
            known = reg.list_features()
            what = f"run {args.run_id!r} of " if args.run_id else "runs of "
            console.print(
                f"[red]no {what}feature {args.feature!r} in {ds.root}[/] "
                f"(features with runs: {', '.join(known) or 'none'})"
            )
            return 1
        tree_data = reg.lineage(args.feature, run_id)
        counts = {}

        def label(node: dict[str, Any]) -> str:
            key = (node["feature"], node["run_id"])
            if key not in counts:
                counts[key] = reg.entry_count(*key)
            return f"[bold]{node['feature']}[/] {node['run_id']} ({counts[key]} entries)"

        def build(node: dict[str, Any], tree: Any) -> None:
            for up in node["upstream"]:
                build(up, tree.add(label(up)))

        root = Tree(label(tree_data))
        build(tree_data, root)
    console.print(root)
    return 0
