"""Every explainer kgexplain offers, selected by name, with the models it applies to.

All of them attribute at the embedding output and sum over the embedding dimensions to get one score
per token; padding is dropped. They explain P(positive) (the sigmoid output), except LRP and REAT,
which explain the logit: the signs are comparable, the magnitudes are not (algorithms.md §3.6).

| name | what | models | reference |
|---|---|---|---|
| shap | SHAP DeepExplainer | cnn | mean of the first 500 training texts (``--background full`` or ``N``: the first 500 or N as references) |
| gradient-shap | SHAP GradientExplainer (expected gradients) | all | the first 500 training texts |
| ig | Integrated Gradients (captum) | all | zero embeddings (= padding) |
| deeplift | DeepLIFT, rescale rule | cnn | zero embeddings (= padding) |
| lrp | LRP ε / z / α2β1 (CNN paper) | cnn | none (explains the logit) |
| reat | REAT (RNN paper) | lstm, bilstm, gru | none (explains the logit) |

DeepExplainer and DeepLIFT propagate multipliers through each non-linearity; inside ``nn.LSTM`` /
``nn.GRU`` they silently fall back to plain gradients and their sums stop matching the output (shap's own
issues report this), so kgexplain refuses them on recurrent models instead of returning unfaithful
scores; ``fallback`` names a method to use instead when the user asks for it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError, ModelError
from ..models.training import TrainedModel
from .base import (
    ADDITIVITY_TOLERANCE,
    REFERENCE_SIZE,
    Attribution,
    OnBatch,
    OnRows,
    batched_attribution,
    reference_embeddings,
)
from .shap_deep import explain_shap

__all__ = [
    "METHODS",
    "Method",
    "explain",
    "check_applicable",
    "explain_ig",
    "explain_deeplift",
    "explain_gradient_shap",
    "RECURRENT",
    "RUNTIME_CHECKED",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Method:
    name: str
    description: str
    models: frozenset[str] | None  # None: every model
    why_not: str = ""


RECURRENT = frozenset({"lstm", "bilstm", "gru"})
#: Methods whose faithfulness is checked on every run, so they may be tried on a user's own model.
RUNTIME_CHECKED = frozenset({"shap", "deeplift"})
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "shap",
            "SHAP DeepExplainer",
            frozenset({"cnn"}),
            "DeepExplainer cannot propagate through nn.LSTM/nn.GRU (it falls back to gradients and its "
            "values stop adding up to the output)",
        ),
        Method("gradient-shap", "SHAP GradientExplainer", None),
        Method("ig", "Integrated Gradients", None),
        Method(
            "deeplift",
            "DeepLIFT (rescale)",
            frozenset({"cnn"}),
            "DeepLIFT's multipliers are not defined inside nn.LSTM/nn.GRU",
        ),
        Method(
            "lrp",
            "Layer-wise relevance propagation",
            frozenset({"cnn"}),
            "the LRP rules of the CNN paper are defined for convolution, pooling and dense layers only",
        ),
        Method("reat", "REAT", RECURRENT, "REAT decomposes the hidden-state updates of recurrent cells"),
    )
}


def check_applicable(model: str, method: str) -> Method:
    if method not in METHODS:
        raise InputError(f"unknown attribution method {method!r}; known: {', '.join(METHODS)}")
    spec = METHODS[method]
    if model == "custom" and method in RUNTIME_CHECKED:
        return spec  # a user's model: allowed, and the values must add up at run time
    if spec.models is not None and model not in spec.models:
        suited = [m.name for m in METHODS.values() if m.models is None or model in m.models]
        raise InputError(
            f"--method {method} does not apply to the {model} model: {spec.why_not}; use one of {', '.join(suited)}"
        )
    return spec


def _head_output(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda emb: model.head(emb).squeeze(1)  # type: ignore[operator]  # nn.Module attributes are typed Tensor | Module


def explain_ig(
    trained: TrainedModel,
    texts: list[str],
    *,
    n_steps: int = 64,
    batch_size: int = 32,
    device: str = "cpu",
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
) -> Attribution:
    from captum.attr import IntegratedGradients

    model = trained.model.to(device).eval()
    ig = IntegratedGradients(_head_output(model))
    with torch.no_grad():
        baseline_out = float(
            model.head(
                torch.zeros(
                    1,
                    trained.max_len,
                    model.embedding.embedding_dim,  # type: ignore[operator, union-attr, arg-type]
                    device=device,
                )
            ).squeeze()
        )

    def attribute(emb: torch.Tensor) -> np.ndarray:
        values = ig.attribute(
            emb, baselines=torch.zeros_like(emb), n_steps=n_steps, internal_batch_size=max(1, batch_size * 4)
        )
        return values.detach().cpu().numpy()

    return batched_attribution(
        trained,
        texts,
        attribute,
        method="ig",
        expected=baseline_out,
        reference=f"zero embeddings, {n_steps} steps",
        batch_size=batch_size,
        device=device,
        on_batch=on_batch,
        on_rows=on_rows,
    )


def explain_deeplift(
    trained: TrainedModel,
    texts: list[str],
    reference_texts: list[str],
    *,
    batch_size: int = 64,
    device: str = "cpu",
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
    engine: str = "auto",
) -> Attribution:
    """DeepLIFT (rescale rule) against the all-zero (padding) embedding. captum's DeepLift breaks
    summation-to-delta at ``MaxPool1d`` (measured: 0.03 on this CNN, 1e-8 without the pools), so this
    gives shap DeepExplainer's values (the same rule, with its max-pool rule) with that single reference:
    computed a batch per pass by ``deeplift_batched`` for kgexplain's own models, by shap itself for others
    or with ``engine="shap"`` (see ``shap_deep.ENGINES``)."""
    result = explain_shap(
        trained,
        texts,
        reference_texts,
        background="zero",
        batch_size=batch_size,
        device=device,
        on_batch=on_batch,
        on_rows=on_rows,
        engine=engine,
    )
    result.method = "deeplift"
    return result


def explain_gradient_shap(
    trained: TrainedModel,
    texts: list[str],
    reference_texts: list[str],
    *,
    n_samples: int = 50,
    batch_size: int = 16,
    device: str = "cpu",
    seed: int = 0,
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
) -> Attribution:
    import shap

    model = trained.model.to(device).eval()
    background = reference_embeddings(trained, reference_texts, device)
    with torch.no_grad():
        expected = float(model.head(background).mean())  # type: ignore[operator]  # nn.Module attributes are typed Tensor | Module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.GradientExplainer(model.head, background)

    def attribute(emb: torch.Tensor) -> np.ndarray:
        values = explainer.shap_values(emb, nsamples=n_samples, rseed=seed)
        return np.asarray(values)[..., 0] if np.asarray(values).ndim == 4 else np.asarray(values)

    return batched_attribution(
        trained,
        texts,
        attribute,
        method="gradient-shap",
        expected=expected,
        reference=f"first {min(len(reference_texts), REFERENCE_SIZE)} training texts, {n_samples} samples",
        batch_size=batch_size,
        device=device,
        on_batch=on_batch,
        on_rows=on_rows,
    )


def explain(
    trained: TrainedModel,
    texts: list[str],
    reference_texts: list[str],
    method: str = "shap",
    *,
    device: str = "cpu",
    batch_size: int = 64,
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
    background: str | int = "mean",
    fallback: str | None = None,
    **options: object,
) -> Attribution:
    """Token relevance for every text by ``method``. If the method does not apply to the model, fails
    with a clear message, or uses ``fallback`` when one is given (and logs that it did)."""
    try:
        check_applicable(trained.name, method)
    except InputError:
        if fallback is None:
            raise
        log.warning("--method %s does not apply to the %s model; using the fallback %s", method, trained.name, fallback)
        method = fallback
        check_applicable(trained.name, method)
    if method == "shap":
        result = explain_shap(
            trained,
            texts,
            reference_texts,
            background=background,
            batch_size=batch_size,
            device=device,
            on_batch=on_batch,
            on_rows=on_rows,
        )
    elif method == "gradient-shap":
        result = explain_gradient_shap(
            trained,
            texts,
            reference_texts,
            batch_size=min(batch_size, 16),
            device=device,
            on_batch=on_batch,
            on_rows=on_rows,
            **options,  # type: ignore[arg-type]
        )
    elif method == "ig":
        result = explain_ig(
            trained,
            texts,
            batch_size=min(batch_size, 32),
            device=device,
            on_batch=on_batch,
            on_rows=on_rows,
            **options,  # type: ignore[arg-type]
        )
    elif method == "deeplift":
        result = explain_deeplift(
            trained, texts, reference_texts, batch_size=batch_size, device=device, on_batch=on_batch, on_rows=on_rows
        )
    elif method == "lrp":
        from .lrp import explain_lrp

        result = explain_lrp(
            trained,
            texts,
            batch_size=batch_size,
            device=device,
            on_batch=on_batch,
            on_rows=on_rows,
            **options,  # type: ignore[arg-type]
        )
    else:  # reat
        from .reat import explain_reat

        result = explain_reat(trained, texts, batch_size=batch_size, device=device, on_batch=on_batch, on_rows=on_rows)
    if method in ("shap", "deeplift") and result.max_additivity_error > ADDITIVITY_TOLERANCE:
        raise ModelError(
            f"{METHODS[method].description} values do not add up to the model output on the "
            f"{trained.name} model (off by {result.max_additivity_error:.2g}); the model has a layer "
            "the method cannot propagate through"
        )
    return result
