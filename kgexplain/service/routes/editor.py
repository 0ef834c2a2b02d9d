"""``/query``: a SPARQL editor for people, and the static files it needs (``/static/editor.js``, ``.css``).

The page is server-rendered (``pages.query_page``): a text area prefilled with the store's prefixes and an
example, a choice of example queries over the rules and runs, and a Run button. ``editor.js`` sends the query
to ``/sparql`` and shows the answer as a table; it is a file of this origin, so the default policy
(``script-src 'self'``) runs it and no inline script is needed. The examples are ``static/examples/*.rq``,
each a valid query whose first comment line is ``Title: what it shows``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ...vocab import DEFAULT_BASE, PREFIXES
from ..errors import NotFound
from ..pages import query_page
from ..state import StateDep

__all__ = ["router", "Example", "EDITOR_PREFIXES", "examples", "prefix_block", "static_file", "query_html", "static"]

router = APIRouter(include_in_schema=False)

#: The prefixes every query of the editor starts with: kgexplain's own, then those the examples' vocabularies use.
EDITOR_PREFIXES: dict[str, str] = {
    **PREFIXES,
    "owl": "http://www.w3.org/2002/07/owl#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
}
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
_PREFIX_LINE = re.compile(r"^\s*PREFIX\s+([\w-]*):\s*<([^>]*)>\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Example:
    key: str  # the file's name without .rq
    title: str
    text: str  # the query under the editor's prefix block


def prefix_block(base_iri: str = DEFAULT_BASE) -> str:
    """The ``PREFIX`` lines every query of the editor starts with; ``id:`` is the store's base for instances."""
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in {**EDITOR_PREFIXES, "id": base_iri}.items())


@cache
def examples(base_iri: str = DEFAULT_BASE) -> tuple[Example, ...]:
    """The example queries, by file name: each file's opening comment, the editor's prefix block, then the
    query (its own PREFIX lines dropped; they must agree with the block)."""
    found = []
    folder = files("kgexplain.service").joinpath("static", "examples")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".rq"):
            continue
        lines = entry.read_text(encoding="utf-8").splitlines()
        title = lines[0].lstrip("# ").split(":", 1)[0] if lines and lines[0].startswith("#") else entry.name
        for line in lines:
            match = _PREFIX_LINE.match(line)
            if match and EDITOR_PREFIXES.get(match[1]) != match[2]:
                raise ValueError(f"example {entry.name}: PREFIX {match[1]}: <{match[2]}> differs from the editor's")
        comments = list(itertools.takewhile(lambda line: line.startswith("#"), lines))
        body = "\n".join(line for line in lines[len(comments) :] if not _PREFIX_LINE.match(line)).strip()
        found.append(
            Example(
                entry.name.removesuffix(".rq"),
                title,
                "".join(c + "\n" for c in comments) + prefix_block(base_iri) + "\n" + body + "\n",
            )
        )
    return tuple(found)


@cache
def static_file(name: str) -> tuple[bytes, str, str]:
    """A file of ``static/`` (not its subfolders) as ``(bytes, media type, ETag)``; NotFound otherwise."""
    media = next((m for suffix, m in _STATIC_TYPES.items() if name.endswith(suffix)), None)
    entry = files("kgexplain.service").joinpath("static", name)
    if media is None or "/" in name or name.startswith(".") or not entry.is_file():
        raise NotFound(f"no static file {name!r}")
    data = entry.read_bytes()
    return data, media, '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


@router.get("/query", response_class=HTMLResponse)
def query_html(state: StateDep, query: str | None = None, example: str | None = None) -> HTMLResponse:
    """The editor, holding ``query`` when given (a link from elsewhere), else the chosen or first example."""
    shown = examples(state.config.base_iri)
    chosen = next((e for e in shown if e.key == example), shown[0] if shown else None)
    if query is not None:
        text, chosen = query, None
    else:
        text = chosen.text if chosen else prefix_block(state.config.base_iri)
    return HTMLResponse(query_page(text, [(e.key, e.title, e.text) for e in shown], chosen.key if chosen else None))


@router.get("/static/{name}")
def static(name: str, request: Request) -> Response:
    data, media, etag = static_file(name)
    headers = {"etag": etag, "cache-control": "no-cache"}  # revalidated on each use: a new release shows at once
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media, headers=headers)
