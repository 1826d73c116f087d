"""Every public package's ``__all__`` lists names (strings) that all resolve."""

import importlib

import pytest

PACKAGES = [
    "moveo",
    "moveo.io",
    "moveo.features",
    "moveo.pipeline",
    "moveo.pipeline.types",
    "moveo.emg",
    "moveo.models",
    "moveo.realtime",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_names_that_resolve(name):
    module = importlib.import_module(name)
    assert all(isinstance(n, str) for n in module.__all__), module.__all__
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)  # noqa: S102 - the point of the test
    missing = [n for n in module.__all__ if n not in namespace]
    assert not missing
