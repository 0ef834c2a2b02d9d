"""Every module says what it exports: each name in ``__all__`` exists, and every public class or
function a module defines is either exported or marked private with a leading underscore."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import kgexplain

MODULES = sorted(m.name for m in pkgutil.walk_packages(kgexplain.__path__, "kgexplain.") if not m.ispkg)


@pytest.mark.parametrize("name", MODULES)
def test_module_exports_are_deliberate(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what does not exist: {missing}"
    defined = {
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", None) == name
    }
    unexported = sorted(defined - set(exported))
    assert not unexported, f"{name} defines public names outside __all__: {unexported} (export or underscore them)"
