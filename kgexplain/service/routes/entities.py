"""``/api/entities/{id}``: an entity's facts, influence, and the rules about it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pyoxigraph import NamedNode

from ...queries import load_query
from ...vocab import SYN, WD, local_id
from ..errors import NotFound, Unprocessable
from ..state import StateDep

__all__ = ["router", "entity"]

router = APIRouter()


@router.get("/api/entities/{entity_id}", summary="An entity: its facts, influence, and the rules about it")
def entity(
    state: StateDep,
    entity_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]+$", description="Q-id (Q183)")],
    iri: Annotated[str | None, Query(description="The entity's full IRI, when not a Wikidata or demo Q-id.")] = None,
) -> dict[str, Any]:
    store, index = state.store, state.index
    if iri is not None:
        try:
            NamedNode(iri)
        except ValueError as exc:
            raise Unprocessable(f"iri: not an IRI ({exc})") from None
    for candidate in [iri] if iri else [WD + entity_id, SYN + entity_id]:
        found = store.select(load_query("kg/entity_label"), entity=NamedNode(candidate))
        if found.height:
            break
    else:
        raise NotFound(f"the store holds no facts about {iri or entity_id}", title="No such entity")
    node = NamedNode(candidate)
    facts = store.select(load_query("kg/entity_facts"), entity=node)
    influence = store.select(load_query("mining/entity_influence"), entity=node)
    covering = store.select(load_query("rules/rules_covering"), entity=node)
    covered_by = index.ranked(covering["rule"].to_list() if covering.height else [])
    return {
        "iri": candidate,
        "id": local_id(candidate),
        "label": found["label"][0],
        "facts": facts.to_dicts(),
        "influence": [
            {k: v for k, v in row.items() if k != "class" or v is not None} | {"run": local_id(row["run"])}
            for row in influence.to_dicts()
        ],  # "class": with more than two classes (issue #19)
        "rules_covering": index.summaries(covered_by),
        "rules_mentioning": index.summaries(index.ranked(index.mentioning(candidate))),
    }
