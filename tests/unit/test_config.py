"""``Settings.from_options``: the settings of the command line's named options, the preset applied first, None
for an option not given, the training options in ``TrainSettings``, and unknown names or bad values refused."""

from __future__ import annotations

from typing import Any

import pytest

from kgexplain.config import PRESETS, Settings, TrainSettings
from kgexplain.errors import InputError


def test_no_option_is_the_default_preset() -> None:
    assert Settings.from_options() == Settings().with_preset("default") == Settings()


def test_the_preset_comes_first_and_options_override_it() -> None:
    paper = Settings.from_options(preset="paper")
    assert paper == Settings().with_preset("paper")
    assert (paper.theta, paper.shap_background, paper.entity_tokens) == (1.0, "500", True)
    changed = Settings.from_options(preset="paper", theta=0.9, entity_tokens=False, measure="TC")
    assert (changed.theta, changed.entity_tokens, changed.measure) == (0.9, False, "TC")
    assert changed.shap_background == PRESETS["paper"]["shap_background"]  # not given: the preset's


def test_none_means_not_given() -> None:
    given = Settings.from_options(
        preset="paper",
        theta=None,
        min_confidence=None,
        min_support=None,
        max_length=None,
        measure=None,
        background=None,
        entity_tokens=None,
        model=None,
        epochs=None,
        device=None,
        method=None,
        fallback=None,
        max_tokens=None,
        labels=None,
        steps=None,
        target=None,
    )
    assert given == Settings().with_preset("paper")


def test_cli_names_set_their_fields() -> None:
    settings = Settings.from_options(
        max_length=2,
        background="zero",
        min_support=3,
        kg_filter="outgoing",
        aggregation="max",
        miner="spark",
        activation_bins=8,
        base_iri="https://x.org/",
    )
    assert (settings.max_antecedent, settings.shap_background, settings.min_support) == (2, "zero", 3)
    assert (settings.kg_filter, settings.aggregation, settings.miner) == ("outgoing", "max", "spark")
    assert (settings.activation_bins, settings.base_iri) == (8, "https://x.org/")


def test_training_options_land_in_train_settings() -> None:
    settings = Settings.from_options(
        model="gru", epochs=3, max_tokens=40, device="cpu", method="ig", seed=7, batch_size=16
    )
    assert settings.train == TrainSettings(model="gru", epochs=3, max_len=40, device="cpu", seed=7, batch_size=16)
    assert settings.method == "ig"
    assert settings.model_spec is None


def test_a_user_model_is_a_spec_with_its_kinds_method() -> None:
    settings = Settings.from_options(model="sklearn:model.joblib", labels="neg, pos")
    assert settings.model_spec == "sklearn:model.joblib"
    assert settings.train.model == TrainSettings().model  # nothing is trained
    assert settings.method == "partition"  # the default method of its kind
    assert settings.labels == ("neg", "pos")
    assert Settings.from_options(model="hf:some/dir").method == "ig"


def test_unknown_option_names_are_type_errors() -> None:
    with pytest.raises(TypeError, match="no_such_option"):
        Settings.from_options(no_such_option=1)
    with pytest.raises(TypeError, match="thetaa"):
        Settings.from_options(thetaa=None)  # a misspelt name is refused even when None
    with pytest.raises(TypeError, match="train"):
        Settings.from_options(train=TrainSettings())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "nope"}, "unknown preset"),
        ({"model": "transformer"}, "unknown model"),
        ({"labels": "a,b"}, "--labels names the outputs of your own model"),
        ({"theta": 0.2}, "theta must be"),
        ({"background": "lots"}, "unknown SHAP background"),
        ({"kg_filter": "most"}, "unknown --kg-filter"),
        ({"device": "tpu"}, "unknown device"),
        ({"model": "bilstm"}, "does not apply to the bilstm model"),  # shap, the default method
    ],
)
def test_bad_values_are_input_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Settings.from_options(**options)
