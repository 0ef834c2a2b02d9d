"""The documentation stays true to the code and to itself: docs/cli.md is what the Typer app says, the
benchmark table is what benchmarks/results.jsonl holds, every relative link of README.md and docs/ points
at a file, the README stays short, and the mkdocs site builds with --strict (a broken link, anchor or a
page left out of the nav fails)."""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 250  # issue #20: the README says what it is and how to start; the rest is in docs/


def _load(path: Path) -> ModuleType:
    """A script that is not part of the package, imported from its file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(
        actual.splitlines(), expected.splitlines(), f"{name} (as it is)", f"{name} (as it should be)", lineterm="", n=1
    )
    return "\n".join(list(lines)[:40])


def test_the_cli_reference_matches_the_typer_app() -> None:
    expected = _load(ROOT / "scripts" / "cli_reference.py").render()
    actual = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/cli.md differs from the Typer app: run `python scripts/cli_reference.py`\n"
        + _diff(expected, actual, "docs/cli.md")
    )


def test_the_cli_reference_lists_every_command_and_option() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for heading in ("`kgexplain run`", "`kgexplain evaluate`", "`kgexplain neurons explainn`", "`kgexplain link`"):
        assert f" {heading}\n" in text, heading
    for option in ("`--data <path>`", "`--kg-filter <str>`", "`--coverage-base <str>`", "`-v, --verbose`"):
        assert option in text, option
    assert "[env var: KGX_STORE]" in text and "[default: cnn]" in text


def test_the_benchmark_table_is_the_one_results_jsonl_gives() -> None:
    run_all = _load(ROOT / "benchmarks" / "run_all.py")
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    table = run_all.markdown_table(run_all.read_rows(ROOT / "benchmarks" / "results.jsonl"))
    assert run_all.replace_table(page, table) == page, (
        "the table in docs/benchmarks.md is not benchmarks/results.jsonl's: `make bench` writes both"
    )


def test_the_benchmark_table_writer_keeps_the_page_and_escapes_pipes(tmp_path: Path) -> None:
    run_all = _load(ROOT / "benchmarks" / "run_all.py")
    rows = [
        {
            "bench": "explain-values",
            "case": "demo",
            "unit": "max |phi - phi_shap|",
            "ours": 4.3e-6,
            "peer": "1e-6 absolute",
            "peer_value": 1e-6,
            "ratio": 0.23,
        }
    ]
    table = run_all.markdown_table(rows)
    assert table.splitlines()[2] == (
        "| explain-values | demo | max \\|phi - phi_shap\\| | 4.3e-06 | 1e-6 absolute | 1e-06 | 0.23 |"
    )
    assert all(line.count(" | ") == 6 for line in table.splitlines()[2:])  # seven cells, none split
    page = tmp_path / "bench.md"
    page.write_text(f"# Bench\n\nbefore\n\n{run_all.START}\nold\n{run_all.END}\n\nafter\n", encoding="utf-8")
    run_all.write_table(page, table)
    assert page.read_text(encoding="utf-8") == (
        f"# Bench\n\nbefore\n\n{run_all.START}\n{table}\n{run_all.END}\n\nafter\n"
    )
    page.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="bench:start"):
        run_all.write_table(page, table)


def test_the_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, more than {README_MAX_LINES}: move the details into docs/"
    )


#: [text](target) outside code; a target may carry a "title".
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^( {0,3})(```|~~~).*?^\1\2[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)


def _relative_links(text: str) -> list[str]:
    text = FENCE.sub("", text)
    text = "\n".join(line for line in text.splitlines() if not line.startswith(("    ", "\t")))  # indented code
    text = CODE_SPAN.sub("", text)
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:|^#", t, re.I)]


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file(page: Path) -> None:
    broken = []
    for target in _relative_links(page.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if path and not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to files that do not exist: {', '.join(broken)}"


def test_the_link_finder_sees_links_and_skips_code() -> None:
    text = (
        "See [the pipeline](docs/pipeline.md#stages), [a site](https://example.org) and [here](#top).\n"
        "`[not](a-link.md)`\n\n    [indented](code.md)\n\n```\n[fenced](code.md)\n```\n![img](pic.png)\n"
    )
    assert _relative_links(text) == ["docs/pipeline.md#stages", "pic.png"]


def test_the_site_builds_with_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        reason = "mkdocs-material is not installed (pip install -e '.[docs]', or '.[test]')"
        if _in_ci():
            pytest.fail(f"{reason}; CI must build the documentation site")
        pytest.skip(reason)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "reproductions" / "table-1" / "index.html").exists()
