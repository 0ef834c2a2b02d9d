"""Grounding quality (issue #18): each fix on a hand-made case.

Stop classes by class closure, calendar words, parts of person names, the context rule for ambiguous
labels and ``--occurrences``: first as the pure functions of ``attribution.grounding``, then through the
explain stage's ``kg_lexicon`` / ``ground_documents`` over a small knowledge graph in an in-memory store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from kgexplain.attribution.grounding import (
    Lexicon,
    Mention,
    disambiguate,
    first_occurrences,
    given_names,
    ground,
    person_names,
)
from kgexplain.cli import app
from kgexplain.config import Settings
from kgexplain.errors import InputError
from kgexplain.stages.explain import ground_documents as _ground_documents
from kgexplain.stages.explain import kg_lexicon as _lexicon
from kgexplain.store import TripleStore, open_store
from kgexplain.text import tokenize, tokenize_cased
from kgexplain.vocab import WD, WDT, Minter

KG = Minter(Settings().base_iri).kg_graph("hand")
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ALIAS = "<http://www.w3.org/2004/02/skos/core#altLabel>"


def _q(name: str) -> str:
    return WD + name


def _mentions(text: str, lexicon: Lexicon) -> list[tuple[str, str]]:
    names = person_names(text, lexicon.given_names)
    found = ground(tokenize(text), lexicon, tokenize_cased(text), names=names)
    return [(m.surface, m.entity) for m in found]


# --- person names -------------------------------------------------------------------------------------


def test_a_first_name_inside_a_person_name_grounds_nothing() -> None:
    lexicon = Lexicon.build(
        [
            ("Lasseter", "John"),
            ("Williams", "William"),
            ("Miller", "Miller"),
            ("Paris", "Paris"),
            ("Spb", "Saint Petersburg"),
            ("Eyck", "Jan van Eyck"),
        ],
        given_names={"john", "william", "saint", "jan"},
    )
    text = "John Miller met William in Paris. Saint Petersburg, John. Jan van Eyck"
    # "John" and "Miller" are parts of the name John Miller; "William" before a lower-case word stands
    # alone and grounds (only names inside a longer name are left out); "Saint Petersburg" is a longer
    # match that starts with the given name, "Jan van Eyck" the whole name; "John" after the comma is alone.
    assert _mentions(text, lexicon) == [
        ("william", "Williams"),
        ("paris", "Paris"),
        ("saint petersburg", "Spb"),
        ("john", "Lasseter"),
        ("jan van eyck", "Eyck"),
    ]
    without = ground(tokenize(text), lexicon, tokenize_cased(text))  # no name spans: the old grounding
    assert [m.surface for m in without][:2] == ["john", "miller"]


def test_person_names_follow_punctuation_particles_initials_and_acronyms() -> None:
    given = {"john", "jan", "florence", "joseph"}
    text = "Jan van der Heyden, Florence, Italy; John F. Kennedy RA and Joseph Mallord-Turner's work"
    spans = person_names(text, given)
    words = tokenize(text)
    assert [" ".join(words[a:b]) for a, b in spans] == ["jan van der heyden", "john f kennedy", "joseph mallord turner"]
    # positions are tokenize's: the spans index the same tokens ground() reads
    assert all(0 <= a < b <= len(words) for a, b in spans)
    assert person_names("John went home. Jan", given) == []  # a name needs two capitalised words


def test_given_names_come_from_people_labels() -> None:
    people = {"p1", "p2", "p3", "p4"}
    labels = [
        ("p1", "John Smith"),
        ("p2", "John Constable"),
        ("p3", "The Edge"),
        ("p4", "The Weeknd"),
        ("p1", "Johnny"),
        ("city", "Paris"),
        ("p3", "Paris Hilton"),
    ]
    assert given_names(labels, people) == {"john": 2}  # "the" is a stopword; Paris: one person
    assert given_names(labels, people, min_people=1) == {"john": 2, "paris": 1}


# --- ambiguity and occurrences -------------------------------------------------------------------------


def test_context_relinks_an_ambiguous_label_only_when_the_default_does_not_fit() -> None:
    # Florence (Alabama) has more facts, so it is the default; Florence (Italy) shares a fact with Italy
    lexicon = Lexicon.build(
        [
            ("FlorenceAL", "Florence"),
            ("FlorenceIT", "Florence"),
            ("Italy", "Italy"),
            ("Alabama", "Alabama"),
            ("Tuscany", "Tuscany"),
        ],
        {"FlorenceAL": 9, "FlorenceIT": 3},
    )
    assert lexicon.entities("florence") == ("FlorenceAL", "FlorenceIT")
    links = {"FlorenceIT": {"Italy", "Tuscany"}, "FlorenceAL": {"Alabama"}}

    def linked(text: str) -> list[str]:
        return [m.entity for m in disambiguate(ground(tokenize(text), lexicon), lexicon, links)]

    assert linked("He died in Florence, Italy") == ["FlorenceIT", "Italy"]
    assert linked("Florence, Alabama and Tuscany") == ["FlorenceAL", "Alabama", "Tuscany"]  # default fits
    assert linked("Florence") == ["FlorenceAL"]  # no context: most facts
    assert linked("Florence and Florence, Tuscany") == ["FlorenceIT", "FlorenceIT", "Tuscany"]


def test_first_occurrences_keep_the_first_mention_of_each_entity() -> None:
    mentions = [Mention(0, 1, "A", "a"), Mention(2, 3, "B", "b"), Mention(4, 5, "A", "a2"), Mention(6, 7, "C", "c")]
    assert first_occurrences(mentions) == [mentions[0], mentions[1], mentions[3]]


def test_settings_and_cli_refuse_unknown_grounding_options() -> None:
    Settings(occurrences="first-per-document", disambiguation="degree").check()
    with pytest.raises(InputError, match="--occurrences 'every'"):
        Settings(occurrences="every").check()
    with pytest.raises(InputError, match="--disambiguation 'popular'"):
        Settings(disambiguation="popular").check()
    result = CliRunner().invoke(app, ["explain", "--dataset", "x", "--model-dir", "nowhere", "--occurrences", "every"])
    assert result.exit_code == 2 and "first-per-document" in result.output


# --- through the store ----------------------------------------------------------------------------------


def _fact(s: str, p: str, o: str) -> tuple[str, str, str]:
    return f"<{_q(s)}>", f"<{WDT}{p}>", f"<{_q(o)}>"


def _label(s: str, text: str, predicate: str = LABEL) -> tuple[str, str, str]:
    return f"<{_q(s)}>", predicate, f'"{text}"@en'


@pytest.fixture(scope="module")
def store() -> Iterator[TripleStore]:
    triples = [
        # January is a month of the Gregorian calendar, a subclass of month: only the class closure finds
        # it; September (Q123) has no class at all (as in the shared subset) and a singer shares its name
        _label("Q900108", "January"),
        _label("Q900108", "Jan", ALIAS),
        _fact("Q900108", "P31", "Q18602249"),
        _fact("Q18602249", "P279", "Q5151"),
        _label("Q123", "September"),
        _label("Q230066", "September"),
        _fact("Q230066", "P31", "Q5"),
        # given names: Louis is a double name (a subclass of given name); people's labels give "john"
        _label("Q1", "Louis"),
        _fact("Q1", "P31", "Q1243157"),
        _fact("Q1243157", "P279", "Q202444"),
        _label("Q7742", "Louis XIV"),
        _fact("Q7742", "P31", "Q5"),
        _label("Q269214", "John Lasseter"),
        _label("Q269214", "John", ALIAS),
        _fact("Q269214", "P31", "Q5"),
        _label("Q2", "John Smith"),
        _fact("Q2", "P31", "Q5"),
        _label("Q3", "Paris Hilton"),
        _fact("Q3", "P31", "Q5"),
        _label("Q4", "Paris Jackson"),
        _fact("Q4", "P31", "Q5"),
        _label("Q90", "Paris"),
        _fact("Q90", "P17", "Q142"),
        _label("Q142", "France"),
        _label("Q5", "human"),
        # Florence: Alabama has more facts; Italy's is linked to Italy
        _label("Q2044", "Florence"),
        _fact("Q2044", "P17", "Q38"),
        _label("Q38", "Italy"),
        _label("Q79743", "Florence"),
        _fact("Q79743", "P131", "Q173"),
        _fact("Q79743", "P17", "Q30"),
        _fact("Q79743", "P31", "Q515"),
        _fact("Q79743", "P47", "Q9"),
        _label("Q173", "Alabama"),
        # a town called George, and ten people who bear the name: George stays a given name
        _label("Q5000", "George"),
        _fact("Q5000", "P17", "Q258"),
        _label("Q5001", "king"),
        _label("Q5002", "King Arthur"),
        _fact("Q5002", "P31", "Q5"),
        _label("Q5003", "King Lear"),
        _fact("Q5003", "P31", "Q5"),
        *[t for i in range(10) for t in (_label(f"Q51{i}", f"George Painter{i}"), _fact(f"Q51{i}", "P31", "Q5"))],
    ]
    db = open_store(None)
    db.load(triples, KG)
    yield db
    db.close()


def test_the_lexicon_leaves_out_stop_classes_by_closure_and_calendar_words(store: TripleStore) -> None:
    lexicon = _lexicon(store, KG, Settings())
    assert "january" not in lexicon.entries and "jan" not in lexicon.entries  # P31/P279* month
    assert "september" not in lexicon.entries  # calendar word: not the singer either
    assert lexicon.entries["louis xiv"] == _q("Q7742") and "louis" not in lexicon.entries  # given name item
    # "paris" is the label of a city two people bear, "king" of a common noun; "george" a town and ten people
    assert lexicon.given_names == {"john", "louis", "george"}
    old = _lexicon(store, KG, Settings(stop_classes=(), calendar_classes=(), calendar_entities=()))
    assert old.entries["january"] == _q("Q900108") and old.entries["september"] == _q("Q230066")


def test_the_pipeline_grounds_with_every_fix(store: TripleStore) -> None:
    text = "John Miller left Paris in January for Florence, Italy. In Florence John painted; Paris Hilton"
    tokens, cased = [tokenize(text)], [tokenize_cased(text)]

    def entities(settings: Settings) -> list[str]:
        lexicon = _lexicon(store, KG, settings)
        found = _ground_documents(store, KG, lexicon, [text], tokens, cased, settings)[0]
        return [f"{m.surface}={m.entity.rsplit('/', 1)[1]}" for m in found]

    assert entities(Settings()) == [
        "paris=Q90",
        "florence=Q2044",
        "italy=Q38",
        "florence=Q2044",
        "john=Q269214",
        "paris hilton=Q3",
    ]
    assert entities(Settings(occurrences="first-per-document")) == [
        "paris=Q90",
        "florence=Q2044",
        "italy=Q38",
        "john=Q269214",
        "paris hilton=Q3",
    ]
    assert entities(Settings(disambiguation="degree", ground_name_parts=True)) == [
        "john=Q269214",
        "paris=Q90",
        "florence=Q79743",
        "italy=Q38",
        "florence=Q79743",
        "john=Q269214",
        "paris hilton=Q3",
    ]
