"""Neuron activations: captured with forward hooks, one vector per document and layer.

A layer's output is reduced to one value per neuron and document: recurrent layers (``nn.LSTM``,
``nn.GRU``, batch first) and channels-first tensors ``(batch, channels, time)`` are max-pooled over time,
which is what the papers' models do themselves before their dense layer. From the raw values come the
two discrete forms the neuron-level methods use:

- *binarized* (ExplaiNN): a neuron is active iff its value is > 0 (the ReLU reading of the paper). A layer
  max-pooled over time is > 0 in nearly every document (the max of a ReLU over 400 positions), so "active"
  would say nothing there; for those layers (and the ``auto`` rule, the default) a neuron is active iff its
  pooled value is above its median over the documents — it fires more than it usually does — and never
  below the layer threshold. tanh layers get the same rule, a threshold the paper does not give;
- *binned* (redescriptions): ``b`` equal-width bins over each neuron's [min, max] across the documents
  (default 4); min falls in bin 0, max in bin b − 1, a constant neuron in bin 0.

In RDF (see ``publish.rdf.activation_triples``) one document × layer is one node with three compact
literals — the raw values as base64 float32, the active flags as a ``0``/``1`` string and the bins as a
digit string, one character per neuron — so 10k documents × 3 layers × 100 neurons is 180k triples, and
SPARQL can still test a neuron with ``SUBSTR(?active, i + 1, 1) = "1"``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from .training import TrainedModel

__all__ = ["Activations", "DEFAULT_BINS", "BIN_DIGITS", "default_layers", "capture", "binarize", "neuron_thresholds", "BINARIZE_RULES", "uniform_bins",
           "top_tokens", "encode_values", "decode_values", "encode_flags", "decode_flags", "encode_bins", "decode_bins"]

DEFAULT_BINS = 4
#: One character per bin, so a neuron's bin is one character of the document's bin string.
BIN_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class Activations:
    """Per layer: an (n_documents, n_neurons) float32 matrix, documents in input order."""

    layers: dict[str, np.ndarray]
    predictions: np.ndarray
    pooled: frozenset[str] = frozenset()      # layers reduced over time (max)

    @property
    def documents(self) -> int:
        return len(self.predictions)


def default_layers(model: nn.Module) -> list[str]:
    """The model's own ``activation_layers`` if it names them, else every leaf module that is not an
    embedding, dropout or flatten."""
    named = getattr(model, "activation_layers", None)
    if named:
        return list(named)
    skip = (nn.Embedding, nn.Dropout, nn.Flatten, nn.Identity)
    return [name for name, module in model.named_modules()
            if name and not list(module.children()) and not isinstance(module, skip)]


def _reduce(module: nn.Module, output: object) -> torch.Tensor:
    if isinstance(output, tuple):       # nn.LSTM / nn.GRU: (sequence, state)
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise InputError(f"layer {type(module).__name__} returns {type(output).__name__}, not a tensor")
    out = output.detach()
    if out.dim() == 2:
        return out
    if out.dim() == 3:
        time_axis = 1 if isinstance(module, nn.RNNBase) and module.batch_first else 2
        return out.max(dim=time_axis).values
    return out.flatten(1)


def capture(trained: TrainedModel, texts: Sequence[str], layers: Sequence[str] | None = None, *,
            batch_size: int = 128, device: str = "cpu",
            on_batch: Callable[[int], None] | None = None) -> Activations:
    """One forward pass over ``texts`` with a hook on each of ``layers`` (default: ``default_layers``)."""
    model = trained.model.to(device).eval()
    modules = dict(model.named_modules())
    names = list(layers) if layers else default_layers(model)
    unknown = [n for n in names if n not in modules or not n]
    if unknown:
        known = ", ".join(n for n in modules if n)
        raise InputError(f"no layer named {', '.join(map(repr, unknown))} in the model; its layers are: {known}")
    collected: dict[str, list[np.ndarray]] = {n: [] for n in names}
    pooled: set[str] = set()

    def hook_for(name: str) -> Callable[[nn.Module, object, object], None]:
        def hook(module: nn.Module, _inputs: object, output: object) -> None:
            tensor = output[0] if isinstance(output, tuple) else output
            if isinstance(tensor, torch.Tensor) and tensor.dim() == 3:
                pooled.add(name)
            collected[name].append(_reduce(module, output).float().cpu().numpy())
        return hook

    handles = [modules[n].register_forward_hook(hook_for(n)) for n in names]
    ids = trained.encode(list(texts))
    probs: list[np.ndarray] = []
    try:
        with torch.no_grad():
            for start in range(0, len(ids), batch_size):
                batch = ids[start:start + batch_size].to(device)
                probs.append(model(batch).reshape(len(batch)).float().cpu().numpy())
                if on_batch:
                    on_batch(len(batch))
    finally:
        for handle in handles:
            handle.remove()
    layers_out = {n: (np.concatenate(v) if v else np.zeros((0, 0), np.float32)).astype(np.float32)
                  for n, v in collected.items()}
    return Activations(layers_out, np.concatenate(probs) if probs else np.zeros(0, np.float32), frozenset(pooled))


def binarize(values: np.ndarray, threshold: float | np.ndarray = 0.0) -> np.ndarray:
    """ExplaiNN's binarization: active iff the value is above ``threshold`` (0: a ReLU fired); an array
    broadcasts, e.g. ``neuron_thresholds(...)[None, :]`` for one threshold per neuron."""
    return np.asarray(values) > threshold


BINARIZE_RULES = ("auto", "threshold")


def neuron_thresholds(values: np.ndarray, threshold: float = 0.0, *, pooled: bool = False,
                      rule: str = "auto") -> np.ndarray:
    """Each neuron's activity threshold: ``threshold`` (rule ``threshold``, or a layer not pooled over time),
    else the larger of ``threshold`` and the neuron's median over the documents (see the module docstring)."""
    if rule not in BINARIZE_RULES:
        raise InputError(f"unknown binarization rule {rule!r}; use one of {', '.join(BINARIZE_RULES)}")
    values = np.asarray(values)
    base = np.full(values.shape[1], float(threshold))
    if rule == "threshold" or not pooled or values.shape[0] == 0:
        return base
    return np.maximum(base, np.median(values, axis=0))


def uniform_bins(values: np.ndarray, bins: int = DEFAULT_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-width bins per neuron (column) over [min, max]: (codes as uint8, minima, maxima)."""
    if not 1 <= bins <= len(BIN_DIGITS):
        raise InputError(f"bins must be between 1 and {len(BIN_DIGITS)}, got {bins}")
    values = np.asarray(values, dtype=np.float64)
    low, high = values.min(axis=0), values.max(axis=0)
    width = np.where(high > low, high - low, 1.0)
    codes = np.floor((values - low) / width * bins).astype(np.int64)
    return np.clip(codes, 0, bins - 1).astype(np.uint8), low, high


def encode_values(row: np.ndarray) -> str:
    return base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode("ascii")


def decode_values(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").copy()


def encode_flags(row: np.ndarray) -> str:
    return "".join("1" if v else "0" for v in np.asarray(row, dtype=bool))


def decode_flags(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) == ord("1")


def encode_bins(row: np.ndarray) -> str:
    return "".join(BIN_DIGITS[int(v)] for v in row)


def decode_bins(text: str) -> np.ndarray:
    return np.asarray([BIN_DIGITS.index(c) for c in text], dtype=np.uint8)


def _reduce_live(module: nn.Module, output: object) -> torch.Tensor:
    """``_reduce`` without detaching, for gradients."""
    if isinstance(output, tuple):
        output = output[0]
    assert isinstance(output, torch.Tensor)
    if output.dim() == 3:
        time_axis = 1 if isinstance(module, nn.RNNBase) and module.batch_first else 2
        return output.max(dim=time_axis).values
    return output if output.dim() == 2 else output.flatten(1)


def top_tokens(trained: TrainedModel, texts: Sequence[str], captured: Activations, *, documents: int = 10,
               tokens: int = 5, batch_size: int = 256, device: str = "cpu",
               on_batch: Callable[[int], None] | None = None) -> dict[str, list[list[tuple[str, float]]]]:
    """Per layer and neuron, the tokens that make the neuron fire: over the ``documents`` documents where its
    (pooled) activation is highest and positive, input × gradient of that activation at the embedding layer,
    summed per token; the ``tokens`` best with their share of the total (0–1). One backward pass serves many
    neurons at once: each row of a batch is one (neuron, document) pair and only its own neuron is summed.
    A neuron that never fires gets no tokens."""
    from .adapter import find_embedding

    model = trained.model.to(device).eval()
    modules = dict(model.named_modules())
    _name, embedding = find_embedding(model)
    ids = trained.encode(list(texts))
    out: dict[str, list[list[tuple[str, float]]]] = {}
    for layer, values in captured.layers.items():
        module = modules[layer]
        pairs = [(neuron, int(doc)) for neuron in range(values.shape[1])
                 for doc in np.argsort(-values[:, neuron], kind="stable")[:documents] if values[doc, neuron] > 0]
        scores: list[dict[int, float]] = [{} for _ in range(values.shape[1])]
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            neurons = torch.tensor([n for n, _ in chunk], device=device)
            batch = ids[[d for _, d in chunk]].to(device)
            kept: dict[str, torch.Tensor] = {}

            def keep_embedded(_m: nn.Module, _i: object, output: torch.Tensor) -> torch.Tensor:
                leaf = output.detach().requires_grad_(True)
                kept["embedded"] = leaf   # noqa: B023 - the hooks run within this iteration
                return leaf

            def keep_layer(m: nn.Module, _i: object, output: object) -> None:
                kept["layer"] = _reduce_live(m, output)   # noqa: B023 - the hooks run within this iteration

            handles = [embedding.register_forward_hook(keep_embedded), module.register_forward_hook(keep_layer)]
            try:
                with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
                    model(batch)
                    chosen = kept["layer"].gather(1, neurons[:, None]).sum()
                    (grad,) = torch.autograd.grad(chosen, kept["embedded"])
            finally:
                for handle in handles:
                    handle.remove()
            contribution = (grad * kept["embedded"]).sum(-1).detach().cpu().numpy()
            batch_ids = batch.cpu().numpy()
            for row, (neuron, _doc) in enumerate(chunk):
                for token_id, score in zip(batch_ids[row], contribution[row], strict=False):
                    if token_id > 1 and score > 0:   # not padding (0) nor the unknown word (1)
                        scores[neuron][int(token_id)] = scores[neuron].get(int(token_id), 0.0) + float(score)
            if on_batch:
                on_batch(len(chunk))
        out[layer] = []
        for per_token in scores:
            total = sum(per_token.values())
            best = sorted(per_token.items(), key=lambda kv: -kv[1])[:tokens]
            out[layer].append([(trained.vocab.tokens[t], s / total) for t, s in best] if total > 0 else [])
    return out
