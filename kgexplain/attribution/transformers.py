"""Word relevance for a Hugging Face classifier: attributed at its input (word-piece) embeddings by captum,
then mapped back to kgexplain's words through the tokenizer's character offsets.

The explained output is P(positive class), the softmax of the model's logits at the column of the dataset's
positive class, as for kgexplain's own models. The reference of each document is the document itself with
every piece that lies in a word (a ``\\w+`` token, ``text.word_spans``) replaced by the padding piece;
special pieces ([CLS], [SEP]) and punctuation keep their place. Their embeddings are the input's, so their
relevance is zero, and Σ word relevance = f(x) − f(reference) holds for the words alone (completeness).

| method | what | cost per document |
|---|---|---|
| ig | captum ``LayerIntegratedGradients`` at ``model.get_input_embeddings()`` | ``n_steps`` forward and backward passes, batched |
| gradient-shap | captum ``GradientShap`` at the same embeddings (expected gradients between the reference and the input) | ``n_samples`` passes, one document at a time |
| deeplift | captum ``LayerDeepLift`` (rescale rule) | one pass; refused when its values do not add up to f(x) − f(reference), which attention, LayerNorm and GELU usually cause |

Pieces → words: a piece with a non-empty character span goes to the word it overlaps most, and a word's
relevance aggregates its pieces (``sum`` by default, so Σ words = Σ pieces; ``mean``, ``max``). A text longer
than the model's ``max_length`` pieces is cut where the model cuts it: its row stops at the last word the
model read, and ``Attribution.truncated`` records (words explained, words in the text).
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError, ModelError
from ..models.external import ExternalModel, TransformerParts
from ..text import word_spans
from .base import ADDITIVITY_TOLERANCE, Attribution, OnBatch, OnRows, length_sorted_batches

__all__ = [
    "TRANSFORMER_METHODS",
    "PIECE_AGGREGATIONS",
    "Batch",
    "encode",
    "piece_words",
    "words_from_pieces",
    "explain_transformer",
    "InOrder",
]

TRANSFORMER_METHODS = ("ig", "gradient-shap", "deeplift")
PIECE_AGGREGATIONS = ("sum", "mean", "max")
#: Pieces (rows × length) per forward-and-backward pass of integrated gradients: 512 rows of 32 pieces,
#: 32 rows of 512. Bounds memory on long inputs; large enough that short ones run in few passes.
PIECES_PER_PASS = 16384


@dataclass
class Batch:
    """A batch of documents encoded for the model, with what maps its pieces back to words."""

    ids: torch.Tensor  # (batch, length) piece ids, padded
    mask: torch.Tensor  # (batch, length) attention mask
    reference: torch.Tensor  # ids with every piece of a word replaced by the padding piece
    words: list[np.ndarray]  # per document, per piece: the word it belongs to, or -1
    covered: list[int]  # per document: words the model read (the row length)
    total: list[int]  # per document: words in the text
    truncated: list[bool]


def piece_words(spans: list[tuple[int, int]], offsets: np.ndarray, special: np.ndarray) -> np.ndarray:
    """For each piece (character ``offsets`` (pieces, 2)), the index of the word in ``spans`` that it overlaps
    most, or -1 for special pieces, padding and pieces outside every word (punctuation)."""
    out = np.full(len(offsets), -1, dtype=np.int64)
    if not spans:
        return out
    starts = [s for s, _e in spans]
    ends = [e for _s, e in spans]
    for j, (start, end) in enumerate(offsets.tolist()):
        if special[j] or end <= start:
            continue
        first = bisect.bisect_right(ends, start)  # the first word ending after the piece starts
        last = bisect.bisect_left(starts, end)  # words starting before the piece ends are < last
        if first >= last:
            continue
        if last - first == 1:
            out[j] = first
        else:  # a piece across words: the one it shares most characters with
            out[j] = max(range(first, last), key=lambda w: min(end, ends[w]) - max(start, starts[w]))
    return out


def words_from_pieces(values: np.ndarray, words: np.ndarray, n_words: int, aggregation: str = "sum") -> np.ndarray:
    """Word relevance (``n_words``) from piece relevance ``values``, pieces grouped by ``words``; a word
    without pieces scores 0."""
    keep = (words >= 0) & (words < n_words)
    if aggregation == "sum":
        return np.bincount(words[keep], weights=values[keep], minlength=n_words)[:n_words].astype(np.float64)
    if aggregation not in PIECE_AGGREGATIONS:
        raise InputError(f"unknown aggregation {aggregation!r}; use one of {', '.join(PIECE_AGGREGATIONS)}")
    reduce = np.mean if aggregation == "mean" else np.max
    out = np.zeros(n_words, dtype=np.float64)
    for w in np.unique(words[keep]):
        out[w] = reduce(values[keep][words[keep] == w])
    return out


def encode(model: ExternalModel, texts: list[str]) -> Batch:
    """``texts`` as one padded batch of pieces (cut at the model's max length), with their references."""
    parts = _parts(model)
    tokenizer = parts.tokenizer
    encoded = tokenizer(
        texts,
        truncation=True,
        max_length=parts.max_length,
        padding=True,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        return_tensors="np",
    )
    ids = np.asarray(encoded["input_ids"], dtype=np.int64)
    mask = np.asarray(encoded["attention_mask"], dtype=np.int64)
    offsets = np.asarray(encoded["offset_mapping"], dtype=np.int64)
    special = np.asarray(encoded["special_tokens_mask"], dtype=bool)
    reference = ids.copy()
    words, covered, total, truncated = [], [], [], []
    for i, text in enumerate(texts):
        spans = word_spans(text)
        piece_word = piece_words(spans, offsets[i], special[i] | (mask[i] == 0))
        reference[i, piece_word >= 0] = tokenizer.pad_token_id
        in_words = piece_word[piece_word >= 0]
        full = int(mask[i].sum()) >= parts.max_length
        last_end = int(offsets[i][piece_word >= 0, 1].max()) if in_words.size else 0
        cut = bool(spans) and full and last_end < spans[-1][1]
        words.append(piece_word)
        covered.append(int(in_words.max()) + 1 if cut and in_words.size else (0 if cut else len(spans)))
        total.append(len(spans))
        truncated.append(cut)
    device = torch.device(parts.device)
    return Batch(
        torch.as_tensor(ids, device=device),
        torch.as_tensor(mask, device=device),
        torch.as_tensor(reference, device=device),
        words,
        covered,
        total,
        truncated,
    )


def _parts(model: ExternalModel) -> TransformerParts:
    if model.transformer is None:
        raise InputError(f"{model.spec} is not a transformer; gradient methods need one (use --method partition)")
    return model.transformer


class _PositiveProbability(torch.nn.Module):
    """(ids, attention mask) → P(class ``column``): the output every method here explains."""

    def __init__(self, model: torch.nn.Module, column: int) -> None:
        super().__init__()
        self.model, self.column = model, column

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = self.model(input_ids=ids, attention_mask=mask).logits
        return torch.softmax(logits.float(), dim=-1)[:, self.column]


class InOrder:
    """Rows of documents explained out of order (length-sorted batches), handed to ``on_rows`` in document
    order as soon as every document before them is done."""

    def __init__(self, n: int, on_rows: OnRows = None) -> None:
        self.rows: list[np.ndarray] = []
        self.predictions = np.zeros(n, dtype=np.float64)
        self._pending: dict[int, np.ndarray] = {}
        self.on_rows = on_rows

    def add(self, index: list[int], rows: list[np.ndarray], predictions: np.ndarray) -> None:
        for i, row, p in zip(index, rows, predictions, strict=True):
            self._pending[i] = row
            self.predictions[i] = p
        start = stop = len(self.rows)
        while stop in self._pending:
            stop += 1
        if stop > start:
            done = [self._pending.pop(i) for i in range(start, stop)]
            self.rows.extend(done)
            if self.on_rows:
                self.on_rows(done, self.predictions[start:stop].copy())


def explain_transformer(
    model: ExternalModel,
    texts: list[str],
    method: str = "ig",
    *,
    positive: int = 1,
    n_steps: int = 64,
    n_samples: int = 50,
    batch_size: int = 32,
    aggregation: str = "sum",
    seed: int = 0,
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
) -> Attribution:
    """Word relevance of every text for P(class ``positive``) by ``method`` (see the module's table)."""
    if method not in TRANSFORMER_METHODS:
        raise InputError(f"unknown transformer method {method!r}; use one of {', '.join(TRANSFORMER_METHODS)}")
    if aggregation not in PIECE_AGGREGATIONS:
        raise InputError(f"unknown aggregation {aggregation!r}; use one of {', '.join(PIECE_AGGREGATIONS)}")
    parts = _parts(model)
    network = parts.model.eval()
    output = _PositiveProbability(network, positive).eval()
    embeddings = network.get_input_embeddings()
    makers: dict[str, Callable[..., Attribute]] = {
        "ig": _integrated_gradients,
        "gradient-shap": _gradient_shap,
        "deeplift": _deeplift,
    }
    attribute = makers[method](output, embeddings, n_steps=n_steps, n_samples=n_samples, seed=seed)
    lengths = (
        torch.as_tensor(
            [len(ids) for ids in parts.tokenizer(texts, truncation=True, max_length=parts.max_length)["input_ids"]]
        )
        if texts
        else torch.zeros(0)
    )
    ordered = InOrder(len(texts), on_rows)
    truncated: dict[int, tuple[int, int]] = {}
    worst, references = 0.0, np.zeros(len(texts))
    for index in length_sorted_batches(lengths, max(1, batch_size), window=8):
        rows_index = index.tolist()
        batch = encode(model, [texts[i] for i in rows_index])
        with torch.no_grad():
            fx = output(batch.ids, batch.mask)
            fb = output(batch.reference, batch.mask)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = attribute(batch).detach().float().sum(dim=-1).cpu().numpy()  # (batch, length)
        target = (fx - fb).cpu().numpy()
        rows = []
        for k, doc in enumerate(rows_index):
            in_words = batch.words[k] >= 0
            worst = max(worst, abs(float(values[k][in_words].sum()) - float(target[k])))
            rows.append(words_from_pieces(values[k], batch.words[k], batch.covered[k], aggregation))
            if batch.truncated[k]:
                truncated[doc] = (batch.covered[k], batch.total[k])
        if method == "deeplift" and worst > ADDITIVITY_TOLERANCE:
            raise ModelError(
                f"DeepLIFT values do not add up to the output of {model.spec} (off by {worst:.2g}): "
                "its rules do not cover this network's attention, LayerNorm or GELU; use --method ig"
            )
        references[rows_index] = fb.cpu().numpy()
        ordered.add(rows_index, rows, fx.cpu().numpy())
        if on_batch:
            on_batch(len(rows_index))
    reference = (
        f"per document, its word pieces replaced by {parts.tokenizer.pad_token}"
        + {"ig": f"; {n_steps} steps", "gradient-shap": f"; {n_samples} samples", "deeplift": ""}[method]
    )
    return Attribution(
        method,
        ordered.rows,
        ordered.predictions,
        float(references.mean()) if len(texts) else 0.0,
        worst,
        reference,
        truncated,
    )


Attribute = Callable[[Batch], torch.Tensor]


def _integrated_gradients(
    output: torch.nn.Module, embeddings: torch.nn.Module, *, n_steps: int, **_: object
) -> Attribute:
    from captum.attr import LayerIntegratedGradients

    ig = LayerIntegratedGradients(output, embeddings)

    def attribute(batch: Batch) -> torch.Tensor:
        per_pass = max(1, PIECES_PER_PASS // max(1, batch.ids.shape[1]))
        return ig.attribute(
            batch.ids,
            baselines=batch.reference,
            additional_forward_args=(batch.mask,),
            n_steps=n_steps,
            internal_batch_size=per_pass,
        )

    return attribute


def _gradient_shap(
    output: torch.nn.Module, embeddings: torch.nn.Module, *, n_samples: int, seed: int, **_: object
) -> Attribute:
    from captum.attr import GradientShap

    def at_embeddings(embedded: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        handle = embeddings.register_forward_hook(lambda _m, _i, _o: embedded)
        try:
            return output(ids, mask)
        finally:
            handle.remove()

    shap = GradientShap(at_embeddings)

    def attribute(batch: Batch) -> torch.Tensor:
        torch.manual_seed(seed)
        out = []
        for k in range(batch.ids.shape[0]):  # one reference per document: captum draws from one set per call
            length = int(batch.mask[k].sum())
            ids, mask = batch.ids[k : k + 1, :length], batch.mask[k : k + 1, :length]
            with torch.no_grad():
                x, b = embeddings(ids), embeddings(batch.reference[k : k + 1, :length])
            values = shap.attribute(
                x, baselines=b, n_samples=n_samples, stdevs=0.0, additional_forward_args=(ids, mask)
            )
            full = torch.zeros(1, batch.ids.shape[1], values.shape[-1], device=values.device)
            full[:, :length] = values
            out.append(full)
        return torch.cat(out)

    return attribute


def _deeplift(output: torch.nn.Module, embeddings: torch.nn.Module, **_: object) -> Attribute:
    from captum.attr import LayerDeepLift

    deeplift = LayerDeepLift(output, embeddings)

    def attribute(batch: Batch) -> torch.Tensor:
        return deeplift.attribute(batch.ids, baselines=batch.reference, additional_forward_args=(batch.mask,))

    return attribute
