"""Tokenisation shared by the model and the grounding, so token positions line up exactly."""

from __future__ import annotations

import re

__all__ = ["tokenize", "normalize", "STOPWORDS", "is_trivial_key"]

_WORD = re.compile(r"\w+")

STOPWORDS: frozenset[str] = frozenset("""
a about above after again against all am an and any are aren as at be because been before being below
between both but by can cannot could couldn did didn do does doesn doing don down during each few for from
further had hadn has hasn have haven having he her here hers herself him himself his how i if in into is
isn it its itself let me more most mustn my myself no nor not of off on once only or other ought our ours
ourselves out over own same shan she should shouldn so some such than that the their theirs them themselves
then there these they this those through to too under until up very was wasn we were weren what when where
which while who whom why with won would wouldn you your yours yourself yourselves
also among became become born died later many may much one since two well within without known first new
year years s th de la le van von der den di da del du des
""".split())


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


__all__ += ["tokenize_cased"]
