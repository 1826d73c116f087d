"""moveo vs mosaic-behavior 0.17.0, side by side: tracking feature values and end-to-end time.

Not a pytest module (no ``test_`` prefix, never collected): mosaic is not a moveo
dependency and needs Python >= 3.12, so it runs in its own virtual environment, in a
child process this script starts. The same synthetic tracks go to both sides through
files: the moveo side writes one parquet table; the mosaic side turns it into TRex
per-individual ``.npz`` exports (``X#wcentroid``, ``cm_per_pixel`` ... as TRex writes
them), builds a mosaic dataset, converts them with ``trex_npz`` and runs the features
with ``Dataset.run_feature``; moveo runs ``moveo.run_feature`` on a moveo ``Dataset``
holding the same rows.

Usage (from the repository root)::

    /root/.pyenv/versions/3.12.1/bin/python3.12 -m venv /work/throwaway/mosaic
    /work/throwaway/mosaic/bin/pip install mosaic-behavior==0.17.0
    PYTHONPATH=src python benchmarks/mosaic_compare.py values \\
        --mosaic-python /work/throwaway/mosaic/bin/python
    PYTHONPATH=src python benchmarks/mosaic_compare.py speed \\
        --mosaic-python /work/throwaway/mosaic/bin/python

``values`` runs every case of :data:`STEPS` (default parameters and a few others) on
3 entries x 5 individuals x 600 frames with NaN gaps, joins both outputs on the key
columns and prints, per case, the rows only one side has, and per output column the
largest absolute difference, the largest error ``|moveo - mosaic| / max(1, |mosaic|)``
and the rows where only one side is NaN
(``--only a,b`` restricts the cases, ``--detail`` prints every column).
``speed`` times ``run_feature`` per feature on each side (the first run, or the
best of it and ``--repeat - 1`` runs with ``overwrite=True``; upstream features are
computed before and not timed; outputs written as each library writes them) on one
entry (10 individuals x 100k frames; pair features 2 x 1M) and prints the ratio
mosaic / moveo.

When run by the mosaic interpreter with ``--mosaic-side``, this file imports only
numpy, pandas and mosaic (the top of the module imports nothing from moveo).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FPS = 30.0
CM_PER_PIXEL = 0.5  # a power of two: TRex's cm -> px conversion on the mosaic side is exact
N_KEYPOINTS = 7

# --------------------------------------------------------------------------- the cases
# name -> (feature, params, inputs). Inputs are "tracks" or names of other steps; a
# parameter value {"$step": name} is that step's run ({"feature", "run_id"}).
STEPS: dict[str, tuple[str, dict, list[str]]] = {
    "speed-angvel": ("speed-angvel", {}, ["tracks"]),
    "speed-angvel[step=3,smooth=5]": (
        "speed-angvel", {"step_size": 3, "smooth_window": 5}, ["tracks"]
    ),
    "heading": ("heading", {}, ["tracks"]),
    "heading[pca]": ("heading", {"method": "pca"}, ["tracks"]),
    "heading[3->6]": ("heading", {"front_idx": 3, "rear_idx": 6, "output_col": "HD"}, ["tracks"]),
    "body-scale": ("body-scale", {}, ["tracks"]),
    "nearest-neighbor": ("nearest-neighbor", {}, ["tracks"]),
    "pair-position": ("pair-position", {}, ["tracks"]),
    "pair-position[smooth=5]": ("pair-position", {"sampling": {"smooth_win": 5}}, ["tracks"]),
    "pair-egocentric": ("pair-egocentric", {}, ["tracks"]),
    "pair-facing": ("pair-facing", {}, ["tracks"]),
    "pair-facing[90deg,dist=20]": (
        "pair-facing", {"angle_thresh_deg": 90.0, "dist_thresh": 20.0}, ["tracks"]
    ),
    "orientation-rel": ("orientation-rel", {"scale": {"$step": "body-scale"}}, ["tracks"]),
    "approach-avoidance": ("approach-avoidance", {}, ["tracks"]),
    "approach-avoidance[loose]": (
        "approach-avoidance",
        {
            "approacher_velocity_threshold": 0.05,
            "avoider_velocity_threshold": 0.05,
            "cos_approacher_threshold": 0.3,
            "cos_avoider_threshold": 0.0,
            "min_event_length": 3,
            "min_event_count": 1,
            "orientation_gate_cos": None,
        },
        ["tracks"],
    ),
    "attention-target": ("attention-target", {}, ["pair-facing[90deg,dist=20]"]),
    "nn-delta-response": (
        "nn-delta-response", {}, ["tracks", "speed-angvel", "nearest-neighbor"]
    ),
    "nn-delta-response[2,back]": (
        "nn-delta-response",
        {"diff_numframes": 2, "emit_backward": True},
        ["tracks", "speed-angvel", "nearest-neighbor"],
    ),
    "pair-posedistance-pca": ("pair-posedistance-pca", {}, ["tracks"]),
    "pair-wavelet": ("pair-wavelet", {}, ["pair-posedistance-pca"]),
    "pair-interaction-filter": ("pair-interaction-filter", {}, ["tracks"]),
    "pair-interaction-filter[loose]": (
        "pair-interaction-filter",
        {"max_dist": 60.0, "require_facing": False, "min_run_frames": 20,
         "morphological_structure_size": 5, "frame_padding": 2},
        ["tracks"],
    ),
    "nn-delta-bins": ("nn-delta-bins", {}, ["nn-delta-response"]),
    "trajectory-smooth": ("trajectory-smooth", {}, ["tracks"]),
    "trajectory-smooth[thr,savgol]": (
        "trajectory-smooth",
        {"speed_threshold": 40.0, "savgol_window": 7, "interpolate_pose": True},
        ["tracks"],
    ),
    "scale-to-cm": ("scale-to-cm", {}, ["tracks"]),
    "scale-to-cm[0.1,convert]": ("scale-to-cm", {"cm_per_pixel": 0.1, "mode": "convert"},
                                 ["tracks"]),
    "temporal-stack": ("temporal-stack", {}, ["speed-angvel"]),
    "temporal-stack[half=6]": (
        "temporal-stack", {"half": 6, "skip": 2, "pool_stats": ["mean", "std"]}, ["speed-angvel"]
    ),
    "collective-motion-metrics": ("collective-motion-metrics", {}, ["tracks"]),
    "collective-motion-metrics[velocity]": (
        "collective-motion-metrics", {"heading_source": "velocity", "min_individuals": 2},
        ["tracks"],
    ),
    "local-order-metrics": ("local-order-metrics", {"radius": 30.0}, ["tracks"]),
    "ffgroups": ("ffgroups", {}, ["tracks"]),
    "ffgroups[20,3]": ("ffgroups", {"distance_cutoff": 20.0, "window_size": 3}, ["tracks"]),
    "ffgroups-metrics": ("ffgroups-metrics", {}, ["tracks", "ffgroups", "speed-angvel"]),
    "social-motion-summary": ("social-motion-summary", {}, ["tracks", "speed-angvel"]),
    "frame-aggregate": ("frame-aggregate", {"column": "speed"}, ["speed-angvel"]),
    "frame-aggregate[median]": (
        "frame-aggregate", {"column": "speed", "agg": "median"}, ["speed-angvel"]
    ),
}  # fmt: skip

MOSAIC_CLASSES = {
    "speed-angvel": "SpeedAngvel",
    "heading": "HeadingFeature",
    "body-scale": "BodyScaleFeature",
    "nearest-neighbor": "NearestNeighbor",
    "pair-position": "PairPositionFeatures",
    "pair-egocentric": "PairEgocentricFeatures",
    "pair-facing": "PairFacing",
    "orientation-rel": "OrientationRelativeFeature",
    "approach-avoidance": "ApproachAvoidance",
    "attention-target": "AttentionTarget",
    "nn-delta-response": "NearestNeighborDelta",
    "pair-posedistance-pca": "PairPoseDistancePCA",
    "pair-wavelet": "PairWavelet",
    "pair-interaction-filter": "PairInteractionFilter",
    "nn-delta-bins": "NearestNeighborDeltaBins",
    "trajectory-smooth": "TrajectorySmooth",
    "scale-to-cm": "ScaleToCm",
    "temporal-stack": "TemporalStackingFeature",
    "collective-motion-metrics": "CollectiveMotionMetrics",
    "local-order-metrics": "LocalOrderMetrics",
    "ffgroups": "FFGroups",
    "ffgroups-metrics": "FFGroupsMetrics",
    "social-motion-summary": "SocialMotionSummary",
    "frame-aggregate": "FrameAggregate",
}

KEY_ORDER = (
    "group", "sequence", "frame", "id", "id1", "id2", "perspective", "chunk_id",
    "group_size", "dim", "metric", "center_category", "neighbor_category", "bin_idx", "bin_x",
    "bin_y",
)  # fmt: skip
"""Columns that identify a row (those an output has are its key)."""

SPEED_CASES = {
    # feature -> (step names to run first, the timed step)
    "speed-angvel": "speed-angvel",
    "heading": "heading",
    "body-scale": "body-scale",
    "nearest-neighbor": "nearest-neighbor",
    "pair-position": "pair-position",
    "pair-egocentric": "pair-egocentric",
    "pair-facing": "pair-facing",
    "orientation-rel": "orientation-rel",
    "approach-avoidance": "approach-avoidance",
    "nn-delta-response": "nn-delta-response",
    "pair-posedistance-pca": "pair-posedistance-pca",
    "trajectory-smooth": "trajectory-smooth",
    "scale-to-cm": "scale-to-cm",
    "collective-motion-metrics": "collective-motion-metrics",
    "ffgroups": "ffgroups",
    "social-motion-summary": "social-motion-summary",
}
PAIR_FEATURES = {
    "pair-position", "pair-egocentric", "pair-facing", "orientation-rel", "approach-avoidance",
    "pair-posedistance-pca", "pair-interaction-filter", "pair-wavelet", "attention-target",
}  # fmt: skip


def closure(names: list[str]) -> list[str]:
    """``names`` and every step they read, upstream first."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or name == "tracks":
            return
        _, params, inputs = STEPS[name]
        for up in inputs:
            visit(up)
        for value in params.values():
            if isinstance(value, dict) and "$step" in value:
                visit(value["$step"])
        order.append(name)

    for name in names:
        visit(name)
    return order


# --------------------------------------------------------------------------- mosaic side


def _write_trex(tracks_path: str, raw: Path) -> None:
    """One TRex-like per-individual npz per (entry, id), lengths in cm as TRex writes."""
    import pandas as pd

    df = pd.read_parquet(tracks_path)
    # TRex writes X/Y in cm and mosaic's converter divides them by cm_per_pixel; it
    # leaves the keypoints as they are (checked: the converted table is printed)
    lengths = [c for c in df.columns if c.startswith(("X", "Y"))]
    for (group, sequence, ident), part in df.groupby(["group", "sequence", "id"], sort=True):
        part = part.sort_values("frame")
        arrays = {c: part[c].to_numpy(np.float64) * CM_PER_PIXEL for c in lengths}
        for c in df.columns:
            if c.startswith("pose") or c == "ANGLE":
                arrays[c] = part[c].to_numpy(np.float64)
        if "Focal_fish" in df.columns:
            arrays["Focal_fish"] = part["Focal_fish"].to_numpy(bool)
        arrays["frame"] = part["frame"].to_numpy(np.float64)
        arrays["time"] = part["time"].to_numpy(np.float64)
        arrays["id"] = np.array([int(ident)])
        arrays["cm_per_pixel"] = np.array([CM_PER_PIXEL])
        arrays["frame_rate"] = np.array([FPS])
        (raw / group).mkdir(parents=True, exist_ok=True)
        np.savez(raw / group / f"{sequence}_id{int(ident)}.npz", **arrays)


def _mosaic_side(spec_path: str) -> None:
    import warnings

    import pandas as pd

    warnings.simplefilter("ignore")
    import mosaic.behavior.feature_library as fl
    from mosaic.core.dataset import new_dataset_manifest, open_dataset
    from mosaic.core.manifest import TracksScanSource
    from mosaic.core.pipeline.types import Result

    spec = json.loads(Path(spec_path).read_text())
    work = Path(spec["work"])
    raw = work / "raw"
    _write_trex(spec["tracks"], raw)
    ds = open_dataset(new_dataset_manifest("moveo-compare", str(work / "mosaic-ds")))
    ds.add_scan_source(
        TracksScanSource(
            id="synthetic", path=str(raw), patterns=("*.npz",), src_format="trex_npz",
            group_pattern=r"^(g\d+)-",
        )
    )  # fmt: skip
    ds.scan_tracks()
    ds.convert_all_tracks()
    root = work / "mosaic-ds"
    tracks = pd.concat([pd.read_parquet(p) for p in sorted((root / "tracks").rglob("*.parquet"))])
    tracks.to_parquet(work / "mosaic-tracks.parquet")

    results: dict[str, Result] = {}
    report: dict[str, dict] = {}

    def build(name: str):
        feature, params, inputs = STEPS[name]
        params = {
            k: ({"feature": results[v["$step"]].feature, "run_id": results[v["$step"]].run_id}
                if isinstance(v, dict) and "$step" in v else v)
            for k, v in params.items()
        }  # fmt: skip
        cls = getattr(fl, MOSAIC_CLASSES[feature])
        items = tuple("tracks" if up == "tracks" else results[up] for up in inputs)
        return cls(inputs=cls.Inputs(items), params=params)

    for name in spec["steps"]:
        try:
            feat = build(name)
            start = time.perf_counter()
            results[name] = ds.run_feature(feat)
            first = time.perf_counter() - start
            report[name] = {"ok": True}
        except Exception as err:  # noqa: BLE001 - reported to the moveo side
            report[name] = {"ok": False, "error": f"{type(err).__name__}: {err}"[:400]}
            continue
        if name in spec["timed"]:
            best = first
            for _ in range(spec["repeat"] - 1):
                feat = build(name)
                start = time.perf_counter()
                ds.run_feature(feat, overwrite=True)
                best = min(best, time.perf_counter() - start)
            report[name]["seconds"] = best
        if spec["outputs"]:
            res = results[name]
            index = pd.read_csv(root / "features" / res.feature / "index.csv")
            paths = index.loc[index["run_id"] == res.run_id, "abs_path"].tolist()
            frames = [pd.read_parquet(root / p) for p in sorted(set(paths))]
            out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            dest = work / "mosaic-out" / f"{len(report):03d}.parquet"
            dest.parent.mkdir(exist_ok=True)
            out.to_parquet(dest)
            report[name]["path"] = str(dest)
    Path(spec["report"]).write_text(json.dumps(report))


def run_mosaic(python: str, spec: dict) -> dict:
    """Run the mosaic side on ``spec`` in ``python`` (its own venv); its report."""
    spec_path = Path(spec["work"]) / "spec.json"
    spec_path.write_text(json.dumps(spec))
    subprocess.run(
        [python, __file__, "--mosaic-side", str(spec_path)],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    return json.loads(Path(spec["report"]).read_text())


# --------------------------------------------------------------------------- moveo side


def synthetic_tracks(n_entries: int, n_individuals: int, n_frames: int, seed: int = 0):
    """TRex-like tracks: jittered random walks with a rigid 7-keypoint body and NaN gaps."""
    import polars as pl

    from moveo.io.synthetic import add_gaps, add_rigid_pose, random_walk

    parts = []
    rng = np.random.default_rng(seed)
    for e in range(n_entries):
        g = f"g{e % 2}"
        df = random_walk(
            n_individuals, n_frames, fps=FPS, arena=100.0, speed=12.0, turn_std=0.25,
            seed=seed + e, group=g, sequence=f"{g}-s{e}",
        )  # fmt: skip
        # jitter: the walk's speed is constant per individual, which leaves the
        # acceleration statistics (social-motion-summary) at rounding noise
        df = df.with_columns(
            pl.col("X") + rng.normal(0.0, 0.05, df.height),
            pl.col("Y") + rng.normal(0.0, 0.05, df.height),
        )
        df = add_rigid_pose(df, body_length=4.0, n_keypoints=N_KEYPOINTS)
        gaps = []
        for ident in range(n_individuals):
            for _ in range(2):
                start = int(rng.integers(1, max(n_frames - 20, 2)))
                gaps.append((ident, start, start + int(rng.integers(1, 15))))
        df = add_gaps(df, gaps)
        first = pl.col("frame") == pl.col("frame").min().over("id")
        df = df.with_columns(
            pl.col("X").alias("X#wcentroid"),
            pl.col("Y").alias("Y#wcentroid"),
            pl.when(first)
            .then(CM_PER_PIXEL)
            .otherwise(None)
            .cast(pl.Float64)
            .alias("cm_per_pixel"),
            pl.when(first).then(FPS).otherwise(None).cast(pl.Float64).alias("frame_rate"),
            (pl.col("id") == 0).alias("Focal_fish"),  # nn-delta-bins' focal category
        )
        parts.append(df)
    return pl.concat(parts)


def _moveo_dataset(root: Path, tracks):
    from moveo import Dataset

    ds = Dataset.create(root, fps=FPS)
    ds.add_tracks(tracks)
    return ds


def _moveo_run(ds, names: list[str], timed: set[str], repeat: int):
    from moveo import read_feature, run_feature
    from moveo.features import get_feature

    results, report, outputs = {}, {}, {}

    def build(name: str):
        feature, params, inputs = STEPS[name]
        params = {
            k: ({"feature": results[v["$step"]].feature, "run_id": results[v["$step"]].run_id}
                if isinstance(v, dict) and "$step" in v else v)
            for k, v in params.items()
        }  # fmt: skip
        items = tuple("tracks" if up == "tracks" else results[up] for up in inputs)
        return get_feature(feature)(params, items)

    for name in names:
        try:
            feat = build(name)
            start = time.perf_counter()
            results[name] = run_feature(ds, feat)
            first = time.perf_counter() - start
            report[name] = {"ok": True}
        except Exception as err:  # noqa: BLE001 - printed in the table
            report[name] = {"ok": False, "error": f"{type(err).__name__}: {err}"[:400]}
            continue
        if name in timed:
            best = first
            for _ in range(repeat - 1):
                feat = build(name)
                start = time.perf_counter()
                run_feature(ds, feat, overwrite=True)
                best = min(best, time.perf_counter() - start)
            report[name]["seconds"] = best
        else:
            import polars as pl

            frames = [read_feature(ds, results[name], g, s) for g, s in ds.entries()]
            outputs[name] = pl.concat(frames, how="diagonal_relaxed")
    return report, outputs


def _normalise(df):
    import polars as pl

    casts = []
    for c in ("frame", "id", "id1", "id2", "perspective", "bin_idx", "chunk_id", "group_size"):
        if c in df.columns and df.schema[c] != pl.String:
            casts.append(pl.col(c).cast(pl.Float64).round(0).cast(pl.Int64))
    return df.with_columns(casts) if casts else df


def compare(ours, theirs) -> dict:
    """Join on the key columns; rows only on one side and per-column differences."""
    import polars as pl

    ours, theirs = _normalise(ours), _normalise(theirs)
    keys = [k for k in KEY_ORDER if k in ours.columns and k in theirs.columns]
    shared = [c for c in ours.columns if c in theirs.columns and c not in keys and c != "time"]
    info: dict = {
        "rows": (ours.height, theirs.height),
        "keys": keys,
        "only_moveo_cols": sorted(set(ours.columns) - set(theirs.columns)),
        "only_mosaic_cols": sorted(set(theirs.columns) - set(ours.columns) - {"time"}),
        "dup_keys": (
            ours.height - ours.select(keys).unique().height,
            theirs.height - theirs.select(keys).unique().height,
        ),
        "columns": {},
    }
    if not keys:
        return info
    for c in keys:
        if ours.schema[c] != theirs.schema[c]:
            theirs = theirs.with_columns(pl.col(c).cast(ours.schema[c], strict=False))
    a = ours.select(keys + shared).unique(keys, keep="first")
    b = theirs.select(keys + shared).unique(keys, keep="first")
    extra = a.join(b, on=keys, how="anti", nulls_equal=True)
    info["only_moveo_rows"] = extra.height
    floats = [c for c in shared if extra.schema[c].is_float()]
    info["only_moveo_nan_rows"] = (
        extra.filter(pl.all_horizontal([pl.col(c).is_nan() for c in floats])).height
        if floats
        else 0
    )
    info["only_mosaic_rows"] = b.join(a, on=keys, how="anti", nulls_equal=True).height
    both = a.join(b, on=keys, how="inner", suffix="__m", nulls_equal=True)
    for c in shared:
        x, y = both[c], both[c + "__m"]
        if x.dtype.is_numeric() or x.dtype == pl.Boolean:
            xv = x.cast(pl.Float64).to_numpy().astype(np.float64)
            try:
                yv = y.cast(pl.Float64, strict=False).to_numpy().astype(np.float64)
            except Exception:  # noqa: BLE001
                info["columns"][c] = {"error": f"types {x.dtype} / {y.dtype}"}
                continue
            nx, ny = np.isnan(xv), np.isnan(yv)
            ok = ~nx & ~ny
            d = np.abs(xv[ok] - yv[ok])
            with np.errstate(all="ignore"):
                rel = d / np.maximum(np.abs(yv[ok]), 1e-12)
            with np.errstate(all="ignore"):
                mixed = d / np.maximum(np.abs(yv[ok]), 1.0)
            info["columns"][c] = {
                "float32": y.dtype == pl.Float32,
                "err": float(mixed.max()) if mixed.size else 0.0,
                "abs": float(d.max()) if d.size else 0.0,
                "rel": float(rel.max()) if rel.size else 0.0,
                "nan_moveo_only": int((nx & ~ny).sum()),
                "nan_mosaic_only": int((ny & ~nx).sum()),
                "n": int(ok.sum()),
            }
        else:
            xs = x.cast(pl.String).to_list()
            ys = y.cast(pl.String, strict=False).to_list()
            info["columns"][c] = {
                "mismatch": sum(1 for p, q in zip(xs, ys, strict=True) if p != q),
                "n": len(xs),
            }
    return info


TOL32 = 1e-4
"""Tolerance for columns mosaic writes as float32 (error relative to max(1, |value|))."""


def _verdict(info: dict, tol: float) -> str:
    """``agrees`` when every shared value is within tolerance and the rows match.

    The error of a value is ``|moveo - mosaic| / max(1, |mosaic|)``; tolerance
    ``tol`` (float64 columns) or :data:`TOL32` (columns mosaic writes as float32).
    Extra moveo rows whose values are all NaN (moveo writes one row per input row
    where mosaic drops the rows it has nothing for) give ``agrees+NaN rows``.
    """
    if info.get("only_mosaic_rows") or (
        info.get("only_moveo_rows", 0) != info.get("only_moveo_nan_rows", 0)
    ):
        return "ROWS DIFFER"
    for col in info["columns"].values():
        if "error" in col:
            return "TYPE"
        if col.get("mismatch") or col.get("nan_moveo_only") or col.get("nan_mosaic_only"):
            return "DIFFERS"
        if col.get("err", 0.0) > (TOL32 if col.get("float32") else tol):
            return "DIFFERS"
    return "agrees+NaN rows" if info.get("only_moveo_rows") else "agrees"


def values(args: argparse.Namespace) -> None:
    """Print, per case, row and column agreement between moveo and mosaic."""
    import polars as pl

    names = list(STEPS) if not args.only else args.only.split(",")
    order = closure(names)
    keep = tempfile.mkdtemp(dir=args.keep) if args.keep else None
    with tempfile.TemporaryDirectory() if keep is None else contextlib.nullcontext(keep) as tmp:
        work = Path(tmp)
        tracks = synthetic_tracks(args.entries, args.individuals, args.frames)
        tracks.write_parquet(work / "tracks.parquet")
        spec = {
            "work": tmp, "tracks": str(work / "tracks.parquet"), "steps": order, "timed": [],
            "repeat": 0, "outputs": True, "report": str(work / "mosaic-report.json"),
        }  # fmt: skip
        theirs = run_mosaic(args.mosaic_python, spec)
        m_tracks = pl.read_parquet(work / "mosaic-tracks.parquet")
        track_info = compare(tracks, m_tracks)
        bad = {c: v for c, v in track_info["columns"].items() if _verdict(
            {"columns": {c: v}}, 1e-12) != "agrees"}  # fmt: skip
        print(f"tracks as mosaic converted them: {track_info['rows']} rows, "
              f"columns that differ from the input: {bad or 'none'}")  # fmt: skip
        ds = _moveo_dataset(work / "moveo-ds", tracks)
        ours_report, ours = _moveo_run(ds, order, set(), 0)
        print(f"{args.entries} entries x {args.individuals} ids x {args.frames} frames, "
              f"{N_KEYPOINTS} keypoints, NaN gaps; tolerance {args.tol:g}")  # fmt: skip
        print(
            f"{'case':40s} {'verdict':15s} rows moveo/mosaic  worst column "
            "(abs, err, NaN only moveo/mosaic)"
        )
        for name in order:
            if not ours_report[name]["ok"] or not theirs[name]["ok"]:
                print(f"{name:40s} {'ERROR':15s} moveo: {ours_report[name].get('error', 'ok')}"
                      f" | mosaic: {theirs[name].get('error', 'ok')}")  # fmt: skip
                continue
            if args.keep:
                ours[name].write_parquet(Path(theirs[name]["path"]).with_suffix(".moveo.parquet"))
                print(f"{'':40s} kept {theirs[name]['path']} (+ .moveo.parquet)")
            info = compare(ours[name], pl.read_parquet(theirs[name]["path"]))
            verdict = _verdict(info, args.tol)
            worst, wname = None, ""
            for c, col in info["columns"].items():
                score = (
                    col.get("nan_moveo_only", 0)
                    + col.get("nan_mosaic_only", 0)
                    + col.get("mismatch", 0),
                    col.get("err", 0),
                )
                if worst is None or score > worst[0]:
                    worst, wname = (score, col), c
            desc = ""
            if worst is not None:
                col = worst[1]
                desc = (
                    f"{wname}: mismatch {col['mismatch']}/{col['n']}"
                    if "mismatch" in col
                    else f"{wname}: {col.get('abs', 0):.2e}, {col.get('err', 0):.2e}, "
                    f"{col.get('nan_moveo_only', 0)}/{col.get('nan_mosaic_only', 0)}"
                    if "abs" in col
                    else f"{wname}: {col}"
                )
            rows = f"{info['rows'][0]}/{info['rows'][1]}"
            extra = ""
            if info.get("only_moveo_rows") or info.get("only_mosaic_rows"):
                extra = (
                    f"; rows only moveo {info['only_moveo_rows']} "
                    f"({info['only_moveo_nan_rows']} all NaN), only mosaic "
                    f"{info['only_mosaic_rows']}"
                )
            print(f"{name:40s} {verdict:15s} {rows:16s} {desc}{extra}")
            if info["only_moveo_cols"] or info["only_mosaic_cols"]:
                print(
                    f"{'':40s} columns only in moveo {info['only_moveo_cols'][:8]}, "
                    f"only in mosaic {info['only_mosaic_cols'][:8]}"
                )
            if args.detail:
                for c, col in info["columns"].items():
                    print(f"{'':44s}{c:28s} {col}")


def speed(args: argparse.Namespace) -> None:
    """Time each feature's run_feature on both sides; print the ratio."""
    import moveo

    moveo.warmup()
    names = list(SPEED_CASES) if not args.only else args.only.split(",")
    for feature in names:
        step = SPEED_CASES[feature]
        pair = feature in PAIR_FEATURES
        ids, frames = (args.pair_ids, args.pair_frames) if pair else (args.ids, args.frames)
        order = closure([step])
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            tracks = synthetic_tracks(1, ids, frames)
            tracks.write_parquet(work / "tracks.parquet")
            ds = _moveo_dataset(work / "moveo-ds", tracks)
            ours, _ = _moveo_run(ds, order, {step}, args.repeat)
            spec = {
                "work": tmp, "tracks": str(work / "tracks.parquet"), "steps": order,
                "timed": [step], "repeat": args.repeat, "outputs": False,
                "report": str(work / "mosaic-report.json"),
            }  # fmt: skip
            theirs = run_mosaic(args.mosaic_python, spec)
        a, b = ours[step], theirs[step]
        if not (a["ok"] and b["ok"]):
            print(f"{feature:26s} error: moveo {a.get('error', 'ok')} | mosaic {b.get('error')}")
            continue
        print(
            f"{feature:26s} {ids} ids x {frames:,} frames: moveo {a['seconds']:.3f} s, "
            f"mosaic 0.17.0 {b['seconds']:.3f} s, ratio {b['seconds'] / a['seconds']:.1f}x",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--mosaic-side":
        _mosaic_side(argv[1])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["values", "speed"])
    parser.add_argument("--mosaic-python", default="/work/throwaway/mosaic/bin/python")
    parser.add_argument("--only", default="", help="comma-separated case / feature names")
    parser.add_argument("--entries", type=int, default=3)
    parser.add_argument("--individuals", type=int, default=5)
    parser.add_argument("--frames", type=int, default=600, help="values: frames per entry")
    parser.add_argument("--tol", type=float, default=1e-9)
    parser.add_argument("--detail", action="store_true")
    parser.add_argument("--keep", default="", help="values: keep the outputs under this folder")
    parser.add_argument("--ids", type=int, default=10, help="speed: individuals")
    parser.add_argument("--pair-ids", type=int, default=2, help="speed: pair features")
    parser.add_argument("--pair-frames", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    if args.mode == "speed" and "--frames" not in argv:
        args.frames = 100_000
    {"values": values, "speed": speed}[args.mode](args)


if __name__ == "__main__":
    main()
