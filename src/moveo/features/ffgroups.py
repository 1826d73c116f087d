"""Features ``ffgroups`` and ``ffgroups-metrics``: fission-fusion groups.

``ffgroups`` labels, per frame, the connected components of the "closer than
``distance_cutoff``" graph (distances averaged over ``window_size`` frames) and
the stable subgroups (events) they form over time; see
:mod:`moveo.kernels.groups`. ``ffgroups-metrics`` summarises, per individual
and group size, how an individual spends its time in groups.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from moveo.contract import InputItemLike, Inputs, Params
from moveo.features._frame import FrameFeature, filter_rows, frame_groups
from moveo.features._tracking import TrackingFeature
from moveo.kernels.groups import ffgroups, periphery

__all__ = ["FFGroups", "FFGroupsMetrics"]


class FFGroups(TrackingFeature):
    """Fission-fusion group membership, group size and stable-subgroup events.

    One row per input row: ``group_membership`` (Int32, the frame's component
    label: the rank of the component's union-find root, as mosaic numbers them),
    ``group_size`` (Int32, individuals in that component) and ``event`` (Int64,
    the stable subgroup the row belongs to, -1 outside events).

    Per sequence, every individual of the sequence takes part in every frame
    (an individual without a row or with a NaN position at a frame is absent
    there; the window average can still link it through its neighbouring
    frames, and it counts in ``group_size``). Two individuals are linked when
    their distance, averaged over the ``window_size`` frames centred on the
    frame (the frames at which both are present), is below ``distance_cutoff``;
    a group is a connected component of the links. An event is a maximal run
    of frames in which one exact set of individuals forms a group, lasting at
    least ``min_event_duration`` frames (last minus first), within a run of
    consecutive frame numbers; events are numbered by (run of frames, member
    ids, first frame).

    Parameters
    ----------
    params : dict or FFGroups.Params, optional
        ``distance_cutoff``, ``window_size``, ``min_event_duration``.
    inputs : Inputs, optional
        Default: the tracks.
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 0, 1, 1, 2, 2], "frame": [0, 1] * 3,
    ...                    "X": [0.0, 0.0, 10.0, 10.0, 200.0, 200.0], "Y": [0.0] * 6})
    >>> FFGroups().apply(df).select("id", "frame", "group_size", "event").rows()
    [(0, 0, 2, 0), (0, 1, 2, 0), (1, 0, 2, 0), (1, 1, 2, 0), (2, 0, 1, 1), (2, 1, 1, 1)]
    """

    name: ClassVar[str] = "ffgroups"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`FFGroups` (mosaic's names and defaults).

        Attributes
        ----------
        distance_cutoff : float
            Link distance (position units); a mean distance below it links.
        window_size : int
            Odd number of frames the pairwise distance is averaged over.
        min_event_duration : int
            Fewest frames (last minus first) of a stable subgroup event.
        """

        distance_cutoff: float = Field(default=50.0, gt=0, allow_inf_nan=False)
        window_size: int = Field(default=5, ge=1)
        min_event_duration: int = Field(default=1, ge=1)

        @field_validator("window_size")
        @classmethod
        def _odd(cls, v: int) -> int:
            if v % 2 == 0:
                raise ValueError(f"window_size must be an odd integer, got {v}")
            return v

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Compute one entry's groups.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry: id, frame, X, Y.

        Returns
        -------
        polars.DataFrame
            One row per input row, in input order: group, sequence (if
            present), id, frame, group_membership, group_size, event.
        """
        p = self.params
        c = self.columns
        t = self.table(df)
        t.require([c.x_col, c.y_col], "the tracks (positions)")
        x, y = t.floats(c.x_col), t.floats(c.y_col)
        out = {
            "group_membership": np.empty(t.n, dtype=np.int32),
            "group_size": np.empty(t.n, dtype=np.int32),
            "event": np.empty(t.n, dtype=np.int64),
        }
        blocks: list[Any] = [slice(None)] if t.blocks is None else [
            np.flatnonzero(t.blocks == b) for b in np.unique(t.blocks)
        ]  # fmt: skip
        for rows in blocks:
            res = ffgroups(
                x[rows], y[rows], t.ids[rows], t.frames[rows],
                distance_cutoff=p.distance_cutoff, window_size=p.window_size,
                min_event_duration=p.min_event_duration,
            )  # fmt: skip
            for name, v in res.items():
                out[name][rows] = v
        return t.output(out)


class FFGroupsMetrics(FrameFeature):
    """Per-individual summary of time spent in groups, by group size.

    One row per (chunk, individual, group size), keyed by ``group``,
    ``sequence``, ``id``, ``chunk_id``, ``group_size``:

    - ``fractime_norm2``: fraction of the individual's rows (of the chunk) at
      this group size;
    - ``avg_duration_frame`` / ``med_duration_frame``: mean / median length
      (last minus first frame, plus one) of its runs of consecutive rows at
      this group size;
    - ``ftime_periphery``: fraction of those rows in which it is the farthest
      from the centroid of its group (the rows of its frame and ``group_col``
      value, e.g. ffgroups' ``event``; its distance rank, ties counted at the
      highest rank, equals ``group_size``); ``ftime_periphery_norm`` is that
      fraction times ``group_size``;
    - ``chunk_id``, ``chunk_start_frame``, ``chunk_end_frame``,
      ``chunk_start_time``, ``chunk_end_time``: the chunk (whole sequence by
      default: first and last frame and time; with ``frame_chunk``: chunks of
      that many frames, end exclusive; with ``time_chunk_sec`` and a time
      column: chunks of that many seconds, start and end times of the chunk).

    Without a ``group_size`` column the group size of a row is the number of
    rows of its frame. ``speed_col`` and ``centroid_heading_col`` are accepted
    for compatibility with mosaic, where they only feed internal per-frame
    columns that are never emitted: they do not change any output.

    Parameters
    ----------
    params : dict or FFGroupsMetrics.Params, optional
    inputs : Inputs or tuple, optional
        Default: the tracks; usually ``("tracks", ffgroups_result)``.
    columns, pose : optional
        Column conventions.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [0, 1, 0, 1], "frame": [0, 0, 1, 1],
    ...                    "X": [0.0, 2.0, 0.0, 3.0], "Y": [0.0] * 4,
    ...                    "group_size": [2, 2, 1, 1], "event": [0, 0, -1, -1]})
    >>> FFGroupsMetrics().apply(df).select("id", "group_size", "fractime_norm2").rows()
    [(0, 1, 0.5), (0, 2, 0.5), (1, 1, 0.5), (1, 2, 0.5)]
    """

    name: ClassVar[str] = "ffgroups-metrics"
    version: ClassVar[str] = "0.1"

    class Params(Params):
        """Parameters of :class:`FFGroupsMetrics` (mosaic's names and defaults).

        Attributes
        ----------
        group_col : str
            Column of the groups whose centroid defines the periphery (used
            when present).
        speed_col : str
            Accepted for compatibility (no output depends on it).
        time_chunk_sec : float or None
            Summarise chunks of this many seconds (needs a time column; wins
            over ``frame_chunk``).
        frame_chunk : int or None
            Summarise chunks of this many frames.
        centroid_heading_col : str
            Accepted for compatibility (no output depends on it).
        exclude_cols : list of str
            Boolean columns whose truthy rows are dropped first.
        """

        group_col: str = "event"
        speed_col: str = "speed"
        time_chunk_sec: float | None = Field(default=None, gt=0)
        frame_chunk: int | None = Field(default=None, ge=1)
        centroid_heading_col: str = "centroid_heading"
        exclude_cols: list[str] = Field(default_factory=list)

    class Inputs(Inputs[InputItemLike]):
        """``"tracks"`` and/or upstream results (joined on the row keys)."""

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Summarise one entry.

        Parameters
        ----------
        df : polars.DataFrame
            Tracks of one entry joined with ffgroups (id, frame, X, Y,
            group_size, event).

        Returns
        -------
        polars.DataFrame
            One row per (chunk, id, group size), sorted by chunk, id, group size.
        """
        p = self.params
        c = self.columns
        t0 = self.table(df)
        t0.require([c.x_col, c.y_col], "the tracks (positions)")
        df = filter_rows(df, None, p.exclude_cols, who=self.name)
        if df.height == 0:
            return self._empty(df)
        if "group_size" not in df.columns:
            size = (
                pl.col(c.id_col)
                .count()
                .over(
                    [col for col in (c.group_col, c.seq_col) if col in df.columns] + [c.frame_col]
                )
            )
            df = df.with_columns(size.cast(pl.Int64).alias("group_size"))  # fmt: skip
        parts = []
        for chunk_id, sub, meta in self._chunks(df):
            parts.append(self._summary(sub).with_columns(
                pl.lit(chunk_id, dtype=pl.Int64).alias("chunk_id"),
                pl.lit(meta["start_frame"], dtype=pl.Int64).alias("chunk_start_frame"),
                pl.lit(meta["end_frame"], dtype=pl.Int64).alias("chunk_end_frame"),
                pl.lit(meta["start_time"], dtype=pl.Float64).alias("chunk_start_time"),
                pl.lit(meta["end_time"], dtype=pl.Float64).alias("chunk_end_time"),
            ))  # fmt: skip
        return pl.concat(parts) if parts else self._empty(df)

    def _empty(self, df: pl.DataFrame) -> pl.DataFrame:
        c = self.columns
        keys = [col for col in (c.group_col, c.seq_col) if col in df.columns]
        schema = {k: df.schema[k] for k in keys} | {c.id_col: pl.Int64, "group_size": pl.Int64}
        schema |= dict.fromkeys(_FFM_FLOATS, pl.Float64)
        schema |= {"chunk_id": pl.Int64, "chunk_start_frame": pl.Int64,
                   "chunk_end_frame": pl.Int64, "chunk_start_time": pl.Float64,
                   "chunk_end_time": pl.Float64}  # fmt: skip
        return pl.DataFrame(schema=schema)

    def _chunks(self, df: pl.DataFrame):
        p = self.params
        c = self.columns
        df = df.sort(c.frame_col, maintain_order=True)
        has_time = c.time_col in df.columns
        frames = df[c.frame_col]
        if p.time_chunk_sec and has_time:
            time = df[c.time_col].cast(pl.Float64)
            tmin, tmax = float(time.min()), float(time.max())
            for idx, start in enumerate(np.arange(tmin, tmax + p.time_chunk_sec, p.time_chunk_sec)):
                end = start + p.time_chunk_sec
                sub = df.filter((time >= start) & (time < end))
                if sub.height:
                    yield idx, sub, {"start_time": float(start), "end_time": float(end),
                                     "start_frame": int(sub[c.frame_col][0]),
                                     "end_frame": int(sub[c.frame_col][-1])}  # fmt: skip
        elif p.frame_chunk:
            f0, f1 = int(frames.min()), int(frames.max())
            for idx, start in enumerate(range(f0, f1 + 1, p.frame_chunk)):
                end = start + p.frame_chunk
                sub = df.filter((frames >= start) & (frames < end))
                if sub.height:
                    yield idx, sub, {
                        "start_frame": start, "end_frame": end,
                        "start_time": float(sub[c.time_col][0]) if has_time else None,
                        "end_time": float(sub[c.time_col][-1]) if has_time else None,
                    }  # fmt: skip
        else:
            yield 0, df, {
                "start_frame": int(frames[0]), "end_frame": int(frames[-1]),
                "start_time": float(df[c.time_col][0]) if has_time else None,
                "end_time": float(df[c.time_col][-1]) if has_time else None,
            }  # fmt: skip

    def _summary(self, df: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        c = self.columns
        t = self.table(df)
        sub = None
        if p.group_col in df.columns:
            codes = df[p.group_col]
            if codes.dtype.is_float():
                codes = codes.fill_nan(None)
            codes = codes.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
            sub = codes if t.order is None else codes[t.order]
        groups = frame_groups(t, sub)
        size = df["group_size"].cast(pl.Int64).fill_null(-1).to_numpy()
        size = size if t.order is None else size[t.order]
        _, farthest = periphery(t.floats(c.x_col), t.floats(c.y_col), size, groups.perm,
                                groups.offsets)  # fmt: skip
        keys = [col for col in (c.group_col, c.seq_col) if col in df.columns]
        rows = df.select(
            *keys, c.id_col, c.frame_col, pl.col("group_size").cast(pl.Int64),
            pl.Series("__far", t.to_input_order(farthest)),
        )  # fmt: skip
        by = [*keys, c.id_col]
        total = rows.group_by(by).agg(pl.len().alias("__total"))
        counts = rows.group_by([*by, "group_size"]).agg(
            pl.len().alias("__n"), pl.col("__far").sum().alias("__nfar")
        )
        runs = (
            rows.sort([*by, c.frame_col])
            .with_columns(pl.struct([*by, "group_size"]).rle_id().alias("__run"))
            .group_by("__run")
            .agg(*[pl.col(k).first() for k in [*by, "group_size"]],
                 (pl.col(c.frame_col).last() - pl.col(c.frame_col).first() + 1).alias("__dur"))
            .group_by([*by, "group_size"])
            .agg(pl.col("__dur").mean().alias("avg_duration_frame"),
                 pl.col("__dur").median().alias("med_duration_frame"))
        )  # fmt: skip
        out = (
            counts.join(total, on=by)
            .join(runs, on=[*by, "group_size"])
            .sort([*by, "group_size"])
            .select(
                *by, "group_size",
                (pl.col("__n") / pl.col("__total")).alias("fractime_norm2"),
                pl.col("avg_duration_frame").cast(pl.Float64),
                pl.col("med_duration_frame").cast(pl.Float64),
                (pl.col("__nfar") / pl.col("__n")).alias("ftime_periphery"),
                (pl.col("__nfar") * pl.col("group_size") / pl.col("__n")).alias(
                    "ftime_periphery_norm"),
            )
        )  # fmt: skip
        return out


_FFM_FLOATS = ("fractime_norm2", "avg_duration_frame", "med_duration_frame", "ftime_periphery",
               "ftime_periphery_norm")  # fmt: skip
