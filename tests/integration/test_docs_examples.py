"""Every ```python block in README.md and docs/*.md runs, in order per file.

Blocks of one file share a namespace (like a notebook) and run in a fresh
temporary working directory, so examples can create datasets with relative paths.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


DOCS = [p for p in FILES if p.exists() and _blocks(p)]


def test_docs_have_examples():
    assert ROOT / "README.md" in DOCS


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOVEO_PROGRESS", "0")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for i, code in enumerate(_blocks(path)):
        try:
            # dont_inherit: the examples must not run under this module's __future__ imports
            exec(compile(code, f"{path.name}[block {i}]", "exec", dont_inherit=True), namespace)
        except Exception as exc:
            raise AssertionError(f"{path.name}, block {i} failed:\n{code}") from exc
    assert os.getcwd() == str(tmp_path)
