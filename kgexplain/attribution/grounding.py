"""Tokens and n-grams to knowledge-graph entities, by labels, aliases and demonyms.

Keys are normalised labels (lower-cased ``\\w+`` tokens joined by spaces) of 1 to ``max_ngram`` tokens;
keys shorter than 3 characters, or made only of stopwords and digits, are dropped. Texts are matched
greedily left to right, longest n-gram first. An ambiguous key resolves by default to the entity with the
most facts (in- plus out-degree), then the smallest IRI, so grounding is deterministic; ``disambiguate``
re-links it by the document's context where that entity shares no fact with the document's other
entities and another candidate does.

With ``cased`` tokens given, ``ground`` keeps only mentions whose first token starts with a capital
letter in the original text (proper nouns, demonyms, movements): this drops most label noise such as
"life", "time" or "work" grounding to films or abstract items.

Person names: ``person_names`` finds the names in a text that start with a given name ("John Miller",
"Jan van Eyck"); ``ground`` given their spans makes no mention of a part of such a name ("John" alone is
not John Lasseter, "Jan" is not January), only of a longer match that starts with it ("Saint Petersburg").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ..text import is_trivial_key, normalize

__all__ = [
    "Lexicon",
    "Mention",
    "ground",
    "person_names",
    "given_names",
    "disambiguate",
    "first_occurrences",
    "NAME_PARTICLES",
    "PLACE_OVER_NAME_BELOW",
]

#: Lower-case words that join the parts of a person name ("Jan van Eyck", "Anthony van der Weyden").
NAME_PARTICLES: frozenset[str] = frozenset(
    [
        "van",
        "von",
        "de",
        "der",
        "den",
        "di",
        "da",
        "del",
        "della",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ter",
        "ten",
        "te",
        "y",
        "zu",
        "af",
        "av",
    ]
)

#: A word that a place is called and fewer people than this bear as first name is read as the place
#: ("Florence": 3 people in the painters KG, "Virginia": 9); from this many on, as a given name ("George": 109).
PLACE_OVER_NAME_BELOW = 10

_WORD = re.compile(r"\w+")  # the words of text.tokenize, position for position
_INITIAL_GAP = re.compile(r"\.\s+")


@dataclass(frozen=True)
class Mention:
    start: int  # first token position
    end: int  # one past the last token position
    entity: str  # entity IRI
    surface: str


class Lexicon:
    """``entries``: key → the entity it grounds to by default; ``candidates``: every ambiguous key → all its
    entities, the default first (most facts, then smallest IRI); ``given_names``: keys read as first names."""

    def __init__(
        self,
        entries: dict[str, str],
        max_ngram: int,
        ambiguous: int,
        candidates: dict[str, tuple[str, ...]] | None = None,
        given_names: AbstractSet[str] = frozenset(),
    ) -> None:
        self.entries = entries
        self.max_ngram = max_ngram
        self.ambiguous = ambiguous
        self.candidates = candidates or {}
        self.given_names = frozenset(given_names)

    @classmethod
    def build(
        cls,
        labels: Iterable[tuple[str, str]],
        degree: dict[str, int] | Callable[[list[str]], dict[str, int]] | None = None,
        *,
        max_ngram: int = 4,
        exclude: Iterable[str] = (),
        silence: Iterable[str] = (),
        given_names: Iterable[str] = (),
    ) -> Lexicon:
        """``labels`` are (entity IRI, label text) pairs; ``exclude`` lists entity IRIs never to ground (their
        keys stay for other entities); ``silence`` lists entities whose keys ground nothing at all (a month's
        name is a date, whatever else is called so). ``degree`` (a mapping, or a function called once with the
        entities that share a key) breaks ties."""
        banned, quiet = set(exclude), set(silence)
        candidates: dict[str, set[str]] = {}
        silenced: set[str] = set()
        for entity, text in labels:
            key = normalize(text)
            if entity in quiet:
                silenced.add(key)
            if entity in banned or entity in quiet:
                continue
            if not key or is_trivial_key(key) or key.count(" ") >= max_ngram:
                continue
            candidates.setdefault(key, set()).add(entity)
        for key in silenced:
            candidates.pop(key, None)
        contested = sorted({e for ents in candidates.values() if len(ents) > 1 for e in ents})
        weights = degree(contested) if callable(degree) else (degree or {})
        ranked = {
            key: tuple(sorted(ents, key=lambda e: (-weights.get(e, 0), e)))
            for key, ents in candidates.items()
            if len(ents) > 1
        }
        entries = {key: ranked[key][0] if key in ranked else next(iter(ents)) for key, ents in candidates.items()}
        return cls(entries, max_ngram, len(ranked), ranked, frozenset(given_names))

    @functools.cached_property
    def longest(self) -> dict[str, int]:
        """First word of a key → the most words a key that starts with it has: ``ground`` tries no longer
        span there, and moves on at once from a word no key starts with (most words of a text)."""
        out: dict[str, int] = {}
        for key in self.entries:
            first, size = key.split(" ", 1)[0], key.count(" ") + 1
            if size > out.get(first, 0):
                out[first] = size
        return out

    def entities(self, key: str) -> tuple[str, ...]:
        """Every entity ``key`` may ground to, the default first (none: not a key)."""
        if key in self.candidates:
            return self.candidates[key]
        return (self.entries[key],) if key in self.entries else ()

    def __len__(self) -> int:
        return len(self.entries)


def ground(
    tokens: list[str], lexicon: Lexicon, cased: list[str] | None = None, *, names: Sequence[tuple[int, int]] = ()
) -> list[Mention]:
    """Greedy longest-match mentions in ``tokens`` (lower-cased). If ``cased`` (the same tokens in their
    original case) is given, a mention must start with an upper-case letter. ``names`` are token spans
    (start, end) of person names (``person_names``): a match inside one is not made unless it starts
    where the name starts and is longer than one token."""
    inside = [-1] * len(tokens)  # per token, the start of the person name around it
    ends: dict[int, int] = {}
    for start, end in names:
        ends[start] = end
        for k in range(start, min(end, len(tokens))):
            inside[k] = start
    mentions = []
    i, n = 0, len(tokens)
    longest = lexicon.longest
    while i < n:
        for size in range(min(lexicon.max_ngram, n - i, longest.get(tokens[i], 0)), 0, -1):
            key = " ".join(tokens[i : i + size])
            entity = lexicon.entries.get(key)
            if entity is None or (cased is not None and not cased[i][:1].isupper()):
                continue
            name = inside[i]
            if name >= 0 and i + size <= ends[name] and not (i == name and size > 1):
                continue  # a given or family name, or another part, of a longer person name
            mentions.append(Mention(i, i + size, entity, key))
            i += size
            break
        else:
            i += 1
    return mentions


def person_names(text: str, given: AbstractSet[str]) -> list[tuple[int, int]]:
    """Token spans (start, end) of the person names in ``text``: a capitalised word that is a given name
    (lower-cased, in ``given``) followed by more capitalised words, with particles (``NAME_PARTICLES``)
    between them; an acronym (two capitals or more: "RA", "CBE") ends it. Words belong to one name when only spaces, a hyphen or an apostrophe separate them, or
    a full stop after an initial ("J. Smith"); a comma or any other mark ends the name."""
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]

    def joined(k: int) -> bool:  # word k continues the name that word k - 1 is part of
        gap = text[words[k - 1][2] : words[k][1]]
        if gap.isspace() or gap in ("-", "'", "\u2019"):
            return True
        prev = words[k - 1][0]
        return len(prev) == 1 and prev.isupper() and _INITIAL_GAP.fullmatch(gap) is not None

    spans = []
    k, n = 0, len(words)
    while k < n:
        word = words[k][0]
        if not (word[:1].isupper() and word.lower() in given):
            k += 1
            continue
        end, j = k + 1, k + 1
        while j < n and joined(j):
            if words[j][0][:1].isupper() and not (len(words[j][0]) > 1 and words[j][0].isupper()):
                end = j = j + 1
            elif words[j][0] in NAME_PARTICLES:
                j += 1
            else:
                break
        if end > k + 1:
            spans.append((k, end))
        k = end
    return spans


def given_names(labels: Iterable[tuple[str, str]], people: AbstractSet[str], *, min_people: int = 2) -> dict[str, int]:
    """Words read as given names, each with how many people bear it: the first word of the labels of at
    least ``min_people`` of ``people`` (entity IRIs), among their (entity, label) pairs in ``labels``. Only
    labels of two words or more count, and no stopword ("The Edge") or word shorter than 3 letters."""
    users: dict[str, set[str]] = {}
    for entity, text in labels:
        if entity in people:
            words = normalize(text).split()
            if len(words) >= 2 and words[0].isalpha() and not is_trivial_key(words[0]):
                users.setdefault(words[0], set()).add(entity)
    return {word: len(who) for word, who in users.items() if len(who) >= min_people}


def disambiguate(
    mentions: list[Mention], lexicon: Lexicon, neighbours: Mapping[str, AbstractSet[str]]
) -> list[Mention]:
    """One document's mentions, each of an ambiguous key re-linked by the document's context: the entities
    of its mentions of other keys (as grounded by default). A candidate scores one per context entity it
    is, or shares a fact with (``neighbours``: entity → the entities it shares a fact with, either
    direction). The default (most facts) stays unless it scores nothing and another candidate scores; the
    best scoring one then wins, ties going to the one with more facts."""
    contexts: dict[str, set[str]] = {}
    out = []
    for m in mentions:
        choices = lexicon.candidates.get(m.surface)
        if choices:
            if m.surface not in contexts:
                contexts[m.surface] = {x.entity for x in mentions if x.surface != m.surface}
            context = contexts[m.surface]
            links = {e: len((neighbours.get(e) or set()) & context) + (e in context) for e in choices}
            best = max(choices, key=links.__getitem__)
            if links.get(m.entity, 0) == 0 and links[best] > 0:
                m = Mention(m.start, m.end, best, m.surface)
        out.append(m)
    return out


def first_occurrences(mentions: list[Mention]) -> list[Mention]:
    """The first mention of each entity in a document, in order (a hyperlink-like reading)."""
    seen: set[str] = set()
    out = []
    for m in mentions:
        if m.entity not in seen:
            seen.add(m.entity)
            out.append(m)
    return out
