"""What every explainer shares: the ``Attribution`` result and one batching loop over documents."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError, ModelError
from ..models.training import TrainedModel
from ..models.vocabulary import PAD

__all__ = [
    "Attribution",
    "OnBatch",
    "OnRows",
    "OrderedRows",
    "REFERENCE_SIZE",
    "ADDITIVITY_TOLERANCE",
    "batched_attribution",
    "collect_rows",
    "embedding_and_head",
    "length_sorted_batches",
    "reference_embeddings",
]

#: The main paper's reference set: the first 500 training texts.
REFERENCE_SIZE = 500
#: Largest |Σ relevance − (f(x) − f(reference))| accepted from methods that promise additivity.
ADDITIVITY_TOLERANCE = 1e-3

OnBatch = Callable[[int], None] | None
#: Called after each batch with its documents' token relevance and P(positive), in document order (the
#: explain stage writes each batch to the store while the next one is explained).
OnRows = Callable[[list[np.ndarray], np.ndarray], None] | None


@dataclass
class Attribution:
    method: str
    relevance: list[np.ndarray]  # per document: one score per non-padding token, in order
    predictions: np.ndarray  # P(positive) per document
    expected_value: float  # E[f(reference)]
    max_additivity_error: float  # max over documents of |Σφ − (f(x) − E[f(ref)])|
    reference: str
    #: documents the model read only in part (a transformer's max length): index → (words explained, words)
    truncated: dict[int, tuple[int, int]] = field(default_factory=dict)


def _no_cudnn(device: torch.device) -> AbstractContextManager[object]:
    # cuDNN computes RNN gradients only in training mode; attribution runs in eval mode.
    return torch.backends.cudnn.flags(enabled=False) if device.type == "cuda" else torch.enable_grad()


def batched_attribution(
    trained: TrainedModel,
    texts: list[str],
    attribute: Callable[[torch.Tensor], np.ndarray | tuple[np.ndarray, np.ndarray | None]],
    *,
    method: str,
    expected: float,
    reference: str,
    batch_size: int,
    device: str,
    logit: bool = False,
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
) -> Attribution:
    """Runs ``attribute(embedded batch) -> (batch, length, dim) values`` over ``texts`` in batches and
    turns the values into token scores; the additivity error compares Σ values with the explained
    output (probability, or logit when ``logit``) minus ``expected``. ``attribute`` may return
    ``(values, outputs)`` when it has seen the explained output at each document (saves a forward pass)."""
    model = trained.model.to(device).eval()
    ids = trained.encode(texts)
    relevance: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    worst = 0.0
    dev = torch.device(device)
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size].to(dev)
        with torch.no_grad():
            emb = model.embedding(batch)  # type: ignore[operator]  # nn.Module attributes are typed Tensor | Module
        with _no_cudnn(dev), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            answer = attribute(emb)
        # an explainer that saw the model's outputs at the documents returns them with the values;
        # otherwise one forward pass gives the prediction and the explained output
        values, seen = answer if isinstance(answer, tuple) else (answer, None)
        values = np.asarray(values).reshape(emb.shape[0], emb.shape[1], emb.shape[2])
        if seen is not None and seen.shape == (emb.shape[0],):
            out = torch.as_tensor(seen)
        else:
            with torch.no_grad():
                out = (model.head.logit(emb) if logit else model.head(emb)).squeeze(1).cpu()  # type: ignore[operator]
        target = out.numpy()
        probs.append((torch.sigmoid(out) if logit else out).numpy())
        per_position = values.sum(axis=2)
        worst = max(worst, float(np.abs(per_position.sum(axis=1) - (target - expected)).max()))
        collect_rows(per_position, batch, probs[-1], relevance, on_batch, on_rows)
    predictions = np.concatenate(probs) if probs else np.zeros(0, dtype=np.float32)
    return Attribution(method, relevance, predictions, expected, worst, reference)


def collect_rows(
    per_position: np.ndarray,
    batch: torch.Tensor,
    predictions: np.ndarray,
    relevance: list[np.ndarray],
    on_batch: OnBatch,
    on_rows: OnRows,
) -> None:
    """The end of every explainer's batch: drop the padding positions of each row of ``per_position``
    (batch, length), append the rows to ``relevance``, and report the batch to the callbacks."""
    mask = (batch != PAD).cpu().numpy()
    rows = [row[m] for row, m in zip(per_position, mask, strict=True)]
    relevance.extend(rows)
    if on_rows:
        on_rows(rows, predictions)
    if on_batch:
        on_batch(len(batch))


def length_sorted_batches(lengths: torch.Tensor, batch_size: int, window: int = 1) -> Iterator[torch.Tensor]:
    """Row indices of ``lengths``, ``batch_size`` at a time. With ``window`` > 1, the rows of each run of
    ``window`` batches are sorted by length (longest first, ties in document order), so that a batch's rows
    are of similar length; 1 keeps document order."""
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    span = batch_size * max(1, window)
    for start in range(0, len(lengths), span):
        index = torch.arange(start, min(len(lengths), start + span))
        if window > 1:
            index = index[torch.argsort(lengths[index], descending=True, stable=True)]
        yield from index.split(batch_size)


class OrderedRows:
    """Per-position scores of documents explained out of order (``length_sorted_batches``), kept as token
    rows in document order: each time the documents after the last ones handed on are complete, they go
    to ``on_rows`` (which, like ``collect_rows``, always sees document order)."""

    def __init__(self, ids: torch.Tensor, on_rows: OnRows = None) -> None:
        self.ids, self.on_rows = ids, on_rows
        self.relevance: list[np.ndarray] = []
        self.predictions = np.zeros(len(ids), dtype=np.float32)
        self._pending: dict[int, np.ndarray] = {}

    def add(self, index: torch.Tensor, per_position: np.ndarray, predictions: np.ndarray) -> None:
        """Scores (rows, length) and predictions (rows,) of the documents ``index``."""
        for row, i in enumerate(index.tolist()):
            self._pending[i] = per_position[row]
            self.predictions[i] = predictions[row]
        start = stop = len(self.relevance)
        while stop in self._pending:
            stop += 1
        if stop > start:
            done = np.stack([self._pending.pop(i) for i in range(start, stop)])
            collect_rows(
                done, self.ids[start:stop], self.predictions[start:stop].copy(), self.relevance, None, self.on_rows
            )


def embedding_and_head(trained: TrainedModel, device: str, method: str) -> tuple[torch.nn.Embedding, torch.nn.Module]:
    """The model's ``embedding`` layer and ``head`` (on ``device``, eval mode), which the hand-written
    propagation rules (LRP, REAT) walk; a clear error when the model has not both."""
    model = trained.model.to(device).eval()
    embed, head = getattr(model, "embedding", None), getattr(model, "head", None)
    if not isinstance(embed, torch.nn.Embedding) or head is None:
        raise ModelError(
            f"{method} needs a model with an `embedding` layer and a `head`; the {trained.name} model "
            f"({type(model).__name__}) has not"
        )
    return embed, head


def reference_embeddings(trained: TrainedModel, reference_texts: list[str], device: str) -> torch.Tensor:
    if not reference_texts:
        raise InputError("this method needs reference texts (the first training texts); none were given")
    ids = trained.encode(reference_texts[:REFERENCE_SIZE]).to(device)
    with torch.no_grad():
        return trained.model.to(device).embedding(ids)  # type: ignore[operator]  # nn.Module attributes are typed Tensor | Module
