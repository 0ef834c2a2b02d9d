"""A user's own model (issue #19), on small real models: a tiny BERT built and trained here and a TF-IDF +
logistic regression pipeline (tests/own_models.py). Integrated gradients at the embeddings is complete at the
word level; a word's relevance is the sum of its pieces as captum scores them; truncation stops a row where the
model stops reading; shap's Partition values add up to f(x) − f(all masked); bad models fail with one clear
error; the run record names the model and conforms to the shapes."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rdflib
import torch
from own_models import bert_directory, kgexplain_threads, pipeline_file, synthetic

from kgexplain.attribution.partition import explain_partition
from kgexplain.attribution.transformers import explain_transformer, piece_words, words_from_pieces
from kgexplain.errors import InputError, ModelError
from kgexplain.loaders.synthetic import PLANTED_COUNTRY
from kgexplain.models.external import (
    check_probabilities,
    directory_digest,
    is_model_spec,
    load_model,
    parse_spec,
    require,
)
from kgexplain.publish.rdf import ModelRecord, RunRecord, run_triples
from kgexplain.publish.shacl import ONTOLOGY, validate
from kgexplain.store import to_ntriples
from kgexplain.text import tokenize, word_spans
from kgexplain.vocab import KGX, Minter

MINTER = Minter("https://example.org/id/")


@pytest.fixture(scope="module", autouse=True)
def _threads() -> Iterator[None]:
    with kgexplain_threads():
        yield


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bert_directory(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def bert(bert_dir: Path):  # noqa: ANN201 - an ExternalModel
    return load_model(f"hf:{bert_dir}")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Six test texts: three whose city lies in the planted country, three whose city does not."""
    data = synthetic()
    planted = {name for name, country in data.cities.values() if country == PLANTED_COUNTRY}
    docs = data.dataset.split("test")
    inside = [d.text for d in docs if any(re.search(rf"\b{c}\b", d.text) for c in planted)]
    outside = [d.text for d in docs if d.text not in inside]
    return [t for pair in zip(inside[:3], outside[:3], strict=True) for t in pair]


# --- specs -------------------------------------------------------------------------------------------------


def test_model_specs_are_parsed_or_refused() -> None:
    assert str(parse_spec("hf:/m/bert")) == "hf:/m/bert"
    assert parse_spec("python:pkg.mod:predict").target == "pkg.mod:predict"
    assert parse_spec("sklearn:C:/models/p.joblib").target == "C:/models/p.joblib"
    assert is_model_spec("hf:x") and not is_model_spec("cnn") and not is_model_spec("onnx:x")
    for bad in ("hf:", "onnx:model.onnx", "python:predict", "python:mod:"):
        with pytest.raises(InputError):
            parse_spec(bad)


def test_a_missing_extra_is_named() -> None:
    with pytest.raises(InputError, match=re.escape("pip install 'kgexplain[transformers]'")):
        require("kgexplain_no_such_module", "transformers")


# --- pieces → words ----------------------------------------------------------------------------------------


def test_pieces_go_to_the_word_they_overlap_most() -> None:
    text = "Anna Corist, painter-etcher."
    spans = word_spans(text)  # anna corist painter etcher
    offsets = np.array([(0, 0), (0, 4), (5, 8), (8, 11), (11, 12), (13, 20), (20, 22), (16, 22), (27, 28), (0, 0)])
    special = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    words = piece_words(spans, offsets, special)
    # [CLS], anna, cor, ist, ",", painter, "-e" (1 char of etcher), "ter-e" (4 of painter, 1 of etcher), ".", [SEP]
    assert words.tolist() == [-1, 0, 1, 1, -1, 2, 3, 2, -1, -1]
    values = np.array([9.0, 0.1, 0.2, 0.3, 9.0, 0.4, 0.5, -0.6, 9.0, 9.0])
    assert np.allclose(words_from_pieces(values, words, 4), [0.1, 0.5, -0.2, 0.5])
    assert np.allclose(words_from_pieces(values, words, 4, "mean"), [0.1, 0.25, -0.1, 0.5])
    assert np.allclose(words_from_pieces(values, words, 4, "max"), [0.1, 0.3, 0.4, 0.5])
    assert np.allclose(words_from_pieces(values, words, 2), [0.1, 0.5])  # a row cut after two words


# --- the transformer explainer on a tiny BERT -----------------------------------------------------------


def _reference(bert, text: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int | None]]:  # noqa: ANN001
    """The test's own encoding of ``text``: ids, mask, the reference (every piece inside a \\w+ word replaced by
    [PAD]) and the tokenizer's word of each piece."""
    tokenizer = bert.transformer.tokenizer
    encoded = tokenizer([text], return_offsets_mapping=True, return_tensors="pt")
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    reference = ids.clone()
    spans = word_spans(text)
    for j, (start, end) in enumerate(encoded["offset_mapping"][0].tolist()):
        if end > start and any(s < end and start < e for s, e in spans):
            reference[0, j] = tokenizer.pad_token_id
    return ids, mask, reference, encoded.word_ids(0)


def _probability(bert, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    logits = bert.transformer.model(input_ids=ids, attention_mask=mask).logits
    return torch.softmax(logits, dim=-1)[:, 1]


@pytest.mark.slow
def test_integrated_gradients_is_complete_at_the_word_level(bert, texts: list[str]) -> None:  # noqa: ANN001
    result = explain_transformer(bert, texts, "ig", n_steps=300, batch_size=4)
    checked = 0
    for text, relevance, predicted in zip(texts, result.relevance, result.predictions, strict=True):
        ids, mask, reference, _words = _reference(bert, text)
        with torch.no_grad():
            fx, fb = float(_probability(bert, ids, mask)), float(_probability(bert, reference, mask))
        assert len(relevance) == len(tokenize(text))
        assert predicted == pytest.approx(fx, abs=1e-5)
        if abs(fx - fb) > 1e-3:
            assert abs(relevance.sum() - (fx - fb)) <= 1e-2 * abs(fx - fb), text
            checked += 1
    assert checked >= 4
    assert result.max_additivity_error < 1e-3


@pytest.mark.slow
def test_a_word_scores_the_sum_of_its_pieces(bert, texts: list[str]) -> None:  # noqa: ANN001
    """Our word relevance against captum's own piece attributions, grouped by the tokenizer's words."""
    from captum.attr import LayerIntegratedGradients

    result = explain_transformer(bert, texts, "ig", n_steps=16)
    network = bert.transformer.model
    ig = LayerIntegratedGradients(lambda i, m: _probability(bert, i, m), network.get_input_embeddings())
    split_words = 0
    for text, ours in zip(texts, result.relevance, strict=True):
        ids, mask, reference, words = _reference(bert, text)
        pieces = ig.attribute(ids, baselines=reference, additional_forward_args=(mask,), n_steps=16)
        pieces = pieces.sum(dim=-1)[0].detach().numpy()
        by_word: dict[int, float] = {}
        for j, w in enumerate(words):
            if w is not None:
                by_word[w] = by_word.get(w, 0.0) + float(pieces[j])
        counts = {w: words.count(w) for w in by_word}
        split_words += sum(1 for c in counts.values() if c > 1)
        # the tokenizer's words include punctuation, whose pieces keep their place in the reference (score 0)
        assert np.allclose(ours, [by_word[w] for w in _word_indices(text)], atol=1e-5)
    assert split_words >= 2  # rare names are cut into several pieces by this vocabulary


def _word_indices(text: str) -> list[int]:
    """The tokenizer's word index of each \\w+ word (BERT splits words at punctuation and spaces as \\w+ does)."""
    pieces = re.findall(r"\w+|[^\w\s]", text)
    return [w for w, piece in enumerate(pieces) if re.fullmatch(r"\w+", piece)]


@pytest.mark.slow
def test_a_long_text_is_cut_where_the_model_cuts_it(bert_dir: Path, texts: list[str]) -> None:
    short = load_model(f"hf:{bert_dir}", max_tokens=12)
    result = explain_transformer(short, texts[:3], "ig", n_steps=8)
    tokenizer = short.transformer.tokenizer
    for i, text in enumerate(texts[:3]):
        encoded = tokenizer(
            text, truncation=True, max_length=12, return_offsets_mapping=True, return_special_tokens_mask=True
        )
        last = max(
            e for (_s, e), sp in zip(encoded["offset_mapping"], encoded["special_tokens_mask"], strict=True) if not sp
        )
        read = sum(1 for s, _e in word_spans(text) if s < last)
        assert len(result.relevance[i]) == read < len(tokenize(text))
        assert result.truncated[i] == (read, len(tokenize(text)))


@pytest.mark.slow
def test_gradient_shap_runs_and_deeplift_is_refused_where_it_does_not_add_up(bert, texts: list[str]) -> None:  # noqa: ANN001
    result = explain_transformer(bert, texts[:3], "gradient-shap", n_samples=20)
    assert [len(r) for r in result.relevance] == [len(tokenize(t)) for t in texts[:3]]
    assert all(np.isfinite(r).all() for r in result.relevance)
    with pytest.raises(ModelError, match="DeepLIFT values do not add up"):
        explain_transformer(bert, texts[:3], "deeplift")


# --- shap Partition on a scikit-learn pipeline -------------------------------------------------------------


@pytest.mark.slow
def test_partition_values_add_up_to_the_output_minus_the_masked_text(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    import joblib

    path = pipeline_file(tmp_path_factory.getbasetemp())
    model = load_model(f"sklearn:{path}")
    assert (
        model.labels == ["other", "planted"] and model.name == "sklearn:Pipeline(TfidfVectorizer → LogisticRegression)"
    )
    result = explain_partition(model.probabilities, texts, positive=1, max_evals=100)
    pipeline = joblib.load(path)
    masked = pipeline.predict_proba(["..."])[0, 1]  # every word masked: shap's "..." mask
    for text, relevance, predicted in zip(texts, result.relevance, result.predictions, strict=True):
        fx = pipeline.predict_proba([text])[0, 1]
        assert predicted == pytest.approx(fx)
        assert len(relevance) == len(tokenize(text))
        assert relevance.sum() == pytest.approx(fx - masked, abs=1e-9)
    assert result.expected_value == pytest.approx(masked)
    # the planted country's cities carry the positive documents: the top word of each is its city
    city_names = {name.lower() for name, country in synthetic().cities.values() if country == PLANTED_COUNTRY}
    planted = [(t, r) for t, r, p in zip(texts, result.relevance, result.predictions, strict=True) if p > 0.5]
    assert len(planted) >= 2
    for text, relevance in planted:  # (with this budget, a city may share its value with its neighbours)
        city = next(i for i, word in enumerate(tokenize(text)) if word in city_names)
        assert relevance[city] == pytest.approx(relevance.max()) and relevance[city] > 0.1


# --- labels, shapes and loading errors ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_data_classes_are_found_among_the_model_labels(bert_dir: Path) -> None:
    model = load_model(f"hf:{bert_dir}", probe=False)
    assert model.class_indices(("other", "planted")) == [0, 1]
    assert model.class_indices(("PLANTED", "Other")) == [1, 0]
    renamed = load_model(f"hf:{bert_dir}", labels=["LABEL_0", "LABEL_1"], probe=False)
    assert renamed.class_indices(("0", "1")) == [0, 1]  # Hugging Face's default names
    with pytest.raises(InputError, match=r"the data's class 'pos' is not among the labels .*--labels other,pos"):
        model.class_indices(("other", "pos"))
    with pytest.raises(InputError, match=r"the data's classes 'neg', 'pos' are not among"):
        model.class_indices(("neg", "pos"))
    with pytest.raises(InputError, match="--labels names 3 outputs"):
        load_model(f"hf:{bert_dir}", labels=["a", "b", "c"], probe=False)


def test_probabilities_of_the_wrong_shape_are_refused() -> None:
    labels = ["neg", "pos"]
    assert check_probabilities([[0.2, 0.8], [1.0, 0.0]], 2, labels, "f").shape == (2, 2)
    with pytest.raises(ModelError, match=r"returned shape \(2,\) for 2 texts.*shape \(2, 2\)"):
        check_probabilities([0.2, 0.8], 2, labels, "f")
    with pytest.raises(ModelError, match="outside"):
        check_probabilities([[2.0, -1.0], [0.5, 0.5]], 2, labels, "f")
    with pytest.raises(ModelError, match="do not sum to 1"):
        check_probabilities([[0.2, 0.2], [0.5, 0.5]], 2, labels, "f")


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of the user's with several functions, importable by name."""
    name = f"user_model_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent("""
        import numpy as np

        def predict(texts):
            p = np.array([0.9 if "Varnia" in t else 0.1 for t in texts])
            return np.stack([1 - p, p], axis=1)
        predict.labels = ["other", "planted"]

        def flat(texts):
            return np.full(len(texts), 0.5)
        flat.labels = ["other", "planted"]

        def unnamed(texts):
            return np.full((len(texts), 2), 0.5)

        def broken(texts):
            raise RuntimeError("the server said 503")
        broken.labels = ["other", "planted"]
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_a_function_model_is_checked(user_module: str) -> None:
    model = load_model(f"python:{user_module}:predict")
    assert model.labels == ["other", "planted"] and model.name == f"python:{user_module}.predict"
    assert model.digest.startswith("sha256:") and user_module in model.source
    with pytest.raises(ModelError, match=r"returned shape \(2,\) for 2 texts"):
        load_model(f"python:{user_module}:flat")
    with pytest.raises(InputError, match="labels attribute"):
        load_model(f"python:{user_module}:unnamed")
    assert load_model(f"python:{user_module}:unnamed", labels=["a", "b"]).labels == ["a", "b"]
    with pytest.raises(ModelError, match="failed on 2 texts: RuntimeError: the server said 503"):
        load_model(f"python:{user_module}:broken")
    with pytest.raises(InputError, match="has no nothing"):
        load_model(f"python:{user_module}:nothing")
    with pytest.raises(InputError, match="cannot import kgx_no_such_module"):
        load_model("python:kgx_no_such_module:predict")


@pytest.mark.slow
def test_a_directory_that_is_not_a_saved_classifier_is_refused(bert_dir: Path, tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    with pytest.raises(InputError, match=r"is not a saved model \(no config.json\)"):
        load_model(f"hf:{tmp_path}")
    with pytest.raises(InputError, match="no such directory, and no model of that name in the local"):
        load_model(f"hf:{tmp_path / 'nowhere'}")
    no_tokenizer = tmp_path / "no-tokenizer"
    no_tokenizer.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(bert_dir / name, no_tokenizer / name)
    with pytest.raises(InputError, match="no tokenizer in"):
        load_model(f"hf:{no_tokenizer}")
    base = tmp_path / "base"
    BertModel(BertConfig.from_pretrained(bert_dir)).save_pretrained(base)  # an encoder without a trained head
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        if (bert_dir / name).is_file():
            shutil.copy(bert_dir / name, base / name)
    with pytest.raises(InputError, match="no trained classification head"):
        load_model(f"hf:{base}")


def test_a_file_that_is_not_a_text_classifier_is_refused(tmp_path: Path) -> None:
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(InputError, match="no such file"):
        load_model(f"sklearn:{tmp_path / 'missing.joblib'}")
    joblib.dump(TfidfVectorizer().fit(["a text", "another text"]), tmp_path / "vectorizer.joblib")
    with pytest.raises(InputError, match="not a fitted classifier with predict_proba"):
        load_model(f"sklearn:{tmp_path / 'vectorizer.joblib'}")
    joblib.dump(LogisticRegression().fit([[0.0], [1.0]], ["a", "b"]), tmp_path / "numeric.joblib")
    with pytest.raises(ModelError, match="failed on 2 texts"):
        load_model(f"sklearn:{tmp_path / 'numeric.joblib'}")
    (tmp_path / "garbage.joblib").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="cannot read it as a joblib file"):
        load_model(f"sklearn:{tmp_path / 'garbage.joblib'}")


def test_a_skops_file_loads_like_joblib(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    import joblib
    import skops.io

    pipeline = joblib.load(pipeline_file(tmp_path_factory.getbasetemp()))
    skops.io.dump(pipeline, tmp_path / "pipeline.skops")
    model = load_model(f"sklearn:{tmp_path / 'pipeline.skops'}")
    assert np.allclose(model.probabilities(["Born in Paris."]), pipeline.predict_proba(["Born in Paris."]))


# --- the run record --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_hash_covers_weights_config_and_tokenizer(bert_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bert_dir, copy)
    assert directory_digest(copy)[0] == directory_digest(bert_dir)[0] == load_model(f"hf:{bert_dir}").digest
    for name in ("config.json", "vocab.txt", "model.safetensors"):
        with (copy / name).open("ab") as handle:
            handle.write(b" ")
        changed = directory_digest(copy)[0]
        assert changed != directory_digest(bert_dir)[0]
        shutil.copy(bert_dir / name, copy / name)


@pytest.mark.slow
def test_the_run_record_names_the_model_in_prov_and_ml_schema_terms(bert) -> None:  # noqa: ANN001
    record = RunRecord(
        "explain-1",
        "AttributionRun",
        MINTER.dataset("d"),
        MINTER.run_graph("explain-1").value,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
        settings={
            "model": bert.name,
            "method": "ig",
            "reference": "pad",
            "maxTokens": 128,
            "truncatedDocuments": 0,
            "testAccuracy": 0.9,
        },
        links={"kgGraph": MINTER.kg_graph("d").value},
        model=ModelRecord(bert.name, bert.source, bert.digest, tuple(bert.labels), bert.tokenizer),
    )
    data = b"".join(to_ntriples(list(run_triples(record, MINTER))))
    assert validate(data).conforms
    graph = rdflib.Graph().parse(data=data, format="nt")
    prov, mls, k = (rdflib.Namespace(n) for n in ("http://www.w3.org/ns/prov#", "http://www.w3.org/ns/mls#", KGX))
    run = rdflib.URIRef(MINTER.run("explain-1"))
    node = graph.value(run, k.usedModel)
    assert (run, prov.used, node) in graph and (run, mls.hasInput, node) in graph
    assert {mls.Model, prov.Entity, k.ExternalModel} <= set(graph.objects(node, rdflib.RDF.type))
    assert str(graph.value(node, k.modelHash)) == bert.digest and str(graph.value(node, k.modelSource)) == bert.source
    assert str(graph.value(node, k.modelLabels)) == '["other", "planted"]'
    assert str(graph.value(node, k.tokenizer)).startswith("BertTokenizer")
    ontology = rdflib.Graph().parse(ONTOLOGY, format="turtle")
    used = {t for triple in graph for t in triple if isinstance(t, rdflib.URIRef) and str(t).startswith(KGX)}
    assert not [t for t in used if (t, None, None) not in ontology]
    broken = data.replace(bert.digest.encode(), b"md5:0")
    assert not validate(broken).conforms
