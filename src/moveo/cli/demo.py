"""The demo: a synthetic tracking dataset and a five-step feature pipeline.

``moveo demo [DIR]`` (see :mod:`moveo.cli.pipeline`) calls :func:`run_demo`:
it writes a dataset of a few groups x sequences x individuals (about a
million rows with pose keypoints) using :mod:`moveo.io.synthetic`, then runs

* ``speed-angvel``  speed and angular velocity from positions,
* ``heading``       heading from pose keypoints,
* ``body-scale``    body size from pose keypoints,
* ``nearest-neighbor``  distance to the nearest other individual,
* ``rolling-speed`` rolling statistics of the speed (input: ``speed-angvel``),

with progress bars, and prints the status table. Running it again finds every
step cached.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from moveo.pipeline.pipeline import FeatureStep, Pipeline

__all__ = ["DEMO_SHAPE", "demo_pipeline", "make_demo_dataset", "run_demo"]

DEMO_SHAPE = {"n_groups": 3, "n_sequences": 2, "n_individuals": 4, "n_frames": 42_000}
"""Default demo size: 3 x 2 entries x 4 individuals x 42,000 frames ~ 1M rows."""


def make_demo_dataset(
    root: str | Path,
    *,
    n_groups: int = DEMO_SHAPE["n_groups"],
    n_sequences: int = DEMO_SHAPE["n_sequences"],
    n_individuals: int = DEMO_SHAPE["n_individuals"],
    n_frames: int = DEMO_SHAPE["n_frames"],
    fps: float = 30.0,
    seed: int = 0,
    progress: bool = False,
) -> Any:
    """Create (or reopen) the demo dataset: random walks with a rigid 7-point pose.

    Parameters
    ----------
    root : str or Path
        Dataset folder. An existing demo dataset there is reused as is.
    n_groups, n_sequences, n_individuals, n_frames : int
        Shape: ``n_groups * n_sequences`` entries of ``n_individuals * n_frames`` rows.
    fps : float
        Frames per second.
    seed : int
        Random seed (the data is deterministic for a seed).
    progress : bool
        Show a progress bar while generating.

    Returns
    -------
    moveo.Dataset

    Raises
    ------
    ValueError
        ``root`` holds a dataset the demo pipeline cannot run on (no pose, EMG).
    FileExistsError
        ``root`` is a non-empty folder that is not a dataset.
    """
    from moveo.dataset import MANIFEST_NAME, Dataset
    from moveo.io.synthetic import generate_dataset

    root = Path(root)
    if (root / MANIFEST_NAME).exists():
        return _check_demo_dataset(Dataset.open(root))
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(
            f"{root} is a folder with files but no moveo dataset; give `moveo demo` a new "
            "folder (or an existing demo dataset)"
        )
    return generate_dataset(
        root,
        n_groups=n_groups,
        n_sequences=n_sequences,
        n_individuals=n_individuals,
        n_frames=n_frames,
        fps=fps,
        motion="random_walk",
        pose=True,
        gap_fraction=0.01,
        seed=seed,
        progress=progress,
    )


def _check_demo_dataset(ds: Any) -> Any:
    """Refuse an existing dataset the demo pipeline cannot run on, naming what is missing."""
    entries = ds.entries()
    problem = None
    if ds.kind != "tracks":
        problem = f"it is an {ds.kind} dataset"
    elif not entries:
        problem = "it has no entries"
    else:
        need = [ds.columns.x_col, ds.columns.y_col, *ds.pose.x_cols(), *ds.pose.y_cols()]
        have = set(ds.entry_info(*entries[0])["columns"])
        missing = [c for c in need if c not in have]
        if missing:
            problem = f"entry {entries[0]} has no column(s) {missing[:4]}"
    if problem:
        raise ValueError(
            f"{ds.root} holds a dataset `moveo demo` did not create ({problem}); the demo "
            "needs positions and pose keypoints. Give `moveo demo` a new folder, or run "
            "your own pipeline on this dataset"
        )
    return ds


def demo_pipeline() -> Pipeline:
    """Build the demo pipeline from moveo's tracking features.

    Returns
    -------
    Pipeline
        Steps ``speed-angvel``, ``heading``, ``body-scale``, ``nearest-neighbor``
        and ``rolling-speed`` (rolling statistics of the speed).
    """
    from moveo.features import BodyScale, Heading, NearestNeighbor, RollingStats, SpeedAngvel

    return (
        Pipeline(name="demo")
        .add(FeatureStep("speed-angvel", SpeedAngvel))
        .add(FeatureStep("heading", Heading))
        .add(FeatureStep("body-scale", BodyScale))
        .add(FeatureStep("nearest-neighbor", NearestNeighbor))
        .add(
            FeatureStep(
                "rolling-speed",
                RollingStats,
                params={"columns": ["speed"], "window": 30, "stats": ["mean", "std"]},
                input_names=["speed-angvel"],
            )
        )
    )


def run_demo(
    root: str | Path = "moveo-demo",
    *,
    progress: bool | None = True,
    console: Any = None,
    parallel_workers: int | None = None,
    shape: dict[str, int] | None = None,
    executor: Any = None,
) -> dict[str, Any]:
    """Generate the demo dataset (if needed), run the demo pipeline, print status.

    Parameters
    ----------
    root : str or Path
        Dataset folder.
    progress : bool or None
        Progress bars (``None``: only on a terminal).
    console : rich.console.Console, optional
        Where to print (default: stdout).
    parallel_workers : int, optional
        Entries computed in parallel per step.
    shape : dict, optional
        Overrides of :data:`DEMO_SHAPE` (for quick tests).
    executor : concurrent.futures.Executor, optional
        Compute the steps' entries on this executor (e.g. a Dask cluster, see
        :mod:`moveo.distributed`).

    Returns
    -------
    dict
        ``{"dataset": Dataset, "results": {step: Result}, "status": DataFrame,
        "seconds": float}``.
    """
    from rich.console import Console

    from moveo.pipeline.reporting import progress_enabled, render_table

    if console is None:
        import sys

        console = Console(width=None if sys.stdout.isatty() else 180)
    dims = {**DEMO_SHAPE, **(shape or {})}
    t0 = time.perf_counter()
    ds = make_demo_dataset(root, progress=progress_enabled(progress), **dims)
    n_rows = sum(ds.entry_info(g, s)["n_rows"] for g, s in ds.entries())
    console.print(
        f"dataset [bold]{ds.root}[/]: {len(ds.entries())} entries, {n_rows:,} rows "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    pipeline = demo_pipeline()
    t1 = time.perf_counter()
    results = pipeline.run(
        ds, progress=progress, parallel_workers=parallel_workers, executor=executor
    )
    seconds = time.perf_counter() - t1
    status = pipeline.status(ds)
    console.print(render_table(status, title=f"pipeline {pipeline.name!r}"))
    computed = pipeline.recomputed
    reused = [name for name in pipeline.steps if name not in computed]
    if not computed:
        what = f"all {len(reused)} steps reused from the cache (nothing recomputed)"
    else:
        what = f"computed {len(computed)} step(s): {', '.join(computed)}"
        what += f"; reused {len(reused)} from the cache" + (
            f": {', '.join(reused)}" if reused else ""
        )
    console.print(
        f"{what}. Pipeline took {seconds:.2f} s. Run again and every step is reused; "
        f"inspect with `moveo status {ds.root}`."
    )
    return {"dataset": ds, "results": results, "status": status, "seconds": seconds}
