"""Run identity: canonical JSON and ``run_id = f"{version}-{hash}"``.

A run id must be the same for the same inputs in every process, on every
machine and every Python version, and different whenever the output could
differ. So the hash is taken over a *canonical* JSON text (sorted keys, no
whitespace, floats written with ``repr`` -- the shortest string that round-trips,
identical since Python 3.1) of:

* the feature's parameters,
* the run ids of its upstream inputs (so a changed upstream gives a new
  downstream run id: staleness is structural),
* the scope (groups/sequences) when the feature is ``scope_dependent``,
* row filters (frame range, overlap) when they are set, since they change the rows
  a feature sees,
* the dataset settings a feature takes through ``set_dataset_defaults`` (fps,
  column names, pose layout), for features that have that hook,
* :data:`HASH_SCHEME_VERSION`, bumped whenever this recipe changes.

Python's built-in ``hash`` is never used (it is salted per process).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

__all__ = [
    "HASH_LENGTH",
    "HASH_SCHEME_VERSION",
    "canonical_json",
    "compute_run_id",
    "params_hash",
    "stable_hash",
]

HASH_SCHEME_VERSION = 1
"""Version of the run-id recipe; part of every hash."""

HASH_LENGTH = 16
"""Hex digits of sha256 kept in a run id (64 bits)."""


def _encode(obj: Any, out: list[str]) -> None:
    # Order of checks matters: bool is an int subclass, enums may be str subclasses.
    if obj is None:
        out.append("null")
    elif isinstance(obj, bool):
        out.append("true" if obj else "false")
    elif isinstance(obj, Enum):
        _encode(obj.value, out)
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, float):
        if math.isnan(obj):
            out.append('"NaN"')
        elif math.isinf(obj):
            out.append('"Infinity"' if obj > 0 else '"-Infinity"')
        else:
            out.append(repr(float(obj)))
    elif isinstance(obj, str):
        _encode_str(obj, out)
    elif isinstance(obj, PurePath):
        _encode_str(obj.as_posix(), out)
    elif isinstance(obj, BaseModel):
        _encode(obj.model_dump(mode="python"), out)
    elif isinstance(obj, Mapping):
        keys = []
        for key in obj:
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON needs string keys, got {key!r}")
            keys.append(key)
        out.append("{")
        for i, key in enumerate(sorted(keys)):
            if i:
                out.append(",")
            _encode_str(key, out)
            out.append(":")
            _encode(obj[key], out)
        out.append("}")
    elif isinstance(obj, set | frozenset):
        _encode(sorted(obj, key=canonical_json), out)
    elif isinstance(obj, Sequence) or _is_array(obj):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        _encode(obj.item(), out)
    else:
        raise TypeError(
            f"cannot hash a {type(obj).__name__} in feature parameters; use JSON-like "
            "values (numbers, strings, lists, dicts, pydantic models)"
        )


def _is_array(obj: Any) -> bool:
    return type(obj).__module__ == "numpy" and type(obj).__name__ == "ndarray"


def _encode_str(text: str, out: list[str]) -> None:
    # JSON string escaping with ASCII-only output, independent of json module defaults.
    parts = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            parts.append('\\"')
        elif ch == "\\":
            parts.append("\\\\")
        elif code < 0x20 or code > 0x7E:
            if code > 0xFFFF:  # surrogate pair, as JSON requires
                code -= 0x10000
                parts.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                parts.append(f"\\u{code:04x}")
        else:
            parts.append(ch)
    parts.append('"')
    out.append("".join(parts))


def canonical_json(obj: Any) -> str:
    r"""Serialise ``obj`` to canonical JSON text.

    Keys are sorted, there is no whitespace, floats use ``repr`` (NaN and
    infinities become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``),
    non-ASCII characters are escaped as ``\uXXXX``, tuples are lists, pydantic models
    are their field dicts.

    Parameters
    ----------
    obj : object
        JSON-like data (dicts with string keys, lists, tuples, str, int, float,
        bool, None, pydantic models, paths, numpy scalars/arrays).

    Returns
    -------
    str

    Examples
    --------
    >>> canonical_json({"b": 1.0, "a": [1, "x", None]})
    '{"a":[1,"x",null],"b":1.0}'
    """
    out: list[str] = []
    _encode(obj, out)
    return "".join(out)


def stable_hash(obj: Any, length: int = HASH_LENGTH) -> str:
    """Return a process-independent hex hash of ``obj``'s canonical JSON.

    Parameters
    ----------
    obj : object
        JSON-like data.
    length : int
        Number of hex digits to keep (at most 64).

    Returns
    -------
    str
    """
    return hashlib.sha256(canonical_json(obj).encode("ascii")).hexdigest()[:length]


def params_hash(params: Any) -> str:
    """Return the hash of a feature's parameters alone.

    Parameters
    ----------
    params : Params or mapping
        The parameters.

    Returns
    -------
    str
        16 hex digits.
    """
    return stable_hash({"scheme": HASH_SCHEME_VERSION, "params": params})


def compute_run_id(
    version: str,
    params: Any,
    upstream: Sequence[tuple[str, str]] = (),
    scope: Any = None,
    filters: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> str:
    """Compute a run id, ``f"{version}-{hash}"``.

    Parameters
    ----------
    version : str
        The feature's version string.
    params : Params or mapping
        The feature's parameters.
    upstream : sequence of (feature, run_id)
        Upstream inputs in input order (``"tracks"`` is not listed).
    scope : object, optional
        The scope (e.g. sorted entry keys) for ``scope_dependent`` features;
        ``None`` for the others.
    filters : mapping, optional
        Non-default row filters (frame range, overlap). ``None`` or an empty
        mapping when no filter is set, so unfiltered runs keep their id.
    context : mapping, optional
        Dataset settings the feature reads besides its params (fps, column
        names, pose layout for features with ``set_dataset_defaults``).

    Returns
    -------
    str

    Examples
    --------
    >>> compute_run_id("0.1", {"step": 1})
    '0.1-cbc04294f75d8356'
    """
    version = str(version)
    if not version or "/" in version or "\\" in version:
        raise ValueError(f"feature version must be a non-empty string without '/', got {version!r}")
    payload: dict[str, Any] = {
        "scheme": HASH_SCHEME_VERSION,
        "params": params,
        "upstream": [[str(f), str(r)] for f, r in upstream],
    }
    if scope is not None:
        payload["scope"] = scope
    if filters:
        payload["filters"] = dict(filters)
    if context:
        payload["context"] = dict(context)
    return f"{version}-{stable_hash(payload)}"
