"""Token ids for the models: 0 is padding, 1 is unknown."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import torch

__all__ = ["Vocabulary", "PAD", "UNK"]

PAD, UNK = 0, 1


class Vocabulary:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = ["<pad>", "<unk>", *tokens]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[list[str]], min_count: int = 1, max_size: int | None = 50_000) -> Vocabulary:
        counts = Counter(tok for toks in texts for tok in toks)
        ranked = [t for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
        return cls(ranked[:max_size] if max_size else ranked)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, docs: list[list[str]], max_len: int, pad_front: bool = False) -> torch.Tensor:
        """A (n, max_len) long tensor of the first ``max_len`` tokens, padded at the end (or the front)."""
        out = torch.zeros((len(docs), max_len), dtype=torch.long)
        for i, toks in enumerate(docs):
            ids = [self.index.get(t, UNK) for t in toks[:max_len]]
            if ids:
                if pad_front:
                    out[i, max_len - len(ids) :] = torch.tensor(ids)
                else:
                    out[i, : len(ids)] = torch.tensor(ids)
        return out

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.tokens[2:], ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        return cls(json.loads(path.read_text()))
