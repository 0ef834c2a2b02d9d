"""Namespaces and the one place where kgexplain mints IRIs.

Own terms live under ``kgx:`` = https://w3id.org/kgexplain/ns# ; instances under a configurable
base IRI (``KGX_BASE`` / ``Settings.base_iri``). Wikidata keeps its own IRIs.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

from pyoxigraph import NamedNode

__all__ = [
    "KGX",
    "WD",
    "WDT",
    "RDF",
    "RDFS",
    "SKOS",
    "SCHEMA",
    "XSD",
    "PROV",
    "MLS",
    "SYN",
    "DEFAULT_BASE",
    "PREFIXES",
    "Minter",
    "local_id",
    "entity_token",
    "is_entity_token",
    "STAGING_MARK",
    "PENDING_MARK",
    "staging_token",
    "staging_graph",
    "pending_marker",
    "PrivateGraph",
    "private_graph",
]

KGX = "https://w3id.org/kgexplain/ns#"
WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEMA = "http://schema.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
PROV = "http://www.w3.org/ns/prov#"
MLS = "http://www.w3.org/ns/mls#"
SYN = "https://w3id.org/kgexplain/synthetic/"
DEFAULT_BASE = "https://w3id.org/kgexplain/id/"

PREFIXES: dict[str, str] = {
    "kgx": KGX,
    "wd": WD,
    "wdt": WDT,
    "rdf": RDF,
    "rdfs": RDFS,
    "skos": SKOS,
    "schema": SCHEMA,
    "xsd": XSD,
    "prov": PROV,
    "mls": MLS,
    "syn": SYN,
}


def local_id(iri: str) -> str:
    """The last path or fragment segment of an IRI: ``Q42`` for ``wd:Q42``."""
    return re.split(r"[/#]", iri.rstrip("/#"))[-1]


def entity_token(iri: str) -> str:
    """The one token that stands for an entity in a model's input (``--entity-tokens``): its prefixed name
    under ``PREFIXES`` (``wd:Q42``, ``syn:Q2001``), else the whole IRI in angle brackets. A word token is
    ``\\w+`` (``text.tokenize``), so it never contains ``:`` or ``<``: entity tokens and words never meet."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and re.fullmatch(r"[\w.-]+", iri[len(namespace) :]):
            return f"{prefix}:{iri[len(namespace) :]}"
    return f"<{iri}>"


def is_entity_token(token: str) -> bool:
    """Whether a model-input token is an ``entity_token`` (and not a word, nor ``<pad>`` or ``<unk>``)."""
    return ":" in token


@lru_cache(maxsize=65536)
def _quote(text: str) -> str:
    return quote(text, safe="") or "_"


def _slug(part: object) -> str:
    # positions and indexes are most of the parts minted (one IRI per token): no quoting needed
    return str(part) if type(part) is int else _quote(str(part))


class Minter:
    """Mints every instance IRI kgexplain writes, under one base IRI."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not re.match(r"^[a-z][a-z0-9+.-]*://", base):
            raise ValueError(f"base IRI must be absolute, got {base!r}")
        self.base = base if base.endswith(("/", "#")) else base + "/"

    def _iri(self, *parts: object) -> str:
        return self.base + "/".join(_slug(p) for p in parts)

    # graphs -----------------------------------------------------------------------------
    def kg_graph(self, name: str = "kg") -> NamedNode:
        return NamedNode(self._iri("graph", "kg", name))

    def dataset_graph(self, dataset: str) -> NamedNode:
        return NamedNode(self._iri("graph", "dataset", dataset))

    def run_graph(self, run_id: str) -> NamedNode:
        return NamedNode(self._iri("graph", "run", run_id))

    def catalog_graph(self) -> NamedNode:
        """Where run records (status, provenance) live: one graph, small."""
        return NamedNode(self._iri("graph", "catalog"))

    # resources --------------------------------------------------------------------------
    def dataset(self, dataset: str) -> str:
        return self._iri("dataset", dataset)

    def document(self, dataset: str, doc_id: str) -> str:
        return self._iri("doc", dataset, doc_id)

    def run(self, run_id: str) -> str:
        return self._iri("run", run_id)

    def token(self, run_id: str, doc_index: int, position: int) -> str:
        return self._iri("run", run_id, "tok", doc_index, position)

    def token_prefix(self, run_id: str) -> str:
        """``token(run_id, i, p)`` is this prefix followed by ``i/p``."""
        return self._iri("run", run_id, "tok") + "/"

    def mention(self, run_id: str, doc_index: int, start: int) -> str:
        return self._iri("run", run_id, "mention", doc_index, start)

    def mention_prefix(self, run_id: str) -> str:
        """``mention(run_id, i, s)`` is this prefix followed by ``i/s``."""
        return self._iri("run", run_id, "mention") + "/"

    def prediction(self, run_id: str, doc_index: int) -> str:
        return self._iri("run", run_id, "pred", doc_index)

    def layer(self, run_id: str, layer: str) -> str:
        return self._iri("run", run_id, "layer", layer)

    def neuron(self, run_id: str, layer: str, index: int) -> str:
        return self._iri("run", run_id, "layer", layer, index)

    def neuron_token(self, run_id: str, layer: str, index: int, rank: int) -> str:
        return self._iri("run", run_id, "layer", layer, index, "token", rank)

    def activation(self, run_id: str, doc_index: int, layer: str) -> str:
        return self._iri("run", run_id, "act", doc_index, layer)

    def influence(self, run_id: str, entity: str, class_name: str | None = None) -> str:
        """An entity's influence in a mining run; with ``class_name`` (more than two classes), its influence
        for that class, one-vs-rest."""
        key = entity if class_name is None else f"{entity}|{class_name}"
        return self._iri("run", run_id, "influence", _digest(key))

    def class_label(self, dataset: str, name: str) -> str:
        """A class of a dataset with more than two classes (a ``kgx:ClassLabel``, a rule's consequent); its last
        segment is the class name, percent-encoded (two classes keep ``kgx:Pos`` and ``kgx:Neg``)."""
        return self._iri("class", dataset, name)

    def rule(self, run_id: str, rule_key: str) -> str:
        return self._iri("run", run_id, "rule", _digest(rule_key))

    def redescription(self, run_id: str, key: str) -> str:
        return self._iri("run", run_id, "redescription", _digest(key))

    def setting(self, run_id: str, name: str) -> str:
        """A run's ``mls:HyperParameterSetting`` for the setting ``name``."""
        return self._iri("run", run_id, "setting", name)

    def implementation(self, role: str, name: str) -> str:
        """An ``mls:Implementation`` (role model, method or miner), shared across runs."""
        return self._iri("implementation", role, name)

    def model(self, source: str, digest: str) -> str:
        """A user's own model (``kgx:ExternalModel``), shared by the runs that explain it: one IRI per
        source (spec with its path) and content hash."""
        return self._iri("model", _digest(f"{source}|{digest}"))

    def concept(self, kind: str, prop: str, value: str) -> str:
        """Concepts, like items, are shared across runs."""
        return self._iri("concept", _digest(f"{kind}|{prop}|{value}"))

    def item(self, direction: str, prop: str, value: str) -> str:
        """Items are shared across runs: the same (direction, property, value) is one IRI."""
        return self._iri("item", _digest(f"{direction}|{prop}|{value}"))


# Graphs being written: private until complete. ------------------------------------------------------
# One scheme, ``<final>--<role>-<token>``: ``staging`` holds the new triples of ``<final>`` until they replace
# (or are added to) it; ``pending`` is a one-triple marker graph that exists while ``<final>`` itself is written
# in place, so ``<final>`` is private until the marker goes. The token starts with the UTC time it was made, so
# a sweep can tell an orphan's age from its name alone.

STAGING_MARK = "--staging-"
PENDING_MARK = "--pending-"
_PRIVATE = re.compile(
    r"^(?P<final>.+)--(?P<role>staging|pending)"
    r"(?:-(?P<time>\d{8}T\d{6}Z)-[0-9a-f]+)?$"
)


def staging_token() -> str:
    """A fresh token for the graphs of one write: ``20260101T120000Z-1a2b3c4d``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def staging_graph(graph: NamedNode, token: str) -> NamedNode:
    """Where the new triples of ``graph`` are written before one update moves (or adds) them into it."""
    return NamedNode(f"{graph.value}{STAGING_MARK}{token}")


def pending_marker(graph: NamedNode, token: str) -> NamedNode:
    """The marker graph that keeps ``graph`` private while it is written in place."""
    return NamedNode(f"{graph.value}{PENDING_MARK}{token}")


@dataclass(frozen=True)
class PrivateGraph:
    """A staging or pending-marker graph, read back from its IRI."""

    iri: str
    final: str  # the graph it stages, or that it keeps private
    role: str  # "staging" or "pending"
    started: datetime | None  # None: ``<final>--staging``, the older name with no token


def private_graph(iri: str) -> PrivateGraph | None:
    """``iri`` as a staging or pending-marker graph, or None for any other graph."""
    found = _PRIVATE.match(iri)
    if found is None or (found["role"] == "pending" and found["time"] is None):
        return None
    started = datetime.strptime(found["time"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if found["time"] else None
    return PrivateGraph(iri, found["final"], found["role"], started)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


# N-Triples term serialisers: the pipeline writes raw triples as text and bulk-loads them. ----------
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def nt_iri(iri: str) -> str:
    return f"<{iri}>"


def nt_str(text: str, lang: str | None = None) -> str:
    body = f'"{str(text).translate(_ESCAPES)}"'
    return f"{body}@{lang}" if lang else body


def nt_int(value: int) -> str:
    return f'"{int(value)}"^^<{XSD}integer>'


def nt_float(value: float) -> str:
    return f'"{float(value)!r}"^^<{XSD}double>'


def nt_bool(value: bool) -> str:
    return f'"{"true" if value else "false"}"^^<{XSD}boolean>'


def nt_datetime(value: str) -> str:
    return f'"{value}"^^<{XSD}dateTime>'


__all__ += ["nt_iri", "nt_str", "nt_int", "nt_float", "nt_bool", "nt_datetime"]
