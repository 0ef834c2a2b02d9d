"""Attribution throughput per method, and the whole explain stage, against the raw libraries, in one run.

Data: the first N test documents of ``../shared/data/painters`` (N = 200; 40 with ``--quick``) when it is
there, else the built-in synthetic set; ``case`` names the source. Models: a CNN and a BiLSTM trained for a
single epoch on the training texts, max_len 500 (the papers'; 200 with ``--quick``). One epoch only because
accuracy does not change the cost of attribution: the work depends on the architecture and the lengths.

1. ``attribution`` (docs/s, higher is better, ratio = ours / peer): kgexplain's ``explain(...)`` per
   applicable model x method, from texts (encoding, prediction and the additivity check included) against
   the raw library on the same, already embedded, documents with the same reference and batch size, summing
   over the embedding dimensions itself: ``shap.DeepExplainer(head, reference)`` for shap (mean of the
   first 500 training embeddings) and deeplift (one zero reference), captum ``IntegratedGradients`` on the
   head (zero baseline, 64 steps, the same batch) for ig, ``shap.GradientExplainer`` (the first 500
   training embeddings, 50 samples, the same batch) for gradient-shap. LRP and REAT have no library peer:
   the peer is a plain batched forward pass of the head, so the ratio is the fraction of one forward pass's
   speed the method keeps.
2. ``explain-stage`` (s, ratio = raw / ours; the goal is ratio >= 0.8, i.e. the stage at most 1.25x the raw
   library): ``explain_stage`` with the CNN and shap end to end (model load, attribution, grounding, RDF
   bulk write) on a store prepared beforehand with ``load_stage`` (the painters KG cut from the Wikidata
   subset, or the synthetic KG), whose dataset holds the N test documents plus a few training documents
   (the stage explains every document of the dataset, and the reference is the mean of its training
   texts), against raw ``shap.DeepExplainer`` on the same documents with the same reference.

3. ``own-model`` (issue #19: a user's own model, explained without training; s, ratio = raw / ours, goal >= 0.8):
   ``explain_stage`` on a store holding the first N test texts (model load, attribution, grounding, RDF bulk
   write) against the raw library on the same model and texts, each as a user would call it:
   ``tiny-bert``: a 2-layer BERT (hidden 64) built from a config with a WordPiece vocabulary written from the
   training texts, trained for one epoch and saved with ``save_pretrained``; ours ``--model hf:DIR`` (layer
   integrated gradients, 64 steps, batches of 32) against captum ``LayerIntegratedGradients`` at the input
   embeddings with the same steps, batches and reference (each document's word pieces replaced by [PAD]),
   summed over the hidden dimensions. ``sklearn``: TF-IDF + logistic regression saved with joblib; ours
   ``--model sklearn:FILE`` (shap Partition over words, ``max_evals`` 200) against ``shap.Explainer`` with
   ``shap.maskers.Text(r"\\W+")`` and the same budget. ``--size-probe`` adds one case that says what a real
   fine-tuned model costs: a DistilBERT-sized network (randomly initialised from the default
   ``DistilBertConfig``: 6 layers, hidden 768, 66M parameters; weights do not change the cost) on texts of
   about 128 pieces, in seconds per 1,000 documents, measured on a few documents at 16 steps and scaled
   to 64 (the cost is linear in the steps); its peer is captum on the same documents.

Every case runs once (``best_of(..., repeat=1)``): they are slow, and the machine may be shared, which is
why each comparison is measured back to back in the same run; shap and captum are imported and warmed up
before any timing (shap's import alone takes seconds). The slowest cases, ig and gradient-shap on the
BiLSTM (64 and 50 backward passes through the recurrent net per document), use N/4 documents (at least
10); ``case`` gives the count. ``--device cuda`` gives GPU numbers; ``--threads`` sets torch's CPU threads
(default: torch's own), worth setting to 1 on a loaded machine so both sides do not fight for the cores.
Progress goes to stderr, the JSON lines to stdout.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, best_of

from kgexplain.attribution.explainers import METHODS, explain
from kgexplain.attribution.external import explain_external
from kgexplain.attribution.shap_deep import REFERENCE_SIZE
from kgexplain.config import Settings
from kgexplain.loaders.datasets import Dataset, read_dataset
from kgexplain.loaders.synthetic import make_synthetic
from kgexplain.models.external import load_model
from kgexplain.models.training import TrainedModel, TrainSettings, train_model
from kgexplain.stages import explain_stage, load_stage
from kgexplain.store import open_store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAINTERS = DATA / "painters"
SUBSET = DATA / "wikidata" / "wikidata-subset.nt.gz"
MODELS = ("cnn", "bilstm")
BATCH = 64  # explain()'s default batch size
IG_STEPS = 64
GS_SAMPLES = 50
STAGE_TRAIN_DOCS = 20  # training documents in the explain-stage dataset (its reference)
REPEAT = 3  # best of three for the explain stage and its peer: single runs vary by ±25 % here


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_data() -> tuple[str, Dataset, object]:
    """(source name, dataset, KG for load_stage: a dump path or a triple list)."""
    if (PAINTERS / "train.csv").is_file() and (PAINTERS / "test.csv").is_file():
        dataset = read_dataset(PAINTERS, text_column="desc", label_column="inmuseum")
        return "painters", dataset, SUBSET if SUBSET.is_file() else None
    synthetic = make_synthetic()
    return "synthetic", synthetic.dataset, synthetic.kg


def embed(trained: TrainedModel, texts: list[str], device: str) -> torch.Tensor:
    ids = trained.encode(texts).to(device)
    with torch.no_grad():
        return trained.model.to(device).eval().embedding(ids)


def token_scores(values: object, emb: torch.Tensor) -> np.ndarray:
    return np.asarray(values).reshape(emb.shape[0], emb.shape[1], emb.shape[2]).sum(axis=2)


def raw_deep(head: torch.nn.Module, docs: torch.Tensor, reference: torch.Tensor, batch: int) -> list[np.ndarray]:
    import shap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.DeepExplainer(head, reference)
        return [
            token_scores(explainer.shap_values(docs[i : i + batch], check_additivity=False), docs[i : i + batch])
            for i in range(0, len(docs), batch)
        ]


def raw_ig(head: torch.nn.Module, docs: torch.Tensor, batch: int) -> list[np.ndarray]:
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(lambda e: head(e).squeeze(1))
    out = []
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        values = ig.attribute(chunk, baselines=torch.zeros_like(chunk), n_steps=IG_STEPS, internal_batch_size=batch * 4)
        out.append(token_scores(values.detach().cpu().numpy(), chunk))
    return out


def raw_gradient(head: torch.nn.Module, docs: torch.Tensor, background: torch.Tensor, batch: int) -> list[np.ndarray]:
    import shap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.GradientExplainer(head, background)
        out = []
        for i in range(0, len(docs), batch):
            values = np.asarray(explainer.shap_values(docs[i : i + batch], nsamples=GS_SAMPLES, rseed=0))
            out.append(token_scores(values[..., 0] if values.ndim == 4 else values, docs[i : i + batch]))
        return out


def forward(head: torch.nn.Module, docs: torch.Tensor, batch: int) -> None:
    with torch.no_grad():
        for i in range(0, len(docs), batch):
            head(docs[i : i + batch])


def with_grad_context(device: str, fn: Callable[[], object]) -> Callable[[], object]:
    """cuDNN's RNN backward needs training mode; explain() turns cuDNN off for attribution, so do the peers."""

    def run() -> object:
        if device.startswith("cuda"):
            with torch.backends.cudnn.flags(enabled=False):
                return fn()
        return fn()

    return run


def sync(device: str, fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return run


def library_peers(head: torch.nn.Module, ref: torch.Tensor) -> dict[str, tuple[str, Callable[[torch.Tensor], object]]]:
    """The raw-library run per method, on embedded documents; ``ref``: the first 500 training embeddings."""
    return {
        "shap": ("shap.DeepExplainer", lambda d: raw_deep(head, d, ref.mean(0, keepdim=True), BATCH)),
        "deeplift": (
            "shap.DeepExplainer (zero reference)",
            lambda d: raw_deep(head, d, torch.zeros_like(ref[:1]), BATCH),
        ),
        "ig": ("captum IntegratedGradients", lambda d: raw_ig(head, d, min(BATCH, 32))),
        "gradient-shap": ("shap.GradientExplainer", lambda d: raw_gradient(head, d, ref, min(BATCH, 16))),
    }


def bench_methods(
    rec: Recorder,
    source: str,
    models: dict[str, TrainedModel],
    texts: list[str],
    reference_texts: list[str],
    device: str,
) -> None:
    n = len(texts)
    for name, trained in models.items():
        head = trained.model.to(device).eval().head
        docs = embed(trained, texts, device)
        ref = embed(trained, reference_texts[:REFERENCE_SIZE], device)
        peers = library_peers(head, ref)
        forward_rate: float | None = None
        for method, spec in METHODS.items():
            if spec.models is not None and name not in spec.models:
                continue
            slow = name != "cnn" and method in ("ig", "gradient-shap")
            m = max(10, n // 4) if slow else n
            texts_m, docs_m = texts[:m], docs[:m]
            case = f"{source}-{name}-{method}-{m}docs-len{trained.max_len}-{device}"
            log(f"[attribution] {case}: ours")
            ours = best_of(
                sync(
                    device,
                    lambda t=trained, x=texts_m, k=method: explain(
                        t, x, reference_texts, k, device=device, batch_size=BATCH
                    ),
                ),
                repeat=1,
            )
            if method in peers:
                peer, fn = peers[method]
                log(f"[attribution] {case}: {peer}")
                peer_time = best_of(sync(device, with_grad_context(device, lambda f=fn, d=docs_m: f(d))), repeat=1)
                peer_rate = m / peer_time
            else:
                peer = "forward pass"
                if forward_rate is None:
                    forward(head, docs, BATCH)  # warm-up
                    forward_rate = n / best_of(sync(device, lambda h=head, d=docs: forward(h, d, BATCH)), repeat=3)
                peer_rate = forward_rate
            rate = m / ours
            rec.emit("attribution", case, "docs/s", rate, peer, peer_rate, rate / peer_rate)


def bench_stage(
    rec: Recorder, source: str, dataset: Dataset, kg: object, cnn: TrainedModel, n: int, device: str
) -> None:
    docs = dataset.split("test")[:n] + dataset.split("train")[:STAGE_TRAIN_DOCS]
    small = Dataset(dataset.name, docs, dataset.classes)
    settings = Settings(train=TrainSettings(model="cnn", device=device), method="shap", explain_batch_size=BATCH)
    kg_name = "wikidata-subset-kg" if isinstance(kg, Path) else f"{source}-kg"
    if kg is None:  # painters without the Wikidata subset: the synthetic KG (little will ground)
        kg, kg_name = make_synthetic().kg, "synthetic-kg"
    store = open_store(None)
    with tempfile.TemporaryDirectory(prefix="kgx-bench-") as tmp:
        model_dir = Path(tmp) / "cnn"
        cnn.save(model_dir)
        log(f"[explain-stage] load_stage ({kg_name}, {len(docs)} documents; not timed)")
        load_stage(store, small, kg, settings)  # type: ignore[arg-type]
        case = f"{source}-cnn-shap-{len(docs)}docs-{kg_name}-len{cnn.max_len}-{device}"
        log(f"[explain-stage] {case}: ours")
        result: list[object] = []
        ours = best_of(
            sync(device, lambda: result.append(explain_stage(store, small.name, model_dir, settings))), repeat=REPEAT
        )
    texts = [d.text for d in docs]
    train_texts = [d.text for d in docs if d.split == "train"]
    head = cnn.model.to(device).eval().head
    emb = embed(cnn, texts, device)
    reference = embed(cnn, train_texts, device).mean(0, keepdim=True)
    log(f"[explain-stage] {case}: raw shap.DeepExplainer")
    raw = best_of(sync(device, lambda: raw_deep(head, emb, reference, BATCH)), repeat=REPEAT)
    attribution = best_of(
        sync(device, lambda: explain(cnn, texts, train_texts, "shap", device=device, batch_size=BATCH)), repeat=REPEAT
    )
    log(
        f"[explain-stage] stage {ours:.2f} s, of which explain() alone takes {attribution:.2f} s (measured apart); "
        f"it wrote {result[0].triples:,} triples, {result[0].mentions:,} mentions"
    )  # type: ignore[attr-defined]
    rec.emit("explain-stage", case, "s", ours, "shap.DeepExplainer", raw, raw / ours)


# ---------------------------------------------------------------------------------------------------
# a user's own model (issue #19)

OWN_STEPS = 64  # integrated-gradients steps: kgexplain's default for hf: models
OWN_BATCH = 32  # documents per batch: kgexplain's for hf: models
OWN_EVALS = 200  # shap Partition: model calls per document


def build_tokenizer(directory: Path, texts: list[str]) -> object:
    """A WordPiece tokenizer whose vocabulary is written from ``texts``: words seen 4 times or more whole,
    rarer ones in 3-letter pieces; 512 pieces at most."""
    import collections
    import re

    from transformers import BertTokenizerFast

    counts = collections.Counter(w for t in texts for w in re.findall(r"\w+", t.lower()))
    pieces: set[str] = {".", ","}
    for word, count in counts.items():
        chunks = [word] if count >= 4 else [word[i : i + 3] for i in range(0, len(word), 3)]
        pieces.update([chunks[0]] + ["##" + c for c in chunks[1:]])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(pieces)]))
    tokenizer = BertTokenizerFast(str(directory / "vocab.txt"), model_max_length=512)
    tokenizer.save_pretrained(directory)
    return tokenizer


def build_tiny_bert(directory: Path, train: list, classes: tuple[str, str], device: str) -> Path:
    """A 2-layer BERT (hidden 64) with its tokenizer (``build_tokenizer``), trained for one epoch on ``train``
    and saved with ``save_pretrained``, as a user's fine-tuned model would be."""
    from transformers import BertConfig, BertForSequenceClassification

    texts = [d.text for d in train]
    tokenizer = build_tokenizer(directory, texts)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
        num_labels=2,
        id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)},
    )
    model = BertForSequenceClassification(config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3)
    labels = torch.tensor([d.label for d in train], device=device)
    model.train()
    for start in range(0, len(texts), 32):
        encoded = tokenizer(texts[start : start + 32], padding=True, truncation=True, return_tensors="pt").to(device)
        loss = model(**encoded, labels=labels[start : start + 32]).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval().save_pretrained(directory)
    return directory


def raw_captum(model_dir: Path, texts: list[str], device: str, steps: int = OWN_STEPS) -> list[np.ndarray]:
    """What a user writes with captum alone: load, tokenize each batch, reference = [PAD] for every piece but
    the special ones, LayerIntegratedGradients at the input embeddings, sum over the hidden dimensions."""
    from captum.attr import LayerIntegratedGradients
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from kgexplain.attribution.transformers import PIECES_PER_PASS

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)

    def positive(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(input_ids=ids, attention_mask=mask).logits, dim=-1)[:, 1]

    ig = LayerIntegratedGradients(positive, model.get_input_embeddings())
    out = []
    for i in range(0, len(texts), OWN_BATCH):
        enc = tokenizer(
            texts[i : i + OWN_BATCH],
            padding=True,
            truncation=True,
            return_special_tokens_mask=True,
            return_tensors="pt",
        ).to(device)
        reference = torch.where(enc["special_tokens_mask"].bool(), enc["input_ids"], tokenizer.pad_token_id)
        values = ig.attribute(
            enc["input_ids"],
            baselines=reference,
            additional_forward_args=(enc["attention_mask"],),
            n_steps=steps,
            internal_batch_size=max(1, PIECES_PER_PASS // enc["input_ids"].shape[1]),
        )
        out.append(values.sum(dim=-1).detach().cpu().numpy())
    return out


def raw_partition(pipeline_path: Path, texts: list[str]) -> list[object]:
    """What a user writes with shap alone: its Partition explainer over a regex text masker."""
    import joblib
    import shap

    pipeline = joblib.load(pipeline_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.Explainer(
            lambda x: pipeline.predict_proba([str(t) for t in x])[:, 1],
            shap.maskers.Text(r"\W+"),
            algorithm="partition",
        )
        return [explainer([t], max_evals=OWN_EVALS, batch_size=max(OWN_EVALS, 64), silent=True) for t in texts]


def bench_own_models(
    rec: Recorder, source: str, dataset: Dataset, kg: object, n: int, device: str, size_probe: bool
) -> None:
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = dataset.split("train")
    docs = dataset.split("test")[:n]
    texts = [d.text for d in docs]
    small = Dataset(dataset.name, docs, dataset.classes)
    if kg is None:
        kg = make_synthetic().kg
    store = open_store(None)
    load_stage(store, small, kg, Settings())  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="kgx-bench-own-") as tmp:
        log(f"[own-model] training a tiny BERT for 1 epoch on {len(train)} {source} texts")
        bert = build_tiny_bert(Path(tmp) / "bert", train, dataset.classes, device)
        pipeline = Path(tmp) / "pipeline.joblib"
        joblib.dump(
            make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(
                [d.text for d in train], [dataset.classes[d.label] for d in train]
            ),
            pipeline,
        )
        cases = [
            (
                "tiny-bert-ig",
                f"hf:{bert}",
                "ig",
                "captum LayerIntegratedGradients",
                lambda: raw_captum(bert, texts, device),
            ),
            (
                "sklearn-partition",
                f"sklearn:{pipeline}",
                "partition",
                "shap.Explainer (Partition, Text masker)",
                lambda: raw_partition(pipeline, texts),
            ),
        ]
        log("[own-model] warming up (imports transformers and shap, compiles shap's numba code)")
        for _name, spec, method, _peer, _raw in cases:
            explain_external(load_model(spec, device=device), texts[:2], method, positive=1, max_evals=OWN_EVALS)
        raw_partition(pipeline, texts[:2])
        for name, spec, method, peer, raw in cases:
            settings = replace(
                Settings(), model_spec=spec, method=method, max_evals=OWN_EVALS, train=TrainSettings(device=device)
            )
            case = f"{source}-{name}-{len(docs)}docs-{device}"
            log(f"[own-model] {case}: ours (explain stage)")
            ours = best_of(sync(device, lambda s=settings: explain_stage(store, small.name, None, s)), repeat=1)
            log(f"[own-model] {case}: {peer}")
            raw_time = best_of(sync(device, raw), repeat=1)
            log(f"[own-model] {case}: {1000 * ours / len(docs):.1f} s per 1,000 documents (ours)")
            rec.emit("own-model", case, "s", ours, peer, raw_time, raw_time / ours)
        if size_probe:
            bench_size_probe(rec, Path(tmp), bert, texts, device)


def bench_size_probe(rec: Recorder, tmp: Path, tiny: Path, texts: list[str], device: str, m: int = 2) -> None:
    """Seconds per 1,000 documents for a DistilBERT-sized classifier (random weights), at 64 steps, from ``m``
    documents at 16 steps (the cost is linear in the steps), on texts of 128 and of 512 pieces (the first
    texts that long, cut there); against captum on the same documents."""
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    from kgexplain.attribution.transformers import explain_transformer

    tokenizer = AutoTokenizer.from_pretrained(tiny, local_files_only=True)
    directory = tmp / "distilbert-size"
    config = DistilBertConfig(vocab_size=len(tokenizer), num_labels=2)
    DistilBertForSequenceClassification(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    model = load_model(f"hf:{directory}", device=device)

    def cut(text: str, pieces: int) -> str:
        offsets = tokenizer(text, truncation=True, max_length=pieces, return_offsets_mapping=True)["offset_mapping"]
        return text[: max(end for _start, end in offsets)]

    for length in (128, 512):
        chosen = [cut(t, length) for t in texts if len(tokenizer(t)["input_ids"]) >= length][:m]
        if len(chosen) < m:
            log(f"[own-model] fewer than {m} texts of {length} pieces; no size probe at that length")
            continue
        pieces = int(np.mean([len(tokenizer(t, truncation=True)["input_ids"]) for t in chosen]))
        case = f"distilbert-size-ig-{m}docs-{pieces}pieces"
        log(f"[own-model] {case}, 16 steps: ours")
        ours = best_of(sync(device, lambda c=chosen: explain_transformer(model, c, "ig", n_steps=16)), repeat=1)
        log(f"[own-model] {case}, 16 steps: captum")
        raw_time = best_of(sync(device, lambda c=chosen: raw_captum(directory, c, device, steps=16)), repeat=1)
        per_1000 = ours / m * 1000 * OWN_STEPS / 16
        log(
            f"[own-model] {case}: {ours / m:.1f} s per document at 16 steps, so {per_1000 / 3600:.1f} h per "
            f"1,000 documents at {OWN_STEPS} steps"
        )
        rec.emit(
            "own-model",
            f"{case}-{OWN_STEPS}steps-per-1000-docs-{device}",
            "s",
            per_1000,
            "captum LayerIntegratedGradients",
            raw_time / m * 1000 * OWN_STEPS / 16,
            raw_time / ours,
        )


def main() -> None:
    parser = arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="torch device for training and attribution (default cpu)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--stage-only", action="store_true", help="only the explain-stage comparison (CNN)")
    parser.add_argument("--own-models", action="store_true", help="only the cases of a user's own model (#19)")
    parser.add_argument(
        "--size-probe", action="store_true", help="also time a DistilBERT-sized model (about ten minutes on CPU)"
    )
    parser.add_argument("--size-probe-only", action="store_true", help="only that")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    rec = Recorder(args.output)
    n = 40 if args.quick else 200
    max_len = 200 if args.quick else 500
    torch.manual_seed(0)
    source, dataset, kg = load_data()
    if args.size_probe_only:
        with tempfile.TemporaryDirectory(prefix="kgx-bench-probe-") as tmp:
            build_tokenizer(Path(tmp) / "tokenizer", [d.text for d in dataset.split("train")])
            bench_size_probe(
                rec, Path(tmp), Path(tmp) / "tokenizer", [d.text for d in dataset.split("test")], args.device
            )
        return
    if args.own_models:
        bench_own_models(rec, source, dataset, kg, n, args.device, args.size_probe)
        return
    train = dataset.split("train")
    texts = [d.text for d in dataset.split("test")[:n]]
    reference_texts = [d.text for d in train]
    models: dict[str, TrainedModel] = {}
    for name in ["cnn"] if args.stage_only else MODELS:
        log(f"training {name} for 1 epoch on {len(train)} {source} texts (max_len {max_len})")
        models[name], _ = train_model(
            reference_texts,
            [d.label for d in train],
            TrainSettings(model=name, epochs=1, max_len=max_len, device=args.device),
        )
    log("warming up (imports shap and captum, one small explanation)")
    import captum.attr  # noqa: F401
    import shap  # noqa: F401

    explain(models["cnn"], texts[:2], reference_texts, "shap", device=args.device, batch_size=BATCH)
    if not args.stage_only:
        bench_methods(rec, source, models, texts, reference_texts, args.device)
    bench_stage(rec, source, dataset, kg, models["cnn"], n, args.device)
    if not args.stage_only:
        bench_own_models(rec, source, dataset, kg, n, args.device, args.size_probe)


if __name__ == "__main__":
    main()
