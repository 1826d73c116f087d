"""The import graph of ``src/moveo`` has no cycles and never points up a layer.

The graph is read with :mod:`ast` (no module is imported), counting every
``import`` / ``from ... import`` anywhere in a module, including those inside
functions: a lazy import is still a dependency. Only imports under
``if TYPE_CHECKING:`` are left out (they never run). The layer map below is the one
``docs/architecture.md`` documents; a module belongs to the longest prefix that
names it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"

# lower number = lower layer; a module may import its own layer or lower ones
LAYERS: dict[str, int] = {
    # 0 core: numba settings, terminal, files, kernels (arrays in, arrays out)
    "moveo._numba": 0,
    "moveo._terminal": 0,
    "moveo._fs": 0,
    "moveo.kernels": 0,
    # 1 data: names, the on-disk dataset, readers, labels
    "moveo.schema": 1,
    "moveo.dataset": 1,
    "moveo.io": 1,
    "moveo.labels": 1,
    # 2 the feature contract
    "moveo.contract": 2,
    # 3 library: features, the cached pipeline, offline EMG, Dask execution
    "moveo.features": 3,
    "moveo.pipeline": 3,
    "moveo.emg": 3,
    "moveo.distributed": 3,
    "moveo._dask_plugins": 3,
    # 4 trained models and the realtime predictor (and the feature applying a model)
    "moveo.models": 4,
    "moveo.realtime": 4,
    "moveo.features.behavior": 4,
    # 5 application floor: the command line and the lazy top-level facade
    "moveo.cli": 5,
    "moveo": 5,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / "moveo").rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the moveo modules ``name`` imports (resolved to known modules)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name | ast.Attribute)
        and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            # `from moveo import _numba` imports the submodule, not the package facade
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
            targets = subs if subs and len(subs) == len(node.names) else [mod, *subs]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("moveo") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def layer_of(module: str) -> int:
    """Return the layer of ``module`` (longest matching prefix of :data:`LAYERS`)."""
    best = None
    for prefix in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    if best is None:
        raise KeyError(module)
    return LAYERS[best]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    # Tarjan's strongly connected components; any component of 2+ modules is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer():
    missing = [m for m in _modules() if _safe_layer(m) is None]
    assert not missing, f"modules missing from the layer map: {missing}"


def _safe_layer(module: str) -> int | None:
    try:
        return layer_of(module)
    except KeyError:
        return None


def test_no_import_cycles():
    graph = _graph()
    # a package's __init__ re-exporting its own submodules is not a cycle of layers:
    # drop the edges from a submodule to the package facade that contains it
    trimmed = {
        m: {t for t in deps if not (m.startswith(t + ".") and _modules()[t].name == "__init__.py")}
        for m, deps in graph.items()
    }
    assert _cycles(trimmed) == []


def test_no_module_imports_a_higher_layer():
    bad = [
        f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})"
        for m, deps in sorted(_graph().items())
        for t in sorted(deps)
        if layer_of(t) > layer_of(m)
    ]
    assert bad == []


def test_the_checker_sees_a_violation(tmp_path):
    # the checks above would be worthless if they could not fail: feed them a known bad graph
    graph = {"moveo.kernels.a": {"moveo.pipeline.run"}, "moveo.pipeline.run": {"moveo.kernels.a"}}
    assert _cycles(graph) == [["moveo.kernels.a", "moveo.pipeline.run"]]
    assert layer_of("moveo.kernels.a") < layer_of("moveo.pipeline.run")
    assert layer_of("moveo.features.behavior") > layer_of("moveo.features.speed_angvel")


@pytest.mark.parametrize("module", ["moveo.cli", "moveo.cli.demo"])
def test_no_library_module_imports_the_application_floor(module):
    importers = [m for m, deps in _graph().items() if module in deps and layer_of(m) < 5]
    assert importers == []


def _private_kernel_imports(tree: ast.AST) -> list[str]:
    # `from moveo.kernels.<module> import _name`: a private name taken across kernel modules
    return [
        f"{node.module}.{a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("moveo.kernels")
        for a in node.names
        if a.name.startswith("_")
    ]


def test_kernel_modules_share_only_public_names():
    # kernel modules share code through public names of documented shared modules
    # (_checks, geometry, emg, emg_vmath, ...), never each other's private helpers
    offenders = {
        str(path.relative_to(SRC)): found
        for path in sorted((SRC / "moveo" / "kernels").rglob("*.py"))
        if (found := _private_kernel_imports(ast.parse(path.read_text())))
    }
    assert offenders == {}
    assert _private_kernel_imports(ast.parse("from moveo.kernels.emg_vmath import _log_core")) == [
        "moveo.kernels.emg_vmath._log_core"
    ]
