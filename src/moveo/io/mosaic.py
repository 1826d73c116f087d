"""Read a dataset that mosaic-behavior 0.17 wrote (read-only; nothing is modified).

This module only *reads* mosaic's on-disk layout; bringing a dataset over (tracks,
labels, and adopting feature runs into moveo's registry) is
:func:`moveo.pipeline.import_mosaic`, one layer up, because adopting runs needs the
registry.

The layout, as mosaic-behavior 0.17 writes it (observed by running it)::

    dataset.yaml                          manifest (manifest_version 3): name, roots, sources, meta
    tracks/index.csv                      one row per converted entry: abs_path, run_id, group,
                                          sequence, n_rows, ...
    tracks/<variant>/<group>__<sequence>.parquet
                                          a converted tracks table (frame as float64; group and
                                          sequence columns inside; ``<sequence>.parquet`` when the
                                          group is empty). <variant> is e.g.
                                          ``convert-trex_npz.0.3-3d47f5c74c``
    labels/<kind>/index.csv               one row per labelled entry (label_ids, label_names)
    labels/<kind>/[<variant>/]<group>__<sequence>.npz
                                          ``individual_pair_v1`` arrays: frames, labels,
                                          individual_ids (n, 2; -1 for "none")
    features/<name>__from__<inputs>/index.csv
                                          one row per entry of every run: abs_path, run_id,
                                          feature, version, group, sequence, params_hash, n_rows
    features/<name>__from__<inputs>/<run_id>/params.json
                                          ``_params``, ``_inputs``, ``_frame_range``,
                                          ``_overlap_frames``, ``_resolved`` (the tracks variant)
    features/<name>__from__<inputs>/<run_id>/<group>__<sequence>.parquet

Paths in an ``index.csv`` are relative to the dataset root or absolute (mosaic writes
absolute paths for features and custom labels). An absolute path outside the dataset
(a dataset that was moved) is looked up in the folder mosaic keeps that kind of file
in. Every path that is finally read must lie inside the dataset root (symbolic links
resolved): an index cannot point the reader elsewhere.

Safety: ``dataset.yaml`` is parsed with ``yaml.safe_load`` (plain data, no Python
objects), ``params.json`` with :mod:`json`, label archives with
``numpy.load(allow_pickle=False)`` -- object arrays (mosaic stores ``label_names`` as
one) are never unpickled; label names come from ``index.csv`` / ``dataset.yaml``.
Nothing from the dataset is imported or executed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "MANIFEST_NAME",
    "SUPPORTED_MANIFEST_VERSIONS",
    "MosaicDataset",
    "MosaicFeatureEntry",
    "MosaicFeatureRun",
    "MosaicLabelsEntry",
    "MosaicLayoutError",
    "MosaicTracksEntry",
    "is_mosaic_dataset",
    "open_mosaic",
    "parse_timestamp",
    "read_index_csv",
    "resolve_index_path",
]

MANIFEST_NAME = "dataset.yaml"
SUPPORTED_MANIFEST_VERSIONS = (3,)
"""``manifest_version`` values this reader understands (mosaic-behavior 0.17 writes 3)."""

_DEFAULT_ROOTS = {"tracks": "tracks", "labels": "labels", "features": "features"}
_FROM = "__from__"


class MosaicLayoutError(ValueError):
    """A mosaic dataset (or one of its files) does not have the expected layout."""


@dataclass(frozen=True)
class MosaicTracksEntry:
    """One converted tracks table of a mosaic dataset.

    Attributes
    ----------
    group, sequence : str
        The entry as mosaic names it (the group may be empty).
    run_id : str
        The tracks variant (e.g. ``convert-trex_npz.0.3-3d47f5c74c``).
    path : Path
        The parquet file (inside the dataset).
    n_rows : int or None
        Rows according to the index.
    """

    group: str
    sequence: str
    run_id: str
    path: Path
    n_rows: int | None = None


@dataclass(frozen=True)
class MosaicLabelsEntry:
    """One entry's labels of one kind.

    Attributes
    ----------
    kind : str
        The label kind (folder under ``labels/``), e.g. ``"behavior"``.
    group, sequence : str
        The entry.
    run_id : str
        The labels variant (empty for labels written by a custom converter).
    path : Path
        The ``.npz`` file.
    label_format : str
        E.g. ``"individual_pair_v1"``.
    label_ids : tuple of int
        The vocabulary's ids.
    label_names : tuple of str
        The vocabulary's names (same order as ``label_ids``); empty when unknown.
    """

    kind: str
    group: str
    sequence: str
    run_id: str
    path: Path
    label_format: str
    label_ids: tuple[int, ...] = ()
    label_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class MosaicFeatureEntry:
    """One entry's output of a mosaic feature run."""

    group: str
    sequence: str
    path: Path
    n_rows: int | None = None


@dataclass(frozen=True)
class MosaicFeatureRun:
    """One run of a feature in a mosaic dataset.

    Attributes
    ----------
    folder : str
        The folder under ``features/`` (``<name>__from__<inputs>``).
    feature : str
        The feature's registered name (``name`` of the folder).
    run_id : str
        ``<version>-<hash>``.
    version : str
        The feature version that wrote it.
    params : dict
        ``_params`` of ``params.json`` (the parameters the run used).
    inputs : tuple
        ``_inputs`` of ``params.json`` (``"tracks"`` or references to other runs).
    frame_range : tuple
        ``(start, end)`` frame filter (``None`` when unfiltered).
    overlap_frames : int
        Frames borrowed from neighbouring sequences.
    tracks_run_id : str or None
        The tracks variant the run read (from ``_resolved``).
    mosaic_version : str or None
        The mosaic-behavior version that wrote the run.
    entries : tuple of MosaicFeatureEntry
        The run's entries (from ``index.csv``).
    problem : str or None
        Why the run cannot be used (unreadable ``params.json``...), else ``None``.
    """

    folder: str
    feature: str
    run_id: str
    version: str
    params: dict[str, Any]
    inputs: tuple[Any, ...]
    frame_range: tuple[Any, Any]
    overlap_frames: int
    tracks_run_id: str | None
    mosaic_version: str | None
    entries: tuple[MosaicFeatureEntry, ...] = field(default_factory=tuple)
    problem: str | None = None

    @property
    def reads_tracks_only(self) -> bool:
        """Whether the run's only input is the tracks."""
        return list(self.inputs) == ["tracks"]


def is_mosaic_dataset(path: str | Path) -> bool:
    """Return whether ``path`` is a folder holding a mosaic ``dataset.yaml``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    bool
    """
    p = Path(path)
    return (p / MANIFEST_NAME).is_file() or (p.name == MANIFEST_NAME and p.is_file())


def open_mosaic(path: str | Path) -> MosaicDataset:
    """Open a mosaic-behavior dataset for reading.

    Parameters
    ----------
    path : str or Path
        The dataset folder, or its ``dataset.yaml``.

    Returns
    -------
    MosaicDataset

    Raises
    ------
    FileNotFoundError
        No ``dataset.yaml`` there.
    MosaicLayoutError
        The manifest is not a mosaic manifest, or has a ``manifest_version`` this
        reader does not know.
    ImportError
        PyYAML is not installed (``pip install "moveo[mosaic]"``).
    """
    return MosaicDataset.open(path)


def _load_yaml(path: Path) -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml ships with the mosaic extra
        raise ImportError(
            f"reading {path} needs PyYAML; install it with pip install 'moveo[mosaic]'"
        ) from exc
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MosaicLayoutError(f"{path} is not valid YAML: {exc}") from exc


def _inside(path: Path, root: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(root))
    except ValueError:
        return False
    return True


def read_index_csv(path: str | Path) -> pl.DataFrame:
    """Read a mosaic ``index.csv`` with every column as a string.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    polars.DataFrame
        All columns String; empty fields are null.

    Raises
    ------
    MosaicLayoutError
        The file is not a readable CSV.
    """
    try:
        return pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise MosaicLayoutError(f"{path} is not a readable index.csv: {exc}") from exc


def resolve_index_path(
    stored: str,
    *,
    root: str | Path,
    expected_dir: str | Path,
    base: str | Path | None = None,
) -> Path | None:
    """Resolve a path an ``index.csv`` row holds, confined to ``root``.

    A relative path is relative to ``base`` (default ``root``); an absolute path
    outside ``root`` (the dataset was moved, or written on another machine) is
    re-anchored to the same file name in ``expected_dir``, the folder mosaic keeps
    that file in.

    Parameters
    ----------
    stored : str
        The ``abs_path`` field.
    root : str or Path
        The folder the path must stay inside (the dataset root).
    expected_dir : str or Path
        Where the file lives in mosaic's layout (e.g. ``features/<folder>/<run_id>``).
    base : str or Path, optional
        What relative paths are relative to (mosaic: the dataset root).

    Returns
    -------
    Path or None
        The path, or ``None`` when it is empty or would leave ``root`` (symbolic
        links resolved).
    """
    if not stored:
        return None
    root = Path(root)
    p = Path(stored)
    if not p.is_absolute():
        p = Path(base if base is not None else root) / p
    elif not _inside(p, root):
        p = Path(expected_dir) / Path(stored).name
    return p if _inside(p, root) else None


def parse_timestamp(text: str | None) -> float | None:
    """Parse an ISO-8601 timestamp of an ``index.csv`` into Unix seconds.

    Parameters
    ----------
    text : str or None

    Returns
    -------
    float or None
        ``None`` for an empty or unparsable field.
    """
    if not text:
        return None
    import datetime as _dt

    try:
        stamp = _dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.UTC)
    return stamp.timestamp()


def _col(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value)


def _int_or_none(text: str) -> int | None:
    try:
        return int(float(text))
    except (TypeError, ValueError):
        return None


class MosaicDataset:
    """A mosaic-behavior dataset opened read-only (use :func:`open_mosaic`).

    Attributes
    ----------
    root : Path
        The dataset folder.
    manifest : dict
        The parsed ``dataset.yaml``.
    """

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = Path(root).absolute()
        self.manifest = manifest
        self._roots = self._check_roots(manifest.get("roots") or {})

    @classmethod
    def open(cls, path: str | Path) -> MosaicDataset:
        """Open the dataset at ``path`` (see :func:`open_mosaic`)."""
        p = Path(path)
        if p.name == MANIFEST_NAME and p.is_file():
            p = p.parent
        manifest_path = p / MANIFEST_NAME
        if not manifest_path.is_file():
            what = "does not exist" if not p.exists() else f"has no {MANIFEST_NAME}"
            raise FileNotFoundError(
                f"{p} {what}: a mosaic-behavior dataset is a folder with a {MANIFEST_NAME}"
            )
        manifest = _load_yaml(manifest_path)
        if not isinstance(manifest, dict) or "manifest_version" not in manifest:
            raise MosaicLayoutError(
                f"{manifest_path} is not a mosaic dataset manifest (no manifest_version)"
            )
        version = manifest["manifest_version"]
        if version not in SUPPORTED_MANIFEST_VERSIONS:
            raise MosaicLayoutError(
                f"{manifest_path} has manifest_version {version!r}; this moveo reads "
                f"mosaic-behavior 0.17 datasets (manifest_version "
                f"{', '.join(map(str, SUPPORTED_MANIFEST_VERSIONS))})"
            )
        return cls(p, manifest)

    def __repr__(self) -> str:
        return f"MosaicDataset({str(self.root)!r}, name={self.name!r})"

    # ------------------------------------------------------------------ manifest
    @property
    def name(self) -> str:
        """The dataset's name."""
        return str(self.manifest.get("name") or self.root.name)

    @property
    def meta(self) -> dict[str, Any]:
        """The manifest's ``meta`` section (written by mosaic's converters)."""
        meta = self.manifest.get("meta")
        return dict(meta) if isinstance(meta, dict) else {}

    def _check_roots(self, roots: Any) -> dict[str, Path]:
        if not isinstance(roots, dict):
            raise MosaicLayoutError(f"{self.root / MANIFEST_NAME}: 'roots' is not a mapping")
        out = {}
        for key, default in _DEFAULT_ROOTS.items():
            rel = roots.get(key, default)
            if not isinstance(rel, str) or not rel or Path(rel).is_absolute():
                raise MosaicLayoutError(
                    f"{self.root / MANIFEST_NAME}: root {key!r} must be a relative folder "
                    f"inside the dataset, got {rel!r}"
                )
            path = self.root / rel
            if not _inside(path, self.root):
                raise MosaicLayoutError(
                    f"{self.root / MANIFEST_NAME}: root {key!r} ({rel!r}) points outside the "
                    "dataset"
                )
            out[key] = path
        return out

    def root_of(self, name: str) -> Path:
        """Return the folder of a named root (``"tracks"``, ``"labels"``, ``"features"``).

        Parameters
        ----------
        name : str

        Returns
        -------
        Path
        """
        return self._roots[name]

    def _resolve(self, stored: str, expected_dir: Path, what: str) -> Path:
        """Resolve an index path: relative to the root, re-anchored if the dataset moved."""
        if not stored:
            raise MosaicLayoutError(f"{what}: the index row has no abs_path")
        p = resolve_index_path(stored, root=self.root, expected_dir=expected_dir)
        if p is None:
            raise MosaicLayoutError(
                f"{what}: index path {stored!r} points outside the dataset {self.root}"
            )
        return p

    # ------------------------------------------------------------------ tracks
    def tracks(self) -> list[MosaicTracksEntry]:
        """List the converted tracks tables (every variant), sorted by entry.

        Returns
        -------
        list of MosaicTracksEntry

        Raises
        ------
        FileNotFoundError
            The dataset has no ``tracks/index.csv`` (no tracks were converted).
        """
        root = self._roots["tracks"]
        index = root / "index.csv"
        if not index.is_file():
            raise FileNotFoundError(
                f"{index} does not exist: the mosaic dataset {self.root} has no converted "
                "tracks (run `mosaic convert-tracks` there first)"
            )
        out = []
        for row in read_index_csv(index).iter_rows(named=True):
            run_id = _col(row, "run_id")
            what = f"{index} (group={_col(row, 'group')!r}, sequence={_col(row, 'sequence')!r})"
            path = self._resolve(_col(row, "abs_path"), root / run_id, what)
            out.append(
                MosaicTracksEntry(
                    group=_col(row, "group"),
                    sequence=_col(row, "sequence"),
                    run_id=run_id,
                    path=path,
                    n_rows=_int_or_none(_col(row, "n_rows")),
                )
            )
        return sorted(out, key=lambda e: (e.group, e.sequence, e.run_id))

    def read_tracks(self, entry: MosaicTracksEntry) -> pl.DataFrame:
        """Read one converted tracks table as mosaic stored it.

        Parameters
        ----------
        entry : MosaicTracksEntry

        Returns
        -------
        polars.DataFrame
            The table unchanged (mosaic keeps ``frame`` as float64 and the group and
            sequence as columns).

        Raises
        ------
        FileNotFoundError
            The file is missing.
        MosaicLayoutError
            The file is not a readable parquet table.
        """
        return self._read_parquet(entry.path, "tracks table")

    def _read_parquet(self, path: Path, what: str) -> pl.DataFrame:
        if not path.is_file():
            raise FileNotFoundError(f"{what} {path} listed in the index does not exist")
        try:
            return pl.read_parquet(path)
        except (pl.exceptions.ComputeError, OSError) as exc:
            raise MosaicLayoutError(f"{what} {path} is not a readable parquet file: {exc}") from exc

    # ------------------------------------------------------------------ labels
    def label_kinds(self) -> list[str]:
        """Return the label kinds with an ``index.csv`` (e.g. ``["behavior"]``), sorted.

        Returns
        -------
        list of str
        """
        root = self._roots["labels"]
        if not root.is_dir():
            return []
        return sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / "index.csv").is_file()
        )

    def active_labels_run(self, kind: str) -> str | None:
        """Return the labels variant ``dataset.yaml`` names as current for ``kind``.

        Parameters
        ----------
        kind : str

        Returns
        -------
        str or None
        """
        section = (self.meta.get("labels") or {}).get(kind)
        if isinstance(section, dict) and section.get("run_id"):
            return str(section["run_id"])
        return None

    def labels(self, kind: str) -> list[MosaicLabelsEntry]:
        """List the labelled entries of ``kind`` (every variant), sorted.

        Parameters
        ----------
        kind : str
            A kind from :meth:`label_kinds`.

        Returns
        -------
        list of MosaicLabelsEntry
        """
        if kind not in self.label_kinds():
            raise KeyError(
                f"the mosaic dataset {self.root} has no labels of kind {kind!r} "
                f"(kinds: {self.label_kinds()})"
            )
        folder = self._roots["labels"] / kind
        index = folder / "index.csv"
        section = (self.meta.get("labels") or {}).get(kind)
        section = section if isinstance(section, dict) else {}
        out = []
        for row in read_index_csv(index).iter_rows(named=True):
            run_id = _col(row, "run_id")
            g, s = _col(row, "group"), _col(row, "sequence")
            path = self._resolve(
                _col(row, "abs_path"),
                folder / run_id if run_id else folder,
                f"{index} (group={g!r}, sequence={s!r})",
            )
            ids = tuple(int(v) for v in _col(row, "label_ids").split(",") if v.strip())
            names = tuple(v.strip() for v in _col(row, "label_names").split(",") if v.strip())
            if section.get("run_id", run_id) == run_id and section.get("label_names"):
                # the manifest keeps the vocabulary as a list (names may hold commas)
                names = tuple(str(v) for v in section["label_names"])
                ids = tuple(int(v) for v in section.get("label_ids", ids))
            out.append(
                MosaicLabelsEntry(
                    kind=kind,
                    group=g,
                    sequence=s,
                    run_id=run_id,
                    path=path,
                    label_format=_col(row, "label_format"),
                    label_ids=ids,
                    label_names=names if len(names) == len(ids) else (),
                )
            )
        return sorted(out, key=lambda e: (e.group, e.sequence, e.run_id))

    def read_labels(self, entry: MosaicLabelsEntry) -> pl.DataFrame:
        """Read one entry's label events.

        Parameters
        ----------
        entry : MosaicLabelsEntry

        Returns
        -------
        polars.DataFrame
            Columns ``frame``, ``label`` (Int64 class id), ``id1``, ``id2`` (Int64;
            ``-1`` for none: ``[id, -1]`` an individual's label, ``[id1, id2]`` a
            pair's, ``[-1, -1]`` the whole scene's), in file order.

        Raises
        ------
        MosaicLayoutError
            Not an ``individual_pair_v1`` archive, or arrays of the wrong shape.
        """
        path = entry.path
        if not path.is_file():
            raise FileNotFoundError(f"labels file {path} listed in the index does not exist")
        if entry.label_format and entry.label_format != "individual_pair_v1":
            raise MosaicLayoutError(
                f"labels file {path}: label format {entry.label_format!r} is not supported "
                "(moveo reads 'individual_pair_v1')"
            )
        try:
            with np.load(path, allow_pickle=False) as archive:
                missing = [k for k in ("frames", "labels") if k not in archive.files]
                if missing:
                    raise MosaicLayoutError(
                        f"labels file {path} has no {missing} arrays (keys: {archive.files})"
                    )
                frames = np.asarray(archive["frames"])
                labels = np.asarray(archive["labels"])
                pairs = (
                    np.asarray(archive["individual_ids"])
                    if "individual_ids" in archive.files
                    else None
                )
        except (OSError, ValueError) as exc:
            if isinstance(exc, MosaicLayoutError):
                raise
            raise MosaicLayoutError(f"labels file {path} is not a readable npz: {exc}") from exc
        n = len(frames)
        if frames.ndim != 1 or labels.shape != (n,):
            raise MosaicLayoutError(
                f"labels file {path}: frames {frames.shape} and labels {labels.shape} must be "
                "1-D arrays of one length"
            )
        if pairs is None:
            pairs = np.full((n, 2), -1, dtype=np.int64)
        if pairs.shape != (n, 2):
            raise MosaicLayoutError(
                f"labels file {path}: individual_ids has shape {pairs.shape}, expected ({n}, 2)"
            )
        for name, arr in (("frames", frames), ("labels", labels), ("individual_ids", pairs)):
            if arr.dtype.kind not in "iu":
                raise MosaicLayoutError(f"labels file {path}: {name} must be integers")
        return pl.DataFrame(
            {
                "frame": frames.astype(np.int64),
                "label": labels.astype(np.int64),
                "id1": pairs[:, 0].astype(np.int64),
                "id2": pairs[:, 1].astype(np.int64),
            }
        )

    # ------------------------------------------------------------------ features
    def feature_folders(self) -> list[str]:
        """Return the folders under ``features/`` that hold an ``index.csv``, sorted.

        Returns
        -------
        list of str
        """
        root = self._roots["features"]
        if not root.is_dir():
            return []
        return sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / "index.csv").is_file()
        )

    def feature_runs(self) -> list[MosaicFeatureRun]:
        """List every feature run, sorted by folder and run id.

        Runs whose ``params.json`` cannot be read are listed with :attr:`problem` set.

        Returns
        -------
        list of MosaicFeatureRun
        """
        runs = []
        for folder in self.feature_folders():
            base = self._roots["features"] / folder
            index = base / "index.csv"
            rows: dict[str, list[dict[str, Any]]] = {}
            for row in read_index_csv(index).iter_rows(named=True):
                rows.setdefault(_col(row, "run_id"), []).append(row)
            for run_id, items in sorted(rows.items()):
                runs.append(self._feature_run(folder, run_id, items))
        return runs

    def _feature_run(
        self, folder: str, run_id: str, rows: list[dict[str, Any]]
    ) -> MosaicFeatureRun:
        name = folder.partition(_FROM)[0]
        base = self._roots["features"] / folder
        problem = None
        if not run_id or Path(run_id).name != run_id or run_id.startswith("."):
            problem = f"run id {run_id!r} is not a folder name"
            run_dir = base
        else:
            run_dir = base / run_id
        params: dict[str, Any] = {}
        inputs: tuple[Any, ...] = ()
        frame_range: tuple[Any, Any] = (None, None)
        overlap = 0
        tracks_run = None
        mosaic_version = None
        params_path = run_dir / "params.json"
        if problem is None:
            try:
                spec = json.loads(params_path.read_text(encoding="utf-8"))
                if not isinstance(spec, dict):
                    raise ValueError("not a JSON object")
                params = dict(spec.get("_params") or {})
                inputs = tuple(spec.get("_inputs") or ())
                fr = spec.get("_frame_range") or [None, None]
                frame_range = (fr[0], fr[1]) if len(fr) == 2 else (None, None)
                overlap = int(spec.get("_overlap_frames") or 0)
                mosaic_version = spec.get("_mosaic_version")
                for item in spec.get("_resolved") or ():
                    if isinstance(item, dict) and item.get("feature") == "tracks":
                        tracks_run = str(item.get("run_id") or "") or None
            except FileNotFoundError:
                problem = f"{params_path} is missing"
            except (ValueError, TypeError, AttributeError) as exc:
                problem = f"{params_path} is not a mosaic params file ({exc})"
        entries = []
        for row in rows:
            g, s = _col(row, "group"), _col(row, "sequence")
            try:
                path = self._resolve(
                    _col(row, "abs_path"), run_dir, f"{base / 'index.csv'} ({g!r}, {s!r})"
                )
            except MosaicLayoutError as exc:
                problem = problem or str(exc)
                continue
            entries.append(MosaicFeatureEntry(g, s, path, _int_or_none(_col(row, "n_rows"))))
        version = _col(rows[0], "version") if rows else ""
        return MosaicFeatureRun(
            folder=folder,
            feature=name,
            run_id=run_id,
            version=version or run_id.partition("-")[0],
            params=params,
            inputs=inputs,
            frame_range=frame_range,
            overlap_frames=overlap,
            tracks_run_id=tracks_run,
            mosaic_version=mosaic_version,
            entries=tuple(sorted(entries, key=lambda e: (e.group, e.sequence))),
            problem=problem,
        )

    def read_feature(self, entry: MosaicFeatureEntry) -> pl.DataFrame:
        """Read one entry's output of a feature run, as mosaic stored it.

        Parameters
        ----------
        entry : MosaicFeatureEntry

        Returns
        -------
        polars.DataFrame
        """
        return self._read_parquet(entry.path, "feature output")
