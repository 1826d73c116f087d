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
    assert f"{n} kernel modules compiled or loaded in" in captured.out
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
