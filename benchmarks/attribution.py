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
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, best_of

from kgexplain.attribution.explainers import METHODS, explain
from kgexplain.attribution.shap_deep import REFERENCE_SIZE
from kgexplain.loaders.datasets import Dataset, read_dataset
from kgexplain.loaders.synthetic import make_synthetic
from kgexplain.models.training import TrainedModel, TrainSettings, train_model
from kgexplain.pipeline import Settings, explain_stage, load_stage
from kgexplain.store import open_store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAINTERS = DATA / "painters"
SUBSET = DATA / "wikidata" / "wikidata-subset.nt.gz"
MODELS = ("cnn", "bilstm")
BATCH = 64            # explain()'s default batch size
IG_STEPS = 64
GS_SAMPLES = 50
STAGE_TRAIN_DOCS = 20  # training documents in the explain-stage dataset (its reference)
REPEAT = 3             # best of three for the explain stage and its peer: single runs vary by ±25 % here


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
        return [token_scores(explainer.shap_values(docs[i:i + batch], check_additivity=False), docs[i:i + batch])
                for i in range(0, len(docs), batch)]


def raw_ig(head: torch.nn.Module, docs: torch.Tensor, batch: int) -> list[np.ndarray]:
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(lambda e: head(e).squeeze(1))
    out = []
    for i in range(0, len(docs), batch):
        chunk = docs[i:i + batch]
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
            values = np.asarray(explainer.shap_values(docs[i:i + batch], nsamples=GS_SAMPLES, rseed=0))
            out.append(token_scores(values[..., 0] if values.ndim == 4 else values, docs[i:i + batch]))
        return out


def forward(head: torch.nn.Module, docs: torch.Tensor, batch: int) -> None:
    with torch.no_grad():
        for i in range(0, len(docs), batch):
            head(docs[i:i + batch])


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
        "deeplift": ("shap.DeepExplainer (zero reference)",
                     lambda d: raw_deep(head, d, torch.zeros_like(ref[:1]), BATCH)),
        "ig": ("captum IntegratedGradients", lambda d: raw_ig(head, d, min(BATCH, 32))),
        "gradient-shap": ("shap.GradientExplainer", lambda d: raw_gradient(head, d, ref, min(BATCH, 16))),
    }


def bench_methods(rec: Recorder, source: str, models: dict[str, TrainedModel], texts: list[str],
                  reference_texts: list[str], device: str) -> None:
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
            ours = best_of(sync(device, lambda t=trained, x=texts_m, k=method: explain(
                t, x, reference_texts, k, device=device, batch_size=BATCH)), repeat=1)
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


def bench_stage(rec: Recorder, source: str, dataset: Dataset, kg: object, cnn: TrainedModel, n: int,
                device: str) -> None:
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
        ours = best_of(sync(device, lambda: result.append(explain_stage(store, small.name, model_dir, settings))),
                       repeat=REPEAT)
    texts = [d.text for d in docs]
    train_texts = [d.text for d in docs if d.split == "train"]
    head = cnn.model.to(device).eval().head
    emb = embed(cnn, texts, device)
    reference = embed(cnn, train_texts, device).mean(0, keepdim=True)
    log(f"[explain-stage] {case}: raw shap.DeepExplainer")
    raw = best_of(sync(device, lambda: raw_deep(head, emb, reference, BATCH)), repeat=REPEAT)
    attribution = best_of(sync(device, lambda: explain(cnn, texts, train_texts, "shap", device=device,
                                                       batch_size=BATCH)), repeat=REPEAT)
    log(f"[explain-stage] stage {ours:.2f} s, of which explain() alone takes {attribution:.2f} s (measured apart); "
        f"it wrote {result[0].triples:,} triples, {result[0].mentions:,} mentions")  # type: ignore[attr-defined]
    rec.emit("explain-stage", case, "s", ours, "shap.DeepExplainer", raw, raw / ours)


def main() -> None:
    parser = arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="torch device for training and attribution (default cpu)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--stage-only", action="store_true", help="only the explain-stage comparison (CNN)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    rec = Recorder(args.output)
    n = 40 if args.quick else 200
    max_len = 200 if args.quick else 500
    torch.manual_seed(0)
    source, dataset, kg = load_data()
    train = dataset.split("train")
    texts = [d.text for d in dataset.split("test")[:n]]
    reference_texts = [d.text for d in train]
    models: dict[str, TrainedModel] = {}
    for name in (["cnn"] if args.stage_only else MODELS):
        log(f"training {name} for 1 epoch on {len(train)} {source} texts (max_len {max_len})")
        models[name], _ = train_model(reference_texts, [d.label for d in train],
                                      TrainSettings(model=name, epochs=1, max_len=max_len, device=args.device))
    log("warming up (imports shap and captum, one small explanation)")
    import captum.attr  # noqa: F401
    import shap  # noqa: F401

    explain(models["cnn"], texts[:2], reference_texts, "shap", device=args.device, batch_size=BATCH)
    if not args.stage_only:
        bench_methods(rec, source, models, texts, reference_texts, args.device)
    bench_stage(rec, source, dataset, kg, models["cnn"], n, args.device)


if __name__ == "__main__":
    main()
