"""Write docs/cli.md, the reference of every ``kgexplain`` command, from the Typer app itself.

Run ``python scripts/cli_reference.py`` after changing a command, an option or its help text;
``tests/unit/test_docs.py`` fails while docs/cli.md differs from what this script writes. The page is
built from the click commands Typer makes (``typer.main.get_command``): each command's docstring, its
usage line and, per option, the flags and the help line ``--help`` shows (defaults, environment
variables, ranges and ``[required]`` included). Nothing depends on the terminal's width.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"

HEADER = """\
# Command-line reference

<!-- Generated from the Typer app (kgexplain.cli.app) by `python scripts/cli_reference.py`; do not edit by
hand: tests/unit/test_docs.py fails when this page and the app differ. -->

Every `kgexplain` command with its options, as `kgexplain COMMAND --help` prints them. Every command also
takes `--help`. Errors kgexplain raises on purpose print one line to stderr and exit 2 (bad input or
store) or 1 (published rules fail SHACL).
"""


def render(app: Any | None = None) -> str:
    """The Markdown of docs/cli.md for ``app`` (default: ``kgexplain.cli.app``)."""
    import typer.main

    if app is None:
        from kgexplain.cli import app
    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name="kgexplain")
    parts = [HEADER]
    commands = list(_walk(root, ctx))
    parts.append("## Commands\n")
    for path, command, _ in commands[1:]:
        parts.append(f"- [`{' '.join(path)}`](#{_anchor(path)}): {_summary(command)}")
    parts.append("")
    for path, command, cctx in commands:
        parts.append(_section(path, command, cctx))
    return "\n".join(parts).rstrip() + "\n"


def _walk(command: Any, ctx: Any, path: tuple[str, ...] = ("kgexplain",)):
    """Yield (path, command, context) for ``command`` and every subcommand, depth first, in app order."""
    if getattr(command, "hidden", False):
        return
    yield path, command, ctx
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from _walk(sub, sub.context_class(sub, info_name=name, parent=ctx), (*path, name))


def _help(command: Any) -> str:
    text = inspect.cleandoc(command.help or "")
    return text.split("\f")[0].strip()  # click: text after \f is for developers only


def _summary(command: Any) -> str:
    paragraph = _help(command).split("\n\n")[0]
    return " ".join(paragraph.split())


def _anchor(path: tuple[str, ...]) -> str:
    """The heading's id as Markdown's table of contents makes it (and GitHub): the words joined by '-'."""
    return "-".join(path)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section(path: tuple[str, ...], command: Any, ctx: Any) -> str:
    level = "#" * min(len(path) + 1, 4)
    lines = [f"{level} `{' '.join(path)}`", ""]
    text = _help(command)
    if text:
        lines += [" ".join(p.split()) + "\n" for p in text.split("\n\n")]
    usage = " ".join([*path, *command.collect_usage_pieces(ctx)])
    lines += ["```", usage, "```", ""]
    rows = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        record = param.get_help_record(ctx)
        if record is None:  # an argument: click lists only its name in the usage
            rows.append((param.human_readable_name, ""))
        else:
            rows.append(record)
    if rows:
        lines += ["| option | what it does |", "|---|---|"]
        lines += [f"| `{_cell(flags)}` | {_cell(help_text)} |" for flags, help_text in rows]
        lines.append("")
    if hasattr(command, "list_commands") and len(path) > 1:  # the root's commands are listed above
        subs = [
            name for name in command.list_commands(ctx) if not getattr(command.get_command(ctx, name), "hidden", False)
        ]
        if subs:
            lines += ["Commands: " + ", ".join(f"[`{name}`](#{_anchor((*path, name))})" for name in subs), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=TARGET, help="where to write (default: docs/cli.md)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `python scripts/cli_reference.py`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
