"""Tokenisation shared by the model and the grounding, so token positions line up exactly."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = [
    "tokenize",
    "normalize",
    "STOPWORDS",
    "is_trivial_key",
    "capitalized_share",
    "is_cased_corpus",
    "CASED_CORPUS_SHARE",
]

#: A corpus whose non-initial tokens are capitalized at least this often writes names with capitals
#: (painters abstracts: 25 %); below it, it is lower-cased (SimpleQuestions: 1 %), and a capital letter
#: says nothing about a name.
CASED_CORPUS_SHARE = 0.03

_WORD = re.compile(r"\w+")

STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "couldn",
        "did",
        "didn",
        "do",
        "does",
        "doesn",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn",
        "has",
        "hasn",
        "have",
        "haven",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "isn",
        "it",
        "its",
        "itself",
        "let",
        "me",
        "more",
        "most",
        "mustn",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan",
        "she",
        "should",
        "shouldn",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn",
        "we",
        "were",
        "weren",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "with",
        "won",
        "would",
        "wouldn",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "among",
        "became",
        "become",
        "born",
        "died",
        "later",
        "many",
        "may",
        "much",
        "one",
        "since",
        "two",
        "well",
        "within",
        "without",
        "known",
        "first",
        "new",
        "year",
        "years",
        "s",
        "th",
        "de",
        "la",
        "le",
        "van",
        "von",
        "der",
        "den",
        "di",
        "da",
        "del",
        "du",
        "des",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-cased ``\\w+`` tokens; position for position the same as ``tokenize_cased``."""
    return [tok.lower() for tok in _WORD.findall(text)]


def normalize(text: str) -> str:
    """The lexicon key of a label: its tokens joined by single spaces."""
    return " ".join(tokenize(text))


def is_trivial_key(key: str) -> bool:
    """Keys that would ground noise: shorter than 3 characters, or only stopwords and digits."""
    if len(key) < 3:
        return True
    return all(tok in STOPWORDS or tok.isdigit() for tok in key.split())


def tokenize_cased(text: str) -> list[str]:
    """The same tokens as ``tokenize``, in their original case."""
    return _WORD.findall(text)


__all__ += ["tokenize_cased", "word_spans"]


def word_spans(text: str) -> list[tuple[int, int]]:
    """The character span (start, end) of each token of ``tokenize``, position for position: how a model's
    own pieces (sub-words, a masker's words) are mapped back to kgexplain's tokens."""
    return [m.span() for m in _WORD.finditer(text)]


def capitalized_share(texts: list[str]) -> float:
    """The share of tokens, not counting each text's first, that start with an upper-case letter."""
    tokens = capitalized = 0
    for text in texts:
        rest = tokenize_cased(text)[1:]
        tokens += len(rest)
        capitalized += sum(1 for tok in rest if tok[:1].isupper())
    return capitalized / tokens if tokens else 0.0


def is_cased_corpus(texts: list[str], sample: int = 2000) -> bool:
    """Whether capitals mark names in these texts (judged on an even sample of at most ``sample``)."""
    step = max(1, len(texts) // sample)
    return capitalized_share(texts[::step]) >= CASED_CORPUS_SHARE


__all__ += ["merge_spans", "spread_over_words"]


def merge_spans(tokens: list[str], spans: Sequence[tuple[int, int, str]]) -> tuple[list[str], list[tuple[int, int]]]:
    """``tokens`` with each span ``(start, end, token)`` (token positions, in order, not overlapping) replaced by
    its one ``token``; and, per position of the result, the tokens ``(start, end)`` of ``tokens`` it stands for.
    How entity tokens enter a model's input: a grounded span becomes its entity's token."""
    merged: list[str] = []
    positions: list[tuple[int, int]] = []
    at = 0
    for start, end, token in spans:
        if start < at or end <= start or end > len(tokens):
            raise ValueError(f"span ({start}, {end}) overlaps another or lies outside {len(tokens)} tokens")
        merged.extend(tokens[at:start])
        positions.extend((k, k + 1) for k in range(at, start))
        merged.append(token)
        positions.append((start, end))
        at = end
    merged.extend(tokens[at:])
    positions.extend((k, k + 1) for k in range(at, len(tokens)))
    return merged, positions


def spread_over_words(values: np.ndarray, positions: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per-position ``values`` of a merged input (``merge_spans``) back on the original tokens: the first
    ``len(values)`` positions' tokens, each position's value shared equally by the tokens it stands for (so
    the sum over a span is the position's value, and the sum over the text is unchanged)."""
    values = np.asarray(values, dtype=np.float64)
    widths = np.asarray([end - start for start, end in positions[: len(values)]], dtype=np.int64)
    return np.repeat(values / np.maximum(widths, 1), widths)
