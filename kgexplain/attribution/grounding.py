"""Tokens and n-grams to knowledge-graph entities, by labels, aliases and demonyms.

Keys are normalised labels (lower-cased ``\\w+`` tokens joined by spaces) of 1 to ``max_ngram`` tokens;
keys shorter than 3 characters, or made only of stopwords and digits, are dropped. Texts are matched
greedily left to right, longest n-gram first. An ambiguous key resolves to the entity with the most
facts (in- plus out-degree), then the smallest IRI, so grounding is deterministic.

With ``cased`` tokens given, ``ground`` keeps only mentions whose first token starts with a capital
letter in the original text (proper nouns, demonyms, movements): this drops most label noise such as
"life", "time" or "work" grounding to films or abstract items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..text import is_trivial_key, normalize

__all__ = ["Lexicon", "Mention", "ground"]


@dataclass(frozen=True)
class Mention:
    start: int        # first token position
    end: int          # one past the last token position
    entity: str       # entity IRI
    surface: str


class Lexicon:
    def __init__(self, entries: dict[str, str], max_ngram: int, ambiguous: int) -> None:
        self.entries = entries
        self.max_ngram = max_ngram
        self.ambiguous = ambiguous

    @classmethod
    def build(cls, labels: Iterable[tuple[str, str]],
              degree: dict[str, int] | Callable[[list[str]], dict[str, int]] | None = None, *,
              max_ngram: int = 4, exclude: Iterable[str] = ()) -> Lexicon:
        """``labels`` are (entity IRI, label text) pairs; ``exclude`` lists entity IRIs never to ground.
        ``degree`` (a mapping, or a function called once with the entities that share a key) breaks ties."""
        banned = set(exclude)
        candidates: dict[str, set[str]] = {}
        for entity, text in labels:
            if entity in banned:
                continue
            key = normalize(text)
            if not key or is_trivial_key(key) or key.count(" ") >= max_ngram:
                continue
            candidates.setdefault(key, set()).add(entity)
        contested = sorted({e for ents in candidates.values() if len(ents) > 1 for e in ents})
        weights = degree(contested) if callable(degree) else (degree or {})
        entries = {key: min(ents, key=lambda e: (-weights.get(e, 0), e)) for key, ents in candidates.items()}
        ambiguous = sum(1 for ents in candidates.values() if len(ents) > 1)
        return cls(entries, max_ngram, ambiguous)

    def __len__(self) -> int:
        return len(self.entries)


def ground(tokens: list[str], lexicon: Lexicon, cased: list[str] | None = None) -> list[Mention]:
    """Greedy longest-match mentions in ``tokens`` (lower-cased). If ``cased`` (the same tokens in their
    original case) is given, a mention must start with an upper-case letter."""
    mentions = []
    i, n = 0, len(tokens)
    while i < n:
        for size in range(min(lexicon.max_ngram, n - i), 0, -1):
            key = " ".join(tokens[i:i + size])
            entity = lexicon.entries.get(key)
            if entity is not None and (cased is None or cased[i][:1].isupper()):
                mentions.append(Mention(i, i + size, entity, key))
                i += size
                break
        else:
            i += 1
    return mentions
