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
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..attribution.base import length_sorted_batches
from ..errors import InputError
from .cnn import CNNHead, TextCNN
from .training import TrainedModel
from .vocabulary import PAD

__all__ = [
    "Activations",
    "DEFAULT_BINS",
    "BIN_DIGITS",
    "default_layers",
    "capture",
    "binarize",
    "neuron_thresholds",
    "BINARIZE_RULES",
    "uniform_bins",
    "top_tokens",
    "encode_values",
    "decode_values",
    "encode_flags",
    "decode_flags",
    "encode_bins",
    "decode_bins",
    "encode_value_rows",
    "encode_flag_rows",
    "encode_bin_rows",
]

DEFAULT_BINS = 4
#: One character per bin, so a neuron's bin is one character of the document's bin string.
BIN_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class Activations:
    """Per layer: an (n_documents, n_neurons) float32 matrix, documents in input order."""

    layers: dict[str, np.ndarray]
    predictions: np.ndarray  # P(positive) per document; (documents, k) for k > 2 classes
    pooled: frozenset[str] = frozenset()  # layers reduced over time (max)
    #: the token ids the model read, one row per document in input order (``top_tokens`` reuses them)
    ids: torch.Tensor | None = field(default=None, repr=False, compare=False)

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
    return [
        name
        for name, module in model.named_modules()
        if name and not list(module.children()) and not isinstance(module, skip)
    ]


def _reduce(module: nn.Module, output: object) -> torch.Tensor:
    if isinstance(output, tuple):  # nn.LSTM / nn.GRU: (sequence, state)
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


def _skippable_conv(model: nn.Module) -> nn.Conv1d | None:
    """kgexplain's CNN's first convolution when its work over the end padding can be skipped exactly: a
    plain (stride 1, unpadded, undilated, ungrouped) convolution reading embeddings padded at the end with
    a zero row; else None (other models run over the whole padded input)."""
    head = getattr(model, "head", None)
    if type(model) is not TextCNN or type(head) is not CNNHead:
        return None
    conv = head.conv1
    if not (conv.stride == (1,) and conv.padding == (0,) and conv.dilation == (1,) and conv.groups == 1):
        return None
    return None if bool(model.embedding.weight.detach()[PAD].abs().max() > 0) else conv


def _lengths(ids: torch.Tensor) -> torch.Tensor:
    """Per row of post-padded ``ids``: one past its last token (0 for an empty text)."""
    if ids.numel() == 0:
        return torch.zeros(len(ids), dtype=torch.long)
    return ((ids != PAD) * torch.arange(1, ids.shape[1] + 1)).max(dim=1).values


class _FirstConvUpTo:
    """Hooks on the CNN's first convolution (see ``_skippable_conv``) that run it over the windows of the
    first ``length`` input positions only and give its bias beyond them. That is its output over the whole
    padded input, since the input is zero from ``length`` on and a window of zeros gives exactly the bias
    (``attribution.deeplift_batched`` does the same); the cost follows the texts' lengths. Every other
    module, and any other hook on this one, sees the full-length tensors."""

    def __init__(self, conv: nn.Conv1d) -> None:
        self.conv = conv
        self.length = 0  # the longest text of the batch about to run
        self._positions = 0

    def attach(self) -> list[RemovableHandle]:
        return [
            self.conv.register_forward_pre_hook(self._cut, prepend=True),
            self.conv.register_forward_hook(self._extend, prepend=True),
        ]

    def _cut(self, _module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...] | None:
        (x,) = inputs
        window = self.conv.kernel_size[0]
        self._positions = x.shape[2] - window + 1
        keep = max(1, self.length) + window - 1
        return (x[..., :keep],) if keep < x.shape[2] else None

    def _extend(self, _module: nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor | None:
        missing = self._positions - output.shape[2]
        if missing <= 0:
            return None
        bias = self.conv.bias
        rest = bias.detach() if bias is not None else output.new_zeros(self.conv.out_channels)
        return torch.cat([output, rest.to(output.dtype)[None, :, None].expand(output.shape[0], -1, missing)], dim=2)


def _batches(rows: int, batch_size: int, lengths: torch.Tensor | None) -> list[torch.Tensor]:
    """Indices of ``rows`` rows, a batch at a time: in order, or, given the rows' text ``lengths`` (where the
    first convolution's cost follows a batch's longest text), sorted by length, longest first."""
    if lengths is None:
        if batch_size < 1:
            raise InputError(f"batch size must be at least 1, got {batch_size}")
        return list(torch.arange(rows).split(batch_size))
    return list(length_sorted_batches(lengths, batch_size, window=rows // max(1, batch_size) + 1))


def _in_document_order(rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``rows`` computed for the documents ``order`` (a permutation), put back in document order."""
    out = np.empty_like(rows)
    out[order] = rows
    return out


def capture(
    trained: TrainedModel,
    texts: Sequence[str],
    layers: Sequence[str] | None = None,
    *,
    batch_size: int = 128,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
) -> Activations:
    """One forward pass over ``texts`` with a hook on each of ``layers`` (default: ``default_layers``).
    kgexplain's CNN takes the documents sorted by length and its first convolution skips the padding's
    windows (see ``_FirstConvUpTo``); the values are those of the whole padded input, in input order."""
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

    ids = trained.encode(list(texts))
    conv = _skippable_conv(model)
    cut = _FirstConvUpTo(conv) if conv is not None else None
    lengths = _lengths(ids) if cut is not None else None
    batches = _batches(len(ids), batch_size, lengths)
    handles = cut.attach() if cut is not None else []
    handles += [modules[n].register_forward_hook(hook_for(n)) for n in names]
    probs: list[np.ndarray] = []
    try:
        with torch.no_grad():
            for index in batches:
                batch = ids[index].to(device)
                if cut is not None and lengths is not None:
                    cut.length = int(lengths[index].max())
                out = model(batch).reshape(len(batch), -1)  # P(positive), or k class probabilities
                probs.append((out[:, 0] if out.shape[1] == 1 else out).float().cpu().numpy())
                if on_batch:
                    on_batch(len(batch))
    finally:
        for handle in handles:
            handle.remove()
    order = torch.cat(batches).numpy() if batches else np.zeros(0, np.int64)
    layers_out = {
        n: _in_document_order(np.concatenate(v).astype(np.float32), order) if v else np.zeros((0, 0), np.float32)
        for n, v in collected.items()
    }
    predictions = _in_document_order(np.concatenate(probs), order) if probs else np.zeros(0, np.float32)
    return Activations(layers_out, predictions, frozenset(pooled), ids)


def binarize(values: np.ndarray, threshold: float | np.ndarray = 0.0) -> np.ndarray:
    """ExplaiNN's binarization: active iff the value is above ``threshold`` (0: a ReLU fired); an array
    broadcasts, e.g. ``neuron_thresholds(...)[None, :]`` for one threshold per neuron."""
    return np.asarray(values) > threshold


BINARIZE_RULES = ("auto", "threshold")


def neuron_thresholds(
    values: np.ndarray, threshold: float = 0.0, *, pooled: bool = False, rule: str = "auto"
) -> np.ndarray:
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
    return encode_flag_rows(np.asarray(row, dtype=bool).reshape(1, -1))[0]


def decode_flags(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) == ord("1")


def encode_bins(row: np.ndarray) -> str:
    return encode_bin_rows(np.asarray(row).reshape(1, -1))[0]


def decode_bins(text: str) -> np.ndarray:
    return np.asarray([BIN_DIGITS.index(c) for c in text], dtype=np.uint8)


_FLAG_CHARS = np.frombuffer(b"01", dtype=np.uint8)
_BIN_CHARS = np.frombuffer(BIN_DIGITS.encode("ascii"), dtype=np.uint8)


def _text_rows(chars: np.ndarray) -> list[str]:
    """The rows of an (n, k) array of ASCII codes as n strings of k characters."""
    n, k = chars.shape
    if k == 0:
        return [""] * n
    text = np.ascontiguousarray(chars, dtype=np.uint8).tobytes().decode("ascii")
    return [text[i : i + k] for i in range(0, n * k, k)]


def encode_value_rows(values: np.ndarray) -> list[str]:
    """``encode_values`` of each row of ``values`` (n, k)."""
    data = np.ascontiguousarray(values, dtype="<f4")
    if data.shape[1] == 0:
        return [""] * data.shape[0]
    step = 4 * data.shape[1]
    raw = data.tobytes()
    return [base64.b64encode(raw[i : i + step]).decode("ascii") for i in range(0, len(raw), step)]


def encode_flag_rows(active: np.ndarray) -> list[str]:
    """``encode_flags`` of each row of ``active`` (n, k), in one pass."""
    return _text_rows(_FLAG_CHARS[np.asarray(active, dtype=bool).astype(np.intp)])


def encode_bin_rows(codes: np.ndarray) -> list[str]:
    """``encode_bins`` of each row of ``codes`` (n, k), in one pass."""
    return _text_rows(_BIN_CHARS[np.asarray(codes).astype(np.intp)])


def _reduce_live(module: nn.Module, output: object) -> torch.Tensor:
    """``_reduce`` without detaching, for gradients."""
    if isinstance(output, tuple):
        output = output[0]
    assert isinstance(output, torch.Tensor)
    if output.dim() == 3:
        time_axis = 1 if isinstance(module, nn.RNNBase) and module.batch_first else 2
        return output.max(dim=time_axis).values
    return output if output.dim() == 2 else output.flatten(1)


def top_tokens(
    trained: TrainedModel,
    texts: Sequence[str],
    captured: Activations,
    *,
    documents: int = 10,
    tokens: int = 5,
    batch_size: int | None = None,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, list[list[tuple[str, float]]]]:
    """Per layer and neuron, the tokens that make the neuron fire: over the ``documents`` documents where its
    (pooled) activation is highest and positive, input × gradient of that activation at the embedding layer,
    summed per token; the ``tokens`` best with their share of the total (0–1). One backward pass serves many
    neurons at once: each row of a batch is one (neuron, document) pair and only its own neuron is summed.
    A neuron that never fires gets no tokens. The token ids are ``captured.ids`` when ``capture`` kept them
    for these texts. ``batch_size`` rows go in one pass (default: 256; 64 for kgexplain's CNN, which takes the
    pairs sorted by length, as ``capture`` does, so that a batch's longest text is close to its others)."""
    from .adapter import find_embedding

    model = trained.model.to(device).eval()
    modules = dict(model.named_modules())
    _name, embedding = find_embedding(model)
    ids = captured.ids
    if ids is None or len(ids) != len(texts):
        ids = trained.encode(list(texts))
    ids = ids.cpu()
    conv = _skippable_conv(model)
    cut = _FirstConvUpTo(conv) if conv is not None else None
    lengths = _lengths(ids) if cut is not None else None
    if batch_size is None:
        batch_size = 256 if cut is None else 64
    out: dict[str, list[list[tuple[str, float]]]] = {}
    for layer, values in captured.layers.items():
        module = modules[layer]
        pairs = [
            (neuron, int(doc))
            for neuron in range(values.shape[1])
            for doc in np.argsort(-values[:, neuron], kind="stable")[:documents]
            if values[doc, neuron] > 0
        ]
        pair_neurons = torch.tensor([n for n, _ in pairs], dtype=torch.long)
        pair_docs = torch.tensor([d for _, d in pairs], dtype=torch.long)
        contribution: list[np.ndarray] = [np.zeros(0, np.float32)] * len(pairs)  # per pair: input × gradient
        for index in _batches(len(pairs), batch_size, lengths[pair_docs] if lengths is not None else None):
            neurons = pair_neurons[index].to(device)
            batch = ids[pair_docs[index]].to(device)
            if cut is not None and lengths is not None:
                cut.length = int(lengths[pair_docs[index]].max())
            kept: dict[str, torch.Tensor] = {}

            def keep_embedded(_m: nn.Module, _i: object, output: torch.Tensor) -> torch.Tensor:
                leaf = output.detach().requires_grad_(True)
                kept["embedded"] = leaf  # noqa: B023 - the hooks run within this iteration
                return leaf

            def keep_layer(m: nn.Module, _i: object, output: object) -> None:
                kept["layer"] = _reduce_live(m, output)  # noqa: B023 - the hooks run within this iteration

            handles = cut.attach() if cut is not None else []
            handles += [embedding.register_forward_hook(keep_embedded), module.register_forward_hook(keep_layer)]
            try:
                with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
                    model(batch)
                    chosen = kept["layer"].gather(1, neurons[:, None]).sum()
                    (grad,) = torch.autograd.grad(chosen, kept["embedded"])
            finally:
                for handle in handles:
                    handle.remove()
            for i, row in zip(index.tolist(), (grad * kept["embedded"]).sum(-1).detach().cpu().numpy(), strict=True):
                contribution[i] = row
            if on_batch:
                on_batch(len(index))
        # summed in pair order, whatever order the batches ran in
        scores: list[dict[int, float]] = [{} for _ in range(values.shape[1])]
        doc_ids = ids.numpy()
        for (neuron, doc), row in zip(pairs, contribution, strict=True):
            width = min(len(row), doc_ids.shape[1])
            keep = (doc_ids[doc, :width] > 1) & (row[:width] > 0)  # not padding (0) nor the unknown word (1)
            for token_id, score in zip(doc_ids[doc, :width][keep].tolist(), row[:width][keep].tolist(), strict=True):
                scores[neuron][token_id] = scores[neuron].get(token_id, 0.0) + score
        out[layer] = []
        for per_token in scores:
            total = sum(per_token.values())
            best = sorted(per_token.items(), key=lambda kv: -kv[1])[:tokens]
            out[layer].append([(trained.vocab.tokens[t], s / total) for t, s in best] if total > 0 else [])
    return out
