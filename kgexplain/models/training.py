"""Build, train, save, load and run the classifiers."""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import InputError, ModelError
from ..text import merge_spans, tokenize
from .cnn import MIN_LEN, TextCNN
from .rnn import BiLSTMClassifier, GRUClassifier, LSTMClassifier
from .vocabulary import Vocabulary

__all__ = [
    "MODELS",
    "DEFAULT_MAX_LEN",
    "DEFAULT_EPOCHS",
    "DEFAULT_PATIENCE",
    "MIN_TOKENS",
    "TrainSettings",
    "TrainResult",
    "TrainedModel",
    "EntityInputs",
    "build_model",
    "train_model",
    "predicted_labels",
    "import_optimiser_support",
    "resolve_device",
    "predict",
]

log = logging.getLogger(__name__)

MODELS: dict[str, Callable[..., nn.Module]] = {
    "cnn": TextCNN,
    "bilstm": BiLSTMClassifier,
    "lstm": LSTMClassifier,
    "gru": GRUClassifier,
}
#: Longest input each model reads by default (the papers' values).
DEFAULT_MAX_LEN = {"cnn": 500, "bilstm": 500, "lstm": 40, "gru": 500}
#: Training length and early-stopping patience per model. Recurrent nets sit on the majority class for
#: several epochs before they start to learn, so they get more of both (the papers state neither). The
#: GRU sat at the demo's majority class for 9 epochs before reaching 0.93 validation accuracy (lr 1e-3);
#: with a patience of 5 it stopped at epoch 7 on the plateau, so it gets 10.
DEFAULT_EPOCHS = {"cnn": 10, "bilstm": 20, "lstm": 20, "gru": 20}
DEFAULT_PATIENCE = {"cnn": 2, "bilstm": 5, "lstm": 5, "gru": 10}
#: Shortest input each model accepts.
MIN_TOKENS = {"cnn": MIN_LEN, "bilstm": 1, "lstm": 1, "gru": 1}


@dataclass
class TrainSettings:
    """The paper states the architecture but not the optimiser; these are our (stated) choices."""

    model: str = "cnn"
    max_len: int | None = None  # None: the model's own (500; 40 for the tweet LSTM), cut to the longest text
    epochs: int | None = None  # None: DEFAULT_EPOCHS of the model
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    patience: int | None = None  # None: DEFAULT_PATIENCE of the model
    min_count: int = 2  # words seen once in training share the unknown-word embedding
    seed: int = 13
    device: str = "cpu"


@dataclass
class TrainResult:
    """``train_accuracy`` is the best epoch's running accuracy on the fit split, counted during that epoch's
    training pass (as Keras reports it), so that no extra pass over the training data is made for it;
    ``validation_accuracy`` is the best epoch's (the model kept)."""

    model: str
    epochs_run: int
    best_epoch: int
    train_accuracy: float
    validation_accuracy: float
    test_accuracy: float | None
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


Span = tuple[int, int, str]


class EntityInputs:
    """A model's input with entity tokens (``--entity-tokens``, issue #18): per text, the grounded spans
    ``(start, end, entity token)`` in ``text.tokenize`` positions, each of which becomes one token of the
    input (``text.merge_spans``; the token is ``vocab.entity_token`` of the entity IRI).

    The spans come from grounding the dataset's documents against the knowledge graph in the store (the
    train and explain stages do it), so texts are known by their SHA-1; a text it was not given (an outside
    text) is read as plain words, and the first such text is logged."""

    FILE = "entity_inputs.json"

    def __init__(self, spans: dict[str, list[Span]]) -> None:
        self._spans = spans
        self._warned = False

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    @classmethod
    def of(cls, texts: Iterable[str], spans: Iterable[Sequence[Span]]) -> EntityInputs:
        """From each text's spans, in the order of ``texts`` (in token order, not overlapping)."""
        return cls(
            {cls.key(t): [(int(a), int(b), str(tok)) for a, b, tok in s] for t, s in zip(texts, spans, strict=True)}
        )

    def __len__(self) -> int:
        return len(self._spans)

    def spans(self, text: str) -> list[Span] | None:
        """The text's spans; ``None`` for a text these inputs were not made from."""
        return self._spans.get(self.key(text))

    def merged(self, text: str) -> tuple[list[str], list[tuple[int, int]]]:
        """The text's input tokens, and per input position the words ``(start, end)`` it stands for."""
        spans = self.spans(text)
        if spans is None and not self._warned:
            self._warned = True
            log.warning(
                "a text the entity tokens were not grounded for is read as plain words (%.60r…); "
                "others like it are not logged",
                text,
            )
        return merge_spans(tokenize(text), spans or [])

    def __call__(self, text: str) -> list[str]:
        return self.merged(text)[0]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"spans": self._spans}, ensure_ascii=False, separators=(",", ":")))

    @classmethod
    def load(cls, path: Path) -> EntityInputs:
        try:
            spans = json.loads(path.read_text(encoding="utf-8"))["spans"]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(
                f"the model in {path.parent} was trained with entity tokens, but their spans "
                f"({path.name}) cannot be read: {exc}"
            ) from exc
        return cls({k: [(int(a), int(b), str(t)) for a, b, t in v] for k, v in spans.items()})


@dataclass
class TrainedModel:
    name: str
    model: nn.Module
    vocab: Vocabulary
    max_len: int
    #: ``--entity-tokens``: grounded spans are one entity token each in the model's input (None: plain words)
    entity_inputs: EntityInputs | None = None

    @property
    def entity_tokens(self) -> bool:
        """Whether the model reads grounded spans as entity tokens (it was trained so)."""
        return self.entity_inputs is not None

    def tokens(self, text: str) -> list[str]:
        """The model's input tokens for ``text`` (before the cut at ``max_len``)."""
        return self.entity_inputs(text) if self.entity_inputs is not None else tokenize(text)

    @property
    def n_classes(self) -> int:
        """How many classes the model tells apart: 2 (one sigmoid output), or k > 2 (softmax; issue #19)."""
        return int(getattr(self.model, "config", {}).get("n_classes", 2))

    def for_class(self, index: int) -> TrainedModel:
        """A model of k > 2 classes as a binary one for class ``index``, one-vs-rest (issue #19), which every
        explainer explains as it explains a binary model: the same network whose output layer is one unit,
        ``z_c − mean_{j≠c} z_j`` (class c's logit against the mean of the others'), under a sigmoid. Its sign is
        "towards class c" or "away from it"; for two classes it would be the binary model's own logit
        ``z_1 − z_0``, and the predicted class always scores ≥ 0.5. The copy shares nothing with the model."""
        head = getattr(self.model, "head", None)
        dense = getattr(head, "dense", None)
        if self.n_classes <= 2 or not isinstance(dense, nn.Linear):
            raise ModelError(f"the {self.name} model has no per-class outputs to explain one-vs-rest")
        if not 0 <= index < self.n_classes:
            raise InputError(f"class index {index} is not one of the model's {self.n_classes} classes")
        weight, bias = dense.weight.detach(), dense.bias.detach()
        others = [j for j in range(self.n_classes) if j != index]
        model = copy.deepcopy(self.model)
        one = nn.Linear(dense.in_features, 1).to(weight.device)
        with torch.no_grad():
            one.weight.copy_(weight[index : index + 1] - weight[others].mean(0, keepdim=True))
            one.bias.copy_(bias[index : index + 1] - bias[others].mean(0, keepdim=True))
        copied: Any = model.head
        copied.dense = one
        copied.n_classes = 2
        if hasattr(copied, "softmax"):
            del copied.softmax
        return replace(self, model=model.eval())

    def encode(self, texts: list[str]) -> torch.Tensor:
        pad_front = getattr(self.model, "padding", "post") == "pre"
        return self.vocab.encode([self.tokens(t) for t in texts], self.max_len, pad_front=pad_front)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "state": self.model.state_dict(),
                "config": self.model.config,
                "name": self.name,
                "entity_tokens": self.entity_tokens,
            },
            directory / "model.pt",
        )
        self.vocab.save(directory / "vocab.json")
        spans = directory / EntityInputs.FILE
        if self.entity_inputs is not None:
            self.entity_inputs.save(spans)
        else:
            spans.unlink(missing_ok=True)  # from an earlier model in this directory

    @classmethod
    def load(cls, directory: Path, device: str = "cpu") -> TrainedModel:
        path = directory / "model.pt"
        if not path.is_file():
            raise ModelError(f"no trained model in {directory} (expected model.pt); run `kgexplain train` first")
        payload = torch.load(path, map_location=device, weights_only=True)
        model = MODELS[payload["name"]](**payload["config"])
        model.load_state_dict(payload["state"])
        model.to(device).eval()
        inputs = EntityInputs.load(directory / EntityInputs.FILE) if payload.get("entity_tokens") else None
        return cls(
            payload["name"], model, Vocabulary.load(directory / "vocab.json"), payload["config"]["max_len"], inputs
        )


def resolve_device(device: str) -> torch.device:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"unknown device {device!r}; use cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for, but torch sees no CUDA device on this machine; use --device cpu")
    return torch.device(device)


def build_model(name: str, vocab_size: int, max_len: int, n_classes: int = 2) -> nn.Module:
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    if n_classes > 2:  # issue #19: k outputs under a softmax
        return MODELS[name](vocab_size, max_len=max_len, n_classes=n_classes)
    return MODELS[name](vocab_size, max_len=max_len)


@torch.no_grad()
def predict(model: nn.Module, ids: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """P(positive) for every row of ``ids`` (a model of k > 2 classes: (rows, k) class probabilities), on the
    model's device, returned on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(ids[i : i + batch_size].to(device)).squeeze(1).cpu() for i in range(0, len(ids), batch_size)]
    return torch.cat(out) if out else torch.zeros(0)


def predicted_labels(probabilities: torch.Tensor) -> torch.Tensor:
    """The predicted label of each row of ``predict``'s output: P(positive) > 0.5, or the most probable class."""
    if probabilities.ndim == 2:
        return probabilities.argmax(dim=1)
    return (probabilities > 0.5).long()


def _class_nll(probabilities: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (rows, k) class probabilities against labels (the validation loss of k > 2 classes)."""
    return nn.functional.nll_loss(torch.log(probabilities.clamp_min(1e-12)), target.long())


def _accuracy(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor) -> float:
    if len(ids) == 0:
        return float("nan")
    return float((predicted_labels(predict(model, ids)) == labels).float().mean())


def import_optimiser_support() -> threading.Thread:
    """Starts, in a daemon thread, the import that torch makes on the first optimiser it builds.

    ``torch.optim.Optimizer.__init__`` is wrapped so that its first call imports ``torch._dynamo`` (the
    compiler, about 1.5 s of Python on a quiet 2-core machine), even in eager mode. Started before the
    store work that precedes training, the import overlaps that work instead of delaying the first epoch;
    the optimiser's own import then finds the module loaded (or waits on its import lock)."""
    thread = threading.Thread(
        target=importlib.import_module, args=("torch._dynamo",), name="kgx-import-dynamo", daemon=True
    )
    thread.start()
    return thread


def train_model(
    train_texts: list[str],
    train_labels: list[int],
    settings: TrainSettings,
    test_texts: list[str] | None = None,
    test_labels: list[int] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    entity_inputs: EntityInputs | None = None,
    n_classes: int = 2,
) -> tuple[TrainedModel, TrainResult]:
    """Trains with a seeded validation split and early stopping on validation loss. Each epoch makes one
    pass over the fit split (training) and one forward pass over the validation split, as a plain torch
    loop with a held-out check would; nothing else passes over the data. With ``entity_inputs``, the texts'
    grounded spans are entity tokens in the input (and the vocabulary), and the model keeps them. With
    ``n_classes`` > 2 (issue #19) the model has k softmax outputs and learns by cross-entropy; two classes
    train as before (one sigmoid output, binary cross-entropy)."""
    if not train_texts:
        raise InputError("no training documents")
    if settings.model not in MODELS:
        raise InputError(f"unknown model {settings.model!r}; known models: {', '.join(sorted(MODELS))}")
    device = resolve_device(settings.device)
    epochs = settings.epochs or DEFAULT_EPOCHS[settings.model]
    patience = settings.patience or DEFAULT_PATIENCE[settings.model]
    torch.manual_seed(settings.seed)
    tokens = [entity_inputs(t) if entity_inputs is not None else tokenize(t) for t in train_texts]
    longest = max(len(t) for t in tokens)
    max_len = max(MIN_TOKENS[settings.model], min(settings.max_len or DEFAULT_MAX_LEN[settings.model], longest))
    vocab = Vocabulary.build(tokens, min_count=settings.min_count)
    ids = vocab.encode(tokens, max_len, pad_front=getattr(MODELS[settings.model], "padding", "post") == "pre")
    labels = torch.tensor(train_labels, dtype=torch.long)
    generator = torch.Generator().manual_seed(settings.seed)
    order = torch.randperm(len(ids), generator=generator)
    n_val = max(1, math.floor(len(ids) * settings.validation_fraction))
    val_idx, fit_idx = order[:n_val], order[n_val:]
    model = build_model(settings.model, len(vocab), max_len, n_classes).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = nn.BCELoss() if n_classes <= 2 else _class_nll
    best_loss, best_state, best_epoch, bad_epochs = float("inf"), None, 0, 0
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    epoch = 0
    for epoch in range(1, epochs + 1):
        model.train()
        perm = fit_idx[torch.randperm(len(fit_idx), generator=generator)]
        total = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        for i in range(0, len(perm), settings.batch_size):
            batch = perm[i : i + settings.batch_size]
            target = labels[batch].to(device)
            optimiser.zero_grad()
            if n_classes > 2:  # issue #19: cross-entropy on the logits (log-softmax: stable)
                parts: Any = model
                logits = parts.head.logit(parts.embedding(ids[batch].to(device)))
                loss = nn.functional.cross_entropy(logits, target)
                out = logits
            else:
                out = model(ids[batch].to(device)).squeeze(1)
                loss = loss_fn(out, target.float())
            loss.backward()
            optimiser.step()
            with torch.no_grad():  # kept on the device: no synchronisation per batch
                total += loss.detach() * len(batch)
                if n_classes > 2:
                    correct += (out.detach().argmax(dim=1) == target).sum()
                else:
                    correct += ((out.detach() > 0.5).long() == target).sum()
        val_probs = predict(model, ids[val_idx]).clamp(1e-7, 1 - 1e-7)
        val_loss = float(loss_fn(val_probs, labels[val_idx].float()))
        row = {
            "epoch": epoch,
            "train_loss": float(total) / max(1, len(fit_idx)),
            "train_accuracy": float(correct) / max(1, len(fit_idx)),
            "validation_loss": val_loss,
            "validation_accuracy": float((predicted_labels(val_probs) == labels[val_idx]).float().mean()),
        }
        history.append(row)
        if on_epoch:
            on_epoch(epoch, row)
        log.info("epoch %d: %s", epoch, row)
        if val_loss < best_loss - 1e-4:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    trained = TrainedModel(settings.model, model, vocab, max_len, entity_inputs)
    test_acc = None
    if test_texts:
        test_acc = _accuracy(model, trained.encode(test_texts), torch.tensor(test_labels, dtype=torch.long))
    kept = history[best_epoch - 1] if best_epoch else history[-1]
    result = TrainResult(
        model=settings.model,
        epochs_run=epoch,
        best_epoch=best_epoch,
        train_accuracy=kept["train_accuracy"],
        validation_accuracy=kept["validation_accuracy"],
        test_accuracy=test_acc,
        seconds=time.perf_counter() - start,
        history=history,
    )
    return trained, result
