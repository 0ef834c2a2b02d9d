"""Small real models of a user's own, for the tests of issue #19 (tests/unit/models/test_external_models.py,
tests/e2e/test_own_model.py): a tiny BERT and a TF-IDF + logistic regression pipeline, both trained on the
built-in planted-bias texts, and the files a user would pass to ``kgexplain run --model …``. Nothing is
downloaded: the BERT is built from a config and its WordPiece vocabulary is written from the training texts."""

from __future__ import annotations

import collections
import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from kgexplain.loaders.datasets import Document
from kgexplain.loaders.synthetic import SyntheticSet, make_synthetic

__all__ = [
    "synthetic",
    "tiny_bert",
    "tfidf_pipeline",
    "write_inputs",
    "SPECIALS",
    "bert_directory",
    "pipeline_file",
    "kgexplain_threads",
]

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: Words seen this often in training stay whole; rarer ones (person names) are cut into 3-letter pieces, so
#: the tokenizer splits words into several pieces as a real WordPiece vocabulary does.
WHOLE_WORD_COUNT = 4


def synthetic() -> SyntheticSet:
    return make_synthetic(2000)


def _vocabulary(texts: list[str]) -> list[str]:
    counts = collections.Counter(w for t in texts for w in re.findall(r"\w+", t.lower()))
    pieces: set[str] = {".", ","}
    for word, count in counts.items():
        if count >= WHOLE_WORD_COUNT:
            pieces.add(word)
        else:
            chunks = [word[i : i + 3] for i in range(0, len(word), 3)]
            pieces.add(chunks[0])
            pieces.update("##" + c for c in chunks[1:])
    return SPECIALS + sorted(pieces)


def tiny_bert(
    directory: Path, train: list[Document], classes: tuple[str, str], *, epochs: int = 5, seed: int = 0
) -> Path:
    """A 2-layer BERT (hidden 64) with its own WordPiece tokenizer, trained on ``train`` for ``epochs`` and
    saved with ``save_pretrained`` into ``directory``, as a user's fine-tuned model would be."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    texts = [d.text for d in train]
    (directory / "vocab.txt").write_text("\n".join(_vocabulary(texts)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(directory / "vocab.txt"), do_lower_case=True)  # vocab file, positional:
    # transformers 4 calls it vocab_file, 5 vocab
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=128,
        num_labels=2,
        id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)},
    )
    model = BertForSequenceClassification(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3)
    labels = torch.tensor([d.label for d in train])
    generator = torch.Generator().manual_seed(seed)
    for _epoch in range(epochs):
        model.train()
        order = torch.randperm(len(texts), generator=generator)
        for start in range(0, len(texts), 32):
            batch = order[start : start + 32]
            encoded = tokenizer([texts[i] for i in batch], padding=True, return_tensors="pt")
            loss = model(**encoded, labels=labels[batch]).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tfidf_pipeline(train: list[Document], classes: tuple[str, str]) -> object:
    """TF-IDF + logistic regression from raw texts to the class names."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10, max_iter=1000))
    return pipeline.fit([d.text for d in train], [classes[d.label] for d in train])


def write_inputs(directory: Path, docs: list[Document], data: SyntheticSet) -> tuple[Path, Path]:
    """``docs`` as a CSV (id, text, label name, split) and the synthetic KG as N-Triples, for ``kgexplain run``."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, kg_path = directory / "data.csv", directory / "kg.nt"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label", "split"])
        for d in docs:
            writer.writerow([d.id, d.text, data.dataset.classes[d.label], d.split])
    kg_path.write_text("".join(" ".join(t) + " .\n" for t in data.kg), encoding="utf-8")
    return csv_path, kg_path


def bert_directory(base: Path) -> Path:
    """The tiny BERT trained on the synthetic training texts, saved under ``base`` once per test session
    (``base``: ``tmp_path_factory.getbasetemp()``, which both test modules share)."""
    directory = base / "own-models" / "bert"
    if not (directory / "config.json").is_file():
        data = synthetic()
        with kgexplain_threads():
            tiny_bert(directory, data.dataset.split("train"), data.dataset.classes)
    return directory


@contextmanager
def kgexplain_threads() -> Iterator[None]:
    """torch on the threads the CLI would use here (one on this 2-core machine: see ``kgexplain.threads``)."""
    from kgexplain.threads import choose_threads

    previous = torch.get_num_threads()
    torch.set_num_threads(choose_threads(None))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def pipeline_file(base: Path) -> Path:
    """The TF-IDF + logistic regression pipeline, saved with joblib under ``base`` once per test session."""
    import joblib

    path = base / "own-models" / "pipeline.joblib"
    if not path.is_file():
        data = synthetic()
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(tfidf_pipeline(data.dataset.split("train"), data.dataset.classes), path)
    return path
