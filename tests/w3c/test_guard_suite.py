"""The SPARQL endpoint's guard on every text of the W3C SPARQL 1.1 suites (``../shared/data/w3c-sparql11``):
valid queries and updates are let through, except what the guard refuses on purpose, and no invalid text
crashes it. Moved here from tests/unit/service/test_guard.py: its point is the real suites."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgexplain.service.guard import QueryRefused, inspect_operation

pytestmark = pytest.mark.shared

# ------------------------------------------------------------------------- the W3C SPARQL 1.1 suite

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
QT = "http://www.w3.org/2001/sw/DataAccess/tests/test-query#"
UT = "http://www.w3.org/2009/sparql/tests/test-update#"
KINDS = {
    "PositiveSyntaxTest11": "query",
    "QueryEvaluationTest": "query",
    "CSVResultFormatTest": "query",
    "PositiveUpdateSyntaxTest11": "update",
    "UpdateEvaluationTest": "update",
    "NegativeSyntaxTest11": "query",
    "NegativeUpdateSyntaxTest11": "update",
}
#: Valid texts the guard refuses on purpose, and why.
NOT_ACCEPTED = {
    "syntax-update-37.ru": "LOAD <remote>: relative, resolves to a file: IRI, and LOAD is http(s) only",
    "load-silent.ru": "LOAD <somescheme://…>: LOAD is http(s) only",
    "load-silent-into.ru": "LOAD <somescheme://…>: LOAD is http(s) only",
}
LOAD_HOSTS = ("example.org",)


@pytest.fixture(scope="module")
def w3c_cases(shared_data: Path) -> list[tuple[str, str, Path]]:
    """(test type, expected kind, file) of every test in ``shared/data/w3c-sparql11/*/manifest.ttl``."""
    root = shared_data / "w3c-sparql11"
    if not (root / "manifest-sparql11-query.ttl").is_file():
        message = f"the W3C SPARQL 1.1 suite is not at {root} (set KGX_SHARED_DATA to point at shared/data)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    cases = set()
    for manifest in sorted(root.glob("*/manifest.ttl")):
        triples = list(ox.parse(path=str(manifest), format=ox.RdfFormat.TURTLE, base_iri=manifest.as_uri()))
        types: dict[object, set[str]] = {}
        action: dict[object, object] = {}
        for t in triples:
            p = t.predicate.value
            if p == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type":
                types.setdefault(t.subject, set()).add(t.object.value.rsplit("#", 1)[-1])
            elif p == MF + "action":
                action[t.subject] = t.object
            elif p in (QT + "query", UT + "request"):
                action.setdefault(("file", t.subject), t.object)
        for test, names in types.items():
            target = action.get(test)
            if target is not None and not isinstance(target, ox.NamedNode):
                target = action.get(("file", target))
            for name in names & KINDS.keys():
                if isinstance(target, ox.NamedNode):
                    cases.add((name, KINDS[name], Path(target.value.removeprefix("file://"))))
    assert len(cases) > 500, f"only {len(cases)} tests found under {root}"
    return sorted(cases)


def _has_service(text: str) -> bool:
    code = re.sub(r"#[^\n]*", "", text)
    return re.search(r"(?<![\w:?$])SERVICE\b", code, re.IGNORECASE) is not None


def test_w3c_valid_texts_are_accepted(w3c_cases: list[tuple[str, str, Path]]) -> None:
    wrong = []
    checked = 0
    for name, kind, path in w3c_cases:
        if name.startswith("Negative"):
            continue
        text = path.read_text(encoding="utf-8")
        checked += 1
        try:
            op = inspect_operation(
                text,
                expected=kind,
                base_iri=path.as_uri(),  # type: ignore[arg-type]
                allowed_load_hosts=LOAD_HOSTS,
            )
        except QueryRefused as exc:
            if _has_service(text):
                if exc.status != 403:
                    wrong.append(f"{path.parent.name}/{path.name}: SERVICE refused with {exc.status}: {exc}")
            elif path.name not in NOT_ACCEPTED:
                wrong.append(f"{path.parent.name}/{path.name} ({name}): refused: {exc}")
            continue
        if _has_service(text):
            wrong.append(f"{path.parent.name}/{path.name}: has a SERVICE and was accepted")
        elif op.kind != kind:
            wrong.append(f"{path.parent.name}/{path.name}: read as {op.kind}, is a {kind}")
        elif path.name in NOT_ACCEPTED:
            wrong.append(f"{path.parent.name}/{path.name}: accepted, but listed in NOT_ACCEPTED")
    assert checked > 450
    assert not wrong, "\n".join(wrong)


def test_w3c_invalid_texts_never_crash(w3c_cases: list[tuple[str, str, Path]]) -> None:
    negatives = [(kind, path) for name, kind, path in w3c_cases if name.startswith("Negative")]
    assert len(negatives) > 50
    for kind, path in negatives:
        with contextlib.suppress(QueryRefused):
            inspect_operation(
                path.read_text(encoding="utf-8"),
                expected=kind,  # type: ignore[arg-type]
                base_iri=path.as_uri(),
            )
