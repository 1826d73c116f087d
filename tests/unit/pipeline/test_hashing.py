"""Run ids: golden values, the hashing recipe, canonical JSON rules, every part changes the id,
stable across processes.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.pipeline.hashing import (
    HASH_SCHEME_VERSION,
    canonical_json,
    compute_run_id,
    params_hash,
)
from moveo.pipeline.types import Params

# Golden values: if one of these changes, every cached run in every dataset
# would be recomputed. Change them only together with HASH_SCHEME_VERSION.
GOLDEN = [
    (("0.1", {}), {}, "0.1-62a4c66fa348cc44"),
    (
        ("0.1", {"window": 5, "columns": ["speed"], "center": True, "q": 0.1}),
        {},
        "0.1-ea563071eb90e43f",
    ),
    (
        ("1.2.0", {"k": 2}),
        {"upstream": [("speed-angvel", "0.1-cbc04294f75d8356")]},
        "1.2.0-8712b46f599549cc",
    ),
    (("0.1", {}), {"scope": [["g0", "s0"]]}, "0.1-161280ebf0130f7d"),
    (("0.1", {}), {"filters": {"start_frame": 10}}, "0.1-9bfa8cfba85f6705"),
]


@pytest.mark.parametrize(("args", "kwargs", "expected"), GOLDEN)
def test_golden_run_ids(args, kwargs, expected):
    assert compute_run_id(*args, **kwargs) == expected


def test_recipe_is_sha256_of_canonical_text():
    text = '{"params":{"step":1},"scheme":1,"upstream":[]}'
    assert HASH_SCHEME_VERSION == 1
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    assert compute_run_id("0.1", {"step": 1}) == f"0.1-{digest}"


def test_canonical_json_rules():
    assert canonical_json({"b": 1, "a": {"d": [1, 2.5], "c": None}}) == (
        '{"a":{"c":null,"d":[1,2.5]},"b":1}'
    )
    assert canonical_json([0.1, 1e-20, 1e22, -0.0]) == "[0.1,1e-20,1e+22,-0.0]"
    assert canonical_json([math.nan, math.inf, -math.inf]) == '["NaN","Infinity","-Infinity"]'
    assert canonical_json((True, False)) == "[true,false]"
    assert canonical_json('é"\\\n') == '"\\u00e9\\"\\\\\\u000a"'
    assert canonical_json(np.float64(0.5)) == "0.5"
    assert canonical_json(np.array([1, 2])) == "[1,2]"
    assert canonical_json(Path("a/b")) == '"a/b"'
    assert canonical_json({3, 1, 2}) == "[1,2,3]"
    with pytest.raises(TypeError, match="string keys"):
        canonical_json({1: 2})
    with pytest.raises(TypeError, match="cannot hash a object"):
        canonical_json(object())


def test_pydantic_params_hash_like_dicts():
    class P(Params):
        window: int = 3
        scale: float = 1.0

    assert params_hash(P()) == params_hash({"scale": 1.0, "window": 3})
    assert compute_run_id("0.1", P(window=4)) != compute_run_id("0.1", P())
    # an int and a float are different parameters (1 vs 1.0 could change a kernel's dtype)
    assert compute_run_id("0.1", {"a": 1}) != compute_run_id("0.1", {"a": 1.0})


def test_each_part_changes_the_id():
    base = compute_run_id("0.1", {"a": 1})
    assert compute_run_id("0.2", {"a": 1}) != base
    assert compute_run_id("0.1", {"a": 2}) != base
    assert compute_run_id("0.1", {"a": 1}, upstream=[("f", "r")]) != base
    assert compute_run_id("0.1", {"a": 1}, scope=[]) != base
    assert compute_run_id("0.1", {"a": 1}, filters={"end_frame": 3}) != base
    assert compute_run_id("0.1", {"a": 1}, filters={}) == base
    assert compute_run_id("0.1", {"a": 1}, context={"fps": 30.0}) != base
    assert compute_run_id("0.1", {"a": 1}, context={"fps": 30.0}) != compute_run_id(
        "0.1", {"a": 1}, context={"fps": 25.0}
    )
    with pytest.raises(ValueError, match="version"):
        compute_run_id("", {})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_valid_json_and_key_order_free(value):
    import json

    text = canonical_json(value)
    assert json.loads(text) == value
    if isinstance(value, dict):
        reordered = dict(reversed(list(value.items())))
        assert canonical_json(reordered) == text


def test_run_id_stable_across_processes():
    code = (
        "from moveo.pipeline.hashing import compute_run_id\n"
        "print(compute_run_id('0.1', {'window': 5, 'columns': ['speed'], 'center': True,"
        " 'q': 0.1}))\n"
        "print(compute_run_id('0.1', {'s': {'b', 'a', 'c'}, 'x': frozenset({3, 1})}))\n"
    )
    here = compute_run_id("0.1", {"s": {"b", "a", "c"}, "x": frozenset({3, 1})})
    outputs = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        outputs.add(tuple(out))
    assert outputs == {("0.1-ea563071eb90e43f", here)}
