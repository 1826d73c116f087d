"""Bring a mosaic-behavior 0.17 dataset over: :func:`import_mosaic`.

The source dataset is only read (through :mod:`moveo.io.mosaic`); everything is
written into a new moveo dataset:

1. **Tracks**: every converted tracks table becomes the moveo entry of the same
   group and sequence (an empty mosaic group becomes ``empty_group``). The frame
   rate is taken from ``fps=`` or derived from the tracks' time column, and the
   pose layout from the ``poseX<k>`` columns.
2. **Labels**: each label kind (``labels/<kind>/``) becomes moveo labels of that
   kind: an individual's events (``individual_ids == [id, -1]``) become rows
   ``(id, frame, label)`` with the label's name when the vocabulary is known.
   Pair events are skipped unless ``pair_labels="first"`` (the first individual
   of the pair, the actor in mosaic's directed pairs, gets the label); scene-level
   events are skipped. The report counts what was skipped.
3. **Feature runs** whose feature moveo implements under the same name are
   *adopted*: moveo plans the run it would compute (same parameters, on the
   imported tracks), checks mosaic's output against its own result on one entry
   (``verify="sample"``) or every entry (``verify="all"``), and stores mosaic's
   values under moveo's run id with the tracks fingerprints, so
   :meth:`moveo.pipeline.Pipeline.status` shows the step ``cached`` and nothing
   is recomputed. A run is skipped, with the reason, when moveo has no feature of
   that name, when the feature fits state over the dataset (its fitted model
   would have to be unpickled), when it reads other features' outputs, ran on a
   frame range, used parameters moveo does not accept, read another tracks
   variant, or when its values differ from moveo's (mosaic defects moveo fixes,
   e.g. ``speed_smooth`` smoothing NaN speeds as 0).

The returned :class:`MosaicImportReport` lists every item imported, adopted or
skipped (``print(report)`` shows a table); it is also written to
``<dst>/.moveo/mosaic-import.json``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import ValidationError

from moveo._fs import atomic_write_bytes, atomic_write_parquet
from moveo.dataset import Dataset
from moveo.features import feature_names, get_feature
from moveo.features.base import BaseFeature
from moveo.io.mosaic import (
    MosaicDataset,
    MosaicFeatureRun,
    MosaicLayoutError,
    MosaicTracksEntry,
    open_mosaic,
)
from moveo.labels import add_labels
from moveo.pipeline.registry import FeatureRegistry, open_registry
from moveo.pipeline.run import _apply_dataset_defaults, plan_run
from moveo.schema import PoseConfig, validate_entry_name, validation_message

__all__ = ["ImportItem", "MosaicImportReport", "import_mosaic"]

REPORT_FILE = "mosaic-import.json"
_KEYS = ("group", "sequence", "id", "frame")
# a per-item problem the report records (anything else is a bug and propagates)
_ITEM_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    OSError,
    MosaicLayoutError,
    pl.exceptions.PolarsError,
)
_RTOL = 1e-9
_ATOL = 1e-12


@dataclass(frozen=True)
class ImportItem:
    """One line of a :class:`MosaicImportReport`.

    Attributes
    ----------
    kind : {"tracks", "labels", "feature"}
        What the item is.
    name : str
        ``group/sequence`` for tracks, ``kind group/sequence`` for labels,
        ``<folder> <run_id>`` for a feature run.
    action : {"imported", "adopted", "skipped"}
        What happened.
    detail : str
        Rows, the moveo run id, or why the item was skipped.
    """

    kind: str
    name: str
    action: str
    detail: str = ""


@dataclass
class MosaicImportReport:
    """What :func:`import_mosaic` imported, adopted and skipped (and why).

    Attributes
    ----------
    source : Path
        The mosaic dataset.
    destination : Path
        The moveo dataset written.
    fps : float or None
        The frame rate given to the moveo dataset.
    fps_from : str
        Where it came from (``"argument"``, ``"time column"`` or ``"unknown"``).
    items : list of ImportItem
        One per tracks entry, labelled entry and feature run.
    """

    source: Path
    destination: Path
    fps: float | None = None
    fps_from: str = "unknown"
    items: list[ImportItem] = field(default_factory=list)

    def add(self, kind: str, name: str, action: str, detail: str = "") -> None:
        """Append an item."""
        self.items.append(ImportItem(kind, name, action, detail))

    def _where(self, action: str) -> list[ImportItem]:
        return [i for i in self.items if i.action == action]

    @property
    def imported(self) -> list[ImportItem]:
        """Tracks and labels brought over."""
        return self._where("imported")

    @property
    def adopted(self) -> list[ImportItem]:
        """Feature runs recorded in moveo's registry (reusable by pipelines)."""
        return self._where("adopted")

    @property
    def skipped(self) -> list[ImportItem]:
        """Items not brought over, each with its reason."""
        return self._where("skipped")

    def table(self) -> pl.DataFrame:
        """Return the items as a DataFrame (columns kind, name, action, detail).

        Returns
        -------
        polars.DataFrame
        """
        schema = dict.fromkeys(("kind", "name", "action", "detail"), pl.String)
        return pl.DataFrame([asdict(i) for i in self.items], schema=schema, orient="row")

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data.

        Returns
        -------
        dict
        """
        return {
            "source": str(self.source),
            "destination": str(self.destination),
            "fps": self.fps,
            "fps_from": self.fps_from,
            "items": [asdict(i) for i in self.items],
        }

    def __str__(self) -> str:
        counts = ", ".join(
            f"{len(self._where(a))} {a}" for a in ("imported", "adopted", "skipped")
        )
        fps = f"{self.fps:g} fps ({self.fps_from})" if self.fps else "fps unknown"
        head = [f"mosaic import {self.source} -> {self.destination}: {counts}; {fps}"]
        rows = [("kind", "name", "action", "detail")] + [
            (i.kind, i.name, i.action, i.detail) for i in self.items
        ]
        widths = [max(len(r[k]) for r in rows) for k in range(3)]
        lines = [
            "  ".join(r[k].ljust(widths[k]) for k in range(3)) + "  " + r[3] for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
        return "\n".join(head + [line.rstrip() for line in lines])


# --------------------------------------------------------------------------- helpers


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return validation_message(exc)
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return " ".join(str(text).split()) or type(exc).__name__


def _entry_name(group: str, sequence: str) -> str:
    return f"{group or '(no group)'}/{sequence}"


def _pose_count(names: Iterable[str], x_prefix: str = "poseX", y_prefix: str = "poseY") -> int:
    have = set(names)
    k = 0
    while f"{x_prefix}{k}" in have and f"{y_prefix}{k}" in have:
        k += 1
    return k


def _entry_fps(frame: np.ndarray, time: np.ndarray) -> float | None:
    """Return the frame rate if ``time == t0 + (frame - f0) / fps`` on every row, else None."""
    ok = np.isfinite(frame) & np.isfinite(time)
    if ok.sum() < 2:
        return None
    f, t = frame[ok], time[ok]
    lo, hi = int(np.argmin(f)), int(np.argmax(f))
    if f[hi] == f[lo] or t[hi] == t[lo]:
        return None
    fps = (f[hi] - f[lo]) / (t[hi] - t[lo])
    if not fps > 0:
        return None
    model = t[lo] + (f - f[lo]) / fps
    if np.max(np.abs(model - t)) > 1e-6 * max(1.0, float(np.max(np.abs(t)))):
        return None
    return float(fps)


def _infer_fps(m: MosaicDataset, entries: list[MosaicTracksEntry]) -> float | None:
    rates = []
    for e in entries:
        schema = pl.read_parquet_schema(e.path)
        if "time" not in schema or "frame" not in schema:
            return None
        df = pl.read_parquet(e.path, columns=["frame", "time"])
        rate = _entry_fps(
            df["frame"].cast(pl.Float64).to_numpy(), df["time"].cast(pl.Float64).to_numpy()
        )
        if rate is None:
            return None
        rates.append(rate)
    if not rates or max(rates) - min(rates) > 1e-6 * max(rates):
        return None
    return float(f"{float(np.mean(rates)):.9g}")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _stateless(cls: type) -> bool:
    if getattr(cls, "scope_dependent", False):
        return False
    return cls.fit is BaseFeature.fit and cls.load_state is BaseFeature.load_state


# --------------------------------------------------------------------------- import


def import_mosaic(
    src: str | Path,
    dst: str | Path,
    *,
    fps: float | None = None,
    empty_group: str = "ungrouped",
    tracks_run_id: str | None = None,
    pair_labels: Literal["skip", "first"] = "skip",
    verify: Literal["sample", "all"] = "sample",
) -> MosaicImportReport:
    """Import a dataset mosaic-behavior 0.17 wrote into a new moveo dataset.

    The source is only read. See the module documentation for what is imported,
    adopted and skipped.

    Parameters
    ----------
    src : str or Path
        The mosaic dataset folder (with ``dataset.yaml``).
    dst : str or Path
        A new (or empty) folder for the moveo dataset.
    fps : float, optional
        Frames per second of the moveo dataset. Default: derived from the tracks'
        time column when every entry has ``time = t0 + frame / fps`` at one rate;
        otherwise unknown (set it later with :meth:`moveo.Dataset.set_fps`).
    empty_group : str, default "ungrouped"
        Group name for mosaic entries whose group is empty (moveo needs one).
    tracks_run_id : str, optional
        The tracks variant to import when entries have several (mosaic's
        ``tracks_run_id``); by default an entry must have exactly one.
    pair_labels : {"skip", "first"}, default "skip"
        What to do with labels of a pair of individuals: skip them, or give them
        to the first individual of the pair.
    verify : {"sample", "all"}, default "sample"
        On how many entries of each feature run moveo recomputes the feature and
        compares before adopting mosaic's values: the first entry, or all.

    Returns
    -------
    MosaicImportReport

    Raises
    ------
    FileNotFoundError
        ``src`` is not a mosaic dataset, or has no converted tracks.
    FileExistsError
        ``dst`` is not empty.
    moveo.io.mosaic.MosaicLayoutError
        ``src`` is not a dataset this reader understands.
    ValueError
        Bad arguments (``empty_group``, ``pair_labels``, ``verify``, ``fps``).
    """
    if pair_labels not in ("skip", "first"):
        raise ValueError(f"pair_labels must be 'skip' or 'first', got {pair_labels!r}")
    if verify not in ("sample", "all"):
        raise ValueError(f"verify must be 'sample' or 'all', got {verify!r}")
    validate_entry_name("group", empty_group)
    m = open_mosaic(src)
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise FileExistsError(f"{dst} is not empty; import_mosaic writes a new moveo dataset")
    report = MosaicImportReport(source=m.root, destination=dst.absolute())

    chosen = _choose_tracks(m, report, tracks_run_id, empty_group)
    if fps is not None:
        fps_value: float | None = float(fps)
        if not (math.isfinite(fps_value) and fps_value > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        report.fps_from = "argument"
    else:
        fps_value = _infer_fps(m, [e for e, _ in chosen.values()])
        report.fps_from = "time column" if fps_value is not None else "unknown"
    report.fps = fps_value
    counts = {_pose_count(pl.read_parquet_schema(e.path)) for e, _ in chosen.values()}
    pose = PoseConfig(pose_n=max(counts)) if counts and max(counts) else PoseConfig(pose_n=0)
    meta = {
        "mosaic": _jsonable(
            {
                "source": str(m.root),
                "name": m.name,
                "uuid": m.manifest.get("uuid"),
                "manifest_version": m.manifest.get("manifest_version"),
                "imported_at": _dt.datetime.now(_dt.UTC).isoformat(),
                "meta": m.meta,
            }
        )
    }
    ds = Dataset.create(dst, fps=fps_value, pose=pose, name=m.name, meta=meta)

    imported = _import_tracks(m, ds, chosen, report)
    for kind in m.label_kinds():
        _import_labels(m, ds, kind, imported, report, pair_labels)
    with open_registry(ds) as reg:
        adopted: dict[tuple[str, str], str] = {}
        for run in m.feature_runs():
            _adopt_run(m, ds, reg, run, imported, adopted, report, verify)
    atomic_write_bytes(
        json.dumps(report.to_dict(), indent=1).encode(), Path(ds.internal_root) / REPORT_FILE
    )
    return report


def _choose_tracks(
    m: MosaicDataset, report: MosaicImportReport, tracks_run_id: str | None, empty_group: str
) -> dict[tuple[str, str], tuple[MosaicTracksEntry, tuple[str, str]]]:
    """Pick one tracks variant per entry; map names -> {mosaic key: (entry, moveo key)}."""
    variants: dict[tuple[str, str], list[MosaicTracksEntry]] = {}
    for e in m.tracks():
        variants.setdefault((e.group, e.sequence), []).append(e)
    chosen: dict[tuple[str, str], tuple[MosaicTracksEntry, tuple[str, str]]] = {}
    taken: dict[tuple[str, str], tuple[str, str]] = {}
    for (g, s), items in sorted(variants.items()):
        name = _entry_name(g, s)
        if tracks_run_id is not None:
            items = [e for e in items if e.run_id == tracks_run_id]
            if not items:
                report.add("tracks", name, "skipped", f"no tracks variant {tracks_run_id!r}")
                continue
        if len(items) > 1:
            ids = ", ".join(e.run_id for e in items)
            report.add(
                "tracks", name, "skipped",
                f"several tracks variants ({ids}); pass tracks_run_id= to choose one",
            )
            continue
        try:
            key = (
                validate_entry_name("group", g or empty_group),
                validate_entry_name("sequence", s),
            )
        except ValueError as exc:
            report.add("tracks", name, "skipped", _one_line(exc))
            continue
        if key in taken:
            report.add(
                "tracks", name, "skipped",
                f"becomes {_entry_name(*key)}, like mosaic entry {_entry_name(*taken[key])}",
            )
            continue
        taken[key] = (g, s)
        chosen[(g, s)] = (items[0], key)
    return chosen


def _import_tracks(
    m: MosaicDataset,
    ds: Dataset,
    chosen: dict[tuple[str, str], tuple[MosaicTracksEntry, tuple[str, str]]],
    report: MosaicImportReport,
) -> dict[tuple[str, str], tuple[tuple[str, str], str]]:
    """Ingest the chosen entries -> {mosaic key: (moveo key, tracks variant)}."""
    done = {}
    for (g, s), (entry, key) in chosen.items():
        name = _entry_name(g, s)
        try:
            table = m.read_tracks(entry)
            table = table.drop([c for c in ("group", "sequence") if c in table.columns])
            ds.add_tracks(table, group=key[0], sequence=key[1], source=str(entry.path))
        except _ITEM_ERRORS as exc:
            report.add("tracks", name, "skipped", _one_line(exc))
            continue
        renamed = f" as {_entry_name(*key)}" if key != (g, s) else ""
        report.add(
            "tracks", name, "imported", f"{table.height} rows{renamed} ({entry.run_id})"
        )
        done[(g, s)] = (key, entry.run_id)
    return done


def _import_labels(
    m: MosaicDataset,
    ds: Dataset,
    kind: str,
    imported: dict[tuple[str, str], tuple[tuple[str, str], str]],
    report: MosaicImportReport,
    pair_labels: str,
) -> None:
    try:
        rows = m.labels(kind)
    except _ITEM_ERRORS as exc:
        report.add("labels", kind, "skipped", _one_line(exc))
        return
    active = m.active_labels_run(kind)
    by_entry: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        by_entry.setdefault((row.group, row.sequence), []).append(row)
    for (g, s), items in sorted(by_entry.items()):
        name = f"{kind} {_entry_name(g, s)}"
        if (g, s) not in imported:
            report.add("labels", name, "skipped", "its tracks were not imported")
            continue
        if len(items) > 1:
            items = [r for r in items if active is not None and r.run_id == active]
            if len(items) != 1:
                report.add(
                    "labels", name, "skipped",
                    "several label variants and dataset.yaml names none of them as current",
                )
                continue
        entry = items[0]
        key = imported[(g, s)][0]
        try:
            events = m.read_labels(entry)
            table, notes = _labels_table(events, entry.label_ids, entry.label_names, pair_labels)
            if table.height == 0:
                report.add("labels", name, "skipped", "no per-individual labels; " + notes)
                continue
            add_labels(ds, kind, table, group=key[0], sequence=key[1])
        except _ITEM_ERRORS as exc:
            report.add("labels", name, "skipped", _one_line(exc))
            continue
        detail = f"{table.height} rows" + (f"; {notes}" if notes else "")
        report.add("labels", name, "imported", detail)


def _events(n: int, what: str) -> str:
    return f"{n} {what} event{'' if n == 1 else 's'}"


def _labels_table(
    events: pl.DataFrame,
    label_ids: tuple[int, ...],
    label_names: tuple[str, ...],
    pair_labels: str,
) -> tuple[pl.DataFrame, str]:
    """Per-individual rows (id, frame, label) of mosaic's events, and what was dropped."""
    single = events.filter((pl.col("id1") >= 0) & (pl.col("id2") < 0))
    pairs = events.filter((pl.col("id1") >= 0) & (pl.col("id2") >= 0))
    scene = events.filter(pl.col("id1") < 0)
    notes = []
    if pairs.height:
        if pair_labels == "first":
            single = pl.concat([single, pairs])
            notes.append(f"{_events(pairs.height, 'pair')} given to the first individual")
        else:
            notes.append(f"{_events(pairs.height, 'pair')} skipped (pair_labels='skip')")
    if scene.height:
        notes.append(
            f"{_events(scene.height, 'scene')} skipped (moveo labels are per individual)"
        )
    table = single.select(pl.col("id1").alias("id"), "frame", "label")
    dup = table.filter(pl.struct("id", "frame").is_duplicated())
    if dup.height:
        raise ValueError(
            f"{dup.height} events share an (id, frame) (e.g. {dup.head(3).rows()}); "
            "moveo keeps one label per individual and frame"
        )
    if label_names:
        names = dict(zip(label_ids, label_names, strict=True))
        unknown = sorted(set(table["label"].to_list()) - set(names))
        if unknown:
            raise ValueError(f"label ids {unknown[:5]} are not in the vocabulary {names}")
        table = table.with_columns(
            pl.col("label").replace_strict(names, return_dtype=pl.String)
        )
    return table, "; ".join(notes)


# --------------------------------------------------------------------------- adopt


def _skip_reason(run: MosaicFeatureRun) -> str | None:
    if run.problem:
        return run.problem
    if run.feature not in feature_names():
        return f"moveo has no feature {run.feature!r}"
    cls = get_feature(run.feature)
    if not run.reads_tracks_only:
        names = [
            f"{i.get('feature')} {i.get('run_id') or ''}".strip() if isinstance(i, dict) else str(i)
            for i in run.inputs
        ]
        return (
            f"reads other features' outputs ({', '.join(names)}); recompute it with moveo "
            "(only runs on the tracks are adopted)"
        )
    if run.frame_range != (None, None) or run.overlap_frames:
        return "ran on a frame range or with overlap_frames; recompute it with moveo"
    if not _stateless(cls):
        return (
            "fits state over the dataset (its fitted model is not imported: nothing is "
            "unpickled); recompute it with moveo"
        )
    return None


def _compare(ours: pl.DataFrame, theirs: pl.DataFrame, columns: list[str]) -> str | None:
    """Why ``theirs`` (aligned to ``ours``) differs from ``ours``, or None."""
    for col in columns:
        a = ours[col]
        b = theirs[col]
        if a.dtype.is_float() or b.dtype.is_float():
            x = a.cast(pl.Float64).fill_null(np.nan).to_numpy()
            y = b.cast(pl.Float64).fill_null(np.nan).to_numpy()
            nan_x, nan_y = np.isnan(x), np.isnan(y)
            both = ~nan_x & ~nan_y
            close = np.isclose(x[both], y[both], rtol=_RTOL, atol=_ATOL)
            bad = int((nan_x != nan_y).sum()) + int((~close).sum())
            if bad:
                diff = np.abs(x[both] - y[both])
                worst = f", max |diff| {diff.max():.3g}" if diff.size and diff.max() > 0 else ""
                return (
                    f"column {col!r} differs in {bad} of {len(x)} rows "
                    f"(NaN in {int(nan_x.sum())} rows for moveo, {int(nan_y.sum())} for "
                    f"mosaic{worst})"
                )
        else:
            try:
                same = a.equals(b.cast(a.dtype))
            except pl.exceptions.PolarsError:
                same = False
            if not same:
                return f"column {col!r} differs"
    return None


def _align(
    theirs: pl.DataFrame, tracks: pl.DataFrame, columns: list[str], dtypes: dict[str, Any]
) -> pl.DataFrame:
    """Mosaic's output in moveo's layout: the tracks' keys and row order, moveo's dtypes."""
    missing = [c for c in ("id", "frame", *columns) if c not in theirs.columns]
    if missing:
        raise ValueError(f"mosaic's output has no column(s) {missing}")
    theirs = theirs.select(
        pl.col("id").cast(pl.Int64),
        pl.col("frame").cast(pl.Int64),
        *[pl.col(c).cast(dtypes[c]) for c in columns],
    )
    if theirs.height != tracks.height or theirs.select("id", "frame").is_duplicated().any():
        raise ValueError(
            f"mosaic's output has {theirs.height} rows for {tracks.height} track rows "
            "(moveo's feature emits one row per track row)"
        )
    stray = theirs.join(tracks.select("id", "frame"), on=["id", "frame"], how="anti")
    if stray.height:
        raise ValueError(
            f"mosaic's output has {stray.height} rows whose (id, frame) is not in the tracks, "
            f"e.g. {stray.select('id', 'frame').head(3).rows()}"
        )
    return tracks.select(*_KEYS).join(
        theirs, on=["id", "frame"], how="left", maintain_order="left"
    )


def _adopt_run(
    m: MosaicDataset,
    ds: Dataset,
    reg: FeatureRegistry,
    run: MosaicFeatureRun,
    imported: dict[tuple[str, str], tuple[tuple[str, str], str]],
    adopted: dict[tuple[str, str], str],
    report: MosaicImportReport,
    verify: str,
) -> None:
    name = f"{run.folder} {run.run_id}"
    reason = _skip_reason(run)
    if reason is not None:
        report.add("feature", name, "skipped", reason)
        return
    cls = get_feature(run.feature)
    try:
        feature = cls(params=run.params)
    except (ValidationError, ValueError, TypeError) as exc:
        report.add(
            "feature", name, "skipped",
            f"parameters {run.params} are not moveo's {run.feature!r} parameters: "
            f"{_one_line(exc)}",
        )
        return
    entries = {}
    other_variant = 0
    for e in run.entries:
        have = imported.get((e.group, e.sequence))
        if have is None:
            continue
        if run.tracks_run_id is not None and have[1] != run.tracks_run_id:
            other_variant += 1
            continue
        entries[have[0]] = e
    if not entries:
        why = (
            f"computed from tracks variant {run.tracks_run_id!r}, not the one imported"
            if other_variant
            else "none of its entries has imported tracks"
        )
        report.add("feature", name, "skipped", why)
        return
    _apply_dataset_defaults(ds, feature)
    try:
        plan = plan_run(ds, feature, reg)
    except _ITEM_ERRORS as exc:
        report.add("feature", name, "skipped", _one_line(exc))
        return
    moveo_run = f"{plan.feature} {plan.run_id}"
    if (plan.feature, plan.run_id) in adopted:
        report.add(
            "feature", name, "skipped",
            f"same moveo run ({moveo_run}) as the adopted {adopted[(plan.feature, plan.run_id)]}",
        )
        return
    keys = sorted(entries)
    try:
        frames = {}
        columns: list[str] = []
        dtypes: dict[str, Any] = {}
        checked = 0
        for i, key in enumerate(keys):
            tracks = ds.read(*key)
            theirs = m.read_feature(entries[key])
            if i == 0 or verify == "all":
                ours = feature.apply(tracks)
                if i == 0:
                    columns = [c for c in ours.columns if c not in _KEYS]
                    dtypes = dict(ours.select(columns).schema)
                aligned = _align(theirs, tracks, columns, dtypes)
                why = _compare(ours, aligned, columns)
                if why is not None:
                    report.add(
                        "feature", name, "skipped",
                        f"mosaic's values differ from moveo's on {_entry_name(*key)}: {why}",
                    )
                    return
                checked += 1
            else:
                aligned = _align(theirs, tracks, columns, dtypes)
            frames[key] = aligned
    except _ITEM_ERRORS as exc:
        report.add("feature", name, "skipped", _one_line(exc))
        return

    reg.record_run_start(
        plan.feature, plan.run_id, plan.version, plan.params_hash, plan.params_json,
        plan.inputs_json,
    )
    rows = []
    for key, frame in frames.items():
        path = plan.entry_path(*key)
        size = atomic_write_parquet(frame, path)
        rows.append(
            {
                "feature": plan.feature,
                "run_id": plan.run_id,
                "group": key[0],
                "sequence": key[1],
                "path": path,
                "n_rows": frame.height,
                "input_fp": plan.fingerprints[key],
                "size_bytes": int(size),
            }
        )
    reg.record_entries(rows)
    provenance = {
        "mosaic_folder": run.folder,
        "mosaic_run_id": run.run_id,
        "mosaic_version": run.mosaic_version,
        "params": run.params,
        "source": str(m.root),
        "verified_entries": checked,
    }
    atomic_write_bytes(
        json.dumps(_jsonable(provenance), indent=1).encode(), plan.run_root / "mosaic.json"
    )
    complete = set(frames) >= set(plan.entries)
    if complete:
        reg.mark_finished(plan.feature, plan.run_id)
    adopted[(plan.feature, plan.run_id)] = name
    part = "" if complete else f" of {len(plan.entries)}"
    report.add(
        "feature", name, "adopted",
        f"as {moveo_run} ({len(frames)}{part} entries, checked against moveo on {checked})",
    )
