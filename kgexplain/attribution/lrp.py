"""Layer-wise relevance propagation (LRP) for the CNN head, from the logit down to the embeddings.

algorithms.md §4.2. LRP explains the pre-sigmoid logit of the single output unit: the dense layer's output
starts with relevance equal to the logit, and the relevance is sent back layer by layer to the embedded input.
A token's score is the sum of its relevance over the embedding dimensions; padding positions are dropped.

Rules, applied to both convolutions and the dense layer (``z_ij = a_i w_ij``, ``z_j = Σ_i z_ij``):

- ``"epsilon"``: ``R_i = Σ_j z_ij / (z_j + b_j + ε·sign(z_j + b_j)) · R_j`` (sign(0) taken as +1).
- ``"z"``: the same with ε = 0; the bias stays in the denominator. For this net (ReLU, max pooling) it
  equals gradient × input of the logit exactly.
- ``"alpha-beta"``: ``R_i = Σ_j (α z_ij⁺ / Σ_i' z_i'j⁺ − β z_ij⁻ / Σ_i' z_i'j⁻) · R_j``, as written in the
  paper's Fig. 3: the bias takes no part (it is neither in a numerator nor in a denominator). The inputs may
  be negative (the embeddings are), so the positive part of ``a_i w_ij`` is ``a_i⁺ w_ij⁺ + a_i⁻ w_ij⁻``.

Zero denominators: a unit whose denominator is exactly 0 passes no relevance down through that term (for the
ε/z-rule such a unit is an inactive ReLU input, which holds no relevance anyway; for αβ, a unit with no
negative (positive) contributions drops its β (α) term, so it then does not conserve).

Max pooling sends each output's relevance to its arg-max input (winner takes all; the same position autograd
routes the gradient to); ReLU and dropout pass relevance through unchanged.

Conservation (``Σ input relevance = logit``) holds for the z-rule when every bias is zero, and for αβ with
α − β = 1, zero biases and non-empty positive and negative parts. ``max_additivity_error`` reports how far a
real model is from it; with biases it is not expected to be small.

The propagation is explicit (transposed convolutions), without autograd, vectorised over the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn import grad as nn_grad

from ..errors import InputError, ModelError
from ..models.training import TrainedModel, predict
from .base import Attribution, OnRows, collect_rows, embedding_and_head

__all__ = ["RULES", "explain_lrp", "lrp_layers", "lrp_relevance", "method_name"]

log = logging.getLogger(__name__)

RULES = ("z", "epsilon", "alpha-beta")

_PASS_THROUGH = (nn.ReLU, nn.Dropout, nn.Identity)
_HEAD_CHECK_TOLERANCE = 1e-4


@dataclass(frozen=True)
class _Settings:
    rule: str
    epsilon: float
    alpha: float
    beta: float


def method_name(rule: str, *, alpha: float = 2.0, beta: float = 1.0) -> str:
    """``lrp-z``, ``lrp-epsilon`` or ``lrp-alpha{α}-beta{β}`` (``lrp-alpha2-beta1`` for the defaults)."""
    _check_rule(rule)
    if rule == "alpha-beta":
        return f"lrp-alpha{alpha:g}-beta{beta:g}"
    return f"lrp-{rule}"


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise InputError(f"unknown LRP rule {rule!r}; use one of: {', '.join(RULES)}")


def _check_settings(rule: str, epsilon: float, alpha: float, beta: float) -> _Settings:
    _check_rule(rule)
    if not epsilon >= 0:
        raise InputError(f"LRP epsilon must be >= 0, got {epsilon}")
    if not (alpha >= 0 and beta >= 0):
        raise InputError(f"LRP alpha and beta must be >= 0, got alpha={alpha}, beta={beta}")
    return _Settings(rule, 0.0 if rule == "z" else float(epsilon), float(alpha), float(beta))


def _layers(head: nn.Module) -> list[tuple[str, nn.Module]]:
    """The head's layers in forward order, up to and including the dense layer that gives the logit.

    A trailing ``Sigmoid`` is dropped (LRP explains the logit). Anything LRP has no rule for raises
    ``ModelError`` naming the layer.
    """
    children = list(head.named_children())
    if children and isinstance(children[-1][1], nn.Sigmoid):
        children = children[:-1]
    if not children:
        raise ModelError(f"LRP found no layers in the model head ({type(head).__name__})")
    for index, (name, layer) in enumerate(children):
        last = index == len(children) - 1
        if isinstance(layer, nn.Conv1d):
            if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
                raise ModelError(
                    f"LRP supports Conv1d with numeric zero padding only; layer {name!r} has "
                    f"padding={layer.padding!r}, padding_mode={layer.padding_mode!r}"
                )
        elif isinstance(layer, nn.Linear):
            if not last:
                raise ModelError(f"LRP expects the dense layer {name!r} to be the head's last layer before the sigmoid")
        elif isinstance(layer, (nn.MaxPool1d, *_PASS_THROUGH)):
            pass
        else:
            raise ModelError(f"LRP has no rule for layer {name!r} ({type(layer).__name__}) of the model head")
    name, dense = children[-1]
    if not isinstance(dense, nn.Linear) or dense.out_features != 1:
        raise ModelError(
            f"LRP expects the head to end in a dense layer with one output unit; its last layer "
            f"{name!r} is {type(dense).__name__}"
            + (f" with {dense.out_features} outputs" if isinstance(dense, nn.Linear) else "")
        )
    return children


def _conv_maps(layer: nn.Conv1d, a: torch.Tensor) -> tuple[Callable, Callable]:
    """forward(a, w) = Σ_i a_i w_ij (no bias) and back(s, w) = Σ_j w_ij s_j for a Conv1d."""
    options: dict[str, Any] = {
        "stride": layer.stride,
        "padding": layer.padding,
        "dilation": layer.dilation,
        "groups": layer.groups,
    }
    shape = a.shape

    def forward(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, w, None, **options)

    def back(s: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return nn_grad.conv1d_input(shape, w, s, **options)

    return forward, back


def _linear_maps(layer: nn.Linear, a: torch.Tensor) -> tuple[Callable, Callable]:
    def forward(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return x @ w.T

    def back(s: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return s @ w

    return forward, back


def _safe_ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, 0 where the denominator is exactly 0."""
    zero = denominator == 0
    return torch.where(zero, torch.zeros_like(numerator), numerator / torch.where(zero, 1.0, denominator))


def _propagate_linear(
    layer: nn.Conv1d | nn.Linear, a: torch.Tensor, relevance: torch.Tensor, settings: _Settings
) -> torch.Tensor:
    """Relevance at the input ``a`` of a convolution or dense layer, given the relevance at its output."""
    forward, back = _conv_maps(layer, a) if isinstance(layer, nn.Conv1d) else _linear_maps(layer, a)
    w = layer.weight
    if settings.rule == "alpha-beta":
        w_pos, w_neg = w.clamp(min=0), w.clamp(max=0)
        a_pos, a_neg = a.clamp(min=0), a.clamp(max=0)
        z_pos = forward(a_pos, w_pos) + forward(a_neg, w_neg)  # Σ_i (a_i w_ij)⁺ ≥ 0
        z_neg = forward(a_pos, w_neg) + forward(a_neg, w_pos)  # Σ_i (a_i w_ij)⁻ ≤ 0
        s_pos = _safe_ratio(settings.alpha * relevance, z_pos)
        s_neg = _safe_ratio(settings.beta * relevance, z_neg)
        return a_pos * (back(s_pos, w_pos) - back(s_neg, w_neg)) + a_neg * (back(s_pos, w_neg) - back(s_neg, w_pos))
    z = forward(a, w)
    if layer.bias is not None:
        z = z + (layer.bias.view(1, -1, 1) if z.dim() == 3 else layer.bias)
    if settings.epsilon:
        z = z + settings.epsilon * torch.where(z >= 0, 1.0, -1.0).to(z.dtype)
    return a * back(_safe_ratio(relevance, z), w)


def _pool(layer: nn.MaxPool1d, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return F.max_pool1d(
        x,
        layer.kernel_size,
        layer.stride,
        layer.padding,
        layer.dilation,
        ceil_mode=layer.ceil_mode,
        return_indices=True,
    )


def lrp_layers(
    head: nn.Module,
    embedded: torch.Tensor,
    rule: str = "epsilon",
    *,
    epsilon: float = 1e-6,
    alpha: float = 2.0,
    beta: float = 1.0,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Relevance at the input of every layer of the head, and the logit per row.

    The dict maps each layer's name (``"conv1"``, ``"relu1"``, …, ``"dense"``) to the relevance at that
    layer's input, in forward order, plus ``"logit"`` for the relevance the propagation starts from. The
    ``"conv1"`` entry has the layout the convolution sees, (batch, dim, length); ``lrp_relevance`` returns it
    as (batch, length, dim) like ``embedded``.
    """
    settings = _check_settings(rule, epsilon, alpha, beta)
    layers = _layers(head)
    if embedded.dim() != 3:
        raise InputError(f"LRP expects embedded input of shape (batch, length, dim), got {tuple(embedded.shape)}")
    with torch.no_grad():
        x = embedded.detach().transpose(1, 2)
        inputs: list[torch.Tensor] = []
        indices: dict[str, torch.Tensor] = {}
        for name, layer in layers:
            inputs.append(x)
            if isinstance(layer, nn.MaxPool1d):
                x, indices[name] = _pool(layer, x)
            elif isinstance(layer, nn.Linear):
                x = layer(x.flatten(1))
            elif isinstance(layer, nn.ReLU):
                x = F.relu(x)  # not in place: the layer's input is kept for the backward pass
            elif isinstance(layer, nn.Conv1d):
                x = layer(x)
            # dropout and identity: LRP explains the model in evaluation mode, where both pass x unchanged
        logit = x.squeeze(1)
        _check_head(head, embedded, logit)
        relevance = x
        out: dict[str, torch.Tensor] = {"logit": relevance}
        for (name, layer), a in zip(reversed(layers), reversed(inputs), strict=True):
            if isinstance(layer, nn.Linear):
                relevance = _propagate_linear(layer, a.flatten(1), relevance, settings).view_as(a)
            elif isinstance(layer, nn.Conv1d):
                relevance = _propagate_linear(layer, a, relevance, settings)
            elif isinstance(layer, nn.MaxPool1d):
                index = indices[name]
                relevance = torch.zeros_like(a).scatter_add_(2, index, relevance)
            # pass-through layers keep the relevance as it is
            out[name] = relevance
    ordered = {name: out[name] for name, _ in layers}
    ordered["logit"] = out["logit"]
    return ordered, logit


def _check_head(head: nn.Module, embedded: torch.Tensor, logit: torch.Tensor) -> None:
    """LRP walks the head's layers in registration order; make sure that is what ``forward`` computes."""
    was_training = head.training
    head.eval()
    try:
        expected = head(embedded.detach())
    finally:
        head.train(was_training)
    expected = expected.reshape(len(logit), -1)[:, 0]
    if not torch.allclose(torch.sigmoid(logit), expected, rtol=0, atol=_HEAD_CHECK_TOLERANCE):
        raise ModelError(
            f"LRP: the layers of {type(head).__name__}, applied in order, do not reproduce its "
            f"forward pass; LRP supports heads that run their layers in sequence then a sigmoid"
        )


def lrp_relevance(
    head: nn.Module,
    embedded: torch.Tensor,
    rule: str = "epsilon",
    *,
    epsilon: float = 1e-6,
    alpha: float = 2.0,
    beta: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(relevance of shape ``embedded.shape``, the logit per row), for ``rule`` in ``RULES``."""
    layers, logit = lrp_layers(head, embedded, rule, epsilon=epsilon, alpha=alpha, beta=beta)
    first = next(iter(layers))
    return layers[first].transpose(1, 2), logit


def explain_lrp(
    trained: TrainedModel,
    texts: list[str],
    *,
    rule: str = "epsilon",
    epsilon: float = 1e-6,
    alpha: float = 2.0,
    beta: float = 1.0,
    batch_size: int = 64,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
    on_rows: OnRows = None,
) -> Attribution:
    """LRP token relevance for each text: one score per non-padding token, in order.

    ``expected_value`` is 0 (LRP has no reference); ``max_additivity_error`` is the largest
    ``|Σ input relevance − logit|`` over the documents.
    """
    method = method_name(rule, alpha=alpha, beta=beta)
    _check_settings(rule, epsilon, alpha, beta)
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    embed, head = embedding_and_head(trained, device, "LRP")
    _layers(head)
    ids = trained.encode(texts)
    probs = predict(trained.model, ids).numpy()
    relevance: list[np.ndarray] = []
    worst = 0.0
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size].to(device)
        with torch.no_grad():
            emb = embed(batch)
        values, logit = lrp_relevance(head, emb, rule, epsilon=epsilon, alpha=alpha, beta=beta)
        per_position = values.sum(dim=2)
        error = (per_position.sum(dim=1) - logit).abs()
        worst = max(worst, float(error.max()))
        collect_rows(per_position.cpu().numpy(), batch, probs[start : start + len(batch)], relevance, on_batch, on_rows)
    log.debug("%s: max |Σ relevance − logit| = %.3g", method, worst)
    return Attribution(method, relevance, probs, 0.0, worst, "none (LRP explains the logit)")
