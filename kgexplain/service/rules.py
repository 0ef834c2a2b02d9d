"""The published rules as one polars frame for the REST API: loaded from the store once per state of the
catalog (a new mining run changes it), then filtered, sorted and paged in memory."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

import polars as pl
from pyoxigraph import NamedNode

from ..queries import load_query
from ..store import TripleStore
from ..vocab import KGX, Minter, local_id

__all__ = ["RuleIndex", "RuleQuery", "SORTS"]

SORTS = ("confidence", "support", "lift", "length")
_CACHED_ANSWERS = 1024

log = logging.getLogger(__name__)
_MEASURES = {"TC": "conf_tc", "TS": "conf_ts", "WTS": "conf_wts", "H": "conf_h"}


@dataclass(frozen=True)
class RuleQuery:
    run: str | None = None  # mining run id; None: the latest completed run of each dataset
    dataset: str | None = None
    consequent: str | None = None  # Pos or Neg; with more than two classes, a class name (issue #19)
    measure: str = "H"
    min_confidence: float = 0.0
    min_support: int = 0
    property: str | None = None  # an item's property: IRI or its local id (P27)
    value: str | None = None  # an item's value: IRI, local id (Q183) or literal text
    q: str | None = None  # text in the rule's label, case ignored
    sort: str = "confidence"
    limit: int = 50
    offset: int = 0


class RuleIndex:
    """Rules of the completed mining runs with their items. The catalog is checked at most every
    ``recheck_s`` seconds (a new mining run shows up within that time), and the rules reload only when
    its set of completed mining runs changed."""

    def __init__(self, store: TripleStore, minter: Minter, recheck_s: float = 2.0) -> None:
        self.store, self.minter, self.recheck_s = store, minter, recheck_s
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._watched = False
        self._key: tuple[str, ...] | None = None
        self._rules = pl.DataFrame()
        self._items = pl.DataFrame()
        self._summaries: dict[str, dict[str, object]] = {}
        self._answers: dict[tuple[object, RuleQuery], list[str]] = {}
        self.runs = pl.DataFrame()

    @property
    def version(self) -> object:
        """Changes whenever the loaded rules change (the set of completed mining runs)."""
        return self._key

    def _mining_runs(self) -> pl.DataFrame:
        runs = self.store.select(load_query("catalog/runs"), catalog=self.minter.catalog_graph())
        if runs.height == 0:
            return runs
        runs = runs.filter((pl.col("kind") == KGX + "MiningRun") & (pl.col("status") == "completed"))
        return runs.with_columns(
            pl.col("run").map_elements(local_id, return_dtype=pl.String).alias("run_id"),
            pl.col("dataset").map_elements(local_id, return_dtype=pl.String).alias("dataset_id"),
        )

    def watch(self) -> threading.Event:
        """Rechecks the catalog every ``recheck_s`` seconds in a daemon thread, so requests never wait on
        the store for it (a recheck costs ~15 ms); set the returned event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.recheck_s):
                try:
                    self.refresh(force=True)
                except Exception:  # noqa: BLE001 - a failed recheck keeps the rules already loaded
                    log.exception("rechecking the catalog failed; serving the rules already loaded")

        threading.Thread(target=loop, name="kgx-rule-index", daemon=True).start()
        self._watched = True
        return stop

    def refresh(self, force: bool = False) -> None:
        if not force and (self._watched and self._key is not None or time.monotonic() - self._checked < self.recheck_s):
            return
        runs = self._mining_runs()
        key = tuple(sorted(runs["run"].to_list())) if runs.height else ()
        with self._lock:
            self._checked = time.monotonic()
            if key == self._key:
                return
            rules, items = [], []
            completed = runs.select("run_id", "dataset_id", "graph", "ended").iter_rows() if runs.height else []
            for run_id, dataset_id, graph, ended in completed:  # a store with no mining run yet has none
                frame = self.store.select(load_query("rules/rules"), graph=NamedNode(graph))
                if frame.height:
                    rules.append(
                        frame.with_columns(
                            pl.lit(run_id).alias("run"),
                            pl.lit(dataset_id).alias("dataset"),
                            pl.lit(ended).alias("ended"),
                        )
                    )
                part = self.store.select(load_query("rules/rule_items"), graph=NamedNode(graph))
                if part.height:
                    items.append(
                        part.select(
                            "rule",
                            "item",
                            pl.col("property").cast(pl.String),
                            pl.col("value").cast(pl.String),
                            "direction",
                            pl.col("label").alias("item_label"),
                        )
                    )
            self._rules = pl.concat(rules, how="diagonal_relaxed") if rules else pl.DataFrame()
            self._items = pl.concat(items) if items else pl.DataFrame()
            if self._rules.height:
                self._rules = self._rules.with_columns(
                    (pl.col("run") + "/" + pl.col("rule").map_elements(local_id, return_dtype=pl.String)).alias("id"),
                    pl.col("consequent").map_elements(_class_name, return_dtype=pl.String),
                )
            self._summaries = _summaries(self._rules, self._items)
            self.runs = runs
            self._key = key

    def page(self, query: RuleQuery) -> tuple[int, list[str]]:
        """(matching rules in all, the IRIs of the requested page). The ranked IRIs of a listing are cached
        (whatever the page) until the rules reload: the same listing is asked for again and again, a page at
        a time."""
        self.refresh()
        key = (self._key, replace(query, limit=0, offset=0))
        ranked = self._answers.get(key)
        if ranked is None:
            _total, frame = self.search(replace(query, limit=10**9, offset=0))
            ranked = frame["rule"].to_list() if frame.height else []
            if len(self._answers) >= _CACHED_ANSWERS:
                self._answers.pop(next(iter(self._answers)))
            self._answers[key] = ranked
        return len(ranked), ranked[query.offset : query.offset + query.limit]

    def search(self, query: RuleQuery) -> tuple[int, pl.DataFrame]:
        """(matching rules in all, the requested page)."""
        self.refresh()
        rules, items = self._rules, self._items
        if rules.height == 0:
            return 0, rules
        if query.run is not None:
            rules = rules.filter(pl.col("run") == query.run)
        else:  # the latest completed mining run of each dataset
            latest = self.runs.sort("ended", descending=True).unique("dataset_id", keep="first")["run_id"]
            rules = rules.filter(pl.col("run").is_in(latest.to_list()))
        if query.dataset is not None:
            rules = rules.filter(pl.col("dataset") == query.dataset)
        if query.consequent is not None:
            rules = rules.filter(pl.col("consequent") == query.consequent)
        confidence = _MEASURES[query.measure]
        rules = rules.filter((pl.col(confidence) >= query.min_confidence) & (pl.col("support") >= query.min_support))
        if query.q:
            rules = rules.filter(pl.col("label").str.to_lowercase().str.contains(query.q.lower(), literal=True))
        if (query.property or query.value) and items.height:
            matching = items
            if query.property:
                matching = matching.filter(_term_matches("property", query.property))
            if query.value:
                matching = matching.filter(_term_matches("value", query.value))
            rules = rules.filter(pl.col("rule").is_in(matching["rule"].unique().to_list()))
        key = {"confidence": confidence, "support": "support", "lift": "lift", "length": "length"}[query.sort]
        rules = rules.sort([key, "support", "label"], descending=[query.sort != "length", True, False])
        return rules.height, rules.slice(query.offset, query.limit)

    def classes(self) -> tuple[str, ...]:
        """The classes a rule may have: Pos and Neg, and the classes of the loaded rules of datasets with more
        than two (issue #19), by name."""
        self.refresh()
        named = self._rules["consequent"].unique().sort().to_list() if self._rules.height else []
        return tuple(dict.fromkeys(["Pos", "Neg", *named]))

    def summaries(self, rule_iris: list[str]) -> list[dict[str, Any]]:
        """Each rule's JSON summary (built once per reload): items, metrics, URL; in the order given."""
        self.refresh()
        return [self._summaries[iri] for iri in rule_iris if iri in self._summaries]

    def ranked(self, iris: list[str]) -> list[str]:
        """The published rules among ``iris`` (completed runs only), best first by conf_H then support."""
        self.refresh()
        if self._rules.height == 0 or not iris:
            return []
        return (
            self._rules.filter(pl.col("rule").is_in(iris))
            .sort(["conf_h", "support"], descending=True)["rule"]
            .to_list()
        )

    def mentioning(self, iri: str) -> list[str]:
        """Rules whose antecedent names ``iri`` as an item's value."""
        self.refresh()
        if self._items.height == 0:
            return []
        return self._items.filter(pl.col("value") == iri)["rule"].unique().to_list()

    def get(self, rule_id: str) -> dict[str, Any] | None:
        self.refresh()
        if self._rules.height == 0:
            return None
        found = self._rules.filter(pl.col("id") == rule_id)
        return found.row(0, named=True) if found.height else None


def _summaries(rules: pl.DataFrame, items: pl.DataFrame) -> dict[str, dict[str, object]]:
    if rules.height == 0:
        return {}
    antecedents: dict[str, list[dict[str, object]]] = {}
    if items.height:
        for rule, item, prop, value, direction, label in items.select(
            "rule", "item", "property", "value", "direction", "item_label"
        ).iter_rows():
            antecedents.setdefault(rule, []).append(
                {
                    "iri": item,
                    "label": label,
                    "property": prop,
                    "value": value,
                    "direction": local_id(direction).lower(),
                }
            )
    out = {}
    for row in rules.iter_rows(named=True):
        out[row["rule"]] = {
            "id": row["id"],
            "iri": row["rule"],
            "label": row["label"],
            "class": row["consequent"],
            "run": row["run"],
            "dataset": row["dataset"],
            "support": row["support"],
            "length": row["length"],
            "confidence": {"TC": row["conf_tc"], "TS": row["conf_ts"], "WTS": row["conf_wts"], "H": row["conf_h"]},
            "lift": row["lift"],
            "antecedent": sorted(antecedents.get(row["rule"], []), key=lambda i: str(i["iri"])),
            "url": f"/api/rules/{row['id']}",
        }
    return out


def _class_name(iri: str) -> str:
    """A consequent's class: Pos or Neg (``kgx:Pos``), or the name of a dataset's class (``Minter.class_label``)."""
    return unquote(local_id(iri))


def _term_matches(column: str, wanted: str) -> pl.Expr:
    """An IRI or literal equal to ``wanted``, or an IRI whose local id is ``wanted`` (P27, Q183)."""
    col = pl.col(column)
    return (col == wanted) | col.str.ends_with("/" + wanted) | col.str.ends_with("#" + wanted)
