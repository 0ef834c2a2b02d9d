"""Activations: hooks capture what the model computes, the compact forms round-trip, binning follows the
redescription paper's checks (algorithms.md §5.4), and the RDF stays as small as designed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pyoxigraph as ox
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kgexplain.errors import InputError
from kgexplain.models.activations import (
    binarize,
    capture,
    decode_bins,
    decode_flags,
    decode_values,
    default_layers,
    encode_bins,
    encode_flags,
    encode_values,
    neuron_thresholds,
    top_tokens,
    uniform_bins,
)
from kgexplain.models.cnn import TextCNN
from kgexplain.models.training import TrainedModel, TrainSettings, train_model
from kgexplain.models.vocabulary import Vocabulary
from kgexplain.publish.rdf import RunRecord, activation_triples, run_triples
from kgexplain.publish.shacl import validate
from kgexplain.queries import load_query
from kgexplain.store import EmbeddedStore, to_ntriples
from kgexplain.vocab import Minter

TEXTS = [" ".join(f"w{(i * 7 + j) % 23}" for j in range(15 + i % 9)) for i in range(60)]
LABELS = [i % 2 for i in range(60)]


@pytest.fixture(scope="module", params=["cnn", "bilstm", "gru"])
def trained(request: pytest.FixtureRequest) -> TrainedModel:
    torch.manual_seed(0)
    model, _ = train_model(TEXTS, LABELS, TrainSettings(model=request.param, epochs=1, max_len=64, seed=1))
    return model


def test_hooks_capture_what_the_model_computes(trained: TrainedModel) -> None:
    """The captured dense layer is the logit the model's sigmoid reads; the CNN's relu2 max over time is
    pool2's output, and the BiLSTM's recurrent max over time is the feature vector its dense layer reads."""
    acts = capture(trained, TEXTS[:25], batch_size=8)
    ids = trained.encode(TEXTS[:25])
    model = trained.model
    with torch.no_grad():
        emb = model.embedding(ids)
        logit = model.head.logit(emb).squeeze(1).numpy()
        prob = model(ids).squeeze(1).numpy()
    assert set(acts.layers) == set(default_layers(model))
    np.testing.assert_allclose(acts.layers["head.dense"][:, 0], logit, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts.predictions, prob, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        if trained.name == "cnn":
            h = model.head
            x = h.pool1(h.relu1(h.conv1(emb.transpose(1, 2))))
            pooled = h.pool2(h.relu2(h.conv2(x))).flatten(1).numpy()
            np.testing.assert_allclose(acts.layers["head.relu2"], pooled, rtol=1e-5, atol=1e-6)
            assert acts.layers["head.relu1"].shape == (25, h.conv1.out_channels)
            assert (acts.layers["head.relu1"] >= 0).all()
        elif trained.name == "bilstm":
            np.testing.assert_allclose(acts.layers["head.rnn"], model.head.features(emb).numpy(), rtol=1e-5, atol=1e-6)
        else:
            out, _ = model.head.rnn(emb)
            np.testing.assert_allclose(acts.layers["head.rnn"], out.max(dim=1).values.numpy(), rtol=1e-5, atol=1e-6)
    assert all(not m._forward_hooks for m in model.modules())  # hooks are removed afterwards


def test_unknown_layer_is_a_clear_error(trained: TrainedModel) -> None:
    with pytest.raises(InputError, match="no layer named 'head.nope'.*its layers are: embedding"):
        capture(trained, TEXTS[:3], ["head.nope"])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 30), st.integers(1, 8)), elements=st.floats(-1e4, 1e4, width=32)),
    st.integers(1, 36),
)
def test_uniform_bins_each_value_in_one_bin_with_extremes_in_the_end_bins(values: np.ndarray, bins: int) -> None:
    codes, low, high = uniform_bins(values, bins)
    assert codes.shape == values.shape and codes.max() < bins
    for j in range(values.shape[1]):
        column = values[:, j].astype(np.float64)
        if high[j] > low[j]:
            assert codes[np.argmax(column), j] == bins - 1
            assert codes[np.argmin(column), j] == 0
            width = (high[j] - low[j]) / bins
            # each value lies inside its bin's [edge, next edge] (up to float rounding at the edges)
            lower = low[j] + codes[:, j] * width
            assert (column >= lower - 1e-9 * max(1.0, abs(high[j]))).all()
            assert (column <= lower + width + 1e-9 * max(1.0, abs(high[j]))).all()
        else:
            assert (codes[:, j] == 0).all()
        # bins keep the order of the values
        order = np.argsort(column, kind="stable")
        assert (np.diff(codes[order, j].astype(int)) >= 0).all()


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.integers(1, 300), elements=st.floats(width=32)))
def test_compact_forms_round_trip(row: np.ndarray) -> None:
    np.testing.assert_array_equal(decode_values(encode_values(row)), row)
    flags = binarize(row)
    np.testing.assert_array_equal(decode_flags(encode_flags(flags)), flags)
    finite = np.nan_to_num(row, posinf=1e4, neginf=-1e4).clip(-1e4, 1e4)
    codes, _, _ = uniform_bins(np.stack([finite, -finite]), 36)
    np.testing.assert_array_equal(decode_bins(encode_bins(codes[0])), codes[0])


def test_binarize_is_the_relu_reading() -> None:
    np.testing.assert_array_equal(binarize(np.array([-1.0, 0.0, 1e-9, 3.0])), [False, False, True, True])
    np.testing.assert_array_equal(binarize(np.array([0.2, 0.6]), threshold=0.5), [False, True])


@pytest.mark.slow
def test_activation_rdf_is_compact_queryable_and_conforms(trained: TrainedModel) -> None:
    """Six triples per document × layer, eight per neuron, five per token driving a neuron, six per layer; the SPARQL SUBSTR test on the
    0/1 string finds exactly the active (document, neuron) pairs; the graph passes SHACL."""
    acts = capture(trained, TEXTS)
    minter = Minter()
    docs = [minter.document("t", str(i)) for i in range(len(TEXTS))]
    top = top_tokens(trained, TEXTS, acts, tokens=2)
    triples = list(activation_triples("act-1", minter, docs, acts.layers, 4, 0.0, top, pooled=acts.pooled))
    neurons = sum(v.shape[1] for v in acts.layers.values())
    driving = sum(len(tokens) for per_layer in top.values() for tokens in per_layer)
    assert driving and len(triples) == (
        6 * len(docs) * len(acts.layers) + 8 * neurons + 6 * len(acts.layers) + 5 * driving
    )
    record = RunRecord(
        "act-1",
        "ActivationRun",
        minter.dataset("t"),
        minter.run_graph("act-1").value,
        "2026-01-01T00:00:00Z",
        settings={"model": trained.name, "bins": 4, "activationThreshold": 0.0},
    )
    report = validate(b"".join(to_ntriples(triples + list(run_triples(record, minter)))))
    assert report.conforms, report.report[:2000]
    graph = ox.NamedNode(minter.run_graph("act-1").value)
    with EmbeddedStore(None) as db:
        db.load(triples, graph)
        found = db.select(load_query("neurons/active_neuron_documents"), run_graph=graph)
    expected = {
        (minter.neuron("act-1", layer, j), docs[i])
        for layer, values in acts.layers.items()
        for i, j in zip(*np.nonzero(values > neuron_thresholds(values, 0.0, pooled=layer in acts.pooled)), strict=True)
    }
    assert acts.pooled == {name for name in acts.layers if name != "head.dense"}  # conv / recurrent: over time
    assert set(zip(found["neuron"].to_list(), found["doc"].to_list(), strict=True)) == expected
    assert expected  # some neuron fired


@pytest.mark.parametrize("name", ["cnn", "gru"])
@pytest.mark.slow
def test_top_tokens_find_the_planted_word(name: str) -> None:
    """The label is 1 iff a text holds "zeta": the word that drives the output neuron most is "zeta"; rows of
    many neurons in one backward pass give what one row at a time gives; the shares are a distribution."""
    rng = np.random.default_rng(3)
    texts, labels = [], []
    for i in range(400):
        words = [f"w{j}" for j in rng.integers(0, 30, size=20)]
        if i % 2:
            words[int(rng.integers(0, 20))] = "zeta"
        texts.append(" ".join(words))
        labels.append(i % 2)
    torch.manual_seed(0)
    trained, result = train_model(texts, labels, TrainSettings(model=name, epochs=8, max_len=32, seed=1))
    assert result.validation_accuracy > 0.8
    acts = capture(trained, texts)
    top = top_tokens(trained, texts, acts, documents=10, tokens=3)
    assert top["head.dense"][0][0][0] == "zeta"
    one_by_one = top_tokens(trained, texts, acts, documents=10, tokens=3, batch_size=1)
    for layer, neurons in top.items():
        for mine, single in zip(neurons, one_by_one[layer], strict=True):
            assert [w for w, _ in mine] == [w for w, _ in single]
            np.testing.assert_allclose([v for _, v in mine], [v for _, v in single], rtol=1e-4, atol=1e-6)
            assert all(0 < share <= 1 for _, share in mine) and sum(share for _, share in mine) <= 1 + 1e-9


def _words(count: int, offset: int = 0) -> str:
    return " ".join(f"w{(offset + 7 * i) % 30}" for i in range(count))


#: Texts of very different lengths, in no order: empty, one word, exactly max_len (80), past it (cut there),
#: an unknown word, and lengths around the first convolution's window (11).
RAGGED = [
    "w3 w4 w5",
    "",
    _words(80),
    "w1",
    _words(200, 3),
    "w5 zzz w6 w7",
    _words(45, 1),
    _words(79, 2),
    _words(11, 4),
    _words(12, 5),
    _words(10, 6),
    _words(60, 7),
    "",
    _words(25, 8),
]


def _untrained_cnn() -> TrainedModel:
    """kgexplain's CNN over the words w0..w29, max_len 80, with the weights the seed fixture gives it."""
    vocab = Vocabulary([f"w{i}" for i in range(30)])
    model = TextCNN(len(vocab), max_len=80, embedding_dim=8, filters=6).eval()
    return TrainedModel("cnn", model, vocab, 80)


def test_length_aware_capture_is_the_padded_forward() -> None:
    """The CNN runs sorted by length and its first convolution skips the padding's windows, yet every layer,
    hooked or not, gets the values of one forward pass over the whole padded input, in document order."""
    trained = _untrained_cnn()
    model = trained.model
    modules = dict(model.named_modules())
    names = [n for n, m in modules.items() if n and not list(m.children())]  # every layer, conv1 included
    ids = trained.encode(RAGGED)
    expected: dict[str, np.ndarray] = {}

    def keep(name: str) -> Callable[[torch.nn.Module, object, torch.Tensor], None]:
        def hook(_m: torch.nn.Module, _i: object, out: torch.Tensor) -> None:
            expected[name] = (out.max(dim=2).values if out.dim() == 3 else out).numpy()

        return hook

    handles = [modules[n].register_forward_hook(keep(n)) for n in names]
    with torch.no_grad():
        probs = model(ids).squeeze(1).numpy()  # one batch, document order, all max_len positions
    for handle in handles:
        handle.remove()
    widths: list[int] = []  # what the first convolution read, batch by batch
    handle = modules["head.conv1"].register_forward_pre_hook(lambda _m, inputs: widths.append(inputs[0].shape[2]))
    try:
        acts = capture(trained, RAGGED, names, batch_size=3)
    finally:
        handle.remove()
    assert widths == sorted(widths, reverse=True) and widths[0] == 80 and widths[-1] < 80
    for name in names:
        np.testing.assert_allclose(acts.layers[name], expected[name], rtol=0, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(acts.predictions, probs, rtol=0, atol=1e-6)
    assert acts.ids is not None and torch.equal(acts.ids, ids)


class _Padded(TextCNN):
    """The same CNN, not recognised as kgexplain's own: it reads all max_len positions, in document order."""


def test_top_tokens_reuse_the_captured_ids_and_match_the_padded_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    """``capture`` tokenizes once and ``top_tokens`` reads its ids (the same tokens as encoding again); the
    length-aware CNN gives the tokens the plain padded forward gives."""
    trained = _untrained_cnn()
    encoded: list[int] = []
    encode = trained.encode

    def counted(texts: list[str]) -> torch.Tensor:
        encoded.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(trained, "encode", counted)
    acts = capture(trained, RAGGED)
    top = top_tokens(trained, RAGGED, acts, documents=4, tokens=3, batch_size=2)
    assert encoded == [len(RAGGED)]
    assert top_tokens(trained, RAGGED, replace(acts, ids=None), documents=4, tokens=3, batch_size=2) == top
    assert encoded == [len(RAGGED)] * 2
    assert isinstance(trained.model, TextCNN)
    padded = _Padded(**trained.model.config).eval()
    padded.load_state_dict(trained.model.state_dict())
    plain = replace(trained, model=padded)
    plain_acts = capture(plain, RAGGED)
    for layer, values in acts.layers.items():
        np.testing.assert_allclose(values, plain_acts.layers[layer], rtol=0, atol=1e-6)
    plain_top = top_tokens(plain, RAGGED, plain_acts, documents=4, tokens=3, batch_size=2)
    assert any(any(neurons) for neurons in top.values())
    for layer, neurons in top.items():
        for mine, theirs in zip(neurons, plain_top[layer], strict=True):
            assert [w for w, _ in mine] == [w for w, _ in theirs]
            np.testing.assert_allclose([v for _, v in mine], [v for _, v in theirs], rtol=0, atol=1e-6)
