"""A user's own classifier, adapted: explainers run on it, and bad adapters fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from kgexplain.attribution.explainers import explain
from kgexplain.errors import InputError, ModelError
from kgexplain.models.adapter import adapt

VOCAB = {"<pad>": 0, "<unk>": 1, "golden": 2, "grey": 3, "plain": 4, "words": 5}


class BagOfEmbeddings(nn.Module):
    """Not shaped like kgexplain's models: other attribute names, a logit output, a mean over tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.ModuleDict({"tokens": nn.Embedding(len(VOCAB), 4, padding_idx=0)})
        self.scorer = nn.Linear(4, 1)
        with torch.no_grad():
            self.encoder["tokens"].weight.zero_()
            self.encoder["tokens"].weight[2, 0] = 3.0  # golden pushes up
            self.encoder["tokens"].weight[3, 0] = -3.0  # grey pushes down
            self.scorer.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
            self.scorer.bias.zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.scorer(self.encoder["tokens"](ids).sum(1)).squeeze(1)


TEXTS = ["plain golden words", "grey plain words words", "golden grey", "words"]


@pytest.mark.parametrize("method", ["ig", "gradient-shap", "shap"])
def test_explainers_run_on_an_adapted_model(method: str) -> None:
    trained = adapt(BagOfEmbeddings(), VOCAB, max_len=8, embedding="encoder.tokens", output="logit")
    result = (
        explain(trained, TEXTS, TEXTS, method, n_samples=200)
        if method == "gradient-shap"
        else explain(trained, TEXTS, TEXTS, method)
    )
    assert [len(r) for r in result.relevance] == [3, 4, 2, 1]
    expected = torch.sigmoid(BagOfEmbeddings()(trained.encode(TEXTS))).detach().numpy()
    assert np.allclose(result.predictions, expected, atol=1e-6)
    assert int(np.argmax(result.relevance[0])) == 1  # "golden"
    assert int(np.argmin(result.relevance[1])) == 0  # "grey"


def test_the_single_embedding_is_found_by_itself() -> None:
    trained = adapt(BagOfEmbeddings(), VOCAB, max_len=8, output="logit")
    assert trained.model.embedding is trained.model.user_model.encoder["tokens"]


def test_adapter_errors() -> None:
    with pytest.raises(ModelError, match="cannot tell which layer is the embedding"):
        adapt(nn.Sequential(nn.Linear(3, 1)), VOCAB, max_len=8)
    two = nn.ModuleDict({"a": nn.Embedding(6, 2), "b": nn.Embedding(6, 2)})
    with pytest.raises(ModelError, match=r"\(a, b\); name it with embedding="):
        adapt(two, VOCAB, max_len=8)
    with pytest.raises(ModelError, match="no layer 'encoder.words'"):
        adapt(BagOfEmbeddings(), VOCAB, max_len=8, embedding="encoder.words")
    with pytest.raises(ModelError, match="is a Linear, not an nn.Embedding"):
        adapt(BagOfEmbeddings(), VOCAB, max_len=8, embedding="scorer")
    with pytest.raises(InputError, match="without gaps"):
        adapt(BagOfEmbeddings(), {"<pad>": 0, "<unk>": 1, "x": 5}, max_len=8)
    with pytest.raises(InputError, match="does not apply to the custom model"):
        explain(adapt(BagOfEmbeddings(), VOCAB, max_len=8, output="logit"), TEXTS, TEXTS, "lrp")
