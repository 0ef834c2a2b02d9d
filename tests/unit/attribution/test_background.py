"""The paper's SHAP reference (issue #18, point 3): the first 500 training texts as DeepExplainer's background.

Our batched engine against ``shap.DeepExplainer`` given the same 500-row background, on a small CNN and a
small LSTM trained on the built-in demo texts; and ``--background`` as settings, preset and CLI option."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgexplain.attribution.shap_deep import REFERENCE_SIZE, explain_shap, parse_background
from kgexplain.config import PRESETS, Settings
from kgexplain.errors import InputError
from kgexplain.loaders.synthetic import make_synthetic
from kgexplain.models.training import TrainedModel, TrainSettings, train_model

SYNTHETIC = make_synthetic(n_docs=1200, seed=11)
TRAIN = [d for d in SYNTHETIC.dataset.docs if d.split == "train"]
TEST = [d for d in SYNTHETIC.dataset.docs if d.split == "test"]
REFERENCES = [d.text for d in TRAIN][:REFERENCE_SIZE]
DOCS = [d.text for d in TEST[:2]] + ["Born in Varnia , a painter ."]


@pytest.fixture(scope="module", params=["cnn", "lstm"])
def trained(request: pytest.FixtureRequest) -> TrainedModel:
    """A small model of each kind (the demo's texts: 300 training documents, 1 epoch, at most 48 tokens; the
    CNN reads at least 60). Training does not change what is compared, only how typical the values are."""
    torch.manual_seed(0)
    model, _ = train_model(
        [d.text for d in TRAIN[:300]],
        [d.label for d in TRAIN[:300]],
        TrainSettings(model=request.param, epochs=1, max_len=48, seed=3),
    )
    return model


@pytest.mark.slow
def test_500_references_equal_shap_deep_explainer(trained: TrainedModel) -> None:
    """The paper's background: shap.DeepExplainer with the 500 embedded texts as background, and ours, agree
    to 1e-5 per token; on the CNN both add up to f(x) − E[f(references)] (the LSTM's do not, on either side:
    inside nn.LSTM shap takes plain gradients, which is why ``--method shap`` refuses recurrent models)."""
    assert len(REFERENCES) == 500
    theirs = explain_shap(trained, DOCS, REFERENCES, background="500", engine="shap")
    ours = explain_shap(trained, DOCS, REFERENCES, background="500", engine="batched", batch_size=3)
    assert ours.reference == theirs.reference == "500 references: the first 500 training texts"
    assert ours.expected_value == pytest.approx(theirs.expected_value, abs=1e-6)
    assert np.allclose(ours.predictions, theirs.predictions, atol=1e-6)
    assert [len(r) for r in ours.relevance] == [len(r) for r in theirs.relevance]
    worst = max(float(np.abs(a - b).max()) for a, b in zip(ours.relevance, theirs.relevance, strict=True) if len(a))
    assert worst <= 1e-5
    assert ours.max_additivity_error == pytest.approx(theirs.max_additivity_error, abs=1e-5)
    if trained.name == "cnn":  # Σ over every position, padding included (the references are not zero there)
        assert ours.max_additivity_error < 1e-5


def test_n_references_are_the_first_n(trained: TrainedModel) -> None:
    """An integer N takes the first N training texts (here 7), whatever more are given."""
    if trained.name != "cnn":
        return
    seven = explain_shap(trained, DOCS, REFERENCES, background=7, engine="batched")
    only_seven = explain_shap(trained, DOCS, REFERENCES[:7], background="full", engine="batched")
    assert seven.reference == only_seven.reference == "7 references: the first 7 training texts"
    assert all(np.array_equal(a, b) for a, b in zip(seven.relevance, only_seven.relevance, strict=True))
    one = explain_shap(trained, DOCS, REFERENCES, background="1", engine="batched")
    with torch.no_grad():
        first = float(trained.model(trained.encode(REFERENCES[:1])).reshape(-1)[0])
    assert one.expected_value == pytest.approx(first, abs=1e-6) and one.max_additivity_error < 1e-5


def test_parse_background() -> None:
    assert parse_background("mean") == ("mean", 500)
    assert parse_background("zero") == ("zero", 1)
    assert parse_background("full") == parse_background("500") == parse_background(500) == ("full", 500)
    assert parse_background(" 50 ") == ("full", 50)
    for bad in ("0", "-3", "all", "1.5", ""):
        with pytest.raises(InputError, match="unknown SHAP background"):
            parse_background(bad)
    with pytest.raises(InputError, match="unknown SHAP background 'many'"):
        Settings(shap_background="many").check()


def test_paper_preset_uses_500_references_and_still_mines() -> None:
    """The paper preset sets the reference (and entity tokens) on top of its mining settings; a stage that
    does not use them is unaffected."""
    paper = Settings().with_preset("paper")
    assert paper.shap_background == "500" and paper.entity_tokens
    assert (paper.theta, paper.min_confidence, paper.measure) == (1.0, 0.75, "H")
    paper.check()
    assert Settings().with_preset("default").shap_background == "mean"
    assert set(PRESETS["paper"]) >= {"theta", "min_confidence", "measure", "shap_background", "entity_tokens"}


def test_cli_background_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` and ``demo`` take --background (default: the preset's), and a bad value fails before any work."""
    from typer.testing import CliRunner

    from kgexplain.cli import app

    assert Settings.from_options(preset="paper").shap_background == "500"
    assert Settings.from_options(preset="paper", background="mean").shap_background == "mean"
    assert Settings.from_options(preset="default", background="50").shap_background == "50"
    runner = CliRunner()
    for command in (
        ["demo"],
        ["run", "--data", "x.csv", "--kg", "x.nt", "--out", "o"],
        ["explain", "--dataset", "d", "--model-dir", "m"],
    ):
        result = runner.invoke(app, [*command, "--background", "lots"])
        assert result.exit_code == 2, result.output
        assert "unknown SHAP background 'lots'" in result.output
