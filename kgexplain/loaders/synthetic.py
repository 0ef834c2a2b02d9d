"""A built-in planted-bias dataset: a small knowledge graph and texts whose label depends on a KG fact.

Every text is a short biography of an invented painter who was born in one city. The label is 1 when
that city lies in the *planted country* (``P17`` = Varnia) and 0 otherwise, flipped with probability
``noise``. The city names are invented, so the only way to the label is the city token, and the only
general explanation is the KG fact: ``country(x, Varnia) → Pos``. Cities, countries, continents and
occupations carry Wikidata-style facts (``wdt:P17``, ``wdt:P30``, ``wdt:P31``, ``wdt:P36``,
``wdt:P1549``) under the ``syn:`` namespace, so the rest of the pipeline treats them like Wikidata.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from ..store import RawTriple
from ..vocab import RDFS, SCHEMA, SYN, WD, WDT, nt_iri, nt_str
from .datasets import Dataset, Document

__all__ = [
    "SyntheticSet",
    "make_synthetic",
    "make_synthetic_classes",
    "PLANTED_COUNTRY",
    "PLANTED_PROPERTY",
    "PLANTED_CLASSES",
]

PLANTED_PROPERTY = WDT + "P17"
PLANTED_COUNTRY = SYN + "Q2001"  # "Varnia"
#: The three-class set's planted facts (issue #19): class name → the country (``P17``) its birth cities lie in.
PLANTED_CLASSES = {"museum": SYN + "Q2001", "music": SYN + "Q2004", "sport": SYN + "Q2005"}  # Varnia, Belloria, Kestia

_COUNTRIES = [  # (qid, name, demonym, continent qid)
    ("Q2001", "Varnia", "Varnian", "Q1001"),
    ("Q2002", "Oskland", "Osklander", "Q1001"),
    ("Q2003", "Temaria", "Temarian", "Q1001"),
    ("Q2004", "Belloria", "Bellorian", "Q1002"),
    ("Q2005", "Kestia", "Kestian", "Q1002"),
    ("Q2006", "Drumland", "Drumlander", "Q1002"),
]
_CONTINENTS = [("Q1001", "Aurelia"), ("Q1002", "Borea")]
_CLASSES = [
    ("Q10", "city"),
    ("Q11", "country"),
    ("Q12", "continent"),
    ("Q13", "occupation"),
    ("Q14", "human settlement"),
]
_OCCUPATIONS = ["painter", "engraver", "draughtsman", "miniaturist", "fresco painter", "etcher"]
_PROPERTIES = [
    ("P17", "country"),
    ("P30", "continent"),
    ("P31", "instance of"),
    ("P36", "capital"),
    ("P279", "subclass of"),
    ("P1549", "demonym"),
    ("P106", "occupation"),
]
_SYLLABLES = [
    "bra",
    "cor",
    "del",
    "fen",
    "gal",
    "hor",
    "ist",
    "jor",
    "kal",
    "lum",
    "mor",
    "nesh",
    "ost",
    "pra",
    "quel",
    "ros",
    "sten",
    "tir",
    "ulm",
    "vol",
    "wen",
    "xan",
    "yor",
    "zel",
]
_FIRST = [
    "Anna",
    "Pieter",
    "Giulia",
    "Hendrik",
    "Marta",
    "Jacob",
    "Lucia",
    "Tomas",
    "Elena",
    "Willem",
    "Sofia",
    "Matteo",
    "Clara",
    "Jan",
    "Rosa",
    "Aert",
]
_SENTENCES = [
    "{name} was a {occupation} born in {city} .",
    "{name} , a {occupation} from {city} , painted altarpieces and portraits .",
    "Born in {city} , {name} trained as a {occupation} in a local workshop .",
    "{name} was a {occupation} who spent an early career in {city} .",
]
_FILLERS = [
    "The works show careful attention to light and colour .",
    "Several drawings survive in private collections .",
    "The style was influenced by older masters .",
    "Records of the workshop are incomplete .",
    "Later commissions included religious scenes and landscapes .",
    "Little is known about the family .",
    "Some attributions remain uncertain .",
]


@dataclass
class SyntheticSet:
    dataset: Dataset
    kg: list[RawTriple]
    cities: dict[str, tuple[str, str]]  # city IRI -> (name, country IRI)

    @property
    def planted_entities(self) -> set[str]:
        return {iri for iri, (_name, country) in self.cities.items() if country == PLANTED_COUNTRY}


def _city_names(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.sample(_SYLLABLES, 2)).capitalize() + rng.choice(["a", "o", "en", "ia", "burg"]))
    return sorted(names)


def make_synthetic(
    n_docs: int = 2000, *, cities_per_country: int = 10, noise: float = 0.1, seed: int = 7
) -> SyntheticSet:
    """The planted-bias set: ``n_docs`` texts split half train, half test, and their KG."""
    rng = random.Random(seed)
    names = _city_names(rng, cities_per_country * len(_COUNTRIES))
    cities: dict[str, tuple[str, str]] = {}
    for i, name in enumerate(names):
        country = SYN + _COUNTRIES[i % len(_COUNTRIES)][0]
        cities[f"{SYN}Q{3001 + i}"] = (name, country)
    kg = list(_kg_triples(cities))
    city_list = sorted(cities)
    docs = []
    for i in range(n_docs):
        city, text = _biography(rng, city_list, cities)
        label = int(cities[city][1] == PLANTED_COUNTRY)
        if rng.random() < noise:
            label = 1 - label
        split = "train" if i < n_docs // 2 else "test"
        docs.append(Document(id=f"syn-{i:05d}", text=text, label=label, split=split))
    dataset = Dataset(
        "synthetic",
        docs,
        ("other", "planted"),
        notes=[f"label = 1 iff the birth city has P17 {PLANTED_COUNTRY}, noise {noise}"],
    )
    return SyntheticSet(dataset, kg, cities)


def _biography(rng: random.Random, city_list: list[str], cities: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """A random biography: (the birth city's IRI, the text)."""
    city = rng.choice(city_list)
    name = f"{rng.choice(_FIRST)} {''.join(rng.sample(_SYLLABLES, 2)).capitalize()}"
    occupation = rng.choice(_OCCUPATIONS)
    parts = [rng.choice(_SENTENCES).format(name=name, occupation=occupation, city=cities[city][0])]
    parts += rng.sample(_FILLERS, rng.randint(1, 3))
    rng.shuffle(parts[1:])
    return city, " ".join(parts)


def make_synthetic_classes(
    n_docs: int = 1200,
    *,
    planted: dict[str, str] | None = None,
    cities_per_country: int = 10,
    noise: float = 0.1,
    seed: int = 7,
) -> SyntheticSet:
    """A planted-bias set with more than two classes (issue #19): the birth cities lie in the countries of
    ``planted`` (class name → country IRI, default ``PLANTED_CLASSES``: a different country per class), and a
    text's label is the class of its city's country, replaced by another class with probability ``noise``.
    Each class's general explanation is its own fact, ``country(x, <its country>) → <class>``. Classes are
    named in sorted order (as a label column's values are read); the KG is the two-class set's."""
    planted = dict(planted or PLANTED_CLASSES)
    names_of = sorted(planted)
    rng = random.Random(seed)
    names = _city_names(rng, cities_per_country * len(_COUNTRIES))
    cities: dict[str, tuple[str, str]] = {}
    for i, name in enumerate(names):
        cities[f"{SYN}Q{3001 + i}"] = (name, SYN + _COUNTRIES[i % len(_COUNTRIES)][0])
    kg = list(_kg_triples(cities))
    label_of = {country: names_of.index(cls) for cls, country in planted.items()}
    city_list = sorted(iri for iri, (_name, country) in cities.items() if country in label_of)
    docs = []
    for i in range(n_docs):
        city, text = _biography(rng, city_list, cities)
        label = label_of[cities[city][1]]
        if rng.random() < noise:
            label = rng.choice([k for k in range(len(names_of)) if k != label])
        split = "train" if i < n_docs // 2 else "test"
        docs.append(Document(id=f"syn-{i:05d}", text=text, label=label, split=split))
    facts = ", ".join(f"{cls} iff P17 {planted[cls]}" for cls in names_of)
    dataset = Dataset(
        "synthetic-classes",
        docs,
        tuple(names_of),
        notes=[f"{len(names_of)} classes by the birth city's country: {facts}; noise {noise}"],
    )
    return SyntheticSet(dataset, kg, cities)


def _kg_triples(cities: dict[str, tuple[str, str]]) -> Iterator[RawTriple]:
    label, desc = nt_iri(RDFS + "label"), nt_iri(SCHEMA + "description")

    def wdt(p: str) -> str:
        return nt_iri(WDT + p)

    def syn(q: str) -> str:
        return nt_iri(SYN + q)

    for pid, plabel in _PROPERTIES:
        yield nt_iri(WD + pid), label, nt_str(plabel, "en")
    for qid, name in _CLASSES:
        yield syn(qid), label, nt_str(name, "en")
    yield syn("Q10"), wdt("P279"), syn("Q14")
    for qid, name in _CONTINENTS:
        yield syn(qid), label, nt_str(name, "en")
        yield syn(qid), wdt("P31"), syn("Q12")
    capitals: dict[str, str] = {}
    for iri, (_name, country) in sorted(cities.items()):
        capitals.setdefault(country, iri)
    for qid, name, demonym, continent in _COUNTRIES:
        c = syn(qid)
        yield c, label, nt_str(name, "en")
        yield c, desc, nt_str("invented country", "en")
        yield c, wdt("P31"), syn("Q11")
        yield c, wdt("P30"), syn(continent)
        yield c, wdt("P1549"), nt_str(demonym, "en")
        yield c, wdt("P36"), nt_iri(capitals[SYN + qid])
    for i, occupation in enumerate(_OCCUPATIONS):
        o = syn(f"Q{500 + i}")
        yield o, label, nt_str(occupation, "en")
        yield o, wdt("P31"), syn("Q13")
    for iri, (name, country) in sorted(cities.items()):
        city = nt_iri(iri)
        yield city, label, nt_str(name, "en")
        yield city, desc, nt_str("invented city", "en")
        yield city, wdt("P31"), syn("Q10")
        yield city, wdt("P17"), nt_iri(country)
