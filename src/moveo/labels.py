"""Frame-level behaviour labels stored in a dataset.

Labels of one *kind* (an annotation set, e.g. ``"behavior"`` or
``"observer-2"``) live next to the tracks, one file per entry::

    labels/<kind>/<group>/<sequence>.parquet     columns: id (Int64), frame (Int64), label

``label`` is a String (class name) or Int64 (class index) column. Rows are
sorted by (id, frame), (id, frame) is unique, and every labelled (id, frame)
exists in the entry's tracks: :func:`add_labels` checks this and refuses
labels for unknown entries, individuals or frames, so a model is never
trained on labels that point nowhere. Unlabelled frames simply have no row.

Per-individual *tags* (mosaic's ``id_tags``: focal / non-focal, sex, size, ...)
are one row per individual instead, ``labels/<kind>/<group>/<sequence>.parquet``
with an ``id`` column and one column per tag field (:func:`add_id_tags`,
:func:`read_id_tags`); the ``id-tag-columns`` feature attaches them to every
frame.

The kind ``"events"`` is reserved for EMG label events
(``labels/events/<subject>/<session>.parquet``, see :mod:`moveo.emg`).

Examples
--------
>>> import tempfile
>>> from moveo import Dataset
>>> from moveo.io.behaviors import generate_behaviors
>>> ds = Dataset.create(tempfile.mkdtemp() + "/ds", fps=30.0)
>>> tracks, labels = generate_behaviors(n_sequences=2, n_frames=50, seed=0)
>>> _ = ds.add_tracks(tracks)
>>> add_labels(ds, "behavior", labels)
[('g0', 's0'), ('g0', 's1')]
>>> read_labels(ds, "behavior", "g0", "s0").columns
['id', 'frame', 'label']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from moveo.dataset import atomic_write_parquet, to_polars
from moveo.schema import validate_entry_name

__all__ = [
    "RESERVED_KINDS",
    "add_id_tags",
    "add_labels",
    "label_kinds",
    "labeled_entries",
    "labels_fingerprint",
    "labels_lookup",
    "read_id_tags",
    "read_labels",
    "remove_labels",
]

RESERVED_KINDS = frozenset({"events"})
"""Label kinds that :func:`add_labels` refuses (``events`` belongs to EMG recordings)."""

_KIND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _check_kind(kind: str, *, writing: bool) -> str:
    if not isinstance(kind, str) or not _KIND.match(kind) or ".." in kind:
        raise ValueError(
            f"invalid label kind {kind!r}: use letters, digits, '_', '-' or '.' "
            "(it becomes a folder name)"
        )
    if writing and kind in RESERVED_KINDS:
        raise ValueError(
            f"label kind {kind!r} is reserved for EMG label events "
            "(moveo.emg recordings); choose another kind name such as 'behavior'"
        )
    return kind


def _labels_path(ds: Any, kind: str, group: str, sequence: str) -> Path:
    return Path(ds.labels_root) / kind / group / f"{sequence}.parquet"


def _read_source(source: Any, *, source_name: str) -> pl.DataFrame:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"labels file {path} does not exist")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return pl.read_csv(path)
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as archive:
                    data = {key: archive[key] for key in archive.files}
            except ValueError as exc:
                if "Object arrays" not in str(exc):
                    raise
                raise ValueError(
                    f"labels file {path} holds object arrays, which are not loaded (they "
                    "need pickle); save string columns as unicode arrays, e.g. "
                    "np.asarray(labels, dtype=str)"
                ) from exc
            bad = [k for k, v in data.items() if v.ndim != 1]
            if bad:
                raise ValueError(
                    f"labels file {path}: arrays {bad} are not 1-D; an npz of labels holds "
                    "one 1-D array per column (id, frame, label, optionally group, sequence)"
                )
            lengths = {k: len(v) for k, v in data.items()}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"labels file {path}: arrays differ in length: {lengths}")
            return pl.DataFrame(
                {k: v.tolist() if v.dtype.kind == "U" else v for k, v in data.items()}
            )
        raise ValueError(
            f"labels file {path} has unsupported extension {suffix!r}; use .csv, .parquet or .npz"
        )
    return to_polars(source, source=source_name)


def add_labels(
    ds: Any,
    kind: str,
    table_or_path: Any,
    *,
    group: str | None = None,
    sequence: str | None = None,
    label_col: str = "label",
    overwrite: bool = False,
) -> list[tuple[str, str]]:
    """Ingest frame-level labels, validated against the tracks.

    Everything is validated before anything is written: a failed ingest
    leaves the dataset as it was.

    Parameters
    ----------
    ds : moveo.Dataset
        The dataset the labels belong to.
    kind : str
        Annotation set name (folder under ``labels/``); ``"events"`` is reserved.
    table_or_path : table or str or Path
        A polars/pandas/pyarrow table or dict of columns, or a ``.csv``,
        ``.parquet`` or ``.npz`` file (npz: one 1-D array per column). Columns:
        the dataset's group and sequence columns (unless ``group``/``sequence``
        are given), id (optional when every entry has a single individual),
        frame and ``label_col``. Rows with a null label are dropped.
    group, sequence : str, optional
        Entry names for tables without group/sequence columns.
    label_col : str, default "label"
        Column holding the label (stored as ``label``).
    overwrite : bool, default False
        Replace existing labels of the same kind for these entries.

    Returns
    -------
    list of (str, str)
        The entries written, sorted.

    Raises
    ------
    ValueError
        Missing columns, unknown entries or individuals, frames outside the
        track, duplicate (id, frame) rows, or a reserved/invalid kind.
    TypeError
        A label column that is neither string nor integer.
    FileExistsError
        Labels exist for an entry and ``overwrite`` is False.
    """
    _check_kind(kind, writing=True)
    src = str(table_or_path) if isinstance(table_or_path, str | Path) else "labels table"
    df = _read_source(table_or_path, source_name=src)
    c = ds.columns
    if df.height == 0:
        raise ValueError(f"{src}: the labels table is empty")
    if label_col not in df.columns:
        raise ValueError(
            f"{src}: no label column {label_col!r} (columns: {df.columns}); "
            "pass label_col= to name it"
        )
    if c.frame_col not in df.columns:
        raise ValueError(f"{src}: no frame column {c.frame_col!r} (columns: {df.columns})")
    for col, value in ((c.group_col, group), (c.seq_col, sequence)):
        if value is not None:
            df = df.with_columns(pl.lit(str(value), dtype=pl.String).alias(col))
        elif col not in df.columns:
            raise ValueError(
                f"{src}: no {col!r} column; add it or pass "
                f"{'group' if col == c.group_col else 'sequence'}= for a single entry"
            )
    label_dtype = df.schema[label_col]
    if label_dtype.is_integer():
        label_expr = pl.col(label_col).cast(pl.Int64)
    elif label_dtype == pl.String or isinstance(label_dtype, pl.Categorical | pl.Enum):
        label_expr = pl.col(label_col).cast(pl.String)
    else:
        raise TypeError(
            f"{src}: label column {label_col!r} has dtype {label_dtype}; use class names "
            "(strings) or class indices (integers)"
        )
    has_id = c.id_col in df.columns
    df = df.filter(pl.col(label_col).is_not_null()).select(
        pl.col(c.group_col).cast(pl.String),
        pl.col(c.seq_col).cast(pl.String),
        *([pl.col(c.id_col)] if has_id else []),
        pl.col(c.frame_col),
        label_expr.alias("label"),
    )
    for col in [c.frame_col] + ([c.id_col] if has_id else []):
        if not df.schema[col].is_integer():
            raise TypeError(f"{src}: column {col!r} must hold integers, got {df.schema[col]}")
    written: dict[tuple[str, str], pl.DataFrame] = {}
    known = set(ds.entries())
    for (g, s), part in sorted(df.partition_by([c.group_col, c.seq_col], as_dict=True).items()):
        g = validate_entry_name("group", g)
        s = validate_entry_name("sequence", s)
        if (g, s) not in known:
            raise ValueError(
                f"{src}: labels refer to entry (group={g!r}, sequence={s!r}), which has no "
                f"tracks in {ds.root}; ingest its tracks first or fix the names"
            )
        tracks = ds.read(g, s, columns=[c.id_col, c.frame_col])
        if not has_id:
            ids = tracks[c.id_col].unique()
            if len(ids) != 1:
                raise ValueError(
                    f"{src}: no {c.id_col!r} column, but entry ({g!r}, {s!r}) has "
                    f"{len(ids)} individuals; add the id of each labelled row"
                )
            part = part.with_columns(pl.lit(ids[0], dtype=pl.Int64).alias(c.id_col))
        part = part.select(
            pl.col(c.id_col).cast(pl.Int64), pl.col(c.frame_col).cast(pl.Int64), "label"
        ).sort(c.id_col, c.frame_col)
        dup = part.filter(pl.struct(c.id_col, c.frame_col).is_duplicated())
        if dup.height:
            rows = dup.select(c.id_col, c.frame_col).unique().head(5).rows()
            raise ValueError(
                f"{src}: entry ({g!r}, {s!r}) has {dup.height} rows with a duplicate "
                f"({c.id_col}, {c.frame_col}), e.g. {rows}; keep one label per frame"
            )
        bad = part.join(
            tracks.select(pl.col(c.id_col).cast(pl.Int64), pl.col(c.frame_col).cast(pl.Int64)),
            on=[c.id_col, c.frame_col],
            how="anti",
        )
        if bad.height:
            unknown_ids = sorted(set(bad[c.id_col].to_list()) - set(tracks[c.id_col].to_list()))
            span = tracks.group_by(c.id_col).agg(
                pl.col(c.frame_col).min().alias("first"), pl.col(c.frame_col).max().alias("last")
            )
            spans = {i: (a, b) for i, a, b in span.sort(c.id_col).rows()}
            what = (
                f"individuals {unknown_ids[:5]} are not in the tracks"
                if unknown_ids
                else f"frames outside the track, e.g. {bad.head(5).rows()[:5]} "
                f"(id, frame, label); track frame ranges per id: "
                f"{dict(list(spans.items())[:5])}"
            )
            raise ValueError(
                f"{src}: entry ({g!r}, {s!r}) has {bad.height} labelled rows with no "
                f"matching track row: {what}. Fix the labels or the tracks before ingesting"
            )
        path = _labels_path(ds, kind, g, s)
        if path.exists() and not overwrite:
            raise FileExistsError(
                f"labels of kind {kind!r} already exist for ({g!r}, {s!r}) at {path}; "
                "pass overwrite=True to replace them"
            )
        written[(g, s)] = part
    dtypes = {str(p.schema["label"]) for p in written.values()}
    if len(dtypes) > 1:
        raise TypeError(f"{src}: label dtypes differ between entries: {sorted(dtypes)}")
    for (g, s), part in written.items():
        atomic_write_parquet(part, _labels_path(ds, kind, g, s))
    return sorted(written)


def read_labels(ds: Any, kind: str, group: str, sequence: str) -> pl.DataFrame:
    """Read the labels of one entry.

    Parameters
    ----------
    ds : moveo.Dataset
    kind : str
        Annotation set name.
    group, sequence : str
        The entry.

    Returns
    -------
    polars.DataFrame
        Columns id (Int64), frame (Int64), label (String or Int64), sorted by
        (id, frame).

    Raises
    ------
    KeyError
        If the entry has no labels of that kind (the message lists the labelled
        entries).
    """
    _check_kind(kind, writing=False)
    path = _labels_path(ds, kind, group, sequence)
    if not path.exists():
        have = labeled_entries(ds, kind)
        raise KeyError(
            f"no labels of kind {kind!r} for (group={group!r}, sequence={sequence!r}); "
            f"labelled entries: {have[:10]}{' ...' if len(have) > 10 else ''}"
        )
    return pl.read_parquet(path)


def label_kinds(ds: Any) -> list[str]:
    """Return the label kinds present in the dataset, sorted.

    Parameters
    ----------
    ds : moveo.Dataset

    Returns
    -------
    list of str
    """
    root = Path(ds.labels_root)
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def labeled_entries(ds: Any, kind: str) -> list[tuple[str, str]]:
    """Return the entries that have labels of ``kind``, sorted.

    Parameters
    ----------
    ds : moveo.Dataset
    kind : str

    Returns
    -------
    list of (str, str)
    """
    root = Path(ds.labels_root) / _check_kind(kind, writing=False)
    if not root.exists():
        return []
    return sorted(
        (g.name, f.stem)
        for g in root.iterdir()
        if g.is_dir() and not g.name.startswith(".")
        for f in g.glob("*.parquet")
        if not f.name.startswith(".")
    )


def remove_labels(ds: Any, kind: str, entries: Iterable[tuple[str, str]] | None = None) -> int:
    """Delete labels of ``kind`` (all entries, or the given ones).

    Parameters
    ----------
    ds : moveo.Dataset
    kind : str
    entries : iterable of (group, sequence), optional

    Returns
    -------
    int
        Number of files removed.
    """
    _check_kind(kind, writing=True)
    keys = labeled_entries(ds, kind) if entries is None else list(entries)
    n = 0
    for g, s in keys:
        path = _labels_path(ds, kind, g, s)
        if path.exists():
            path.unlink()
            n += 1
    return n


def labels_lookup(
    ds: Any,
    kind: str,
    entries: Iterable[tuple[str, str]] | None = None,
    *,
    pattern: str | None = None,
) -> dict[tuple[str, str], Path]:
    """Return the labels file of every labelled entry of ``kind``.

    This is what a feature with a :class:`moveo.contract.LabelsSource` parameter
    receives in ``dependency_lookups``.

    Parameters
    ----------
    ds : moveo.Dataset
    kind : str
        Annotation set name.
    entries : iterable of (group, sequence), optional
        Restrict to these entries (default: every labelled entry).
    pattern : str, optional
        File name within ``labels/<kind>/<group>/``, with ``{group}`` and
        ``{sequence}`` placeholders (default ``"{sequence}.parquet"``).

    Returns
    -------
    dict
        ``{(group, sequence): Path}`` of the entries whose file exists, sorted.

    Raises
    ------
    ValueError
        An invalid kind, or a pattern that would name a file outside the entry's
        folder.
    """
    _check_kind(kind, writing=False)
    keys = labeled_entries(ds, kind) if entries is None else sorted(set(entries))
    out: dict[tuple[str, str], Path] = {}
    for g, s in keys:
        if pattern is None:
            path = _labels_path(ds, kind, g, s)
        else:
            name = pattern.format(group=g, sequence=s)
            validate_entry_name("labels file", name)
            path = Path(ds.labels_root) / kind / g / name
        if path.is_file():
            out[(g, s)] = path
    return out


def labels_fingerprint(ds: Any, kind: str, entries: Iterable[tuple[str, str]] | None = None) -> str:
    """Return a content hash of the labels of ``kind`` (for run identities).

    Parameters
    ----------
    ds : moveo.Dataset
    kind : str
    entries : iterable of (group, sequence), optional
        Restrict to these entries (default: all labelled entries).

    Returns
    -------
    str
        16 hex digits; changes whenever a label file's content changes.
    """
    keys = labeled_entries(ds, kind) if entries is None else sorted(entries)
    h = hashlib.sha256(kind.encode())
    for g, s in keys:
        path = _labels_path(ds, kind, g, s)
        h.update(f"\0{g}\0{s}\0".encode())
        if path.exists():
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------- id tags

_TAG_RESERVED = ("group", "sequence", "frame")


def add_id_tags(
    ds: Any,
    table_or_path: Any,
    *,
    kind: str = "id_tags",
    group: str | None = None,
    sequence: str | None = None,
    overwrite: bool = False,
) -> list[tuple[str, str]]:
    """Ingest per-individual tags (mosaic's ``id_tags``), validated against the tracks.

    Parameters
    ----------
    ds : moveo.Dataset
        The dataset.
    table_or_path : table or str or Path
        One row per (group, sequence, id) with one column per tag field (any
        dtype: bool, string, number), or a ``.csv`` / ``.parquet`` / ``.npz`` file of
        that. mosaic's "focal" CSV becomes such a table with a Boolean
        ``focal`` column.
    kind : str, default "id_tags"
        Label kind (folder under ``labels/``).
    group, sequence : str, optional
        Entry names for a table without group/sequence columns.
    overwrite : bool, default False
        Replace existing tags of this kind for these entries.

    Returns
    -------
    list of (str, str)
        The entries written, sorted.

    Raises
    ------
    ValueError
        No id column or no tag field, a duplicate id, an unknown entry or an id
        that is not in the entry's tracks.
    FileExistsError
        Tags exist for an entry and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile
    >>> import polars as pl
    >>> from moveo import Dataset
    >>> ds = Dataset.create(tempfile.mkdtemp() + "/ds", fps=30.0)
    >>> _ = ds.add_tracks(pl.DataFrame({"group": "g", "sequence": "s", "id": [0, 1],
    ...                                 "frame": [0, 0], "X": [0.0, 1.0], "Y": [0.0, 0.0]}))
    >>> add_id_tags(ds, pl.DataFrame({"group": "g", "sequence": "s", "id": [0],
    ...                               "focal": [True]}))
    [('g', 's')]
    >>> read_id_tags(ds, "id_tags", "g", "s").rows()
    [(0, True)]
    """
    _check_kind(kind, writing=True)
    src = str(table_or_path) if isinstance(table_or_path, str | Path) else "id tags table"
    df = _read_source(table_or_path, source_name=src)
    c = ds.columns
    if df.height == 0:
        raise ValueError(f"{src}: the id tags table is empty")
    if c.id_col not in df.columns:
        raise ValueError(f"{src}: no {c.id_col!r} column (columns: {df.columns})")
    for col, value in ((c.group_col, group), (c.seq_col, sequence)):
        if value is not None:
            df = df.with_columns(pl.lit(str(value), dtype=pl.String).alias(col))
        elif col not in df.columns:
            raise ValueError(
                f"{src}: no {col!r} column; add it or pass "
                f"{'group' if col == c.group_col else 'sequence'}= for a single entry"
            )
    if not df.schema[c.id_col].is_integer():
        raise TypeError(f"{src}: column {c.id_col!r} must hold integers")
    fields = [
        col
        for col in df.columns
        if col not in (c.group_col, c.seq_col, c.id_col, c.frame_col, *_TAG_RESERVED)
    ]
    if not fields:
        raise ValueError(f"{src}: no tag fields besides group, sequence and id")
    known = set(ds.entries())
    written: dict[tuple[str, str], pl.DataFrame] = {}
    parts = df.partition_by([c.group_col, c.seq_col], as_dict=True)
    for (g, s), part in sorted(parts.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        g = validate_entry_name("group", g)
        s = validate_entry_name("sequence", s)
        if (g, s) not in known:
            raise ValueError(
                f"{src}: id tags refer to entry (group={g!r}, sequence={s!r}), which has no "
                f"tracks in {ds.root}"
            )
        part = part.select(pl.col(c.id_col).cast(pl.Int64).alias("id"), *fields).sort("id")
        dup = part.filter(pl.col("id").is_duplicated())["id"].unique().to_list()
        if dup:
            raise ValueError(f"{src}: entry ({g!r}, {s!r}) tags ids {dup} more than once")
        ids = set(ds.read(g, s, columns=[c.id_col])[c.id_col].unique().to_list())
        unknown = sorted(set(part["id"].to_list()) - ids)
        if unknown:
            raise ValueError(
                f"{src}: entry ({g!r}, {s!r}) has no individuals {unknown[:5]} in its tracks "
                f"(ids: {sorted(ids)[:10]})"
            )
        path = _labels_path(ds, kind, g, s)
        if path.exists() and not overwrite:
            raise FileExistsError(
                f"id tags of kind {kind!r} already exist for ({g!r}, {s!r}) at {path}; "
                "pass overwrite=True to replace them"
            )
        written[(g, s)] = part
    for (g, s), part in written.items():
        atomic_write_parquet(part, _labels_path(ds, kind, g, s))
    return sorted(written)


def read_id_tags(ds: Any, kind: str, group: str, sequence: str) -> pl.DataFrame:
    """Read the per-individual tags of one entry.

    Parameters
    ----------
    ds : moveo.Dataset or str or Path
        The dataset, or its ``labels/`` folder.
    kind : str
        Label kind, e.g. ``"id_tags"``.
    group, sequence : str
        The entry.

    Returns
    -------
    polars.DataFrame
        ``id`` (Int64) and one column per tag field, sorted by id.

    Raises
    ------
    KeyError
        If the entry has no tags of that kind.
    """
    _check_kind(kind, writing=False)
    root = Path(ds) if isinstance(ds, str | Path) else Path(ds.labels_root)
    path = root / kind / group / f"{sequence}.parquet"
    if not path.exists():
        raise KeyError(
            f"no id tags of kind {kind!r} for (group={group!r}, sequence={sequence!r}) "
            f"under {root}; add them with moveo.labels.add_id_tags"
        )
    return pl.read_parquet(path)
