"""The recurrent classifiers: the main paper's Bi-LSTM and LSTM, and a GRU for REAT.

- ``BiLSTMClassifier`` (main paper, App. A): embedding 50 → Bi-LSTM 100 × 2 returning the whole
  sequence (max 500 tokens) → global max pool over time → Dense(1) → sigmoid.
- ``LSTMClassifier`` (the paper's tweet model): max 40 tokens → embedding 128 → LSTM 32 → Dense(1) →
  sigmoid, reading the last hidden state.
- ``GRUClassifier`` (REAT paper): embedding 300 → GRU 150 → Dense(1) → sigmoid on the last state.

With more than two classes (issue #19, ``n_classes`` = k) the output layer is Dense(k) → softmax.

Like Keras' default, texts are padded at the *front* for these models, so the last hidden state follows
the last real token. Each model exposes ``embedding`` and ``head`` (embedded → probability), which is
what the explainers use; the recurrent layer is ``head.rnn`` and the output layer ``head.dense``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RNNHead", "BiLSTMClassifier", "LSTMClassifier", "GRUClassifier"]


class RNNHead(nn.Module):
    """embedded (batch, length, dim) → P(positive) (batch, 1), through one recurrent layer."""

    def __init__(
        self, cell: str, embedding_dim: int, hidden: int, bidirectional: bool, pooling: str, n_classes: int = 2
    ) -> None:
        super().__init__()
        self.n_classes = n_classes
        if cell not in ("lstm", "gru") or pooling not in ("last", "max"):
            raise ValueError(f"unsupported recurrent head {cell}/{pooling}")
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.cell, self.pooling, self.bidirectional = cell, pooling, bidirectional
        self.rnn = rnn(embedding_dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.dense = nn.Linear(hidden * (2 if bidirectional else 1), n_classes if n_classes > 2 else 1)
        self.sigmoid = nn.Sigmoid()
        if n_classes > 2:
            self.softmax = nn.Softmax(dim=1)

    def features(self, embedded: torch.Tensor) -> torch.Tensor:
        """The vector the dense layer reads: max over time, or the final state(s)."""
        out, _ = self.rnn(embedded)
        if self.pooling == "max":
            return out.max(dim=1).values
        if self.bidirectional:
            half = out.shape[-1] // 2
            return torch.cat([out[:, -1, :half], out[:, 0, half:]], dim=-1)
        return out[:, -1, :]

    def logit(self, embedded: torch.Tensor) -> torch.Tensor:
        return self.dense(self.features(embedded))

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        if self.n_classes > 2:
            return self.softmax(self.logit(embedded))
        return self.sigmoid(self.logit(embedded))


class _RecurrentClassifier(nn.Module):
    embedding_layer = "embedding"
    #: Captured by ``models.activations.capture``: the recurrent outputs (max over time) and the dense logit.
    activation_layers = ("head.rnn", "head.dense")
    padding = "pre"
    cell = "lstm"
    bidirectional = False
    pooling = "last"
    defaults: dict[str, int] = {}

    def __init__(
        self,
        vocab_size: int,
        max_len: int | None = None,
        embedding_dim: int | None = None,
        hidden: int | None = None,
        n_classes: int = 2,
    ) -> None:
        super().__init__()
        max_len = max_len or self.defaults["max_len"]
        embedding_dim = embedding_dim or self.defaults["embedding_dim"]
        hidden = hidden or self.defaults["hidden"]
        self.config = dict(vocab_size=vocab_size, max_len=max_len, embedding_dim=embedding_dim, hidden=hidden)
        if n_classes > 2:  # a binary model's config stays as it was, so saved binary models load unchanged
            self.config["n_classes"] = n_classes
        self.max_len = max_len
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.head = RNNHead(self.cell, embedding_dim, hidden, self.bidirectional, self.pooling, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedding(ids))


class BiLSTMClassifier(_RecurrentClassifier):
    cell, bidirectional, pooling = "lstm", True, "max"
    defaults = {"max_len": 500, "embedding_dim": 50, "hidden": 100}


class LSTMClassifier(_RecurrentClassifier):
    cell, bidirectional, pooling = "lstm", False, "last"
    defaults = {"max_len": 40, "embedding_dim": 128, "hidden": 32}


class GRUClassifier(_RecurrentClassifier):
    cell, bidirectional, pooling = "gru", False, "last"
    defaults = {"max_len": 500, "embedding_dim": 300, "hidden": 150}
