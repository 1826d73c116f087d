"""Slow, obvious references for the readers: the long table built row by row.

Each function takes what the tool's own library holds in memory (a pandas wide
DataFrame for DeepLabCut, a dense array for idtracker.ai / CalMS21) and builds
moveo's long table with plain Python loops, one row per (individual, frame), in
the documented column order. Readers are compared against these.
"""

from __future__ import annotations

import math

import polars as pl


def _centroid(points):
    finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return math.nan, math.nan
    return sum(p[0] for p in finite) / len(finite), sum(p[1] for p in finite) / len(finite)


def long_rows(frames, individuals, bodyparts, get, *, group, sequence, ids=None,
              with_confidence=True, with_pose=True):
    """Build the table from ``get(individual_index, frame_index, bodypart_index)``.

    ``get`` returns ``(x, y, p)`` (NaN for missing). Rows are id-major.
    """
    ids = list(range(len(individuals))) if ids is None else list(ids)
    rows = []
    for i, name in enumerate(individuals):
        for f_pos, frame in enumerate(frames):
            pts = [get(i, f_pos, k) for k in range(len(bodyparts))]
            cx, cy = _centroid([(p[0], p[1]) for p in pts])
            row = {"group": group, "sequence": sequence, "id": ids[i], "individual": name,
                   "frame": int(frame), "X": cx, "Y": cy}
            if with_pose:
                for k, (x, y, p) in enumerate(pts):
                    row[f"poseX{k}"] = float(x)
                    row[f"poseY{k}"] = float(y)
                    if with_confidence:
                        row[f"poseP{k}"] = float(p)
            rows.append(row)
    return pl.DataFrame(rows).sort(["id", "frame"], maintain_order=True)


def dlc_long(df, *, group, sequence, likelihood_threshold=None):
    """moveo's table from a DeepLabCut pandas DataFrame (MultiIndex columns)."""
    names = list(df.columns.names)
    multi = "individuals" in names
    individuals, bodyparts = [], []
    cells = {}
    for col in df.columns:
        if multi:
            _, ind, bp, co = col
        else:
            _, bp, co = col
            ind = "animal0"
        if ind not in individuals:
            individuals.append(ind)
        if bp not in bodyparts:
            bodyparts.append(bp)
        cells[(ind, bp, co)] = [float(v) for v in df[col].to_numpy()]
    frames = list(df.index) if all(isinstance(v, int) for v in df.index) else list(
        range(len(df)))

    def get(i, f, k):
        key = (individuals[i], bodyparts[k])
        x = cells.get((*key, "x"), [math.nan] * len(df))[f]
        y = cells.get((*key, "y"), [math.nan] * len(df))[f]
        p = cells.get((*key, "likelihood"), [math.nan] * len(df))[f]
        if likelihood_threshold is not None and not p >= likelihood_threshold:
            x = y = math.nan
        return x, y, p

    return long_rows(frames, individuals, bodyparts, get, group=group, sequence=sequence)
