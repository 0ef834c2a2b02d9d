"""``kgexplain`` end to end against a plain script doing the same work, stage by stage, in the same run.

Ours is the command a user types, in a fresh process: ``kgexplain demo`` on the built-in set, and
``kgexplain run`` on ``../shared/data/painters`` with the Wikidata subset (as in the README), into a
temporary directory. Its stage times come from the run's ``summary.json``; the total is the process's wall
time (imports, store, exports included).

The peer is this file's ``plain`` mode, also a fresh process: what a researcher would write by hand with
the same libraries, and nothing kgexplain adds (no store, no RDF, no provenance, no activations, no exports):

- ``load``: the CSVs (polars) and the KG: the whole dump streamed into Python dicts (English labels,
  ``wdt:`` facts with an IRI object), or the built-in KG's triples for the demo;
- ``train``: a plain torch loop (``explain.plain_training``): the same tokeniser, vocabulary and model class,
  the same epochs (ours' ``epochs_run``), batch size and optimiser; no validation;
- ``explain``: ``shap.DeepExplainer`` on the embedded documents with the mean reference (as kgexplain's
  default), batches of 64, over every document; then greedy longest label matches (1-4 tokens) of the
  lower-cased tokens against the labels, a mention's relevance the sum of its tokens';
- ``mine``: each mentioned entity labelled Pos/Neg when at least θ of its mentions have that sign (TC),
  its items its outgoing (p, o) and incoming (s, p) facts, ``fim.arules`` with the same supmin, confmin and
  antecedent length, the class as the only consequent.

Both sides run torch on the same number of threads (kgexplain's default for this machine). Lines: one per
stage (ours vs the plain stage), and the whole run (``end-to-end``). kgexplain's total also holds the
stages the plain script does not do (activations, exports); they are printed to stderr. The issue's goal:
``kgexplain run`` on painters ≤ 1.3 × the plain script (ratio ≥ 0.77).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, time_ratio  # noqa: E402

BENCH = "end-to-end"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAINTERS = SHARED / "painters"
SUBSET = SHARED / "wikidata" / "wikidata-subset.nt.gz"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
WDT = "<http://www.wikidata.org/prop/direct/"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# ours


def run_ours(case: str, out: Path, epochs: int | None, threads: int) -> tuple[float, dict]:
    """Wall seconds of the kgexplain command for ``case``, and its summary.json."""
    command = [sys.executable, "-m", "kgexplain.cli"]
    if case == "demo":
        command += ["demo", "--out", str(out)]
    else:
        command += [
            "run",
            "--data",
            str(PAINTERS),
            "--text-column",
            "desc",
            "--label-column",
            "inmuseum",
            "--kg",
            str(SUBSET),
            "--out",
            str(out),
        ]
    if epochs:
        command += ["--epochs", str(epochs)]
    command += ["--threads", str(threads)]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    summary["epochs_run"] = json.loads((out / "model" / "training.json").read_text())["epochs_run"]
    return wall, summary


def run_plain(case: str, epochs: int, threads: int, out: Path) -> tuple[float, dict]:
    command = [
        sys.executable,
        __file__,
        "plain",
        "--case",
        case,
        "--epochs",
        str(epochs),
        "--threads",
        str(threads),
        "--json",
        str(out),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, json.loads(out.read_text())


# ---------------------------------------------------------------------------------------------------
# the plain script


def plain_load(case: str) -> tuple[list[str], list[int], list[bool], dict[str, str], dict[str, list], dict[str, list]]:
    """Texts, labels, is-train flags; label → entity; entity → outgoing (p, o); entity → incoming (s, p)."""
    import polars as pl

    labels: dict[str, str] = {}
    out_facts: dict[str, list] = {}
    in_facts: dict[str, list] = {}

    def add(s: str, p: str, o: str) -> None:
        if p == LABEL and o.endswith("@en"):
            labels.setdefault(o[1 : o.rindex('"')].lower(), s)
        elif p.startswith(WDT) and o.startswith("<"):
            out_facts.setdefault(s, []).append((p, o))
            in_facts.setdefault(o, []).append((s, p))

    if case == "demo":
        from kgexplain.loaders.synthetic import make_synthetic

        synthetic = make_synthetic()
        docs = synthetic.dataset.docs
        texts, y, train = [d.text for d in docs], [d.label for d in docs], [d.split == "train" for d in docs]
        for s, p, o in synthetic.kg:
            add(s, p, o)
        return texts, y, train, labels, out_facts, in_facts
    frames = [pl.read_csv(PAINTERS / f"{split}.csv", infer_schema=False) for split in ("train", "test")]
    texts = [t for f in frames for t in f["desc"].to_list()]
    y = [int(v) for f in frames for v in f["inmuseum"].to_list()]
    train = [True] * frames[0].height + [False] * frames[1].height
    with gzip.open(SUBSET, "rt", encoding="utf-8") as dump:
        for line in dump:
            parts = line.rstrip(" .\n").split(" ", 2)
            if len(parts) == 3:
                add(*parts)
    return texts, y, train, labels, out_facts, in_facts


def plain_explain(model, vocab, max_len: int, texts: list[str], train_texts: list[str]) -> list:
    """shap.DeepExplainer's token scores with the mean reference (``explain.shap_scores``)."""
    from explain import reference_for, shap_scores

    from kgexplain.models.training import TrainedModel

    trained = TrainedModel("cnn", model.eval(), vocab, max_len)
    return shap_scores(trained, texts, reference_for(trained, train_texts, "mean"))


def plain_matches(texts: list[str], scores: list, labels: dict[str, str]) -> dict[str, list[float]]:
    """Entity → the relevance of each of its mentions (greedy longest match of 1-4 tokens)."""
    from kgexplain.text import tokenize

    mentions: dict[str, list[float]] = {}
    for text, score in zip(texts, scores, strict=True):
        tokens = tokenize(text)[: len(score)]
        i = 0
        while i < len(tokens):
            for n in (4, 3, 2, 1):
                entity = labels.get(" ".join(tokens[i : i + n])) if i + n <= len(tokens) else None
                if entity is not None:
                    mentions.setdefault(entity, []).append(float(score[i : i + n].sum()))
                    i += n
                    break
            else:
                i += 1
    return mentions


def plain_mine(
    mentions: dict[str, list[float]],
    out_facts: dict,
    in_facts: dict,
    theta: float,
    supmin: int,
    confmin: float,
    length: int,
) -> list:
    import fim

    tracts = []
    for entity, values in mentions.items():
        positive = sum(v > 0 for v in values) / len(values)
        cls = "Pos" if positive >= theta else "Neg" if 1 - positive >= theta else None
        if cls is None:
            continue
        items = {f"{p}={o}" for p, o in out_facts.get(entity, ())} | {
            f"{s}={p}^-1" for s, p in in_facts.get(entity, ())
        }
        tracts.append([*items, cls])
    appear = {None: "a", "Pos": "c", "Neg": "c"}
    return fim.arules(tracts, supp=-supmin, conf=confmin * 100, zmin=2, zmax=length + 1, report="aC", appear=appear)


def plain(case: str, epochs: int, threads: int, output: Path) -> None:
    """The whole plain script; writes its stage times to ``output``."""
    import torch
    from explain import plain_training

    from kgexplain.config import Settings
    from kgexplain.models.training import TrainSettings

    torch.set_num_threads(threads)
    times: dict[str, float] = {}
    start = time.perf_counter()
    texts, y, train, labels, out_facts, in_facts = plain_load(case)
    times["load"] = time.perf_counter() - start
    train_texts = [t for t, is_train in zip(texts, train, strict=True) if is_train]
    train_y = [v for v, is_train in zip(y, train, strict=True) if is_train]
    start = time.perf_counter()
    model, vocab, max_len = plain_training(train_texts, train_y, TrainSettings(), epochs)
    times["train"] = time.perf_counter() - start
    start = time.perf_counter()
    scores = plain_explain(model, vocab, max_len, texts, train_texts)
    mentions = plain_matches(texts, scores, labels)
    times["explain"] = time.perf_counter() - start
    settings = Settings()
    start = time.perf_counter()
    rules = plain_mine(
        mentions,
        out_facts,
        in_facts,
        settings.theta,
        settings.min_support,
        settings.min_confidence,
        settings.max_antecedent,
    )
    times["mine"] = time.perf_counter() - start
    output.write_text(json.dumps({"seconds": times, "rules": len(rules), "entities": len(mentions)}))


# ---------------------------------------------------------------------------------------------------


def compare(rec: Recorder, case: str, epochs: int | None, threads: int, tmp: Path) -> None:
    log(f"[end-to-end] {case}: kgexplain")
    ours_wall, summary = run_ours(case, tmp / f"{case}-ours", epochs, threads)
    ran = summary["epochs_run"]
    log(f"[end-to-end] {case}: plain script, {ran} epochs")
    plain_wall, peer = run_plain(case, ran, threads, tmp / f"{case}-plain.json")
    ours_s, peer_s = summary["seconds"], peer["seconds"]
    log(
        f"[end-to-end] {case}: ours {ours_wall:.1f} s {ours_s}; plain {plain_wall:.1f} s {peer_s}; "
        f"rules ours {summary['rules_before_pruning']} (before pruning), plain {peer['rules']}"
    )
    label = f"{case}-cnn-{ran}epochs"
    peers = {
        "load": "polars + the dump into dicts",
        "train": "plain torch loop",
        "explain": "shap.DeepExplainer + label matches",
        "mine": "transactions + pyfim.arules",
    }
    for stage, peer_name in peers.items():
        rec.emit(
            BENCH,
            f"{label}: {stage}",
            "s",
            ours_s[stage],
            peer_name,
            peer_s[stage],
            time_ratio(ours_s[stage], peer_s[stage]),
        )
    rec.emit(
        BENCH,
        f"{label}: whole run (ours also: activations {ours_s['activations']:.1f} s, exports {ours_s['export']:.1f} s)",
        "s",
        ours_wall,
        "plain script",
        plain_wall,
        time_ratio(ours_wall, plain_wall),
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "plain":
        import argparse

        parser = argparse.ArgumentParser(description="the plain script")
        parser.add_argument("mode")
        parser.add_argument("--case", required=True)
        parser.add_argument("--epochs", type=int, required=True)
        parser.add_argument("--threads", type=int, required=True)
        parser.add_argument("--json", type=Path, required=True)
        args = parser.parse_args()
        plain(args.case, args.epochs, args.threads, args.json)
        return
    parser = arg_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs",
        type=int,
        default=3,
        help="painters training epochs on both sides (default 3; the demo keeps its own)",
    )
    args = parser.parse_args()
    from kgexplain.threads import default_threads

    threads = default_threads()
    os.environ.pop("KGX_THREADS", None)
    rec = Recorder(args.output)
    with tempfile.TemporaryDirectory(prefix="kgx-e2e-") as tmp:
        compare(rec, "demo", None, threads, Path(tmp))
        if args.quick:
            return
        if not (PAINTERS / "train.csv").is_file() or not SUBSET.is_file():
            log(f"painters data not found under {SHARED}: the painters case is left out")
            return
        compare(rec, "painters", args.epochs, threads, Path(tmp))


if __name__ == "__main__":
    main()
