"""tests/data stays tiny and described: every file is named in its README with its size in bytes."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


def test_every_fixture_is_listed_with_its_size_and_small() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    listed = {
        name: int(size.replace(",", ""))
        for name, size in re.findall(r"^\| `([^`]+)` \| ([\d,]+) \|", readme, re.MULTILINE)
    }
    files = {p.name: p.stat().st_size for p in DATA.iterdir() if p.is_file() and p.name != "README.md"}
    assert listed == files
    assert all(size < 32_000 for size in files.values())
