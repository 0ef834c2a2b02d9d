"""The main paper's CNN (Nikolov & d'Aquin 2020, App. A), in torch.

word ids (max 500) → embedding 50 → Conv1D 50×11 → ReLU → MaxPool 10 → Conv1D 50×5 → ReLU → MaxPool 45
→ Dense(1) → sigmoid; with more than two classes (issue #19, ``n_classes``) Dense(k) → softmax. With 'valid' convolutions a 500-token input runs 500 → 490 → 49 → 45 → 1. The last
pool spans the whole remaining sequence; its size is derived from ``max_len`` so that other lengths
(at least ``MIN_LEN`` tokens) work the same way. The activations are modules, not functional calls, so SHAP's
DeepExplainer can hook every non-linearity.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

__all__ = ["TextCNN", "CNNHead", "MIN_LEN"]

MIN_LEN = 11 + 10 * 5 - 1  # shortest input the two convolutions and the first pool accept: 60


class TextCNN(nn.Module):
    """``forward(ids)`` gives P(positive); ``head(embedded)`` is the part attribution explains."""

    embedding_layer = "embedding"
    #: Captured by ``models.activations.capture``: both convolutions after ReLU (max over time; relu2's max
    #: is pool2's output) and the dense logit.
    activation_layers = ("head.relu1", "head.relu2", "head.dense")

    def __init__(
        self,
        vocab_size: int,
        max_len: int = 500,
        embedding_dim: int = 50,
        filters: int = 50,
        window1: int = 11,
        pool1: int = 10,
        window2: int = 5,
        n_classes: int = 2,
    ) -> None:
        super().__init__()
        if max_len < MIN_LEN:
            raise ValueError(f"the CNN needs at least {MIN_LEN} tokens of input, got max_len={max_len}")
        self.config = dict(
            vocab_size=vocab_size,
            max_len=max_len,
            embedding_dim=embedding_dim,
            filters=filters,
            window1=window1,
            pool1=pool1,
            window2=window2,
        )
        if n_classes > 2:  # a binary model's config stays as it was, so saved binary models load unchanged
            self.config["n_classes"] = n_classes
        self.max_len = max_len
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.head = CNNHead(max_len, embedding_dim, filters, window1, pool1, window2, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedding(ids))


class CNNHead(nn.Module):
    """Everything after the embedding: (batch, length, dim) embeddings → (batch, 1) probabilities of the positive
    class, or (batch, k) class probabilities (softmax) with ``n_classes`` = k > 2."""

    def __init__(
        self, max_len: int, embedding_dim: int, filters: int, window1: int, pool1: int, window2: int, n_classes: int = 2
    ) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.conv1 = nn.Conv1d(embedding_dim, filters, window1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool1d(pool1)
        self.conv2 = nn.Conv1d(filters, filters, window2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool1d(self.shapes(max_len)[2])
        self.dense = nn.Linear(filters, n_classes if n_classes > 2 else 1)
        self.sigmoid = nn.Sigmoid()
        if n_classes > 2:
            self.softmax = nn.Softmax(dim=1)

    def logit(self, embedded: torch.Tensor) -> torch.Tensor:
        """The dense layer's output before the sigmoid (what LRP explains)."""
        x = embedded.transpose(1, 2)
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.dense(x.flatten(1))

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        if self.n_classes > 2:
            return self.softmax(self.logit(embedded))
        return self.sigmoid(self.logit(embedded))

    def shapes(self, length: int) -> list[int]:
        """Sequence lengths after conv1, pool1, conv2, pool2 for an input of ``length`` tokens."""
        a = length - self.conv1.kernel_size[0] + 1
        b = a // cast(int, self.pool1.kernel_size)  # built from ints: never a tuple
        c = b - self.conv2.kernel_size[0] + 1
        return [a, b, c, c // cast(int, getattr(self, "pool2", nn.MaxPool1d(c)).kernel_size)]
