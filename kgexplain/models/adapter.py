"""Plug your own torch text classifier into kgexplain's explainers.

kgexplain explains at the output of the embedding layer, so it needs to know two things about a model:
which ``nn.Embedding`` turns token ids into vectors, and how to run the rest of the model from those
vectors. ``adapt`` finds the first by name (or by itself when there is exactly one) and, unless you
give ``forward_embedded``, gets the second for free: it runs your model's own ``forward`` with a hook
that swaps the embedding layer's output for the vectors being explained.

    from kgexplain.models.adapter import adapt
    from kgexplain.attribution.explainers import explain

    trained = adapt(my_model, vocab={"<pad>": 0, "<unk>": 1, "paris": 2, ...}, embedding="encoder.tok_emb",
                    max_len=256, output="logit")
    result = explain(trained, texts, reference_texts, method="ig")

Your model must take a (batch, length) tensor of token ids and return one score per text (shape
(batch,) or (batch, 1)): a probability of the positive class (``output="probability"``) or a logit
(``output="logit"``; kgexplain applies the sigmoid). Id 0 must be padding and id 1 the unknown word, as
in kgexplain's own vocabularies. Methods that need a known architecture (LRP, REAT) do not apply;
``shap`` and ``deeplift`` are allowed and checked at run time (their values must add up to the output).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from ..errors import InputError, ModelError
from .training import TrainedModel
from .vocabulary import PAD, UNK, Vocabulary

__all__ = ["adapt", "AdaptedClassifier", "AdaptedHead", "find_embedding"]


def find_embedding(model: nn.Module, name: str | None = None) -> tuple[str, nn.Embedding]:
    """The embedding layer called ``name`` (a dotted path), or the only ``nn.Embedding`` in the model."""
    layers = {n: m for n, m in model.named_modules() if isinstance(m, nn.Embedding)}
    if name is not None:
        module = dict(model.named_modules()).get(name)
        if module is None:
            raise ModelError(
                f"the model has no layer {name!r}; its embedding layers are: {', '.join(layers) or 'none'}"
            )
        if not isinstance(module, nn.Embedding):
            raise ModelError(f"layer {name!r} is a {type(module).__name__}, not an nn.Embedding")
        return name, module
    if len(layers) != 1:
        found = ", ".join(layers) if layers else "no nn.Embedding at all"
        raise ModelError(f"cannot tell which layer is the embedding ({found}); name it with embedding=")
    return next(iter(layers.items()))


class AdaptedHead(nn.Module):
    """embedded (batch, length, dim) → P(positive) (batch, 1), through the user's model."""

    def __init__(
        self,
        model: nn.Module,
        embedding: nn.Embedding,
        forward_embedded: Callable[[torch.Tensor], torch.Tensor] | None,
        output: str,
    ) -> None:
        super().__init__()
        self.model, self.output = model, output
        self._embedding = [embedding]  # a list, so it is not registered twice as a submodule
        self._forward_embedded = forward_embedded
        self.sigmoid = nn.Sigmoid()

    def _raw(self, embedded: torch.Tensor) -> torch.Tensor:
        if self._forward_embedded is not None:
            out = self._forward_embedded(embedded)
        else:
            handle = self._embedding[0].register_forward_hook(lambda _m, _i, _o: embedded)
            try:
                ids = torch.zeros(embedded.shape[:2], dtype=torch.long, device=embedded.device)
                out = self.model(ids)
            finally:
                handle.remove()
        if out.dim() == 1:
            out = out.unsqueeze(1)
        if out.dim() != 2 or out.shape[1] != 1:
            raise ModelError(f"the model must return one score per text, got shape {tuple(out.shape)}")
        return out

    def logit(self, embedded: torch.Tensor) -> torch.Tensor:
        raw = self._raw(embedded)
        return raw if self.output == "logit" else torch.logit(raw.clamp(1e-7, 1 - 1e-7))

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        raw = self._raw(embedded)
        return self.sigmoid(raw) if self.output == "logit" else raw


class AdaptedClassifier(nn.Module):
    """A user's model seen through kgexplain's interface: ``embedding``, ``head``, ``max_len``, ``padding``."""

    def __init__(
        self, model: nn.Module, embedding: nn.Embedding, head: AdaptedHead, max_len: int, padding: str
    ) -> None:
        super().__init__()
        self.embedding, self.head, self.max_len, self.padding = embedding, head, max_len, padding
        self.user_model = model
        self.config = {"max_len": max_len, "padding": padding}

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedding(ids))


def adapt(
    model: nn.Module,
    vocab: Vocabulary | Mapping[str, int],
    *,
    max_len: int,
    embedding: str | None = None,
    forward_embedded: Callable[[torch.Tensor], torch.Tensor] | None = None,
    output: str = "probability",
    padding: str = "post",
    name: str = "custom",
) -> TrainedModel:
    """Wraps ``model`` so that every applicable kgexplain explainer can run on it."""
    if output not in ("probability", "logit"):
        raise InputError(f"output must be 'probability' or 'logit', got {output!r}")
    if padding not in ("post", "pre"):
        raise InputError(f"padding must be 'post' or 'pre', got {padding!r}")
    if max_len < 1:
        raise InputError(f"max_len must be at least 1, got {max_len}")
    if not isinstance(vocab, Vocabulary):
        ordered = sorted(vocab.items(), key=lambda kv: kv[1])
        if [i for _t, i in ordered] != list(range(len(ordered))) or len(ordered) < 2:
            raise InputError("vocab must map tokens to the ids 0..n-1 (0 padding, 1 unknown), without gaps")
        vocab = Vocabulary([t for t, _i in ordered[2:]])
    _path, layer = find_embedding(model, embedding)
    if layer.num_embeddings < len(vocab):
        raise ModelError(
            f"the embedding layer has {layer.num_embeddings} rows but the vocabulary has {len(vocab)} tokens"
        )
    model.eval()
    head = AdaptedHead(model, layer, forward_embedded, output)
    wrapped = AdaptedClassifier(model, layer, head, max_len, padding)
    assert PAD == 0 and UNK == 1
    return TrainedModel(name, wrapped, vocab, max_len)
