"""``/api/rules``: the published rules, filtered, sorted and paged; one rule with its items' links,
coverage and provenance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pyoxigraph import NamedNode

from ...queries import load_query
from ...store import TripleStore
from ...vocab import MLS, PROV, WD, WDT, local_id
from ..errors import NotFound, Unprocessable
from ..rules import SORTS, RuleQuery
from ..state import ServiceState, StateDep

__all__ = ["router", "MAX_PAGE", "MAX_OFFSET", "list_rules", "rule_detail", "rule", "rules"]

router = APIRouter()
MAX_PAGE = 200
MAX_OFFSET = 10**9


@router.get("/api/rules", summary="Rules, filtered, sorted and paged")
def rules(
    request: Request,
    state: StateDep,
    run: Annotated[str | None, Query(description="Mining run id (default: the latest per dataset).")] = None,
    dataset: str | None = None,
    consequent: Annotated[
        str | None,
        Query(alias="class", max_length=200, description="Pos, Neg or, with more than two classes, a class name."),
    ] = None,
    measure: Annotated[str, Query(pattern="^(TC|TS|WTS|H)$")] = "H",
    min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.0,
    min_support: Annotated[int, Query(ge=0)] = 0,
    property: Annotated[str | None, Query(description="Item property: IRI or id (P27).")] = None,
    value: Annotated[str | None, Query(description="Item value: IRI, id (Q183) or literal.")] = None,
    q: Annotated[str | None, Query(description="Text in the rule's label.")] = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "confidence",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> JSONResponse:
    if consequent is not None and consequent not in state.index.classes():
        raise Unprocessable(f"class: {consequent!r} is not one of {', '.join(state.index.classes())}")
    query = RuleQuery(
        run, dataset, consequent, measure, min_confidence, min_support, property, value, q, sort, limit, offset
    )
    return JSONResponse(list_rules(state, query, request))  # plain json.dumps: the body holds JSON types only


def list_rules(state: ServiceState, query: RuleQuery, request: Request) -> dict[str, Any]:
    total, iris = state.index.page(query)
    body: dict[str, Any] = {
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
        "measure": query.measure,
        "rules": state.index.summaries(iris),
    }
    if query.offset + query.limit < total:
        body["next"] = str(request.url.include_query_params(offset=query.offset + query.limit))
    return body


@router.get("/api/rules/{run_id}/{rule_id}", summary="One rule: items, metrics, coverage, provenance")
def rule(run_id: str, rule_id: str, state: StateDep) -> dict[str, Any]:
    return rule_detail(state, run_id, rule_id)


def rule_detail(state: ServiceState, run_id: str, rule_id: str) -> dict[str, Any]:
    store, minter, index = state.store, state.minter, state.index
    found = index.get(f"{run_id}/{rule_id}")
    if found is None:
        raise NotFound(f"no published rule {run_id}/{rule_id}; list them at /api/rules", title="No such rule")
    graph = minter.run_graph(run_id)
    coverage = store.select(load_query("rules/rule_coverage_of"), graph=graph, rule=NamedNode(found["rule"]))
    entities, documents = [], []
    for kind, covered, label in coverage.iter_rows() if coverage.height else []:
        if kind == "entity":
            entities.append(
                {"iri": covered, "id": local_id(covered), "label": label, "url": f"/api/entities/{local_id(covered)}"}
            )
        else:
            documents.append(
                {
                    "iri": covered,
                    "id": local_id(covered),
                    "url": f"/api/documents/{found['dataset']}/{local_id(covered)}",
                }
            )
    record = store.select(
        load_query("catalog/run_record"), catalog=minter.catalog_graph(), run=NamedNode(minter.run(run_id))
    )
    provenance: dict[str, Any] = {"run": minter.run(run_id), "run_id": run_id}
    for prop, value in record.iter_rows() if record.height else []:
        if not prop.startswith(MLS) and prop != PROV + "wasInformedBy":  # the same facts in ML Schema / PROV-O terms
            provenance.setdefault(local_id(prop), value)
    body = dict(index.summaries([found["rule"]])[0])
    body["antecedent"] = _with_links(store, body["antecedent"])
    body.update(entities=entities, documents=documents, provenance=provenance)
    return body


def _wikidata_page(iri: str) -> str | None:
    """The wikidata.org page of a Wikidata entity or direct property IRI."""
    for prefix in (WD, WDT):
        if iri.startswith(prefix) and iri[len(prefix) :][:1] in ("P", "Q", "L"):
            return (
                "https://www.wikidata.org/wiki/" + ("Property:" if iri[len(prefix)] == "P" else "") + iri[len(prefix) :]
            )
    return None


def _with_links(store: TripleStore, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item with ``links``: its property's and value's mappings to other vocabularies found in the store
    (skos:*Match, owl:sameAs, owl:equivalent*; a wdt: property's mappings are stated on its wd: entity), and
    the Wikidata pages of both."""
    iris = {i for item in items for i in (item["property"], item["value"]) if isinstance(i, str) and "://" in i}
    iris |= {WD + i[len(WDT) :] for i in list(iris) if i.startswith(WDT)}
    frame = store.select(load_query("rules/external_links"), iri=[NamedNode(i) for i in sorted(iris)]) if iris else None
    found: dict[str, list[dict[str, str]]] = {}
    for iri, relation, linked in frame.iter_rows() if frame is not None and frame.height else []:
        found.setdefault(iri, []).append({"relation": _prefixed(relation), "target": linked})
    out = []
    for item in items:
        links = []
        for role in ("property", "value"):
            iri = str(item[role])
            for key in (iri, WD + iri[len(WDT) :] if iri.startswith(WDT) else None):
                for link in found.get(key or "", []):
                    if {"of": role, **link} not in links:  # wd:P and wdt:P often carry the same link
                        links.append({"of": role, **link})
            page = _wikidata_page(iri)
            if page:
                links.append({"of": role, "relation": "rdfs:seeAlso", "target": page})
        out.append({**item, "links": links})
    return out


def _prefixed(iri: str) -> str:
    for prefix, base in (("skos:", "http://www.w3.org/2004/02/skos/core#"), ("owl:", "http://www.w3.org/2002/07/owl#")):
        if iri.startswith(base):
            return prefix + iri[len(base) :]
    return iri
