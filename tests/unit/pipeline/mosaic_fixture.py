"""Write a dataset in mosaic-behavior 0.17's on-disk layout, without mosaic.

The layout was learned by running mosaic-behavior 0.17.0 in a throwaway venv
(TRex npz tracks converted by ``convert-trex_npz``, ``speed-angvel``,
``body-scale``, ``heading``, ``extract-templates`` / ``global-kmeans`` runs, labels
converted by ``convert-labels-calms21_npy``) and reading what it wrote; no mosaic
code is used. What is reproduced:

* ``dataset.yaml``: ``manifest_version: 3``, ``roots``, ``sources``, and the
  ``meta.labels.<kind>`` section (current labels variant and its vocabulary);
* ``tracks/index.csv`` (paths relative to the root) and
  ``tracks/<variant>/<group>__<sequence>.parquet`` (``<sequence>.parquet`` for an
  empty group) with mosaic's columns and types: ``frame`` float64, ``group`` and
  ``sequence`` large strings inside the table, TRex's ``X#wcentroid`` / ``X#head``
  copies, ``missing`` (bool), ``cm_per_pixel`` / ``frame_rate`` set on the first row
  only, rows ordered by (id, frame);
* ``features/<name>__from__<inputs>/index.csv`` (absolute paths) and
  ``<run_id>/params.json`` (``_params``, ``_inputs``, ``_frame_range``,
  ``_overlap_frames``, ``_mosaic_version``, ``_scope``, ``_resolved``),
  ``<run_id>/.identity_scheme``, outputs with ``frame`` float64 and the passthrough
  ``time`` column (body-scale: none), per-frame features ordered by (frame, id);
* ``labels/<kind>/index.csv`` and ``labels/<kind>/<variant>/<group>__<sequence>.npz``
  in ``individual_pair_v1`` (``frames``/``labels`` int32, ``individual_ids``
  (n, 2) int32, ``label_ids`` int64, ``label_names`` an *object* array, which needs
  pickle to load).

Feature values come from the slow references in ``tests/reference/tracking.py``
(the formulas mosaic and moveo share). One run reproduces a mosaic defect on
purpose (``speed_smooth`` smoothing NaN speeds as 0), so the importer must refuse to
adopt it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from reference import tracking as ref

TRACKS_VARIANT = "convert-trex_npz.0.3-3d47f5c74c"
LABELS_VARIANT = "convert-labels-calms21_npy.0.2-66b4fd96be"
ENTRIES = (("arenaA", "arenaA-trial1"), ("arenaA", "arenaA-trial2"), ("", "solo-trial"))
N_KEYPOINTS = 7
FPS = 30.0
VOCAB = {0: "none", 1: "swim", 2: "turn"}

RUNS = {
    "speed": ("speed-angvel__from__tracks", "0.2-c0e77712f1"),
    "smooth": ("speed-angvel__from__tracks", "0.2-4ca384a680"),
    "scale": ("body-scale__from__tracks", "0.1-4aa49b5f1f"),
    "heading": ("heading__from__tracks", "0.1-83f98d116d"),
    "kmeans": ("global-kmeans__from__speed-angvel__from__tracks", "0.4-eda6a95c3b"),
    "pair": ("courtship-index__from__tracks", "0.1-5e1f00aa42"),  # a lab plugin moveo lacks
}

_HEADER = (
    "# ============================================================================\n"
    "# mosaic dataset manifest (v3)\n"
    "# ============================================================================\n"
)


class UnpickleMarker:
    """Writes a file when unpickled: proves that nobody unpickles the labels archive."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path(self.path).touch, ())


def _file_name(group: str, sequence: str, suffix: str) -> str:
    return f"{group}__{sequence}{suffix}" if group else f"{sequence}{suffix}"


def _tracks(group: str, sequence: str, n_frames: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for fish in range(3):
        frame = np.arange(n_frames, dtype=np.float64)
        x = np.cumsum(rng.normal(0, 1, n_frames)) + 50 * fish + 100
        y = np.cumsum(rng.normal(0, 1, n_frames)) + 100
        ang = np.cumsum(rng.normal(0, 0.4, n_frames))
        if fish == 1:  # a tracking gap
            x[5:8] = np.nan
            y[5:8] = np.nan
        cols = {
            "ANGLE": ang,
            "X": x,
            "X#head": x,
            "X#wcentroid": x,
            "Y": y,
            "Y#head": y,
            "Y#wcentroid": y,
            "cm_per_pixel": np.r_[0.1, np.full(n_frames - 1, np.nan)],
            "frame": frame,
            "frame_rate": np.r_[FPS, np.full(n_frames - 1, np.nan)],
            "group": [group] * n_frames,
            "id": np.full(n_frames, fish, dtype=np.int64),
            "missing": np.zeros(n_frames, dtype=bool),
        }
        for k in range(N_KEYPOINTS):
            cols[f"poseX{k}"] = x + np.cos(ang) * (k - 3) * (1 + 0.1 * fish)
        for k in range(N_KEYPOINTS):
            cols[f"poseY{k}"] = y + np.sin(ang) * (k - 3) * (1 + 0.1 * fish)
        cols["sequence"] = [sequence] * n_frames
        cols["time"] = frame / FPS
        parts.append(pl.DataFrame(cols))
    return pl.concat(parts)


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    """Write as mosaic does (pandas -> arrow): strings as large_string."""
    table = df.to_arrow()
    fields = [
        pa.field(f.name, pa.large_string()) if pa.types.is_string(f.type) else f
        for f in table.schema
    ]
    table = table.cast(pa.schema(fields))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _csv(path: Path, header: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)]
    for row in rows:
        cells = []
        for col in header:
            value = "" if row.get(col) is None else str(row[col])
            cells.append(f'"{value}"' if "," in value else value)
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    path.with_name(path.name + ".lock").write_text("")


def _offsets(ids: np.ndarray) -> np.ndarray:
    return ref.segment_offsets(list(ids))


def speed_angvel_output(t: pl.DataFrame, *, smooth_window: int | None = None) -> pl.DataFrame:
    """Mosaic's speed-angvel output for tracks ``t`` (fps None: the time column)."""
    ids = t["id"].to_numpy()
    res = ref.speed_angvel(
        t["X"].to_numpy(),
        t["Y"].to_numpy(),
        t["time"].to_numpy(),
        _offsets(ids),
        angle=t["ANGLE"].to_numpy(),
    )
    cols = {"speed": res["speed"], "vx": res["vx"], "vy": res["vy"], "angvel": res["angvel"]}
    if smooth_window is not None:
        # mosaic's defect reproduced: NaN speeds count as 0 in the moving average
        filled = np.nan_to_num(res["speed"], nan=0.0)
        cols["speed_smooth"] = ref.rolling(
            filled, _offsets(ids), smooth_window, "mean", center=True
        )
    out = pl.DataFrame(cols)
    return pl.concat([out, t.select("frame", "group", "id", "sequence", "time")], how="horizontal")


def body_scale_output(t: pl.DataFrame) -> pl.DataFrame:
    """Mosaic's body-scale output (median pairwise keypoint distance), by (frame, id)."""
    px = np.column_stack([t[f"poseX{k}"].to_numpy() for k in range(N_KEYPOINTS)])
    py = np.column_stack([t[f"poseY{k}"].to_numpy() for k in range(N_KEYPOINTS)])
    out = t.select("frame", "id").with_columns(scale=ref.body_scale(px, py))
    out = out.with_columns(t.select("sequence", "group"))
    return out.sort("frame", "id")


def heading_output(t: pl.DataFrame) -> pl.DataFrame:
    """Mosaic's heading (two_point, front keypoint 0, rear keypoint 1), by (frame, id)."""
    ang = ref.heading_two_point(
        t["poseX1"].to_numpy(), t["poseY1"].to_numpy(), t["poseX0"].to_numpy(),
        t["poseY0"].to_numpy(),
    )
    out = pl.DataFrame({"ANGLE": ang}).with_columns(
        t.select("frame", "group", "id", "sequence", "time")
    )
    return out.sort("frame", "id")


def _params_json(params: dict, inputs: list, entries, resolved: list) -> str:
    spec = {
        "_params": params,
        "_inputs": inputs,
        "_frame_range": [None, None],
        "_overlap_frames": 0,
        "_execution_id": "01M8XFY7AJHBE5RM6N9XJJB9Z1",
        "_mosaic_version": "0.17.0",
        "_scope": {
            "scope_dependent": False,
            "consumed_roots": [],
            "entries": [list(e) for e in entries],
            "compositions": {
                _file_name(g, s, ""): {"tracks_raw": "a1922bcb12"} for g, s in entries
            },
        },
        "_resolved": resolved,
    }
    return json.dumps(spec, indent=2)


def write_mosaic_dataset(
    root: str | Path,
    *,
    n_frames: int = 30,
    moved_from: str | None = None,
    unpickle_marker: str | Path | None = None,
) -> dict:
    """Write a mosaic-behavior 0.17 dataset at ``root``.

    Parameters
    ----------
    root : str or Path
        A new folder.
    n_frames : int
        Frames per individual (3 individuals per entry).
    moved_from : str, optional
        Write the absolute paths of the feature index as if the dataset had lived
        at this folder (a dataset that was moved).
    unpickle_marker : str or Path, optional
        Put an object into the label archives' ``label_names`` that creates this
        file when unpickled.

    Returns
    -------
    dict
        ``tracks``: ``{(group, sequence): DataFrame}`` as stored; ``features``:
        ``{run key: {(group, sequence): DataFrame}}`` (keys of :data:`RUNS`);
        ``labels``: ``{(group, sequence): DataFrame}`` of the events written.
    """
    root = Path(root)
    root.mkdir(parents=True)
    written_root = Path(moved_from) if moved_from is not None else root
    for sub in ("media_raw", "tracks_raw", "labels_raw", "media/frames", "models", ".mosaic/runs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    manifest = (
        _HEADER
        + "manifest_version: 3\nname: Synthetic study\nversion: 0.1.0\n"
        + "uuid: b92fe079-cfea-4550-b255-8c750d1db432\n"
        + "created_at: '2026-12-03T08:20:44.224896+00:00'\n"
        + "roots:\n"
        + "".join(
            f"  {k}: {v}\n"
            for k, v in (
                ("media_raw", "media_raw"), ("tracks_raw", "tracks_raw"),
                ("labels_raw", "labels_raw"), ("labels", "labels"), ("media", "media"),
                ("tracks", "tracks"), ("features", "features"), ("models", "models"),
                ("frames", "media/frames"),
            )
        )
        + "sources:\n  tracks:\n    - id: trex\n      path: /data/raw_trex\n"
        + "      recursive: true\n      patterns:\n        - '**/*.npz'\n"
        + "      src_format: trex_npz\n      group_pattern: ^(arena[AB])-\n      md5: true\n"
        + "meta:\n  labels:\n    behavior:\n"
        + f"      run_id: {LABELS_VARIANT}\n      label_format: individual_pair_v1\n"
        + "      label_ids:\n" + "".join(f"        - {i}\n" for i in VOCAB)
        + "      label_names:\n" + "".join(f"        - {n}\n" for n in VOCAB.values())
    )
    (root / "dataset.yaml").write_text(manifest)

    # ---------------------------------------------------------------- tracks
    tracks = {}
    rows = []
    tracks_dir = root / "tracks" / TRACKS_VARIANT
    for i, (g, s) in enumerate(ENTRIES):
        t = _tracks(g, s, n_frames, seed=i)
        tracks[(g, s)] = t
        rel = f"tracks/{TRACKS_VARIANT}/{_file_name(g, s, '.parquet')}"
        _write_parquet(t, root / rel)
        rows.append(
            {
                "abs_path": rel, "run_id": TRACKS_VARIANT,
                "started_at": "2026-12-03T08:21:27.603270+00:00", "group": g, "sequence": s,
                "producer": "convert-trex_npz", "std_format": "trex_v2",
                "source_abs_path": f"/data/raw_trex/{s}_fish0.npz",
                "source_md5": "5b518a9ade10997ed25ea3a45534c751",
                "consumed_source_roots": "tracks_raw", "n_rows": t.height, "n_keypoints": 7,
                "consumed_composition": "e80e59a068", "frame_min": 0, "frame_max": n_frames - 1,
            }
        )
    (tracks_dir / "params.json").write_text(
        json.dumps({"identity_scheme": "2", "op": "convert-trex_npz", "version": "0.3",
                    "params": {}, "observed": {}}, indent=2)
    )
    _csv(
        root / "tracks" / "index.csv",
        [
            "abs_path", "run_id", "started_at", "finished_at", "group", "sequence", "producer",
            "std_format", "producer_run_id", "source_abs_path", "source_md5",
            "consumed_source_roots", "n_rows", "n_keypoints", "consumed_composition",
            "consumed_media_composition", "frame_min", "frame_max", "media_frames",
            "frames_read", "known_tail_loss",
        ],
        rows,
    )

    # ---------------------------------------------------------------- features
    tracks_resolved = [{"where": "inputs[tracks]", "feature": "tracks", "run_id": TRACKS_VARIANT}]
    speed_ref = {"feature": RUNS["speed"][0], "run_id": RUNS["speed"][1]}
    specs = {
        "speed": ({"step_size": None, "smooth_window": None, "fps": None}, ["tracks"],
                  tracks_resolved, speed_angvel_output),
        "smooth": ({"step_size": None, "smooth_window": 5, "fps": None}, ["tracks"],
                   tracks_resolved, lambda t: speed_angvel_output(t, smooth_window=5)),
        "scale": ({}, ["tracks"], tracks_resolved, body_scale_output),
        "heading": ({"method": "two_point", "front_idx": 0, "rear_idx": 1, "output_col": "ANGLE"},
                    ["tracks"], tracks_resolved, heading_output),
        "kmeans": ({"templates": {"feature": "extract-templates__from__speed-angvel__from__tracks",
                                  "run_id": "0.3-986d813113", "pattern": "templates.parquet"},
                    "model": None, "k": 3, "random_state": 42},
                   [speed_ref], [{"where": "inputs[0]", **speed_ref}],
                   lambda t: speed_angvel_output(t).select("frame", "group", "id", "sequence")
                   .with_columns(cluster=pl.lit(0, dtype=pl.Int64))),
        "pair": ({"interpolation": {"linear_interp_limit": 10}}, ["tracks"], tracks_resolved,
                 lambda t: t.select("frame", "group", "sequence").unique(maintain_order=True)
                 .with_columns(id1=0, id2=1, perspective=0, AB_dist=1.0)),
    }
    features: dict[str, dict] = {}
    by_folder: dict[str, list[dict]] = {}
    for key, (params, inputs, resolved, compute) in specs.items():
        folder, run_id = RUNS[key]
        run_dir = root / "features" / folder / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "params.json").write_text(_params_json(params, inputs, ENTRIES, resolved))
        (run_dir / ".identity_scheme").write_text(
            json.dumps({"algo": "sha1", "bytes": 5, "scheme": "6"}, indent=2)
        )
        features[key] = {}
        for g, s in ENTRIES:
            out = compute(tracks[(g, s)])
            features[key][(g, s)] = out
            name = _file_name(g, s, ".parquet")
            _write_parquet(out, run_dir / name)
            by_folder.setdefault(folder, []).append(
                {
                    "abs_path": str(written_root / "features" / folder / run_id / name),
                    "run_id": run_id,
                    "started_at": "2026-12-03T08:22:07.596827+00:00",
                    "finished_at": "2026-12-03T08:22:10.556179+00:00",
                    "feature": folder, "version": run_id.partition("-")[0], "group": g,
                    "sequence": s, "params_hash": run_id.partition("-")[2],
                    "n_rows": out.height, "identity_scheme": 6,
                    "consumed_tracks_composition": "a1922bcb12",
                }
            )
    for folder, items in by_folder.items():
        _csv(
            root / "features" / folder / "index.csv",
            [
                "abs_path", "run_id", "started_at", "finished_at", "feature", "version", "group",
                "sequence", "params_hash", "n_rows", "identity_scheme", "consumed_roots",
                "consumed_composition", "consumed_tracks_composition",
            ],
            items,
        )

    # ---------------------------------------------------------------- labels
    labels = {}
    label_rows = []
    rng = np.random.default_rng(7)
    names: list = list(VOCAB.values())
    if unpickle_marker is not None:
        names = [*names, UnpickleMarker(str(unpickle_marker))]
    for g, s in ENTRIES[:2]:
        frames, values, pairs = [], [], []
        for fish in range(3):
            for f in range(0, n_frames, 3):
                frames.append(f)
                values.append(int(rng.integers(0, 3)))
                pairs.append([fish, -1])
        frames += [7, 8]
        values += [2, 1]
        pairs += [[0, 1], [-1, -1]]  # one pair event and one scene event
        labels[(g, s)] = pl.DataFrame(
            {"frame": frames, "label": values, "id1": [p[0] for p in pairs],
             "id2": [p[1] for p in pairs]}
        )
        rel = f"labels/behavior/{LABELS_VARIANT}/{_file_name(g, s, '.npz')}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            root / rel,
            group=np.array(g), sequence=np.array(s), sequence_key=np.array(s),
            label_format=np.array("individual_pair_v1"),
            frames=np.array(frames, np.int32), labels=np.array(values, np.int32),
            individual_ids=np.array(pairs, np.int32), label_ids=np.array(list(VOCAB), np.int64),
            label_names=np.array(names, dtype=object),
        )
        label_rows.append(
            {
                "abs_path": rel, "run_id": LABELS_VARIANT,
                "started_at": "2026-12-03T08:24:58.058433+00:00", "group": g, "sequence": s,
                "producer": "convert-labels-calms21_npy", "label_kind": "behavior",
                "label_format": "individual_pair_v1", "consumed_source_roots": "labels_raw",
                "n_frames": len(set(frames)), "label_ids": ",".join(map(str, VOCAB)),
                "label_names": ",".join(VOCAB.values()),
            }
        )
    _csv(
        root / "labels" / "behavior" / "index.csv",
        [
            "abs_path", "run_id", "started_at", "finished_at", "group", "sequence", "producer",
            "label_kind", "label_format", "producer_run_id", "source_abs_path", "source_md5",
            "consumed_source_roots", "n_frames", "label_ids", "label_names",
            "consumed_composition",
        ],
        label_rows,
    )
    return {"tracks": tracks, "features": features, "labels": labels}
