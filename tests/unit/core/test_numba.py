"""moveo's numba settings (nogil, cache, NaN-safe fastmath), warm-up (every kernel, chosen
modules or kernels, worker processes on a cold cache), kernel threads and the warmup command.
"""

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import moveo
from moveo import _numba


def test_jit_uses_project_settings():
    @_numba.jit
    def add(a, b):
        return a + b

    assert add(1.0, 2.0) == 3.0
    assert add.targetoptions["nogil"] is True
    assert type(add._cache).__name__ == ("FunctionCache" if _numba.CACHE else "NullCache")
    flags = add.targetoptions["fastmath"]
    assert "nnan" not in flags
    assert "ninf" not in flags


def test_fastmath_keeps_nan_semantics():
    @_numba.jit
    def count_nan(x):
        n = 0
        for v in x:
            if v != v:
                n += 1
        return n

    assert count_nan(np.array([1.0, np.nan, np.nan, 2.0])) == 2


def test_cache_switch(monkeypatch):
    monkeypatch.setenv("MOVEO_NUMBA_CACHE", "0")
    assert _numba._env_flag("MOVEO_NUMBA_CACHE", True) is False
    monkeypatch.setenv("MOVEO_NUMBA_CACHE", "1")
    assert _numba._env_flag("MOVEO_NUMBA_CACHE", False) is True


def test_warmup_runs_registered_functions():
    calls = []
    _numba.register_warmup(lambda: calls.append(1))
    n = moveo.warmup(force=True)
    assert n >= 1
    assert calls == [1]
    assert moveo.warmup() == 0  # already warm


def test_warmup_progress_bar_names_the_work(monkeypatch, capsys):
    monkeypatch.delenv("MOVEO_PROGRESS", raising=False)
    n = moveo.warmup(force=True, progress=True)
    err = capsys.readouterr().err
    assert "compiling moveo kernels (cached after the first run)" in err
    assert f"{n}/{n}" in err
    moveo.warmup(force=True, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("MOVEO_PROGRESS", "0")  # the environment silences it everywhere
    moveo.warmup(force=True, progress=True)
    assert capsys.readouterr().err == ""


def test_kernel_threads_is_scoped():
    before = numba.get_num_threads()
    with _numba.kernel_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with _numba.kernel_threads(None):
        assert numba.get_num_threads() == before


def test_lazy_top_level_names():
    assert moveo.Dataset.__name__ == "Dataset"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        moveo.nope  # noqa: B018


def test_warmup_command(monkeypatch, capsys):
    from moveo.cli import main

    monkeypatch.delenv("MOVEO_PROGRESS", raising=False)
    assert main(["warmup", "--quiet"]) == 0
    captured = capsys.readouterr()
    n = len(_numba._WARMUPS)
    assert f"{n} warm-ups compiled or loaded in" in captured.out
    assert captured.err == ""  # --quiet: no bar
    assert main(["warmup"]) == 0
    assert "compiling moveo kernels" in capsys.readouterr().err


def test_jit_without_a_source_file_compiles_uncached():
    # a kernel written in a notebook cell or exec'd text has no file for numba's cache
    namespace = {"jit": _numba.jit}
    exec(compile("@jit\ndef twice(a):\n    return 2 * a\n", "<cell 3>", "exec"), namespace)
    twice = namespace["twice"]
    assert twice(2.5) == 5.0
    assert type(twice._cache).__name__ == "NullCache"


def test_warmup_targets_select_modules_and_covered_kernels():
    # a module runs all its warm-ups; a kernel runs those that cover it (or untagged ones)
    groups = _numba._selected(["moveo.kernels.groups"])
    assert {_numba.warmup_covers(fn) for fn in groups} == {("ffgroups",), ("periphery",)}
    only = _numba._selected(["moveo.kernels.groups.periphery"])
    assert [_numba.warmup_covers(fn) for fn in only] == [("periphery",)]
    facing = _numba._selected(["moveo.kernels.pairs.pair_facing"])
    assert [fn.__name__ for fn in facing] == ["_warmup_facing"]
    # a name that is not a kernel of a tagged module selects nothing there, but is no error
    assert _numba._selected(["moveo.kernels.pairs.PAIR_FACING_COLUMNS"]) == []
    untagged = _numba._selected(["moveo.kernels.geometry.run_offsets"])
    assert [fn.__module__ for fn in untagged] == ["moveo.kernels.geometry"]
    assert "moveo.kernels.ring" in _numba.kernel_modules()


def test_warmup_targets_are_checked():
    with pytest.raises(ValueError, match="registers no kernel warm-up"):
        moveo.warmup("moveo.schema")
    with pytest.raises(ValueError, match="neither a module nor a kernel"):
        moveo.warmup(["moveo.kernels.nope.kernel"])


def test_warmup_runs_each_selected_function_once_per_process():
    assert moveo.warmup("moveo.kernels.geometry", force=True) == 1
    assert moveo.warmup("moveo.kernels.geometry") == 0  # already ran here
    assert moveo.warmup("moveo.kernels.geometry", force=True) == 1


def test_register_warmup_with_covers_is_a_decorator():
    calls = []

    @_numba.register_warmup(covers=("twice",))
    def warm():
        calls.append(1)

    assert _numba.warmup_covers(warm) == ("twice",)
    assert warm in _numba._WARMUPS
    warm()
    assert calls == [1]


def test_warmup_jobs_fill_the_shared_cache_in_worker_processes(tmp_path):
    # cold cache in a temporary NUMBA_CACHE_DIR: two workers compile the two modules and
    # write numba's cache, the parent then loads (not compiles) them
    code = (
        "import json, moveo; from moveo import _numba\n"
        "mods = ['moveo.kernels.geometry', 'moveo.kernels.display']\n"
        "n = moveo.warmup(mods, jobs=2)\n"
        "cold = [_numba._cache_is_cold(m) for m in mods]\n"
        "print(json.dumps([n, sorted(_numba.WARMED_MODULES), cold]))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "MOVEO_NUMBA_CACHE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=600, check=True)  # fmt: skip
    n, by_workers, cold = json.loads(out.stdout.strip().splitlines()[-1])
    assert n == 2
    assert by_workers == ["moveo.kernels.display", "moveo.kernels.geometry"]
    assert cold == [False, False]
    assert any(p.suffix == ".nbi" for p in tmp_path.rglob("*"))


def test_warmup_command_options(monkeypatch, capsys):
    from moveo.cli import main

    monkeypatch.delenv("MOVEO_PROGRESS", raising=False)
    assert main(["warmup", "--quiet", "--modules", "geometry", "--jobs", "1"]) == 0
    assert "1 warm-ups compiled or loaded in" in capsys.readouterr().out
    assert main(["warmup", "--quiet", "--features", "heading", "--jobs", "1"]) == 0
    assert "warm-ups compiled or loaded in" in capsys.readouterr().out
    assert main(["warmup", "--quiet", "--features", "no-such-feature"]) == 2
    assert "neither a moveo feature" in capsys.readouterr().err
    assert main(["warmup", "--quiet", "--jobs", "0"]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err
