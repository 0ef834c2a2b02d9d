"""Every knob of a run: ``Settings`` (with ``TrainSettings`` for the model kgexplain trains), the named
``PRESETS``, and the choices a setting may take (aggregations, dump filters, grounding's readings and the
classes it leaves out). ``Settings.from_options`` builds them from the command line's named options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from .attribution.explainers import check_applicable
from .errors import InputError
from .mining.rules import MEASURES
from .models.external import DEFAULT_METHODS, check_method, is_model_spec, parse_spec
from .models.training import MODELS, TrainSettings, resolve_device
from .vocab import DEFAULT_BASE, WD

__all__ = [
    "Settings",
    "TrainSettings",
    "PRESETS",
    "AGGREGATIONS",
    "KG_FILTERS",
    "OCCURRENCES",
    "DISAMBIGUATIONS",
    "STOP_CLASSES",
    "CALENDAR_CLASSES",
    "CALENDAR_ENTITIES",
    "NAME_CLASSES",
    "PERSON_CLASSES",
    "OPTION_NAMES",
]

#: Named options of the command line that set a ``Settings`` field of another name (``Settings.from_options``).
OPTION_NAMES = {"max_length": "max_antecedent", "background": "shap_background", "max_tokens": "max_len"}

#: Classes whose instances (and their subclasses' instances: wdt:P31/wdt:P279*) are never grounded: names
#: match ordinary words, and a disambiguation page is no entity.
STOP_CLASSES: tuple[str, ...] = tuple(
    WD + q
    for q in (
        "Q202444",  # given name
        "Q12308941",  # male given name
        "Q11879590",  # female given name
        "Q3409032",  # unisex given name
        "Q101352",  # family name
        "Q4167410",  # Wikimedia disambiguation page
    )
)

#: Calendar words: the labels of these classes' instances (months, weekdays) ground nothing at all, neither
#: the month nor another item labelled the same ("September", a singer; "June", a film).
CALENDAR_CLASSES: tuple[str, ...] = tuple(
    WD + q
    for q in (
        "Q5151",  # month (calendar month Q47018901, month of the Gregorian calendar Q18602249 are subclasses)
        "Q47018901",  # calendar month (listed as well, for dumps without its P279)
        "Q41825",  # day of the week
    )
)
#: The months and weekdays by item, for KGs that leave them without P31 (the shared Wikidata subset: 11 of
#: the 12 months), so that no calendar class reaches them.
CALENDAR_ENTITIES: tuple[str, ...] = tuple(
    WD + q
    for q in (
        "Q108",
        "Q109",
        "Q110",
        "Q118",
        "Q119",
        "Q120",
        "Q121",
        "Q122",
        "Q123",
        "Q124",
        "Q125",
        "Q126",  # months
        "Q105",
        "Q127",
        "Q128",
        "Q129",
        "Q130",
        "Q131",
        "Q132",  # weekdays
    )
)

#: Classes whose instances' labels are names (given names, family names), and the class of people whose
#: labels give the first names (``grounding.given_names``) that mark a person name in a text.
NAME_CLASSES: tuple[str, ...] = (WD + "Q202444", WD + "Q101352")
PERSON_CLASSES: tuple[str, ...] = (WD + "Q5",)

#: How ``explain`` reads an entity's mentions in a document, and resolves a key several entities share.
OCCURRENCES = ("all", "first-per-document")
DISAMBIGUATIONS = ("context", "degree")


@dataclass
class Settings:
    """Every knob of a pipeline run. ``PRESETS`` hold named sets of settings (mining, and the paper's
    attribution reference and model input)."""

    base_iri: str = DEFAULT_BASE
    train: TrainSettings = field(default_factory=TrainSettings)
    method: str = "shap"
    fallback: str | None = None
    #: SHAP reference (``shap_deep.parse_background``): mean, zero, full, or N (the first N training texts as N
    #: references, kept as a string: "500")
    shap_background: str = "mean"
    #: Entity tokens (issue #18): each grounded span is one token, the entity's IRI (``vocab.entity_token``), in
    #: the model's input for training and explaining, as the paper's word2vec input was; the RDF, heatmaps and
    #: mining keep the original words (``text.spread_over_words``). A model records it; explaining follows it.
    entity_tokens: bool = False
    explain_batch_size: int = 64
    aggregation: str = "sum"
    theta: float = 0.8
    measure: str = "H"
    min_confidence: float = 0.75
    min_support: int = 5
    max_antecedent: int = 3
    drop_literals: bool = False
    kg_filter: str = "neighbourhood"
    item_batch: int = 1000
    miner: str = "apriori"  # or "spark": Spark ML FPGrowth (mining.spark), same itemsets
    spark_master: str = "local[*]"
    exclude_entities: tuple[str, ...] = ()
    #: cased: a mention must start with a capital; any: case is ignored; auto: cased unless the texts are
    #: lower-cased (text.is_cased_corpus)
    ground_case: str = "auto"
    stop_classes: tuple[str, ...] = STOP_CLASSES
    calendar_classes: tuple[str, ...] = CALENDAR_CLASSES
    calendar_entities: tuple[str, ...] = CALENDAR_ENTITIES
    #: all: every mention of an entity in a document; first-per-document: only its first (a hyperlink-like
    #: reading: Wikipedia links a name once, and the paper's painters mentions are Wikipedia links)
    occurrences: str = "all"
    #: degree: an ambiguous key goes to the entity with most facts; context (grounding.disambiguate): the
    #: same, unless that one shares no fact with the document's other entities and another candidate does
    disambiguation: str = "context"
    ground_name_parts: bool = False  # True: "John" in "John Miller" may ground alone (to John Lasseter)
    activation_layers: tuple[str, ...] = ()  # () = the model's own list (models.activations.default_layers)
    activation_bins: int = 4
    activation_threshold: float = 0.0
    activation_binarize: str = "auto"  # models.activations.neuron_thresholds
    activation_top_tokens: int = 5  # tokens that drive each neuron, published with it (0: none)
    # a user's own model (issue #19; models.external): explained as it is, never trained
    model_spec: str | None = None  # hf:DIR, sklearn:FILE or python:MODULE:FUNCTION
    labels: tuple[str, ...] = ()  # names of its outputs, in order (default: the model's own)
    max_evals: int = 500  # shap Partition: model calls per document
    steps: int | None = None  # hf: integrated-gradients steps / GradientSHAP samples (None: 64 / 50)
    #: k > 2 classes (issue #19): the class every document is explained for (None: each one's predicted class)
    target: str | None = None

    def with_preset(self, name: str) -> Settings:
        """These settings with the preset ``name``'s values (``PRESETS``)."""
        if name not in PRESETS:
            raise InputError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
        return replace(self, **PRESETS[name])

    @classmethod
    def from_options(cls, preset: str | None = None, **named: Any) -> Settings:
        """Settings from the command line's named options, checked (``check``): ``preset`` first (default:
        ``default``), then each option given; None means not given (the preset's or the default value stays).

        An option is a ``Settings`` or ``TrainSettings`` field by name, or one of ``OPTION_NAMES`` (``max_length``,
        ``background``, ``max_tokens``). ``model`` names an architecture to train (``TrainSettings.model``) or a
        user's own model (``hf:DIR``, ``sklearn:FILE``, ``python:MODULE:FUNCTION``: ``model_spec``, whose kind
        gives the default ``method``); ``labels``, that model's outputs, may be one comma-separated string.
        An unknown name is a TypeError, as for any call; a bad value an ``InputError``."""
        train_fields = {f.name for f in fields(TrainSettings)}
        own_fields = {f.name for f in fields(cls)} - {"train"}
        unknown = [n for n in named if OPTION_NAMES.get(n, n) not in own_fields | train_fields]
        if unknown:
            raise TypeError(f"Settings.from_options() got unknown options: {', '.join(unknown)}")
        settings = cls().with_preset(preset or "default")
        given = {OPTION_NAMES.get(n, n): v for n, v in named.items() if v is not None}
        model, labels = given.pop("model", None), given.pop("labels", None)
        train = {n: v for n, v in given.items() if n in train_fields}
        values = {n: v for n, v in given.items() if n in own_fields}
        if model is not None and is_model_spec(model):  # a user's own model (issue #19): explained as it is
            spec = parse_spec(model)
            values["model_spec"] = str(spec)
            values.setdefault("method", DEFAULT_METHODS[spec.kind])
        elif model is not None:
            if model not in MODELS:
                raise InputError(
                    f"unknown model {model!r}; known models: {', '.join(sorted(MODELS))}, or your own: "
                    "hf:DIR, sklearn:FILE, python:MODULE:FUNCTION"
                )
            train["model"] = model
        if labels:
            if not values.get("model_spec"):
                trained = train.get("model", settings.train.model)
                raise InputError(
                    "--labels names the outputs of your own model (hf:, sklearn:, python:); "
                    f"the {trained} model is trained on the data's labels"
                )
            values["labels"] = tuple(x.strip() for x in labels.split(",")) if isinstance(labels, str) else tuple(labels)
        settings = replace(settings, train=replace(settings.train, **train), **values)
        resolve_device(settings.train.device)
        settings.check()
        return settings

    def check(self) -> None:
        from .attribution.shap_deep import parse_background

        parse_background(self.shap_background)
        if self.measure not in MEASURES:
            raise InputError(f"unknown measure {self.measure!r}; use one of {', '.join(MEASURES)}")
        if self.model_spec:  # a user's own model (issue #19): its kind decides which methods apply
            check_method(parse_spec(self.model_spec).kind, self.method)
        else:
            check_applicable(self.train.model, self.method)
            if self.fallback is not None:
                check_applicable(self.train.model, self.fallback)
        if self.max_evals < 3:
            raise InputError(f"--max-evals must be at least 3, got {self.max_evals}")
        if self.steps is not None and self.steps < 1:
            raise InputError(f"--steps must be at least 1, got {self.steps}")
        if self.aggregation not in AGGREGATIONS:
            raise InputError(f"unknown aggregation {self.aggregation!r}; use one of {', '.join(AGGREGATIONS)}")
        if self.ground_case not in ("auto", "cased", "any"):
            raise InputError(f"unknown --ground-case {self.ground_case!r}; use auto, cased or any")
        if self.occurrences not in OCCURRENCES:
            raise InputError(f"unknown --occurrences {self.occurrences!r}; use one of {', '.join(OCCURRENCES)}")
        if self.disambiguation not in DISAMBIGUATIONS:
            raise InputError(
                f"unknown --disambiguation {self.disambiguation!r}; use one of {', '.join(DISAMBIGUATIONS)}"
            )
        if self.kg_filter not in KG_FILTERS:
            raise InputError(f"unknown --kg-filter {self.kg_filter!r}; use one of {', '.join(KG_FILTERS)}")
        if self.miner not in ("apriori", "spark"):
            raise InputError(f"unknown miner {self.miner!r}; use apriori or spark")
        if self.min_support < 1:
            raise InputError(f"min_support must be ≥ 1 entity, got {self.min_support}")
        if self.max_antecedent < 1:
            raise InputError(f"max antecedent length must be ≥ 1, got {self.max_antecedent}")
        if not 0.5 < self.theta <= 1.0:
            raise InputError(f"theta must be in (0.5, 1.0], got {self.theta}")
        if not 1 <= self.activation_bins <= 36:
            raise InputError(f"activation bins must be between 1 and 36, got {self.activation_bins}")
        if self.activation_binarize not in ("auto", "threshold"):
            raise InputError(f"unknown binarization rule {self.activation_binarize!r}; use auto or threshold")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InputError(f"min confidence must be in [0, 1], got {self.min_confidence}")


#: The paper's exact settings, and ours (see README: "Defaults"). The paper's: Table 1's θ = 1.0 and
#: confmin = 0.75; its SHAP reference, App. A.2: "As reference for the SHAP/DeepExplainer explanations for
#: both models trained on Wikipedia abstracts we used the average of the first 500 instances from the
#: respective training sets." (DeepExplainer given those 500 as background averages over them: "500"); and its
#: model input, Sec. 6: word2vec "trained using the complete Wikipedia corpus with explicit references of
#: Wikidata IRIs", each link one IRI token (``entity_tokens``). A stage reads the settings it uses and
#: ignores the rest, so ``mine --preset paper`` is the paper's mining.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {"theta": 0.8, "min_confidence": 0.75, "measure": "H"},
    "paper": {"theta": 1.0, "min_confidence": 0.75, "measure": "H", "shap_background": "500", "entity_tokens": True},
}

AGGREGATIONS: dict[str, Callable[[np.ndarray], float]] = {"sum": np.sum, "mean": np.mean, "max": np.max}

#: How the load stage cuts a dump: ``neighbourhood`` keeps the named entities' facts, the facts that point
#: at them (the paper's items are ``{(s,p) | (s,p,t) ∈ G} ∪ {(p,o) | (t,p,o) ∈ G}``: both directions) and
#: their neighbours' labels and classes; ``outgoing`` leaves out the facts that point at them (smaller,
#: for a full dump where many items point at the named ones); ``none`` loads the whole dump.
KG_FILTERS = ("neighbourhood", "outgoing", "none")
