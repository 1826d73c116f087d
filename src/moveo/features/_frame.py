"""Shared adapter code of the summary features (private).

Most tracking features return one row per input row. *Summary* features do
not: :class:`FrameFeature` subclasses return one row per frame (keyed by
group, sequence and frame: ``collective-motion-metrics``, ``frame-aggregate``)
or one row per individual (keyed by group, sequence and id:
``social-motion-summary``, ``ffgroups-metrics``). The pipeline accepts any
number of output rows (see :func:`moveo.pipeline.run.compute_entry`); with
``overlap_frames`` the rows borrowed from neighbouring sequences are trimmed by
the output's ``sequence`` column, which these features always carry.

Helpers here:

* :func:`frame_groups` -- the frame (or frame x subgroup) groups of a
  :class:`~moveo.features._tracking.TrackTable`, with the row that represents
  each group;
* :func:`filter_rows` -- mosaic's ``filter_expr`` (a pandas ``DataFrame.query``
  expression) and ``exclude_cols``, evaluated with polars (see
  :func:`query_expr` for the supported syntax).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from moveo.features._tracking import TrackTable
from moveo.features.base import BaseFeature
from moveo.kernels.neighbors import frame_order

__all__ = [
    "FrameFeature",
    "FrameGroups",
    "filter_rows",
    "frame_groups",
    "group_keys",
    "query_expr",
    "rows_by_frame",
]


class FrameFeature(BaseFeature):
    """Base of the summary features: output keyed by frame or by individual.

    The output does *not* have one row per input row: it has one row per frame
    (columns ``group``, ``sequence``, ``frame`` first) or per individual
    (``group``, ``sequence``, ``id`` first), sorted by those keys. See
    :class:`~moveo.features.base.BaseFeature` for the constructor.
    """

    def table(self, df: pl.DataFrame) -> TrackTable:
        """Validate ``df`` and prepare it for the kernels (see :class:`TrackTable`).

        Parameters
        ----------
        df : polars.DataFrame
            One entry.

        Returns
        -------
        TrackTable
        """
        return TrackTable(df, self.name, self.columns)


@dataclass(frozen=True)
class FrameGroups:
    """Rows of a table grouped by frame (and subgroup), in output order.

    Attributes
    ----------
    perm : numpy.ndarray
        int64 of shape (n_kept,): kernel rows in group order.
    offsets : numpy.ndarray
        int64 of shape (n_groups + 1,): group ``g`` is ``perm[offsets[g]:offsets[g + 1]]``.
    first : numpy.ndarray
        int64 of shape (n_groups,): a kernel row of each group (its first one).
    """

    perm: np.ndarray
    offsets: np.ndarray
    first: np.ndarray

    @property
    def n(self) -> int:
        """Number of groups."""
        return int(self.offsets.shape[0] - 1)


def frame_groups(t: TrackTable, sub: np.ndarray | None = None) -> FrameGroups:
    """Group the rows of ``t`` by (group, sequence, frame[, subgroup]).

    Parameters
    ----------
    t : TrackTable
        The prepared entry.
    sub : numpy.ndarray, optional
        int64 subgroup code per kernel row, ``0 .. n_sub - 1`` in the order the
        output should list them, negative for rows that belong to no subgroup
        (they are left out of every group).

    Returns
    -------
    FrameGroups
        Groups sorted by (group, sequence, frame, subgroup); rows of a group in
        kernel order (by individual).
    """
    frames = t.frames
    if t.n == 0:
        empty = np.empty(0, dtype=np.int64)
        return FrameGroups(empty, np.zeros(1, dtype=np.int64), empty)
    fmin = int(frames.min())
    key = frames - fmin
    if t.blocks is not None:
        span = int(frames.max()) - fmin + 1
        key = (t.blocks - 1) * span + key
    rows = None
    if sub is not None:
        n_sub = int(sub.max()) + 1 if sub.size else 0
        keep = sub >= 0
        key = key * max(n_sub, 1) + np.where(keep, sub, 0)
        if not keep.all():
            rows = np.flatnonzero(keep).astype(np.int64)
            key = key[rows]
    perm, goff = frame_order(key)
    if rows is not None:
        perm = rows[perm]
    first = perm[goff[:-1]] if goff.shape[0] > 1 else np.empty(0, dtype=np.int64)
    return FrameGroups(np.ascontiguousarray(perm), goff, np.ascontiguousarray(first))


def rows_by_frame(df: pl.DataFrame, columns: Any, who: str) -> FrameGroups:
    """Group the rows of any table by (group, sequence, frame), in input-row terms.

    For tables that need not have one row per (id, frame) (pair features, any
    upstream output): ``perm`` indexes the rows of ``df`` directly.

    Parameters
    ----------
    df : polars.DataFrame
        The table; it needs the frame column (integers, no nulls).
    columns : Columns
        Column names.
    who : str
        Feature name for error messages.

    Returns
    -------
    FrameGroups
        Groups sorted by (group, sequence, frame); rows of a group in input order.
    """
    c = columns
    if c.frame_col not in df.columns:
        raise ValueError(
            f"{who}: the input has no {c.frame_col!r} column (columns: {df.columns}); "
            "a frame-level summary needs the frame of every row"
        )
    s = df[c.frame_col]
    if not s.dtype.is_integer():
        raise TypeError(f"{who}: column {c.frame_col!r} must be integers, got {s.dtype}")
    if s.null_count():
        raise ValueError(f"{who}: column {c.frame_col!r} has {s.null_count()} missing value(s)")
    if df.height == 0:
        empty = np.empty(0, dtype=np.int64)
        return FrameGroups(empty, np.zeros(1, dtype=np.int64), empty)
    frames = np.ascontiguousarray(s.to_numpy(), dtype=np.int64)
    fmin = int(frames.min())
    key = frames - fmin
    block_cols = [col for col in (c.group_col, c.seq_col) if col in df.columns]
    if block_cols and df.select(block_cols).n_unique() > 1:
        span = int(frames.max()) - fmin + 1
        blocks = df.select(pl.struct(block_cols).rank("dense")).to_series().to_numpy()
        key = (blocks.astype(np.int64) - 1) * span + key
    perm, goff = frame_order(key)
    first = perm[goff[:-1]]
    return FrameGroups(np.ascontiguousarray(perm), goff, np.ascontiguousarray(first))


def group_keys(t: TrackTable, groups: FrameGroups, cols: Sequence[str]) -> pl.DataFrame:
    """Values of ``cols`` at the representative row of every group.

    Parameters
    ----------
    t : TrackTable
        The prepared entry.
    groups : FrameGroups
        Its groups.
    cols : sequence of str
        Input columns to take (those absent from the input are skipped).

    Returns
    -------
    polars.DataFrame
        One row per group.
    """
    present = [c for c in cols if c in t.df.columns]
    rows = groups.first if t.order is None else t.order[groups.first]
    return t.df.select(present)[rows] if present else pl.DataFrame()


# ----------------------------------------------------------------------------- filters

_BACKTICK = re.compile(r"`([^`]*)`")


def _tokens_to_python(expr: str) -> tuple[str, dict[str, str]]:
    # pandas.query syntax -> a Python expression: `quoted names` become
    # placeholders; &, | and ~ become and, or, not (pandas gives & and | the
    # precedence of and / or, below the comparisons)
    names: dict[str, str] = {}

    def quote(m: re.Match[str]) -> str:
        key = f"__q{len(names)}__"
        names[key] = m.group(1)
        return key

    text = _BACKTICK.sub(quote, expr)
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.OP and tok.string in ("&", "|", "~"):
                out.append((tokenize.NAME, {"&": "and", "|": "or", "~": "not"}[tok.string]))
            else:
                out.append((tok.type, tok.string))
    except (tokenize.TokenError, IndentationError) as exc:
        raise ValueError(f"cannot parse {expr!r}: {exc}") from exc
    return tokenize.untokenize(out).strip(), names


class _Query:
    """Translate a parsed expression to a polars expression (two-valued logic)."""

    def __init__(self, expr: str, schema: pl.Schema, names: dict[str, str], who: str):
        self.expr = expr
        self.schema = schema
        self.names = names
        self.who = who

    def fail(self, node: ast.AST, what: str) -> ValueError:
        return ValueError(
            f"{self.who}: filter_expr {self.expr!r}: {what} is not supported; use column "
            "names, numbers, strings, comparisons (== != < <= > >= in, not in), "
            "and / or / not (& | ~), arithmetic, abs() and .isna() / .notna()"
        )

    def column(self, name: str, node: ast.AST) -> pl.Expr:
        name = self.names.get(name, name)
        if name not in self.schema:
            raise ValueError(
                f"{self.who}: filter_expr {self.expr!r} names column {name!r}, which the "
                f"input does not have (columns: {list(self.schema)})"
            )
        col = pl.col(name)
        if self.schema[name].is_float():
            col = col.fill_nan(None)  # NaN behaves like a missing value, as in pandas
        return col

    def value(self, node: ast.AST) -> pl.Expr:
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return pl.lit(node.id == "True")
            return self.column(node.id, node)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool | int | float | str):
            return pl.lit(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self.value(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left), self.value(node.right)
            ops = {
                ast.Add: lambda a, b: a + b,
                ast.Sub: lambda a, b: a - b,
                ast.Mult: lambda a, b: a * b,
                ast.Div: lambda a, b: a / b,
                ast.Mod: lambda a, b: a % b,
                ast.Pow: lambda a, b: a**b,
                ast.FloorDiv: lambda a, b: a // b,
            }
            op = ops.get(type(node.op))
            if op is None:
                raise self.fail(node, f"the operator {type(node.op).__name__}")
            return op(left, right)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "abs" and len(node.args) == 1:
                return self.value(node.args[0]).abs()
            return self.test(node)
        if isinstance(node, ast.Compare | ast.BoolOp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            return self.test(node)
        raise self.fail(node, f"{type(node).__name__}")

    def literals(self, node: ast.AST) -> list[Any]:
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = []
            for elt in node.elts:
                value = elt.value if isinstance(elt, ast.Constant) else None
                if (
                    isinstance(elt, ast.UnaryOp)
                    and isinstance(elt.op, ast.USub)
                    and isinstance(elt.operand, ast.Constant)
                ):
                    value = -elt.operand.value
                if not isinstance(value, bool | int | float | str):
                    raise self.fail(elt, "a non-literal list item")
                items.append(value)
            return items
        raise self.fail(node, "'in' with something other than a list of literals")

    def test(self, node: ast.AST) -> pl.Expr:
        """A boolean expression that is never null (pandas: NaN compares False)."""
        if isinstance(node, ast.BoolOp):
            parts = [self.test(v) for v in node.values]
            out = parts[0]
            for part in parts[1:]:
                out = (out & part) if isinstance(node.op, ast.And) else (out | part)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.test(node.operand)
        if isinstance(node, ast.Compare):
            out = None
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                part = self.compare(left, op, right)
                out = part if out is None else out & part
                left = right
            return out
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and not node.args:
                target = self.value(func.value)
                if func.attr in ("isna", "isnull"):
                    return target.is_null()
                if func.attr in ("notna", "notnull"):
                    return target.is_not_null()
            raise self.fail(node, "this function call")
        if isinstance(node, ast.Name | ast.Constant):
            return self.value(node).cast(pl.Boolean).fill_null(False)
        raise self.fail(node, f"{type(node).__name__} as a condition")

    def compare(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> pl.Expr:
        if isinstance(op, ast.In | ast.NotIn):
            hit = self.value(left).is_in(self.literals(right)).fill_null(False)
            return hit if isinstance(op, ast.In) else ~hit
        a, b = self.value(left), self.value(right)
        ops = {
            ast.Eq: (a == b, False),
            ast.NotEq: (a != b, True),  # pandas: NaN != x is True
            ast.Lt: (a < b, False),
            ast.LtE: (a <= b, False),
            ast.Gt: (a > b, False),
            ast.GtE: (a >= b, False),
        }
        if type(op) not in ops:
            raise self.fail(op, f"the comparison {type(op).__name__}")
        expr, missing = ops[type(op)]
        return expr.fill_null(missing)


def query_expr(expr: str, schema: pl.Schema, *, who: str = "filter_expr") -> pl.Expr:
    """Translate a pandas ``DataFrame.query`` expression into a polars filter.

    Supported: column names (```backticked names``` for names with spaces),
    numbers, strings, ``True`` / ``False``; ``== != < <= > >=`` (chained too),
    ``in`` / ``not in`` a list of literals; ``and`` / ``or`` / ``not`` and
    their pandas spellings ``&`` / ``|`` / ``~`` (with the precedence pandas
    gives them: below the comparisons); ``+ - * / // % **``; ``abs(...)``;
    ``col.isna()`` / ``col.notna()`` (and ``isnull`` / ``notnull``). As in
    pandas, a NaN or null compares False (``!=`` True), so ``~(x > 3)`` keeps
    the rows where ``x`` is NaN.

    Parameters
    ----------
    expr : str
        The expression, e.g. ``"event >= 0"`` or ``"~bad_frame & (speed > 2)"``.
    schema : polars.Schema
        Schema of the frame it will filter (to check the column names).
    who : str
        Prefix of error messages (the feature name).

    Returns
    -------
    polars.Expr
        A Boolean expression without nulls.

    Raises
    ------
    ValueError
        Unsupported syntax or an unknown column.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"event": [-1, 0, 2], "bad": [False, True, False]})
    >>> df.filter(query_expr("event >= 0 & ~bad", df.schema))["event"].to_list()
    [2]
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError(f"{who}: filter_expr must be a non-empty string, got {expr!r}")
    text, names = _tokens_to_python(expr)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{who}: cannot parse filter_expr {expr!r}: {exc.msg}") from exc
    return _Query(expr, schema, names, who).test(tree.body)


def filter_rows(
    df: pl.DataFrame,
    filter_expr: str | None,
    exclude_cols: Sequence[str],
    *,
    who: str,
) -> pl.DataFrame:
    """Apply mosaic's ``filter_expr`` then ``exclude_cols`` to an entry.

    Parameters
    ----------
    df : polars.DataFrame
        The entry.
    filter_expr : str or None
        Rows to keep (see :func:`query_expr`).
    exclude_cols : sequence of str
        Boolean columns whose truthy rows are dropped; names absent from the
        input are skipped (as in mosaic).
    who : str
        Feature name for error messages.

    Returns
    -------
    polars.DataFrame
        The kept rows, in input order.
    """
    if filter_expr:
        df = df.filter(query_expr(filter_expr, df.schema, who=who))
    present = [c for c in exclude_cols if c in df.columns]
    if present:
        truthy = pl.any_horizontal(
            [pl.col(c).cast(pl.Boolean, strict=False).fill_null(False) for c in present]
        )
        df = df.filter(~truthy)
    return df
