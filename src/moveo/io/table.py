"""Generic CSV / parquet reader with a column mapping."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from moveo.schema import COLUMNS, Columns, validate_entry_name

__all__ = ["read_table"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    group: str | None = None,
    sequence: str | None = None,
    format: str | None = None,
    columns: Columns | None = None,
) -> pl.DataFrame:
    """Read a CSV/TSV/parquet table and rename its columns to moveo's names.

    Parameters
    ----------
    path : str or Path
        The file.
    mapping : mapping of str to str, optional
        ``{column in the file: moveo column}``, e.g. ``{"track_id": "id",
        "x_px": "X"}``. Columns not mentioned keep their names.
    group, sequence : str, optional
        Add constant group / sequence columns (for files holding one entry).
    format : {"csv", "tsv", "parquet"}, optional
        File format; inferred from the suffix when omitted.
    columns : Columns, optional
        moveo column names (default :data:`moveo.schema.COLUMNS`).

    Returns
    -------
    polars.DataFrame

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Unknown format, an empty file, or a mapping naming a column the file lacks.
    """
    columns = columns or COLUMNS
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    fmt = format or _FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "tsv", "parquet"):
        raise ValueError(
            f"{path}: cannot tell the format from suffix {path.suffix!r}; pass "
            "format='csv', 'tsv' or 'parquet'"
        )
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty")
    if fmt == "parquet":
        df = pl.read_parquet(path)
    else:
        try:
            df = pl.read_csv(path, separator="\t" if fmt == "tsv" else ",")
        except pl.exceptions.NoDataError as exc:
            raise ValueError(f"{path}: the file is empty") from exc
    if mapping:
        missing = [src for src in mapping if src not in df.columns]
        if missing:
            raise ValueError(
                f"{path}: mapping names column(s) {missing} that the file does not have; "
                f"the file has {df.columns}"
            )
        df = df.rename(dict(mapping))
    extra = []
    if group is not None:
        extra.append(pl.lit(validate_entry_name("group", group)).alias(columns.group_col))
    if sequence is not None:
        extra.append(pl.lit(validate_entry_name("sequence", sequence)).alias(columns.seq_col))
    if extra:
        df = df.with_columns(extra)
    return df
