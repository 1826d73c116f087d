"""The feature contract stays cheap and uniform.

* every numba decorator in ``src`` comes from :mod:`moveo._numba` (one place for
  cache/fastmath/nogil settings);
* constructing a feature imports neither ``sqlite3`` nor the pipeline registry;
* the feature registry is derived from the classes: the lazy class table of
  :mod:`moveo.features` and the classes registered by name agree, and every
  feature subclasses :class:`moveo.features.base.BaseFeature`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import moveo.features as features
from moveo.features.base import BaseFeature, registered_features

SRC = Path(__file__).resolve().parents[3] / "src"
NUMBA_DECORATORS = {"jit", "njit", "vectorize", "guvectorize", "generated_jit", "cfunc", "stencil"}


def _bare_numba_uses(tree: ast.AST) -> list[str]:
    """Return numba decorators/imports used directly (``numba.njit``, ``from numba import jit``)."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] == "numba"
        ):
            found += [
                f"from {node.module} import {a.name}"
                for a in node.names
                if a.name in NUMBA_DECORATORS
            ]
        if (
            isinstance(node, ast.Attribute)
            and node.attr in NUMBA_DECORATORS
            and isinstance(node.value, ast.Name)
            and node.value.id in {"numba", "nb"}
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_every_numba_decorator_comes_from_moveo_numba():
    offenders = {}
    for path in sorted((SRC / "moveo").rglob("*.py")):
        if path.name == "_numba.py":
            continue
        uses = _bare_numba_uses(ast.parse(path.read_text()))
        if uses:
            offenders[str(path.relative_to(SRC))] = uses
    assert offenders == {}


def test_the_decorator_check_can_fail():
    assert _bare_numba_uses(ast.parse("import numba\n@numba.njit\ndef f(): pass")) == ["numba.njit"]
    assert _bare_numba_uses(ast.parse("from numba import vectorize")) == [
        "from numba import vectorize"
    ]


def test_constructing_a_feature_does_not_import_the_registry():
    code = (
        "import sys\n"
        "from moveo.features import NearestNeighbor\n"
        "NearestNeighbor()\n"
        "bad = [m for m in ('sqlite3', 'moveo.pipeline.registry', 'moveo.pipeline') "
        "if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_feature_table_and_classes_agree():
    names = features.feature_names()
    registered = {
        n: c for n, c in registered_features().items() if c.__module__.startswith("moveo.")
    }
    assert sorted(registered) == names
    table = {getattr(features, cls_name).name: cls_name for cls_name in features._CLASSES}
    assert sorted(table) == names
    for name in names:
        cls = features.get_feature(name)
        assert issubclass(cls, BaseFeature)
        assert cls.name == name
        assert features.get_feature(cls.__name__) is cls
        assert cls.__module__ == features._CLASSES[cls.__name__]


def test_unknown_feature_lists_the_known_ones():
    with pytest.raises(KeyError, match="known features: .*speed-angvel"):
        features.get_feature("no-such-feature")


def test_a_builtin_name_cannot_be_taken():
    with pytest.raises(TypeError, match="already registered"):
        type("Impostor", (BaseFeature,), {"name": "speed-angvel", "__module__": "mylab.features"})


def test_a_user_feature_registers_by_name():
    cls = type("StepLen", (BaseFeature,), {"name": "test-step-len", "__module__": "mylab.f"})
    assert features.get_feature("test-step-len") is cls
    assert "test-step-len" not in features.feature_names()  # only moveo's own are listed
    assert repr(cls({})) == "StepLen(params={})"
