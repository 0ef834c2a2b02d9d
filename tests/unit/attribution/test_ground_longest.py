"""``ground`` skips spans no key can have (``Lexicon.longest``) and finds exactly what trying every span finds."""

from __future__ import annotations

import random

from kgexplain.attribution.grounding import Lexicon, Mention, ground


def every_span(tokens: list[str], lexicon: Lexicon) -> list[Mention]:
    """Greedy longest match, trying every span up to ``max_ngram`` at every position (no shortcut)."""
    mentions, i = [], 0
    while i < len(tokens):
        for size in range(min(lexicon.max_ngram, len(tokens) - i), 0, -1):
            key = " ".join(tokens[i : i + size])
            if key in lexicon.entries:
                mentions.append(Mention(i, i + size, lexicon.entries[key], key))
                i += size
                break
        else:
            i += 1
    return mentions


def test_same_mentions_as_trying_every_span() -> None:
    rng = random.Random(11)
    words = [f"w{k}" for k in range(12)]
    for _ in range(200):
        keys = {" ".join(rng.choices(words, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 25))}
        lexicon = Lexicon({key: f"http://example.org/{n}" for n, key in enumerate(sorted(keys))}, 4, 0)
        tokens = rng.choices(words + ["other"], k=rng.randint(0, 40))
        assert ground(tokens, lexicon) == every_span(tokens, lexicon)
