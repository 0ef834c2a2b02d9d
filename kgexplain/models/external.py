"""Your own classifier, named by a model spec: loaded as it is (no training, no download), with its labels,
a hash of its files, and one clear line when it cannot be used.

| spec | what | extra |
|---|---|---|
| ``hf:DIR`` | a Hugging Face ``AutoModelForSequenceClassification`` and its (fast) tokenizer, saved with ``save_pretrained`` into ``DIR``; or a model id already in the local Hugging Face cache | ``transformers`` |
| ``sklearn:FILE`` | a fitted scikit-learn pipeline from raw texts to ``predict_proba``, saved with joblib (``.joblib``, ``.pkl``) or skops (``.skops``) | ``sklearn`` (skops) for ``.skops`` |
| ``python:MODULE:FUNCTION`` | any function from a list of texts to class probabilities, shape (texts, labels) | none |

Labels: a model's outputs are named by ``config.id2label`` (hf), ``classes_`` (sklearn) or the function's
``labels`` attribute (python); ``labels=`` (the CLI's ``--labels a,b``) names them instead, in output order.
The dataset's two classes are looked up among them (``ExternalModel.class_indices``): exactly, then ignoring
case, then as Hugging Face's default ``LABEL_<class>``. A function behind HTTP is three lines::

    def predict(texts):
        return httpx.post(URL, json={"texts": texts}).json()["probabilities"]
    predict.labels = ["neg", "pos"]

joblib and pickle files run code when they are read: load only files you trust. skops files are read with the
types skops trusts by default; a file that needs more is refused with the list of those types.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, KgExplainError, ModelError

__all__ = [
    "KINDS",
    "DEFAULT_METHODS",
    "EXTERNAL_METHODS",
    "ModelSpec",
    "ExternalModel",
    "TransformerParts",
    "is_model_spec",
    "parse_spec",
    "check_method",
    "load_model",
    "require",
    "file_digest",
    "directory_digest",
    "check_probabilities",
    "PROBE_TEXTS",
]

log = logging.getLogger(__name__)

KINDS = ("hf", "sklearn", "python")
#: The attribution method a kind gets when none is asked for.
DEFAULT_METHODS = {"hf": "ig", "sklearn": "partition", "python": "partition"}
#: Methods per kind. Gradient methods need the model's embeddings (hf); shap's Partition explainer needs
#: only outputs, so it applies to every kind.
EXTERNAL_METHODS = {
    "hf": ("ig", "gradient-shap", "deeplift", "partition"),
    "sklearn": ("partition",),
    "python": ("partition",),
}
#: Files that hold a tokenizer's vocabulary (a directory without any has no tokenizer, whatever
#: ``AutoTokenizer`` makes of it: transformers 5 builds an empty one).
_TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)
#: Two texts every model is asked about when it is loaded, so a wrong output shape fails before any work.
PROBE_TEXTS = ["kgexplain checks that the model answers.", "A second, different text about Paris."]


@dataclass(frozen=True)
class ModelSpec:
    kind: str  # hf, sklearn or python
    target: str  # directory or model id, file, or module:function

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


def is_model_spec(text: str | None) -> bool:
    """Whether ``text`` names a user's model (``hf:``, ``sklearn:``, ``python:``) rather than an architecture."""
    return text is not None and ":" in text and text.split(":", 1)[0] in KINDS


def parse_spec(text: str) -> ModelSpec:
    kind, _, target = text.partition(":")
    if kind not in KINDS or not target:
        raise InputError(
            f"--model {text!r}: use hf:DIR, sklearn:FILE or python:MODULE:FUNCTION (or one of "
            "kgexplain's own architectures)"
        )
    if kind == "python" and (target.count(":") != 1 or not all(target.split(":"))):
        raise InputError(
            f"--model {text!r}: a function is named python:MODULE:FUNCTION, e.g. python:mypackage.model:predict"
        )
    return ModelSpec(kind, target)


def check_method(kind: str, method: str) -> None:
    if method not in EXTERNAL_METHODS[kind]:
        raise InputError(
            f"--method {method} does not apply to a {kind}: model; use {' or '.join(EXTERNAL_METHODS[kind])}"
        )


def require(module: str, extra: str) -> Any:
    """``import module``, or an ``InputError`` that names the extra which installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"this model needs {module.split('.')[0]}, which is not installed: pip install 'kgexplain[{extra}]' ({exc})"
        ) from None


# ---------------------------------------------------------------------------------------------------
# hashes


def file_digest(path: Path) -> str:
    """``sha256:`` and the hex digest of one file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def directory_digest(directory: Path) -> tuple[str, dict[str, str]]:
    """One ``sha256:`` digest over the regular files directly in ``directory`` (name and digest of each, in
    name order: weights, config and tokenizer files alike), and the digest of each file."""
    files = {p.name: file_digest(p) for p in sorted(directory.iterdir()) if p.is_file()}
    h = hashlib.sha256("".join(f"{name}\0{digest}\n" for name, digest in files.items()).encode())
    return "sha256:" + h.hexdigest(), files


# ---------------------------------------------------------------------------------------------------
# the loaded model


@dataclass
class TransformerParts:
    """What the gradient explainers need of a Hugging Face model."""

    model: Any  # a transformers PreTrainedModel, on ``device``, in eval mode
    tokenizer: Any  # its fast tokenizer
    device: str
    max_length: int  # pieces per input, special tokens included


@dataclass
class ExternalModel:
    spec: ModelSpec
    name: str  # what ran, e.g. hf:BertForSequenceClassification (the run's kgx:model)
    labels: list[str]  # one per output column, in output order
    source: str  # the spec with an absolute path (or module:function and its file)
    digest: str  # sha256: of the weights, config and tokenizer files (or the file / source)
    predict: Callable[[list[str]], np.ndarray] = field(repr=False)  # texts → (texts, labels)
    tokenizer: str | None = None
    max_tokens: int | None = None  # pieces the model reads (hf); None: the whole text
    files: dict[str, str] = field(default_factory=dict)
    transformer: TransformerParts | None = field(default=None, repr=False)

    def probabilities(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """(texts, labels) class probabilities, checked, ``batch_size`` texts per call."""
        parts = [self._call(list(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)))

    def _call(self, texts: list[str]) -> np.ndarray:
        try:
            out = self.predict(texts)
        except KgExplainError:
            raise
        except Exception as exc:  # the user's code: any failure becomes one line naming the model
            raise ModelError(f"{self.spec} failed on {len(texts)} texts: {type(exc).__name__}: {exc}") from None
        return check_probabilities(out, len(texts), self.labels, str(self.spec))

    def class_indices(self, classes: Sequence[str]) -> list[int]:
        """The output column of each of the dataset's ``classes`` (names as ``read_documents`` gives them)."""
        found = [_find_label(self.labels, c) for c in classes]
        missing = [c for c, i in zip(classes, found, strict=True) if i is None]
        if missing:
            raise InputError(
                f"the data's class{'es' if len(missing) > 1 else ''} "
                f"{', '.join(repr(c) for c in missing)} {'are' if len(missing) > 1 else 'is'} not among "
                f"the labels of {self.spec} ({', '.join(self.labels)}); name the model's outputs in "
                f"order with --labels, e.g. --labels {','.join(classes)}"
            )
        if len(set(found)) < len(found):
            raise InputError(
                f"the data's classes {', '.join(classes)} map to the same output of {self.spec} "
                f"({', '.join(self.labels)}); name its outputs with --labels"
            )
        return [int(i) for i in found]  # type: ignore[arg-type]


def _find_label(labels: list[str], name: str) -> int | None:
    for candidates in ([name], [name.lower()], [f"label_{name}".lower()]):
        lowered = labels if candidates == [name] else [label.lower() for label in labels]
        hits = [i for i, label in enumerate(lowered) if label in candidates]
        if len(hits) == 1:
            return hits[0]
    return None


def check_probabilities(out: object, n: int, labels: list[str], where: str) -> np.ndarray:
    """``out`` as an (n, len(labels)) float array of probabilities, or a ``ModelError`` saying what is wrong."""
    try:
        array = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"{where} returned {type(out).__name__}, not an array of probabilities") from None
    expected = (n, len(labels))
    if array.shape != expected:
        raise ModelError(
            f"{where} returned shape {array.shape} for {n} texts; it must return one row per text and "
            f"one column per label ({', '.join(labels)}): shape {expected}"
        )
    if not np.isfinite(array).all() or (array < -1e-6).any() or (array > 1 + 1e-6).any():
        raise ModelError(
            f"{where} returned values outside [0, 1]; it must return class probabilities (apply a softmax to logits)"
        )
    sums = array.sum(axis=1)
    if n and np.abs(sums - 1).max() > 1e-3:
        raise ModelError(
            f"{where} returned rows that do not sum to 1 (the first sums to {sums[0]:.4g}); it must "
            "return class probabilities (apply a softmax to logits)"
        )
    return array


def _override(labels: list[str], given: Sequence[str] | None, where: str) -> list[str]:
    if not given:
        return labels
    given = [g.strip() for g in given]
    if len(given) != len(labels) or len(set(given)) != len(given) or not all(given):
        raise InputError(
            f"--labels names {len(given)} outputs, but {where} has {len(labels)} "
            f"({', '.join(labels)}); give one distinct name per output, in order"
        )
    return list(given)


# ---------------------------------------------------------------------------------------------------
# loading


def load_model(
    spec: str | ModelSpec,
    *,
    device: str = "cpu",
    labels: Sequence[str] | None = None,
    max_tokens: int | None = None,
    probe: bool = True,
) -> ExternalModel:
    """The model ``spec`` names, ready to explain; with ``probe``, asked about ``PROBE_TEXTS`` once, so a
    model that does not answer with one probability per label fails here, before anything is written."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    loader = {"hf": _load_transformer, "sklearn": _load_sklearn, "python": _load_function}[spec.kind]
    model = loader(spec, device=device, labels=labels, max_tokens=max_tokens)
    if len(model.labels) < 2:
        raise InputError(
            f"{spec} has {len(model.labels)} output; kgexplain explains classifiers with one "
            "probability per class (two or more outputs)"
        )
    if probe:
        model.probabilities(PROBE_TEXTS)
    return model


def _load_transformer(
    spec: ModelSpec, *, device: str, labels: Sequence[str] | None, max_tokens: int | None
) -> ExternalModel:
    transformers = require("transformers", "transformers")
    torch = importlib.import_module("torch")
    directory = _transformer_directory(spec, transformers)
    present = {p.name for p in directory.iterdir()}
    if not any(name in present for name in _TOKENIZER_FILES) and not any(n.endswith(".model") for n in present):
        raise InputError(
            f"{spec}: no tokenizer in {directory} (none of {', '.join(_TOKENIZER_FILES)}); save it "
            "beside the model with tokenizer.save_pretrained(DIR)"
        )
    try:
        config = transformers.AutoConfig.from_pretrained(directory, local_files_only=True)
    except Exception as exc:
        raise InputError(
            f"{spec}: {directory / 'config.json'} is not a model configuration "
            f"({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except Exception as exc:
        raise InputError(
            f"{spec}: cannot load the tokenizer in {directory} ({type(exc).__name__}: "
            f"{_first_line(exc)}); save it with tokenizer.save_pretrained(DIR)"
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise InputError(
            f"{spec}: the tokenizer ({type(tokenizer).__name__}) is not a fast tokenizer, so it gives "
            "no character offsets to map its pieces back to words; save a fast one (tokenizer.json)"
        )
    vocab_size = getattr(config, "vocab_size", None)
    if len(tokenizer) <= len(set(tokenizer.all_special_tokens)) or (vocab_size and len(tokenizer) > vocab_size):
        raise InputError(
            f"{spec}: the tokenizer in {directory} has {len(tokenizer)} pieces but the model's "
            f"embeddings have {vocab_size}: they were not saved together"
        )
    try:
        model, info = transformers.AutoModelForSequenceClassification.from_pretrained(
            directory, local_files_only=True, output_loading_info=True
        )
    except Exception as exc:
        raise InputError(
            f"{spec}: cannot load {directory} as a sequence classifier ({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    missing = list(info.get("missing_keys") or [])
    if missing:
        raise InputError(
            f"{spec}: {directory} has no trained classification head (missing {', '.join(missing[:3])}"
            f"{' …' if len(missing) > 3 else ''}); fine-tune it and save it with save_pretrained"
        )
    if tokenizer.pad_token is None:  # GPT-2-like: pad with the end-of-text piece
        if tokenizer.eos_token is None:
            raise InputError(f"{spec}: the tokenizer has neither a padding nor an end-of-text piece")
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    model = model.to(device).eval()
    names = [str(config.id2label.get(i, i)) for i in range(model.config.num_labels)]
    limit = _max_length(tokenizer, config)
    if max_tokens is not None:
        if max_tokens < 3:
            raise InputError(f"--max-tokens {max_tokens}: a transformer needs at least 3 pieces")
        limit = min(limit, max_tokens)
    digest, files = directory_digest(directory)
    parts = TransformerParts(model, tokenizer, device, limit)

    def predict(texts: list[str]) -> np.ndarray:
        encoded = tokenizer(texts, truncation=True, max_length=limit, padding=True, return_tensors="pt").to(device)
        with torch.no_grad():
            return torch.softmax(model(**encoded).logits.float(), dim=-1).cpu().numpy()

    return ExternalModel(
        spec,
        f"hf:{type(model).__name__}",
        _override(names, labels, str(spec)),
        f"hf:{directory}",
        digest,
        predict,
        tokenizer=f"{type(tokenizer).__name__} ({len(tokenizer)} pieces)",
        max_tokens=limit,
        files=files,
        transformer=parts,
    )


def _transformer_directory(spec: ModelSpec, transformers: Any) -> Path:
    path = Path(spec.target).expanduser()
    if path.is_file():
        raise InputError(f"{spec}: {path} is a file; give the directory that save_pretrained wrote")
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(
                f"{spec}: {path} is not a saved model (no config.json); save one with "
                "model.save_pretrained(DIR) and tokenizer.save_pretrained(DIR)"
            )
        return path.resolve()
    try:  # a model id: only from the local cache, never downloaded
        config = transformers.utils.cached_file(spec.target, "config.json", local_files_only=True)
    except Exception:
        config = None
    if not config:
        raise InputError(
            f"{spec}: no such directory, and no model of that name in the local Hugging Face cache "
            "(kgexplain never downloads models: save one with save_pretrained and give its directory)"
        )
    return Path(config).parent


def _max_length(tokenizer: Any, config: Any) -> int:
    limit = getattr(tokenizer, "model_max_length", None)
    if not limit or limit > 1_000_000:  # transformers' "no limit" placeholder
        limit = getattr(config, "max_position_embeddings", None) or 512
    return int(limit)


def _load_sklearn(
    spec: ModelSpec, *, device: str, labels: Sequence[str] | None, max_tokens: int | None
) -> ExternalModel:
    path = Path(spec.target).expanduser()
    if not path.is_file():
        raise InputError(f"{spec}: no such file")
    if path.suffix == ".skops":
        sio = require("skops.io", "sklearn")
        untrusted = sio.get_untrusted_types(file=path)
        if untrusted:
            raise InputError(
                f"{spec}: the file holds types skops does not trust by default "
                f"({', '.join(untrusted[:5])}); check them, then save the pipeline with joblib"
            )
        reader: Callable[[Path], Any] = sio.load
    else:
        reader = importlib.import_module("joblib").load
    try:
        estimator = reader(path)
    except Exception as exc:
        raise InputError(
            f"{spec}: cannot read it as a {'skops' if path.suffix == '.skops' else 'joblib'} file "
            f"({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    if not callable(getattr(estimator, "predict_proba", None)) or getattr(estimator, "classes_", None) is None:
        raise InputError(
            f"{spec}: holds a {type(estimator).__name__}, not a fitted classifier with predict_proba "
            "and classes_ (e.g. a Pipeline of TfidfVectorizer and LogisticRegression)"
        )
    steps = getattr(estimator, "steps", None)
    name = (
        f"sklearn:Pipeline({' → '.join(type(s).__name__ for _n, s in steps)})"
        if steps
        else f"sklearn:{type(estimator).__name__}"
    )
    names = [str(c) for c in estimator.classes_]
    return ExternalModel(
        spec,
        name,
        _override(names, labels, str(spec)),
        f"sklearn:{path.resolve()}",
        file_digest(path),
        lambda texts: estimator.predict_proba(texts),
        files={path.name: file_digest(path)},
    )


def _load_function(
    spec: ModelSpec, *, device: str, labels: Sequence[str] | None, max_tokens: int | None
) -> ExternalModel:
    module_name, function_name = spec.target.split(":")
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:  # a module beside the user, as `python -c` would find it
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise InputError(f"{spec}: cannot import {module_name} ({type(exc).__name__}: {_first_line(exc)})") from None
    finally:
        if added:
            sys.path.remove(cwd)
    function: Any = module
    for part in function_name.split("."):
        function = getattr(function, part, None)
        if function is None:
            raise InputError(f"{spec}: module {module_name} has no {function_name}")
    if not callable(function):
        raise InputError(f"{spec}: {module_name}.{function_name} is a {type(function).__name__}, not a function")
    names = getattr(function, "labels", None)
    if names is None and not labels:
        raise InputError(
            f"{spec}: say which class each output column is: give the function a labels attribute "
            f"({function_name}.labels = ['neg', 'pos']) or pass --labels neg,pos"
        )
    names = [str(n) for n in (names if names is not None else labels)]  # type: ignore[union-attr]
    try:
        source_file = inspect.getsourcefile(module)
    except TypeError:
        source_file = None
    digest = (
        file_digest(Path(source_file))
        if source_file and Path(source_file).is_file()
        else "sha256:" + hashlib.sha256(spec.target.encode()).hexdigest()
    )
    where = f" ({source_file})" if source_file else ""
    return ExternalModel(
        spec,
        f"python:{module_name}.{function_name}",
        _override(names, labels, str(spec)),
        f"python:{spec.target}{where}",
        digest,
        function,
        files={Path(source_file).name: digest} if source_file else {},
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
