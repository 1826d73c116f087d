"""Feature ``id-tag-columns``: per-individual tags (mosaic's ``id_tags``) on every frame.

Tags are stored per entry with :func:`moveo.labels.add_id_tags` (one row per
individual: ``focal``, ``sex``, ``size``, ...). For every input row the feature
emits the key columns (``time`` when present) and one column per tag field,
the tag of the row's individual -- null for an individual without tags -- so
that other features can group or filter by them (mosaic's focal/non-focal
categories). Parameters as mosaic-behavior 0.17: ``labels`` (a
:class:`~moveo.contract.LabelsSource`, ``{"kind": "id_tags"}``), ``label_kind``
(kept in sync with ``labels.kind``), ``fields`` and ``field_renames``.

The tags are an input of the run: an entry whose tags change is recomputed
(its fingerprint includes the tags file).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import Field, model_validator

from moveo.contract import Inputs, LabelsSource, Params, Result, TrackInput
from moveo.features.base import BaseFeature
from moveo.labels import read_id_tags

__all__ = ["IdTagColumns"]


class IdTagColumns(BaseFeature):
    """Attach the per-individual tags of ``labels/<label_kind>`` to each row.

    Parameters
    ----------
    params : dict or IdTagColumns.Params, optional
    inputs : Inputs, optional
        Default: the tracks; any per-(id, frame) table works.
    columns, pose : optional
        Column conventions.

    Notes
    -----
    Outside a pipeline, call :meth:`bind` with the dataset before :meth:`apply`.
    """

    name: ClassVar[str] = "id-tag-columns"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`IdTagColumns` (mosaic's names and defaults).

        Attributes
        ----------
        labels : LabelsSource
            The labels read (default kind ``"id_tags"``); ``label_kind``
            overwrites its kind when the two differ, as in mosaic.
        label_kind : str
            The ``labels/<kind>`` folder read. Default ``"id_tags"``.
        fields : list of str or None
            Tag fields to attach; ``None``: every field of the entry's tags.
        field_renames : dict or None
            Output name per original field name.
        """

        labels: LabelsSource = Field(default_factory=lambda: LabelsSource(kind="id_tags"))
        label_kind: str = "id_tags"
        fields: list[str] | None = Field(default=None, min_length=1)
        field_renames: dict[str, str] | None = None

        @model_validator(mode="after")
        def _sync_kind(self) -> IdTagColumns.Params:
            if self.labels.kind != self.label_kind:
                object.__setattr__(self, "labels", LabelsSource(kind=self.label_kind))
            return self

    class Inputs(Inputs[TrackInput | Result]):
        """The tracks or an upstream per-(id, frame) output."""

    def __init__(self, params: Any = None, inputs: Any = None, **kwargs: Any) -> None:
        super().__init__(params, inputs, **kwargs)
        self.labels_root: Path | None = None

    def bind(self, ds: Any) -> IdTagColumns:
        """Read the tags of ``ds`` (what the pipeline does in :meth:`load_state`).

        Returns
        -------
        IdTagColumns
            ``self``.
        """
        self.labels_root = Path(ds.labels_root)
        return self

    def load_state(
        self,
        run_root: Path,
        artifact_paths: Mapping[str, Path] | None = None,
        dependency_lookups: Mapping[str, Any] | None = None,
    ) -> bool:
        """Take the labels folder the pipeline resolved; nothing to fit.

        Returns
        -------
        bool
            ``True``.
        """
        folder = (dependency_lookups or {}).get(f"labels/{self.params.labels.kind}")
        if folder is not None:
            self.labels_root = Path(folder).parent
        return True

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Attach the tags to one entry.

        Returns
        -------
        polars.DataFrame
            Key columns (``time`` when present), then one column per tag field;
            one row per input row, in input order.

        Raises
        ------
        ValueError
            No tags for the entry, an unknown field, or no group/sequence columns.
        """
        p = self.params
        c = self.columns
        if self.labels_root is None:
            raise ValueError(
                f"{self.name}: not bound to a dataset; run it with run_feature, or call "
                "feature.bind(ds) first"
            )
        for col in (c.group_col, c.seq_col, c.id_col):
            if col not in df.columns:
                raise ValueError(f"{self.name}: the input has no {col!r} column")
        if df.height == 0:
            keys = [k for k in c.key_cols() if k in df.columns]
            return df.select(keys)
        g, s = str(df[c.group_col][0]), str(df[c.seq_col][0])
        try:
            tags = read_id_tags(self.labels_root, p.labels.kind, g, s)
        except KeyError as err:
            raise ValueError(
                f"{self.name}: no {p.labels.kind!r} labels for (group={g!r}, sequence={s!r}); "
                "add them with moveo.labels.add_id_tags"
            ) from err
        available = [f for f in tags.columns if f != "id"]
        fields = available if p.fields is None else list(p.fields)
        missing = [f for f in fields if f not in available]
        if missing:
            raise ValueError(
                f"{self.name}: the {p.labels.kind!r} labels of ({g!r}, {s!r}) have no field(s) "
                f"{missing}; fields: {available}"
            )
        renames = dict(p.field_renames or {})
        keys = [k for k in c.key_cols() if k in df.columns]
        extra = [c.time_col] if c.time_col in df.columns else []
        table = tags.select(
            pl.col("id").alias("__tag_id"), *[pl.col(f).alias(renames.get(f, f)) for f in fields]
        )
        out = df.select(keys + extra).join(
            table,
            left_on=pl.col(c.id_col).cast(pl.Int64),
            right_on="__tag_id",
            how="left",
            maintain_order="left",
        )
        return out.drop("__tag_id", strict=False)
