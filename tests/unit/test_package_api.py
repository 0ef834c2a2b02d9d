"""``import kgexplain`` gives the curated API: each name is the object its home module defines, and the
import itself loads none of the heavy modules (torch comes with the stages, on first use)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import kgexplain


def test_every_exported_name_is_its_home_modules_object() -> None:
    for name, module in kgexplain._EXPORTS.items():
        home = importlib.import_module(f"kgexplain.{module}")
        assert name in getattr(home, "__all__", ()), f"{name} is not public in kgexplain.{module}"
        assert getattr(kgexplain, name) is getattr(home, name)
    assert set(kgexplain.__all__) == {"__version__", *kgexplain._EXPORTS}


def test_unknown_names_are_attribute_errors() -> None:
    try:
        kgexplain.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_the_import_alone_stays_light() -> None:
    code = "import sys, kgexplain; print(sorted(m for m in ('torch', 'polars', 'pyoxigraph') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
